//! Adapter: `audit verify` as a whole — the chain, the anchors published beside it
//! (`LOG.heads`, see `anchor`), and the file's owner and mode.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
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

/// The longest line a heads file holds: an anchor is about 130 bytes; a longer line was
/// edited, and is not read whole (a heads file of one 300 MB line would be).
const MAX_HEADS_LINE: usize = 1024;

/// The heads file's anchors, or what is wrong with its text. Opened without following a
/// symlink and as a regular file only, like every file beside the log.
fn read_heads(heads: &Path, name: &str) -> Result<Result<Vec<Anchor>, AnchorProblem>, AuditError> {
    let read_error = |source| AuditError::Read {
        path: heads.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(open_beside(heads)?);
    let mut text = String::new();
    for line_no in 1.. {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_HEADS_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(read_error)?;
        if n == 0 {
            break;
        }
        let overlong = line.len() > MAX_HEADS_LINE && !line.ends_with(b"\n");
        match std::str::from_utf8(&line) {
            Ok(line) if !overlong => text.push_str(line),
            _ => {
                return Ok(Err(AnchorProblem::BadLine {
                    path: name.to_string(),
                    line: line_no,
                }))
            }
        }
    }
    Ok(anchor::parse_heads(&text, name))
}

/// Opens a file kept beside the log: never through a symlink (`O_NOFOLLOW`), never blocking on
/// a FIFO, and only a regular file.
fn open_beside(path: &Path) -> Result<std::fs::File, AuditError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    match file.metadata() {
        Ok(meta) if meta.file_type().is_file() => Ok(file),
        _ => Err(AuditError::NotAFile {
            path: path.to_path_buf(),
        }),
    }
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
    let anchors = match read_heads(&heads, &heads_name) {
        Ok(anchors) => anchors,
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

/// A log others may write to proves nothing about who wrote it; nor does one in a directory
/// others may write without the sticky bit (a whole log and heads pair could be renamed into
/// place), nor a heads file others may write or of another owner than its log's. The writer
/// refuses the same before it appends (`AuditWriter::open_append_of` asks this), so a resume
/// never half-happens: it appended its record, then failed to publish the heads.
fn file_problem(path: &Path, heads: &PathBuf, owner: u32, mode: u32) -> Option<String> {
    if mode & 0o022 != 0 {
        return Some(format!(
            "audit log {} has mode {mode:04o}: group or others can write it, so anyone of them \
             could have rewritten it (a log zkpilot writes is 0600)",
            path.display()
        ));
    }
    if let Err(unsafe_directory) = super::writer::check_directory(path) {
        return Some(unsafe_directory.to_string());
    }
    let heads_meta = std::fs::symlink_metadata(heads).ok()?;
    let heads_owner = heads_meta.uid();
    if heads_owner != owner {
        return Some(format!(
            "heads file {} belongs to {}, its log to {}: one of them was replaced",
            heads.display(),
            crate::session::approval::person_of(heads_owner).label(),
            crate::session::approval::person_of(owner).label()
        ));
    }
    let heads_mode = heads_meta.mode() & 0o7777;
    (heads_mode & 0o022 != 0).then(|| {
        format!(
            "heads file {} has mode {heads_mode:04o}: group or others can write it, so anyone \
             of them could have rewritten its anchors",
            heads.display()
        )
    })
}
