//! Pure: checking a log's chain line by line, from bytes an adapter read.
//!
//! The rules, in the order a line is checked:
//! - every line is a JSON record of a known kind; line 1 is the header of format
//!   `zkpilot-audit` version 1 with seq 0 and a `prev` of 64 zeros, and no other line is a header;
//! - each record's `seq` is one more than the previous record's (a gap means records were
//!   deleted or moved, a repeat means they were duplicated or moved);
//! - each record's `prev` is the SHA-256 of the previous record's line as read, without `\n`;
//! - a `session_end` (or `session_stop`) counts every record up to and including itself;
//! - nothing follows a `session_end`: the session is closed for good (a stopped session is
//!   continued after its `session_stop` by a `resume` record).
//!
//! Crashes: a writer appends each record with one `write` of the whole line and its `\n`, so a
//! crash can leave only the last line incomplete. A final line without `\n` that is not a
//! record is that torn write: reported, not fatal. When a writer later resumes the log it never
//! touches those bytes: it ends them with `\n` and, in the same `write`, appends a `resume`
//! record naming that line and chaining to the last intact record. So an invalid line is
//! accepted in exactly one place: directly followed by a `resume` record that names it.
//! A final line without `\n` that is a complete valid record (a crash cut only the newline) is
//! an ordinary record.

use serde::Deserialize;

use super::record::{AuditEvent, AuditRecord, ChainHead, RecordHash, FORMAT_NAME, FORMAT_VERSION};

/// A log whose chain holds from the header to its last record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records in the chain, the header included.
    pub records: u64,
    /// The hash of the last record: the value to note down, or compare with a noted one.
    pub head: RecordHash,
    /// The 1-based line of an incomplete final write left by a crash.
    pub torn_tail: Option<u64>,
    /// Lines torn by earlier crashes, each followed by the `resume` record that continued the log.
    pub resumed_tears: Vec<u64>,
    /// Whether the last record is a `session_end`: if not, the session is still running or
    /// stopped without closing its log.
    pub session_ended: bool,
    /// Whether the last record is a `session_stop`: stopped unfinished, and resumable.
    pub session_stopped: bool,
    /// The hash of record seq 1 (`session_start`): the session's identity in its anchors and
    /// its ensemble lock.
    pub session_id: Option<RecordHash>,
    /// The seq of the record whose hash is the head the caller expected, if any record has it.
    pub expected_head_seq: Option<u64>,
    /// The seq of the record whose hash is the published anchor looked for, if any has it.
    pub anchor_seq: Option<u64>,
}

impl Verified {
    pub fn chain_head(&self) -> ChainHead {
        ChainHead {
            records: self.records,
            hash: self.head,
        }
    }
}

/// The first place a log breaks its chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {kind}", seq.map(|s| format!(" (seq {s})")).unwrap_or_default())]
pub struct ChainProblem {
    /// 1-based line number in the file.
    pub line: u64,
    /// The record's own seq, when the line is readable enough to have one.
    pub seq: Option<u64>,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    #[error("the log is empty: it has no header")]
    Empty,
    #[error("not a valid audit record ({0})")]
    NotARecord(String),
    #[error(
        "the header is incomplete (a crash while the log was created): the log holds no record"
    )]
    TornHeader,
    #[error("not a zkpilot audit log: line 1 is not a `{FORMAT_NAME}` header")]
    NotAnAuditLog,
    #[error("format version {0} is not readable by this zkpilot (it reads version {FORMAT_VERSION}): use a newer zkpilot")]
    UnsupportedVersion(u64),
    #[error("the header must have seq 0 and a prev of 64 zeros")]
    BadHeader,
    #[error("a line longer than {} MiB: no record is that long", MAX_LINE_BYTES >> 20)]
    LineTooLong,
    #[error("a header record after line 1: records from another log were inserted")]
    MisplacedHeader,
    #[error("expected seq {expected}: {} (deleted, or moved elsewhere)", missing(*expected, *found))]
    SeqGap { expected: u64, found: u64 },
    #[error(
        "expected seq {expected}, found an earlier seq again: records were duplicated or reordered"
    )]
    SeqRepeat { expected: u64 },
    #[error(
        "prev does not match the SHA-256 of line {prev_line} (seq {prev_seq}): \
         that record or this one was edited, or records between them were removed or reordered"
    )]
    BrokenLink { prev_line: u64, prev_seq: u64 },
    #[error(
        "not a valid audit record ({reason}), and no resume record follows it as after a crash"
    )]
    UnexplainedBadLine { reason: String },
    #[error("the resume record names torn line {claimed}, but {actual}")]
    ResumeMismatch { claimed: u64, actual: String },
    #[error("session_end counts {claimed} records, the log has {actual} up to it")]
    SessionEndCount { claimed: u64, actual: u64 },
    #[error(
        "a record after the session_end of line {end_line}: a closed session was written to again"
    )]
    AfterSessionEnd { end_line: u64 },
    #[error(
        "the file became shorter than what was already read from it: records read were cut \
         off or rewritten while it was followed"
    )]
    Shrunk,
}

/// A record that passed every check, with where it sits in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedRecord {
    pub line: u64,
    pub hash: RecordHash,
    pub record: AuditRecord,
}

/// All records of a log as far as its chain holds, and how far that is.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditLog {
    pub records: Vec<AuditRecord>,
    /// `Err` names the first problem; `records` then holds only the records before it.
    pub verification: Result<Verified, ChainProblem>,
}

impl AuditLog {
    /// Verifies and collects a whole log held in memory.
    pub fn from_bytes(bytes: &[u8]) -> AuditLog {
        let mut verifier = ChainVerifier::new();
        let mut records = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            match verifier.push_line(&rest[..end]) {
                Ok(Some(verified)) => records.push(verified.record),
                Ok(None) => {}
                Err(problem) => {
                    return AuditLog {
                        records,
                        verification: Err(problem),
                    }
                }
            }
            rest = &rest[end + 1..];
        }
        AuditLog {
            records,
            verification: verifier.finish(rest),
        }
    }
}

#[derive(Debug, Clone)]
struct BadLine {
    line: u64,
    seq: Option<u64>,
    reason: String,
}

/// The longest line a reader holds: records are a few kilobytes (remote output is cut into
/// lines of at most 8 KiB), so a longer line is not a record, and reading on would only grow.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Checks a log fed one line at a time, so a file of any size, or one still growing, can be
/// verified without holding it in memory. Clone it to keep a checkpoint.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    lines: u64,
    last: Option<(u64, u64)>,
    head: ChainHead,
    /// An invalid line waiting for the next line to show whether a `resume` explains it.
    pending: Option<BadLine>,
    resumed_tears: Vec<u64>,
    session_ended: bool,
    /// The line of the `session_end`, once one was read.
    end_line: Option<u64>,
    session_stopped: bool,
    session_id: Option<RecordHash>,
    expected_head: Option<RecordHash>,
    expected_head_seq: Option<u64>,
    anchor: Option<RecordHash>,
    anchor_seq: Option<u64>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier::new()
    }
}

impl ChainVerifier {
    pub fn new() -> ChainVerifier {
        ChainVerifier {
            lines: 0,
            last: None,
            head: ChainHead {
                records: 0,
                hash: RecordHash::GENESIS,
            },
            pending: None,
            resumed_tears: Vec::new(),
            session_ended: false,
            end_line: None,
            session_stopped: false,
            session_id: None,
            expected_head: None,
            expected_head_seq: None,
            anchor: None,
            anchor_seq: None,
        }
    }

    /// Also look for the record whose hash is `head`, e.g. one the operator noted at the end
    /// of the session; `Verified::expected_head_seq` says where it was found.
    pub fn expecting_head(mut self, head: RecordHash) -> ChainVerifier {
        self.expected_head = Some(head);
        self
    }

    /// The problem of a line that grew past `MAX_LINE_BYTES` without ending: the next line.
    pub fn line_too_long(&self) -> ChainProblem {
        ChainProblem {
            line: self.lines + 1,
            seq: None,
            kind: ProblemKind::LineTooLong,
        }
    }

    /// The problem of a file that shrank under its reader: at the next line.
    pub fn shrunk(&self) -> ChainProblem {
        ChainProblem {
            line: self.lines + 1,
            seq: None,
            kind: ProblemKind::Shrunk,
        }
    }

    /// Also look for the record whose hash is `head`, a head published outside the log (see
    /// `anchor`); `Verified::anchor_seq` says where it was found.
    pub fn anchored_at(mut self, head: RecordHash) -> ChainVerifier {
        self.anchor = Some(head);
        self
    }

    /// Checks one complete line, given without its `\n`. `Ok(None)` means the line is not a
    /// record but may still be a torn write, which the next line decides.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Option<VerifiedRecord>, ChainProblem> {
        self.lines += 1;
        let number = self.lines;
        match parse_record(line, number) {
            Ok(record) => self.accept(record, line, number).map(Some),
            Err(bad) => {
                if let Some(earlier) = self.pending.take() {
                    return Err(unexplained(earlier));
                }
                if number == 1 {
                    return Err(ChainProblem {
                        line: 1,
                        seq: bad.seq,
                        kind: header_problem(line, bad.reason),
                    });
                }
                self.pending = Some(bad);
                Ok(None)
            }
        }
    }

    /// Ends the check at the end of the file; `tail` is whatever follows the last `\n`.
    pub fn finish(mut self, tail: &[u8]) -> Result<Verified, ChainProblem> {
        let mut torn_tail = None;
        if !tail.is_empty() {
            self.lines += 1;
            let number = self.lines;
            match parse_record(tail, number) {
                Ok(record) => {
                    self.accept(record, tail, number)?;
                }
                Err(_) if self.pending.is_none() => {
                    if number == 1 {
                        return Err(ChainProblem {
                            line: 1,
                            seq: None,
                            kind: ProblemKind::TornHeader,
                        });
                    }
                    torn_tail = Some(number);
                }
                Err(_) => {}
            }
        }
        if let Some(bad) = self.pending.take() {
            return Err(unexplained(bad));
        }
        if self.head.records == 0 {
            return Err(ChainProblem {
                line: 1,
                seq: None,
                kind: ProblemKind::Empty,
            });
        }
        Ok(Verified {
            records: self.head.records,
            head: self.head.hash,
            torn_tail,
            resumed_tears: self.resumed_tears,
            session_ended: self.session_ended,
            session_stopped: self.session_stopped,
            session_id: self.session_id,
            expected_head_seq: self.expected_head_seq,
            anchor_seq: self.anchor_seq,
        })
    }

    fn accept(
        &mut self,
        record: AuditRecord,
        line: &[u8],
        number: u64,
    ) -> Result<VerifiedRecord, ChainProblem> {
        let problem = |kind| ChainProblem {
            line: number,
            seq: Some(record.seq),
            kind,
        };
        if let Some(end_line) = self.end_line {
            return Err(problem(ProblemKind::AfterSessionEnd { end_line }));
        }
        let claimed_tear = match record.event {
            AuditEvent::Resume { torn_line } => torn_line,
            _ => None,
        };
        match (self.pending.take(), claimed_tear) {
            (Some(bad), Some(claimed)) if claimed == bad.line => self.resumed_tears.push(claimed),
            (Some(bad), _) => return Err(unexplained(bad)),
            (None, Some(claimed)) => {
                return Err(problem(ProblemKind::ResumeMismatch {
                    claimed,
                    actual: format!("line {} is an intact record", number - 1),
                }))
            }
            (None, None) => {}
        }
        match (&record.event, self.last) {
            (AuditEvent::Header { format, version }, None) => {
                if format != FORMAT_NAME {
                    return Err(problem(ProblemKind::NotAnAuditLog));
                }
                if *version != FORMAT_VERSION {
                    return Err(problem(ProblemKind::UnsupportedVersion(u64::from(
                        *version,
                    ))));
                }
                if record.seq != 0 || record.prev != RecordHash::GENESIS {
                    return Err(problem(ProblemKind::BadHeader));
                }
            }
            (_, None) => return Err(problem(ProblemKind::NotAnAuditLog)),
            (AuditEvent::Header { .. }, Some(_)) => {
                return Err(problem(ProblemKind::MisplacedHeader))
            }
            (_, Some((prev_line, prev_seq))) => {
                let expected = self.head.records;
                if record.seq > expected {
                    return Err(problem(ProblemKind::SeqGap {
                        expected,
                        found: record.seq,
                    }));
                }
                if record.seq < expected {
                    return Err(problem(ProblemKind::SeqRepeat { expected }));
                }
                if record.prev != self.head.hash {
                    return Err(problem(ProblemKind::BrokenLink {
                        prev_line,
                        prev_seq,
                    }));
                }
            }
        }
        if let AuditEvent::SessionEnd { records, .. } | AuditEvent::SessionStop { records, .. } =
            record.event
        {
            if records != record.seq + 1 {
                return Err(problem(ProblemKind::SessionEndCount {
                    claimed: records,
                    actual: record.seq + 1,
                }));
            }
        }
        let hash = RecordHash::of_line(line);
        if self.expected_head == Some(hash) {
            self.expected_head_seq = Some(record.seq);
        }
        if self.anchor == Some(hash) {
            self.anchor_seq = Some(record.seq);
        }
        self.session_ended = matches!(record.event, AuditEvent::SessionEnd { .. });
        self.session_stopped = matches!(record.event, AuditEvent::SessionStop { .. });
        if self.session_ended {
            self.end_line = Some(number);
        }
        if record.seq == 1 {
            self.session_id = Some(hash);
        }
        self.last = Some((number, record.seq));
        self.head = ChainHead {
            records: record.seq + 1,
            hash,
        };
        Ok(VerifiedRecord {
            line: number,
            hash,
            record,
        })
    }
}

fn parse_record(line: &[u8], number: u64) -> Result<AuditRecord, BadLine> {
    serde_json::from_slice(line).map_err(|e| BadLine {
        line: number,
        seq: readable_seq(line),
        reason: e.to_string(),
    })
}

/// The seq of a line that is JSON but not a valid record, so the report can name it.
fn readable_seq(line: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct SeqOnly {
        seq: u64,
    }
    serde_json::from_slice::<SeqOnly>(line).ok().map(|s| s.seq)
}

/// Line 1 is not a record: tell a newer format from something that is not a log at all.
fn header_problem(line: &[u8], reason: String) -> ProblemKind {
    #[derive(Deserialize)]
    struct HeaderProbe {
        format: String,
        version: u64,
    }
    match serde_json::from_slice::<HeaderProbe>(line) {
        Ok(probe) if probe.format == FORMAT_NAME && probe.version != u64::from(FORMAT_VERSION) => {
            ProblemKind::UnsupportedVersion(probe.version)
        }
        Ok(_) => ProblemKind::NotARecord(reason),
        Err(_) => ProblemKind::NotAnAuditLog,
    }
}

fn missing(expected: u64, found: u64) -> String {
    if found == expected + 1 {
        format!("record {expected} is missing")
    } else {
        format!("records {expected} to {} are missing", found - 1)
    }
}

fn unexplained(bad: BadLine) -> ChainProblem {
    ChainProblem {
        line: bad.line,
        seq: bad.seq,
        kind: ProblemKind::UnexplainedBadLine { reason: bad.reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{AuditChain, Secrets, Timestamp};

    fn note(text: &str) -> AuditEvent {
        AuditEvent::Note {
            text: text.to_string(),
        }
    }

    /// The problem `verify` finds in `lines`, checked to be `kind` at `(line, seq)`.
    #[track_caller]
    fn refused(lines: &[Vec<u8>], at: (u64, Option<u64>), kind: ProblemKind) -> ChainProblem {
        let problem = verify(lines).unwrap_err();
        assert_eq!((problem.line, problem.seq), at);
        assert_eq!(problem.kind, kind);
        problem
    }

    /// The line of `event` sealed at `millis`.
    fn sealed(chain: &mut AuditChain, event: AuditEvent, millis: i64) -> Vec<u8> {
        chain
            .seal(event, Timestamp::from_unix_millis(millis))
            .unwrap()
            .line
    }

    /// A log of the header and `notes` notes, as bytes and as lines without `\n`.
    fn log(notes: usize) -> (AuditChain, Vec<Vec<u8>>) {
        let (mut chain, header) =
            AuditChain::start(Secrets::default(), Timestamp::from_unix_millis(0)).unwrap();
        let mut lines = vec![header.line];
        for i in 0..notes {
            lines.push(sealed(&mut chain, note(&format!("note {i}")), i as i64));
        }
        (chain, lines)
    }

    fn verify(lines: &[Vec<u8>]) -> Result<Verified, ChainProblem> {
        AuditLog::from_bytes(&lines.concat()).verification
    }

    #[test]
    fn an_intact_log_verifies_with_its_head() {
        let (chain, lines) = log(5);
        let verified = verify(&lines).unwrap();
        assert_eq!(verified.records, 6);
        assert_eq!(verified.head, chain.head().hash);
        assert_eq!(verified.torn_tail, None);
        assert!(!verified.session_ended);
    }

    #[test]
    fn an_edited_record_breaks_the_link_to_the_next() {
        let (_, mut lines) = log(5);
        lines[2] = String::from_utf8(lines[2].clone())
            .unwrap()
            .replace("note 1", "note X")
            .into_bytes();
        let broken = ProblemKind::BrokenLink {
            prev_line: 3,
            prev_seq: 2,
        };
        let problem = refused(&lines, (4, Some(3)), broken);
        assert_eq!(
            problem.to_string(),
            "line 4 (seq 3): prev does not match the SHA-256 of line 3 (seq 2): that record or \
             this one was edited, or records between them were removed or reordered"
        );
    }

    #[test]
    fn a_deleted_record_is_a_seq_gap() {
        let (_, mut lines) = log(5);
        lines.remove(3);
        let gap = ProblemKind::SeqGap {
            expected: 3,
            found: 4,
        };
        refused(&lines, (4, Some(4)), gap);
    }

    #[test]
    fn swapped_records_are_reported_at_the_first_of_them() {
        let (_, mut lines) = log(5);
        lines.swap(2, 3);
        let problem = verify(&lines).unwrap_err();
        assert_eq!((problem.line, problem.seq), (3, Some(3)));
    }

    #[test]
    fn a_duplicated_record_is_a_seq_repeat() {
        let (_, mut lines) = log(3);
        lines.insert(3, lines[2].clone());
        let problem = verify(&lines).unwrap_err();
        assert_eq!(problem.kind, ProblemKind::SeqRepeat { expected: 3 });
    }

    #[test]
    fn a_torn_final_line_is_reported_not_fatal() {
        let (chain, mut lines) = log(3);
        let mut torn = chain
            .clone()
            .seal(note("cut"), Timestamp::from_unix_millis(9))
            .unwrap()
            .line;
        torn.truncate(torn.len() / 2);
        lines.push(torn);
        let verified = verify(&lines).unwrap();
        assert_eq!(verified.torn_tail, Some(5));
        assert_eq!(verified.records, 4);
        assert_eq!(verified.head, chain.head().hash);
    }

    #[test]
    fn a_complete_final_record_missing_only_its_newline_counts() {
        let (_, mut lines) = log(3);
        let last = lines.last_mut().unwrap();
        last.pop();
        let verified = verify(&lines).unwrap();
        assert_eq!((verified.records, verified.torn_tail), (4, None));
    }

    #[test]
    fn a_torn_line_followed_by_its_resume_record_is_accepted() {
        let (mut chain, mut lines) = log(3);
        let mut torn = chain
            .clone()
            .seal(note("cut"), Timestamp::from_unix_millis(9))
            .unwrap()
            .line;
        torn.truncate(10);
        torn.push(b'\n');
        lines.push(torn);
        lines.push(sealed(
            &mut chain,
            AuditEvent::Resume { torn_line: Some(5) },
            10,
        ));
        lines.push(sealed(&mut chain, note("after"), 11));
        let verified = verify(&lines).unwrap();
        assert_eq!(verified.resumed_tears, vec![5]);
        assert_eq!(verified.records, 6);
    }

    #[test]
    fn an_invalid_line_without_a_resume_record_is_fatal() {
        let (mut chain, mut lines) = log(3);
        lines.push(b"{\"seq\":4,\"garbage\":true}\n".to_vec());
        lines.push(sealed(&mut chain, note("after"), 11));
        let problem = verify(&lines).unwrap_err();
        assert_eq!((problem.line, problem.seq), (5, Some(4)));
        assert!(matches!(
            problem.kind,
            ProblemKind::UnexplainedBadLine { .. }
        ));

        let (_, mut lines) = log(3);
        lines.push(b"garbage at the end\n".to_vec());
        assert_eq!(verify(&lines).unwrap_err().line, 5);
    }

    #[test]
    fn a_resume_record_naming_the_wrong_line_is_fatal() {
        let (mut chain, mut lines) = log(3);
        lines.push(sealed(
            &mut chain,
            AuditEvent::Resume { torn_line: Some(2) },
            10,
        ));
        let problem = verify(&lines).unwrap_err();
        assert!(
            matches!(problem.kind, ProblemKind::ResumeMismatch { claimed: 2, .. }),
            "{problem}"
        );
    }

    #[test]
    fn the_header_must_come_first_with_a_known_version() {
        let (_, lines) = log(2);
        let problem = verify(&lines[1..]).unwrap_err();
        assert_eq!(
            (problem.line, problem.kind),
            (1, ProblemKind::NotAnAuditLog)
        );

        let newer = String::from_utf8(lines[0].clone())
            .unwrap()
            .replace("\"version\":1", "\"version\":2");
        let problem = AuditLog::from_bytes(newer.as_bytes())
            .verification
            .unwrap_err();
        assert_eq!(problem.kind, ProblemKind::UnsupportedVersion(2));

        let problem = AuditLog::from_bytes(b"").verification.unwrap_err();
        assert_eq!(problem.kind, ProblemKind::Empty);
        let problem = AuditLog::from_bytes(&lines[0][..20])
            .verification
            .unwrap_err();
        assert_eq!(problem.kind, ProblemKind::TornHeader);
        let problem = AuditLog::from_bytes(b"hello\n").verification.unwrap_err();
        assert_eq!(problem.kind, ProblemKind::NotAnAuditLog);
    }

    #[test]
    fn a_second_header_is_misplaced() {
        let (_, mut lines) = log(2);
        let (_, other) = log(0);
        lines.extend(other);
        let problem = verify(&lines).unwrap_err();
        assert_eq!(problem.kind, ProblemKind::MisplacedHeader);
    }

    #[test]
    fn session_end_must_count_the_records_up_to_itself() {
        let (mut chain, mut lines) = log(2);
        let mut wrong = chain.clone();
        lines.push(sealed(
            &mut chain,
            AuditEvent::SessionEnd {
                records: 4,
                reason: "done".into(),
            },
            5,
        ));
        let verified = verify(&lines).unwrap();
        assert!(verified.session_ended);

        lines.pop();
        lines.push(
            wrong
                .seal(
                    AuditEvent::SessionEnd {
                        records: 3,
                        reason: "done".into(),
                    },
                    Timestamp::from_unix_millis(5),
                )
                .unwrap()
                .line,
        );
        assert_eq!(
            verify(&lines).unwrap_err().kind,
            ProblemKind::SessionEndCount {
                claimed: 3,
                actual: 4
            }
        );
    }

    #[test]
    fn nothing_may_follow_a_session_end_but_a_stop_may_be_resumed() {
        let (mut chain, mut lines) = log(2);
        let mut stopped = chain.clone();
        let at = Timestamp::from_unix_millis;
        lines.push(
            chain
                .seal(
                    AuditEvent::SessionEnd {
                        records: 4,
                        reason: "every step done".into(),
                    },
                    at(5),
                )
                .unwrap()
                .line,
        );
        let mut after_end = lines.clone();
        after_end.push(chain.seal(note("late"), at(6)).unwrap().line);
        let problem = verify(&after_end).unwrap_err();
        assert_eq!(
            (problem.line, problem.kind),
            (5, ProblemKind::AfterSessionEnd { end_line: 4 })
        );

        lines.pop();
        lines.push(
            stopped
                .seal(
                    AuditEvent::SessionStop {
                        records: 4,
                        reason: "the operator quit".into(),
                    },
                    at(5),
                )
                .unwrap()
                .line,
        );
        let verified = verify(&lines).unwrap();
        assert!(verified.session_stopped && !verified.session_ended);
        lines.push(
            stopped
                .seal(AuditEvent::Resume { torn_line: None }, at(6))
                .unwrap()
                .line,
        );
        let verified = verify(&lines).unwrap();
        assert!(!verified.session_stopped);
        assert_eq!(
            verified.session_id,
            Some(RecordHash::of_line(lines[1].strip_suffix(b"\n").unwrap()))
        );
    }

    #[test]
    fn an_expected_head_is_found_where_it_is_in_the_chain() {
        let (_, lines) = log(4);
        let noted = RecordHash::of_line(lines[2].strip_suffix(b"\n").unwrap());
        let mut verifier = ChainVerifier::new().expecting_head(noted);
        for line in &lines {
            verifier
                .push_line(line.strip_suffix(b"\n").unwrap())
                .unwrap();
        }
        assert_eq!(verifier.finish(b"").unwrap().expected_head_seq, Some(2));
    }

    #[test]
    fn records_before_the_first_problem_are_kept() {
        let (_, mut lines) = log(5);
        lines.remove(4);
        let log = AuditLog::from_bytes(&lines.concat());
        assert_eq!(log.records.len(), 4);
        assert!(log.verification.is_err());
    }
}
