//! The pure half of polling: each node's cadence (`schedule`) and what its answers teach it
//! (`learn`). The poller's tasks (the main crate's `poll`) ask and wait; everything they decide
//! is here, testable without a socket or a clock.

pub mod learn;
pub mod schedule;

pub use learn::{learn, learn_admin};
pub use schedule::*;
