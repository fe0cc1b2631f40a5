//! Pure: whether a session's log may be continued by this run. A log is evidence of one
//! session: the same runbook (by content), the same inventory, the hosts it bound, and a
//! session not closed. Anything else is refused with each difference named, before a single
//! record is appended.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::record::{AuditEvent, DecisionKind, SessionInfo};

/// The hosts a session bound, as its log leaves them: `session_start`'s, then each re-bind
/// of a `pick:` host decided since, in order — what the resumed run binds again.
pub fn recorded_bindings<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
) -> BTreeMap<String, String> {
    let mut bindings = BTreeMap::new();
    for event in events {
        match event {
            AuditEvent::SessionStart(info) => bindings.clone_from(&info.hosts),
            AuditEvent::Decision {
                decision: DecisionKind::Rebind { host, to, .. },
                ..
            } => {
                bindings.insert(host.clone(), to.clone());
            }
            _ => {}
        }
    }
    bindings
}

/// What this run is, to compare with what the log recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThisRun<'a> {
    pub runbook_path: &'a str,
    pub runbook_sha256: &'a str,
    pub inventory_path: &'a str,
    pub inventory_sha256: &'a str,
    /// The ids of the steps of the runbook as bound now.
    pub steps: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resume the session of {log}: {}", differences.join("; "))]
pub struct ResumeRefused {
    pub log: String,
    pub differences: Vec<String>,
}

/// Checks the events of a verified log against this run.
pub fn check<'a>(
    log: &str,
    events: impl IntoIterator<Item = &'a AuditEvent>,
    run: &ThisRun,
) -> Result<(), ResumeRefused> {
    let mut session: Option<&SessionInfo> = None;
    let mut ended: Option<&str> = None;
    let mut ran: BTreeSet<&str> = BTreeSet::new();
    for event in events {
        match event {
            AuditEvent::SessionStart(info) => session = session.or(Some(info)),
            AuditEvent::SessionEnd { reason, .. } => ended = Some(reason),
            AuditEvent::Intent { step, .. } => {
                ran.insert(step);
            }
            _ => {}
        }
    }
    let mut differences = Vec::new();
    if let Some(reason) = ended {
        differences.push(format!(
            "the session was closed by its session_end ({reason}); a closed session is never \
             continued: start a new session"
        ));
    }
    let Some(info) = session else {
        differences.push("the log has no session_start: there is no session to resume".into());
        return Err(ResumeRefused {
            log: log.to_string(),
            differences,
        });
    };
    if info.runbook_sha256 != run.runbook_sha256 {
        differences.push(format!(
            "it was written for runbook {} (sha256 {}), this run's is {} (sha256 {}): resume \
             with the runbook the session started with",
            info.runbook_path,
            short(&info.runbook_sha256),
            run.runbook_path,
            short(run.runbook_sha256)
        ));
    }
    match &info.inventory_sha256 {
        Some(recorded) if recorded != run.inventory_sha256 => differences.push(format!(
            "it was written for inventory {} (sha256 {}), this run's is {} (sha256 {}): resume \
             with the inventory the session started with",
            info.inventory_path,
            short(recorded),
            run.inventory_path,
            short(run.inventory_sha256)
        )),
        // A log from before the inventory's hash was recorded: its path is all there is.
        None if info.inventory_path != run.inventory_path => differences.push(format!(
            "it was written for inventory {}, this run's is {}",
            info.inventory_path, run.inventory_path
        )),
        _ => {}
    }
    // Whatever else differs, a step the log ran must be a step of this run: otherwise its
    // outcome, known or not, would be judged against another step.
    let unknown: Vec<&str> = ran
        .into_iter()
        .filter(|step| !run.steps.iter().any(|s| s == step))
        .collect();
    if !unknown.is_empty() {
        differences.push(format!(
            "it ran step{} {} that this runbook, as bound now, does not have",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(ResumeRefused {
            log: log.to_string(),
            differences,
        })
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(runbook_sha: &str, inventory_sha: Option<&str>) -> AuditEvent {
        AuditEvent::SessionStart(SessionInfo {
            tool_version: "0.1.0".into(),
            runbook_path: "runbooks/rolling-restart.yaml".into(),
            runbook_sha256: runbook_sha.into(),
            inventory_path: "/tmp/zk/inventory.yaml".into(),
            operator: "alice".into(),
            host: "jump1".into(),
            tty: None,
            hosts: Default::default(),
            inventory_sha256: inventory_sha.map(String::from),
        })
    }

    /// `f` bound to zk1 at the start, re-bound to zk2 (and `p` to zk1 in exchange): a resume
    /// binds what the last decisions left.
    #[test]
    fn a_resumed_run_binds_the_hosts_as_the_last_re_binds_left_them() {
        let AuditEvent::SessionStart(mut info) = start("a", None) else {
            unreachable!()
        };
        info.hosts = [("f", "zk1"), ("p", "zk2")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into();
        let rebind = |host: &str, from: &str, to: &str| AuditEvent::Decision {
            step: "restart-f".into(),
            decision: DecisionKind::Rebind {
                host: host.into(),
                from: from.into(),
                to: to.into(),
            },
            by: "alice".into(),
        };
        let log = [
            AuditEvent::SessionStart(info),
            rebind("f", "zk1", "zk2"),
            rebind("p", "zk2", "zk1"),
        ];
        let bound = recorded_bindings(&log);
        assert_eq!(bound["f"], "zk2");
        assert_eq!(bound["p"], "zk1");
    }

    fn intent(step: &str) -> AuditEvent {
        AuditEvent::Intent {
            intent: 1,
            step: step.into(),
            host: "zk1".into(),
            command: "zkctl restart".into(),
        }
    }

    fn run<'a>(steps: &'a [String], runbook_sha: &'a str) -> ThisRun<'a> {
        ThisRun {
            runbook_path: "runbooks/other.yaml",
            runbook_sha256: runbook_sha,
            inventory_path: "/tmp/zk/inventory.yaml",
            inventory_sha256: "cd".repeat(32).leak(),
            steps,
        }
    }

    #[test]
    fn the_same_session_resumes() {
        let steps = vec!["restart-first".to_string()];
        let ab = "ab".repeat(32);
        let cd = "cd".repeat(32);
        let events = [start(&ab, Some(&cd)), intent("restart-first")];
        assert_eq!(check("l", &events, &run(&steps, &ab)), Ok(()));
    }

    #[test]
    fn another_runbook_inventory_or_a_closed_session_is_refused_naming_each_difference() {
        let steps = vec!["restart-first".to_string()];
        let ab = "ab".repeat(32);
        let ef = "ef".repeat(32);
        let events = [
            start(&ab, Some(&"99".repeat(32))),
            intent("restart-zk9"),
            AuditEvent::SessionEnd {
                records: 4,
                reason: "every step done".into(),
            },
        ];
        let refused = check("l.jsonl", &events, &run(&steps, &ef)).unwrap_err();
        let text = refused.to_string();
        assert_eq!(refused.differences.len(), 4, "{text}");
        assert!(
            text.starts_with("cannot resume the session of l.jsonl: "),
            "{text}"
        );
        assert!(
            text.contains("closed by its session_end (every step done)"),
            "{text}"
        );
        assert!(
            text.contains("runbook runbooks/rolling-restart.yaml (sha256 abababababab), this run's is runbooks/other.yaml (sha256 efefefefefef)"),
            "{text}"
        );
        assert!(
            text.contains("inventory /tmp/zk/inventory.yaml (sha256 999999999999)"),
            "{text}"
        );
        assert!(
            text.contains("step `restart-zk9` that this runbook"),
            "{text}"
        );
    }

    #[test]
    fn an_old_log_without_the_inventory_hash_compares_paths() {
        let steps: Vec<String> = Vec::new();
        let ab = "ab".repeat(32);
        let events = [start(&ab, None)];
        assert_eq!(check("l", &events, &run(&steps, &ab)), Ok(()));
        let mut other = run(&steps, &ab);
        other.inventory_path = "/elsewhere.yaml";
        assert!(check("l", &events, &other).is_err());
    }
}
