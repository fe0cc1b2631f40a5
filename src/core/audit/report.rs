//! Pure: the Markdown post-mortem of a session, from its records.
//!
//! Everything recorded is treated as untrusted text: remote output can carry terminal escape
//! sequences and bidi overrides that would disguise what a reader sees, and any field can carry
//! Markdown that would restructure the report. Control characters are shown escaped (`\x1b`),
//! free text is backslash-escaped, code goes into spans and fences longer than any backtick run
//! it contains.

use std::collections::HashMap;
use std::fmt::Write;

use crate::text::escape::escape_in_document;

use super::record::{
    AuditEvent, AuditRecord, CommandOutcome, CommandResult, DecisionKind, OutputStream,
    SessionInfo, StepState, Timestamp,
};
use super::verify::AuditLog;

/// Output kept per command and stream. The end of an output is where errors are, so the
/// report keeps the last bytes and says how many were left out; the log holds all of it.
pub const OUTPUT_SHOWN_BYTES: usize = 4000;

/// The report of `log`; `source` names the log file in the report.
pub fn render_markdown(log: &AuditLog, source: &str) -> String {
    let session = Session::from_records(&log.records);
    let mut out = String::new();
    render_header(&mut out, log, &session, source);
    render_timeline(&mut out, &log.records, &session);
    render_steps(&mut out, &session);
    render_summary(&mut out, &session);
    out
}

struct CommandReport {
    intent: u64,
    step: String,
    host: String,
    command: String,
    started: Timestamp,
    stdout: String,
    stderr: String,
    result: Option<CommandResult>,
}

struct StepReport {
    id: String,
    /// Timestamped Markdown lines, in log order.
    events: Vec<(Timestamp, String)>,
    commands: Vec<usize>,
    state: Option<StepState>,
}

#[derive(Default)]
struct Session<'a> {
    info: Option<&'a SessionInfo>,
    started: Option<Timestamp>,
    last: Option<Timestamp>,
    ended: Option<(Timestamp, &'a str)>,
    steps: Vec<StepReport>,
    commands: Vec<CommandReport>,
    overrides: usize,
    skips: usize,
}

impl<'a> Session<'a> {
    fn from_records(records: &'a [AuditRecord]) -> Session<'a> {
        let mut session = Session {
            started: records.first().map(|r| r.ts),
            last: records.last().map(|r| r.ts),
            ..Session::default()
        };
        let mut step_index: HashMap<String, usize> = HashMap::new();
        let mut command_index: HashMap<u64, usize> = HashMap::new();
        for record in records {
            let ts = record.ts;
            if !matches!(
                record.event,
                AuditEvent::SessionEnd { .. } | AuditEvent::SessionStop { .. }
            ) {
                session.ended = None;
            }
            match &record.event {
                AuditEvent::SessionStart(info) => {
                    session.info.get_or_insert(info);
                }
                AuditEvent::SessionEnd { reason, .. } | AuditEvent::SessionStop { reason, .. } => {
                    session.ended = Some((ts, reason))
                }
                AuditEvent::Gate { step, .. }
                | AuditEvent::Verdict { step, .. }
                | AuditEvent::Decision { step, .. }
                | AuditEvent::ApprovalRequest { step, .. } => {
                    match &record.event {
                        AuditEvent::Decision {
                            decision: DecisionKind::Override { .. },
                            ..
                        } => session.overrides += 1,
                        AuditEvent::Decision {
                            decision: DecisionKind::Skip { .. },
                            ..
                        } => session.skips += 1,
                        _ => {}
                    }
                    let text = event_text(&record.event);
                    session.step(&mut step_index, step).events.push((ts, text));
                }
                AuditEvent::Intent {
                    intent,
                    step,
                    host,
                    command,
                } => {
                    command_index.insert(*intent, session.commands.len());
                    session.commands.push(CommandReport {
                        intent: *intent,
                        step: step.clone(),
                        host: host.clone(),
                        command: command.clone(),
                        started: ts,
                        stdout: String::new(),
                        stderr: String::new(),
                        result: None,
                    });
                    let index = session.commands.len() - 1;
                    session.step(&mut step_index, step).commands.push(index);
                }
                AuditEvent::Output {
                    intent,
                    stream,
                    text,
                } => {
                    if let Some(&i) = command_index.get(intent) {
                        let command = &mut session.commands[i];
                        match stream {
                            OutputStream::Stdout => command.stdout.push_str(text),
                            OutputStream::Stderr => command.stderr.push_str(text),
                        }
                    }
                }
                AuditEvent::Result { intent, .. } => {
                    if let Some(&i) = command_index.get(intent) {
                        session.commands[i].result = CommandResult::of(&record.event);
                    }
                }
                AuditEvent::Step { step, state } => {
                    let report = session.step(&mut step_index, step);
                    report.state = Some(*state);
                    report
                        .events
                        .push((ts, format!("state: {}", state_name(*state))));
                }
                AuditEvent::Header { .. }
                | AuditEvent::Snapshot { .. }
                | AuditEvent::Note { .. }
                | AuditEvent::Resume { .. } => {}
            }
        }
        session
    }

    fn step(&mut self, index: &mut HashMap<String, usize>, id: &str) -> &mut StepReport {
        let i = *index.entry(id.to_string()).or_insert_with(|| {
            self.steps.push(StepReport {
                id: id.to_string(),
                events: Vec::new(),
                commands: Vec::new(),
                state: None,
            });
            self.steps.len() - 1
        });
        &mut self.steps[i]
    }

    fn unknown_outcomes(&self) -> Vec<&CommandReport> {
        self.commands
            .iter()
            .filter(|c| {
                matches!(
                    c.result,
                    None | Some(CommandResult {
                        outcome: CommandOutcome::Unknown { .. },
                        ..
                    })
                )
            })
            .collect()
    }
}

fn render_header(out: &mut String, log: &AuditLog, session: &Session, source: &str) {
    out.push_str("# zkpilot session report\n\n");
    match session.info {
        Some(info) => {
            let _ = writeln!(
                out,
                "- **Runbook:** {} (SHA-256 {})",
                code(&info.runbook_path),
                code(&info.runbook_sha256)
            );
            let _ = writeln!(out, "- **Inventory:** {}", code(&info.inventory_path));
            let tty = info
                .tty
                .as_deref()
                .map(|t| format!(", terminal {}", inline(t)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- **Operator:** {} on {}{tty}",
                inline(&info.operator),
                inline(&info.host)
            );
            let _ = writeln!(out, "- **zkpilot:** {}", inline(&info.tool_version));
        }
        None => out.push_str("- **Session:** no `session_start` record\n"),
    }
    if let Some(started) = session.started {
        let _ = writeln!(out, "- **Started:** {started}");
    }
    match (session.ended, session.last) {
        (Some((ended, reason)), _) => {
            let _ = writeln!(out, "- **Ended:** {ended} ({})", inline(reason));
        }
        (None, Some(last)) => {
            let _ = writeln!(
                out,
                "- **Ended:** **not closed**: the last record is from {last}; the session is \
                 still running or stopped without ending its log (a crash?)"
            );
        }
        (None, None) => {}
    }
    let end = session.ended.map(|(t, _)| t).or(session.last);
    if let (Some(started), Some(end)) = (session.started, end) {
        let millis = u64::try_from(end.unix_millis() - started.unix_millis()).unwrap_or(0);
        let _ = writeln!(out, "- **Duration:** {}", human_duration(millis));
    }
    match &log.verification {
        Ok(verified) => {
            let _ = write!(
                out,
                "- **Audit log:** {}: chain verified, {} records, head {}",
                code(source),
                verified.records,
                code(&verified.head.to_string())
            );
            for line in &verified.resumed_tears {
                let _ = write!(
                    out,
                    "; line {line} torn by a crash, session resumed after it"
                );
            }
            if let Some(line) = verified.torn_tail {
                let _ = write!(out, "; final line {line} torn by a crash");
            }
            out.push('\n');
        }
        Err(problem) => {
            let _ = writeln!(
                out,
                "- **Audit log:** {}: **VERIFICATION FAILED** at {}. This report covers only \
                 the {} records before that line; nothing after it can be trusted.",
                code(source),
                inline(&problem.to_string()),
                log.records.len()
            );
        }
    }
    out.push('\n');
}

fn render_timeline(out: &mut String, records: &[AuditRecord], session: &Session) {
    out.push_str("## Timeline\n\n| Time (UTC) | Step | Event |\n|---|---|---|\n");
    let command_steps: HashMap<u64, &str> = session
        .commands
        .iter()
        .map(|c| (c.intent, c.step.as_str()))
        .collect();
    for record in records {
        let step = match &record.event {
            AuditEvent::Gate { step, .. }
            | AuditEvent::Verdict { step, .. }
            | AuditEvent::Decision { step, .. }
            | AuditEvent::Intent { step, .. }
            | AuditEvent::Step { step, .. } => step.as_str(),
            AuditEvent::Result { intent, .. } => command_steps.get(intent).copied().unwrap_or(""),
            AuditEvent::Output { .. } => continue,
            _ => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            record.ts.time_of_day(),
            table_cell(&inline(step)),
            table_cell(&event_text(&record.event))
        );
    }
    out.push('\n');
}

fn render_steps(out: &mut String, session: &Session) {
    if session.steps.is_empty() {
        return;
    }
    out.push_str("## Steps\n\n");
    for step in &session.steps {
        let state = step.state.map_or("no state recorded", state_name);
        let _ = writeln!(out, "### Step {}: {state}\n", code(&step.id));
        for (ts, text) in &step.events {
            let _ = writeln!(out, "- {} {text}", ts.time_of_day());
        }
        if !step.events.is_empty() {
            out.push('\n');
        }
        for &i in &step.commands {
            render_command(out, &session.commands[i]);
        }
    }
}

fn render_command(out: &mut String, command: &CommandReport) {
    let _ = writeln!(
        out,
        "#### Command {} on {}\n\n- Command: {}\n- Started: {}",
        command.intent,
        inline(&command.host),
        code(&command.command),
        command.started.time_of_day()
    );
    match &command.result {
        Some(result) => {
            let status = result
                .exit_status
                .map_or_else(|| "none".to_string(), |s| s.to_string());
            let _ = writeln!(
                out,
                "- Exit status: {status}, duration {}, outcome: {}",
                human_duration(result.duration_ms),
                outcome_text(&result.outcome)
            );
        }
        None => out.push_str(
            "- Outcome: **UNKNOWN**: the intent was logged but no result: the command may or may \
             not have run; check the host before anything else runs\n",
        ),
    }
    for (name, text) in [("stdout", &command.stdout), ("stderr", &command.stderr)] {
        if !text.is_empty() {
            out.push('\n');
            render_output(out, name, text);
        }
    }
    out.push('\n');
}

fn render_output(out: &mut String, name: &str, text: &str) {
    let (shown, left_out) = last_bytes(text, OUTPUT_SHOWN_BYTES);
    if left_out > 0 {
        let _ = writeln!(
            out,
            "{name} (the first {left_out} bytes are not shown; the audit log has all of it):\n"
        );
    } else {
        let _ = writeln!(out, "{name}:\n");
    }
    let body = escape_in_document(shown, true);
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    let _ = write!(out, "{fence}text\n{body}");
    if !body.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}");
}

fn render_summary(out: &mut String, session: &Session) {
    let count = |state| {
        session
            .steps
            .iter()
            .filter(|s| s.state == Some(state))
            .count()
    };
    let (done, failed, skipped) = (
        count(StepState::Done),
        count(StepState::Failed),
        count(StepState::Skipped),
    );
    let others = session.steps.len() - done - failed - skipped;
    let unknown = session.unknown_outcomes();
    out.push_str("## Summary\n\n");
    let _ = writeln!(
        out,
        "- Steps: {done} done, {failed} failed, {skipped} skipped, {others} other (of {})",
        session.steps.len()
    );
    let _ = writeln!(
        out,
        "- Overrides: {}; skips: {}",
        session.overrides, session.skips
    );
    let ok = session
        .commands
        .iter()
        .filter(|c| matches!(&c.result, Some(r) if r.outcome == CommandOutcome::Ok))
        .count();
    let _ = writeln!(
        out,
        "- Commands: {} run, {ok} ok, {} failed, {} outcome unknown",
        session.commands.len(),
        session.commands.len() - ok - unknown.len(),
        unknown.len()
    );
    for command in unknown {
        let why = match &command.result {
            Some(CommandResult {
                outcome: CommandOutcome::Unknown { reason },
                ..
            }) => inline(reason),
            _ => "no result recorded".to_string(),
        };
        let _ = writeln!(
            out,
            "  - **outcome unknown**: command {} on {} (step {}): {why}",
            command.intent,
            inline(&command.host),
            code(&command.step)
        );
    }
}

/// One line of Markdown for the timeline.
fn event_text(event: &AuditEvent) -> String {
    match event {
        AuditEvent::Header { version, .. } => format!("log created (format version {version})"),
        AuditEvent::SessionStart(info) => format!(
            "session started by {} on {}",
            inline(&info.operator),
            inline(&info.host)
        ),
        AuditEvent::Snapshot { .. } => "ensemble state recorded".to_string(),
        AuditEvent::Gate {
            gate,
            passed,
            detail,
            ..
        } => {
            let verdict = if *passed { "passed" } else { "**FAILED**" };
            format!("gate {} {verdict}: {}", code(gate), inline(detail))
        }
        AuditEvent::Verdict {
            quorum_possible,
            split_brain_possible,
            text,
            ..
        } => format!(
            "verdict: {}, {}: {}",
            if *quorum_possible {
                "quorum possible"
            } else {
                "**NO QUORUM**"
            },
            if *split_brain_possible {
                "**SPLIT BRAIN POSSIBLE**"
            } else {
                "no split brain"
            },
            inline(text)
        ),
        AuditEvent::Decision { decision, by, .. } => {
            let by = inline(by);
            match decision {
                DecisionKind::Confirm => format!("confirmed by {by}"),
                DecisionKind::Override { reason } => {
                    format!("**OVERRIDE** by {by}: {}", inline(reason))
                }
                DecisionKind::Skip { reason } => format!("**SKIPPED** by {by}: {}", inline(reason)),
                DecisionKind::Approve { by: approver } => {
                    format!("approved by {} for {by}", inline(approver))
                }
                DecisionKind::Retry => format!("retry chosen by {by}"),
                DecisionKind::Rollback => format!("**ROLLBACK** chosen by {by}"),
                DecisionKind::Cancel => format!("cancelled by {by}: nothing run"),
                DecisionKind::Rebind { host, from, to } => format!(
                    "**RE-BOUND** by {by}: {} from {} to {}",
                    code(host),
                    inline(from),
                    inline(to)
                ),
            }
        }
        AuditEvent::Intent {
            intent,
            host,
            command,
            ..
        } => format!("command {intent} on {}: {}", inline(host), code(command)),
        AuditEvent::Output { intent, .. } => format!("output of command {intent}"),
        AuditEvent::Result {
            intent,
            exit_status,
            duration_ms,
            outcome,
        } => format!(
            "command {intent} finished: exit {}, {}, {}",
            exit_status.map_or_else(|| "none".to_string(), |s| s.to_string()),
            human_duration(*duration_ms),
            outcome_text(outcome)
        ),
        AuditEvent::Step { state, .. } => format!("state: {}", state_name(*state)),
        AuditEvent::Note { text } => format!("note: {}", inline(text)),
        AuditEvent::Resume { torn_line } => match torn_line {
            Some(line) => format!("session resumed after a crash tore line {line}"),
            None => "session resumed".to_string(),
        },
        AuditEvent::SessionEnd { reason, .. } => format!("session ended: {}", inline(reason)),
        AuditEvent::SessionStop { reason, .. } => {
            format!("session stopped (resumable): {}", inline(reason))
        }
        AuditEvent::ApprovalRequest { same_user, .. } => format!(
            "waits for a second operator's approval ({})",
            if *same_user {
                "the operator's own user may approve from a second session"
            } else {
                "another Unix user"
            }
        ),
    }
}

fn outcome_text(outcome: &CommandOutcome) -> String {
    match outcome {
        CommandOutcome::Ok => "ok".to_string(),
        CommandOutcome::Failed => "**failed**".to_string(),
        CommandOutcome::Unknown { reason } => format!("**UNKNOWN** ({})", inline(reason)),
    }
}

fn state_name(state: StepState) -> &'static str {
    match state {
        StepState::Pending => "pending",
        StepState::Running => "running",
        StepState::Waiting => "waiting",
        StepState::Done => "done",
        StepState::Failed => "**failed**",
        StepState::Skipped => "**skipped**",
        StepState::OutcomeUnknown => "**outcome unknown**",
    }
}

/// `950 ms`, `1.234 s`, `2 min 03 s`, `1 h 02 min`.
fn human_duration(millis: u64) -> String {
    let secs = millis / 1000;
    match secs {
        0 => format!("{millis} ms"),
        1..=59 => format!("{secs}.{:03} s", millis % 1000),
        60..=3599 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, secs / 60 % 60),
    }
}

/// The last `limit` bytes of `text` (moved forward to a character boundary) and how many
/// bytes came before them.
fn last_bytes(text: &str, limit: usize) -> (&str, usize) {
    if text.len() <= limit {
        return (text, 0);
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    (&text[start..], start)
}

/// Free text on one line, with every character Markdown could act on escaped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape_in_document(text, false).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '&' | '~' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span that `text` cannot close early.
fn code(text: &str) -> String {
    let body = escape_in_document(text, false);
    let ticks = "`".repeat(longest_backtick_run(&body) + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{body}{pad}{ticks}")
}

/// GitHub tables split cells at every `|`, even inside code spans.
fn table_cell(markdown: &str) -> String {
    markdown.replace('|', "\\|")
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{AuditChain, Secrets};
    use crate::audit::verify::{ChainProblem, ProblemKind};
    use crate::replay::fixtures::session_info;
    use crate::testing::assert_contains;

    fn session_log(events: Vec<AuditEvent>) -> AuditLog {
        let start = 1_795_425_423_000;
        let (mut chain, header) =
            AuditChain::start(Secrets::default(), Timestamp::from_unix_millis(start)).unwrap();
        let mut bytes = header.line;
        for (i, event) in events.into_iter().enumerate() {
            let ts = Timestamp::from_unix_millis(start + 1000 * (i as i64 + 1));
            bytes.extend(chain.seal(event, ts).unwrap().line);
        }
        AuditLog::from_bytes(&bytes)
    }

    fn session_start() -> AuditEvent {
        AuditEvent::SessionStart(SessionInfo {
            runbook_path: "runbooks/move.yaml".into(),
            ..session_info()
        })
    }

    fn step(id: &str, state: StepState) -> AuditEvent {
        AuditEvent::Step {
            step: id.into(),
            state,
        }
    }

    fn intent(id: u64, step: &str, command: &str) -> AuditEvent {
        AuditEvent::Intent {
            intent: id,
            step: step.into(),
            host: "zk1".into(),
            command: command.into(),
        }
    }

    fn result(id: u64, outcome: CommandOutcome) -> AuditEvent {
        AuditEvent::Result {
            intent: id,
            exit_status: Some(0),
            duration_ms: 1234,
            outcome,
        }
    }

    fn migration() -> AuditLog {
        session_log(vec![
            session_start(),
            step("s1", StepState::Running),
            AuditEvent::Gate {
                step: "s1".into(),
                gate: "synced".into(),
                passed: true,
                detail: "2 of 2".into(),
            },
            AuditEvent::Verdict {
                step: "s1".into(),
                quorum_possible: true,
                split_brain_possible: false,
                text: "zk2, zk3 keep quorum".into(),
            },
            AuditEvent::Decision {
                step: "s1".into(),
                decision: DecisionKind::Override {
                    reason: "zk4 is decommissioned".into(),
                },
                by: "alice".into(),
            },
            intent(1, "s1", "zkctl restart | tee log"),
            AuditEvent::Output {
                intent: 1,
                stream: OutputStream::Stdout,
                text: "restarted \u{1b}[2J\u{1b}]0;owned\u{7}\r\n```\nbreak out\n".into(),
            },
            result(1, CommandOutcome::Ok),
            step("s1", StepState::Done),
            AuditEvent::Decision {
                step: "s2".into(),
                decision: DecisionKind::Skip {
                    reason: "done by hand".into(),
                },
                by: "alice".into(),
            },
            step("s2", StepState::Skipped),
            step("s3", StepState::Running),
            intent(2, "s3", "zkctl stop"),
            result(
                2,
                CommandOutcome::Unknown {
                    reason: "ssh connection lost".into(),
                },
            ),
            intent(3, "s3", "zkctl start"),
            AuditEvent::SessionEnd {
                records: 17,
                reason: "operator quit".into(),
            },
        ])
    }

    #[test]
    fn the_header_names_session_and_verification() {
        let log = migration();
        let head = log.verification.as_ref().unwrap().head;
        let report = render_markdown(&log, "session.jsonl");
        assert!(report.starts_with("# zkpilot session report\n"), "{report}");
        assert_contains(&report, "- **Runbook:** `runbooks/move.yaml`");
        assert_contains(
            &report,
            "- **Operator:** alice on jump1, terminal /dev/pts/3",
        );
        assert_contains(&report, "- **Started:** 2026-11-23T09:17:03.000Z");
        assert_contains(
            &report,
            "- **Ended:** 2026-11-23T09:17:19.000Z (operator quit)",
        );
        assert_contains(&report, "- **Duration:** 16.000 s");
        assert!(
            report.contains(&format!("chain verified, 17 records, head `{head}`")),
            "{report}"
        );
    }

    #[test]
    fn the_timeline_has_one_row_per_event_but_output() {
        let report = render_markdown(&migration(), "s.jsonl");
        assert!(
            report
                .contains("| 09:17:09.000 | s1 | command 1 on zk1: `zkctl restart \\| tee log` |"),
            "{report}"
        );
        assert_contains(
            &report,
            "| 09:17:08.000 | s1 | **OVERRIDE** by alice: zk4 is decommissioned |",
        );
        assert_contains(
            &report,
            "| 09:17:11.000 | s1 | command 1 finished: exit 0, 1.234 s, ok |",
        );
        assert!(!report.contains("output of command"), "{report}");
    }

    #[test]
    fn steps_show_gates_verdicts_decisions_and_commands() {
        let report = render_markdown(&migration(), "s.jsonl");
        assert_contains(&report, "### Step `s1`: done\n");
        assert_contains(&report, "- 09:17:06.000 gate `synced` passed: 2 of 2\n");
        assert_contains(
            &report,
            "verdict: quorum possible, no split brain: zk2, zk3 keep quorum",
        );
        assert_contains(&report, "### Step `s2`: **skipped**\n");
        assert_contains(&report, "**SKIPPED** by alice: done by hand");
        assert_contains(
            &report,
            "#### Command 1 on zk1\n\n- Command: `zkctl restart | tee log`\n",
        );
        assert_contains(&report, "- Exit status: 0, duration 1.234 s, outcome: ok\n");
        assert_contains(&report, "#### Command 3 on zk1");
        assert_contains(
            &report,
            "- Outcome: **UNKNOWN**: the intent was logged but no result",
        );
    }

    #[test]
    fn remote_output_cannot_inject_escapes_or_close_its_fence() {
        let report = render_markdown(&migration(), "s.jsonl");
        assert!(!report.contains('\u{1b}'), "{report}");
        assert!(!report.contains('\u{7}'), "{report}");
        assert!(!report.contains('\r'), "{report}");
        assert!(
            report.contains(
                "stdout:\n\n````text\nrestarted \\x1b[2J\\x1b]0;owned\\x07\\r\n```\nbreak out\n````\n"
            ),
            "{report}"
        );
    }

    #[test]
    fn the_summary_counts_steps_overrides_and_unknown_outcomes() {
        let report = render_markdown(&migration(), "s.jsonl");
        let summary = &report[report.find("## Summary").unwrap()..];
        assert_eq!(
            summary,
            "## Summary\n\n\
             - Steps: 1 done, 0 failed, 1 skipped, 1 other (of 3)\n\
             - Overrides: 1; skips: 1\n\
             - Commands: 3 run, 1 ok, 0 failed, 2 outcome unknown\n  \
             - **outcome unknown**: command 2 on zk1 (step `s3`): ssh connection lost\n  \
             - **outcome unknown**: command 3 on zk1 (step `s3`): no result recorded\n"
        );
    }

    #[test]
    fn long_output_keeps_its_end_and_says_what_was_left_out() {
        let long = format!("{}THE END\n", "x".repeat(10_000));
        let log = session_log(vec![
            intent(1, "s1", "cat big"),
            AuditEvent::Output {
                intent: 1,
                stream: OutputStream::Stderr,
                text: long,
            },
        ]);
        let report = render_markdown(&log, "s.jsonl");
        assert!(
            report.contains(
                "stderr (the first 6008 bytes are not shown; the audit log has all of it):"
            ),
            "{report}"
        );
        assert_contains(&report, "xxxxTHE END\n```\n");
    }

    #[test]
    fn a_failed_verification_is_stated_first() {
        let mut log = migration();
        log.records.truncate(4);
        log.verification = Err(ChainProblem {
            line: 5,
            seq: Some(4),
            kind: ProblemKind::BrokenLink {
                prev_line: 4,
                prev_seq: 3,
            },
        });
        let report = render_markdown(&log, "s.jsonl");
        assert_contains(
            &report,
            "**VERIFICATION FAILED** at line 5 (seq 4): prev does not match",
        );
        assert_contains(&report, "covers only the 4 records before that line");
        assert_contains(&report, "**not closed**");
    }

    #[test]
    fn free_text_cannot_restructure_the_report() {
        assert_eq!(
            inline("a *b* [c](d) <x>\n# h"),
            "a \\*b\\* \\[c\\](d) \\<x\\>\\\\n\\# h"
        );
        assert_eq!(inline("rm\u{202e}txt.exe"), "rm\\\\u{202e}txt.exe");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(table_cell("`a|b`"), "`a\\|b`");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(950), "950 ms");
        assert_eq!(human_duration(1234), "1.234 s");
        assert_eq!(human_duration(123_000), "2 min 03 s");
        assert_eq!(human_duration(3_723_000), "1 h 02 min");
    }

    #[test]
    fn a_multibyte_cut_moves_to_a_character_boundary() {
        assert_eq!(last_bytes("ééé", 3), ("é", 4));
    }
}
