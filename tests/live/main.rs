//! Integration tests against real servers on loopback: each test starts the sandbox it needs
//! (ZooKeeper and sshd, through the real binary; `tests/common`) and takes it down, also when
//! it fails. Needs root, like `zkpilot sandbox up`: `sudo cargo test --test live`, or one area
//! with a filter (`cargo test --test live rehearsals::`).

#[path = "../common/mod.rs"]
mod common;

mod fourlw_live;
mod hang_up;
mod lab_elections;
mod live_sources;
mod ping_sessions;
mod rehearsals;
mod remote;
mod run_autopilot;
mod sandbox;
mod session;
mod stock_discover;
mod stock_handbuilt;
mod world_changes;
mod zk_client;
