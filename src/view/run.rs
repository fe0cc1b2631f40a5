//! The `run` console: node panels on top, the step list and the selected step in the middle,
//! the commands' output below, the keys that apply now at the bottom.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::text::{columns, head_within, paragraphs, sanitize, wrap};
use super::{nodes, summary, Look};
use crate::audit::record::StepState;
use crate::console::keys::{self, help_rows, RUN_KEYS};
use crate::console::run::{offered, stream_mark, RunState, Typing};
use crate::runbook::engine::{Prompt, Status};
use crate::runbook::plan::describe_gate;
use crate::view::theme::Role;

pub fn draw_run(frame: &mut Frame, state: &RunState, look: &Look) {
    let area = frame.area();
    let (mut bar_lines, status) = bar_lines(state, look, area.width);
    let list_width = list_width(area.width, &step_rows(state));
    let detail = step_text(state, look, area.width.saturating_sub(list_width));
    let needs = Needs {
        step_least: detail.least(),
        step_all: detail.all(),
        nodes: state.watch.ensemble.nodes.len(),
        cards: state.watch.cards_height(area.width),
        output: state.output.len(),
    };
    let plan_with = |bar: &[Line]| {
        let bar_height = u16::try_from(bar.len()).unwrap_or(u16::MAX);
        plan_rows(area.height.saturating_sub(2 + bar_height), &needs)
    };
    let mut plan = plan_with(&bar_lines);
    // The audit log's path, when no message shares its line, gives way to a node's row.
    if !status.message && usize::from(plan.nodes) < needs.nodes && !plan.cards {
        bar_lines.truncate(bar_lines.len() - status.rows);
        plan = plan_with(&bar_lines);
    }
    let bar_height = u16::try_from(bar_lines.len()).unwrap_or(u16::MAX);
    let [top, cards, middle, output, bar] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(plan.nodes),
        Constraint::Min(plan.middle),
        Constraint::Length(plan.output),
        Constraint::Length(bar_height),
    ])
    .areas(area);
    summary::draw_summary(frame, top, &state.watch, look);
    if plan.cards {
        nodes::draw_cards(frame, cards, &state.watch, look);
    } else {
        nodes::draw_rows(frame, cards, &state.watch, &acted_on(state), look);
    }
    let [list, right] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(middle);
    draw_steps(frame, list, state, look);
    draw_step(frame, right, state, detail, look);
    if plan.output > 0 {
        draw_output(frame, output, state, look);
    }
    frame.render_widget(Paragraph::new(bar_lines), bar);
    if state.help {
        draw_help(frame, area, look);
    }
}

/// What each part of the run screen asks for, in rows.
struct Needs {
    /// The selected step with its title, commands, gates, prediction and state, borders
    /// included: what must show.
    step_least: u16,
    /// The same with all of its explanation.
    step_all: u16,
    nodes: usize,
    /// Every node as a card.
    cards: u16,
    /// Lines of output so far.
    output: usize,
}

/// Rows given to the nodes, the middle (the steps) and the output, and whether the nodes
/// are drawn as cards.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    nodes: u16,
    cards: bool,
    middle: u16,
    output: u16,
}

/// The output pane's rows when there is room: six lines and its borders.
const OUTPUT_ROWS: u16 = 8;

/// Shares `body` rows out by priority, as `htop` and `k9s` degrade: the selected step's
/// gates, prediction and commands first, then one row per node, then the last line of output
/// (if there is any), the step's explanation, more output, and last the nodes as full cards
/// instead of rows. What is left goes to the middle.
fn plan_rows(body: u16, needs: &Needs) -> Plan {
    let nodes_wanted = u16::try_from(needs.nodes).unwrap_or(u16::MAX);
    // A few node rows stay even when the step asks for the whole screen.
    let middle = needs
        .step_least
        .min(body.saturating_sub(nodes_wanted.min(3)));
    let mut left = body - middle;
    let nodes = nodes_wanted.min(left);
    left -= nodes;
    let output_wanted = match needs.output {
        0 => 0,
        lines => u16::try_from(lines)
            .unwrap_or(u16::MAX)
            .saturating_add(2)
            .min(OUTPUT_ROWS),
    };
    // One line of output, unframed, before the explanation: the last thing a command said.
    let mut output = output_wanted.min(left).min(1);
    left -= output;
    let explain = needs.step_all.saturating_sub(needs.step_least).min(left);
    left -= explain;
    let mut more_output = output_wanted.saturating_sub(output).min(left);
    // Framed, three or four rows show fewer lines than two unframed ones: unless every line
    // fits in the frame, stay at two.
    if (3..5).contains(&(output + more_output)) && output + more_output < output_wanted {
        more_output = 2u16.saturating_sub(output);
    }
    output += more_output;
    left -= more_output;
    let cards = needs.cards > nodes && needs.cards - nodes <= left;
    let nodes = if cards {
        left -= needs.cards - nodes;
        needs.cards
    } else {
        nodes
    };
    Plan {
        nodes,
        cards,
        middle: middle + explain + left,
        output,
    }
}

/// The nodes the current step's commands run on.
fn acted_on(state: &RunState) -> Vec<usize> {
    let engine = &state.engine;
    let Some(step) = engine.current().and_then(|i| engine.procedure.steps.get(i)) else {
        return Vec::new();
    };
    step.commands
        .iter()
        .filter_map(|c| engine.node_of.get(c.host).copied().flatten())
        .collect()
}

/// The step list is as wide as its longest id on a narrow screen, up to a third of it.
fn list_width(width: u16, rows: &[(&str, StepState)]) -> u16 {
    if width >= 120 {
        return 36;
    }
    let id = rows
        .iter()
        .map(|(id, _)| columns(&sanitize(id)))
        .max()
        .unwrap_or(0)
        .min(22);
    let word = rows
        .iter()
        .map(|(_, state)| state.word().len())
        .max()
        .unwrap_or(0);
    let wanted = u16::try_from(2 + 3 + id + 1 + word).unwrap_or(u16::MAX);
    wanted.clamp(16.min(width / 3), (width / 3).max(16))
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

fn step_rows(state: &RunState) -> Vec<(&str, StepState)> {
    state
        .engine
        .procedure
        .steps
        .iter()
        .zip(&state.engine.status)
        .map(|(step, status)| (step.id.as_str(), status.audit_state()))
        .collect()
}

fn draw_steps(frame: &mut Frame, area: Rect, state: &RunState, look: &Look) {
    draw_step_list(
        frame,
        area,
        &state.engine.procedure.name,
        &step_rows(state),
        (state.engine.current(), Some(state.selected)),
        look,
    );
}

/// The step list: a mark, the id and the state of each step; `(current, selected)` are
/// the step the session is at and the one shown on the right. A list longer than the pane
/// scrolls to keep the selected step (or else the current one) in sight.
pub fn draw_step_list(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    rows: &[(&str, StepState)],
    (current, selected): (Option<usize>, Option<usize>),
    look: &Look,
) {
    let inner = usize::from(area.width.saturating_sub(2));
    let word = rows.iter().map(|(_, s)| s.word().len()).max().unwrap_or(0);
    // Ids line up in a column of 22 when the pane is that wide, else as wide as it allows.
    let pad = 22.min(inner.saturating_sub(3 + 1 + word));
    let visible = usize::from(area.height.saturating_sub(2)).max(1);
    let first = selected
        .or(current)
        .map_or(0, |i| (i + 1).saturating_sub(visible));
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(first)
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
                Span::styled(format!("{:<pad$}", sanitize(id)), style),
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

/// The selected step's text, wrapped to the pane's width, in the parts the layout weighs.
struct StepText {
    title: Vec<Line<'static>>,
    explain: Vec<Line<'static>>,
    commands: Vec<Line<'static>>,
    /// Gates, prediction, hazards, the wait's progress and why it failed: never cut.
    state: Vec<Line<'static>>,
    heading: String,
    /// Columns inside the pane's borders.
    width: usize,
}

/// The last line shown of a cut explanation, with an ellipsis that fits the pane.
fn ellipsis(line: &Line<'_>, width: usize, look: &Look) -> Line<'static> {
    let text = head_within(&line.to_string(), width, 2);
    Line::from(vec![
        Span::styled(text, look.style(Role::Text)),
        Span::styled(" …", look.style(Role::Muted)),
    ])
}

impl StepText {
    fn rows(lines: usize) -> u16 {
        u16::try_from(lines).unwrap_or(u16::MAX)
    }

    /// Rows with borders for what must show.
    fn least(&self) -> u16 {
        Self::rows(self.title.len() + self.commands.len() + self.state.len() + 2)
    }

    fn all(&self) -> u16 {
        self.least().saturating_add(Self::rows(self.explain.len()))
    }

    /// The lines for `rows` rows: the state always, then the title, the commands and as much
    /// of the explanation as fits, its last line ending in an ellipsis when cut.
    fn fit(self, rows: usize, look: &Look) -> Vec<Line<'static>> {
        let mut room = rows.saturating_sub(self.state.len());
        let title = self.title.len().min(room);
        room -= title;
        let commands = self.commands.len().min(room);
        room -= commands;
        let mut explain = self.explain;
        if explain.len() > room {
            explain.truncate(room);
            if let Some(last) = explain.pop() {
                explain.push(ellipsis(&last, self.width, look));
            }
        }
        let mut commands_shown = self.commands;
        commands_shown.truncate(commands);
        let mut lines: Vec<Line<'static>> = self.title.into_iter().take(title).collect();
        lines.extend(explain);
        lines.extend(commands_shown);
        lines.extend(self.state);
        lines
    }
}

/// Lines of one paragraph wrapped to `width`, each further line indented by `prefix`
/// columns (past the first line's leading blanks and mark). Runbook names, gate
/// descriptions, hazard reasons and prompts are built from what the runbook and the
/// inventory say: every span is escaped once, here, before it is measured and drawn.
fn para(spans: Vec<Span<'_>>, prefix: usize, width: u16) -> Vec<Line<'static>> {
    let spans: Vec<Span> = spans
        .into_iter()
        .map(|mut span| {
            span.content = sanitize(&span.content).into();
            span
        })
        .collect();
    wrap(&spans, usize::from(width), prefix)
}

fn step_text(state: &RunState, look: &Look, width: u16) -> StepText {
    let engine = &state.engine;
    let mut text = StepText {
        title: Vec::new(),
        explain: Vec::new(),
        commands: Vec::new(),
        state: Vec::new(),
        heading: String::new(),
        width: 0,
    };
    let Some(step) = engine.procedure.steps.get(state.selected) else {
        return text;
    };
    let width = width.saturating_sub(2);
    text.width = usize::from(width);
    text.heading = format!(" step {} ", sanitize(&step.id));
    let is_current = engine.current() == Some(state.selected);
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), look.style(Role::Accent)));
    text.title = para(
        vec![Span::styled(step.title.clone(), look.style(Role::Title))],
        0,
        width,
    );
    // What happened outside the runbook leads the step's text: shown before the explanation
    // wherever rows allow (the log and the autopilot's output have every event).
    if is_current && !engine.outside.is_empty() {
        text.explain.push(heading("outside the runbook"));
        for event in &engine.outside {
            text.explain.extend(para(
                vec![Span::styled(
                    format!("  {} {event}", look.symbols.warn),
                    look.style(Role::Warning),
                )],
                4,
                width,
            ));
        }
    }
    for paragraph in paragraphs(&step.explain) {
        text.explain.extend(para(
            vec![Span::styled(paragraph, look.style(Role::Text))],
            0,
            width,
        ));
    }
    text.commands.push(heading("commands"));
    if step.commands.is_empty() {
        text.commands.push(Line::from(Span::styled(
            "  (none: an observation step)",
            look.style(Role::Muted),
        )));
    }
    for command in &step.commands {
        let host = &engine.procedure.hosts[command.host];
        text.commands.extend(para(
            vec![
                Span::styled(
                    format!("  {} ({}) $ ", host.name, host.inventory.name),
                    look.style(Role::Muted),
                ),
                Span::styled(
                    mask(&command.text, &engine.procedure.secrets),
                    look.style(Role::Text),
                ),
            ],
            4,
            width,
        ));
    }
    let lines = &mut text.state;
    if is_current {
        if let Some(readiness) = engine.readiness(&state.watch.ensemble) {
            if !readiness.gates.is_empty() {
                lines.push(heading("gates (live)"));
            }
            for (gate, result) in &readiness.gates {
                let (mark, role, why) = match result {
                    Ok(()) => (look.symbols.ok, Role::Ok, String::new()),
                    Err(why) => (look.symbols.bad, Role::Down, format!(" — {why}")),
                };
                lines.extend(para(
                    vec![
                        Span::styled(format!("  {mark} "), look.style(role)),
                        Span::styled(format!("{gate}{why}"), look.style(Role::Text)),
                    ],
                    4,
                    width,
                ));
            }
            let danger = !readiness.hazards.is_empty();
            match readiness.predicted {
                Some(predicted) => {
                    lines.push(heading("predicted"));
                    lines.extend(para(
                        vec![Span::styled(
                            format!("  {predicted}"),
                            look.style(if danger { Role::Danger } else { Role::Ok }),
                        )],
                        2,
                        width,
                    ));
                }
                // Under way, the forecast is the live verdict: the summary line's own words.
                None => {
                    lines.push(heading("now (the step is under way)"));
                    let mut spans = vec![Span::raw("  ")];
                    spans.extend(summary::verdict_spans(&state.watch, look));
                    lines.extend(para(spans, 2, width));
                }
            }
            for hazard in &readiness.hazards {
                let note = match &hazard.reason {
                    Some(reason) => format!("accepted by the runbook: {reason}"),
                    None => "NOT accepted: only an override with a reason goes past it".into(),
                };
                lines.extend(para(
                    vec![Span::styled(
                        format!(
                            "  {} {}: {} — {note}",
                            look.symbols.warn, hazard.hazard, hazard.detail
                        ),
                        look.style(if hazard.accepted {
                            Role::Warning
                        } else {
                            Role::Danger
                        }),
                    )],
                    4,
                    width,
                ));
            }
        }
        let misfits = engine.pick_misfits(&state.watch.ensemble);
        if !misfits.is_empty() {
            lines.push(heading("pick no longer fits"));
            let rebind = if engine.rebind_choices(&state.watch.ensemble).is_empty() {
                ""
            } else {
                "p re-binds it, "
            };
            for misfit in misfits {
                lines.extend(para(
                    vec![Span::styled(
                        format!(
                            "  {} {misfit}: {rebind}r runs it as bound",
                            look.symbols.warn
                        ),
                        look.style(Role::Danger),
                    )],
                    4,
                    width,
                ));
            }
        }
        if let Some((choices, selected)) = &state.choosing {
            lines.push(heading("re-bind to: ↑↓ choose, y re-binds, c cancels"));
            for (i, choice) in choices.iter().enumerate() {
                let host = &engine.procedure.hosts[choice.host];
                let exchange = choice.swaps.as_ref().map_or(String::new(), |other| {
                    format!(", and `{other}` takes {} in exchange", host.inventory.name)
                });
                let (mark, role) = if i == *selected {
                    (">", Role::Selected)
                } else {
                    (" ", Role::Text)
                };
                lines.extend(para(
                    vec![Span::styled(
                        format!("  {mark} `{}` on {}{exchange}", host.name, choice.to),
                        look.style(role),
                    )],
                    6,
                    width,
                ));
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
            lines.extend(para(
                vec![Span::styled(
                    format!(
                        "  {} {:.0}s of {:.0}s until: {}",
                        progress_bar(elapsed, limit),
                        elapsed as f64 / 1000.0,
                        limit as f64 / 1000.0,
                        until.join("; ")
                    ),
                    look.style(Role::Accent),
                )],
                2,
                width,
            ));
        }
    } else if !step.gates.is_empty() {
        lines.push(heading("gates"));
        for gate in &step.gates {
            lines.extend(para(
                vec![Span::styled(
                    format!("  {}", describe_gate(&engine.procedure, gate)),
                    look.style(Role::Text),
                )],
                2,
                width,
            ));
        }
    }
    if let Status::Failed(why) | Status::OutcomeUnknown(why) | Status::Skipped(why) =
        &engine.status[state.selected]
    {
        lines.extend(para(
            vec![Span::styled(format!("  {why}"), look.style(Role::Down))],
            2,
            width,
        ));
    }
    text
}

fn draw_step(frame: &mut Frame, area: Rect, state: &RunState, text: StepText, look: &Look) {
    if state.engine.procedure.steps.get(state.selected).is_none() {
        return;
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(text.heading.clone(), look.style(Role::Title)));
    let lines = text.fit(usize::from(area.height.saturating_sub(2)), look);
    frame.render_widget(Paragraph::new(lines).block(block), area);
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
/// from a remote host and is escaped here. Fewer than three rows are too few for a frame: the
/// lines are then labelled instead.
pub fn draw_output_lines(
    frame: &mut Frame,
    area: Rect,
    output: &[(&str, &str, String)],
    look: &Look,
) {
    let framed = area.height >= 3;
    let rows = usize::from(if framed { area.height - 2 } else { area.height });
    let lines: Vec<Line> = output
        .iter()
        .skip(output.len().saturating_sub(rows))
        .map(|(mark, host, text)| {
            let mut spans = vec![
                Span::styled(
                    format!("{mark}{:<6} ", sanitize(host)),
                    look.style(Role::Muted),
                ),
                Span::styled(sanitize(text), look.style(Role::Text)),
            ];
            if !framed {
                spans.insert(0, Span::styled("output ", look.style(Role::Title)));
            }
            Line::from(spans)
        })
        .collect();
    if !framed {
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Border))
        .title(Span::styled(" output ", look.style(Role::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The prompt or the keys that apply now, then the engine's message and the audit log's
/// path, wrapped to the screen's width: a prompt is never cut.
fn bar_lines(state: &RunState, look: &Look, width: u16) -> (Vec<Line<'static>>, StatusLine) {
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
                Span::styled(format!("{text}▏"), look.style(Role::Title)),
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
        (None, Some(Prompt::ConfirmRollback { commands })) => {
            // Its own words for the keys: the bar's `y` says "run this step".
            let mut spans = vec![Span::styled(
                format!("ROLL BACK: runs {}  ", sanitize(&commands.join(", then "))),
                look.style(Role::Warning),
            )];
            spans.extend(key("y", "run the rollback"));
            spans.extend(key("Esc", "keep the step as it is"));
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
    let mut lines = para(prompt, 0, width);
    lines.truncate(BAR_PROMPT_ROWS);
    let mut status = para(
        vec![
            Span::styled(message, look.style(Role::Warning)),
            Span::styled(
                format!("   audit: {}", state.audit_path),
                look.style(Role::Muted),
            ),
        ],
        3,
        width,
    );
    status.truncate(BAR_STATUS_ROWS);
    let last = StatusLine {
        message: engine.message.is_some(),
        rows: status.len(),
    };
    lines.extend(status);
    (lines, last)
}

/// The key bar's last rows: whether they hold the engine's message or only the audit log's
/// path, and how many they are.
struct StatusLine {
    message: bool,
    rows: usize,
}

/// The most rows the key bar's prompt and its status line take: the prompt tells what to do
/// next, the status what happened last.
const BAR_PROMPT_ROWS: usize = 4;
const BAR_STATUS_ROWS: usize = 2;

fn draw_help(frame: &mut Frame, area: Rect, look: &Look) {
    let rows = help_rows(RUN_KEYS, |_| true);
    super::help::key_popup(frame, area, 90, rows.iter(), 14, " keys ", look);
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn the_run_screen_shows_a_hostile_step_escaped() {
        let text = include_str!("../../tests/fixtures/hostile/spoof.yaml").replace(
            "title: Stop two of three",
            "title: \"Stop\\e[8m two\"\n    explain: \"hidden\\u202Eeno\"",
        );
        let (_, state) = super::screen_tests::bound(
            include_str!("../../tests/fixtures/inventories/lab.yaml"),
            &text,
            None,
        );
        let screen = crate::view::rendered(200, 50, |frame, look| draw_run(frame, &state, look));
        assert!(screen.contains("Stop^[[8m two"), "{screen}");
        assert!(screen.contains("hidden\\u{202e}eno"), "{screen}");
        assert!(screen.contains(" step stop-two^[[2K^M"), "{screen}");
        assert!(
            !screen.contains('\u{1b}') && !screen.contains('\u{202e}'),
            "{screen}"
        );
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
pub(crate) mod screen_tests;
