//! `zkpilot replay --print`: the session as plain text — how far the log verifies, a timeline
//! with times, then each step with its decisions, verdict and commands. Recorded text is
//! escaped: a remote command's output could otherwise rewrite the reader's terminal.

use std::fmt::Write;

use crate::audit::record::{
    AuditEvent, AuditRecord, CommandOutcome, CommandResult, DecisionKind, StepState,
};
use crate::text::escape::sanitize;

use super::model::{findings_of, nodes_of, FindingShown, ReplayState};

// `print` is plain text, so it keeps its own words for step states rather than borrowing the
// screen's: the two are checked against each other in the view tests.
use super::player::Verification;

pub fn render_text(records: &[AuditRecord], verification: &Verification) -> String {
    let state = ReplayState::from_records(records);
    let mut out = String::new();
    let _ = writeln!(out, "{}", verification_line(verification));
    if let Some(session) = &state.session {
        let _ = writeln!(
            out,
            "session: {} by {} on {}, started {}",
            sanitize(&session.runbook_path),
            sanitize(&session.operator),
            sanitize(&session.host),
            state.started.map(|t| t.to_string()).unwrap_or_default()
        );
    }
    out.push_str("\ntimeline\n");
    // Each snapshot line names only the nodes whose role changed since the last one (every
    // node the first time): snapshots are recorded on any change of roles, epochs or views,
    // so printing every node each time repeated mostly what the line above said.
    // The live verdict's findings likewise, whenever they change (snapshots written before
    // snapshots carried them print none).
    let mut shown: Vec<(String, &'static str)> = Vec::new();
    let mut shown_findings: Vec<FindingShown> = Vec::new();
    for record in records {
        let texts = match &record.event {
            AuditEvent::Snapshot { state } => vec![
                nodes_changed(state, &mut shown),
                findings_changed(state, &mut shown_findings),
            ],
            _ => vec![timeline_text(record)],
        };
        for text in texts.into_iter().flatten() {
            let _ = writeln!(
                out,
                "  {} #{:<5} {}",
                record.ts.time_of_day(),
                record.seq,
                sanitize(&text)
            );
        }
    }
    out.push_str("\nsteps\n");
    for step in &state.steps {
        let _ = writeln!(
            out,
            "  {}: {}",
            sanitize(&step.id),
            step.state.map_or("not started", StepState::word)
        );
        for gate in &step.gates {
            let _ = writeln!(
                out,
                "    gate {} {}{}",
                sanitize(&gate.gate),
                if gate.passed { "passed" } else { "NOT met" },
                if gate.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", sanitize(&gate.detail))
                }
            );
        }
        if let Some(verdict) = &step.verdict {
            let _ = writeln!(out, "    verdict: {}", sanitize(&verdict.text));
        }
        for decision in &step.decisions {
            let _ = writeln!(
                out,
                "    decision: {} by {}",
                sanitize(&decision_text(&decision.decision)),
                sanitize(&decision.by)
            );
        }
        for command in &step.commands {
            let _ = writeln!(
                out,
                "    {} $ {} -> {}",
                sanitize(&command.host),
                sanitize(&command.command),
                sanitize(&result_text(command.result.as_ref()))
            );
        }
    }
    match &state.ended {
        Some((at, reason)) => {
            let _ = writeln!(out, "\nsession ended {at}: {}", sanitize(reason));
        }
        None => out.push_str(
            "\nno session end: the session is running or stopped without closing its log\n",
        ),
    }
    out
}

pub fn verification_line(verification: &Verification) -> String {
    match verification {
        Verification::Intact(v) => {
            let mut line = format!("log verified: {} records, head {}", v.records, v.head);
            if let Some(torn) = v.torn_tail {
                let _ = write!(
                    line,
                    "; final line {torn} is torn by a crash (every record before it is intact)"
                );
            }
            line
        }
        // The problem quotes the bad line's text (serde names a bad value as it stands).
        Verification::Broken(problem) => format!(
            "LOG DOES NOT VERIFY: {}; only the records before it are shown",
            sanitize(&problem.to_string())
        ),
        Verification::Growing(head) => format!(
            "verified so far: {} records, head {}",
            head.records, head.hash
        ),
    }
}

pub fn decision_text(decision: &DecisionKind) -> String {
    match decision {
        DecisionKind::Confirm => "confirm".into(),
        DecisionKind::Override { reason } => format!("override ({reason})"),
        DecisionKind::Skip { reason } => format!("skip ({reason})"),
        DecisionKind::Approve { by } => format!("approved by {by}"),
        DecisionKind::Retry => "retry".into(),
        DecisionKind::Rollback => "roll back".into(),
        DecisionKind::Cancel => "cancel (nothing run)".into(),
        DecisionKind::Rebind { host, from, to } => format!("re-bind `{host}` from {from} to {to}"),
    }
}

pub fn result_text(result: Option<&CommandResult>) -> String {
    let Some(result) = result else {
        return "NO RESULT RECORDED (outcome unknown)".into();
    };
    let exit = result
        .exit_status
        .map_or_else(|| "no exit status".to_string(), |c| format!("exit {c}"));
    let duration = format!(", {:.1}s", result.duration_ms as f64 / 1000.0);
    match &result.outcome {
        CommandOutcome::Ok => format!("ok ({exit}{duration})"),
        CommandOutcome::Failed => format!("FAILED ({exit}{duration})"),
        CommandOutcome::Unknown { reason } => format!("OUTCOME UNKNOWN: {reason}{duration}"),
    }
}

/// A snapshot's findings when they differ from `shown` (which they replace), as a `findings:`
/// line marked as `analyze` marks them.
fn findings_changed(state: &serde_json::Value, shown: &mut Vec<FindingShown>) -> Option<String> {
    let findings = findings_of(state);
    if findings.is_empty() || findings == *shown {
        return None;
    }
    let words: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}", f.severity.mark().trim_end(), f.text))
        .collect();
    *shown = findings;
    Some(format!("findings: {}", words.join("; ")))
}

/// The nodes of a snapshot whose role differs from `shown` (which it updates), as a `nodes:`
/// line; `None` when none does.
fn nodes_changed(
    state: &serde_json::Value,
    shown: &mut Vec<(String, &'static str)>,
) -> Option<String> {
    let mut changed = Vec::new();
    for node in nodes_of(state) {
        let label = node.health.label();
        match shown.iter_mut().find(|(name, _)| *name == node.name) {
            Some((_, old)) if *old == label => {}
            Some((_, old)) => {
                *old = label;
                changed.push(format!("{} {label}", node.name));
            }
            None => {
                shown.push((node.name.clone(), label));
                changed.push(format!("{} {label}", node.name));
            }
        }
    }
    (!changed.is_empty()).then(|| format!("nodes: {}", changed.join(", ")))
}

fn timeline_text(record: &AuditRecord) -> Option<String> {
    Some(match &record.event {
        AuditEvent::Header { .. } | AuditEvent::Output { .. } => return None,
        AuditEvent::SessionStart(info) => format!("session start: {}", info.runbook_path),
        // Printed by `nodes_changed`, which needs the snapshots before it.
        AuditEvent::Snapshot { .. } => return None,
        AuditEvent::Gate {
            step,
            gate,
            passed,
            detail,
        } => format!(
            "{step}: gate {gate} {}{}",
            if *passed { "passed" } else { "NOT met" },
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        ),
        AuditEvent::Verdict { step, text, .. } => format!("{step}: verdict: {text}"),
        AuditEvent::Decision { step, decision, by } => {
            format!("{step}: {} by {by}", decision_text(decision))
        }
        AuditEvent::Intent {
            step,
            host,
            command,
            ..
        } => format!("{step}: {host} $ {command}"),
        AuditEvent::Result { intent, .. } => format!(
            "  command {intent}: {}",
            result_text(CommandResult::of(&record.event).as_ref())
        ),
        AuditEvent::Step { step, state } => format!("{step}: {}", state.word()),
        AuditEvent::Note { text } => format!("note: {text}"),
        AuditEvent::Resume { torn_line } => match torn_line {
            Some(line) => format!("session resumed after a crash (line {line} was torn)"),
            None => "session resumed".into(),
        },
        AuditEvent::SessionEnd { records, reason } => {
            format!("session end ({records} records): {reason}")
        }
        AuditEvent::SessionStop { records, reason } => {
            format!("session stopped, resumable ({records} records): {reason}")
        }
        AuditEvent::ApprovalRequest { step, same_user } => format!(
            "{step}: waits for a second operator's approval{}",
            if *same_user {
                " (the operator's own user may give it)"
            } else {
                ""
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::fixtures::recorded_session;

    /// Each recorded state carries the live verdict's findings (`EnsembleState::snapshot_with`,
    /// what the run console records), and `replay` shows them as the summary line did: the
    /// model holds them, and the print names them whenever they change.
    #[test]
    fn each_recorded_state_shows_the_findings_the_live_summary_showed() {
        let (log, first, expected) = crate::replay::fixtures::recorded_with_findings();
        let at_first = ReplayState::from_records(&log.records[..=first]);
        let shown: Vec<(crate::quorum::findings::Severity, &str)> = at_first
            .findings
            .iter()
            .map(|f| (f.severity, f.text.as_str()))
            .collect();
        let live_words: Vec<(crate::quorum::findings::Severity, &str)> = expected
            .iter()
            .map(|f| (f.severity, f.text.as_str()))
            .collect();
        assert_eq!(shown, live_words);
        let verified = Verification::Intact(log.verification.clone().unwrap());
        let text = render_text(&log.records, &verified);
        let words: Vec<String> = expected
            .iter()
            .map(|f| format!("{} {}", f.severity.mark().trim_end(), f.text))
            .collect();
        assert!(
            text.contains(&format!("findings: {}", words.join("; "))),
            "{text}"
        );
        // The later snapshot, written before snapshots carried findings, prints none again.
        assert_eq!(text.matches("findings:").count(), 1, "{text}");
    }

    #[test]
    fn the_printed_session_has_times_steps_decisions_commands_and_verdicts() {
        let log = recorded_session();
        let verified = Verification::Intact(log.verification.clone().unwrap());
        let text = render_text(&log.records, &verified);
        assert!(
            text.starts_with("log verified: 20 records, head "),
            "{text}"
        );
        for expected in [
            "session: runbooks/rolling-restart.yaml by alice on jump1",
            "restart-first: confirm by alice",
            "restart-second: verdict: after it: NO QUORUM can form",
            "restart-second: override (drill) by alice",
            "command 2: FAILED (exit 3, 0.8s)",
            // The first snapshot names every node, the next only those that changed.
            "#2     nodes: zk1 LEADER, zk2 follower, zk3 DOWN (refused)",
            "#12    nodes: zk1 follower, zk2 LEADER\n",
            "  restart-first: done",
            "    zk2 $ zkctl restart -> ok (exit 0, 1.2s)",
            "  restart-second: FAILED",
            "session ended 2026-11-23T09:17:53.000Z: the operator quit",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(text.contains("09:16:43.000 #5 "), "times and seqs: {text}");
        assert!(!text.contains('\x1b'));
        assert_eq!(text.matches("nodes:").count(), 2, "{text}");
    }

    #[test]
    fn a_broken_chain_is_said_first() {
        let log = recorded_session();
        let problem = crate::audit::ChainProblem {
            line: 7,
            seq: Some(6),
            kind: crate::audit::ProblemKind::SeqRepeat { expected: 6 },
        };
        let text = render_text(&log.records[..6], &Verification::Broken(problem));
        assert!(
            text.starts_with("LOG DOES NOT VERIFY: line 7 (seq 6)"),
            "{text}"
        );
        assert!(text.contains("no session end"));
    }

    /// A line that is no record is quoted in the problem: its escape sequences reach the
    /// printed replay escaped. They were printed raw.
    #[test]
    fn a_broken_line_s_text_is_shown_escaped() {
        let problem = crate::audit::ChainProblem {
            line: 3,
            seq: None,
            kind: crate::audit::ProblemKind::NotARecord("unknown variant `note\u{1b}[31mX`".into()),
        };
        let line = verification_line(&Verification::Broken(problem));
        assert!(
            !line.contains('\x1b') && line.contains("note^[[31mX"),
            "{line:?}"
        );
    }
}
