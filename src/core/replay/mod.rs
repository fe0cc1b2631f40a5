//! Pure: a session rebuilt from its audit log, one record at a time, for `replay`, `follow`
//! and `audit export --format asciicast`. Nothing here reads a file or a clock: the records
//! and the time that passed are handed in, so the same log always replays the same way.
//!
//! `model` is what the operator saw after each record, `player` moves through the records
//! (play, speed, steps and markers), `print` writes a session as plain text.

#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod model;
pub mod player;
pub mod print;

pub use model::{CommandShown, DecisionShown, GateShown, NodeShown, ReplayState, StepShown};
pub use player::{Marker, MarkerKind, Player, Verification};
