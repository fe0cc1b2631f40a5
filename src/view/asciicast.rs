//! `zkpilot audit export --format asciicast`: the replay screen as an asciicast v2 recording.
//!
//! Each record of the log is one frame: the replay screen with that record applied, drawn on
//! ratatui's `TestBackend` and turned into ANSI text, stamped with the record's own time. Only
//! rows that changed since the previous frame are written, each addressed with a cursor move,
//! so a long session stays small. Pauses longer than `IDLE_LIMIT_S` are kept in the times (the
//! file is evidence) and shortened on playback by the header's `idle_time_limit`.
//!
//! Format: <https://docs.asciinema.org/manual/asciicast/v2/> — a JSON header line, then one
//! `[seconds, "o", text]` line per frame.

use std::fmt::Write;

use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, CellWidth};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use serde_json::json;

use super::replay::{draw_replay, Mode, ReplayScreen};
use super::Look;
use crate::replay::Player;

/// What asciinema players squeeze a longer pause to.
pub const IDLE_LIMIT_S: f64 = 2.0;

/// The whole recording. `player` is moved from its start to its end.
pub fn render(
    player: &mut Player,
    source: &str,
    look: &Look,
    (width, height): (u16, u16),
) -> Result<String, String> {
    let first = player.records().first().map(|r| r.ts);
    let title = player
        .state
        .session
        .as_ref()
        .or_else(|| {
            player.records().iter().find_map(|r| match &r.event {
                crate::audit::AuditEvent::SessionStart(info) => Some(info),
                _ => None,
            })
        })
        .map_or_else(
            || format!("zkpilot replay of {source}"),
            |s| format!("zkpilot replay: {} by {}", s.runbook_path, s.operator),
        );
    let mut header = json!({
        "version": 2,
        "width": width,
        "height": height,
        "idle_time_limit": IDLE_LIMIT_S,
        "title": title,
        "env": {"TERM": "xterm-256color"},
    });
    if let Some(first) = first {
        header["timestamp"] = json!(first.unix_millis().div_euclid(1000));
    }
    let mut cast = header.to_string();
    cast.push('\n');

    let mut terminal = Terminal::new(TestBackend::new(width, height)).map_err(|e| e.to_string())?;
    let mut previous: Option<Buffer> = None;
    player.playing = false;
    for position in 0..=player.records().len() {
        player.seek(position);
        let screen = ReplayScreen {
            player,
            source,
            mode: Mode::Replay,
            message: None,
        };
        terminal
            .draw(|frame| draw_replay(frame, &screen, look))
            .map_err(|e| e.to_string())?;
        let buffer = terminal.backend().buffer().clone();
        let text = frame_text(previous.as_ref(), &buffer);
        if !text.is_empty() {
            // The frame shows the record just applied, so it appears at that record's time.
            let at = match (position.checked_sub(1), first) {
                (Some(last), Some(first)) => {
                    let millis = player.records()[last].ts.unix_millis() - first.unix_millis();
                    millis.max(0) as f64 / 1000.0
                }
                _ => 0.0,
            };
            let event = json!([(at * 1e6).round() / 1e6, "o", text]);
            cast.push_str(&event.to_string());
            cast.push('\n');
        }
        previous = Some(buffer);
    }
    Ok(cast)
}

/// The ANSI text that turns the screen `before` into `after`: the whole screen the first time,
/// then only the rows that changed.
pub fn frame_text(before: Option<&Buffer>, after: &Buffer) -> String {
    let mut out = String::new();
    if before.is_none() {
        // Hide the cursor and start from a clear screen.
        out.push_str("\x1b[?25l\x1b[2J");
    }
    let area = after.area;
    for y in 0..area.height {
        let row = |buffer: &Buffer| -> Vec<ratatui::buffer::Cell> {
            (0..area.width)
                .map(|x| buffer[(area.x + x, area.y + y)].clone())
                .collect()
        };
        let now = row(after);
        if before.is_some_and(|b| b.area == area && row(b) == now) {
            continue;
        }
        let _ = write!(out, "\x1b[{};1H", y + 1);
        let mut current = None;
        // A wide character covers the cells after it, which hold nothing to print.
        let mut covered = 0;
        for cell in &now {
            if covered > 0 {
                covered -= 1;
                continue;
            }
            let style = (cell.fg, cell.bg, cell.modifier);
            if current != Some(style) {
                out.push_str(&sgr(cell.fg, cell.bg, cell.modifier));
                current = Some(style);
            }
            out.push_str(cell.symbol());
            covered = cell.cell_width().saturating_sub(1);
        }
        out.push_str("\x1b[0m");
    }
    out
}

/// One SGR sequence setting exactly these colours and modifiers.
fn sgr(fg: Color, bg: Color, modifier: Modifier) -> String {
    let mut codes = vec!["0".to_string()];
    for (flag, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::SLOW_BLINK, "5"),
        (Modifier::REVERSED, "7"),
        (Modifier::HIDDEN, "8"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if modifier.contains(flag) {
            codes.push(code.to_string());
        }
    }
    codes.extend(colour(fg, false));
    codes.extend(colour(bg, true));
    format!("\x1b[{}m", codes.join(";"))
}

fn colour(color: Color, background: bool) -> Option<String> {
    let base = if background { 40 } else { 30 };
    let bright = if background { 100 } else { 90 };
    let extended = if background { 48 } else { 38 };
    Some(match color {
        Color::Reset => return None,
        Color::Indexed(i) => format!("{extended};5;{i}"),
        Color::Rgb(r, g, b) => format!("{extended};2;{r};{g};{b}"),
        named => {
            let (first, offset) = match PLAIN.iter().position(|&c| c == named) {
                Some(offset) => (base, offset),
                None => (bright, BRIGHT.iter().position(|&c| c == named)?),
            };
            format!("{}", first + offset)
        }
    })
}

/// The eight colours in ANSI's order, plain and bright: a code is its row's first plus the
/// colour's place in it.
const PLAIN: [Color; 8] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
];
const BRIGHT: [Color; 8] = [
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::fixtures::recorded_session;
    use crate::replay::Verification;

    fn cast() -> String {
        let log = recorded_session();
        let verified = Verification::Intact(log.verification.clone().unwrap());
        let mut player = Player::new(log.records, verified);
        render(
            &mut player,
            "session.jsonl",
            &crate::view::test_look(),
            (120, 40),
        )
        .unwrap()
    }

    #[test]
    fn the_cast_is_a_v2_header_then_output_events_in_time_order() {
        let cast = cast();
        let mut lines = cast.lines();
        let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(header["version"], 2);
        assert_eq!(
            (header["width"].as_u64(), header["height"].as_u64()),
            (Some(120), Some(40))
        );
        assert_eq!(header["timestamp"], 1_795_425_400);
        assert!(header["title"]
            .as_str()
            .unwrap()
            .contains("rolling-restart.yaml by alice"));
        let mut last = 0.0;
        let mut events = 0;
        for line in lines {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            let [time, kind, data] = event.as_array().unwrap().as_slice() else {
                panic!("{line}")
            };
            let time = time.as_f64().unwrap();
            assert!(time >= last, "times never go back: {line}");
            assert_eq!(kind, "o");
            assert!(data.is_string());
            last = time;
            events += 1;
        }
        assert_eq!(events, 21, "the empty screen, then one frame per record");
        assert_eq!(last, 73.0, "the last record, 73 s after the first");
    }

    #[test]
    fn frames_carry_the_screen_and_never_the_recorded_escape_sequences() {
        let cast = cast();
        let text: String = cast
            .lines()
            .skip(1)
            .map(|l| {
                let event: serde_json::Value = serde_json::from_str(l).unwrap();
                event[2].as_str().unwrap().to_string()
            })
            .collect();
        assert!(text.starts_with("\x1b[?25l\x1b[2J"));
        for expected in ["REPLAY (read-only)", "restart-second", "FAILED", "LEADER"] {
            assert!(text.contains(expected), "{expected}");
        }
        assert_eq!(
            text.matches("\x1b[2J").count(),
            1,
            "the recorded output's own clear-screen is escaped, not replayed"
        );
    }
}
