//! Waits: after a step's commands end, its `wait:` gates and the views it predicts, watched
//! until every host reports its view or the wait times out.

use std::time::Duration;

use super::super::procedure::{Effect as StepEffect, Gate};
use super::super::simulate::{view_named, SimState};
use super::{record, Effect, Engine, Status};
use crate::audit::record::AuditEvent;
use crate::ensemble::{EnsembleState, Millis, ObservedView, ViewSource};
use crate::zk::config::View;

/// How long a step without a `wait:` waits for the views it predicts to be reported.
pub const VIEW_PATIENCE: Duration = Duration::from_secs(90);

/// Whether a host reports the view a step predicted for it.
#[derive(Debug, Clone, PartialEq)]
enum ViewCheck {
    Reported,
    NotYet(String),
    Differs(String),
}

impl Engine {
    /// Checks the current step's wait against the live ensemble and the clock.
    pub fn tick(&mut self, live: &EnsembleState, now: Millis) -> Vec<Effect> {
        let mut effects = self.notice_unplanned(live);
        effects.extend(self.follow_live_leader(live));
        let Some(index) = self.current() else {
            return effects;
        };
        if self.status[index] == Status::Running {
            effects.extend(self.lose_quorum_while_running(index, live));
            return effects;
        }
        let Status::Waiting { since } = self.status[index] else {
            return effects;
        };
        if let Some(why) = self
            .quorum_lost(index, live)
            .or_else(|| self.waits_on_stopped(index, live))
        {
            self.fail(index, Status::Failed(why), &mut effects);
            return effects;
        }
        // The clock is the wall clock: one stepped back (NTP) starts the wait again from now,
        // where it held it neither done (every poll looked older than its start) nor timed
        // out for as long as the clock had been stepped back.
        let since = if since == 0 || now < since {
            self.status[index] = Status::Waiting { since: now };
            now
        } else {
            since
        };
        let wait = self.step(index).wait.clone();
        let timeout = wait.as_ref().map_or(VIEW_PATIENCE, |w| w.timeout);
        let after = self.expected_after(index);
        let mut unmet: Vec<String> = wait
            .iter()
            .flat_map(|w| w.until.iter())
            .filter_map(|g| self.gate_against(g, live, &after).err())
            .collect();
        let mut differs = Vec::new();
        for predicted in self.predicted_views(index) {
            match self.check_view(live, &predicted, since) {
                ViewCheck::Reported => {}
                ViewCheck::NotYet(why) => unmet.push(why),
                ViewCheck::Differs(why) => differs.push(why),
            }
        }
        if !differs.is_empty() {
            self.fail(
                index,
                Status::Failed(format!(
                    "not the view the step predicted: {}",
                    differs.join("; ")
                )),
                &mut effects,
            );
            return effects;
        }
        // Only what was seen after the commands ended counts: an answer from before a restart
        // would say the node is back when it never left.
        if let Some(stale) = live
            .nodes
            .iter()
            .find(|n| n.last_poll_at.is_none_or(|at| at < since))
        {
            unmet.push(format!(
                "{} not polled since the commands ended",
                stale.target.name
            ));
        }
        if unmet.is_empty() {
            let waits_for_sync = wait
                .iter()
                .flat_map(|w| &w.until)
                .any(|g| *g == Gate::Synced);
            if let Some(note) = self.left_out_note(live, &after).filter(|_| waits_for_sync) {
                let step = &self.step(index).id;
                effects.push(record(
                    AuditEvent::Note {
                        text: format!("`{step}` done with {note}"),
                    },
                    true,
                ));
            }
            self.complete(index, &mut effects);
        } else if now.saturating_sub(since) > timeout.as_millis() as u64 {
            self.fail(
                index,
                Status::Failed(format!("the wait timed out: {}", unmet.join("; "))),
                &mut effects,
            );
        }
        effects
    }

    /// The ensemble as the runbook expects it once the step at `index` has acted.
    pub(super) fn expected_after(&self, index: usize) -> SimState {
        let mut after = self.expected.clone();
        for effect in &self.step(index).effects {
            after.apply(effect);
        }
        after
    }

    /// How long the current wait has run and may run, for a progress display.
    pub fn wait_progress(&self, now: Millis) -> Option<(u64, u64)> {
        let index = self.current()?;
        let Status::Waiting { since } = self.status[index] else {
            return None;
        };
        let limit = match &self.step(index).wait {
            Some(wait) => wait.timeout,
            None if self.waits(index) => VIEW_PATIENCE,
            None => return None,
        }
        .as_millis() as u64;
        Some((now.saturating_sub(since.max(1)).min(limit), limit))
    }

    /// A step waits after its commands when it has a `wait:`, or when it (re)starts a server
    /// or changes the view one runs: it is done only once each reports the predicted view.
    pub(super) fn waits(&self, index: usize) -> bool {
        self.step(index).wait.is_some() || !self.predicted_views(index).is_empty()
    }

    /// The hosts whose running view the step sets, whether it restarts them, and the view each
    /// must report after it: the one the step names, or — for a restart that names none — the
    /// one the host ran as the step began (the inventory's view only when that is unknown).
    pub(super) fn predicted_views(&self, index: usize) -> Vec<Predicted> {
        let mut after = self.expected.clone();
        let mut touched: Vec<(usize, bool)> = Vec::new();
        for effect in &self.step(index).effects {
            after.apply(effect);
            match effect {
                StepEffect::Restart { host, .. } | StepEffect::Start { host, .. } => {
                    touched.retain(|(h, _)| h != host);
                    touched.push((*host, true));
                }
                StepEffect::Reconfig { .. } => {
                    for host in (0..after.up.len()).filter(|h| after.up[*h]) {
                        if !touched.iter().any(|(h, _)| *h == host) {
                            touched.push((host, false));
                        }
                    }
                }
                StepEffect::Stop { host } => touched.retain(|(h, _)| h != host),
                _ => {}
            }
        }
        touched
            .into_iter()
            .filter(|(host, _)| after.up.get(*host).copied().unwrap_or(false))
            .filter_map(|(host, restarts)| {
                let name = after.running.get(host)?.as_ref()?;
                let unchanged =
                    self.expected.running.get(host).and_then(Option::as_ref) == Some(name);
                let (view, voters_only) = match self.before_launch.get(&host) {
                    Some((_, Some(seen))) if unchanged => {
                        (seen.view.clone(), seen.source == ViewSource::AdminVoters)
                    }
                    _ => (view_named(&self.procedure, name), false),
                };
                (!view.servers().is_empty()).then_some(Predicted {
                    host,
                    restarts,
                    view,
                    voters_only,
                })
            })
            .collect()
    }

    /// Whether `host` reports `predicted`, from whichever source its node allows: a view is
    /// taken only once seen since the server's last start (`NodeState::current_view`), after a
    /// restart only once that start is newer than the one known as the step began, and a view
    /// other than the predicted one fails the step only once seen after the step's commands
    /// ended (`since`): the mitosis rehearsal caught a source server re-elected (a new start,
    /// its old view) between the step's preparation and its own restart.
    fn check_view(&self, live: &EnsembleState, predicted: &Predicted, since: Millis) -> ViewCheck {
        let Predicted { host, restarts, .. } = *predicted;
        let view = &predicted.view;
        let name = self.host_name(host);
        let Some(node) = self
            .node_of
            .get(host)
            .copied()
            .flatten()
            .and_then(|n| live.nodes.get(n))
        else {
            return ViewCheck::Reported;
        };
        if restarts {
            if let Some((started, _)) = self.before_launch.get(&host) {
                if node.started_at == *started {
                    return ViewCheck::NotYet(format!("{name} has not been seen starting again"));
                }
            }
        }
        // With dynamic reconfig a learner takes the leader's committed config when it syncs
        // (`Learner.syncWithLeader` hands the config of the NEWLEADER packet to
        // `QuorumPeer.processReconfig`): the view it then reports is the leader's.
        let leaders = live
            .leader()
            .and_then(|l| live.nodes.get(l))
            .and_then(|l| l.current_view());
        let adopted = |observed: &ObservedView| {
            observed.dynamic && leaders.is_some_and(|l| observed.view.same_membership(&l.view))
        };
        match node
            .current_view()
            .filter(|v| v.source != ViewSource::Declared)
        {
            None => ViewCheck::NotYet(format!(
                "{name} has not reported its view since it started (the predicted one is {view})"
            )),
            Some(observed) if reports(observed, predicted) => ViewCheck::Reported,
            Some(observed) if restarts && adopted(observed) => ViewCheck::Reported,
            // Seen before the commands ended, another view may be from an election or a rejoin
            // elsewhere in the ensemble, not from this step: only a later answer is a verdict.
            Some(observed) if observed.seen_at < since => ViewCheck::NotYet(format!(
                "{name} has not reported its view since the step's commands ended (the predicted one is {view})"
            )),
            Some(observed) => ViewCheck::Differs(format!(
                "{name} runs {} ({}) instead of {view}",
                observed.view,
                source_words(observed.source)
            )),
        }
    }
}

/// The view a step predicts for one of its hosts.
pub(super) struct Predicted {
    pub(super) host: usize,
    /// The step (re)starts the host, rather than changing its view in place.
    restarts: bool,
    view: View,
    /// Taken from the AdminServer's `voting_view`, which lists voters only.
    voters_only: bool,
}

/// Whether an observed view is the predicted one. The AdminServer's `voting_view` lists only
/// voters (`QuorumPeer.getVotingView`), so when either side came from it only the voters are
/// compared.
fn reports(observed: &ObservedView, predicted: &Predicted) -> bool {
    if observed.source == ViewSource::AdminVoters || predicted.voters_only {
        observed
            .view
            .voters_only()
            .same_membership(&predicted.view.voters_only())
    } else {
        observed.view.same_membership(&predicted.view)
    }
}

fn source_words(source: ViewSource) -> &'static str {
    match source {
        ViewSource::Conf => "its `conf`",
        ViewSource::AdminVoters => "its AdminServer's voting_view",
        ViewSource::ZooCfg => "its zoo.cfg over SSH",
        ViewSource::Declared => "declared",
    }
}
