//! `order: leader-last` decided again on the live ensemble: the order a `for-each` step was
//! bound with names the leader of that moment, and a leader can move during the run (a server
//! restarted by hand, an election after a crash). Restarting the server that leads now before
//! the others costs an election per step instead of one, so the pending repetitions of each
//! leader-last group are ordered again as binding orders them (`procedure::leader_last`:
//! observers, voters by id, the live leader last), and a change is recorded in the log. That
//! is also the order `plan --live` binds from the same poll, so the two show one order.

use super::{record, Engine, Status};
use crate::audit::record::AuditEvent;
use crate::ensemble::EnsembleState;
use crate::runbook::procedure::leader_last;

use super::Effect;

impl Engine {
    /// Orders every leader-last group's pending repetitions again with the live leader last,
    /// recording each change. Nothing moves while no leader is known, nor a repetition that
    /// has begun: run, or the current one with a prompt or a check under way.
    pub fn follow_live_leader(&mut self, live: &EnsembleState) -> Vec<Effect> {
        if live.leader().is_none() {
            return Vec::new();
        }
        let leader_host = self.leader_host(live);
        let begun = self
            .current()
            .filter(|_| self.prompt.is_some() || !self.checks.is_empty());
        let mut effects = Vec::new();
        let mut index = 0;
        while index < self.procedure.steps.len() {
            let Some(group) = self.procedure.steps[index]
                .leader_last
                .clone()
                .map(|o| o.group)
            else {
                index += 1;
                continue;
            };
            let pending = |engine: &Engine, i: usize| {
                engine.procedure.steps[i]
                    .leader_last
                    .as_ref()
                    .is_some_and(|o| o.group == group)
                    && engine.status[i] == Status::Pending
                    && Some(i) != begun
            };
            if !pending(self, index) {
                index += 1;
                continue;
            }
            let mut end = index;
            while end + 1 < self.procedure.steps.len() && pending(self, end + 1) {
                end += 1;
            }
            effects.extend(self.reorder(index..=end, &group, leader_host));
            index = end + 1;
        }
        effects
    }

    /// Orders the repetitions `block` of `group` with `leader` last; a note when it changed.
    fn reorder(
        &mut self,
        block: std::ops::RangeInclusive<usize>,
        group: &str,
        leader: Option<usize>,
    ) -> Vec<Effect> {
        let each = |engine: &Engine, i: usize| {
            engine.procedure.steps[i]
                .leader_last
                .as_ref()
                .map_or(usize::MAX, |o| o.each)
        };
        let before: Vec<usize> = block.clone().map(|i| each(self, i)).collect();
        let mut after = before.clone();
        leader_last(&self.procedure.hosts, &mut after, leader);
        if after == before {
            return Vec::new();
        }
        let start = *block.start();
        self.procedure.steps[block].sort_by_key(|s| {
            after
                .iter()
                .position(|h| Some(*h) == s.leader_last.as_ref().map(|o| o.each))
        });
        let order: Vec<String> = (start..start + after.len())
            .map(|i| format!("`{}`", self.procedure.steps[i].id))
            .collect();
        let leads = leader.map_or_else(|| "?".into(), |h| self.host_name(h));
        let text = format!(
            "order: leader-last: {leads} leads now, so the pending servers of `{group}` go in \
             this order, {leads} last: {}",
            order.join(", ")
        );
        // Recorded, not put in `message`: a message on an idle step stops the autopilot, and
        // this order is the runbook's own, nothing a person must decide.
        vec![record(AuditEvent::Note { text }, true)]
    }
}
