//! A host bound by `pick:` took the role it had when the runbook was bound: `pick: follower`
//! a follower, `pick: leader` the leader. The leader can move during the run (a server
//! restarted by hand, an election after a crash), and then the step written for "a follower"
//! would act on the leader, or the other way round. Before such a step begins its host is
//! checked again; a host that no longer fits is flagged for a person to decide — the autopilot
//! does not guess which server the author meant. The servers that fit the pick now are offered
//! as a re-bind (`rebind.rs`), which the operator chooses and confirms.

use std::collections::BTreeSet;

use super::{Engine, Status};
use crate::ensemble::EnsembleState;
use crate::inventory::HostRole;
use crate::runbook::model::Pick;
use crate::zk::fourlw::Mode;

/// A server the current step's host could be re-bound to, because it fits the host's pick now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The runbook host that no longer fits (an index into `Procedure::hosts`).
    pub host: usize,
    /// The inventory host it would be bound to.
    pub to: String,
    /// The runbook host bound to `to` now, which takes the misfit's server in exchange (a
    /// server the runbook does not name takes it silently).
    pub swaps: Option<String>,
}

impl Engine {
    /// The current step's hosts, bound by `pick:`, whose server no longer has the picked role,
    /// with the pick. Only a pending step is checked, only while a leader is known (not during
    /// an election), and not a host an earlier step of the runbook acted on (a role it changed
    /// by the runbook's own restart is no surprise) nor the server a `for-each` repetition runs
    /// for (its group chose it, whatever its `pick:`).
    fn misfits(&self, live: &EnsembleState) -> Vec<(usize, Pick)> {
        let Some(index) = self.current() else {
            return Vec::new();
        };
        let Some(leader) = live.leader() else {
            return Vec::new();
        };
        if self.status[index] != Status::Pending {
            return Vec::new();
        }
        let earlier = self.acted_on_before(index);
        let each = self.procedure.steps[index].each;
        self.acted_on(index)
            .into_iter()
            .filter(|h| !earlier.contains(h) && Some(*h) != each)
            .filter_map(|h| {
                let pick = self.procedure.hosts.get(h)?.picked?;
                let leads = self.node_of.get(h).copied().flatten()? == leader;
                (leads == (pick == Pick::Follower)).then_some((h, pick))
            })
            .collect()
    }

    /// [`Engine::misfits`] in words.
    pub fn pick_misfits(&self, live: &EnsembleState) -> Vec<String> {
        let Some(leader) = live.leader() else {
            return Vec::new();
        };
        let leader_name = &live.nodes[leader].target.name;
        self.misfits(live)
            .into_iter()
            .map(|(h, pick)| {
                let host = &self.procedure.hosts[h];
                let (name, server) = (&host.name, &host.inventory.name);
                match pick {
                    Pick::Follower => {
                        format!("`{name}` was picked as a follower, and {server} leads now")
                    }
                    Pick::Leader => format!(
                        "`{name}` was picked as the leader ({server}), and {leader_name} leads now"
                    ),
                }
            })
            .collect()
    }

    /// The servers each misfit of the current step could be re-bound to: voters that have the
    /// picked role now. A server the runbook names takes the misfit's server in exchange, so
    /// only one bound by `pick:` itself, whose own pick the exchange still fits; none that a
    /// step of the runbook already acted on (a re-bind never changes what ran), and only
    /// where the run can bind its runbook again (`Engine::source`).
    pub fn rebind_choices(&self, live: &EnsembleState) -> Vec<Choice> {
        let (Some(index), Some(leader), Some(_)) = (self.current(), live.leader(), &self.source)
        else {
            return Vec::new();
        };
        let earlier = self.acted_on_before(index);
        let role_now = |h: usize| {
            let node = self.node_of.get(h).copied().flatten()?;
            match live.nodes.get(node)?.health.mode()? {
                _ if node == leader => Some(Pick::Leader),
                Mode::Follower => Some(Pick::Follower),
                _ => None,
            }
        };
        let hosts = &self.procedure.hosts;
        let mut choices = Vec::new();
        for (host, pick) in self.misfits(live) {
            for (other, bound) in hosts.iter().enumerate() {
                let exchange_fits = match (bound.from_runbook, bound.picked) {
                    (false, _) => true,
                    (true, Some(theirs)) => role_now(host) == Some(theirs),
                    (true, None) => false,
                };
                if other != host
                    && bound.inventory.role == HostRole::Participant
                    && role_now(other) == Some(pick)
                    && exchange_fits
                    && !earlier.contains(&other)
                {
                    choices.push(Choice {
                        host,
                        to: bound.inventory.name.clone(),
                        swaps: bound.from_runbook.then(|| bound.name.clone()),
                    });
                }
            }
        }
        choices
    }

    /// The hosts the steps before `index` that are done acted on.
    fn acted_on_before(&self, index: usize) -> BTreeSet<usize> {
        (0..index)
            .filter(|i| self.status[*i] == Status::Done)
            .flat_map(|i| self.acted_on(i))
            .collect()
    }
}
