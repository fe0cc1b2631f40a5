//! The watch screen's model and its pure update: every key press and every poll result is a
//! value in, a changed state out — testable without a terminal.

use super::keys::WatchKey;
use crate::ensemble::{EnsembleState, Millis, PollReport};
use crate::quorum::Verdict;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Key(WatchKey),
    /// The terminal's size changed (and once at the start).
    Resize {
        width: u16,
    },
    Poll(PollReport),
    Tick(Millis),
    /// A node's `zoo.cfg` as read over SSH, or why it could not be read.
    ZooCfg {
        node: usize,
        result: Result<String, String>,
        at: Millis,
    },
    /// A node's `status` verb output over SSH (its process id), or why it failed.
    ProcessId {
        node: usize,
        result: Result<String, String>,
        at: Millis,
    },
}

/// The width of a node card, and the rows of cards a width holds.
pub const CARD_WIDTH: u16 = 38;

pub fn cards_per_row(width: u16) -> usize {
    usize::from((width / CARD_WIDTH).max(1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Detail { scroll: u16 },
}

#[derive(Debug, Clone)]
pub struct WatchState {
    pub title: String,
    pub ensemble: EnsembleState,
    /// The analyzer's verdict on the live state, or why there is none.
    pub verdict: Result<Verdict, String>,
    pub selected: usize,
    pub overlay: Overlay,
    pub now: Millis,
    /// The terminal's width: the cards are laid out in rows of `cards_per_row(width)`, and
    /// the arrows move by those rows.
    pub width: u16,
    pub quit: bool,
}

impl WatchState {
    pub fn new(title: String, ensemble: EnsembleState, now: Millis) -> WatchState {
        let verdict = crate::live::verdict(&ensemble);
        WatchState {
            title,
            ensemble,
            verdict,
            selected: 0,
            overlay: Overlay::None,
            now,
            width: CARD_WIDTH,
            quit: false,
        }
    }
}

/// Applies one action; true when something on screen changed.
pub fn update(state: &mut WatchState, action: Action) -> bool {
    match action {
        Action::Tick(now) => {
            // Ages are shown in whole seconds: a tick within the same second shows nothing new.
            let changed = now / 1000 != state.now / 1000;
            state.now = now;
            changed
        }
        Action::Poll(report) => {
            state.now = state.now.max(report.at);
            state.ensemble.apply(&report);
            // Not only when the recorded signature changes: a view becomes current again when
            // a restarted server shows the same `conf` as before, and only the verdict cares.
            state.verdict = crate::live::verdict(&state.ensemble);
            true
        }
        Action::ZooCfg { node, result, at } => {
            if state.ensemble.apply_zoo_cfg(node, result, at) {
                state.verdict = crate::live::verdict(&state.ensemble);
            }
            true
        }
        Action::ProcessId { node, result, at } => {
            if state.ensemble.apply_pid(node, result, at) {
                state.verdict = crate::live::verdict(&state.ensemble);
            }
            true
        }
        Action::Key(key) => {
            on_key(state, key);
            true
        }
        Action::Resize { width } => {
            let changed = state.width != width;
            state.width = width;
            changed
        }
    }
}

fn on_key(state: &mut WatchState, key: WatchKey) {
    let count = state.ensemble.nodes.len();
    match (state.overlay, key) {
        (_, WatchKey::Quit) => state.quit = true,
        (Overlay::None, WatchKey::Help) => state.overlay = Overlay::Help,
        (Overlay::Help, WatchKey::Help | WatchKey::Back) => state.overlay = Overlay::None,
        (Overlay::Detail { .. }, WatchKey::Back | WatchKey::Open) => state.overlay = Overlay::None,
        (Overlay::Detail { scroll }, WatchKey::Down) => {
            state.overlay = Overlay::Detail {
                scroll: scroll.saturating_add(1),
            }
        }
        (Overlay::Detail { scroll }, WatchKey::Up) => {
            state.overlay = Overlay::Detail {
                scroll: scroll.saturating_sub(1),
            }
        }
        (Overlay::None, WatchKey::Open) if count > 0 => {
            state.overlay = Overlay::Detail { scroll: 0 }
        }
        (Overlay::None, WatchKey::Right) if count > 0 => {
            state.selected = (state.selected + 1) % count
        }
        (Overlay::None, WatchKey::Left) if count > 0 => {
            state.selected = (state.selected + count - 1) % count
        }
        (Overlay::None, WatchKey::Down) if count > 0 => {
            state.selected = (state.selected + cards_per_row(state.width)).min(count - 1)
        }
        (Overlay::None, WatchKey::Up) => {
            state.selected = state.selected.saturating_sub(cards_per_row(state.width))
        }
        _ => {}
    }
}
