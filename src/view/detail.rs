//! The Enter overlay: a node's full `mntr` and `conf`, as it last answered them.

use ratatui::layout::{Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::text::sanitize;
use super::Look;
use crate::ensemble::{NodeState, Support};
use crate::view::theme::Role;

pub fn draw(frame: &mut Frame, area: Rect, node: &NodeState, scroll: u16, look: &Look) {
    let popup = area.inner(Margin::new(4, 2));
    let heading = |text: &str| Line::from(Span::styled(text.to_string(), look.style(Role::Title)));
    // The key column fits the longest key shown (3.6+ `mntr` has keys of 50 characters and
    // more), up to half the popup; a longer key still keeps a space before its value.
    let keys = node
        .mntr
        .iter()
        .flat_map(|m| m.entries())
        .chain(node.conf.iter().flat_map(|c| c.entries()))
        .map(|(k, _)| sanitize(k).chars().count());
    let column = keys
        .max()
        .unwrap_or(0)
        .min(usize::from(popup.width / 2))
        .max(1);
    let entry = |key: &str, value: &str| {
        Line::from(vec![
            Span::styled(
                format!("  {:<column$} ", sanitize(key)),
                look.style(Role::Muted),
            ),
            Span::styled(sanitize(value), look.style(Role::Text)),
        ])
    };
    let mut lines = vec![heading("mntr")];
    match (&node.mntr, node.routes.mntr) {
        (Some(mntr), _) => lines.extend(mntr.entries().iter().map(|(k, v)| entry(k, v))),
        (None, Support::NotWhitelisted) => {
            lines.push(entry("", "not in this node's 4lw whitelist"))
        }
        (None, _) => lines.push(entry("", "not answered yet")),
    }
    lines.push(Line::from(""));
    lines.push(heading("conf"));
    match (&node.conf, node.routes.conf) {
        (Some(conf), _) => lines.extend(conf.entries().iter().map(|(k, v)| entry(k, v))),
        (None, Support::NotWhitelisted) => {
            lines.push(entry("", "not in this node's 4lw whitelist"))
        }
        (None, _) => lines.push(entry("", "not answered yet")),
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(look.style(Role::Accent))
        .title(Span::styled(
            format!(" {} — ↑↓ scroll, Esc closes ", node.target.name),
            look.style(Role::Title),
        ));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((scroll, 0)),
        popup,
    );
}
