//! Adapter: `audit verify` as a whole — the chain, the anchors published beside it
//! (`LOG.heads`, see `anchor`), and the file's owner and mode.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::anchor::{self, Anchor, AnchorProblem};
use super::reader::{open_regular, AuditTail};
use super::record::RecordHash;
use super::verify::{ChainVerifier, Verified};
use super::writer::heads_path;
use super::AuditError;

/// What `audit verify` found beyond an intact chain.
#[derive(Debug)]
pub struct Anchored {
    pub verified: Verified,
    /// The latest published head, found at its place in the chain; or why not.
    pub anchor: Result<Anchor, AnchorProblem>,
    /// The log's owner, as `name (uid N)`, and its permission bits.
    pub owner: String,
    pub mode: u32,
    /// What is wrong with who may write the log or its heads file, if anything.
    pub file_problem: Option<String>,
}

fn read_heads(heads: &Path) -> Result<String, AuditError> {
    let mut text = String::new();
    open_regular(heads)?
        .read_to_string(&mut text)
        .map_err(|source| AuditError::Read {
            path: heads.to_path_buf(),
            source,
        })?;
    Ok(text)
}

/// Verifies the log at `path`: its chain (a break is `AuditError::ChainBroken`), its latest
/// anchor, and who may write it.
pub fn verify_anchored(
    path: &Path,
    expected_head: Option<RecordHash>,
) -> Result<Anchored, AuditError> {
    let heads = heads_path(path);
    let heads_name = heads.display().to_string();
    // Both files only as regular files: a FIFO put in the log's place would block verify.
    let anchors = match read_heads(&heads) {
        Ok(text) => anchor::parse_heads(&text, &heads_name),
        Err(AuditError::Open { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(AnchorProblem::Missing {
                path: heads_name.clone(),
            })
        }
        Err(e) => return Err(e),
    };
    let latest = anchors.as_ref().ok().and_then(|a| anchor::latest(a));
    let file = open_regular(path)?;
    let meta = file.metadata().map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut verifier = ChainVerifier::new();
    if let Some(head) = expected_head {
        verifier = verifier.expecting_head(head);
    }
    if let Some(latest) = latest {
        verifier = verifier.anchored_at(latest.head);
    }
    let mut tail = AuditTail::from_file(path, file, 0, verifier);
    while tail.next_record()?.is_some() {}
    let verified = tail.finish()?;
    let anchor = match (anchors, latest) {
        (Err(problem), _) => Err(problem),
        (Ok(_), Some(latest)) => anchor::judge(latest, verified.anchor_seq).map(|()| latest),
        (Ok(_), None) => Err(AnchorProblem::Empty { path: heads_name }),
    };
    let mode = meta.mode() & 0o7777;
    Ok(Anchored {
        verified,
        anchor,
        owner: crate::session::approval::person_of(meta.uid()).label(),
        mode,
        file_problem: file_problem(path, &heads, meta.uid(), mode),
    })
}

/// A log others may write to proves nothing about who wrote it; nor does a heads file of
/// another owner than its log's.
fn file_problem(path: &Path, heads: &PathBuf, owner: u32, mode: u32) -> Option<String> {
    if mode & 0o022 != 0 {
        return Some(format!(
            "audit log {} has mode {mode:04o}: group or others can write it, so anyone of them \
             could have rewritten it (a log zkpilot writes is 0600)",
            path.display()
        ));
    }
    let heads_owner = std::fs::metadata(heads).ok()?.uid();
    (heads_owner != owner).then(|| {
        format!(
            "heads file {} belongs to {}, its log to {}: one of them was replaced",
            heads.display(),
            crate::session::approval::person_of(heads_owner).label(),
            crate::session::approval::person_of(owner).label()
        )
    })
}
