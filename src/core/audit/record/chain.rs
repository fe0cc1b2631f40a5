//! The chain: numbers records, links each to the hash of the line before it, masks secrets and
//! serialises, so nothing reaches a file that was not sealed here.

use super::hash::RecordHash;
use super::schema::{AuditEvent, AuditRecord};
use super::secrets::Secrets;
use super::timestamp::Timestamp;
use super::{FORMAT_NAME, FORMAT_VERSION};
use crate::audit::verify::MAX_LINE_BYTES;

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
    use super::super::{CommandOutcome, DecisionKind, OutputStream, SessionInfo, StepState};
    use super::*;
    use crate::replay::fixtures::session_info;

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

    fn sample_events() -> Vec<AuditEvent> {
        vec![
            AuditEvent::SessionStart(SessionInfo {
                runbook_path: "runbooks/move.yaml".into(),
                hosts: [("leader".to_string(), "zk3".to_string())].into(),
                ..session_info()
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
