//! The `run` console's model and its pure update: keys become engine inputs, poll reports
//! and command results feed the engine, and the engine's effects are handed back to perform.

use std::collections::VecDeque;

use super::keys::{self, Key, RunKey, RUN_KEYS};
use super::watch::{self, WatchState};
use crate::ensemble::{Millis, PollReport};
use crate::remote::{OutputLine, Stream};
use crate::runbook::engine::{Effect, Ended, Engine, Input, Person, Prompt, Status};

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
    Ended {
        intent: u64,
        ended: Ended,
    },
    /// A follower's approval of `step`, taken from the approvals inbox; the adapter has
    /// checked that it was made after the console asked for it.
    Approval {
        step: String,
        approver: Person,
    },
    /// A node's config as read over SSH (its `config` verb), or why it could not be read.
    ZooCfg {
        node: usize,
        result: Result<String, String>,
        at: Millis,
    },
    /// A node's `status` verb output over SSH (its process id), or why it failed.
    ProcessId {
        node: usize,
        result: Result<String, String>,
        at: Millis,
    },
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
        };
        follow_service_routes(&mut state);
        state
    }

    /// A command is on its way, a step's or a check gate's: quitting now would leave it
    /// unaccounted for on screen, and a check cut short brings its step back as "outcome
    /// unknown" on resume.
    pub fn busy(&self) -> bool {
        self.engine.checks_running()
            || self
                .engine
                .current()
                .is_some_and(|i| matches!(self.engine.status[i], Status::Running))
    }
}

/// Applies one action; returns the engine's effects for the adapters to perform.
pub fn update(state: &mut RunState, action: RunAction) -> Vec<Effect> {
    let before = state.engine.current();
    let effects = match action {
        RunAction::Poll(report) => {
            watch::update(&mut state.watch, watch::Action::Poll(report));
            state.engine.tick(&state.watch.ensemble, state.watch.now)
        }
        RunAction::Tick(now) => {
            watch::update(&mut state.watch, watch::Action::Tick(now));
            state.engine.tick(&state.watch.ensemble, now)
        }
        RunAction::ZooCfg { node, result, at } => {
            watch::update(&mut state.watch, watch::Action::ZooCfg { node, result, at });
            state.engine.tick(&state.watch.ensemble, state.watch.now)
        }
        RunAction::ProcessId { node, result, at } => {
            watch::update(
                &mut state.watch,
                watch::Action::ProcessId { node, result, at },
            );
            state.engine.tick(&state.watch.ensemble, state.watch.now)
        }
        RunAction::Output { intent, line } => {
            if state.output.len() == OUTPUT_LINES {
                state.output.pop_front();
            }
            state.output.push_back((intent, line));
            Vec::new()
        }
        RunAction::Ended { intent, ended } => {
            state
                .engine
                .ended(intent, ended, state.watch.now, &state.watch.ensemble)
        }
        RunAction::Approval { step, approver } => state
            .engine
            .input(Input::Approve { step, approver }, &state.watch.ensemble),
        RunAction::Key(key) => on_key(state, key),
    };
    let after = state.engine.current();
    if before != after {
        state.selected = after.unwrap_or(state.selected);
        // Routes change only when a step completes, which moves the current step on.
        follow_service_routes(state);
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
        state.watch.verdict = crate::live::verdict(&state.watch.ensemble);
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

/// Whether a key's action applies now: the key bar shows exactly these, and a key whose
/// action is not offered does nothing.
pub fn offered(state: &RunState, action: RunKey) -> bool {
    let prompt = &state.engine.prompt;
    match action {
        RunKey::Up | RunKey::Down | RunKey::Help | RunKey::Quit => true,
        RunKey::Run => prompt.is_none() && !state.engine.finished(),
        RunKey::Confirm => matches!(prompt, Some(Prompt::Confirm)),
        RunKey::Override => matches!(prompt, Some(Prompt::Override { .. })),
        RunKey::Cancel => matches!(
            prompt,
            Some(
                Prompt::Confirm
                    | Prompt::Override { .. }
                    | Prompt::TypeHost(_)
                    | Prompt::Approval { .. }
            )
        ),
        RunKey::Retry | RunKey::Rollback | RunKey::Skip => matches!(prompt, Some(Prompt::Recover)),
        RunKey::MarkDone => {
            matches!(prompt, Some(Prompt::Recover))
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
