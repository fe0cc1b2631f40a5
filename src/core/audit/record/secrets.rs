//! Secrets are masked before a record is serialised, so no value the runbook marks secret
//! reaches a file or a screen through a record.

use std::fmt;

use super::schema::{AuditEvent, CommandOutcome, DecisionKind, SessionInfo};

/// What a secret is replaced with before a record is serialised.
pub const REDACTED: &str = "***";

impl AuditEvent {
    /// Every field is destructured without `..`, so a field added later does not compile until
    /// someone decides whether it can carry a secret.
    pub(super) fn scrubbed(self, secrets: &Secrets) -> AuditEvent {
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
                    DecisionKind::Rebind { host, from, to } => DecisionKind::Rebind {
                        host: s(host),
                        from: s(from),
                        to: s(to),
                    },
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

#[cfg(test)]
mod tests {
    use super::super::{AuditChain, OutputStream, Timestamp};
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis)
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
}
