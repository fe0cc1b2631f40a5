//! The `run` console: node panels on top, the step list and the selected step in the middle,
//! the commands' output below, the keys that apply now at the bottom.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::text::sanitize;
use super::{nodes, summary, Look};
use crate::audit::record::StepState;
use crate::console::keys::{self, help_rows, RUN_KEYS};
use crate::console::run::{offered, stream_mark, RunState, Typing};
use crate::runbook::engine::{Prompt, Status};
use crate::runbook::plan::describe_gate;
use crate::theme::Role;

pub fn draw_run(frame: &mut Frame, state: &RunState, look: &Look) {
    let area = frame.area();
    let [top, cards, middle, output, bar] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(9),
        Constraint::Min(10),
        Constraint::Length(8),
        Constraint::Length(2),
    ])
    .areas(area);
    summary::draw_summary(frame, top, &state.watch, look);
    nodes::draw_cards(frame, cards, &state.watch, look);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(36), Constraint::Min(30)]).areas(middle);
    draw_steps(frame, list, state, look);
    draw_step(frame, detail, state, look);
    draw_output(frame, output, state, look);
    draw_bar(frame, bar, state, look);
    if state.help {
        draw_help(frame, area, look);
    }
}

/// A step's state as a mark and its colour: the same in `run`, `replay` and `follow`.
pub fn state_mark(state: StepState, look: &Look) -> (String, Role) {
    let s = &look.symbols;
    match state {
        StepState::Pending => ("·".into(), Role::Muted),
        StepState::Running => ("▶".into(), Role::Accent),
        StepState::Waiting => ("…".into(), Role::Accent),
        StepState::Done => (s.ok.into(), Role::Ok),
        StepState::Failed => (s.bad.into(), Role::Down),
        StepState::Skipped => ("-".into(), Role::Warning),
        StepState::OutcomeUnknown => ("?".into(), Role::Danger),
    }
}

fn draw_steps(frame: &mut Frame, area: Rect, state: &RunState, look: &Look) {
    let rows: Vec<(&str, StepState)> = state
        .engine
        .procedure
        .steps
        .iter()
        .zip(&state.engine.status)
        .map(|(step, status)| (step.id.as_str(), status.audit_state()))
        .collect();
    draw_step_list(
        frame,
        area,
        &state.engine.procedure.name,
        &rows,
        (state.engine.current(), Some(state.selected)),
        look,
    );
}

/// The step list: a mark, the id and the state of each step; `(current, selected)` are
/// the step the session is at and the one shown on the right.
pub fn draw_step_list(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    rows: &[(&str, StepState)],
    (current, selected): (Option<usize>, Option<usize>),
    look: &Look,
) {
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .map(|(i, (id, state))| {
            let (mark, role) = state_mark(*state, look);
            let mut style = look.style(if Some(i) == current {
                Role::Title
            } else {
                Role::Text
            });
            if Some(i) == selected {
                style = style.patch(look.style(Role::Selected));
            }
            Line::from(vec![
                Span::styled(format!(" {mark} "), look.style(role)),
                Span::styled(format!("{:<22}", sanitize(id)), style),
                Span::styled(format!(" {}", state.word()), look.style(role)),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(
            format!(" {} ", sanitize(title)),
            look.style(Role::Title),
        ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_step(frame: &mut Frame, area: Rect, state: &RunState, look: &Look) {
    let engine = &state.engine;
    let Some(step) = engine.procedure.steps.get(state.selected) else {
        return;
    };
    let is_current = engine.current() == Some(state.selected);
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), look.style(Role::Accent)));
    let mut lines = vec![Line::from(Span::styled(
        sanitize(&step.title),
        look.style(Role::Title),
    ))];
    for line in step.explain.lines() {
        lines.push(Line::from(Span::styled(
            sanitize(line),
            look.style(Role::Text),
        )));
    }
    lines.push(heading("commands"));
    if step.commands.is_empty() {
        lines.push(Line::from(Span::styled(
            "  (none: an observation step)",
            look.style(Role::Muted),
        )));
    }
    for command in &step.commands {
        let host = &engine.procedure.hosts[command.host];
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {} ({}) $ ", host.name, host.inventory.name),
                look.style(Role::Muted),
            ),
            Span::styled(
                sanitize(&mask(&command.text, &engine.procedure.secrets)),
                look.style(Role::Text),
            ),
        ]));
    }
    if is_current {
        if let Some(readiness) = engine.readiness(&state.watch.ensemble) {
            lines.push(heading("gates (live)"));
            for (gate, result) in &readiness.gates {
                let (mark, role, why) = match result {
                    Ok(()) => (look.symbols.ok, Role::Ok, String::new()),
                    Err(why) => (look.symbols.bad, Role::Down, format!(" — {why}")),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {mark} "), look.style(role)),
                    Span::styled(format!("{gate}{why}"), look.style(Role::Text)),
                ]));
            }
            lines.push(heading("predicted"));
            let danger = !readiness.hazards.is_empty();
            lines.push(Line::from(Span::styled(
                format!("  {}", readiness.predicted.unwrap_or_default()),
                look.style(if danger { Role::Danger } else { Role::Ok }),
            )));
            for hazard in &readiness.hazards {
                let note = match &hazard.reason {
                    Some(reason) => format!("accepted by the runbook: {reason}"),
                    None => "NOT accepted: only an override with a reason goes past it".into(),
                };
                lines.push(Line::from(Span::styled(
                    format!(
                        "  {} {}: {} — {note}",
                        look.symbols.warn, hazard.hazard, hazard.detail
                    ),
                    look.style(if hazard.accepted {
                        Role::Warning
                    } else {
                        Role::Danger
                    }),
                )));
            }
        }
        if let Some((elapsed, limit)) = engine.wait_progress(state.watch.now) {
            let until: Vec<String> = step
                .wait
                .iter()
                .flat_map(|w| w.until.iter())
                .map(|g| describe_gate(&engine.procedure, g))
                .collect();
            lines.push(heading("waiting"));
            lines.push(Line::from(Span::styled(
                format!(
                    "  {} {:.0}s of {:.0}s until: {}",
                    progress_bar(elapsed, limit),
                    elapsed as f64 / 1000.0,
                    limit as f64 / 1000.0,
                    until.join("; ")
                ),
                look.style(Role::Accent),
            )));
        }
    } else if !step.gates.is_empty() {
        lines.push(heading("gates"));
        for gate in &step.gates {
            lines.push(Line::from(Span::styled(
                format!("  {}", describe_gate(&engine.procedure, gate)),
                look.style(Role::Text),
            )));
        }
    }
    if let Status::Failed(why) | Status::OutcomeUnknown(why) | Status::Skipped(why) =
        &engine.status[state.selected]
    {
        lines.push(Line::from(Span::styled(
            format!("  {}", sanitize(why)),
            look.style(Role::Down),
        )));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(
            format!(" step {} ", sanitize(&step.id)),
            look.style(Role::Title),
        ));
    frame.render_widget(
        Paragraph::new(escaped(lines))
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn progress_bar(elapsed: u64, limit: u64) -> String {
    let width = 20usize;
    let filled = if limit == 0 {
        width
    } else {
        (elapsed as usize * width / limit as usize).min(width)
    };
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

/// The screen masks secrets in the same forms as the audit log: as given, shell-quoted and
/// line by line.
fn mask(text: &str, secrets: &[String]) -> String {
    crate::audit::Secrets::new(secrets.iter().cloned()).scrub(text.to_string())
}

fn draw_output(frame: &mut Frame, area: Rect, state: &RunState, look: &Look) {
    let secrets = &state.engine.procedure.secrets;
    let lines: Vec<(&str, &str, String)> = state
        .output
        .iter()
        .map(|(_, line)| {
            (
                stream_mark(line.stream),
                line.host.as_str(),
                mask(&line.text, secrets),
            )
        })
        .collect();
    draw_output_lines(frame, area, &lines, look);
}

/// The output pane: the last lines that fit, each as (stream mark, host, text). The text came
/// from a remote host and is escaped here.
pub fn draw_output_lines(
    frame: &mut Frame,
    area: Rect,
    output: &[(&str, &str, String)],
    look: &Look,
) {
    let rows = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line> = output
        .iter()
        .skip(output.len().saturating_sub(rows))
        .map(|(mark, host, text)| {
            Line::from(vec![
                Span::styled(
                    format!("{mark}{:<6} ", sanitize(host)),
                    look.style(Role::Muted),
                ),
                Span::styled(sanitize(text), look.style(Role::Text)),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(" output ", look.style(Role::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_bar(frame: &mut Frame, area: Rect, state: &RunState, look: &Look) {
    let engine = &state.engine;
    let key = |k: &str, what: &str| {
        vec![
            Span::styled(k.to_string(), look.style(Role::Accent)),
            Span::styled(format!(" {what}  "), look.style(Role::Muted)),
        ]
    };
    let offered: Vec<Span> = keys::bar(RUN_KEYS, |action| offered(state, action))
        .into_iter()
        .flat_map(|(k, what)| key(k, what))
        .collect();
    let prompt: Vec<Span> = match (&state.typing, &engine.prompt) {
        (Some((purpose, text)), _) => {
            let label = match purpose {
                Typing::Override => "override reason",
                Typing::TypeHost => "type the host's name to run",
                Typing::Skip => "skip reason",
                Typing::MarkDone => "how you checked it completed",
            };
            vec![
                Span::styled(format!("{label}: "), look.style(Role::Warning)),
                Span::styled(format!("{}▏", sanitize(text)), look.style(Role::Title)),
                Span::styled("   Enter submit  Esc cancel", look.style(Role::Muted)),
            ]
        }
        (None, Some(Prompt::Override { reasons })) => {
            let mut spans = vec![Span::styled(
                format!("BLOCKED: {} ", reasons.join(" | ")),
                look.style(Role::Danger),
            )];
            spans.extend(offered);
            spans
        }
        (None, Some(Prompt::TypeHost(host))) => vec![Span::styled(
            format!("type {host} to run"),
            look.style(Role::Warning),
        )],
        (None, Some(Prompt::Approval { same_user })) => {
            let mut spans = vec![Span::styled(
                format!(
                    "WAITING FOR APPROVAL: a second operator{} runs `zkpilot follow` on this audit log and presses a ",
                    if *same_user { " (or you, in another session)" } else { "" }
                ),
                look.style(Role::Warning),
            )];
            spans.extend(offered);
            spans
        }
        (None, None) if engine.finished() => {
            let mut spans = vec![Span::styled("every step is done  ", look.style(Role::Ok))];
            spans.extend(offered);
            spans
        }
        (None, _) => offered,
    };
    let message = engine.message.clone().unwrap_or_default();
    let lines = vec![
        Line::from(prompt),
        Line::from(vec![
            Span::styled(sanitize(&message), look.style(Role::Warning)),
            Span::styled(
                format!("   audit: {}", state.audit_path),
                look.style(Role::Muted),
            ),
        ]),
    ];
    frame.render_widget(Paragraph::new(escaped(lines)), area);
}

/// Runbook names, gate descriptions, hazard reasons and prompts are built from what the
/// runbook and the inventory say: every span is escaped once, here, before it is drawn.
fn escaped(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    lines
        .into_iter()
        .map(|mut line| {
            for span in &mut line.spans {
                span.content = sanitize(&span.content).into();
            }
            line
        })
        .collect()
}

fn draw_help(frame: &mut Frame, area: Rect, look: &Look) {
    let rows = help_rows(RUN_KEYS, |_| true);
    let height = u16::try_from(rows.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let popup = Rect::new(
        area.x + 4,
        area.y + 3,
        area.width.saturating_sub(8).min(90),
        height,
    )
    .intersection(area);
    super::help::key_popup(frame, popup, rows.iter(), 14, " keys ", look);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::console::watch::WatchState;
    use crate::ensemble::{inventory_targets, EnsembleState};
    use crate::inventory::Inventory;
    use crate::runbook::engine::{Engine, Person};
    use crate::runbook::procedure::{bind, BindInput};
    use crate::theme::Theme;
    use crate::view::Symbols;
    use crate::zk::version::ZkVersion;

    #[test]
    fn the_run_screen_shows_a_hostile_step_escaped() {
        let inventory = Inventory::parse(
            include_str!("../../tests/fixtures/inventories/lab.yaml"),
            Path::new("lab.yaml"),
        )
        .unwrap();
        let text = include_str!("../../tests/fixtures/hostile/spoof.yaml").replace(
            "title: Stop two of three",
            "title: \"Stop\\e[8m two\"\n    explain: \"hidden\\u202Eeno\"",
        );
        let none = BTreeMap::new();
        let read = |_: &Path| -> Result<String, String> { Err("none".into()) };
        let input = BindInput {
            inventory: &inventory,
            leader: None,
            bindings: &none,
            variables: &none,
            read_fragment: &read,
        };
        let procedure = bind(&text, Path::new("spoof.yaml"), &input).unwrap();
        let targets = inventory_targets(&inventory);
        let node_of = procedure
            .hosts
            .iter()
            .map(|h| targets.iter().position(|t| t.name == h.inventory.name))
            .collect();
        let engine = Engine::new(
            procedure,
            ZkVersion::NEWEST,
            node_of,
            Person {
                name: "alice".into(),
                uid: 1000,
            },
        );
        let watch = WatchState::new("spoof".into(), EnsembleState::new(targets), 0);
        let state = RunState::new(watch, engine, "audit.jsonl".into());
        let look = Look {
            theme: Theme::builtin("dark").unwrap(),
            symbols: Symbols::UNICODE,
        };
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
        terminal
            .draw(|frame| draw_run(frame, &state, &look))
            .unwrap();
        let screen = crate::view::screen_text(terminal.backend().buffer());
        assert!(screen.contains("Stop^[[8m two"), "{screen}");
        assert!(screen.contains("hidden\\u{202e}eno"), "{screen}");
        assert!(screen.contains(" step stop-two^[[2K^M"), "{screen}");
        assert!(
            !screen.contains('\u{1b}') && !screen.contains('\u{202e}'),
            "{screen}"
        );
    }
}
