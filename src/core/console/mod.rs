//! Pure: each screen's model, its actions, its update and its key table. Nothing here draws,
//! reads a terminal, a clock or a socket: the adapters in `tui/` feed actions in and perform
//! the effects that come out.

pub mod approvals;
pub mod autopilot;
#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod heartbeat;
pub mod keys;
pub mod replay;
pub mod run;
pub mod watch;

#[cfg(test)]
mod run_tests;
