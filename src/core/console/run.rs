//! The `run` console's model and its pure update: keys become engine inputs, poll reports
//! and command results feed the engine, and what must happen in the world comes back as
//! effects: records to append (the engine's, command output, ensemble snapshots, notes) in
//! order, commands to run, configs and process ids to read over SSH. The adapter performs
//! them and tells the model what each append's hash was (`appended`).

use std::collections::{HashSet, VecDeque};

use super::approvals::{ApprovalFile, Dropped, Ignored};
use super::keys::{self, Key, RunKey, RUN_KEYS};
use super::watch::{self, SshRead, WatchState};
use crate::audit::record::{AuditEvent, OutputStream, RecordHash};
use crate::ensemble::{Millis, Need, PollReport};
pub use crate::runbook::engine::Effect;
use crate::runbook::engine::{Choice, Ended, Engine, Input, Prompt, Status};
use crate::runbook::output::{OutputLine, Stream};

/// Lines of command output kept for the screen (the audit log keeps them all).
const OUTPUT_LINES: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    Override,
    TypeHost,
    Skip,
    MarkDone,
}

#[derive(Debug, Clone)]
pub struct RunState {
    pub watch: WatchState,
    pub engine: Engine,
    /// The step shown on the right; follows the current step unless the operator moves.
    pub selected: usize,
    pub typing: Option<(Typing, String)>,
    pub output: VecDeque<(u64, OutputLine)>,
    pub help: bool,
    pub quit: bool,
    pub audit_path: String,
    /// The last ensemble snapshot recorded: one is recorded only when roles, epochs or views
    /// change, not on every poll.
    last_snapshot: Option<serde_json::Value>,
    /// While a step waits for approval, the hashes of the records written since it asked: an
    /// approval must name one of them, which shows its follower saw that request in this log.
    since_request: Option<HashSet<RecordHash>>,
    /// Inbox files of the current burst that were no approval, for its one note.
    ignored: Ignored,
    /// Set when the audit log cannot be written: nothing else may run after that.
    pub failed: Option<String>,
    /// What the poller was last told each node is needed for.
    needs: Vec<Need>,
    /// A re-bind being chosen: the servers that fit the pick now, and the one selected.
    pub choosing: Option<(Vec<Choice>, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunAction {
    Key(Key),
    Poll(PollReport),
    Tick(Millis),
    Output {
        intent: u64,
        line: OutputLine,
    },
    /// A command ended, `at` by the adapter's clock when it did: a wait counts only answers
    /// polled after that, and the last tick or poll can be older than the command's end.
    Ended {
        intent: u64,
        ended: Ended,
        at: Millis,
    },
    /// The files taken from the approvals inbox on a tick; none: the burst is over.
    Inbox(Vec<Dropped>),
    /// The audit log cannot be written: nothing more may run.
    LogFailed(String),
    /// What `--autopilot` decided (`console::autopilot`), given to the engine as if typed.
    Decided(Input),
    /// The terminal's size changed.
    Resize {
        width: u16,
        height: u16,
    },
    /// A node's config or process id read over SSH, as the watch takes it.
    Read(SshRead),
}

impl RunState {
    pub fn new(watch: WatchState, engine: Engine, audit_path: String) -> RunState {
        let mut state = RunState {
            selected: engine.current().unwrap_or(0),
            watch,
            engine,
            typing: None,
            output: VecDeque::new(),
            help: false,
            quit: false,
            audit_path,
            last_snapshot: None,
            since_request: None,
            ignored: Ignored::default(),
            failed: None,
            needs: Vec::new(),
            choosing: None,
        };
        state.needs = state.engine.needs(&state.watch.ensemble);
        follow_service_routes(&mut state);
        state
    }

    /// A command is on its way, a step's or a check gate's: quitting now would leave it
    /// unaccounted for on screen, and a check cut short brings its step back as "outcome
    /// unknown" on resume.
    /// A step failed at once on a lost quorum is busy too while its commands still run.
    pub fn busy(&self) -> bool {
        self.engine.checks_running()
            || self.engine.commands_running()
            || self
                .engine
                .current()
                .is_some_and(|i| matches!(self.engine.status[i], Status::Running))
    }
}

/// The effects of a session's start: the ensemble as it stands is its first snapshot, and the
/// poller learns what the first step needs.
pub fn start(state: &mut RunState) -> Vec<Effect> {
    let mut effects: Vec<Effect> = snapshot(state).into_iter().collect();
    effects.push(Effect::Demand(state.needs.clone()));
    effects
}

/// Applies one action; returns the effects for the adapters to perform, in order.
pub fn update(state: &mut RunState, action: RunAction) -> Vec<Effect> {
    if state.failed.is_some() {
        // The log cannot be written: keys still look around and quit, nothing else runs.
        if let RunAction::Key(key) = action {
            if let Some(RunKey::Up | RunKey::Down | RunKey::Help | RunKey::Quit) =
                keys::lookup(RUN_KEYS, key)
            {
                state.typing = None;
                on_key(state, key);
            }
        }
        return Vec::new();
    }
    let before = state.engine.current();
    let effects = match action {
        RunAction::Poll(report) => {
            watch::update(&mut state.watch, watch::Action::Poll(report));
            live_changed(state)
        }
        RunAction::Tick(now) => {
            watch::update(&mut state.watch, watch::Action::Tick(now));
            state.engine.tick(&state.watch.ensemble, now)
        }
        RunAction::Read(read) => {
            watch::update(&mut state.watch, watch::Action::Read(read));
            live_changed(state)
        }
        RunAction::Output { intent, line } => {
            let event = AuditEvent::Output {
                intent,
                stream: match line.stream {
                    Stream::Stdout => OutputStream::Stdout,
                    Stream::Stderr => OutputStream::Stderr,
                },
                text: line.text.clone(),
            };
            if state.output.len() == OUTPUT_LINES {
                state.output.pop_front();
            }
            state.output.push_back((intent, line));
            vec![Effect::Record { event, sync: false }]
        }
        RunAction::Ended { intent, ended, at } => {
            state.watch.now = state.watch.now.max(at);
            state
                .engine
                .ended(intent, ended, state.watch.now, &state.watch.ensemble)
        }
        RunAction::Inbox(taken) => approvals(state, taken),
        RunAction::LogFailed(why) => {
            state.engine.message = Some(why.clone());
            state.failed = Some(why);
            Vec::new()
        }
        RunAction::Key(key) => on_key(state, key),
        RunAction::Decided(input) => state.engine.input(input, &state.watch.ensemble),
        RunAction::Resize { width, height } => {
            watch::update(&mut state.watch, watch::Action::Resize { width, height });
            Vec::new()
        }
    };
    let after = state.engine.current();
    if before != after {
        state.selected = after.unwrap_or(state.selected);
        // Routes change only when a step completes, which moves the current step on.
        follow_service_routes(state);
    }
    let mut effects = effects;
    let needs = state.engine.needs(&state.watch.ensemble);
    if needs != state.needs {
        state.needs = needs.clone();
        effects.push(Effect::Demand(needs));
    }
    effects
}

/// How appending a record changes a step's wait for approval: a request starts it, the
/// step's next decision or state change ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalWait {
    Starts,
    Ends,
    Continues,
}

impl ApprovalWait {
    pub fn of(event: &AuditEvent) -> ApprovalWait {
        match event {
            AuditEvent::ApprovalRequest { .. } => ApprovalWait::Starts,
            AuditEvent::Decision { .. } | AuditEvent::Step { .. } => ApprovalWait::Ends,
            _ => ApprovalWait::Continues,
        }
    }
}

/// Tells the model a record was appended and its hash: an approval is good only if it names
/// a record written since its step asked.
pub fn appended(state: &mut RunState, wait: ApprovalWait, hash: RecordHash) {
    match wait {
        ApprovalWait::Starts => state.since_request = Some(HashSet::new()),
        ApprovalWait::Ends => state.since_request = None,
        ApprovalWait::Continues => {}
    }
    if let Some(hashes) = &mut state.since_request {
        hashes.insert(hash);
    }
}

/// The effects of closing the session: the note for a burst of inbox junk still untold.
pub fn closing(state: &mut RunState) -> Vec<Effect> {
    state.ignored.note().map(note).into_iter().collect()
}

fn note(text: String) -> Effect {
    Effect::Record {
        event: AuditEvent::Note { text },
        sync: true,
    }
}

/// The live ensemble changed: a new snapshot if roles, epochs or views changed, SSH reads of
/// what the nodes do not show themselves, then what the engine makes of it.
fn live_changed(state: &mut RunState) -> Vec<Effect> {
    let mut effects: Vec<Effect> = snapshot(state).into_iter().collect();
    let now = state.watch.now;
    effects.extend(
        state
            .watch
            .ensemble
            .zoo_cfg_reads_due(now)
            .into_iter()
            .map(|node| Effect::ReadConfig { node }),
    );
    effects.extend(
        state
            .watch
            .ensemble
            .pid_reads_due(now)
            .into_iter()
            .map(|node| Effect::ReadProcessId { node }),
    );
    effects.extend(state.engine.tick(&state.watch.ensemble, now));
    effects
}

fn snapshot(state: &mut RunState) -> Option<Effect> {
    let snapshot = state
        .watch
        .ensemble
        .snapshot_with(state.watch.verdict().as_ref().ok());
    if state.last_snapshot.as_ref() == Some(&snapshot) {
        return None;
    }
    state.last_snapshot = Some(snapshot.clone());
    Some(Effect::Record {
        event: AuditEvent::Snapshot { state: snapshot },
        sync: false,
    })
}

/// Turns the files followers dropped into approvals the engine judges; what cannot be one is
/// gathered over the burst into one note, so the follower sees why nothing happened.
fn approvals(state: &mut RunState, taken: Vec<Dropped>) -> Vec<Effect> {
    if taken.is_empty() {
        return closing(state);
    }
    let mut effects = Vec::new();
    for Dropped { owner, content } in taken {
        match content {
            Ok(ApprovalFile { step, head })
                if state
                    .since_request
                    .as_ref()
                    .is_some_and(|hashes| hashes.contains(&head)) =>
            {
                effects.extend(state.engine.input(
                    Input::Approve {
                        step,
                        approver: owner,
                    },
                    &state.watch.ensemble,
                ));
            }
            Ok(ApprovalFile { step, .. }) => state.ignored.add(
                &owner,
                format!(
                    "approval of `{step}` refused: no step waits for approval, or it names a log \
                     head this console has not written since it asked (another session, or an \
                     earlier request)"
                ),
            ),
            Err(why) => state.ignored.add(&owner, why),
        }
    }
    effects
}

/// Points the live ensemble's services where the completed steps left them.
fn follow_service_routes(state: &mut RunState) {
    let mut rerouted = false;
    for (addr, to) in state.engine.service_routes() {
        rerouted |= state.watch.ensemble.route_service(&addr, to);
    }
    if rerouted {
        state.watch.analyzed.refresh(&state.watch.ensemble);
    }
}

fn on_key(state: &mut RunState, key: Key) -> Vec<Effect> {
    if let Some((purpose, mut text)) = state.typing.take() {
        match key {
            Key::Ctrl('c') => request_quit(state),
            Key::Esc => state.engine.message = Some("cancelled".into()),
            Key::Enter => {
                let input = match purpose {
                    Typing::Override => Input::Override(text),
                    Typing::TypeHost => Input::TypedHost(text),
                    Typing::Skip => Input::Skip(text),
                    Typing::MarkDone => Input::MarkDone(text),
                };
                return state.engine.input(input, &state.watch.ensemble);
            }
            Key::Backspace => {
                text.pop();
                state.typing = Some((purpose, text));
            }
            Key::Char(c) if !c.is_control() => {
                text.push(c);
                state.typing = Some((purpose, text));
            }
            _ => state.typing = Some((purpose, text)),
        }
        return Vec::new();
    }
    let Some(action) = keys::lookup(RUN_KEYS, key) else {
        return Vec::new();
    };
    if state.choosing.is_some() {
        return choose(state, action, key);
    }
    if state.help {
        match action {
            RunKey::Quit if key == Key::Ctrl('c') => request_quit(state),
            RunKey::Help | RunKey::Quit | RunKey::Cancel => state.help = false,
            _ => {}
        }
        return Vec::new();
    }
    if !offered(state, action) {
        return Vec::new();
    }
    let steps = state.engine.procedure.steps.len();
    let input = match action {
        RunKey::Up => {
            state.selected = state.selected.saturating_sub(1);
            return Vec::new();
        }
        RunKey::Down => {
            state.selected = (state.selected + 1).min(steps.saturating_sub(1));
            return Vec::new();
        }
        RunKey::Help => {
            state.help = true;
            return Vec::new();
        }
        RunKey::Quit => {
            request_quit(state);
            return Vec::new();
        }
        RunKey::Override => {
            state.typing = Some((Typing::Override, String::new()));
            return Vec::new();
        }
        RunKey::Skip => {
            state.typing = Some((Typing::Skip, String::new()));
            return Vec::new();
        }
        RunKey::MarkDone => {
            state.typing = Some((Typing::MarkDone, String::new()));
            return Vec::new();
        }
        RunKey::Rebind => {
            let choices = state.engine.rebind_choices(&state.watch.ensemble);
            state.choosing = Some((choices, 0));
            return Vec::new();
        }
        RunKey::Run => {
            state.selected = state.engine.current().unwrap_or(state.selected);
            let effects = state.engine.input(Input::Start, &state.watch.ensemble);
            if matches!(state.engine.prompt, Some(Prompt::TypeHost(_))) {
                state.typing = Some((Typing::TypeHost, String::new()));
            }
            return effects;
        }
        RunKey::Confirm => Input::Confirm,
        RunKey::Cancel => Input::Cancel,
        RunKey::Retry => Input::Retry,
        RunKey::Rollback => Input::Rollback,
    };
    state.engine.input(input, &state.watch.ensemble)
}

/// A key while a re-bind is chosen: ↑↓ select, `y` re-binds to the selected server (the
/// engine records the decision), cancel closes the list; nothing else applies.
fn choose(state: &mut RunState, action: RunKey, key: Key) -> Vec<Effect> {
    let Some((choices, selected)) = &mut state.choosing else {
        return Vec::new();
    };
    match action {
        RunKey::Up => *selected = selected.saturating_sub(1),
        RunKey::Down => *selected = (*selected + 1).min(choices.len().saturating_sub(1)),
        RunKey::Confirm => {
            let chosen = choices.get(*selected).cloned();
            state.choosing = None;
            if let Some(Choice { host, to, .. }) = chosen {
                let host = state.engine.procedure.hosts[host].name.clone();
                let input = Input::Rebind { host, to };
                let effects = state.engine.input(input, &state.watch.ensemble);
                // A service made for a re-bound host now forwards to its new server.
                follow_service_routes(state);
                return effects;
            }
        }
        RunKey::Cancel => state.choosing = None,
        RunKey::Quit if key == Key::Ctrl('c') => request_quit(state),
        _ => {}
    }
    Vec::new()
}

/// Whether a key's action applies now: the key bar shows exactly these, and a key whose
/// action is not offered does nothing.
pub fn offered(state: &RunState, action: RunKey) -> bool {
    // `y` re-binds too, as the list's heading says; the bar's `y` would say "run this step".
    if state.choosing.is_some() {
        return matches!(action, RunKey::Up | RunKey::Down | RunKey::Cancel);
    }
    let prompt = &state.engine.prompt;
    let recover = matches!(prompt, Some(Prompt::Recover)) && !state.engine.commands_running();
    match action {
        RunKey::Up | RunKey::Down | RunKey::Help | RunKey::Quit => true,
        RunKey::Run => prompt.is_none() && !state.engine.finished(),
        RunKey::Rebind => {
            prompt.is_none()
                && !state.engine.checks_running()
                && !state
                    .engine
                    .rebind_choices(&state.watch.ensemble)
                    .is_empty()
        }
        RunKey::Confirm => matches!(
            prompt,
            Some(Prompt::Confirm | Prompt::ConfirmRollback { .. })
        ),
        RunKey::Override => matches!(prompt, Some(Prompt::Override { .. })),
        RunKey::Cancel => matches!(
            prompt,
            Some(
                Prompt::Confirm
                    | Prompt::ConfirmRollback { .. }
                    | Prompt::Override { .. }
                    | Prompt::TypeHost(_)
                    | Prompt::Approval { .. }
            )
        ),
        // Nothing is decided on a failed step while a command of it still runs.
        RunKey::Retry | RunKey::Rollback | RunKey::Skip => recover,
        RunKey::MarkDone => {
            recover
                && state
                    .engine
                    .current()
                    .is_some_and(|i| matches!(state.engine.status[i], Status::OutcomeUnknown(_)))
        }
    }
}

fn request_quit(state: &mut RunState) {
    if state.busy() {
        state.engine.message = Some(
            "a command is running: quit when it has ended (its result goes to the audit log)"
                .into(),
        );
    } else {
        state.quit = true;
    }
}

/// What stream a line came from, for the output pane.
pub fn stream_mark(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => " ",
        Stream::Stderr => "!",
    }
}
