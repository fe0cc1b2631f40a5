//! Pure: the audit record format and its hash chain. No file, no clock: the time of every record
//! is passed in, and sealing a record only produces the bytes an adapter must append.
//!
//! A log is JSON Lines. Each line is one `AuditRecord`: `seq`, `ts`, `prev`, then `kind` and the
//! fields of that kind, in struct order, so the same record always serialises to the same bytes.
//! `prev` is the SHA-256 of the previous record's line as it sits in the file, without its
//! terminating `\n`; a verifier hashes the bytes it reads and never re-serialises, so a reader of
//! another serde version can still check a log.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::verify::MAX_LINE_BYTES;

pub const FORMAT_NAME: &str = "zkpilot-audit";
pub const FORMAT_VERSION: u32 = 1;
/// What a secret is replaced with before a record is serialised.
pub const REDACTED: &str = "***";

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
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (i, byte) in self.0.iter().enumerate() {
            hex[2 * i] = DIGITS[usize::from(byte >> 4)];
            hex[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
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

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadHash(text.to_string());
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(bad());
        }
        let mut hash = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let high = hex_value(pair[0]).ok_or_else(bad)?;
            let low = hex_value(pair[1]).ok_or_else(bad)?;
            hash[i] = high << 4 | low;
        }
        Ok(RecordHash(hash))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl Serialize for RecordHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <&str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A UTC instant with millisecond precision, written as RFC 3339 (`2026-11-23T09:17:03.120Z`).
/// Years are held to 0000–9999 so every value has that exact form and parses back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_millis: i64,
}

const MILLIS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    pub fn from_unix_millis(unix_millis: i64) -> Timestamp {
        let earliest = days_from_civil(0, 1, 1) * MILLIS_PER_DAY;
        let latest = (days_from_civil(9999, 12, 31) + 1) * MILLIS_PER_DAY - 1;
        Timestamp {
            unix_millis: unix_millis.clamp(earliest, latest),
        }
    }

    /// Nanoseconds are truncated, not rounded, so a record is never stamped later than it was made.
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp::from_unix_millis(
            secs.saturating_mul(1000)
                .saturating_add(i64::from(nanos / 1_000_000)),
        )
    }

    /// Converts a time the caller read from the clock; this reads no clock itself.
    pub fn from_system_time(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp::from_unix(
                i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                after.subsec_nanos(),
            ),
            Err(before) => {
                let before = before.duration();
                let millis = i64::try_from(before.as_millis()).unwrap_or(i64::MAX);
                Timestamp::from_unix_millis(-millis)
            }
        }
    }

    pub fn unix_millis(self) -> i64 {
        self.unix_millis
    }

    /// Parses exactly the form `Display` writes: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        let layout_ok = b.len() == 24
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'.'
            && b[23] == b'Z';
        if !layout_ok {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<i64> {
            let digits = &b[range];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        let year = number(0..4)?;
        let month = u32::try_from(number(5..7)?).ok()?;
        let day = u32::try_from(number(8..10)?).ok()?;
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        let millis = number(20..23)?;
        if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        if civil_from_days(days) != (year, month, day) {
            return None;
        }
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
        Some(Timestamp::from_unix_millis(secs * 1000 + millis))
    }

    /// `HH:MM:SS.mmm`, for timelines whose date is shown once elsewhere.
    pub fn time_of_day(self) -> String {
        let ms = self.unix_millis.rem_euclid(MILLIS_PER_DAY);
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.unix_millis.div_euclid(MILLIS_PER_DAY));
        write!(f, "{year:04}-{month:02}-{day:02}T{}Z", self.time_of_day())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <&str>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "timestamp {text:?} is not UTC RFC 3339 with milliseconds"
            ))
        })
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
/// Howard Hinnant's `civil_from_days` (chrono-compatible algorithms, public domain): eras of
/// 400 years, each exactly 146 097 days, with March as the first month so leap days fall last.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// The inverse of `civil_from_days`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub ts: Timestamp,
    pub prev: RecordHash,
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// What a record says happened. New kinds are added at the end; a reader that meets a kind it
/// does not know reports the line rather than skipping it, since skipping would hide records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditEvent {
    /// Always line 1, seq 0; its `ts` is when the log was created.
    Header {
        format: String,
        version: u32,
    },
    SessionStart(SessionInfo),
    /// The poller's view of the ensemble, recorded when it changes. Opaque until the poller
    /// defines its snapshot type.
    Snapshot {
        state: serde_json::Value,
    },
    Gate {
        step: String,
        gate: String,
        passed: bool,
        detail: String,
    },
    Verdict {
        step: String,
        quorum_possible: bool,
        split_brain_possible: bool,
        text: String,
    },
    Decision {
        step: String,
        decision: DecisionKind,
        by: String,
    },
    /// Written and fsynced before the command is handed to SSH, so a crash can never hide that
    /// a command may have run.
    Intent {
        intent: u64,
        step: String,
        host: String,
        command: String,
    },
    Output {
        intent: u64,
        stream: OutputStream,
        text: String,
    },
    Result {
        intent: u64,
        exit_status: Option<i32>,
        duration_ms: u64,
        outcome: CommandOutcome,
    },
    Step {
        step: String,
        state: StepState,
    },
    Note {
        text: String,
    },
    /// A writer continued an existing log. `torn_line` names the 1-based line a crash left
    /// incomplete, which stays in the file, directly above this record, outside the chain.
    Resume {
        torn_line: Option<u64>,
    },
    /// `records` counts every record of the log including this one, so a copy of the count
    /// kept elsewhere reveals a deleted tail.
    SessionEnd {
        records: u64,
        reason: String,
    },
    /// A step with `approval: two-person` waits for a follower's approval (see
    /// `app::approval`). A later decision or state change for the step ends the wait.
    ApprovalRequest {
        step: String,
        /// Whether the runbook lets the operator's own Unix user approve from a second session.
        same_user: bool,
    },
    /// The console stopped before every step was done (the operator quit, the autopilot
    /// stopped, a refusal): the session may be continued with `--resume`, which `session_end`
    /// forbids. `records` counts as in `session_end`.
    SessionStop {
        records: u64,
        reason: String,
    },
}

impl AuditEvent {
    /// Every field is destructured without `..`, so a field added later does not compile until
    /// someone decides whether it can carry a secret.
    fn scrubbed(self, secrets: &Secrets) -> AuditEvent {
        let s = |text: String| secrets.scrub(text);
        match self {
            AuditEvent::Header { format, version } => AuditEvent::Header { format, version },
            AuditEvent::SessionStart(SessionInfo {
                tool_version,
                runbook_path,
                runbook_sha256,
                inventory_path,
                operator,
                host,
                tty,
                hosts,
                inventory_sha256,
            }) => AuditEvent::SessionStart(SessionInfo {
                tool_version: s(tool_version),
                runbook_path: s(runbook_path),
                runbook_sha256: s(runbook_sha256),
                inventory_path: s(inventory_path),
                operator: s(operator),
                host: s(host),
                tty: tty.map(s),
                hosts: hosts.into_iter().map(|(k, v)| (s(k), s(v))).collect(),
                inventory_sha256: inventory_sha256.map(s),
            }),
            AuditEvent::Snapshot { state } => AuditEvent::Snapshot {
                state: secrets.scrub_json(state),
            },
            AuditEvent::Gate {
                step,
                gate,
                passed,
                detail,
            } => AuditEvent::Gate {
                step: s(step),
                gate: s(gate),
                passed,
                detail: s(detail),
            },
            AuditEvent::Verdict {
                step,
                quorum_possible,
                split_brain_possible,
                text,
            } => AuditEvent::Verdict {
                step: s(step),
                quorum_possible,
                split_brain_possible,
                text: s(text),
            },
            AuditEvent::Decision { step, decision, by } => AuditEvent::Decision {
                step: s(step),
                decision: match decision {
                    DecisionKind::Override { reason } => {
                        DecisionKind::Override { reason: s(reason) }
                    }
                    DecisionKind::Skip { reason } => DecisionKind::Skip { reason: s(reason) },
                    DecisionKind::Approve { by } => DecisionKind::Approve { by: s(by) },
                    plain @ (DecisionKind::Confirm
                    | DecisionKind::Retry
                    | DecisionKind::Rollback
                    | DecisionKind::Cancel) => plain,
                },
                by: s(by),
            },
            AuditEvent::Intent {
                intent,
                step,
                host,
                command,
            } => AuditEvent::Intent {
                intent,
                step: s(step),
                host: s(host),
                command: s(command),
            },
            AuditEvent::Output {
                intent,
                stream,
                text,
            } => AuditEvent::Output {
                intent,
                stream,
                text: s(text),
            },
            AuditEvent::Result {
                intent,
                exit_status,
                duration_ms,
                outcome,
            } => AuditEvent::Result {
                intent,
                exit_status,
                duration_ms,
                outcome: match outcome {
                    CommandOutcome::Unknown { reason } => {
                        CommandOutcome::Unknown { reason: s(reason) }
                    }
                    plain @ (CommandOutcome::Ok | CommandOutcome::Failed) => plain,
                },
            },
            AuditEvent::Step { step, state } => AuditEvent::Step {
                step: s(step),
                state,
            },
            AuditEvent::Note { text } => AuditEvent::Note { text: s(text) },
            AuditEvent::Resume { torn_line } => AuditEvent::Resume { torn_line },
            AuditEvent::SessionEnd { records, reason } => AuditEvent::SessionEnd {
                records,
                reason: s(reason),
            },
            AuditEvent::ApprovalRequest { step, same_user } => AuditEvent::ApprovalRequest {
                step: s(step),
                same_user,
            },
            AuditEvent::SessionStop { records, reason } => AuditEvent::SessionStop {
                records,
                reason: s(reason),
            },
        }
    }
}

/// Who started a session, where, and with which runbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub tool_version: String,
    pub runbook_path: String,
    pub runbook_sha256: String,
    pub inventory_path: String,
    pub operator: String,
    pub host: String,
    pub tty: Option<String>,
    /// The inventory host each runbook host was bound to (by `pick`, `--bind` or name), so a
    /// resumed session runs every step on the host this session chose, whoever leads by
    /// then. Absent from logs written before it was recorded.
    #[serde(default)]
    pub hosts: BTreeMap<String, String>,
    /// The SHA-256 of the inventory file, so `--resume` can tell another inventory from the
    /// same one moved. Absent from logs written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DecisionKind {
    Confirm,
    Override {
        reason: String,
    },
    Skip {
        reason: String,
    },
    /// `by` is the approver; the decision's own `by` is the operator whose step was approved.
    Approve {
        by: String,
    },
    Retry,
    Rollback,
    /// The operator withdrew from a prompt (confirmation, override, host name, approval):
    /// nothing was run.
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommandOutcome {
    Ok,
    Failed,
    /// The command may or may not have run: SSH failed after sending it, or the console
    /// crashed before its result was written.
    Unknown {
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Waiting,
    Done,
    Failed,
    Skipped,
    OutcomeUnknown,
}

impl StepState {
    /// How the screens and reports name the state; the ones that need a person shout.
    pub fn word(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Waiting => "waiting",
            StepState::Done => "done",
            StepState::Failed => "FAILED",
            StepState::Skipped => "skipped",
            StepState::OutcomeUnknown => "OUTCOME UNKNOWN",
        }
    }
}

/// Values the runbook marks as secret, in every form they can reach a record or a screen:
/// as given, shell-quoted as a command holds them (a `'` inside changes the text), and each of
/// their lines, since output arrives line by line. Longest first, so a secret that contains
/// another is masked whole rather than leaving its remainder in the log.
#[derive(Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// Empty values are dropped: replacing "" would mask between every character.
    pub fn new<I, S>(values: I) -> Secrets
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .flat_map(|secret| {
                let quoted = crate::text::shell::quote(&secret);
                let lines: Vec<String> = secret
                    .lines()
                    .chain(quoted.lines())
                    .map(|line| line.trim_end_matches('\r').to_string())
                    .collect();
                [secret, quoted].into_iter().chain(lines)
            })
            .filter(|v| !v.is_empty())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    pub fn scrub(&self, text: String) -> String {
        self.values.iter().fold(text, |text, secret| {
            if text.contains(secret.as_str()) {
                text.replace(secret.as_str(), REDACTED)
            } else {
                text
            }
        })
    }

    fn scrub_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(text) => Value::String(self.scrub(text)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.scrub_json(v)).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (self.scrub(k), self.scrub_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Never prints the values, so a secret cannot leak through a debug log.
impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

/// Where a chain stands: how many records it holds and the hash of the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub records: u64,
    pub hash: RecordHash,
}

/// A record ready to append: its line including the terminating `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    pub seq: u64,
    pub hash: RecordHash,
    pub line: Vec<u8>,
}

/// Builds the chain: numbers records, links each to its predecessor and scrubs secrets, so
/// nothing reaches a file that was not sealed here.
#[derive(Debug, Clone)]
pub struct AuditChain {
    head: ChainHead,
    secrets: Secrets,
}

/// Command output kept in one record: the SSH adapter cuts lines at 8 KiB already, and this
/// keeps any output, whoever appends it, well inside a line the verifier reads.
const OUTPUT_TEXT_MAX: usize = MAX_LINE_BYTES / 2;

/// An output record's text cut to `OUTPUT_TEXT_MAX`, saying how much was not recorded.
fn within_line_limit(event: AuditEvent) -> AuditEvent {
    match event {
        AuditEvent::Output {
            intent,
            stream,
            mut text,
        } if text.len() > OUTPUT_TEXT_MAX => {
            let mut cut = OUTPUT_TEXT_MAX;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let dropped = text.len() - cut;
            text.truncate(cut);
            text.push_str(&format!(" … [{dropped} more bytes not recorded]"));
            AuditEvent::Output {
                intent,
                stream,
                text,
            }
        }
        other => other,
    }
}

impl AuditChain {
    /// A new log: the chain and its header, which must be the file's first line.
    pub fn start(
        secrets: Secrets,
        now: Timestamp,
    ) -> Result<(AuditChain, SealedRecord), serde_json::Error> {
        let mut chain = AuditChain {
            head: ChainHead {
                records: 0,
                hash: RecordHash::GENESIS,
            },
            secrets,
        };
        let header = chain.seal(
            AuditEvent::Header {
                format: FORMAT_NAME.to_string(),
                version: FORMAT_VERSION,
            },
            now,
        )?;
        Ok((chain, header))
    }

    /// Continues a verified log whose last record is `head`.
    pub fn resume(head: ChainHead, secrets: Secrets) -> AuditChain {
        AuditChain { head, secrets }
    }

    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// Scrubs, numbers, links and serialises `event`, and advances the chain past it. The
    /// adapter that fails to write the result must not seal anything else on this chain.
    pub fn seal(
        &mut self,
        event: AuditEvent,
        now: Timestamp,
    ) -> Result<SealedRecord, serde_json::Error> {
        let record = AuditRecord {
            seq: self.head.records,
            ts: now,
            prev: self.head.hash,
            event: within_line_limit(event.scrubbed(&self.secrets)),
        };
        let mut line = serde_json::to_vec(&record)?;
        // A line the verifier refuses (`MAX_LINE_BYTES`) would break the log for good: such a
        // record is refused here, before the chain moves on.
        if line.len() >= MAX_LINE_BYTES {
            return Err(serde::ser::Error::custom(format!(
                "a record of {} bytes: no record may be longer than {} MiB",
                line.len(),
                MAX_LINE_BYTES >> 20
            )));
        }
        let hash = RecordHash::of_line(&line);
        line.push(b'\n');
        self.head = ChainHead {
            records: record.seq + 1,
            hash,
        };
        Ok(SealedRecord {
            seq: record.seq,
            hash,
            line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis)
    }

    fn note(text: &str) -> AuditEvent {
        AuditEvent::Note {
            text: text.to_string(),
        }
    }

    #[test]
    fn a_record_is_never_longer_than_the_verifier_reads() {
        let mut chain = AuditChain::resume(
            ChainHead {
                records: 0,
                hash: RecordHash::GENESIS,
            },
            Secrets::default(),
        );
        let huge = AuditEvent::Output {
            intent: 1,
            stream: OutputStream::Stdout,
            text: "é".repeat(3 << 20),
        };
        let sealed = chain.seal(huge, at(0)).unwrap();
        assert!(sealed.line.len() < MAX_LINE_BYTES);
        assert!(String::from_utf8_lossy(&sealed.line).contains("more bytes not recorded"));
        let head = chain.head;
        assert!(chain.seal(note(&"n".repeat(5 << 20)), at(1)).is_err());
        assert_eq!(chain.head, head, "a refused record does not move the chain");
    }

    #[test]
    fn timestamps_format_as_rfc3339_utc_with_millis() {
        assert_eq!(at(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp::from_unix(1_795_425_423, 120_999_999).to_string(),
            "2026-11-23T09:17:03.120Z"
        );
        assert_eq!(at(951_782_400_000).to_string(), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            at(253_402_300_799_999).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(at(i64::MAX).to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(at(i64::MIN).to_string(), "0000-01-01T00:00:00.000Z");
    }

    #[test]
    fn civil_dates_round_trip_across_leap_rules() {
        for days in (-800_000..800_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(
            civil_from_days(days_from_civil(1900, 3, 1) - 1),
            (1900, 2, 28)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2100, 3, 1) - 1),
            (2100, 2, 28)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2024, 3, 1) - 1),
            (2024, 2, 29)
        );
    }

    #[test]
    fn timestamps_parse_back_and_reject_other_forms() {
        for ms in [
            0,
            -1,
            1_795_425_423_120,
            951_782_400_000,
            253_402_300_799_999,
        ] {
            let text = at(ms).to_string();
            assert_eq!(Timestamp::parse_rfc3339(&text), Some(at(ms)), "{text}");
        }
        for bad in [
            "2026-11-23T09:17:03Z",
            "2026-11-23T09:17:03.120+00:00",
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-23T24:00:00.000Z",
            "2026-11-23 09:17:03.120Z",
            "+026-11-23T09:17:03.120Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn system_time_converts_without_rounding_up() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_795_425_423, 999_999_999);
        assert_eq!(
            Timestamp::from_system_time(t).to_string(),
            "2026-11-23T09:17:03.999Z"
        );
    }

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

    #[test]
    fn the_header_starts_the_chain_with_a_zero_prev() {
        let (chain, header) = AuditChain::start(Secrets::default(), at(0)).unwrap();
        assert_eq!(
            String::from_utf8(header.line.clone()).unwrap(),
            format!(
                "{{\"seq\":0,\"ts\":\"1970-01-01T00:00:00.000Z\",\"prev\":\"{}\",\
                 \"kind\":\"header\",\"format\":\"zkpilot-audit\",\"version\":1}}\n",
                "0".repeat(64)
            )
        );
        assert_eq!(chain.head().records, 1);
        assert_eq!(chain.head().hash, header.hash);
    }

    #[test]
    fn each_record_links_to_the_hash_of_the_previous_line_without_its_newline() {
        let (mut chain, header) = AuditChain::start(Secrets::default(), at(0)).unwrap();
        let first = chain.seal(note("one"), at(1)).unwrap();
        let second = chain.seal(note("two"), at(2)).unwrap();
        let parse = |line: &[u8]| serde_json::from_slice::<AuditRecord>(line).unwrap();
        assert_eq!(first.seq, 1);
        assert_eq!(second.seq, 2);
        assert_eq!(
            parse(&first.line).prev,
            RecordHash::of_line(&header.line[..header.line.len() - 1])
        );
        assert_eq!(parse(&second.line).prev, first.hash);
        assert_eq!(
            second.hash,
            RecordHash::of_line(second.line.strip_suffix(b"\n").unwrap())
        );
        assert_eq!(
            chain.head(),
            ChainHead {
                records: 3,
                hash: second.hash
            }
        );
    }

    #[test]
    fn the_same_records_always_serialise_to_the_same_bytes() {
        let build = || {
            let (mut chain, header) = AuditChain::start(Secrets::default(), at(5)).unwrap();
            let mut bytes = header.line;
            for event in sample_events() {
                bytes.extend(chain.seal(event, at(7)).unwrap().line);
            }
            bytes
        };
        let bytes = build();
        assert_eq!(bytes, build());
        let text = String::from_utf8(bytes).unwrap();
        let decision = text.lines().find(|l| l.contains("\"decision\"")).unwrap();
        assert!(
            decision.ends_with(
                "\"kind\":\"decision\",\"step\":\"s1\",\
                 \"decision\":{\"type\":\"override\",\"reason\":\"leader is fine\"},\"by\":\"alice\"}"
            ),
            "{decision}"
        );
        for line in text.lines() {
            let record: AuditRecord = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&record).unwrap(), line);
        }
    }

    #[test]
    fn secrets_are_masked_quoted_and_split_over_lines() {
        let secrets = Secrets::new(["it's-a-key", "top\nhalf-two"]);
        assert_eq!(
            secrets.scrub(r"echo 'it'\''s-a-key'".into()),
            format!("echo {REDACTED}")
        );
        assert_eq!(secrets.scrub("it's-a-key".into()), REDACTED);
        assert_eq!(secrets.scrub("got top".into()), format!("got {REDACTED}"));
        assert_eq!(secrets.scrub("half-two\r".into()), format!("{REDACTED}\r"));
        assert_eq!(secrets.scrub("'top".into()), REDACTED);
    }

    #[test]
    fn secrets_never_reach_the_serialised_bytes() {
        let secrets = Secrets::new(["hunter2", "", "hunter2-admin", "s3cr3t"]);
        let (mut chain, _) = AuditChain::start(secrets, at(0)).unwrap();
        let events = [
            AuditEvent::Intent {
                intent: 1,
                step: "s1".into(),
                host: "zk1".into(),
                command: "zkCli.sh -auth digest:admin:hunter2-admin addauth hunter2".into(),
            },
            AuditEvent::Output {
                intent: 1,
                stream: OutputStream::Stderr,
                text: "bad password hunter2\n".into(),
            },
            AuditEvent::Snapshot {
                state: serde_json::json!({"nodes": [{"auth": "s3cr3t"}], "s3cr3t": 1}),
            },
            AuditEvent::Decision {
                step: "s1".into(),
                decision: DecisionKind::Override {
                    reason: "typed s3cr3t by mistake".into(),
                },
                by: "alice".into(),
            },
        ];
        let mut bytes = Vec::new();
        for event in events {
            bytes.extend(chain.seal(event, at(1)).unwrap().line);
        }
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(
            !text.contains("admin:***-admin"),
            "longest secret first: {text}"
        );
        assert!(text.contains("digest:admin:*** addauth ***"), "{text}");
        assert!(text.contains("bad password ***\\n"), "{text}");
        assert_eq!(
            format!("{:?}", Secrets::new(["hunter2"])),
            "Secrets(1 values)"
        );
    }

    #[test]
    fn a_session_start_written_before_hosts_were_recorded_still_reads() {
        let line = r#"{"seq":1,"ts":"2026-01-01T00:00:00.000Z","prev":"00","kind":"session_start","tool_version":"0.1.0","runbook_path":"r.yaml","runbook_sha256":"ab","inventory_path":"i.yaml","operator":"alice","host":"jump1","tty":null}"#;
        let prev = "0".repeat(64);
        let record: AuditRecord =
            serde_json::from_str(&line.replace("\"00\"", &format!("\"{prev}\""))).unwrap();
        let AuditEvent::SessionStart(info) = record.event else {
            panic!("{record:?}")
        };
        assert!(info.hosts.is_empty());
    }

    fn sample_events() -> Vec<AuditEvent> {
        vec![
            AuditEvent::SessionStart(SessionInfo {
                tool_version: "0.1.0".into(),
                runbook_path: "runbooks/move.yaml".into(),
                runbook_sha256: "ab".repeat(32),
                inventory_path: "inventory.yaml".into(),
                operator: "alice".into(),
                host: "jump1".into(),
                tty: Some("/dev/pts/3".into()),
                hosts: [("leader".to_string(), "zk3".to_string())].into(),
                inventory_sha256: None,
            }),
            AuditEvent::Snapshot {
                state: serde_json::json!({"zk1": {"mode": "leader", "zxid": "0x100000002"}}),
            },
            AuditEvent::Gate {
                step: "s1".into(),
                gate: "synced".into(),
                passed: true,
                detail: "2 of 2 followers synced".into(),
            },
            AuditEvent::Verdict {
                step: "s1".into(),
                quorum_possible: true,
                split_brain_possible: false,
                text: "quorum kept by zk2, zk3".into(),
            },
            AuditEvent::Decision {
                step: "s1".into(),
                decision: DecisionKind::Override {
                    reason: "leader is fine".into(),
                },
                by: "alice".into(),
            },
            AuditEvent::Intent {
                intent: 1,
                step: "s1".into(),
                host: "zk1".into(),
                command: "systemctl restart zookeeper".into(),
            },
            AuditEvent::Output {
                intent: 1,
                stream: OutputStream::Stdout,
                text: "ok\n".into(),
            },
            AuditEvent::Result {
                intent: 1,
                exit_status: Some(0),
                duration_ms: 1234,
                outcome: CommandOutcome::Ok,
            },
            AuditEvent::Step {
                step: "s1".into(),
                state: StepState::OutcomeUnknown,
            },
            AuditEvent::Resume { torn_line: Some(4) },
            AuditEvent::SessionEnd {
                records: 12,
                reason: "operator quit".into(),
            },
        ]
    }
}
