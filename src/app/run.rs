//! The `run` console's model and its pure update: keys become engine inputs, poll reports
//! and command results feed the engine, and the engine's effects are handed back to perform.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
    Key(KeyEvent),
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

    /// A command is on its way: quitting now would leave it unaccounted for on screen.
    pub fn busy(&self) -> bool {
        self.engine
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

fn on_key(state: &mut RunState, key: KeyEvent) -> Vec<Effect> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        request_quit(state);
        return Vec::new();
    }
    if let Some((purpose, mut text)) = state.typing.take() {
        match key.code {
            KeyCode::Esc => state.engine.message = Some("cancelled".into()),
            KeyCode::Enter => {
                let input = match purpose {
                    Typing::Override => Input::Override(text),
                    Typing::TypeHost => Input::TypedHost(text),
                    Typing::Skip => Input::Skip(text),
                    Typing::MarkDone => Input::MarkDone(text),
                };
                return state.engine.input(input, &state.watch.ensemble);
            }
            KeyCode::Backspace => {
                text.pop();
                state.typing = Some((purpose, text));
            }
            KeyCode::Char(c) if !c.is_control() => {
                text.push(c);
                state.typing = Some((purpose, text));
            }
            _ => state.typing = Some((purpose, text)),
        }
        return Vec::new();
    }
    if state.help {
        state.help = !matches!(
            key.code,
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
        );
        return Vec::new();
    }
    let steps = state.engine.procedure.steps.len();
    match (key.code, state.engine.prompt.clone()) {
        (KeyCode::Up | KeyCode::Char('k'), _) => state.selected = state.selected.saturating_sub(1),
        (KeyCode::Down | KeyCode::Char('j'), _) => {
            state.selected = (state.selected + 1).min(steps.saturating_sub(1))
        }
        (KeyCode::Char('?'), _) => state.help = true,
        (KeyCode::Char('q'), _) => request_quit(state),
        (KeyCode::Char('r'), None) => {
            state.selected = state.engine.current().unwrap_or(state.selected);
            let effects = state.engine.input(Input::Start, &state.watch.ensemble);
            if matches!(state.engine.prompt, Some(Prompt::TypeHost(_))) {
                state.typing = Some((Typing::TypeHost, String::new()));
            }
            return effects;
        }
        (KeyCode::Char('y'), Some(Prompt::Confirm)) => {
            return state.engine.input(Input::Confirm, &state.watch.ensemble)
        }
        (KeyCode::Char('o'), Some(Prompt::Override { .. })) => {
            state.typing = Some((Typing::Override, String::new()))
        }
        (
            KeyCode::Char('n') | KeyCode::Char('c') | KeyCode::Esc,
            Some(
                Prompt::Confirm
                | Prompt::Override { .. }
                | Prompt::TypeHost(_)
                | Prompt::Approval { .. },
            ),
        ) => return state.engine.input(Input::Cancel, &state.watch.ensemble),
        (KeyCode::Char('R'), Some(Prompt::Recover)) => {
            return state.engine.input(Input::Retry, &state.watch.ensemble)
        }
        (KeyCode::Char('b'), Some(Prompt::Recover)) => {
            return state.engine.input(Input::Rollback, &state.watch.ensemble)
        }
        (KeyCode::Char('s'), Some(Prompt::Recover)) => {
            state.typing = Some((Typing::Skip, String::new()))
        }
        (KeyCode::Char('d'), Some(Prompt::Recover)) => {
            let unknown = state
                .engine
                .current()
                .is_some_and(|i| matches!(state.engine.status[i], Status::OutcomeUnknown(_)));
            if unknown {
                state.typing = Some((Typing::MarkDone, String::new()));
            }
        }
        _ => {}
    }
    Vec::new()
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
