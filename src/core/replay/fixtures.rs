//! A recorded session shared by the replay model's tests and the views' tests.

use crate::audit::record::{
    AuditChain, AuditEvent, CommandOutcome, DecisionKind, OutputStream, Secrets, SessionInfo,
    StepState, Timestamp,
};
use crate::audit::AuditLog;

pub fn at(second: i64) -> Timestamp {
    Timestamp::from_unix(1_795_425_400 + second, 0)
}

/// Alice's rolling restart from a jump host, as its `session_start` record names it.
pub fn session_info() -> SessionInfo {
    SessionInfo {
        tool_version: "0.1.0".into(),
        runbook_path: "runbooks/rolling-restart.yaml".into(),
        runbook_sha256: "ab".repeat(32),
        inventory_path: "inventory.yaml".into(),
        operator: "alice".into(),
        host: "jump1".into(),
        tty: Some("/dev/pts/3".into()),
        hosts: Default::default(),
        inventory_sha256: None,
    }
}

/// A rolling restart of two steps as the engine records it, the second failing, sealed
/// into a real chain and read back through the verifier.
pub fn recorded_session() -> AuditLog {
    let log = AuditLog::from_bytes(&recorded_session_bytes());
    assert!(log.verification.is_ok(), "{:?}", log.verification);
    log
}

/// `recorded_session` as the lines of its log file.
pub fn recorded_session_bytes() -> Vec<u8> {
    let (mut chain, header) = AuditChain::start(Secrets::default(), at(0)).unwrap();
    let mut bytes = header.line;
    // The shape `EnsembleState::snapshot` writes.
    let snapshot = |leader: &str| {
        let node = |name: &str, sid: u64, zxid: &str| {
            let mode = if name == leader { "leader" } else { "follower" };
            serde_json::json!({
                "name": name, "sid": sid, "client": format!("127.77.1.{sid}:2181"),
                "health": {"state": "serving", "detail": mode},
                "zxid": zxid, "view": "server.1=…;server.2=…;server.3=…",
            })
        };
        AuditEvent::Snapshot {
            state: serde_json::json!({"nodes": [
                node("zk1", 1, "0x100000002"),
                node("zk2", 2, "0x200000000"),
                {"name": "zk3", "sid": 3, "client": "127.77.1.3:2181",
                 "health": {"state": "down", "detail": {"kind": "refused"}},
                 "zxid": null, "view": null},
            ]}),
        }
    };
    let events: Vec<(i64, AuditEvent)> = vec![
        (0, AuditEvent::SessionStart(session_info())),
        (1, snapshot("zk1")),
        (
            2,
            AuditEvent::Gate {
                step: "restart-first".into(),
                gate: "synced".into(),
                passed: true,
                detail: String::new(),
            },
        ),
        (
            2,
            AuditEvent::Verdict {
                step: "restart-first".into(),
                quorum_possible: true,
                split_brain_possible: false,
                text: "after it: one quorum can form, two cannot".into(),
            },
        ),
        (
            3,
            AuditEvent::Decision {
                step: "restart-first".into(),
                decision: DecisionKind::Confirm,
                by: "alice".into(),
            },
        ),
        (
            3,
            AuditEvent::Step {
                step: "restart-first".into(),
                state: StepState::Running,
            },
        ),
        (
            3,
            AuditEvent::Intent {
                intent: 1,
                step: "restart-first".into(),
                host: "zk2".into(),
                command: "zkctl restart".into(),
            },
        ),
        (
            4,
            AuditEvent::Output {
                intent: 1,
                stream: OutputStream::Stdout,
                text: "restarted\x1b[2J".into(),
            },
        ),
        (
            5,
            AuditEvent::Result {
                intent: 1,
                exit_status: Some(0),
                duration_ms: 1200,
                outcome: CommandOutcome::Ok,
            },
        ),
        (
            5,
            AuditEvent::Step {
                step: "restart-first".into(),
                state: StepState::Waiting,
            },
        ),
        (
            9,
            AuditEvent::Step {
                step: "restart-first".into(),
                state: StepState::Done,
            },
        ),
        (10, snapshot("zk2")),
        (
            70,
            AuditEvent::Verdict {
                step: "restart-second".into(),
                quorum_possible: false,
                split_brain_possible: false,
                text: "after it: NO QUORUM can form".into(),
            },
        ),
        (
            71,
            AuditEvent::Decision {
                step: "restart-second".into(),
                decision: DecisionKind::Override {
                    reason: "drill".into(),
                },
                by: "alice".into(),
            },
        ),
        (
            71,
            AuditEvent::Step {
                step: "restart-second".into(),
                state: StepState::Running,
            },
        ),
        (
            71,
            AuditEvent::Intent {
                intent: 2,
                step: "restart-second".into(),
                host: "zk1".into(),
                command: "zkctl restart".into(),
            },
        ),
        (
            72,
            AuditEvent::Result {
                intent: 2,
                exit_status: Some(3),
                duration_ms: 800,
                outcome: CommandOutcome::Failed,
            },
        ),
        (
            72,
            AuditEvent::Step {
                step: "restart-second".into(),
                state: StepState::Failed,
            },
        ),
    ];
    for (second, event) in events {
        bytes.extend(chain.seal(event, at(second)).unwrap().line);
    }
    let records = chain.head().records + 1;
    let end = AuditEvent::SessionEnd {
        records,
        reason: "the operator quit".into(),
    };
    bytes.extend(chain.seal(end, at(73)).unwrap().line);
    bytes
}

/// The recorded session with its first snapshot as the run console now records it
/// (`EnsembleState::snapshot_with`): the live ensemble of three with zk3 down and its verdict's
/// findings. With the log: the snapshot's record index, and the findings as the live summary
/// words them.
pub fn recorded_with_findings() -> (AuditLog, usize, Vec<crate::quorum::findings::Finding>) {
    let mut log = recorded_session();
    let live = crate::runbook::fixtures::live(&[2]);
    let verdict = crate::ensemble::live::verdict(&live).expect("a verdict on three polled");
    let name = |i: usize| live.nodes[i].target.name.clone();
    let findings = crate::quorum::findings::findings(&verdict, &name);
    let first = log
        .records
        .iter()
        .position(|r| matches!(r.event, AuditEvent::Snapshot { .. }))
        .expect("the session records a snapshot");
    log.records[first].event = AuditEvent::Snapshot {
        state: live.snapshot_with(Some(&verdict)),
    };
    (log, first, findings)
}
