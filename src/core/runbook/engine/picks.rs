//! A host bound by `pick:` took the role it had when the runbook was bound: `pick: follower`
//! a follower, `pick: leader` the leader. The leader can move during the run (a server
//! restarted by hand, an election after a crash), and then the step written for "a follower"
//! would act on the leader, or the other way round. Before such a step begins its host is
//! checked again; a host that no longer fits is flagged for a person to decide — the autopilot
//! does not guess which server the author meant.

use std::collections::BTreeSet;

use super::{Engine, Status};
use crate::ensemble::EnsembleState;
use crate::runbook::model::Pick;

impl Engine {
    /// The current step's hosts, bound by `pick:`, whose server no longer has the picked role,
    /// in words. Only a pending step is checked, only while a leader is known (not during an
    /// election), and not a host an earlier step of the runbook acted on (a role it changed by
    /// the runbook's own restart is no surprise) nor the server a `for-each` repetition runs
    /// for (its group chose it, whatever its `pick:`).
    pub fn pick_misfits(&self, live: &EnsembleState) -> Vec<String> {
        let Some(index) = self.current() else {
            return Vec::new();
        };
        let Some(leader) = live.leader() else {
            return Vec::new();
        };
        if self.status[index] != Status::Pending {
            return Vec::new();
        }
        let earlier: BTreeSet<usize> = (0..index)
            .filter(|i| self.status[*i] == Status::Done)
            .flat_map(|i| self.acted_on(i))
            .collect();
        let leader_name = &live.nodes[leader].target.name;
        let each = self.procedure.steps[index].each;
        self.acted_on(index)
            .into_iter()
            .filter(|h| !earlier.contains(h) && Some(*h) != each)
            .filter_map(|h| {
                let host = self.procedure.hosts.get(h)?;
                let node = self.node_of.get(h).copied().flatten()?;
                let (name, server) = (&host.name, &host.inventory.name);
                match (host.picked?, node == leader) {
                    (Pick::Follower, true) => Some(format!(
                        "`{name}` was picked as a follower, and {server} leads now"
                    )),
                    (Pick::Leader, false) => Some(format!(
                        "`{name}` was picked as the leader ({server}), and {leader_name} leads now"
                    )),
                    _ => None,
                }
            })
            .collect()
    }
}
