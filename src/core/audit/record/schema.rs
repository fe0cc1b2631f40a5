//! What one line of the log holds: the record and every kind of event, in the order and with
//! the names they are serialised with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hash::RecordHash;
use super::timestamp::Timestamp;

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
    /// Runbook host `host`, bound by `pick:` to `from`, which no longer fitted its pick, was
    /// bound to `to` instead (or took `from` in exchange for `to`); `--resume` binds the same.
    Rebind {
        host: String,
        from: String,
        to: String,
    },
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

/// How a command ended, as its `result` record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    pub exit_status: Option<i32>,
    pub duration_ms: u64,
    pub outcome: CommandOutcome,
}

impl CommandResult {
    /// What a `result` record says of its command; `None` for any other record.
    pub fn of(event: &AuditEvent) -> Option<CommandResult> {
        match event {
            AuditEvent::Result {
                exit_status,
                duration_ms,
                outcome,
                ..
            } => Some(CommandResult {
                exit_status: *exit_status,
                duration_ms: *duration_ms,
                outcome: outcome.clone(),
            }),
            _ => None,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
