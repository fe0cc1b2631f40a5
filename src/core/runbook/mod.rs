//! Runbooks (pure): the format, binding to an inventory with validation, the simulation of
//! every step's effect, and the plan.

pub mod engine;
#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod model;
pub mod output;
pub mod picks;
pub mod plan;
pub mod procedure;
pub mod simulate;

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
