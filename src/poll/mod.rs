//! Adapter: the poller. The pure cadence and what answers teach it are the core's
//! (`zkpilot_core::poll`: `schedule`, `learn`), re-exported here; `task` runs one tokio task per
//! node that asks, waits and reports.

pub mod task;

pub use task::*;
pub use zkpilot_core::poll::*;
