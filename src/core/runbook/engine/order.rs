//! `order: leader-last` decided again before each step, on the live ensemble: the order a
//! `for-each` step was bound with names the leader of that moment, and a leader can move
//! during the run (a server restarted by hand, an election after a crash). Restarting the
//! server that leads now before the others costs an election per step instead of one, so the
//! repetition of whoever leads is moved after every other pending repetition of its group, and
//! the move is recorded in the log.

use super::{record, Engine, Status};
use crate::audit::record::AuditEvent;
use crate::ensemble::EnsembleState;

use super::Effect;

impl Engine {
    /// When the current step has not begun (no prompt, no check running) and is the
    /// repetition of a leader-last group for the server that leads now, moves it after the
    /// group's other pending repetitions (which keep their order) and records why. Nothing
    /// moves when no leader is known or a repetition of the group has already begun.
    pub fn follow_live_leader(&mut self, live: &EnsembleState) -> Vec<Effect> {
        let Some(index) = self.current() else {
            return Vec::new();
        };
        if self.status[index] != Status::Pending || self.prompt.is_some() || !self.checks.is_empty()
        {
            return Vec::new();
        }
        let Some(order) = self.procedure.steps[index].leader_last.clone() else {
            return Vec::new();
        };
        let Some(leader) = live.leader() else {
            return Vec::new();
        };
        if self.node_of.get(order.each).copied().flatten() != Some(leader) {
            return Vec::new();
        }
        let same_group = |i: usize| {
            self.procedure.steps[i]
                .leader_last
                .as_ref()
                .map(|o| &o.group)
                == Some(&order.group)
                && self.status[i] == Status::Pending
        };
        let mut last = index;
        while last + 1 < self.procedure.steps.len() && same_group(last + 1) {
            last += 1;
        }
        if last == index {
            return Vec::new();
        }
        let moved = self.procedure.steps[index].id.clone();
        self.procedure.steps[index..=last].rotate_left(1);
        let next = self.procedure.steps[index].id.clone();
        let text = format!(
            "order: leader-last: {} leads now, so `{moved}` moves after every other server of \
             its group; next: `{next}`",
            self.host_name(order.each)
        );
        // Recorded, not put in `message`: a message on an idle step stops the autopilot, and
        // this move is the runbook's own order, nothing a person must decide.
        vec![record(AuditEvent::Note { text }, true)]
    }
}
