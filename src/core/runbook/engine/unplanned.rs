//! What happens outside the runbook: a server the runbook keeps running (by the steps done so
//! far, `Engine::expected`) that answers nothing at all now was stopped by someone or
//! something else. It is recorded the first poll it is seen, and when it leaves a waiting step
//! without a quorum of running voters the wait cannot hold — ZooKeeper serves only with a
//! majority of the voters (`QuorumMaj.containsQuorum`) — so the step fails at once, naming
//! the server, instead of running out its timeout.
//!
//! A server recorded stopped that answers again was started by someone else: "restarted
//! outside the runbook". Only a stop seen as such counts: a follower whose leader went away
//! drops its `ZooKeeperServer` and makes a new one when it rejoins (`QuorumPeer.run`,
//! `makeFollower`), so its counters and `uptime` start again from zero without any restart;
//! a JVM restart takes seconds with the client port closed, so a poll sees it down.
//! A leader that changes while no step under way acts on it (stops, restarts or reconfigures
//! it, or the whole ensemble) is recorded as "zk1 stopped leading; zk3 leads".

use std::collections::BTreeSet;

/// How many events outside the runbook the console shows beside the step.
pub const OUTSIDE_SHOWN: usize = 3;

/// Why nothing is decided on a failed step whose commands still run.
pub const STILL_RUNNING: &str =
    "the step failed while a command of it still runs: wait for it to end (its result goes to the log), then decide";

use super::{record, Effect, Ended, Engine, Status};
use crate::audit::record::AuditEvent;
use crate::ensemble::{EnsembleState, Health, NodeState};
use crate::inventory::HostRole;
use crate::runbook::procedure::{Effect as StepEffect, Gate};

impl Engine {
    /// The hosts the step at `index` acts on: its commands' hosts and its effects' servers.
    pub(super) fn acted_on(&self, index: usize) -> BTreeSet<usize> {
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
    pub fn who(&self, host: usize) -> String {
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
                self.node_of(*h, live)
                    .is_some_and(|n| matches!(n.health, Health::Down(_)))
            })
            .collect()
    }

    /// Those of [`Engine::stopped_outside`] this run saw running before: stopped during it
    /// (by hand, say), not already down when it began.
    pub fn stopped_during_run(&self, live: &EnsembleState) -> Vec<usize> {
        let mut stopped = self.stopped_outside(live);
        stopped.retain(|h| self.seen_up.contains(h));
        stopped
    }

    /// Records each server newly seen stopped outside the runbook, each one stopped so that
    /// answers again, and a leader change the runbook did not make; each once.
    pub(super) fn notice_unplanned(&mut self, live: &EnsembleState) -> Vec<Effect> {
        let now: BTreeSet<usize> = self.stopped_outside(live).into_iter().collect();
        let (in_hand, whole) = self.in_hand();
        let mut texts = Vec::new();
        for host in now.difference(&self.unplanned) {
            texts.push(format!("{} stopped outside the runbook", self.who(*host)));
        }
        for host in self.unplanned.difference(&now) {
            let up = self.node_of(*host, live).is_some_and(|n| n.health.is_up());
            if up && !in_hand.contains(host) {
                texts.push(format!("{} restarted outside the runbook", self.who(*host)));
            }
        }
        self.unplanned = now;
        let running: Vec<usize> = (0..self.procedure.hosts.len())
            .filter(|h| self.node_of(*h, live).is_some_and(|n| n.health.is_up()))
            .collect();
        self.seen_up.extend(running);
        if let Some(new) = self.leader_host(live) {
            match self.leader_seen {
                Some(old) if old != new && !whole && !in_hand.contains(&old) => texts.push(
                    format!("{} stopped leading; {} leads", self.who(old), self.who(new)),
                ),
                _ => {}
            }
            self.leader_seen = Some(new);
        }
        let mut effects = Vec::new();
        for text in texts {
            self.outside.push(text.clone());
            effects.push(record(AuditEvent::Note { text }, true));
        }
        let extra = self.outside.len().saturating_sub(OUTSIDE_SHOWN);
        self.outside.drain(..extra);
        effects
    }

    /// The hosts the current step may still be changing — under way, or left failed or of
    /// unknown outcome by its commands — and whether it acts on the whole ensemble
    /// (a reconfig, a partition or its healing), where any leader change may be its own.
    fn in_hand(&self) -> (BTreeSet<usize>, bool) {
        let Some(index) = self.current() else {
            return (BTreeSet::new(), false);
        };
        if matches!(
            self.status[index],
            Status::Pending | Status::Done | Status::Skipped(_)
        ) {
            return (BTreeSet::new(), false);
        }
        let whole = self.procedure.steps[index].effects.iter().any(|e| {
            matches!(
                e,
                StepEffect::Reconfig { .. } | StepEffect::Partition(_) | StepEffect::Heal
            )
        });
        (self.acted_on(index), whole)
    }

    fn node_of<'a>(&self, host: usize, live: &'a EnsembleState) -> Option<&'a NodeState> {
        self.node_of
            .get(host)
            .copied()
            .flatten()
            .and_then(|n| live.nodes.get(n))
    }

    /// A server stopped outside the runbook during the run while the step's commands run
    /// (another's restart under way) that leaves no quorum: the step fails at once, naming the
    /// server, and no further command of it is released — the poll that sees the stop is the
    /// one that fails the step, not the end of a command that may run for seconds more.
    ///
    /// The commands already running are left to finish, not killed: a restart cut between its
    /// stop and its start leaves its server down, and closing the SSH channel does not reliably
    /// stop the remote process (without a terminal the shell may go on), so cancelling would
    /// only turn a known result into an unknown one. What such a command does — bring its own
    /// server back — is what gives the quorum back, and it is bounded by the step's timeout.
    /// Its result is recorded under the same step when it ends (`ended_after_failing`), and
    /// until then nothing else is run or decided on the step (`STILL_RUNNING`).
    pub(super) fn lose_quorum_while_running(
        &mut self,
        index: usize,
        live: &EnsembleState,
    ) -> Vec<Effect> {
        // Only a stop during the run counts here: a server down before it began was in the
        // forecast the operator (or the runbook) accepted the step on.
        if self.past_a_hazard || self.stopped_during_run(live).is_empty() {
            return Vec::new();
        }
        let Some(why) = self.quorum_lost(index, live) else {
            return Vec::new();
        };
        self.queue.clear();
        // A sibling whose outcome is unknown outweighs the lost quorum: the host must be
        // checked by a person, where a plain failure would be retried (by the autopilot too).
        let status = match self.failing.take() {
            Some(Status::OutcomeUnknown(reason)) => {
                Status::OutcomeUnknown(format!("{reason}; then {why}"))
            }
            _ => Status::Failed(why.clone()),
        };
        let running: Vec<String> = self
            .running
            .iter()
            .map(|(_, command)| format!("`{}` on {}", command.text, self.who(command.host)))
            .collect();
        let mut effects = Vec::new();
        if !running.is_empty() {
            let text = format!(
                "`{}` failed: {why}; still running, left to finish (a restart cut in half \
                 would leave its server down): {}; its result is recorded when it ends",
                self.procedure.steps[index].id,
                running.join(", ")
            );
            effects.push(record(AuditEvent::Note { text }, true));
            self.message = Some(STILL_RUNNING.into());
        }
        self.fail(index, status, &mut effects);
        effects
    }

    /// A command of a step already failed on a lost quorum ended: its result is recorded (by
    /// the caller) under the step; an unknown outcome outweighs the failure, since the
    /// operator must then check the host.
    pub(super) fn ended_after_failing(
        &mut self,
        index: usize,
        ended: &Ended,
        effects: &mut Vec<Effect>,
    ) {
        if let Ended::Unknown { reason, .. } = ended {
            if matches!(self.status[index], Status::Failed(_)) {
                self.set_status(index, Status::OutcomeUnknown(reason.clone()), effects);
            }
        }
        if !self.commands_running() {
            self.message = Some(
                "the step's running commands have ended, their results are in the log: decide how to go on"
                    .into(),
            );
        }
    }

    /// Why the waiting step's wait cannot come true: a condition still unmet needs a server
    /// stopped outside the runbook to run — the sync gate every voter, a mode, leader or 4lw
    /// gate its host — and nothing in the runbook will start it again.
    pub(super) fn waits_on_stopped(&self, index: usize, live: &EnsembleState) -> Option<String> {
        let stopped = self.stopped_outside(live);
        let wait = self.procedure.steps[index].wait.as_ref()?;
        if stopped.is_empty() {
            return None;
        }
        let after = self.expected_after(index);
        wait.until.iter().find_map(|gate| {
            let needed: Vec<usize> = match gate {
                Gate::Synced => stopped
                    .iter()
                    .copied()
                    .filter(|h| self.procedure.hosts[*h].inventory.role == HostRole::Participant)
                    .collect(),
                Gate::Mode { host, .. } | Gate::Leader(host) | Gate::Fourlw { host, .. } => {
                    stopped.iter().copied().filter(|h| h == host).collect()
                }
                _ => Vec::new(),
            };
            if needed.is_empty() {
                return None;
            }
            let why = self.gate_against(gate, live, &after).err()?;
            let names: Vec<String> = needed.iter().map(|h| self.who(*h)).collect();
            Some(format!(
                "the wait cannot hold: {} stopped outside the runbook, and it waits for {why}; \
                 start {} again, then retry the step",
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            ))
        })
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
            .filter(|h| self.node_of(**h, live).is_some_and(|n| n.health.is_up()))
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
