//! Adapters guarding a run: the guards before the first step (`guards`), the pre-flight over SSH,
//! the ensemble lock, and the two-person approval channel. The pure resume rule is the core's.

pub mod approval;
pub mod guards;
pub mod lock;
pub mod preflight;

pub use zkpilot_core::session::*;
