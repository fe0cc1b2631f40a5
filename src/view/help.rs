//! The `?` overlay: every key, from the same table that handles them.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::Look;
use crate::console::keys::{help_rows, WATCH_KEYS};
use crate::view::theme::Role;

pub fn draw(frame: &mut Frame, area: Rect, look: &Look) {
    let rows: Vec<(&str, &str)> = help_rows(WATCH_KEYS, |_| true);
    let height = u16::try_from(rows.len()).unwrap_or(0) + 4;
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(64)])
        .flex(Flex::Center)
        .areas(row);
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(keys, help)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<12}"), look.style(Role::Accent)),
                Span::styled(*help, look.style(Role::Text)),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        " Esc or ? closes this help",
        look.style(Role::Muted),
    )));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Accent))
        .title(Span::styled(" keys ", look.style(Role::Title)));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// A boxed list of keys and what they do over `popup`, for the run and replay screens.
pub fn key_popup<'a>(
    frame: &mut Frame,
    popup: Rect,
    rows: impl Iterator<Item = &'a (&'a str, &'a str)>,
    key_width: usize,
    title: &str,
    look: &Look,
) {
    let lines: Vec<Line> = rows
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<key_width$}"), look.style(Role::Accent)),
                Span::styled(*what, look.style(Role::Text)),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Accent))
        .title(title.to_string());
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
