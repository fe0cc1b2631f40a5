//! Needs: what the current step's gates and waits ask of the poller for each node, so a
//! condition that holds is seen within one poll.

use super::super::procedure::Gate;
use super::{Engine, Status};
use crate::ensemble::{EnsembleState, Need};
use crate::zk::fourlw::Command;

impl Engine {
    /// What the current step's gates and waits need of each live node now, beyond `srvr`, one
    /// entry per node of `live`: the poller asks it every cycle instead of every few, so a
    /// condition that holds is seen within one poll. Gates count while the step is pending,
    /// the wait and the predicted views once its commands ended: that need is new then, and a
    /// new need starts the node's next cycle at once (`poll::Demand`), so a server already back
    /// when its restart command returns is seen without waiting for the poll's cadence.
    /// Nothing while the commands run, or once the step failed or is of unknown outcome (the
    /// operator decides, not a poll).
    pub fn needs(&self, live: &EnsembleState) -> Vec<Need> {
        let mut needs = vec![Need::default(); live.nodes.len()];
        let Some(index) = self.current() else {
            return needs;
        };
        let step = self.step(index);
        let (gates, views): (&[Gate], bool) = match self.status[index] {
            Status::Pending => (&step.gates, false),
            Status::Waiting { .. } => (step.wait.as_ref().map_or(&[][..], |w| &w.until[..]), true),
            _ => return needs,
        };
        let leader = live.leader().filter(|l| *l < needs.len());
        // The leader's figures decide the sync gate (`synced`): its `mntr`, and its view for
        // the number of voters. By zxid (`mntr` refused on every route) `srvr` is enough.
        // A server seen starting (back) since the leader's last `mntr` makes that `mntr` stale
        // for the sync gate: the leader is asked again early rather than at its cadence.
        let latest_start = live
            .nodes
            .iter()
            .filter_map(|n| n.started_at)
            .max()
            .unwrap_or(0);
        let need_leader = |needs: &mut [Need], mntr: bool| {
            if let Some(l) = leader {
                needs[l].mntr |= mntr;
                if mntr {
                    needs[l].after = needs[l].after.max(latest_start);
                }
                needs[l].conf |= live.nodes[l].current_view().is_none();
            }
        };
        let node_of = |host: usize| {
            self.node_of
                .get(host)
                .copied()
                .flatten()
                .filter(|n| *n < live.nodes.len())
        };
        for gate in gates {
            match gate {
                Gate::Synced => need_leader(&mut needs, !live.sync_by_zxid()),
                Gate::Fourlw { host, word, .. } => {
                    if let Some(n) = node_of(*host) {
                        needs[n].srvr |= *word == Command::Srvr;
                        needs[n].mntr |= *word == Command::Mntr;
                        needs[n].conf |= *word == Command::Conf;
                    }
                }
                Gate::LagBelow(_)
                | Gate::Leader(_)
                | Gate::NotLeader(_)
                | Gate::Mode { .. }
                | Gate::Down(_)
                | Gate::Check { .. } => {}
            }
        }
        if let Status::Waiting { since } = self.status[index] {
            // Only answers polled after the commands ended count for the wait (`tick`), from
            // every node: one not polled since is asked now rather than at its cadence.
            for (need, node) in needs.iter_mut().zip(&live.nodes) {
                if since > 0 && node.last_poll_at.is_none_or(|at| at < since) {
                    need.after = need.after.max(since);
                }
            }
        }
        if views {
            let predicted = self.predicted_views(index);
            for host in predicted.iter().filter_map(|p| node_of(p.host)) {
                needs[host].conf = true;
            }
            // A restarted learner under dynamic reconfig may report the leader's view
            // (`check_view`), so the leader's must be known too.
            if !predicted.is_empty() {
                need_leader(&mut needs, false);
            }
        }
        needs
    }
}
