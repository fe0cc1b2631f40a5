//! Small text helpers shared by the views.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::Symbols;

/// Text from a server, a remote command or a file is untrusted: the one escaping routine.
pub use crate::text::escape::sanitize;

/// A one-line sparkline of the values, scaled between their minimum and maximum.
pub fn sparkline(values: impl IntoIterator<Item = f64>, symbols: &Symbols) -> String {
    let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let span = max - min;
    values
        .iter()
        .map(|v| {
            let level = if span > f64::EPSILON {
                (((v - min) / span) * 7.0).round() as usize
            } else {
                0
            };
            symbols.spark[level.min(7)]
        })
        .collect()
}

/// `0.4s`, `12s`, `3m`, `2h`: the age of a poll or a view.
pub fn age(millis: u64) -> String {
    match millis {
        m if m < 10_000 => format!("{:.1}s", m as f64 / 1000.0),
        m if m < 120_000 => format!("{}s", m / 1000),
        m if m < 7_200_000 => format!("{}m", m / 60_000),
        m => format!("{}h", m / 3_600_000),
    }
}

/// A runbook's `explain:` is hard-wrapped in its YAML: the lines of each paragraph joined
/// into one, so that the screen wraps them to its own width; an empty string stands for each
/// blank line that separated two paragraphs.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
                out.push(String::new());
            }
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(line);
    }
    if current.is_empty() {
        // A trailing blank line separates nothing.
        if out.last().is_some_and(String::is_empty) {
            out.pop();
        }
    } else {
        out.push(current);
    }
    out
}

/// Columns a text takes on the terminal.
pub fn columns(text: &str) -> usize {
    Span::raw(text).width()
}

/// The longest start of `text` that leaves `room` columns free within `width`: what is
/// shown of a text cut to make room for an ellipsis.
pub fn head_within(text: &str, width: usize, room: usize) -> String {
    let mut head = String::new();
    for c in text.chars() {
        if columns(&head) + columns(c.encode_utf8(&mut [0; 4])) + room > width {
            break;
        }
        head.push(c);
    }
    head
}

/// One run of a line: a word (no spaces) or the spaces between two words, with their styles.
enum Run {
    Word(Vec<(String, Style)>),
    Gap(Vec<(String, Style)>),
}

fn runs(spans: &[Span<'_>]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for span in spans {
        let mut rest: &str = &span.content;
        while let Some(c) = rest.chars().next() {
            let space = c == ' ';
            let end = rest
                .find(|x: char| (x == ' ') != space)
                .unwrap_or(rest.len());
            let piece = (rest[..end].to_string(), span.style);
            match (runs.last_mut(), space) {
                (Some(Run::Gap(pieces)), true) | (Some(Run::Word(pieces)), false) => {
                    pieces.push(piece)
                }
                (_, true) => runs.push(Run::Gap(vec![piece])),
                (_, false) => runs.push(Run::Word(vec![piece])),
            }
            rest = &rest[end..];
        }
    }
    runs
}

fn run_columns(pieces: &[(String, Style)]) -> usize {
    pieces.iter().map(|(text, _)| columns(text)).sum()
}

/// Word-wraps one line of styled spans to `width` columns, as a paragraph the screen can
/// count the rows of before it draws: breaks at spaces, splits a word longer than a line,
/// keeps each piece's style and the spaces at the start of the first line (a field's
/// indentation), and starts every further line with `indent` blanks (a hanging indent).
pub fn wrap(spans: &[Span<'_>], width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    // An indent as wide as the line would leave no room for a word.
    let indent = if indent * 2 > width { 0 } else { indent };
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0usize;
    let mut gap: Vec<(String, Style)> = Vec::new();
    let push = |lines: &mut Vec<Vec<Span<'static>>>, (text, style): (String, Style)| {
        if let Some(line) = lines.last_mut() {
            line.push(Span::styled(text, style));
        }
    };
    let new_line = |lines: &mut Vec<Vec<Span<'static>>>, used: &mut usize| {
        lines.push(vec![Span::raw(" ".repeat(indent))]);
        *used = indent;
    };
    for run in runs(spans) {
        match run {
            Run::Gap(pieces) if lines.len() == 1 && used == 0 => {
                used += run_columns(&pieces);
                for piece in pieces {
                    push(&mut lines, piece);
                }
            }
            Run::Gap(pieces) => gap = pieces,
            Run::Word(pieces) => {
                let gap_columns = run_columns(&gap);
                let word_columns = run_columns(&pieces);
                if used + gap_columns + word_columns <= width {
                    used += gap_columns + word_columns;
                    for piece in gap.drain(..).chain(pieces) {
                        push(&mut lines, piece);
                    }
                    continue;
                }
                gap.clear();
                if used > indent {
                    new_line(&mut lines, &mut used);
                }
                // What does not fit on a line of its own is cut where the line ends.
                for (text, style) in pieces {
                    let mut piece = String::new();
                    for c in text.chars() {
                        let wide = columns(c.encode_utf8(&mut [0; 4]));
                        if used + wide > width && used > indent {
                            push(&mut lines, (std::mem::take(&mut piece), style));
                            new_line(&mut lines, &mut used);
                        }
                        piece.push(c);
                        used += wide;
                    }
                    push(&mut lines, (piece, style));
                }
            }
        }
    }
    // Trailing spaces separate a line from what is drawn after it, when they fit.
    if used + run_columns(&gap) <= width {
        for piece in gap {
            push(&mut lines, piece);
        }
    }
    lines.into_iter().map(Line::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_between_extremes() {
        let line = sparkline([1.0, 2.0, 8.0], &Symbols::UNICODE);
        assert_eq!(line, "▁▂█");
        assert_eq!(sparkline([3.0, 3.0], &Symbols::ASCII), "..");
        assert_eq!(sparkline([f64::NAN], &Symbols::UNICODE), "");
    }

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn hard_wrapped_paragraphs_are_joined_and_their_breaks_kept() {
        let text = "the quorum\nholds and\n  clients reconnect\n\n\nA second\none.\n\n";
        assert_eq!(
            paragraphs(text),
            [
                "the quorum holds and clients reconnect",
                "",
                "A second one."
            ]
        );
        assert!(paragraphs("").is_empty());
    }

    #[test]
    fn words_wrap_to_the_width_with_a_hanging_indent() {
        let spans = [
            Span::raw("  ✓ "),
            Span::styled("every voter synced", Style::new().bold()),
            Span::raw(" with the leader"),
        ];
        assert_eq!(
            plain(&wrap(&spans, 16, 4)),
            ["  ✓ every voter", "    synced with", "    the leader"]
        );
        assert_eq!(
            plain(&wrap(&spans, 80, 4)),
            ["  ✓ every voter synced with the leader"]
        );
        let wrapped = wrap(&spans, 16, 4);
        assert!(wrapped[1]
            .spans
            .iter()
            .any(|s| s.content == "synced" && s.style == Style::new().bold()));
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut() {
        assert_eq!(
            plain(&wrap(&[Span::raw("ab abcdefghij")], 4, 0)),
            ["ab", "abcd", "efgh", "ij"]
        );
        assert_eq!(plain(&wrap(&[Span::raw("")], 4, 0)), [""]);
    }

    #[test]
    fn ages_read_naturally() {
        let ages = [400, 45_000, 600_000, 10_800_000].map(age);
        assert_eq!(ages, ["0.4s", "45s", "10m", "3h"]);
    }
}
