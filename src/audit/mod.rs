//! The session audit log: proof of what was done in a maintenance window.
//!
//! Pure: `record` (format, hash chain, secret scrubbing), `verify` (chain checks over bytes),
//! `location` (default directory and file name), `report` (Markdown post-mortem).
//! Adapters: `writer` (the one process appending to a log) and `reader` (files, and logs that
//! are still growing).

pub mod anchored;
pub mod reader;
pub mod writer;

use std::path::PathBuf;

pub use zkpilot_core::audit::*;

pub use reader::{read_log, verify_file, AuditTail, TailCheckpoint};
pub use writer::{AuditWriter, Durability, ResumedLog};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {} already exists: a new session never writes into an old log (resume that session, or choose another file)", path.display())]
    Exists { path: PathBuf },
    #[error("cannot create audit log {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open audit log {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("cannot read audit log {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write audit log {}: {source}; the log is intact up to the last record written, stop and resume the session", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {} is being written by another zkpilot console (it holds the lock): a session's log has exactly one writer", path.display())]
    Locked { path: PathBuf },
    #[error("cannot lock audit log {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {}: {problem}", path.display())]
    ChainBroken {
        path: PathBuf,
        problem: ChainProblem,
    },
    #[error("audit log {}: an earlier write failed, so nothing more is appended by this writer; resume the session to continue the log", path.display())]
    WriterFailed { path: PathBuf },
    #[error("cannot encode an audit record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("no place for audit logs: neither XDG_STATE_HOME nor HOME is set to an absolute path; choose a file with --audit")]
    NoStateDir,
    #[error("audit log {}: the session was closed by its session_end ({reason}): nothing may follow it; start a new session with a new log", path.display())]
    SessionClosed { path: PathBuf, reason: String },
    #[error("audit log {} holds no session_start record, so there is no session to resume: start a new session", path.display())]
    NoSession { path: PathBuf },
    #[error("audit directory {} has mode {mode:04o}: others can write there without the sticky bit, so any of them could replace the log; use a directory only you can write (chmod go-w), or choose another with --audit", path.display())]
    UnsafeDirectory { path: PathBuf, mode: u32 },
    #[error("cannot publish the head of the audit log to {}: {source}; without it a cut-off tail would go unseen, so nothing more runs", path.display())]
    Anchor {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {} does not verify ({problem}): nothing is appended to a log `zkpilot audit verify` refuses; check it with `zkpilot audit verify`", path.display())]
    NotVerified { path: PathBuf, problem: String },
    #[error("heads file {}: {why}; nothing more runs: remove it only once you know who made it so", path.display())]
    UnsafeHeads { path: PathBuf, why: String },
    #[error("cannot create the audit log directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}
