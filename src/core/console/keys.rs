//! Keys as data: one table per screen drives the key handling, the key bar and the help
//! overlay alike, so what the bar offers is what a key press does.

/// A key as the console sees it; the terminal adapter turns the terminal's events into these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Char(char),
    /// A letter pressed with Ctrl.
    Ctrl(char),
    Up,
    Down,
    Left,
    Right,
    Enter,
    Esc,
    Backspace,
    Home,
    End,
}

/// One line of a screen's key table.
pub struct Binding<A: 'static> {
    pub keys: &'static [Key],
    /// How the keys are written in the help overlay.
    pub label: &'static str,
    pub action: A,
    /// How the key bar shows it (keys, words), when it does: several bindings may share one
    /// entry (the arrows), shown once at the first of them.
    pub bar: Option<(&'static str, &'static str)>,
    pub help: &'static str,
}

/// The action a key has on a screen, by its table.
pub fn lookup<A: Copy>(table: &[Binding<A>], key: Key) -> Option<A> {
    table
        .iter()
        .find(|b| b.keys.contains(&key))
        .map(|b| b.action)
}

/// The key bar's entries, in table order, of the actions `offered` allows now.
pub fn bar<A: Copy>(
    table: &[Binding<A>],
    offered: impl Fn(A) -> bool,
) -> Vec<(&'static str, &'static str)> {
    table
        .iter()
        .filter(|b| offered(b.action))
        .filter_map(|b| b.bar)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKey {
    Up,
    Down,
    Left,
    Right,
    Open,
    Back,
    Help,
    Quit,
}

pub const WATCH_KEYS: &[Binding<WatchKey>] = &[
    Binding {
        keys: &[Key::Up, Key::Char('k')],
        label: "↑ / k",
        action: WatchKey::Up,
        bar: Some(("←↑↓→", "select")),
        help: "select the node above (scroll up in details)",
    },
    Binding {
        keys: &[Key::Down, Key::Char('j')],
        label: "↓ / j",
        action: WatchKey::Down,
        bar: None,
        help: "select the node below (scroll down in details)",
    },
    Binding {
        keys: &[Key::Left, Key::Char('h')],
        label: "← / h",
        action: WatchKey::Left,
        bar: None,
        help: "select the previous node",
    },
    Binding {
        keys: &[Key::Right, Key::Char('l')],
        label: "→ / l",
        action: WatchKey::Right,
        bar: None,
        help: "select the next node",
    },
    Binding {
        keys: &[Key::Enter],
        label: "Enter",
        action: WatchKey::Open,
        bar: Some(("Enter", "details")),
        help: "the selected node's full mntr and conf",
    },
    Binding {
        keys: &[Key::Esc],
        label: "Esc",
        action: WatchKey::Back,
        bar: None,
        help: "close the overlay",
    },
    Binding {
        keys: &[Key::Char('?')],
        label: "?",
        action: WatchKey::Help,
        bar: Some(("?", "help")),
        help: "this help",
    },
    Binding {
        keys: &[Key::Char('q'), Key::Ctrl('c')],
        label: "q / Ctrl-C",
        action: WatchKey::Quit,
        bar: Some(("q", "quit")),
        help: "quit and restore the terminal",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKey {
    Run,
    Confirm,
    Override,
    Cancel,
    Retry,
    Rollback,
    Skip,
    MarkDone,
    Rebind,
    Up,
    Down,
    Help,
    Quit,
}

pub const RUN_KEYS: &[Binding<RunKey>] = &[
    Binding {
        keys: &[Key::Char('r')],
        label: "r",
        action: RunKey::Run,
        bar: Some(("r", "run the current step")),
        help: "run the current step: gates and the predicted state are checked first",
    },
    Binding {
        keys: &[Key::Char('y')],
        label: "y",
        action: RunKey::Confirm,
        bar: Some(("y", "run this step now")),
        help: "confirm a step that asks for confirmation",
    },
    Binding {
        keys: &[Key::Char('o')],
        label: "o",
        action: RunKey::Override,
        bar: Some(("o", "override with a reason")),
        help: "override a blocked step with a typed reason (recorded)",
    },
    Binding {
        keys: &[Key::Char('n'), Key::Char('c'), Key::Esc],
        label: "n / c / Esc",
        action: RunKey::Cancel,
        bar: Some(("c", "cancel")),
        help: "cancel a step that asks for confirmation, an override or approval",
    },
    Binding {
        keys: &[Key::Char('R')],
        label: "R",
        action: RunKey::Retry,
        bar: Some(("R", "retry")),
        help: "after a failure: run the step again",
    },
    Binding {
        keys: &[Key::Char('b')],
        label: "b",
        action: RunKey::Rollback,
        bar: Some(("b", "roll back")),
        help: "after a failure: show the step's rollback, then y runs it",
    },
    Binding {
        keys: &[Key::Char('s')],
        label: "s",
        action: RunKey::Skip,
        bar: Some(("s", "skip (reason)")),
        help: "after a failure: skip the step with a typed reason (recorded)",
    },
    Binding {
        keys: &[Key::Char('d')],
        label: "d",
        action: RunKey::MarkDone,
        bar: Some(("d", "mark done (unknown outcome)")),
        help: "when the outcome is unknown: mark done, typing how you checked",
    },
    Binding {
        keys: &[Key::Char('p')],
        label: "p",
        action: RunKey::Rebind,
        bar: Some(("p", "re-bind the pick")),
        help: "re-bind a host whose pick: no longer fits (↑↓ choose, y)",
    },
    Binding {
        keys: &[Key::Up, Key::Char('k')],
        label: "↑ / k",
        action: RunKey::Up,
        bar: Some(("↑↓", "view steps")),
        help: "look at the step above",
    },
    Binding {
        keys: &[Key::Down, Key::Char('j')],
        label: "↓ / j",
        action: RunKey::Down,
        bar: None,
        help: "look at the step below",
    },
    Binding {
        keys: &[Key::Char('?')],
        label: "?",
        action: RunKey::Help,
        bar: Some(("?", "help")),
        help: "this help",
    },
    Binding {
        keys: &[Key::Char('q'), Key::Ctrl('c')],
        label: "q / Ctrl-C",
        action: RunKey::Quit,
        bar: Some(("q", "quit")),
        help: "quit (not while a command or check runs); the audit log is closed",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayKey {
    PlayPause,
    Faster,
    Slower,
    Forward,
    Back,
    NextMarker,
    PreviousMarker,
    NextStep,
    PreviousStep,
    NextWarning,
    PreviousWarning,
    NextOverride,
    PreviousOverride,
    NextFailure,
    PreviousFailure,
    Start,
    End,
    Up,
    Down,
    Approve,
    Help,
    Quit,
}

pub const REPLAY_KEYS: &[Binding<ReplayKey>] = &[
    Binding {
        keys: &[Key::Char('a')],
        label: "a",
        action: ReplayKey::Approve,
        bar: Some(("a", "APPROVE the waiting step")),
        help: "follow only: approve the step waiting for a second operator",
    },
    Binding {
        keys: &[Key::Char(' ')],
        label: "space",
        action: ReplayKey::PlayPause,
        bar: Some(("space", "play/pause")),
        help: "play / pause (idle gaps over 2 s are shortened)",
    },
    Binding {
        keys: &[Key::Char('+'), Key::Char('=')],
        label: "+ / -",
        action: ReplayKey::Faster,
        bar: Some(("+ -", "speed")),
        help: "speed: 1x, 2x, 4x … 64x",
    },
    Binding {
        keys: &[Key::Char('-')],
        label: "-",
        action: ReplayKey::Slower,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('.'), Key::Right],
        label: ". / ,",
        action: ReplayKey::Forward,
        bar: Some((", .", "record")),
        help: "one record forward / back",
    },
    Binding {
        keys: &[Key::Char(','), Key::Left],
        label: ",",
        action: ReplayKey::Back,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('n')],
        label: "n / p",
        action: ReplayKey::NextMarker,
        bar: None,
        help: "next / previous marker of any kind",
    },
    Binding {
        keys: &[Key::Char('p')],
        label: "p",
        action: ReplayKey::PreviousMarker,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('s')],
        label: "s / S",
        action: ReplayKey::NextStep,
        bar: Some(("s w o f", "next step/warning/override/failure")),
        help: "next / previous step start",
    },
    Binding {
        keys: &[Key::Char('S')],
        label: "S",
        action: ReplayKey::PreviousStep,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('w')],
        label: "w / W",
        action: ReplayKey::NextWarning,
        bar: None,
        help: "next / previous warning (split brain, no quorum)",
    },
    Binding {
        keys: &[Key::Char('W')],
        label: "W",
        action: ReplayKey::PreviousWarning,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('o')],
        label: "o / O",
        action: ReplayKey::NextOverride,
        bar: None,
        help: "next / previous override or skip",
    },
    Binding {
        keys: &[Key::Char('O')],
        label: "O",
        action: ReplayKey::PreviousOverride,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('f')],
        label: "f / F",
        action: ReplayKey::NextFailure,
        bar: None,
        help: "next / previous failure or unknown outcome",
    },
    Binding {
        keys: &[Key::Char('F')],
        label: "F",
        action: ReplayKey::PreviousFailure,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('g'), Key::Home],
        label: "g / G",
        action: ReplayKey::Start,
        bar: None,
        help: "start / end of the log (follow: G returns to live)",
    },
    Binding {
        keys: &[Key::Char('G'), Key::End],
        label: "G",
        action: ReplayKey::End,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Up, Key::Char('k')],
        label: "↑ ↓",
        action: ReplayKey::Up,
        bar: None,
        help: "look at other steps",
    },
    Binding {
        keys: &[Key::Down, Key::Char('j')],
        label: "↓",
        action: ReplayKey::Down,
        bar: None,
        help: "",
    },
    Binding {
        keys: &[Key::Char('?')],
        label: "?",
        action: ReplayKey::Help,
        bar: Some(("?", "help")),
        help: "this help",
    },
    Binding {
        keys: &[Key::Char('q'), Key::Esc, Key::Ctrl('c')],
        label: "q",
        action: ReplayKey::Quit,
        bar: Some(("q", "quit")),
        help: "quit",
    },
];

/// The lines of a help overlay: the bindings `offered` allows that carry a help text, in
/// table order.
pub fn help_rows<A: Copy>(
    table: &[Binding<A>],
    offered: impl Fn(A) -> bool,
) -> Vec<(&'static str, &'static str)> {
    table
        .iter()
        .filter(|b| !b.help.is_empty() && offered(b.action))
        .map(|b| (b.label, b.help))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_key_twice<A>(table: &[Binding<A>]) {
        let mut seen = Vec::new();
        for binding in table {
            for key in binding.keys {
                assert!(!seen.contains(key), "{key:?} is bound twice");
                seen.push(*key);
            }
        }
    }

    #[test]
    fn every_key_is_bound_once_per_screen() {
        no_key_twice(WATCH_KEYS);
        no_key_twice(RUN_KEYS);
        no_key_twice(REPLAY_KEYS);
    }

    #[test]
    fn ctrl_c_quits_everywhere_and_plain_c_does_not() {
        assert_eq!(lookup(WATCH_KEYS, Key::Ctrl('c')), Some(WatchKey::Quit));
        assert_eq!(lookup(WATCH_KEYS, Key::Char('c')), None);
        assert_eq!(lookup(RUN_KEYS, Key::Ctrl('c')), Some(RunKey::Quit));
        assert_eq!(lookup(RUN_KEYS, Key::Char('c')), Some(RunKey::Cancel));
        assert_eq!(lookup(REPLAY_KEYS, Key::Ctrl('c')), Some(ReplayKey::Quit));
    }

    #[test]
    fn the_bar_shows_only_what_is_offered_in_table_order() {
        let offered = bar(RUN_KEYS, |a| matches!(a, RunKey::Quit | RunKey::Confirm));
        assert_eq!(offered, vec![("y", "run this step now"), ("q", "quit")]);
    }
}
