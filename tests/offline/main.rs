//! Integration tests that need no server: the real binary on files and fixtures (hostile ones
//! included), and the project-wide checks. One binary, one link of the crate; each former
//! test file is a module.
//! Runs without root: `cargo test --test offline`.

#[path = "../common/mod.rs"]
mod common;

mod analyze_cli;
mod audit;
mod fourlw_fixtures;
mod hostile;
mod hostile_peer;
mod lab_fixtures;
mod no_terminal;
mod plan_cli;
mod purity_and_files;
mod synthesize_cli;
mod watch_cli;
