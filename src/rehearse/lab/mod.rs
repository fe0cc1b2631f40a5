//! The election lab (`zkpilot lab elections`): draws ensemble states the way migrations leave
//! them half done, runs each on real ZooKeeper servers in one sandbox, watches every server's
//! mode and epoch, and holds the analyzer's verdict on the same state to what happened.
//!
//! `draw`, `judge`, `fixture` and `report` are pure; `runner` is the adapter that owns the
//! sandbox and the server processes.

mod netns;
mod runner;

pub use zkpilot_core::rehearse::lab::{draw, fixture, judge, network, report};

pub use runner::{elections, judge_records, LabError, LabOptions, LabOutcome, Rejudged};
