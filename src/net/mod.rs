//! Adapters: every socket zkpilot opens. One four-letter-word or AdminServer exchange (`wire`),
//! a ZooKeeper client session that only pings (`ping`), and SSH to the hosts (`remote`).

pub mod ping;
pub mod remote;
pub mod wire;
