//! End-to-end tests of what an operator types and sees: the real binary driven in tmux
//! (`tests/common/tmux.rs`) against a real sandbox, and the console killed mid-run and
//! resumed. Needs root and tmux: `sudo cargo test --test tmux`.

#[path = "../common/mod.rs"]
mod common;

mod crash_resume;
mod pick_rebind;
mod replay_tmux;
mod run_tmux;
mod watch_tmux;
