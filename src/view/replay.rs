//! The read-only screen of `replay` and `follow`: the `run` screen rebuilt from the audit log —
//! node cards from the latest snapshot, the step list and output pane of `run`, the selected
//! step as recorded (gates, verdict, decisions, commands) — plus a timeline. Everything shown
//! came from the log, so all of it is escaped before it is drawn.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::nodes::{lag_span, role_label, LagFacts, CARD_HEIGHT, CARD_WIDTH};
use super::run::{draw_output_lines, draw_step_list, state_mark};
use super::text::sanitize;
use super::Look;
use crate::audit::record::{CommandOutcome, OutputStream, StepState};
use crate::console::keys::{self, help_rows, ReplayKey, REPLAY_KEYS};
use crate::console::replay::offered;
pub use crate::console::replay::Mode;
use crate::replay::print::{decision_text, result_text, verification_line};
use crate::replay::{MarkerKind, NodeShown, Player, ReplayState, Verification};
use crate::view::summary::finding_span;
use crate::view::theme::Role;

pub struct ReplayScreen<'a> {
    pub player: &'a Player,
    pub source: &'a str,
    pub mode: Mode,
    pub message: Option<&'a str>,
}

pub fn draw_replay(frame: &mut Frame, screen: &ReplayScreen, look: &Look) {
    let area = frame.area();
    // A third line at the top for the recorded state's findings, when the log has them.
    let top_height = if screen.player.state.findings.is_empty() {
        2
    } else {
        3
    };
    let [top, cards, middle, output, timeline, bar] = Layout::vertical([
        Constraint::Length(top_height),
        Constraint::Length(CARD_HEIGHT),
        Constraint::Min(8),
        Constraint::Length(8),
        Constraint::Length(3),
        Constraint::Length(2),
    ])
    .areas(area);
    let player = screen.player;
    let state = &player.state;
    draw_top(frame, top, screen, look);
    draw_cards(frame, cards, state, look);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(36), Constraint::Min(30)]).areas(middle);
    let rows: Vec<(&str, StepState)> = state
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.state.unwrap_or(StepState::Pending)))
        .collect();
    let title = state
        .session
        .as_ref()
        .map_or_else(|| "steps".to_string(), |s| s.runbook_path.clone());
    draw_step_list(
        frame,
        list,
        &title,
        &rows,
        (state.current, player.shown_step()),
        look,
    );
    draw_step(frame, detail, player, look);
    let lines: Vec<(&str, &str, String)> = state
        .output
        .iter()
        .map(|line| {
            let mark = match line.stream {
                OutputStream::Stdout => " ",
                OutputStream::Stderr => "!",
            };
            (mark, line.host.as_str(), line.text.clone())
        })
        .collect();
    draw_output_lines(frame, output, &lines, look);
    draw_timeline(frame, timeline, screen, look);
    draw_bar(frame, bar, screen, look);
    if player.help {
        draw_help(frame, area, screen.mode, look);
    }
}

fn draw_top(frame: &mut Frame, area: Rect, screen: &ReplayScreen, look: &Look) {
    let state = &screen.player.state;
    let what = match screen.mode {
        Mode::Replay => "REPLAY (read-only)",
        Mode::Follow { .. } => "FOLLOW (read-only)",
    };
    let mut first = vec![
        Span::styled(format!("{what} "), look.style(Role::Accent)),
        Span::styled(sanitize(screen.source), look.style(Role::Muted)),
    ];
    if let Some(session) = &state.session {
        first.push(Span::styled(
            format!(
                "  by {} on {}",
                sanitize(&session.operator),
                sanitize(&session.host)
            ),
            look.style(Role::Title),
        ));
    }
    match state.leader().map(|i| &state.nodes[i]) {
        Some(leader) => first.push(Span::styled(
            format!(
                "  leader {}  epoch {}",
                sanitize(&leader.name),
                leader.zxid.map_or("?".into(), |z| z.epoch().to_string())
            ),
            look.style(Role::Leader),
        )),
        None if !state.nodes.is_empty() => {
            first.push(Span::styled("  no leader", look.style(Role::Down)))
        }
        None => {}
    }
    // A log that stops without its end: a command whose result is missing may have run.
    let open = state.open_commands().len();
    if state.ended.is_none() && screen.mode == Mode::Replay && screen.player.at_end() && open > 0 {
        first.push(Span::styled(
            format!("  {open} command(s) without a result: they may or may not have run"),
            look.style(Role::Danger),
        ));
    }
    let verification = &screen.player.verification;
    let role = match verification {
        Verification::Intact(v) if v.torn_tail.is_some() => Role::Warning,
        Verification::Intact(_) | Verification::Growing(_) => Role::Ok,
        Verification::Broken(_) => Role::Danger,
    };
    let mut second = vec![Span::styled(
        verification_line(verification),
        look.style(role),
    )];
    if !state.resumes.is_empty() {
        second.push(Span::styled(
            format!("   resumed {} time(s)", state.resumes.len()),
            look.style(Role::Warning),
        ));
    }
    if let Some((at, reason)) = &state.ended {
        second.push(Span::styled(
            format!(
                "   SESSION ENDED {}: {}",
                at.time_of_day(),
                sanitize(reason)
            ),
            look.style(Role::Title),
        ));
    }
    // The live verdict's findings at the snapshot shown, as the summary line showed them.
    let third: Vec<Span> = state
        .findings
        .iter()
        .enumerate()
        .map(|(k, f)| finding_span(k, f.severity, &sanitize(&f.text), look))
        .collect();
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(first),
            Line::from(second),
            Line::from(third),
        ]),
        area,
    );
}

/// One card per node, as the `run` screen draws them, from what the snapshot recorded: role,
/// zxid and lag, and the view. Latency and load are never recorded (they change every poll).
fn draw_cards(frame: &mut Frame, area: Rect, state: &ReplayState, look: &Look) {
    if state.nodes.is_empty() {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(look.style(Role::Border));
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no ensemble snapshot recorded yet",
                look.style(Role::Muted),
            ))
            .block(block),
            area,
        );
        return;
    }
    let columns = usize::from((area.width / CARD_WIDTH).max(1));
    let width = area.width / u16::try_from(columns).unwrap_or(1);
    let leader = state.leader();
    let leader_zxid = leader.and_then(|l| state.nodes[l].zxid);
    for (index, node) in state.nodes.iter().enumerate().take(columns) {
        let x = area.x + width * u16::try_from(index).unwrap_or(0);
        let card = Rect::new(x, area.y, width, CARD_HEIGHT).intersection(area);
        let facts = LagFacts {
            is_leader: leader == Some(index),
            serving: node.health.mode().is_some(),
            lag: node.zxid.zip(leader_zxid).map(|(z, l)| z.lag_behind(l)),
            no_writes_this_epoch: leader_zxid.is_some_and(|z| z.counter() == 0),
        };
        draw_card(frame, card, node, facts, state, look);
    }
    let hidden = state.nodes.len().saturating_sub(columns);
    if hidden > 0 {
        let note = format!(" {hidden} more nodes not shown: widen the terminal ");
        super::nodes::corner_note(frame, area, note, look);
    }
}

fn draw_card(
    frame: &mut Frame,
    area: Rect,
    node: &NodeShown,
    lag: LagFacts,
    state: &ReplayState,
    look: &Look,
) {
    let dot = look.symbols.dot;
    let title = format!(
        " {} {dot} sid {} {dot} {} ",
        sanitize(&node.name),
        node.sid.map_or_else(|| "?".into(), |s| s.to_string()),
        sanitize(node.client.as_deref().unwrap_or("?"))
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(title, look.style(Role::Title)));
    let (label, role) = role_label(&node.health);
    let muted = look.style(Role::Muted);
    let text = look.style(Role::Text);
    let field = |name: &'static str| Span::styled(format!("{name:<8}"), muted);
    let zxid = node.zxid.map_or_else(
        || "-".to_string(),
        |z| format!("{}  ({z})", z.epoch_counter()),
    );
    let lines = vec![
        Line::from(vec![
            Span::styled(
                format!(" {label} "),
                look.style(role).add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("  zxid {zxid}"), text),
        ]),
        Line::from(vec![field("lag"), lag_span(lag, look)]),
        Line::from(vec![
            field("view"),
            Span::styled(sanitize(node.view.as_deref().unwrap_or("-")), text),
        ]),
        Line::from(vec![field("latency"), Span::styled("not recorded", muted)]),
        Line::from(vec![
            field("seen"),
            Span::styled(
                state.snapshot_at.map_or_else(
                    || "-".into(),
                    |t| format!("snapshot of {}", t.time_of_day()),
                ),
                muted,
            ),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_step(frame: &mut Frame, area: Rect, player: &Player, look: &Look) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border));
    let Some(step) = player.shown_step().and_then(|i| player.state.steps.get(i)) else {
        frame.render_widget(
            Paragraph::new(Span::styled("no step reached yet", look.style(Role::Muted)))
                .block(block),
            area,
        );
        return;
    };
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), look.style(Role::Accent)));
    let state = step.state.unwrap_or(StepState::Pending);
    let (_, role) = state_mark(state, look);
    let mut lines = vec![Line::from(Span::styled(
        state.word().to_string(),
        look.style(role),
    ))];
    if let Some(same_user) = step.awaiting_approval {
        lines.push(Line::from(Span::styled(
            format!(
                "WAITING FOR A SECOND OPERATOR'S APPROVAL ({})",
                if same_user {
                    "the operator's own user may give it from another session"
                } else {
                    "another Unix user"
                }
            ),
            look.style(Role::Warning),
        )));
    }
    if !step.gates.is_empty() {
        lines.push(heading("gates (as recorded)"));
    }
    for gate in &step.gates {
        let (mark, role, why) = if gate.passed {
            (look.symbols.ok, Role::Ok, String::new())
        } else {
            (look.symbols.bad, Role::Down, format!(" — {}", gate.detail))
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {mark} "), look.style(role)),
            Span::styled(
                sanitize(&format!("{}{why}", gate.gate)),
                look.style(Role::Text),
            ),
        ]));
    }
    if let Some(verdict) = &step.verdict {
        lines.push(heading("predicted"));
        let danger = verdict.split_brain_possible || !verdict.quorum_possible;
        lines.push(Line::from(Span::styled(
            format!("  {}", sanitize(&verdict.text)),
            look.style(if danger { Role::Danger } else { Role::Ok }),
        )));
    }
    if !step.decisions.is_empty() {
        lines.push(heading("decisions"));
    }
    for decision in &step.decisions {
        lines.push(Line::from(Span::styled(
            sanitize(&format!(
                "  {} {} by {}",
                decision.at.time_of_day(),
                decision_text(&decision.decision),
                decision.by
            )),
            look.style(Role::Text),
        )));
    }
    if !step.commands.is_empty() {
        lines.push(heading("commands"));
    }
    for command in &step.commands {
        let role = match command.result.as_ref().map(|r| &r.outcome) {
            Some(CommandOutcome::Ok) => Role::Ok,
            Some(CommandOutcome::Failed) => Role::Down,
            Some(CommandOutcome::Unknown { .. }) | None => Role::Danger,
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {} $ ", sanitize(&command.host)),
                look.style(Role::Muted),
            ),
            Span::styled(sanitize(&command.command), look.style(Role::Text)),
        ]));
        // Before the end of the log, a command without a result is still running; at the end
        // of a log that stopped, it may or may not have run.
        let result = if command.result.is_none() && !player.at_end() {
            "running".to_string()
        } else {
            result_text(command.result.as_ref())
        };
        lines.push(Line::from(Span::styled(
            format!("    -> {}", sanitize(&result)),
            look.style(role),
        )));
    }
    let title = format!(" step {} ", sanitize(&step.id));
    super::summary::draw_titled(frame, area, block, title, lines, look);
}

/// A bar as wide as the area: `=` played, `-` to come, `|` a marker, `#` a failure or warning;
/// the caption says where the viewer is and the marker just passed.
fn draw_timeline(frame: &mut Frame, area: Rect, screen: &ReplayScreen, look: &Look) {
    let player = screen.player;
    let total = player.records().len().max(1);
    let width = usize::from(area.width).max(1);
    let column = |index: usize| (index * width / total).min(width - 1);
    let played = player.position() * width / total;
    let mut bar: Vec<char> = (0..width)
        .map(|x| if x < played { '=' } else { '-' })
        .collect();
    for marker in player.markers() {
        bar[column(marker.index)] = match marker.kind {
            MarkerKind::Failure | MarkerKind::Warning => '#',
            _ => '|',
        };
    }
    let time = player
        .state
        .last
        .map(|t| t.time_of_day())
        .unwrap_or_else(|| "--:--:--.---".into());
    let playing = match (screen.mode, player.playing) {
        (Mode::Follow { .. }, _) if player.at_end() => "LIVE".to_string(),
        (_, true) => format!("playing {}x", player.speed),
        (_, false) => format!("paused {}x", player.speed),
    };
    let marker = player
        .last_marker()
        .map(|m| format!("   last marker: {}", sanitize(&m.label)))
        .unwrap_or_default();
    let lines = vec![
        Line::from(Span::styled(
            bar.into_iter().collect::<String>(),
            look.style(Role::Accent),
        )),
        Line::from(vec![
            Span::styled(
                format!(
                    "record {}/{}  {time}  {playing}",
                    player.position(),
                    player.records().len()
                ),
                look.style(Role::Title),
            ),
            Span::styled(marker, look.style(Role::Muted)),
        ]),
    ];
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(look.style(Role::Border))
        .title(Span::styled(" timeline ", look.style(Role::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_bar(frame: &mut Frame, area: Rect, screen: &ReplayScreen, look: &Look) {
    let key = |k: &str, what: &str| {
        vec![
            Span::styled(k.to_string(), look.style(Role::Accent)),
            Span::styled(format!(" {what}  "), look.style(Role::Muted)),
        ]
    };
    let first: Vec<Span> = match &screen.player.typing {
        Some(text) => vec![
            Span::styled(
                "type the id of the step you approve: ",
                look.style(Role::Warning),
            ),
            Span::styled(format!("{}▏", sanitize(text)), look.style(Role::Title)),
            Span::styled("   Enter approve  Esc cancel", look.style(Role::Muted)),
        ],
        None => keys::bar(REPLAY_KEYS, |action| offered(action, screen.mode))
            .into_iter()
            .flat_map(|(k, what)| key(k, what))
            .collect(),
    };
    let mut second = Vec::new();
    if let Some(message) = screen.message {
        second.push(Span::styled(sanitize(message), look.style(Role::Warning)));
    } else if let Some((at, note)) = screen.player.state.notes.last() {
        second.push(Span::styled(
            format!("note {}: {}", at.time_of_day(), sanitize(note)),
            look.style(Role::Warning),
        ));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

fn draw_help(frame: &mut Frame, area: Rect, mode: Mode, look: &Look) {
    super::help::key_popup(
        frame,
        area,
        80,
        help_rows(REPLAY_KEYS, |action| {
            action != ReplayKey::Approve || matches!(mode, Mode::Follow { .. })
        })
        .iter(),
        8,
        " keys (read-only: nothing here runs a command) ",
        look,
    );
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::audit::record::{AuditChain, AuditEvent, Secrets, Timestamp};
    use crate::audit::{AuditLog, ChainProblem, ProblemKind};
    use crate::replay::fixtures::recorded_session;
    use crate::replay::MarkerKind;

    fn render(screen: &ReplayScreen, width: u16, height: u16) -> String {
        crate::view::rendered(width, height, |frame, look| {
            draw_replay(frame, screen, look)
        })
    }

    fn player() -> Player {
        let log = recorded_session();
        let verified = Verification::Intact(log.verification.clone().unwrap());
        Player::new(log.records, verified)
    }

    fn replay(player: &Player) -> ReplayScreen<'_> {
        ReplayScreen {
            player,
            source: "session.jsonl",
            mode: Mode::Replay,
            message: None,
        }
    }

    #[test]
    fn replay_paused_at_the_first_failure() {
        let mut player = player();
        assert!(player.next_marker(Some(MarkerKind::Failure)));
        let screen = render(&replay(&player), 140, 40);
        assert!(
            screen
                .lines()
                .any(|l| l.contains("✗ restart-second") && l.contains("FAILED")),
            "{screen}"
        );
        insta::assert_snapshot!(screen);
    }

    /// A recorded state's findings are drawn as the live summary line drew them, every one
    /// of them, beside the state's cards.
    #[test]
    fn a_recorded_state_shows_the_live_summarys_findings() {
        let (log, first, findings) = crate::replay::fixtures::recorded_with_findings();
        let verified = Verification::Intact(log.verification.clone().unwrap());
        let mut player = Player::new(log.records, verified);
        player.seek(first + 1);
        let screen = render(&replay(&player), 200, 40);
        for finding in findings {
            assert!(screen.contains(&finding.text), "{}\n{screen}", finding.text);
        }
    }

    #[test]
    fn replay_of_a_log_broken_midway_shows_only_what_came_before() {
        let log = recorded_session();
        let problem = ChainProblem {
            line: 12,
            seq: Some(11),
            kind: ProblemKind::BrokenLink {
                prev_line: 11,
                prev_seq: 10,
            },
        };
        let mut player = Player::new(log.records[..11].to_vec(), Verification::Broken(problem));
        player.seek(usize::MAX);
        let screen = render(&replay(&player), 140, 40);
        assert!(
            screen.contains("LOG DOES NOT VERIFY: line 12 (seq 11)"),
            "{screen}"
        );
        insta::assert_snapshot!(screen);
    }

    #[test]
    fn a_log_that_stops_after_an_intent_says_the_command_may_have_run() {
        let log = recorded_session();
        let mut player = Player::new(
            log.records[..8].to_vec(),
            Verification::Intact(log.verification.clone().unwrap()),
        );
        player.seek(usize::MAX);
        let screen = render(&replay(&player), 140, 40);
        assert!(
            screen.contains("1 command(s) without a result: they may or may not have run"),
            "{screen}"
        );
        assert!(
            screen.contains("NO RESULT RECORDED (outcome unknown)"),
            "{screen}"
        );
    }

    /// A session waiting at a two-person step, as `follow` sees it, with the approval typed.
    #[test]
    fn follow_at_a_step_waiting_for_approval() {
        let at = |s: i64| Timestamp::from_unix(1_795_425_400 + s, 0);
        let (mut chain, header) = AuditChain::start(Secrets::default(), at(0)).unwrap();
        let mut bytes = header.line;
        let log = recorded_session();
        for record in &log.records[1..3] {
            bytes.extend(chain.seal(record.event.clone(), record.ts).unwrap().line);
        }
        let request = AuditEvent::ApprovalRequest {
            step: "restart-leader".into(),
            same_user: false,
        };
        bytes.extend(chain.seal(request, at(5)).unwrap().line);
        let log = AuditLog::from_bytes(&bytes);
        let mut player = Player::new(log.records, Verification::Growing(chain.head()));
        player.seek(usize::MAX);
        player.typing = Some("restart-lea".into());
        let screen = ReplayScreen {
            player: &player,
            source: "session.jsonl",
            mode: Mode::Follow { can_approve: true },
            message: None,
        };
        let screen = render(&screen, 140, 40);
        assert!(
            screen.contains("WAITING FOR A SECOND OPERATOR'S APPROVAL"),
            "{screen}"
        );
        assert!(screen.contains("LIVE"), "{screen}");
        insta::assert_snapshot!(screen);
    }

    #[test]
    fn the_replay_help_lists_every_key_but_approval() {
        let mut player = player();
        player.help = true;
        let screen = render(&replay(&player), 140, 40);
        for (key, _) in help_rows(REPLAY_KEYS, |a| a != ReplayKey::Approve) {
            assert!(screen.contains(key), "{key} missing:\n{screen}");
        }
        assert!(!screen.contains("follow only"));
    }
}
