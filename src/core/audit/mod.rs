//! Pure: the audit record format and hash chain (`record`), chain checks over bytes (`verify`),
//! the published heads (`anchor`), the default directory and file name (`location`) and the
//! Markdown post-mortem (`report`).

pub mod anchor;
pub mod location;
pub mod record;
pub mod report;
pub mod verify;

pub use record::{
    AuditChain, AuditEvent, AuditRecord, ChainHead, CommandOutcome, CommandResult, DecisionKind,
    OutputStream, RecordHash, SealedRecord, Secrets, SessionInfo, StepState, Timestamp,
};
pub use verify::{AuditLog, ChainProblem, ChainVerifier, ProblemKind, Verified, VerifiedRecord};
