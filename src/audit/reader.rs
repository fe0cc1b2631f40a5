//! Adapter: reading a log from its file, whole (`verify`, `export`, resuming a session) or
//! record by record while another process is still appending to it (`follow`, `replay`).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::record::RecordHash;
use super::verify::{
    AuditLog, ChainProblem, ChainVerifier, Verified, VerifiedRecord, MAX_LINE_BYTES,
};
use super::AuditError;

const READ_CHUNK: usize = 64 * 1024;

/// Checks the whole chain of the log at `path`; a broken chain is `AuditError::ChainBroken`.
/// With `expected_head`, `Verified::expected_head_seq` says which record has that hash.
pub fn verify_file(path: &Path, expected_head: Option<RecordHash>) -> Result<Verified, AuditError> {
    let mut tail = AuditTail::open(path)?;
    if let Some(head) = expected_head {
        tail.verifier = tail.verifier.expecting_head(head);
    }
    while tail.next_record()?.is_some() {}
    tail.finish()
}

/// Every record of the log at `path` up to its first problem, and the verification result.
/// Only failing to read the file is an error: a broken chain is part of what is returned.
pub fn read_log(path: &Path) -> Result<AuditLog, AuditError> {
    let mut tail = AuditTail::open(path)?;
    let mut records = Vec::new();
    loop {
        match tail.next_record() {
            Ok(Some(verified)) => records.push(verified.record),
            Ok(None) => break,
            Err(AuditError::ChainBroken { problem, .. }) => {
                return Ok(AuditLog {
                    records,
                    verification: Err(problem),
                })
            }
            Err(other) => return Err(other),
        }
    }
    let verification = match tail.finish() {
        Ok(verified) => Ok(verified),
        Err(AuditError::ChainBroken { problem, .. }) => Err(problem),
        Err(other) => return Err(other),
    };
    Ok(AuditLog {
        records,
        verification,
    })
}

/// Where a tail stood: reopen there with `AuditTail::open_at` to go on without re-reading.
#[derive(Debug, Clone)]
pub struct TailCheckpoint {
    offset: u64,
    verifier: ChainVerifier,
}

impl TailCheckpoint {
    /// The byte offset of the first line not yet consumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// Verified records of a log in file order. At the current end of the file it yields `None`
/// and keeps any incomplete last line, so calling it again after the file grew continues where
/// it stopped: a writer's line in progress is never mistaken for a record. Once the chain
/// breaks it yields that error once and then nothing.
#[derive(Debug)]
pub struct AuditTail {
    path: PathBuf,
    file: File,
    /// Bytes read but not yet consumed start at `start`; `scanned` is how far a newline was
    /// looked for, so a long line is not searched again for every chunk.
    buf: Vec<u8>,
    start: usize,
    scanned: usize,
    offset: u64,
    verifier: ChainVerifier,
    broken: Option<ChainProblem>,
}

impl AuditTail {
    pub fn open(path: &Path) -> Result<AuditTail, AuditError> {
        let file = open_regular(path)?;
        Ok(AuditTail::from_file(path, file, 0, ChainVerifier::new()))
    }

    pub fn open_at(path: &Path, checkpoint: &TailCheckpoint) -> Result<AuditTail, AuditError> {
        let mut file = open_regular(path)?;
        file.seek(SeekFrom::Start(checkpoint.offset))
            .map_err(|source| AuditError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(AuditTail::from_file(
            path,
            file,
            checkpoint.offset,
            checkpoint.verifier.clone(),
        ))
    }

    /// Reads through `file`, whose position must be `offset`.
    pub(crate) fn from_file(
        path: &Path,
        file: File,
        offset: u64,
        verifier: ChainVerifier,
    ) -> AuditTail {
        AuditTail {
            path: path.to_path_buf(),
            file,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            offset,
            verifier,
            broken: None,
        }
    }

    pub fn checkpoint(&self) -> TailCheckpoint {
        TailCheckpoint {
            offset: self.offset,
            verifier: self.verifier.clone(),
        }
    }

    /// Bytes after the last `\n` read so far: a line still being written, or torn.
    pub fn unterminated_len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn next_record(&mut self) -> Result<Option<VerifiedRecord>, AuditError> {
        if let Some(problem) = &self.broken {
            return Err(self.chain_broken(problem.clone()));
        }
        loop {
            if let Some(at) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + at;
                let result = self.verifier.push_line(&self.buf[self.start..end]);
                self.offset += (end + 1 - self.start) as u64;
                self.start = end + 1;
                self.scanned = self.start;
                match result {
                    Ok(Some(verified)) => return Ok(Some(verified)),
                    Ok(None) => continue,
                    Err(problem) => {
                        self.broken = Some(problem.clone());
                        return Err(self.chain_broken(problem));
                    }
                }
            }
            self.scanned = self.buf.len();
            if self.buf.len() - self.start > MAX_LINE_BYTES {
                let problem = self.verifier.line_too_long();
                self.broken = Some(problem.clone());
                return Err(self.chain_broken(problem));
            }
            if !self.read_more()? {
                return Ok(None);
            }
        }
    }

    /// Ends at the current end of the file: an incomplete last line is then a torn write.
    pub fn finish(self) -> Result<Verified, AuditError> {
        if let Some(problem) = self.broken.clone() {
            return Err(self.chain_broken(problem));
        }
        self.verifier
            .finish(&self.buf[self.start..])
            .map_err(|problem| AuditError::ChainBroken {
                path: self.path.clone(),
                problem,
            })
    }

    fn read_more(&mut self) -> Result<bool, AuditError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        let filled = self.buf.len();
        self.buf.resize(filled + READ_CHUNK, 0);
        let read = loop {
            match self.file.read(&mut self.buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.buf.truncate(filled);
                    return Err(AuditError::Read {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        };
        self.buf.truncate(filled + read);
        // At the end of the file, a file shorter than what was read from it was cut under its
        // reader (and perhaps written again): a follower went on at its old offset and
        // vouched for records no longer there.
        if read == 0 {
            let position = self.offset + filled as u64;
            if self.file.metadata().is_ok_and(|meta| meta.len() < position) {
                return Err(self.chain_broken(self.verifier.shrunk()));
            }
        }
        Ok(read > 0)
    }

    fn chain_broken(&self, problem: ChainProblem) -> AuditError {
        AuditError::ChainBroken {
            path: self.path.clone(),
            problem,
        }
    }
}

/// Opens a log only if it is a regular file: a FIFO would block the reader and a device such
/// as /dev/zero would feed it without end. The open itself does not block on a FIFO.
pub(crate) fn open_regular(path: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let meta = file.metadata().map_err(|source| AuditError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(AuditError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

impl Iterator for AuditTail {
    type Item = Result<VerifiedRecord, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.broken.is_some() {
            return None;
        }
        self.next_record().transpose()
    }
}
