//! The read-only screen of `replay` and `follow`: the `run` screen's look rebuilt from the
//! audit log — a node strip from the latest snapshot, the steps seen so far, the selected
//! step's gates, verdict, decisions and commands, the output — plus a timeline. Everything
//! shown came from the log, so all of it is escaped before it is drawn.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::text::sanitize;
use super::Look;
use crate::audit::record::{CommandOutcome, OutputStream, StepState};
use crate::replay::print::{decision_text, result_text, state_word, verification_line};
use crate::replay::{Player, StepShown, Verification};
use crate::theme::Role;

/// What differs between `replay` and `follow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Replay,
    /// `can_approve`: this follower may approve the step waiting for a second operator.
    Follow { can_approve: bool },
}

pub struct ReplayScreen<'a> {
    pub player: &'a Player,
    pub source: &'a str,
    pub mode: Mode,
    pub message: Option<&'a str>,
}

pub fn draw_replay(frame: &mut Frame, screen: &ReplayScreen, look: &Look) {
    let area = frame.area();
    let node_rows = u16::try_from(screen.player.state.nodes.len())
        .unwrap_or(u16::MAX)
        .clamp(1, 7)
        + 2;
    let [top, nodes, middle, output, timeline, bar] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(node_rows),
        Constraint::Min(8),
        Constraint::Length(8),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_top(frame, top, screen, look);
    draw_nodes(frame, nodes, screen.player, look);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(36), Constraint::Min(30)]).areas(middle);
    draw_steps(frame, list, screen.player, look);
    draw_step(frame, detail, screen.player, look);
    draw_output(frame, output, screen.player, look);
    draw_timeline(frame, timeline, screen, look);
    draw_bar(frame, bar, screen, look);
    if screen.player.help {
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
                "  {} by {} on {}",
                sanitize(&session.runbook_path),
                sanitize(&session.operator),
                sanitize(&session.host)
            ),
            look.style(Role::Title),
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
    if let Some((at, reason)) = &state.ended {
        second.push(Span::styled(
            format!("   SESSION ENDED {}: {}", at.time_of_day(), sanitize(reason)),
            look.style(Role::Title),
        ));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

fn health_role(health: &str) -> Role {
    match health {
        "leader" => Role::Leader,
        "follower" => Role::Follower,
        "observer" => Role::Observer,
        "standalone" => Role::Standalone,
        "not_serving" => Role::Looking,
        "down" => Role::Down,
        _ => Role::Muted,
    }
}

fn draw_nodes(frame: &mut Frame, area: Rect, player: &Player, look: &Look) {
    let lines: Vec<Line> = player
        .state
        .nodes
        .iter()
        .map(|node| {
            Line::from(vec![
                Span::styled(
                    format!(" {:<8}", sanitize(&node.name)),
                    look.style(Role::Title),
                ),
                Span::styled(
                    format!("{:<13}", sanitize(&node.health)),
                    look.style(health_role(&node.health)),
                ),
                Span::styled(
                    format!(
                        "zxid {:<14}",
                        sanitize(node.zxid.as_deref().unwrap_or("-"))
                    ),
                    look.style(Role::Text),
                ),
                Span::styled(
                    format!("view {}", sanitize(node.view.as_deref().unwrap_or("-"))),
                    look.style(Role::Muted),
                ),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(
            " nodes (latest snapshot) ",
            look.style(Role::Title),
        ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn state_mark(state: Option<StepState>, look: &Look) -> (String, Role) {
    let s = &look.symbols;
    match state {
        None | Some(StepState::Pending) => ("·".into(), Role::Muted),
        Some(StepState::Running) => ("▶".into(), Role::Accent),
        Some(StepState::Waiting) => ("…".into(), Role::Accent),
        Some(StepState::Done) => (s.ok.into(), Role::Ok),
        Some(StepState::Failed) => (s.bad.into(), Role::Down),
        Some(StepState::Skipped) => ("-".into(), Role::Warning),
        Some(StepState::OutcomeUnknown) => ("?".into(), Role::Danger),
    }
}

fn step_word(step: &StepShown) -> &'static str {
    if step.awaiting_approval() {
        return "awaiting approval";
    }
    step.state.map_or("pending", state_word)
}

fn draw_steps(frame: &mut Frame, area: Rect, player: &Player, look: &Look) {
    let shown = player.shown_step();
    let lines: Vec<Line> = player
        .state
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (mark, role) = state_mark(step.state, look);
            let mut style = look.style(if Some(i) == player.state.current {
                Role::Title
            } else {
                Role::Text
            });
            if Some(i) == shown {
                style = style.patch(look.style(Role::Selected));
            }
            Line::from(vec![
                Span::styled(format!(" {mark} "), look.style(role)),
                Span::styled(format!("{:<22}", sanitize(&step.id)), style),
                Span::styled(format!(" {}", step_word(step)), look.style(role)),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(" steps ", look.style(Role::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_step(frame: &mut Frame, area: Rect, player: &Player, look: &Look) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border));
    let Some(step) = player.shown_step().and_then(|i| player.state.steps.get(i)) else {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no step reached yet",
                look.style(Role::Muted),
            ))
            .block(block),
            area,
        );
        return;
    };
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), look.style(Role::Accent)));
    let (_, role) = state_mark(step.state, look);
    let mut lines = vec![Line::from(Span::styled(
        step_word(step).to_string(),
        look.style(role),
    ))];
    if !step.gates.is_empty() {
        lines.push(heading("gates (as recorded)"));
    }
    for gate in &step.gates {
        let (mark, role) = if gate.passed {
            (look.symbols.ok, Role::Ok)
        } else {
            (look.symbols.bad, Role::Down)
        };
        let why = if gate.detail.is_empty() {
            String::new()
        } else {
            format!(" — {}", gate.detail)
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
        let role = match command.outcome {
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
        let result = if command.outcome.is_none() && !player.at_end() {
            "running".to_string()
        } else {
            result_text(command)
        };
        lines.push(Line::from(Span::styled(
            format!("    -> {}", sanitize(&result)),
            look.style(role),
        )));
    }
    let block = block.title(Span::styled(
        format!(" step {} ", sanitize(&step.id)),
        look.style(Role::Title),
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_output(frame: &mut Frame, area: Rect, player: &Player, look: &Look) {
    let rows = usize::from(area.height.saturating_sub(2));
    let output = &player.state.output;
    let lines: Vec<Line> = output
        .iter()
        .skip(output.len().saturating_sub(rows))
        .map(|line| {
            let mark = match line.stream {
                OutputStream::Stdout => " ",
                OutputStream::Stderr => "!",
            };
            Line::from(vec![
                Span::styled(
                    format!("{mark}{:<6} ", sanitize(&line.host)),
                    look.style(Role::Muted),
                ),
                Span::styled(sanitize(&line.text), look.style(Role::Text)),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(" output ", look.style(Role::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// A bar as wide as the area: `=` played, `-` to come, `|` a marker, `#` where a failure or
/// warning is; the caption says where the viewer is and the marker just passed.
fn draw_timeline(frame: &mut Frame, area: Rect, screen: &ReplayScreen, look: &Look) {
    let player = screen.player;
    let total = player.records().len().max(1);
    let width = usize::from(area.width.saturating_sub(2)).max(1);
    let column = |index: usize| (index * width / total).min(width - 1);
    let played = player.position() * width / total;
    let mut bar: Vec<char> = (0..width)
        .map(|x| if x < played { '=' } else { '-' })
        .collect();
    for marker in player.markers() {
        let glyph = match marker.kind {
            crate::replay::MarkerKind::Failure | crate::replay::MarkerKind::Warning => '#',
            _ => '|',
        };
        bar[column(marker.index)] = glyph;
    }
    let time = player
        .state
        .last
        .map(|t| t.time_of_day())
        .unwrap_or_else(|| "--:--:--.---".into());
    let playing = match (screen.mode, player.playing) {
        (Mode::Follow { .. }, _) if player.at_end() => "LIVE".to_string(),
        (_, true) => format!("▶ playing {}x", player.speed),
        (_, false) => format!("⏸ paused {}x", player.speed),
    };
    let marker = player
        .last_marker()
        .map(|m| format!("   last marker: {}", sanitize(&m.label)))
        .unwrap_or_default();
    let lines = vec![
        Line::from(Span::styled(bar.into_iter().collect::<String>(), look.style(Role::Accent))),
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
    let mut spans = Vec::new();
    if let Mode::Follow { can_approve: true } = screen.mode {
        spans.extend(key("A", "APPROVE the waiting step"));
    }
    spans.extend(
        [
            key("space", "play/pause"),
            key("+-", "speed"),
            key(",.", "record"),
            key("np", "marker"),
            key("swof", "step/warn/override/fail"),
            key("?", "help"),
            key("q", "quit"),
        ]
        .concat(),
    );
    if let Some(message) = screen.message {
        spans.push(Span::styled(sanitize(message), look.style(Role::Warning)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The keys of the timeline, also read by the help test so the two cannot drift apart.
pub const HELP: [(&str, &str); 12] = [
    ("space", "play / pause (idle gaps over 2 s are shortened)"),
    ("+ / -", "speed: 1x, 2x, 4x … 64x"),
    (". / ,", "one record forward / back"),
    ("n / p", "next / previous marker of any kind"),
    ("s / S", "next / previous step start"),
    ("w / W", "next / previous warning (split brain, no quorum)"),
    ("o / O", "next / previous override or skip"),
    ("f / F", "next / previous failure or unknown outcome"),
    ("g / G", "start / end of the log (follow: G returns to live)"),
    ("↑ ↓", "look at other steps"),
    ("A", "follow only: approve the step waiting for you"),
    ("q", "quit"),
];

fn draw_help(frame: &mut Frame, area: Rect, mode: Mode, look: &Look) {
    let popup = Rect::new(
        area.x + 4,
        area.y + 3,
        area.width.saturating_sub(8).min(80),
        16,
    )
    .intersection(area);
    let lines: Vec<Line> = HELP
        .iter()
        .filter(|(k, _)| *k != "A" || matches!(mode, Mode::Follow { .. }))
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<8}"), look.style(Role::Accent)),
                Span::styled(*what, look.style(Role::Text)),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Accent))
        .title(" keys (read-only: nothing here runs a command) ");
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
