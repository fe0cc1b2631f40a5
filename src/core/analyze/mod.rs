//! `zkpilot analyze`: a what-if verdict on a state file, for operators planning an order of
//! restarts. Pure: the caller reads the file and prints the report.

pub mod help;
mod render;
mod state;

pub use state::{load, State};

use crate::quorum::Verdict;
use crate::text::yaml::{self, YamlError};
use std::path::{Path, PathBuf};

/// A state and its verdict, ready to print as text or JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub path: PathBuf,
    pub state: State,
    pub verdict: Verdict,
    /// Nodes of the witness whose stopping alone leaves no split brain: what to keep down
    /// until every view agrees (the LINE deck's rule).
    pub stop_one_prevents: Vec<usize>,
}

/// Loads the state file's text and judges it.
pub fn analyze(text: &str, path: &Path) -> Result<Report, YamlError> {
    let state = load(text, path)?;
    let verdict = state
        .ensemble
        .verdict()
        .map_err(|err| yaml::error_at(text, path, &["nodes"], err.to_string()))?;
    let stop_one_prevents = match &verdict.split_brain {
        None => Vec::new(),
        Some(witness) => {
            let mut members: Vec<usize> = witness
                .a
                .members
                .iter()
                .chain(&witness.b.members)
                .copied()
                .collect();
            members.sort_unstable();
            // Stopping a node outside both quorums leaves them both intact: only members can help.
            members
                .into_iter()
                .filter(|&i| {
                    let mut what_if = state.ensemble.clone();
                    what_if.nodes[i].up = false;
                    what_if.verdict().is_ok_and(|v| v.split_brain.is_none())
                })
                .collect()
        }
    };
    Ok(Report {
        path: path.to_path_buf(),
        state,
        verdict,
        stop_one_prevents,
    })
}

#[cfg(test)]
mod tests;
