//! Rendering only: every function here reads a state and draws it, never changes it.

pub mod asciicast;
mod detail;
mod help;
mod nodes;
pub mod replay;
pub mod run;
mod summary;
pub mod text;
pub mod theme;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::console::keys::{self, WATCH_KEYS};
use crate::console::watch::{Overlay, WatchLayout, WatchState};
use crate::view::theme::{Role, Theme};

/// Glyphs, with a plain-ASCII set for terminals that cannot show the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbols {
    pub ok: &'static str,
    pub bad: &'static str,
    pub warn: &'static str,
    pub spark: [&'static str; 8],
    pub dot: &'static str,
    /// Points at the nodes that matter now, in the one-row-per-node list.
    pub pointer: &'static str,
}

impl Symbols {
    pub const UNICODE: Symbols = Symbols {
        ok: "✓",
        bad: "✗",
        warn: "⚠",
        spark: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        dot: "·",
        pointer: "▸",
    };
    pub const ASCII: Symbols = Symbols {
        ok: "ok",
        bad: "X",
        warn: "!",
        spark: [".", ":", "-", "=", "+", "*", "#", "@"],
        dot: "|",
        pointer: ">",
    };
}

/// How the screen is drawn: the theme and the glyphs.
#[derive(Debug, Clone)]
pub struct Look {
    pub theme: Theme,
    pub symbols: Symbols,
}

impl Look {
    pub fn style(&self, role: Role) -> ratatui::style::Style {
        self.theme.style(role)
    }
}

/// The `watch` screen: summary, node cards, config views, key hints; overlays on top. When
/// the cards of every node do not fit, each node gets one row instead.
pub fn draw_watch(frame: &mut Frame, state: &WatchState, look: &Look) {
    let area = frame.area();
    let count = state.ensemble.nodes.len();
    let WatchLayout {
        as_cards,
        view_rows,
    } = state.layout_at(area.width, area.height);
    let room = area.height.saturating_sub(3 + view_rows);
    let node_rows = if as_cards {
        Constraint::Min(6)
    } else {
        Constraint::Length(u16::try_from(count).unwrap_or(u16::MAX).min(room))
    };
    let views_rows = if as_cards {
        Constraint::Length(view_rows)
    } else {
        Constraint::Min(view_rows)
    };
    let [top, cards, views, bar] = Layout::vertical([
        Constraint::Length(2),
        node_rows,
        views_rows,
        Constraint::Length(1),
    ])
    .areas(area);
    summary::draw_summary(frame, top, state, look);
    if as_cards {
        nodes::draw_cards(frame, cards, state, look);
    } else {
        nodes::draw_rows(frame, cards, state, &[state.selected], look);
    }
    summary::draw_views(frame, views, state, look);
    draw_key_bar(frame, bar, look);
    match state.overlay {
        Overlay::None => {}
        Overlay::Help => help::draw(frame, area, look),
        Overlay::Detail { scroll } => {
            if let Some(node) = state.ensemble.nodes.get(state.selected) {
                detail::draw(frame, area, node, scroll, look);
            }
        }
    }
}

fn draw_key_bar(frame: &mut Frame, area: Rect, look: &Look) {
    let hint = |key: &'static str, what: &'static str| {
        [
            Span::styled(key, look.style(Role::Accent)),
            Span::styled(format!(" {what}  "), look.style(Role::Muted)),
        ]
    };
    let spans: Vec<Span> = keys::bar(WATCH_KEYS, |_| true)
        .into_iter()
        .flat_map(|(key, what)| hint(key, what))
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod key_bar_tests;
#[cfg(test)]
mod tests;

/// The look every snapshot is drawn in: the dark theme, Unicode symbols.
#[cfg(test)]
pub(crate) fn test_look() -> Look {
    Look {
        theme: Theme::builtin("dark").expect("the built-in dark theme"),
        symbols: Symbols::UNICODE,
    }
}

/// What `draw` draws in [`test_look`] on a `TestBackend` of this size, as [`screen_text`].
#[cfg(test)]
pub(crate) fn rendered(width: u16, height: u16, draw: impl FnOnce(&mut Frame, &Look)) -> String {
    let look = test_look();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("a test backend");
    terminal
        .draw(|frame| draw(frame, &look))
        .expect("draws on a test backend");
    screen_text(terminal.backend().buffer())
}

/// What a `TestBackend` shows, line by line with trailing blanks cut: the text snapshot tests
/// compare.
#[cfg(test)]
pub(crate) fn screen_text(buffer: &ratatui::buffer::Buffer) -> String {
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
