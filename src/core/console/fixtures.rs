//! Builders shared by the run console's tests and the views' tests: a run console over the
//! engine's fixtures, driven key by key.

use super::keys::Key;
use super::run::{update, Effect, RunAction, RunState};
use super::watch::WatchState;
use crate::ensemble::EnsembleState;
use crate::runbook::engine::{Ended, Engine, Prompt};
pub use crate::runbook::fixtures::executes;
use crate::runbook::fixtures::exited_after;
use crate::runbook::fixtures::{engine, live};

pub const RESTART_ZK1: &str = "  - id: restart-zk1\n    title: Restart zk1\n    gates: [{synced: {}}, {not-leader: {host: zk1}}]\n    run: [{host: zk1, verb: restart}]\n    effect: [{restart: {host: zk1}}]\n    wait: {timeout: 30s, until: [{mode: {host: zk1, is: [follower]}}]}\n";

pub fn state_of(engine: Engine, ensemble: EnsembleState) -> RunState {
    let watch = WatchState::new("t".into(), ensemble, 20_000);
    RunState::new(watch, engine, "audit.jsonl".into())
}

pub fn press(state: &mut RunState, key: Key) -> Vec<Effect> {
    update(state, RunAction::Key(key))
}

pub fn exited(code: i32) -> Ended {
    exited_after(code, 3)
}

/// zk1's restart confirmed and run, its command ended as `ended` at `at`.
pub fn restart_ended(ended: Ended, at: u64) -> RunState {
    let mut state = state_of(engine(RESTART_ZK1), live(&[]));
    press(&mut state, Key::Char('r'));
    let intent = executes(&press(&mut state, Key::Char('y')))[0];
    update(&mut state, RunAction::Ended { intent, ended, at });
    state
}

/// A restart of zk1 run and failed: the step asks for recovery.
pub fn failed_restart() -> RunState {
    let state = restart_ended(exited(1), 20_000);
    assert_eq!(state.engine.prompt, Some(Prompt::Recover));
    state
}
