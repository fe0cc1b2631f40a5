//! The one escaping routine for text shown on a terminal (pure). Names, ids and messages come
//! from runbooks, inventories, state files, logs and remote hosts: an escape sequence in them
//! could rewrite the operator's screen, a bidi control reorder it, so that a `**BLOCKED**` row
//! reads as `ok`. The console screen, `plan`, `analyze`, autopilot's lines and every error go
//! through here.

use std::fmt::Write;

/// One line of untrusted text: control characters become visible `^X` / `\u{..}` forms, and
/// so do the invisible ones (bidi controls, zero-width characters); a tab is four spaces.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    out
}

/// Text of several lines, as a command prints it: the line breaks stay, everything else is
/// escaped as by `sanitize`.
pub fn sanitize_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\n' {
            out.push(c);
        } else {
            push_visible(&mut out, c);
        }
    }
    out
}

/// JSON as serde_json writes it escapes only C0 controls: DEL, C1 controls and bidi or
/// zero-width characters pass raw to a terminal that shows the JSON. Outside strings JSON is
/// ASCII, so escaping them as `\uXXXX` keeps the same JSON value; the whitespace between
/// tokens stays (inside strings serde_json has escaped it already).
pub fn json_visible(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_invisible_format(c) {
            // All of these lie in the Basic Multilingual Plane: one `\u` escape each.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("    "),
        c if (c as u32) < 0x20 => {
            out.push('^');
            out.push(char::from(b'@' + c as u8));
        }
        '\u{7f}' => out.push_str("^?"),
        c if c.is_control() || is_invisible_format(c) => {
            out.push_str(&format!("\\u{{{:x}}}", c as u32))
        }
        c => out.push(c),
    }
}

/// Text for a document (the Markdown report): control characters, and the invisible ones that
/// reorder or hide text, as `\\xNN` / `\\u{..}` escapes; tabs, and line breaks if asked, stay.
pub fn escape_in_document(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\t' => out.push('\t'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() && u32::from(c) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() || is_invisible_format(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Zero-width characters and bidi controls ("Trojan Source", CVE-2021-42574).
pub fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_cannot_reach_the_terminal() {
        assert_eq!(sanitize("ok\x1b[2Jwiped"), "ok^[[2Jwiped");
        assert_eq!(sanitize("bell\x07\ttab"), "bell^G    tab");
        assert_eq!(sanitize("del\x7f c1\u{9b}"), "del^? c1\\u{9b}");
        assert_eq!(sanitize("zk1: running ✓"), "zk1: running ✓");
        assert_eq!(
            sanitize("mode: \u{202e}rewollof"),
            "mode: \\u{202e}rewollof"
        );
        assert_eq!(sanitize("a\nb\r"), "a^Jb^M");
    }

    #[test]
    fn json_keeps_its_value_and_loses_its_escapes() {
        let json = serde_json::to_string(&"a\u{1b}[2J\u{202e}b\u{9b}\u{7f}").unwrap();
        let visible = json_visible(&json);
        assert!(visible.chars().all(|c| c.is_ascii_graphic()), "{visible}");
        assert_eq!(
            serde_json::from_str::<String>(&visible).unwrap(),
            "a\u{1b}[2J\u{202e}b\u{9b}\u{7f}"
        );
        assert_eq!(json_visible("{\n  \"a\": 1\n}\n"), "{\n  \"a\": 1\n}\n");
    }

    #[test]
    fn lines_keep_their_breaks_and_lose_their_escapes() {
        assert_eq!(
            sanitize_lines("| a\x1b[8m | ok |\n| \u{2067}b | BLOCKED |\r\n"),
            "| a^[[8m | ok |\n| \\u{2067}b | BLOCKED |^M\n"
        );
    }
}
