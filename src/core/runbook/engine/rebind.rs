//! A re-bind: the operator chose, for a host bound by `pick:` that no longer fits, a server
//! that fits now (`picks.rs`), and confirmed it. The runbook is bound again from its source —
//! views, variables and commands name the servers' addresses and ids, so no field can simply
//! be swapped — with every runbook host kept where it is but the misfit, and the host bound to
//! the chosen server (if the runbook names one) given the misfit's server in exchange. What
//! ran stays as it ran: a re-bind is offered only before the step, and only for servers no
//! done step acted on. Each changed binding is a decision in the log, which `--resume` binds
//! the same way.

use std::collections::{BTreeMap, BTreeSet};

use super::super::simulate::SimState;
use super::{record, Effect, Engine, Status};
use crate::audit::record::{AuditEvent, DecisionKind};
use crate::ensemble::EnsembleState;

impl Engine {
    /// Re-binds runbook host `host` to inventory host `to`, when that is one of
    /// [`Engine::rebind_choices`] now; otherwise says why nothing changed.
    pub(super) fn rebind(
        &mut self,
        index: usize,
        host: &str,
        to: &str,
        live: &EnsembleState,
    ) -> Vec<Effect> {
        let choice = self
            .rebind_choices(live)
            .into_iter()
            .find(|c| self.procedure.hosts[c.host].name == host && c.to == to);
        let (Some(choice), Some(source)) = (choice, &self.source) else {
            self.message = Some(format!(
                "`{host}` cannot be re-bound to {to}: it is not a server that fits its pick now"
            ));
            return Vec::new();
        };
        let from = self.procedure.hosts[choice.host].inventory.name.clone();
        let mut bindings: BTreeMap<String, String> = self.procedure.bindings();
        bindings.insert(host.to_string(), to.to_string());
        if let Some(swaps) = &choice.swaps {
            bindings.insert(swaps.clone(), from.clone());
        }
        let leader = live.leader().map(|n| live.nodes[n].target.name.as_str());
        let procedure = match source.bind(&bindings, leader) {
            Ok(procedure) => procedure,
            Err(why) => {
                self.message = Some(format!("`{host}` cannot be re-bound to {to}: {why}"));
                return Vec::new();
            }
        };
        // Recorded under the step it was decided before, wherever the re-bound order puts it.
        let step = self.procedure.steps[index].id.clone();
        if let Err(why) = self.take_procedure(procedure) {
            self.message = Some(format!("`{host}` cannot be re-bound to {to}: {why}"));
            return Vec::new();
        }
        let mut changed = vec![(host.to_string(), from.clone(), to.to_string())];
        changed.extend(
            choice
                .swaps
                .map(|swaps| (swaps, to.to_string(), from.clone())),
        );
        let effects = changed
            .into_iter()
            .map(|(host, from, to)| {
                let decision = DecisionKind::Rebind { host, from, to };
                record(
                    AuditEvent::Decision {
                        step: step.clone(),
                        decision,
                        by: self.operator.name.clone(),
                    },
                    true,
                )
            })
            .collect();
        self.message = Some(format!(
            "`{host}` re-bound from {from} to {to}: r runs the step on {to}"
        ));
        effects
    }

    /// Takes the runbook bound again in place of the current one: each step keeps its state
    /// by id (the settled ones first, in the order they ran), the servers seen are carried
    /// over by inventory name, and a host bound by `pick:` keeps its pick to be checked.
    fn take_procedure(
        &mut self,
        mut procedure: super::super::procedure::Procedure,
    ) -> Result<(), String> {
        let state_of = |id: &str| {
            self.procedure
                .steps
                .iter()
                .position(|s| s.id == id)
                .map(|i| self.status[i].clone())
        };
        let settled: Vec<String> = self
            .procedure
            .steps
            .iter()
            .zip(&self.status)
            .filter(|(_, status)| status.settled())
            .map(|(step, _)| step.id.clone())
            .collect();
        if let Some(lost) = settled
            .iter()
            .find(|id| !procedure.steps.iter().any(|s| &s.id == *id))
        {
            return Err(format!(
                "step `{lost}` has run and the re-bound runbook lacks it"
            ));
        }
        let (done, pending): (Vec<_>, Vec<_>) = procedure
            .steps
            .drain(..)
            .partition(|s| settled.contains(&s.id));
        let mut steps = done;
        steps.sort_by_key(|s| settled.iter().position(|id| *id == s.id));
        steps.extend(pending);
        procedure.steps = steps;
        let status: Vec<Status> = procedure
            .steps
            .iter()
            .map(|s| state_of(&s.id).unwrap_or(Status::Pending))
            .collect();
        for host in &mut procedure.hosts {
            if host.from_runbook {
                host.picked = self
                    .procedure
                    .hosts
                    .iter()
                    .find(|h| h.from_runbook && h.name == host.name)
                    .and_then(|h| h.picked);
            }
        }
        let by_name = |old: &BTreeSet<usize>, new: &[super::super::procedure::BoundHost]| {
            old.iter()
                .filter_map(|h| {
                    let name = &self.procedure.hosts.get(*h)?.inventory.name;
                    new.iter().position(|b| &b.inventory.name == name)
                })
                .collect::<BTreeSet<usize>>()
        };
        let unplanned = by_name(&self.unplanned, &procedure.hosts);
        let seen_up = by_name(&self.seen_up, &procedure.hosts);
        let leader_seen = by_name(&self.leader_seen.into_iter().collect(), &procedure.hosts)
            .into_iter()
            .next();
        let inventory = self.source.as_ref().map(|s| &s.inventory);
        self.node_of = procedure
            .hosts
            .iter()
            .map(|h| {
                inventory?
                    .hosts
                    .iter()
                    .position(|i| i.name == h.inventory.name)
            })
            .collect();
        let mut expected = SimState::initial(&procedure);
        for (step, status) in procedure.steps.iter().zip(&status) {
            if *status == Status::Done {
                for effect in &step.effects {
                    expected.apply(effect);
                }
            }
        }
        self.expected = expected;
        self.status = status;
        self.procedure = procedure;
        self.unplanned = unplanned;
        self.seen_up = seen_up;
        self.leader_seen = leader_seen;
        Ok(())
    }
}
