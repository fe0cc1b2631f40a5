//! The run screen's key bar is the key table's: what it offers is what the keys do now.

use super::run::draw_run;
use crate::console::fixtures::failed_restart;
use crate::console::keys::{bar, RUN_KEYS};
use crate::console::run::{offered, RunState};

fn bottom_lines(state: &RunState) -> String {
    let screen = super::rendered(200, 50, |frame, look| draw_run(frame, state, look));
    let lines: Vec<&str> = screen.lines().collect();
    lines[lines.len().saturating_sub(3)..].join("\n")
}

#[test]
fn after_a_failure_the_bar_offers_exactly_what_the_keys_do() {
    let state = failed_restart();
    let shown = bottom_lines(&state);
    for (key, what) in bar(RUN_KEYS, |action| offered(&state, action)) {
        assert!(
            shown.contains(&format!("{key} {what}")),
            "{key} {what}:\n{shown}"
        );
    }
    assert!(
        !shown.contains("mark done"),
        "d does nothing after a plain failure, so the bar does not offer it:\n{shown}"
    );
    assert!(!shown.contains("run the current step"), "{shown}");
}
