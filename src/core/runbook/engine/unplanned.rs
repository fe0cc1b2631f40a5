//! What happens outside the runbook: a server the runbook keeps running (by the steps done so
//! far, `Engine::expected`) that answers nothing at all now was stopped by someone or
//! something else. It is recorded the first poll it is seen, and when it leaves a waiting step
//! without a quorum of running voters the wait cannot hold — ZooKeeper serves only with a
//! majority of the voters (`QuorumMaj.containsQuorum`) — so the step fails at once, naming
//! the server, instead of running out its timeout.

use std::collections::BTreeSet;

use super::{record, Effect, Engine, Status};
use crate::audit::record::AuditEvent;
use crate::ensemble::{EnsembleState, Health};
use crate::inventory::HostRole;
use crate::runbook::procedure::Effect as StepEffect;

impl Engine {
    /// The hosts the step at `index` acts on: its commands' hosts and its effects' servers.
    fn acted_on(&self, index: usize) -> BTreeSet<usize> {
        let step = &self.procedure.steps[index];
        let mut hosts: BTreeSet<usize> = step.commands.iter().map(|c| c.host).collect();
        for effect in &step.effects {
            match effect {
                StepEffect::Start { host, .. }
                | StepEffect::Stop { host }
                | StepEffect::Restart { host, .. }
                | StepEffect::SetView { host, .. } => {
                    hosts.insert(*host);
                }
                _ => {}
            }
        }
        hosts
    }

    /// A host as the operator knows it: the runbook's name, and the inventory's when another.
    fn who(&self, host: usize) -> String {
        match self.procedure.hosts.get(host) {
            Some(h) if h.name != h.inventory.name => format!("{} ({})", h.name, h.inventory.name),
            _ => self.host_name(host),
        }
    }

    /// Hosts the runbook keeps running whose server answers nothing, leaving out those a step
    /// under way acts on (a restart takes its server down for a moment).
    pub fn stopped_outside(&self, live: &EnsembleState) -> Vec<usize> {
        let busy = match self.current() {
            Some(index)
                if matches!(self.status[index], Status::Running | Status::Waiting { .. }) =>
            {
                self.acted_on(index)
            }
            _ => BTreeSet::new(),
        };
        (0..self.procedure.hosts.len())
            .filter(|h| self.expected.up.get(*h).copied().unwrap_or(false))
            .filter(|h| !busy.contains(h))
            .filter(|h| {
                let node = self.node_of.get(*h).copied().flatten();
                node.and_then(|n| live.nodes.get(n))
                    .is_some_and(|n| matches!(n.health, Health::Down(_)))
            })
            .collect()
    }

    /// Records each server newly seen stopped outside the runbook, and forgets those running
    /// again, so each stop is recorded once.
    pub(super) fn notice_unplanned(&mut self, live: &EnsembleState) -> Vec<Effect> {
        let now: BTreeSet<usize> = self.stopped_outside(live).into_iter().collect();
        let mut effects = Vec::new();
        for host in now.difference(&self.unplanned) {
            let text = format!("{} stopped outside the runbook", self.who(*host));
            effects.push(record(AuditEvent::Note { text }, true));
        }
        self.unplanned = now;
        effects
    }

    /// Why the waiting step cannot hold any more: servers stopped outside the runbook left
    /// fewer running voters than a majority, counting those the step itself restarts as
    /// coming back.
    pub(super) fn quorum_lost(&self, index: usize, live: &EnsembleState) -> Option<String> {
        let stopped = self.stopped_outside(live);
        if stopped.is_empty() {
            return None;
        }
        let coming = self.acted_on(index);
        let voters: Vec<usize> = (0..self.procedure.hosts.len())
            .filter(|h| self.procedure.hosts[*h].inventory.role == HostRole::Participant)
            .filter(|h| self.expected.up.get(*h).copied().unwrap_or(false) || coming.contains(h))
            .collect();
        let running = voters
            .iter()
            .filter(|h| {
                self.node_of
                    .get(**h)
                    .copied()
                    .flatten()
                    .and_then(|n| live.nodes.get(n))
                    .is_some_and(|n| n.health.is_up())
            })
            .count();
        if running > voters.len() / 2 {
            return None;
        }
        let names: Vec<String> = stopped.iter().map(|h| self.who(*h)).collect();
        Some(format!(
            "quorum lost: {} stopped outside the runbook, leaving {running} of {} voters \
             running; start {} again, then retry the step",
            names.join(", "),
            voters.len(),
            if names.len() == 1 { "it" } else { "them" }
        ))
    }
}
