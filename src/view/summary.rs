//! The ensemble summary line and the config-view strip: the first things an operator must see
//! in the middle of a migration.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::Look;
use crate::console::watch::view_age_minutes;
use crate::console::watch::WatchState;
use crate::ensemble::Millis;
use crate::ensemble::ViewSource;
use crate::quorum::findings::{findings, Severity};
use crate::view::theme::Role;

pub fn draw_summary(frame: &mut Frame, area: Rect, state: &WatchState, look: &Look) {
    let ensemble = &state.ensemble;
    let sym = &look.symbols;
    // The title is the runbook's `name`, which its loader takes as written.
    let mut first = vec![Span::styled(
        format!("{} ", crate::text::escape::sanitize(&state.title)),
        look.style(Role::Title),
    )];
    match ensemble.leader() {
        Some(leader) => {
            let node = &ensemble.nodes[leader];
            let epoch = node.zxid().map_or("?".into(), |z| z.epoch().to_string());
            let quorum = node
                .view
                .as_ref()
                .map(|v| (v.view.majority(), v.view.participant_count()));
            first.push(Span::styled(
                format!("leader {}", node.target.name),
                look.style(Role::Leader),
            ));
            first.push(Span::styled(
                format!("  epoch {epoch}"),
                look.style(Role::Text),
            ));
            if let Some((majority, voters)) = quorum {
                first.push(Span::styled(
                    format!("  quorum {majority} of {voters} voters"),
                    look.style(Role::Text),
                ));
            }
        }
        None => first.push(Span::styled("no leader", look.style(Role::Down))),
    }
    let version = ensemble
        .version()
        .map_or("version ?".into(), |v| format!("ZooKeeper {v}"));
    first.push(Span::styled(
        format!("  {version}"),
        look.style(Role::Muted),
    ));

    let competing = ensemble.competing_leaders();
    let mut second = Vec::new();
    if !competing.is_empty() {
        let names: Vec<&str> = competing
            .iter()
            .map(|i| ensemble.nodes[*i].target.name.as_str())
            .collect();
        second.push(Span::styled(
            format!(
                " {} TWO LEADERS AT ONE EPOCH: {} ",
                sym.bad,
                names.join(", ")
            ),
            look.style(Role::Danger),
        ));
        second.push(Span::raw("  "));
    }
    second.extend(verdict_spans(state, look));
    let lines = vec![Line::from(first), Line::from(second)];
    frame.render_widget(Paragraph::new(lines), area);
}

/// The live verdict in words: the same findings `analyze` and `plan` print
/// (`quorum::findings`), in order, and what the verdict assumed. The summary line and the run
/// screen's forecast of a step under way both draw these spans, so the two cannot disagree.
pub fn verdict_spans<'a>(state: &WatchState, look: &Look) -> Vec<Span<'a>> {
    let ensemble = &state.ensemble;
    let sym = &look.symbols;
    let mut spans = Vec::new();
    match state.verdict() {
        Ok(verdict) => {
            let name = |i: usize| {
                ensemble
                    .nodes
                    .get(i)
                    .map_or("?", |n| n.target.name.as_str())
            };
            for (k, finding) in findings(verdict, &|i| name(i).to_string())
                .into_iter()
                .enumerate()
            {
                spans.push(finding_span(k, finding.severity, &finding.text, look));
            }
            // A verdict reached by assuming says so on its own line's end (`live::verdict`).
            if let Some(assumed) = crate::ensemble::live::assumed_words(ensemble) {
                spans.push(Span::styled(
                    format!("   {} {assumed}", sym.warn),
                    look.style(Role::Warning),
                ));
            }
        }
        Err(why) => spans.push(Span::styled(
            format!("analyzer: {why}"),
            look.style(Role::Muted),
        )),
    }
    spans
}

/// The `k`th finding of a list as the summary line draws it: its severity's symbol and colour,
/// apart from the one before. `replay` draws a recorded state's findings the same way.
pub fn finding_span<'a>(k: usize, severity: Severity, text: &str, look: &Look) -> Span<'a> {
    let sym = &look.symbols;
    let (symbol, role) = match severity {
        Severity::Ok => (sym.ok, Role::Ok),
        Severity::Warning => (sym.warn, Role::Warning),
        Severity::Danger => (sym.bad, Role::Danger),
    };
    let gap = if k == 0 { "" } else { "   " };
    Span::styled(format!("{gap}{symbol} {text}"), look.style(role))
}

pub fn draw_views(frame: &mut Frame, area: Rect, state: &WatchState, look: &Look) {
    let disagree = state.ensemble.disagreeing_views();
    // Names as long as a hand-built ensemble's keep a space before their mark.
    let name_width = state
        .ensemble
        .nodes
        .iter()
        .map(|n| super::text::columns(&n.target.name) + 1)
        .max()
        .unwrap_or(0)
        .max(8);
    let lines: Vec<Line> = state
        .ensemble
        .nodes
        .iter()
        .zip(disagree)
        .map(|(node, differs)| {
            let mut spans = vec![Span::styled(
                format!("{:<name_width$}", node.target.name),
                look.style(Role::Text),
            )];
            match &node.view {
                None => spans.push(Span::styled(
                    "view unknown (never seen)",
                    look.style(Role::Warning),
                )),
                Some(observed) => {
                    let version = observed
                        .view
                        .version
                        .map_or("-".into(), |v| format!("{v:x}"));
                    let marker = if differs {
                        Span::styled(
                            format!("{} differs ", look.symbols.warn),
                            look.style(Role::Danger),
                        )
                    } else {
                        Span::styled(
                            format!("{} agrees  ", look.symbols.ok),
                            look.style(Role::Ok),
                        )
                    };
                    spans.push(marker);
                    spans.push(Span::styled(
                        format!("v{version:<10}"),
                        look.style(Role::Muted),
                    ));
                    let sids: Vec<String> = observed
                        .view
                        .servers()
                        .iter()
                        .map(|s| match s.role {
                            crate::zk::config::PeerRole::Participant => {
                                format!("{}={}", s.sid, s.primary_addr().host)
                            }
                            crate::zk::config::PeerRole::Observer => {
                                format!("{}={}(obs)", s.sid, s.primary_addr().host)
                            }
                        })
                        .collect();
                    spans.push(Span::styled(
                        sids.join(" "),
                        look.style(if differs { Role::Warning } else { Role::Text }),
                    ));
                    let source = match observed.source {
                        ViewSource::Conf => {
                            format!("  seen {}", minutes_ago(state.now, observed.seen_at))
                        }
                        ViewSource::Declared => "  (declared, not seen)".to_string(),
                        ViewSource::AdminVoters => format!(
                            "  voters from the AdminServer, seen {}",
                            minutes_ago(state.now, observed.seen_at)
                        ),
                        ViewSource::ZooCfg => format!(
                            "  from zoo.cfg on disk, read {} (the running view may differ)",
                            minutes_ago(state.now, observed.seen_at)
                        ),
                    };
                    spans.push(Span::styled(source, look.style(Role::Muted)));
                    if node.current_view().is_none() {
                        spans.push(Span::styled(
                            "  LAST KNOWN: the server restarted since; waiting for its new view",
                            look.style(Role::Warning),
                        ));
                    }
                }
            }
            Line::from(spans)
        })
        .collect();
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(look.style(Role::Border));
    draw_titled(
        frame,
        area,
        block,
        " config views (each node's own server list) ".into(),
        lines,
        look,
    );
}

/// `lines` wrapped in `block` under `title`.
pub(super) fn draw_titled(
    frame: &mut Frame,
    area: Rect,
    block: Block,
    title: String,
    lines: Vec<Line>,
    look: &Look,
) {
    let block = block.title(Span::styled(title, look.style(Role::Title)));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// `within a minute`, `3m ago`, `2h ago`: a view's age in the whole minutes the model ticks by
/// (`console::watch::view_age_minutes`).
fn minutes_ago(now: Millis, seen_at: Millis) -> String {
    match view_age_minutes(now, seen_at) {
        0 => "within a minute".to_string(),
        m if m < 120 => format!("{m}m ago"),
        m => format!("{}h ago", m / 60),
    }
}
