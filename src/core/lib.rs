//! zkpilot's pure core: everything that knows ZooKeeper, runbooks, the analyzer, the screens'
//! models and the audit record format, and nothing that touches a socket, a file, a process, the
//! terminal or the clock. It is a crate of its own so that the compiler keeps it that way: its
//! dependencies have no tokio, ratatui, crossterm, openssh or libc (`tests/offline/purity.rs`
//! checks what `std` alone still allows).

/// A ZooKeeper answer captured under `tests/fixtures/zk4lw/`, for the core's tests; defined
/// before the modules so that every one of them can name it.
#[cfg(test)]
macro_rules! zk4lw {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/zk4lw/",
            $name
        ))
    };
}

pub mod analyze;
pub mod audit;
pub mod console;
pub mod ensemble;
pub mod inventory;
pub mod poll;
pub mod quorum;
pub mod rehearse;
pub mod replay;
pub mod runbook;
pub mod session;
pub mod synth;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod text;
pub mod zk;

/// Lowercase hex as the audit log writes hashes (`hex::encode`), for adapters that print a
/// digest the same way.
pub use hex;
