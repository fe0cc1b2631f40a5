//! The inventory (the core's model and `discover`'s pure half) and the adapter that asks a live
//! ensemble for what `inventory discover` writes.

pub mod discover_live;

pub use zkpilot_core::inventory::*;
