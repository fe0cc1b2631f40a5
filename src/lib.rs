//! zkpilot: the adapters around the pure core (`zkpilot_core`, re-exported here under the same
//! module names, so `crate::zk`, `crate::runbook`, … read the same everywhere).

pub use zkpilot_core::{analyze, console, ensemble, quorum, replay, runbook, synth, text, zk};

pub mod audit;
pub mod cli;
pub mod inventory;
pub mod io;
pub mod net;
pub mod poll;
pub mod rehearse;
pub mod session;
pub mod tui;
pub mod view;
