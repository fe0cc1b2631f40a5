//! The `?` overlay: every key, from the same table that handles them.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::text::wrap;
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

/// A boxed list of keys and what they do, centred in `area` and at most `max_width` wide, for
/// the run and replay screens. What a key does wraps under itself (the key column stays
/// clear), so every word shows at 80 columns; the box takes as many rows as its lines, up to
/// the whole height of `area`.
pub fn key_popup<'a>(
    frame: &mut Frame,
    area: Rect,
    max_width: u16,
    rows: impl Iterator<Item = &'a (&'a str, &'a str)>,
    key_width: usize,
    title: &str,
    look: &Look,
) {
    let width = area.width.saturating_sub(4).min(max_width);
    let inner = usize::from(width.saturating_sub(2));
    let lines: Vec<Line> = rows
        .flat_map(|(k, what)| {
            wrap(
                &[
                    Span::styled(format!(" {k:<key_width$}"), look.style(Role::Accent)),
                    Span::styled(*what, look.style(Role::Text)),
                ],
                inner,
                key_width + 1,
            )
        })
        .collect();
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(area.height);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Accent))
        .title(title.to_string());
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
