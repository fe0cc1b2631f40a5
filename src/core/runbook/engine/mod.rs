//! The step engine (pure): one step at a time, gates checked on the live ensemble, the predicted
//! state analyzed, confirmation and overrides taken, commands released one by one after their
//! intent is recorded, waits watched until they hold or time out. It never performs anything:
//! it returns effects — record this, run that — for the adapters, so the console, `--autopilot`
//! and replay drive the very same logic.
//!
//! This file holds the engine's state and the life of a step (prepare, release, end, recover,
//! resume); `gates` judges gates and readiness, `wait` the waits and predicted views after a
//! step's commands, `needs` what the step asks of the poller.

mod gates;
mod needs;
mod order;
mod picks;
mod rebind;
mod unplanned;
mod wait;

pub use gates::{Readiness, CHECK_PENDING};
pub use picks::Choice;
pub use unplanned::STILL_RUNNING;
pub use wait::VIEW_PATIENCE;

use gates::CheckRun;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::model::{Confirm, Hazard};
use super::procedure::{BindSource, Gate, Procedure, Step, StepCommand};
use super::simulate::SimState;
use crate::audit::record::{AuditEvent, CommandOutcome, DecisionKind, StepState};
use crate::ensemble::{EnsembleState, Millis, Need, ObservedView, ViewSource};
use crate::zk::config::PeerAddr;
use crate::zk::version::ZkVersion;

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Pending,
    Running,
    Waiting {
        since: Millis,
    },
    Done,
    Failed(String),
    Skipped(String),
    /// A command may have run: the operator must check before anything else runs.
    OutcomeUnknown(String),
}

impl Status {
    pub fn audit_state(&self) -> StepState {
        match self {
            Status::Pending => StepState::Pending,
            Status::Running => StepState::Running,
            Status::Waiting { .. } => StepState::Waiting,
            Status::Done => StepState::Done,
            Status::Failed(_) => StepState::Failed,
            Status::Skipped(_) => StepState::Skipped,
            Status::OutcomeUnknown(_) => StepState::OutcomeUnknown,
        }
    }

    pub fn settled(&self) -> bool {
        matches!(self, Status::Done | Status::Skipped(_))
    }
}

/// What the engine needs from the operator before the current step can go on.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Hazards or unmet gates: only a typed reason goes past them.
    Override { reasons: Vec<String> },
    /// `y` to run.
    Confirm,
    /// Type this host's name to run.
    TypeHost(String),
    /// The step failed or its outcome is unknown: retry, roll back, skip (with a reason), or
    /// (outcome unknown only) mark it done once checked.
    Recover,
    /// `y` to run the step's rollback, these commands (`Esc` goes back to recovering).
    ConfirmRollback { commands: Vec<String> },
    /// A two-person step waits for a follower's approval; `same_user` says whether the
    /// operator's own Unix user may give it from a second session.
    Approval { same_user: bool },
}

/// Someone who takes part in a session: the operator, or a follower who approves a step.
/// `uid` is what tells two people apart; `name` is what the log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub uid: u32,
}

impl Person {
    /// How the log names a person: the user name and the uid it was taken from.
    pub fn label(&self) -> String {
        format!("{} (uid {})", self.name, self.uid)
    }
}

/// An operator's answer or command.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Start the current step.
    Start,
    Override(String),
    Confirm,
    TypedHost(String),
    Cancel,
    Retry,
    Rollback,
    Skip(String),
    /// After checking by hand that a step whose outcome was unknown did complete.
    MarkDone(String),
    /// Bind runbook host `host`, whose `pick:` no longer fits, to inventory host `to`, one of
    /// `Engine::rebind_choices`.
    Rebind {
        host: String,
        to: String,
    },
    /// A follower approved `step`. Who it is comes from the kernel (the owner of the file the
    /// follower dropped), never from what the follower wrote.
    Approve {
        step: String,
        approver: Person,
    },
}

/// What a session asks of the world, in order: the engine's records and commands, and what
/// the run console adds (`console::run`): output and snapshot records, SSH reads, what the
/// poller must ask. Adapters perform them.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append to the audit log; `sync` ones are fsynced before the next effect is performed.
    Record { event: AuditEvent, sync: bool },
    /// Run a command over SSH; its intent has been recorded just before. A `check` gate's
    /// command is run and recorded the same way, when the operator starts the step.
    Execute {
        intent: u64,
        host: usize,
        command: StepCommand,
        timeout: Duration,
    },
    /// Read this live node's config over SSH (its `config` verb): it shows no current view.
    ReadConfig { node: usize },
    /// Read this live node's process id over SSH (its `status` verb): it is LOOKING.
    ReadProcessId { node: usize },
    /// Tell the poller what each node is needed for now (`Engine::needs`): the current step's
    /// gates and waits have their `mntr` and `conf` asked every cycle, not every fifth.
    Demand(Vec<Need>),
}

/// How a command ended, as the SSH adapter reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Exited { code: Option<i32>, duration_ms: u64 },
    NotRun(String),
    Unknown { reason: String, duration_ms: u64 },
}

impl Ended {
    /// The `result` record of command `intent` that ended so: a command that did not run
    /// failed, in no time; an unknown outcome is recorded as such, never as a failure.
    fn result(&self, intent: u64) -> AuditEvent {
        let (exit_status, duration_ms, outcome) = match self {
            Ended::Exited { code, duration_ms } => (
                *code,
                *duration_ms,
                if *code == Some(0) {
                    CommandOutcome::Ok
                } else {
                    CommandOutcome::Failed
                },
            ),
            Ended::NotRun(_) => (None, 0, CommandOutcome::Failed),
            Ended::Unknown {
                reason,
                duration_ms,
            } => (
                None,
                *duration_ms,
                CommandOutcome::Unknown {
                    reason: reason.clone(),
                },
            ),
        };
        AuditEvent::Result {
            intent,
            exit_status,
            duration_ms,
            outcome,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Engine {
    pub procedure: Procedure,
    pub version: ZkVersion,
    pub status: Vec<Status>,
    /// The ensemble as the completed steps left it, as far as zkpilot's own actions go.
    pub expected: SimState,
    /// Index into `procedure.hosts` → index into the live ensemble's nodes.
    pub node_of: Vec<Option<usize>>,
    pub prompt: Option<Prompt>,
    pub operator: Person,
    /// Commands of the current step not yet released, and those running (by intent). A step
    /// failed at once on a lost quorum keeps its running commands here until they end.
    queue: Vec<StepCommand>,
    running: Vec<(u64, StepCommand)>,
    /// How the current step failed while parallel siblings still run: it is recorded, and
    /// recovery offered, only once every one of them has ended.
    failing: Option<Status>,
    /// `check` gates of the current attempt: the intent running each, then its result.
    checks: Vec<CheckRun>,
    rolling_back: bool,
    override_reason: Option<String>,
    /// What the override was given for: a confirmation on a state that blocks for another
    /// reason asks again.
    overridden: Vec<String>,
    /// Who approved the current attempt of a two-person step.
    approved_by: Option<Person>,
    next_intent: u64,
    /// The last thing to tell the operator.
    pub message: Option<String>,
    /// For each host of the current step, as the step was prepared: when its server had last
    /// started (`NodeState::started_at`) and the view it ran. A restart is verified against
    /// the first, a restart that names no new view against the second.
    before_launch: BTreeMap<usize, (Option<Millis>, Option<ObservedView>)>,
    /// The step the resumed log left failed, until it is retried: `--autopilot` may retry
    /// it once its gates hold again (the failure may have been the world's, since put right).
    pub failed_before_resume: Option<String>,
    /// Hosts last seen stopped outside the runbook (`unplanned`), each recorded once.
    unplanned: BTreeSet<usize>,
    /// The host last seen leading, to tell a leader change the runbook did not make.
    leader_seen: Option<usize>,
    /// Hosts whose server this run has seen running: one stopped since was stopped during it.
    seen_up: BTreeSet<usize>,
    /// The step under way was started past a hazard (overridden with a reason, or a quorum
    /// loss its runbook accepts): a lost quorum while its commands run is what was accepted.
    past_a_hazard: bool,
    /// What happened outside the runbook, latest last (at most `OUTSIDE_SHOWN`), for the
    /// console to show beside the step: each is also a note in the log.
    pub outside: Vec<String>,
    /// What the runbook was bound from, so a `pick:` host can be re-bound; without it none is
    /// offered.
    pub source: Option<BindSource>,
}

/// What a session's log says about its steps, read back for `--resume`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// Each step's last recorded state.
    states: BTreeMap<String, StepState>,
    /// Steps with an intent whose result was never written, and no decision on them since.
    open: BTreeSet<String>,
    /// Steps with a command that ended since the step last turned `running`.
    ended: BTreeSet<String>,
    /// The highest intent number in the log.
    last_intent: u64,
}

impl Recorded {
    pub fn of<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> Recorded {
        let mut recorded = Recorded::default();
        let mut open: BTreeMap<u64, String> = BTreeMap::new();
        for event in events {
            match event {
                AuditEvent::Step { step, state } => {
                    if *state == StepState::Running {
                        recorded.ended.remove(step);
                    }
                    recorded.states.insert(step.clone(), *state);
                }
                AuditEvent::Intent { intent, step, .. } => {
                    recorded.last_intent = recorded.last_intent.max(*intent);
                    open.insert(*intent, step.clone());
                }
                AuditEvent::Result { intent, .. } => {
                    if let Some(step) = open.remove(intent) {
                        recorded.ended.insert(step);
                    }
                }
                // The operator checked an unknown outcome and chose what to do about it: the
                // intent without a result is accounted for. A re-bind is made before a step
                // runs and accounts for nothing.
                AuditEvent::Decision { step, decision, .. }
                    if !matches!(
                        decision,
                        DecisionKind::Confirm
                            | DecisionKind::Approve { .. }
                            | DecisionKind::Rebind { .. }
                    ) =>
                {
                    open.retain(|_, s| s != step);
                }
                _ => {}
            }
        }
        recorded.open = open.into_values().collect();
        recorded
    }
}

impl Engine {
    pub fn new(
        procedure: Procedure,
        version: ZkVersion,
        node_of: Vec<Option<usize>>,
        operator: Person,
    ) -> Engine {
        let expected = SimState::initial(&procedure);
        Engine {
            status: vec![Status::Pending; procedure.steps.len()],
            procedure,
            version,
            expected,
            node_of,
            prompt: None,
            operator,
            queue: Vec::new(),
            running: Vec::new(),
            checks: Vec::new(),
            rolling_back: false,
            failing: None,
            override_reason: None,
            overridden: Vec::new(),
            approved_by: None,
            next_intent: 1,
            message: None,
            before_launch: BTreeMap::new(),
            failed_before_resume: None,
            unplanned: BTreeSet::new(),
            leader_seen: None,
            seen_up: BTreeSet::new(),
            past_a_hazard: false,
            outside: Vec::new(),
            source: None,
        }
    }

    /// The step the run is at: one under way or waiting for recovery, else the first that is
    /// not done or skipped. A resume binds a `leader-last` for-each by the leader of the
    /// moment, which may put a pending repetition before the one whose outcome the log left
    /// unknown: that one stays current, or the next would run before anyone checked it.
    pub fn current(&self) -> Option<usize> {
        self.status
            .iter()
            .position(|s| !s.settled() && *s != Status::Pending)
            .or_else(|| self.status.iter().position(|s| !s.settled()))
    }

    pub fn finished(&self) -> bool {
        self.current().is_none()
    }

    /// A command of the current step is running (also after the step failed at once on a
    /// lost quorum: its commands are left to finish).
    pub fn commands_running(&self) -> bool {
        !self.running.is_empty()
    }

    fn step(&self, index: usize) -> &Step {
        &self.procedure.steps[index]
    }

    /// The runbook host bound to the live leader's server, if one leads and the runbook names it.
    fn leader_host(&self, live: &EnsembleState) -> Option<usize> {
        let leader = live.leader()?;
        self.node_of.iter().position(|n| *n == Some(leader))
    }

    fn host_name(&self, host: usize) -> String {
        self.procedure
            .hosts
            .get(host)
            .map_or_else(|| "?".into(), |h| h.name.clone())
    }

    /// Applies an operator input; returns the effects to perform, in order.
    pub fn input(&mut self, input: Input, live: &EnsembleState) -> Vec<Effect> {
        let Some(index) = self.current() else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        match (self.status[index].clone(), input) {
            (Status::Pending, Input::Start) => {
                // A leader that moved since the last poll keeps its repetition last: when that
                // puts another step first, the operator (or the autopilot) is shown it and
                // starts it.
                let id = self.procedure.steps[index].id.clone();
                effects.extend(self.follow_live_leader(live));
                if self.procedure.steps[index].id == id {
                    self.prepare(index, live, &mut effects)
                }
            }
            (Status::Pending, Input::Override(reason))
                if matches!(self.prompt, Some(Prompt::Override { .. })) =>
            {
                let overridden = |reason| DecisionKind::Override { reason };
                let refusal = "an override needs a reason";
                if let Some(decision) = self.with_reason(index, &reason, overridden, refusal) {
                    effects.push(decision);
                    if let Some(Prompt::Override { reasons }) = &self.prompt {
                        self.overridden = reasons.clone();
                    }
                    self.override_reason = Some(reason);
                    self.prepare(index, live, &mut effects);
                }
            }
            (Status::Pending, Input::Confirm) if self.prompt == Some(Prompt::Confirm) => {
                let clear = self.still_clear(index, live, &mut effects);
                if clear {
                    effects.push(self.decision(index, DecisionKind::Confirm));
                    self.launch(index, &mut effects);
                }
            }
            (Status::Pending, Input::TypedHost(typed)) => {
                if let Some(Prompt::TypeHost(expected)) = &self.prompt {
                    if typed.trim() != expected {
                        self.message =
                            Some(format!("`{typed}` is not `{expected}`: nothing was run"));
                    } else if self.still_clear(index, live, &mut effects) {
                        effects.push(self.decision(index, DecisionKind::Confirm));
                        self.launch(index, &mut effects);
                    }
                }
            }
            (Status::Pending, Input::Cancel) if self.prompt.is_some() => {
                effects.push(self.decision(index, DecisionKind::Cancel));
                self.prompt = None;
                self.checks.clear();
                self.override_reason = None;
                self.overridden.clear();
                self.approved_by = None;
                self.message = Some("cancelled: nothing was run".into());
            }
            (Status::Pending, Input::Rebind { host, to })
                if self.prompt.is_none() && !self.checks_running() =>
            {
                effects.extend(self.rebind(index, &host, &to, live));
            }
            (Status::Pending, Input::Approve { step, approver }) => {
                self.approve(index, step, approver, live, &mut effects)
            }
            (
                Status::Failed(_) | Status::OutcomeUnknown(_),
                Input::Retry | Input::Rollback | Input::Skip(_) | Input::MarkDone(_),
            ) if self.commands_running() => {
                self.message = Some(STILL_RUNNING.into());
            }
            (Status::Failed(_) | Status::OutcomeUnknown(_), Input::Retry) => {
                self.failed_before_resume = None;
                effects.push(self.decision(index, DecisionKind::Retry));
                self.checks.clear();
                self.approved_by = None;
                self.set_status(index, Status::Pending, &mut effects);
                self.prompt = None;
                self.prepare(index, live, &mut effects);
            }
            // A rollback runs commands like the step did: shown first, and run only on `y`.
            (Status::Failed(_) | Status::OutcomeUnknown(_), Input::Rollback) => {
                let rollback = self.step(index).rollback.clone();
                if rollback.is_empty() {
                    self.message = Some("this step has no rollback".into());
                } else {
                    let commands = rollback
                        .iter()
                        .map(|c| format!("`{}` on {}", c.text, self.who(c.host)))
                        .collect();
                    self.prompt = Some(Prompt::ConfirmRollback { commands });
                }
            }
            (Status::Failed(_) | Status::OutcomeUnknown(_), Input::Confirm)
                if matches!(self.prompt, Some(Prompt::ConfirmRollback { .. })) =>
            {
                effects.push(self.decision(index, DecisionKind::Rollback));
                self.prompt = None;
                self.rolling_back = true;
                self.queue = self.step(index).rollback.clone();
                self.set_status(index, Status::Running, &mut effects);
                self.release(index, &mut effects);
            }
            (Status::Failed(_) | Status::OutcomeUnknown(_), Input::Cancel)
                if matches!(self.prompt, Some(Prompt::ConfirmRollback { .. })) =>
            {
                self.prompt = Some(Prompt::Recover);
                self.message = Some("rollback cancelled: nothing was run".into());
            }
            (
                Status::Failed(_) | Status::OutcomeUnknown(_) | Status::Pending,
                Input::Skip(reason),
            ) => {
                let skipped = |reason| DecisionKind::Skip { reason };
                let refusal = "skipping needs a reason";
                if let Some(decision) = self.with_reason(index, &reason, skipped, refusal) {
                    effects.push(decision);
                    self.prompt = None;
                    self.set_status(index, Status::Skipped(reason), &mut effects);
                }
            }
            (Status::OutcomeUnknown(_), Input::MarkDone(reason)) if !reason.trim().is_empty() => {
                effects.push(self.decision(
                    index,
                    DecisionKind::Override {
                        reason: format!("checked by hand: {reason}"),
                    },
                ));
                self.complete(index, &mut effects);
            }
            _ => {}
        }
        effects
    }

    /// A follower's approval of the step waiting for one. The operator's own Unix user counts
    /// only where the runbook allows it: otherwise one person could approve their own step
    /// from a second terminal. A refusal is recorded too, so the follower sees it.
    fn approve(
        &mut self,
        index: usize,
        step: String,
        approver: Person,
        live: &EnsembleState,
        effects: &mut Vec<Effect>,
    ) {
        let id = self.step(index).id.clone();
        let refusal = match &self.prompt {
            Some(Prompt::Approval { .. }) if step != id => {
                Some(format!("it names step `{step}`, but `{id}` is waiting"))
            }
            Some(Prompt::Approval { same_user: false }) if approver.uid == self.operator.uid => {
                Some(format!(
                    "{} is the operator's own Unix user, and this step needs another person",
                    approver.label()
                ))
            }
            Some(Prompt::Approval { .. }) => None,
            _ => Some("no step is waiting for an approval".into()),
        };
        if let Some(why) = refusal {
            let text = format!(
                "approval of `{step}` by {} refused: {why}",
                approver.label()
            );
            self.message = Some(text.clone());
            effects.push(record(AuditEvent::Note { text }, true));
            return;
        }
        effects.push(self.decision(
            index,
            DecisionKind::Approve {
                by: approver.label(),
            },
        ));
        self.message = Some(format!("approved by {}", approver.label()));
        self.approved_by = Some(approver);
        self.prompt = None;
        // Gates and the prediction are checked again: the ensemble may have moved while the
        // step waited, and the operator confirms what holds now.
        self.prepare(index, live, effects);
    }

    /// Checks hazards and gates, then asks for what the step needs before it runs.
    fn prepare(&mut self, index: usize, live: &EnsembleState, effects: &mut Vec<Effect>) {
        let step = self.step(index).clone();
        if self.checks.is_empty() {
            let checks: Vec<(usize, usize, String)> = step
                .gates
                .iter()
                .enumerate()
                .filter_map(|(g, gate)| match gate {
                    Gate::Check { host, command } => Some((g, *host, command.clone())),
                    _ => None,
                })
                .collect();
            if !checks.is_empty() {
                for (gate, host, text) in checks {
                    let command = StepCommand {
                        host,
                        text,
                        stdin: None,
                    };
                    let intent = self.release_one(index, command, effects);
                    self.checks.push(CheckRun {
                        gate,
                        intent,
                        result: None,
                    });
                }
                self.message = Some("running the step's check commands".into());
                return;
            }
        }
        if self.checks.iter().any(|check| check.result.is_none()) {
            return;
        }
        let Some(readiness) = self.readiness(live) else {
            return;
        };
        self.before_launch = self
            .node_of
            .iter()
            .enumerate()
            .filter_map(|(host, node)| {
                let node = live.nodes.get((*node)?)?;
                let view = node
                    .current_view()
                    .filter(|v| v.source != ViewSource::Declared)
                    .cloned();
                Some((host, (node.started_at, view)))
            })
            .collect();
        for (gate, result) in &readiness.gates {
            effects.push(record(
                AuditEvent::Gate {
                    step: step.id.clone(),
                    gate: gate.clone(),
                    passed: result.is_ok(),
                    detail: result.clone().err().unwrap_or_default(),
                },
                false,
            ));
        }
        let split = readiness
            .hazards
            .iter()
            .any(|h| h.hazard == Hazard::SplitBrain);
        let no_quorum = readiness
            .hazards
            .iter()
            .any(|h| h.hazard == Hazard::QuorumLoss);
        effects.push(record(
            AuditEvent::Verdict {
                step: step.id.clone(),
                quorum_possible: !no_quorum,
                split_brain_possible: split,
                text: readiness.predicted.clone().unwrap_or_default(),
            },
            false,
        ));
        let reasons = blocking(&readiness);
        if !self.accepted(&reasons) {
            self.prompt = Some(Prompt::Override { reasons });
            return;
        }
        if let Some(approval) = step.approval {
            if self.approved_by.is_none() {
                let same_user = approval.allows_same_user();
                effects.push(record(
                    AuditEvent::ApprovalRequest {
                        step: step.id.clone(),
                        same_user,
                    },
                    true,
                ));
                self.prompt = Some(Prompt::Approval { same_user });
                self.message = Some(
                    "waiting for a second operator's approval: they run `zkpilot follow` on this audit log and press a".into(),
                );
                return;
            }
        }
        self.prompt = match step.confirm {
            Confirm::None => None,
            Confirm::Yes => Some(Prompt::Confirm),
            Confirm::TypeHost => Some(Prompt::TypeHost(
                step.commands
                    .first()
                    .map(|c| self.procedure.hosts[c.host].inventory.name.clone())
                    .unwrap_or_default(),
            )),
        };
        if self.prompt.is_none() {
            self.launch(index, effects);
        }
    }

    /// Whether the operator has accepted every one of `reasons` to run the step anyway (none
    /// is the same).
    fn accepted(&self, reasons: &[String]) -> bool {
        reasons.is_empty()
            || (self.override_reason.is_some()
                && reasons.iter().all(|r| self.overridden.contains(r)))
    }

    /// Judges the step again on `live` as it is confirmed: the prompt was shown on an earlier
    /// poll, and a server may have stopped since. When something now blocks that nobody
    /// accepted, the step is prepared again (its gates and verdict recorded anew, the
    /// override asked for) and nothing runs.
    fn still_clear(
        &mut self,
        index: usize,
        live: &EnsembleState,
        effects: &mut Vec<Effect>,
    ) -> bool {
        let Some(readiness) = self.readiness(live) else {
            return true;
        };
        if self.accepted(&blocking(&readiness)) {
            return true;
        }
        self.override_reason = None;
        self.overridden.clear();
        self.prepare(index, live, effects);
        self.message = Some(
            "the ensemble changed since the step was judged, and something now blocks it: nothing was run"
                .into(),
        );
        false
    }

    fn launch(&mut self, index: usize, effects: &mut Vec<Effect>) {
        self.prompt = None;
        self.checks.clear();
        self.past_a_hazard = self.override_reason.is_some()
            || self
                .step(index)
                .accepts
                .iter()
                .any(|a| a.hazard == Hazard::QuorumLoss);
        self.override_reason = None;
        self.overridden.clear();
        self.approved_by = None;
        self.rolling_back = false;
        self.queue = self.step(index).commands.clone();
        self.set_status(index, Status::Running, effects);
        self.release(index, effects);
    }

    /// Releases the next command (or all of them, for a parallel step), each after its intent.
    fn release(&mut self, index: usize, effects: &mut Vec<Effect>) {
        let parallel = self.step(index).parallel && !self.rolling_back;
        if self.queue.is_empty() && self.running.is_empty() {
            self.commands_finished(index, effects);
            return;
        }
        while !self.queue.is_empty() && (parallel || self.running.is_empty()) {
            let command = self.queue.remove(0);
            let intent = self.release_one(index, command.clone(), effects);
            self.running.push((intent, command));
        }
    }

    /// Records a command's intent (fsynced) and then releases it.
    fn release_one(
        &mut self,
        index: usize,
        command: StepCommand,
        effects: &mut Vec<Effect>,
    ) -> u64 {
        let intent = self.next_intent;
        self.next_intent += 1;
        let host = command.host;
        effects.push(record(
            AuditEvent::Intent {
                intent,
                step: self.step(index).id.clone(),
                host: self.procedure.hosts[host].inventory.name.clone(),
                command: command.text.clone(),
            },
            true,
        ));
        effects.push(Effect::Execute {
            intent,
            host,
            command,
            timeout: self.step(index).timeout,
        });
        intent
    }

    /// A command's end, as SSH reports it.
    pub fn ended(
        &mut self,
        intent: u64,
        ended: Ended,
        now: Millis,
        live: &EnsembleState,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(index) = self.current() else {
            return effects;
        };
        if let Some(check) = self
            .checks
            .iter_mut()
            .find(|check| check.intent == intent && check.result.is_none())
        {
            check.result = Some(match &ended {
                Ended::Exited { code: Some(0), .. } => Ok(()),
                Ended::Exited { code, .. } => Err(format!(
                    "the check exited with {}",
                    code.map_or("a signal".into(), |c| c.to_string())
                )),
                Ended::NotRun(reason) => Err(format!("the check did not run: {reason}")),
                Ended::Unknown { reason, .. } => {
                    Err(format!("the check's outcome is unknown: {reason}"))
                }
            });
            effects.push(record(ended.result(intent), true));
            if self.checks.iter().all(|check| check.result.is_some()) {
                self.message = None;
                self.prepare(index, live, &mut effects);
            }
            return effects;
        }
        if !self.running.iter().any(|(i, _)| *i == intent) {
            return effects;
        }
        self.running.retain(|(i, _)| *i != intent);
        if let Ended::NotRun(reason) = &ended {
            effects.push(record(
                AuditEvent::Note {
                    text: format!("intent {intent} was not run: {reason}"),
                },
                false,
            ));
        }
        effects.push(record(ended.result(intent), true));
        if self.status[index] != Status::Running {
            self.ended_after_failing(index, &ended, &mut effects);
            return effects;
        }
        let failure = match ended {
            Ended::Exited { code: Some(0), .. } => None,
            Ended::Exited { code, .. } => Some(Status::Failed(format!(
                "a command exited with {}",
                code.map_or("a signal".into(), |c| c.to_string())
            ))),
            Ended::NotRun(reason) => Some(Status::Failed(format!("not run: {reason}"))),
            Ended::Unknown { reason, .. } => Some(Status::OutcomeUnknown(reason)),
        };
        match failure {
            None if self.failing.is_none() => self.release_or_finish(index, &mut effects, now),
            None => {}
            Some(status) => {
                self.queue.clear();
                // An unknown outcome outweighs a failure: the operator must check the host.
                if !matches!(self.failing, Some(Status::OutcomeUnknown(_))) {
                    self.failing = Some(status);
                }
            }
        }
        if self.running.is_empty() {
            if let Some(status) = self.failing.take() {
                self.message = None;
                self.fail(index, status, &mut effects);
            }
        } else if self.failing.is_some() {
            self.message = Some("a command failed: waiting for the others to end".into());
        }
        effects
    }

    fn release_or_finish(&mut self, index: usize, effects: &mut Vec<Effect>, now: Millis) {
        if self.queue.is_empty() && self.running.is_empty() {
            if self.rolling_back {
                self.rolling_back = false;
                self.set_status(index, Status::Pending, effects);
                self.message = Some("rolled back: the step is pending again".into());
            } else if self.waits(index) {
                self.set_status(index, Status::Waiting { since: now }, effects);
            } else {
                self.complete(index, effects);
            }
        } else {
            self.release(index, effects);
        }
    }

    fn commands_finished(&mut self, index: usize, effects: &mut Vec<Effect>) {
        if self.waits(index) {
            self.set_status(index, Status::Waiting { since: 0 }, effects);
        } else {
            self.complete(index, effects);
        }
    }

    fn fail(&mut self, index: usize, status: Status, effects: &mut Vec<Effect>) {
        self.prompt = Some(Prompt::Recover);
        self.set_status(index, status, effects);
    }

    fn complete(&mut self, index: usize, effects: &mut Vec<Effect>) {
        for effect in &self.procedure.steps[index].effects {
            self.expected.apply(effect);
        }
        self.prompt = None;
        self.set_status(index, Status::Done, effects);
    }

    fn set_status(&mut self, index: usize, status: Status, effects: &mut Vec<Effect>) {
        effects.push(record(
            AuditEvent::Step {
                step: self.step(index).id.clone(),
                state: status.audit_state(),
            },
            matches!(
                status,
                Status::Done | Status::Failed(_) | Status::OutcomeUnknown(_)
            ),
        ));
        self.status[index] = status;
    }

    /// The record of an override or a skip, which must say why: without a reason, nothing is
    /// decided and the operator is shown `refusal`.
    fn with_reason(
        &mut self,
        index: usize,
        reason: &str,
        kind: impl FnOnce(String) -> DecisionKind,
        refusal: &str,
    ) -> Option<Effect> {
        if reason.trim().is_empty() {
            self.message = Some(refusal.into());
            return None;
        }
        Some(self.decision(index, kind(reason.to_string())))
    }

    fn decision(&self, index: usize, decision: DecisionKind) -> Effect {
        record(
            AuditEvent::Decision {
                step: self.step(index).id.clone(),
                decision,
                by: self.operator.name.clone(),
            },
            true,
        )
    }

    /// Restores the state of a resumed session from what its log recorded, so that nothing
    /// that ran is run again and nothing that may have run is passed over without the
    /// operator: steps done or skipped stay so; a step with an intent and no result, or one
    /// stopped between its commands, is of unknown outcome; a failed step is still failed; a
    /// step whose commands ended waits again (its timeout counted from the resume, and only
    /// answers polled after the resume count); a step that ran nothing is pending. Intent
    /// numbers go on from the log's last, so one number never names two commands.
    pub fn resume(&mut self, recorded: &Recorded) {
        self.next_intent = recorded.last_intent + 1;
        for index in 0..self.procedure.steps.len() {
            let id = self.procedure.steps[index].id.clone();
            let unknown = |why: &str| Status::OutcomeUnknown(why.to_string());
            let status = match recorded.states.get(&id).copied() {
                Some(StepState::Done) => {
                    for effect in &self.procedure.steps[index].effects {
                        self.expected.apply(effect);
                    }
                    Status::Done
                }
                Some(StepState::Skipped) => Status::Skipped("skipped before the resume".into()),
                _ if recorded.open.contains(&id) => unknown(
                    "a command's intent was recorded but not its result: check the host before going on",
                ),
                Some(StepState::OutcomeUnknown) => unknown(
                    "its outcome was unknown before the resume: check the host before going on",
                ),
                Some(StepState::Running) if recorded.ended.contains(&id) => unknown(
                    "the session stopped between its commands: some ended (see the log), the rest never started; check the hosts before going on",
                ),
                Some(StepState::Failed) => {
                    Status::Failed("it failed before the resume (see the log)".into())
                }
                Some(StepState::Waiting) => Status::Waiting { since: 0 },
                Some(StepState::Running | StepState::Pending) | None => Status::Pending,
            };
            self.status[index] = status;
        }
        if let Some(index) = self.current() {
            if matches!(
                self.status[index],
                Status::Failed(_) | Status::OutcomeUnknown(_)
            ) {
                self.prompt = Some(Prompt::Recover);
            }
            if matches!(self.status[index], Status::Failed(_)) {
                self.failed_before_resume = Some(self.procedure.steps[index].id.clone());
            }
        }
    }

    /// The procedure's services and the live node each forwards to, as the steps done so far
    /// left them.
    pub fn service_routes(&self) -> Vec<(PeerAddr, Option<usize>)> {
        self.procedure
            .services
            .iter()
            .zip(&self.expected.routes)
            .map(|(service, to)| {
                let node = to.and_then(|host| self.node_of.get(host).copied().flatten());
                (service.peer.clone(), node)
            })
            .collect()
    }
}

/// What keeps a step from running on the state `readiness` was judged on, in the words the
/// override prompt shows: the hazards its runbook does not accept, and the gates not met.
fn blocking(readiness: &Readiness) -> Vec<String> {
    let mut reasons: Vec<String> = readiness
        .hazards
        .iter()
        .filter(|h| !h.accepted)
        .map(|h| format!("{}: {}", h.hazard, h.detail))
        .collect();
    reasons.extend(readiness.gates.iter().filter_map(|(gate, result)| {
        result
            .as_ref()
            .err()
            .map(|why| format!("gate `{gate}` not met: {why}"))
    }));
    reasons
}

fn record(event: AuditEvent, sync: bool) -> Effect {
    Effect::Record { event, sync }
}
