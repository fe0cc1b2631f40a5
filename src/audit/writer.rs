//! Adapter: the one process that appends to a session's log.
//!
//! The file is opened with `O_APPEND`, created with mode 0600, and held under an exclusive
//! `flock` for the writer's life, so a second console on the same log is refused instead of
//! interleaving records. Each record goes out in one `write_all` of its whole line and `\n`:
//! a crash can tear only the last line. Nothing is ever rewritten or truncated: a torn tail is
//! closed with `\n` and explained by a `resume` record (see `verify` for the exact rule).
//!
//! The writer also anchors the log (see `anchor`): after the `session_start`, a `resume`, every
//! record that ends a step and the `session_stop` / `session_end`, it fsyncs and publishes the
//! head in `LOG.heads`. It refuses a directory others can write without the sticky bit, and
//! never appends after a `session_end`.

use std::env;
use std::fs::{DirBuilder, File, OpenOptions, Permissions, TryLockError};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::anchor::{Anchor, HEADS_SUFFIX};
use super::location;
use super::reader::AuditTail;
use super::record::{
    AuditChain, AuditEvent, AuditRecord, ChainHead, RecordHash, Secrets, SessionInfo, StepState,
    Timestamp,
};
use super::verify::{ChainVerifier, Verified};
use super::AuditError;

/// When an appended record must be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync before `append` returns. For intents (the command must not reach SSH before its
    /// intent is durable) and results (an acknowledged outcome must survive a crash).
    Sync,
    /// Written to the file at once, fsynced with the next `Sync` record, `sync`, or the end of
    /// the session: a crash may lose these, but only from the end of the log.
    Buffered,
}

/// What a resumed log already held.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumedLog {
    pub records: Vec<AuditRecord>,
    /// The log as found, before the `resume` record was appended.
    pub verified: Verified,
}

#[derive(Debug)]
pub struct AuditWriter {
    path: PathBuf,
    file: File,
    chain: AuditChain,
    unsynced: bool,
    /// After a failed write the file may end in a partial line; appending behind it would
    /// glue the next record onto it, so this writer stops and a resume repairs the tail.
    failed: bool,
    /// The hash of the `session_start` record: the session's identity.
    session_id: RecordHash,
}

/// A log is private (0600), except in a directory set up for pairing: setgid and readable by
/// its group (`docs/pairing.md`'s `zkpilot` group), where it is 0640 so the partners in that group
/// can follow it without sudo. The setgid bit gives the log the directory's group.
fn log_mode(path: &Path) -> u32 {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match std::fs::metadata(parent) {
        Ok(meta) if meta.mode() & 0o2040 == 0o2040 => 0o640,
        _ => 0o600,
    }
}

impl AuditWriter {
    /// Starts the log of a new session at `path`, which must not exist: the header and the
    /// `session_start` record, both on disk when this returns.
    pub fn create(
        path: &Path,
        session: SessionInfo,
        secrets: Secrets,
        now: Timestamp,
    ) -> Result<AuditWriter, AuditError> {
        check_directory(path)?;
        let mode = log_mode(path);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(|source| match source.kind() {
                ErrorKind::AlreadyExists => AuditError::Exists {
                    path: path.to_path_buf(),
                },
                _ => AuditError::Create {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        lock(&file, path)?;
        // The umask can only remove bits, but an odd one could remove the owner's own.
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(|source| AuditError::Create {
                path: path.to_path_buf(),
                source,
            })?;
        let (chain, header) = AuditChain::start(secrets, now)?;
        let mut writer = AuditWriter {
            path: path.to_path_buf(),
            file,
            chain,
            unsynced: false,
            failed: false,
            session_id: RecordHash::GENESIS,
        };
        writer.write_line(&header.line, Durability::Buffered)?;
        writer.append(AuditEvent::SessionStart(session), now, Durability::Sync)?;
        writer.session_id = writer.head().hash;
        sync_parent_dir(path).map_err(|source| AuditError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        writer.publish(now)?;
        Ok(writer)
    }

    /// Continues the log at `path` after a crash or a quit. The whole chain is verified first
    /// (a broken chain is refused); then a `resume` record is appended, preceded by `\n` when
    /// the file ends without one, in a single write.
    pub fn open_append(
        path: &Path,
        secrets: Secrets,
        now: Timestamp,
    ) -> Result<(AuditWriter, ResumedLog), AuditError> {
        AuditWriter::open_append_of(path, None, secrets, now)
    }

    /// `open_append`, and with `session` only the log of that session (the hash of its
    /// `session_start`, as a lock's owner names it): checked before anything is appended.
    pub fn open_append_of(
        path: &Path,
        session: Option<&str>,
        secrets: Secrets,
        now: Timestamp,
    ) -> Result<(AuditWriter, ResumedLog), AuditError> {
        check_directory(path)?;
        // A FIFO or a device would block or feed the reader without end, and opening a device
        // for writing can act on it: neither is opened at all. The open itself follows no link
        // and does not block, and what it opened is checked again.
        let not_a_file = || AuditError::NotAFile {
            path: path.to_path_buf(),
        };
        if !std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_file()) {
            return Err(match std::fs::symlink_metadata(path) {
                Err(source) => AuditError::Open {
                    path: path.to_path_buf(),
                    source,
                },
                Ok(_) => not_a_file(),
            });
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        if !file.metadata().is_ok_and(|meta| meta.file_type().is_file()) {
            return Err(not_a_file());
        }
        lock(&file, path)?;
        // Everything `audit verify` checks, the anchor and who may write the files included:
        // a log whose heads file was deleted, or whose published tail was cut off, would
        // otherwise be continued and verify afterwards. The lock is held, so nothing changes
        // between this check and the appends.
        let anchored = super::anchored::verify_anchored(path, None)?;
        let problem = match (&anchored.anchor, anchored.file_problem) {
            (Err(problem), _) => Some(problem.to_string()),
            (Ok(_), problem) => problem,
        };
        if let Some(problem) = problem {
            return Err(AuditError::NotVerified {
                path: path.to_path_buf(),
                problem,
            });
        }
        let reading = file.try_clone().map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tail = AuditTail::from_file(path, reading, 0, ChainVerifier::new());
        let mut records = Vec::new();
        while let Some(verified) = tail.next_record()? {
            records.push(verified.record);
        }
        let unterminated = tail.unterminated_len() > 0;
        let verified = tail.finish()?;
        if verified.session_ended {
            let reason = match records.last().map(|r| &r.event) {
                Some(AuditEvent::SessionEnd { reason, .. }) => reason.clone(),
                _ => String::new(),
            };
            return Err(AuditError::SessionClosed {
                path: path.to_path_buf(),
                reason,
            });
        }
        let Some(session_id) = verified.session_id else {
            return Err(AuditError::NoSession {
                path: path.to_path_buf(),
            });
        };
        if let Some(expected) = session.filter(|s| *s != session_id.to_string()) {
            return Err(AuditError::NotVerified {
                path: path.to_path_buf(),
                problem: format!(
                    "it is the log of session {session_id}, not of session {expected}"
                ),
            });
        }

        let mut writer = AuditWriter {
            path: path.to_path_buf(),
            file,
            chain: AuditChain::resume(verified.chain_head(), secrets),
            unsynced: false,
            failed: false,
            session_id,
        };
        let resume = writer.chain.seal(
            AuditEvent::Resume {
                torn_line: verified.torn_tail,
            },
            now,
        )?;
        let mut bytes = Vec::with_capacity(resume.line.len() + 1);
        if unterminated {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&resume.line);
        writer.write_line(&bytes, Durability::Sync)?;
        writer.publish(now)?;
        Ok((writer, ResumedLog { records, verified }))
    }

    /// Appends `event` stamped `now`; returns its seq.
    pub fn append(
        &mut self,
        event: AuditEvent,
        now: Timestamp,
        durability: Durability,
    ) -> Result<u64, AuditError> {
        if self.failed {
            return Err(self.writer_failed());
        }
        let anchored = ends_a_step(&event);
        let sealed = self.chain.seal(event, now)?;
        if anchored {
            // A head is published only once its record is on disk: a crash must never leave
            // an anchor the log does not reach.
            self.write_line(&sealed.line, Durability::Sync)?;
            self.publish(now)?;
        } else {
            self.write_line(&sealed.line, durability)?;
        }
        Ok(sealed.seq)
    }

    /// Makes every record appended so far durable.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        if self.failed {
            return Err(self.writer_failed());
        }
        if self.unsynced {
            self.sync_now()?;
        }
        Ok(())
    }

    /// Closes the session with a `session_end` record, on disk when this returns. The head it
    /// returns is what the operator notes down (or a follower keeps) so that a deleted tail
    /// shows: `zkpilot audit verify --expect-head`.
    pub fn end_session(self, reason: &str, now: Timestamp) -> Result<ChainHead, AuditError> {
        let reason = reason.to_string();
        self.close(now, |records| AuditEvent::SessionEnd { records, reason })
    }

    /// Closes this console's part of the session with a `session_stop` record: the session
    /// stopped before every step was done and may be continued with `--resume`.
    pub fn stop_session(self, reason: &str, now: Timestamp) -> Result<ChainHead, AuditError> {
        let reason = reason.to_string();
        self.close(now, |records| AuditEvent::SessionStop { records, reason })
    }

    /// Appends the closing record (it counts itself among the session's records), fsynced.
    fn close(
        mut self,
        now: Timestamp,
        closing: impl FnOnce(u64) -> AuditEvent,
    ) -> Result<ChainHead, AuditError> {
        let records = self.chain.head().records + 1;
        self.append(closing(records), now, Durability::Sync)?;
        Ok(self.head())
    }

    /// The hash of this log's `session_start` record.
    pub fn session_id(&self) -> RecordHash {
        self.session_id
    }

    /// Publishes the current head outside the log (see `anchor`): appended to `LOG.heads`
    /// and fsynced, then sent to the system journal when there is one. A heads file that
    /// cannot be written stops the writer like the log itself would: an unanchored tail could
    /// be cut off unseen.
    fn publish(&mut self, now: Timestamp) -> Result<(), AuditError> {
        let head = self.head();
        let anchor = Anchor {
            seq: head.records.saturating_sub(1),
            head: head.hash,
            at: now,
        };
        let heads = heads_path(&self.path);
        // Never through a symlink, and only a regular file of the log's own owner that group
        // and others cannot write: in a shared pairing directory a member could otherwise
        // point `LOG.heads` at a file only the operator may write and have the run append to it.
        let opened = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&heads);
        let mut file = match opened {
            Ok(file) => file,
            Err(source) => {
                self.failed = true;
                let source = match source.raw_os_error() {
                    Some(libc::ELOOP) => io::Error::other("it is a symbolic link"),
                    _ => source,
                };
                return Err(AuditError::Anchor {
                    path: heads,
                    source,
                });
            }
        };
        if let Some(why) = unsafe_beside(&file, &self.file) {
            self.failed = true;
            return Err(AuditError::UnsafeHeads { path: heads, why });
        }
        let written = file
            .write_all(format!("{anchor}\n").as_bytes())
            .and_then(|()| file.sync_data());
        if let Err(source) = written {
            self.failed = true;
            return Err(AuditError::Anchor {
                path: heads,
                source,
            });
        }
        // The journal is a second, root-owned copy where one runs; without it (`logger`
        // missing, or no /dev/log, as in containers) the heads file stands alone.
        let _ = Command::new("logger")
            .args(["-t", "zkpilot-audit", "--"])
            .arg(format!("{} {anchor}", self.path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        Ok(())
    }

    pub fn head(&self) -> ChainHead {
        self.chain.head()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&mut self, line: &[u8], durability: Durability) -> Result<(), AuditError> {
        if let Err(source) = self.file.write_all(line) {
            self.failed = true;
            return Err(AuditError::Write {
                path: self.path.clone(),
                source,
            });
        }
        match durability {
            Durability::Sync => self.sync_now(),
            Durability::Buffered => {
                self.unsynced = true;
                Ok(())
            }
        }
    }

    /// `fdatasync` also flushes the file size, which is all a reader needs. A failed fsync
    /// may have dropped the dirty pages, so the writer stops rather than retry and pretend.
    fn sync_now(&mut self) -> Result<(), AuditError> {
        if let Err(source) = self.file.sync_data() {
            self.failed = true;
            return Err(AuditError::Write {
                path: self.path.clone(),
                source,
            });
        }
        self.unsynced = false;
        Ok(())
    }

    fn writer_failed(&self) -> AuditError {
        AuditError::WriterFailed {
            path: self.path.clone(),
        }
    }
}

/// Whether `event` ends a step (or the session), where the head is published.
fn ends_a_step(event: &AuditEvent) -> bool {
    match event {
        AuditEvent::Step { state, .. } => matches!(
            state,
            StepState::Done | StepState::Failed | StepState::Skipped | StepState::OutcomeUnknown
        ),
        AuditEvent::SessionEnd { .. } | AuditEvent::SessionStop { .. } => true,
        _ => false,
    }
}

/// What is wrong with a file kept beside the log (`file`, opened without following a link),
/// if anything: not a regular file, another owner than the log's, or writable by group or
/// others.
pub(crate) fn unsafe_beside(file: &File, log: &File) -> Option<String> {
    let (meta, log_meta) = match (file.metadata(), log.metadata()) {
        (Ok(meta), Ok(log_meta)) => (meta, log_meta),
        (Err(e), _) | (_, Err(e)) => return Some(format!("cannot be examined: {e}")),
    };
    if !meta.file_type().is_file() {
        return Some("not a regular file".into());
    }
    if meta.uid() != log_meta.uid() {
        return Some(format!(
            "it belongs to {}, its log to {}",
            crate::session::approval::person_of(meta.uid()).label(),
            crate::session::approval::person_of(log_meta.uid()).label()
        ));
    }
    let mode = meta.mode() & 0o7777;
    (mode & 0o022 != 0).then(|| format!("it has mode {mode:04o}: group or others can write it"))
}

/// `LOG.heads`, where the heads of the log at `path` are published.
pub fn heads_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(HEADS_SUFFIX);
    path.with_file_name(name)
}

/// A directory that others may write to without the sticky bit lets any of them replace the
/// log (rename over it) or its heads file: refused, for new logs and resumed ones alike.
pub(crate) fn check_directory(path: &Path) -> Result<(), AuditError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mode = match std::fs::metadata(dir) {
        Ok(meta) => meta.mode(),
        // A missing directory fails with its own error when the file is opened.
        Err(_) => return Ok(()),
    };
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(AuditError::UnsafeDirectory {
            path: dir.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// Drop cannot report an error: callers who need to know end the session or call `sync`.
impl Drop for AuditWriter {
    fn drop(&mut self) {
        if self.unsynced && !self.failed {
            let _ = self.file.sync_data();
        }
    }
}

/// `File::try_lock` is `flock(LOCK_EX | LOCK_NB)` on Unix: the lock goes with the descriptor,
/// so it lasts exactly as long as the writer holds the file.
fn lock(file: &File, path: &Path) -> Result<(), AuditError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(AuditError::Locked {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(AuditError::Lock {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A new file's name lives in its directory: without this fsync a crash could lose the whole
/// log even though its records were fsynced.
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// The default directory for session logs (see `location::audit_dir`), created with mode 0700
/// if missing: the logs name hosts and commands.
pub fn default_audit_dir() -> Result<PathBuf, AuditError> {
    let dir = location::audit_dir(
        env::var_os("XDG_STATE_HOME").as_deref(),
        env::var_os("HOME").as_deref(),
    )
    .ok_or(AuditError::NoStateDir)?;
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|source| AuditError::CreateDir {
            path: dir.clone(),
            source,
        })?;
    Ok(dir)
}
