//! The SHA-256 that links each record to the line before it.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 of one record's line (without its `\n`), written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordHash([u8; 32]);

impl RecordHash {
    /// The `prev` of the header, which has no predecessor.
    pub const GENESIS: RecordHash = RecordHash([0; 32]);

    pub fn of_line(line: &[u8]) -> RecordHash {
        RecordHash(Sha256::digest(line).into())
    }
}

impl fmt::Display for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordHash({self})")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 hash: expected 64 hex digits, got {0:?}")]
pub struct BadHash(pub String);

impl FromStr for RecordHash {
    type Err = BadHash;

    /// Either case is read, as `sha256sum` and other tools print either.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(text, &mut hash).map_err(|_| BadHash(text.to_string()))?;
        Ok(RecordHash(hash))
    }
}

serde_as_text!(RecordHash, |text: &str| text.parse::<RecordHash>());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_print_as_lowercase_hex_and_parse_either_case() {
        let hash = RecordHash::of_line(b"abc");
        let hex = hash.to_string();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex.to_uppercase().parse::<RecordHash>(), Ok(hash));
        assert!("ba78".parse::<RecordHash>().is_err());
        assert!("g".repeat(64).parse::<RecordHash>().is_err());
        assert_eq!(RecordHash::GENESIS.to_string(), "0".repeat(64));
    }
}
