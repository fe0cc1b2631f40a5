//! The one escaping routine for text shown on a terminal (pure). Names, ids and messages come
//! from runbooks, inventories, state files, logs and remote hosts: an escape sequence in them
//! could rewrite the operator's screen, a bidi control reorder it, so that a `**BLOCKED**` row
//! reads as `ok`. The console screen, `plan`, `analyze`, autopilot's lines and every error go
//! through here.

use std::fmt::Write;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// One line of untrusted text: control characters become visible `^X` / `\u{..}` forms, and
/// so do the invisible ones (see `is_invisible`); a tab is four spaces.
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

/// JSON as serde_json writes it escapes only C0 controls: DEL, C1 controls and invisible
/// characters pass raw to a terminal that shows the JSON. Outside strings JSON is ASCII, so
/// escaping them as `\uXXXX` keeps the same JSON value; the whitespace between tokens stays
/// (inside strings serde_json has escaped it already).
pub fn json_visible(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_invisible(c) {
            // JSON escapes UTF-16 units: a character beyond the BMP (a tag, private use) is a
            // surrogate pair.
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
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
        c if c.is_control() || is_invisible(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
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
            c if c.is_control() || is_invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether `name` can be written as a name: text on one line of visible characters, with no
/// space at either end. Names go into YAML block scalars and reports line by line, where a
/// hidden line break would start text of its own and leading spaces would change a block's
/// indentation.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && !name.chars().any(|c| c.is_control() || is_invisible(c))
}

/// Characters that show nothing of their own yet change what the operator reads, by their
/// Unicode general category rather than a hand list that misses some: format characters (Cf:
/// bidi controls as in "Trojan Source", CVE-2021-42574, the Arabic letter mark, zero-width
/// characters, the soft hyphen, tag characters), line and paragraph separators (Zl, Zp, which
/// some terminals break lines on), private-use characters (Co, drawn by whatever the font
/// chooses) and unassigned code points (Cn, which a newer terminal may draw as anything).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
    )
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

    #[test]
    fn invisible_characters_are_escaped_by_category() {
        for (c, name) in [
            ('\u{ad}', "soft hyphen (Cf)"),
            ('\u{61c}', "Arabic letter mark (Cf)"),
            ('\u{2028}', "line separator (Zl)"),
            ('\u{2029}', "paragraph separator (Zp)"),
            ('\u{e0001}', "language tag (Cf)"),
            ('\u{e0041}', "tag latin capital A (Cf)"),
            ('\u{e007f}', "cancel tag (Cf)"),
            ('\u{e0000}', "unassigned in the tag block (Cn)"),
            ('\u{e000}', "private use (Co)"),
            ('\u{10ffff}', "noncharacter (Cn)"),
        ] {
            let text = format!("ok{c}BLOCKED");
            let escaped = format!("ok\\u{{{:x}}}BLOCKED", u32::from(c));
            assert_eq!(sanitize(&text), escaped, "{name}");
            assert_eq!(sanitize_lines(&text), escaped, "{name}");
            assert_eq!(escape_in_document(&text, true), escaped, "{name}");
            let json = serde_json::to_string(&text).unwrap();
            let visible = json_visible(&json);
            assert!(visible.is_ascii(), "{name}: {visible}");
            assert_eq!(
                serde_json::from_str::<String>(&visible).unwrap(),
                text,
                "{name}"
            );
        }
        for seen in ["é", "ß", "日本", "✓", "\u{a0}", "👍"] {
            assert_eq!(sanitize(seen), seen);
        }
    }
}
