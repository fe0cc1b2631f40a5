//! Pure: what a follower's approval file says, and the one note for a burst of inbox files
//! that were no approval. Reading and removing the files is `approval`'s (an adapter).

use serde::{Deserialize, Serialize};

use crate::audit::RecordHash;
use crate::runbook::engine::Person;

/// What a follower writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalFile {
    pub step: String,
    /// The hash of the last record the follower had verified when it approved.
    pub head: RecordHash,
}

/// One file taken from the inbox: who dropped it and what it says (or why it says nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub owner: Person,
    pub content: Result<ApprovalFile, String>,
}

/// Files from the inbox that were no approval, gathered over a burst so that a flood writes
/// one note to the log rather than one per file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignored {
    count: usize,
    /// Per owner's label, how many files.
    owners: std::collections::BTreeMap<String, usize>,
    first: Option<String>,
}

impl Ignored {
    pub fn add(&mut self, owner: &Person, why: String) {
        self.count += 1;
        *self.owners.entry(owner.label()).or_default() += 1;
        self.first.get_or_insert(why);
    }

    /// The note for what was gathered, if anything, and a fresh start for the next burst.
    pub fn note(&mut self) -> Option<String> {
        let Ignored {
            count,
            owners,
            first,
        } = std::mem::take(self);
        let why = first?;
        Some(if count == 1 {
            let owner = owners.keys().next().cloned().unwrap_or_default();
            format!("a file from {owner} in the approvals inbox was ignored: {why}")
        } else {
            let from: Vec<String> = owners
                .iter()
                .map(|(owner, n)| format!("{n} from {owner}"))
                .collect();
            format!(
                "{count} files in the approvals inbox were ignored ({}); the first: {why}",
                from.join(", ")
            )
        })
    }
}
