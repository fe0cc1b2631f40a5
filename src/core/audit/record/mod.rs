//! Pure: the audit record format and its hash chain. No file, no clock: the time of every record
//! is passed in, and sealing a record only produces the bytes an adapter must append.
//!
//! A log is JSON Lines. Each line is one `AuditRecord`: `seq`, `ts`, `prev`, then `kind` and the
//! fields of that kind, in struct order, so the same record always serialises to the same bytes.
//! `prev` is the SHA-256 of the previous record's line as it sits in the file, without its
//! terminating `\n`; a verifier hashes the bytes it reads and never re-serialises, so a reader of
//! another serde version can still check a log.
//!
//! By part: what a line holds (`schema`), the hash that links lines (`hash`), the instant on
//! every line (`timestamp`), the masking of secrets (`secrets`) and the chain that seals records
//! in order (`chain`).

/// Serde for a value the audit format writes as its `Display` text and reads back from a string
/// by `$parse` (text to `Result<$ty, impl Display>`): hashes and timestamps.
macro_rules! serde_as_text {
    ($ty:ty, $parse:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <&str>::deserialize(deserializer)?;
                $parse(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

mod chain;
mod hash;
mod schema;
mod secrets;
mod timestamp;

pub use chain::{AuditChain, ChainHead, SealedRecord};
pub use hash::{BadHash, RecordHash};
pub use schema::{
    AuditEvent, AuditRecord, CommandOutcome, CommandResult, DecisionKind, OutputStream,
    SessionInfo, StepState,
};
pub use secrets::{Secrets, REDACTED};
pub use timestamp::Timestamp;

pub const FORMAT_NAME: &str = "zkpilot-audit";
pub const FORMAT_VERSION: u32 = 1;
