//! Pure: `--autopilot`'s heartbeat. While it waits (for gates, a command, a step's wait) it
//! prints a line naming what it waits for at least every 10 s, so an operator watching a hung
//! node can tell the autopilot is alive and why it does not move.

use crate::ensemble::Millis;
use crate::runbook::engine::{Status, CHECK_PENDING};
use crate::runbook::plan::describe_gate;
use crate::text::escape::sanitize;

use super::run::RunState;

/// The time between two lines: below the promised 10 s by more than the autopilot's tick
/// (250 ms), so a late tick never stretches a gap past it.
pub const EVERY_MS: Millis = 8_000;

/// When the current wait started and when its last line was printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heartbeat {
    waiting: Option<(String, Millis, Millis)>,
}

impl Heartbeat {
    /// The line to print now, if any: `waiting` names what the autopilot waits for (`None`
    /// when it does not wait). A new wait (another step or state) starts a new count.
    pub fn beat(&mut self, now: Millis, waiting: Option<(String, String)>) -> Option<String> {
        let Some((key, what)) = waiting else {
            self.waiting = None;
            return None;
        };
        match &mut self.waiting {
            Some((current, started, last)) if *current == key => {
                if now.saturating_sub(*last) < EVERY_MS {
                    return None;
                }
                *last = now;
                let waited = now.saturating_sub(*started) / 1000;
                // Gate reasons quote servers' answers: nothing of theirs reaches the terminal
                // as a control sequence.
                Some(sanitize(&format!(
                    "  ... {waited} s: still waiting for {what}"
                )))
            }
            _ => {
                self.waiting = Some((key, now, now));
                None
            }
        }
    }
}

/// What the autopilot waits for in `state`, as (a key that changes when the wait changes, the
/// words for it); `None` when it does not wait.
pub fn waiting_for(state: &RunState) -> Option<(String, String)> {
    let engine = &state.engine;
    let index = engine.current()?;
    let step = &engine.procedure.steps[index];
    let live = &state.watch.ensemble;
    let unmet = |gates: &[crate::runbook::procedure::Gate]| -> Vec<String> {
        gates
            .iter()
            .filter_map(|g| match engine.gate(g, live) {
                Err(why) if why != CHECK_PENDING => {
                    Some(format!("{} ({why})", describe_gate(&engine.procedure, g)))
                }
                _ => None,
            })
            .collect()
    };
    let (kind, what) = match &engine.status[index] {
        Status::Pending if engine.prompt.is_none() => {
            if engine.checks_running() {
                ("checks", format!("the check commands of `{}`", step.id))
            } else {
                let gates = unmet(&step.gates);
                if gates.is_empty() {
                    return None;
                }
                (
                    "gates",
                    format!("the gates of `{}`: {}", step.id, gates.join("; ")),
                )
            }
        }
        Status::Running | Status::Failed(_) | Status::OutcomeUnknown(_)
            if matches!(engine.status[index], Status::Running) || engine.commands_running() =>
        {
            let hosts: Vec<String> = step
                .commands
                .iter()
                .map(|c| engine.procedure.hosts[c.host].name.clone())
                .collect();
            (
                "running",
                format!(
                    "the commands of `{}` on {} to end",
                    step.id,
                    hosts.join(", ")
                ),
            )
        }
        Status::Waiting { .. } => {
            let until = step
                .wait
                .as_ref()
                .map(|w| unmet(&w.until))
                .unwrap_or_default();
            let limit = step.wait.as_ref().map_or(0, |w| w.timeout.as_secs());
            let what = if until.is_empty() {
                format!("`{}` to be seen back after its commands", step.id)
            } else {
                format!(
                    "`{}` (gives up after {limit} s): {}",
                    step.id,
                    until.join("; ")
                )
            };
            ("wait", what)
        }
        _ => return None,
    };
    Some((format!("{}:{kind}", step.id), what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(what: &str) -> Option<(String, String)> {
        Some((format!("restart@zk1:{what}"), what.to_string()))
    }

    #[test]
    fn a_long_wait_gets_a_line_at_least_every_ten_seconds_naming_it() {
        let mut heartbeat = Heartbeat::default();
        let mut printed = Vec::new();
        // The autopilot's loop ticks every 250 ms for 60 s of one wait.
        for now in (1_000..=61_000).step_by(250) {
            if let Some(line) = heartbeat.beat(now, wait("zk1 back as a follower")) {
                printed.push((now, line));
            }
        }
        assert!(printed.len() >= 6, "{printed:?}");
        let mut last = 1_000;
        for (at, line) in &printed {
            assert!(at - last <= 10_000, "{printed:?}");
            assert!(
                line.ends_with("still waiting for zk1 back as a follower"),
                "{line}"
            );
            last = *at;
        }
        assert!(61_000 - last <= 10_000);
        assert_eq!(
            printed[0].1,
            "  ... 8 s: still waiting for zk1 back as a follower"
        );
    }

    /// A `fourlw` gate's reason quotes the server's answer: an answer carrying a title change
    /// and a screen clear reaches the line escaped. It reached the terminal raw.
    #[test]
    fn a_server_s_control_sequences_never_reach_the_line() {
        use crate::ensemble::{answered, PollReport};
        use crate::runbook::fixtures::{engine, live, FOLLOWER_SRVR};
        use crate::zk::fourlw::Command;
        let engine = engine(
            "  - {id: a, title: A, gates: [{fourlw: {host: zk1, command: srvr, contains: 'Mode: leader'}}]}\n",
        );
        let mut ensemble = live(&[]);
        let hostile = FOLLOWER_SRVR.replacen(
            "Zookeeper version: ",
            "Zookeeper version: \u{1b}]0;owned\u{7}\u{1b}[2J",
            1,
        );
        ensemble.apply(&PollReport::fourlw(
            0,
            21_000,
            vec![answered(Command::Srvr, Ok(hostile))],
        ));
        let state = crate::console::fixtures::state_of(engine, ensemble);
        let waiting = waiting_for(&state);
        let mut heartbeat = Heartbeat::default();
        heartbeat.beat(0, waiting.clone());
        let line = heartbeat.beat(EVERY_MS, waiting).expect("a line");
        assert!(line.contains("owned"), "{line}");
        assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
    }

    #[test]
    fn a_new_wait_starts_its_own_count_and_no_wait_prints_nothing() {
        let mut heartbeat = Heartbeat::default();
        assert_eq!(heartbeat.beat(0, wait("gates")), None);
        assert!(heartbeat.beat(8_000, wait("gates")).is_some());
        assert_eq!(heartbeat.beat(9_000, wait("wait")), None);
        assert_eq!(heartbeat.beat(16_000, wait("wait")), None);
        assert!(heartbeat.beat(17_000, wait("wait")).is_some());
        assert_eq!(heartbeat.beat(30_000, None), None);
        assert_eq!(heartbeat.beat(40_000, wait("wait")), None);
    }
}
