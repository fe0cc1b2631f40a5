//! The watch screen's model and its pure update: every key press and every poll result is a
//! value in, a changed state out — testable without a terminal.

use super::keys::WatchKey;
use crate::ensemble::{EnsembleState, Millis, PollReport};
use crate::live::LiveVerdict;
use crate::quorum::Verdict;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Key(WatchKey),
    /// The terminal's size changed (and once at the start).
    Resize {
        width: u16,
        height: u16,
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

/// The size of a node card, and the cards a row of this width holds.
pub const CARD_WIDTH: u16 = 38;
pub const CARD_HEIGHT: u16 = 9;

pub fn cards_per_row(width: u16) -> usize {
    usize::from((width / CARD_WIDTH).max(1))
}

/// The rows it takes to show every node as a card at this width.
pub fn cards_height(width: u16, count: usize) -> u16 {
    let rows = count.div_ceil(cards_per_row(width)).max(1);
    u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_mul(CARD_HEIGHT)
}

/// How the watch screen lays out: rows for the node cards (or one line per node when not every
/// card fits) and for the config views, between the two-line summary and the key bar. The
/// view draws by it and the arrow keys move by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchLayout {
    pub as_cards: bool,
    pub view_rows: u16,
}

impl WatchLayout {
    pub fn of(width: u16, height: u16, count: usize) -> WatchLayout {
        let view_rows = u16::try_from(count)
            .unwrap_or(u16::MAX)
            .saturating_add(2)
            .min(height / 3)
            .max(3);
        let room = height.saturating_sub(3 + view_rows);
        WatchLayout {
            as_cards: cards_height(width, count) <= room,
            view_rows,
        }
    }

    /// Nodes per row, as the arrows see them: a row of cards, or one line per node.
    pub fn columns(&self, width: u16) -> usize {
        if self.as_cards {
            cards_per_row(width)
        } else {
            1
        }
    }
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
    /// The analyzer's verdict on the live state (`analyzed.verdict`), or why there is none;
    /// worked out again only when its inputs change.
    pub analyzed: LiveVerdict,
    pub selected: usize,
    pub overlay: Overlay,
    pub now: Millis,
    /// The terminal's size: the nodes are laid out by `WatchLayout`, and the arrows move by
    /// its rows.
    pub width: u16,
    pub height: u16,
    pub quit: bool,
}

impl WatchState {
    pub fn verdict(&self) -> &Result<Verdict, String> {
        &self.analyzed.verdict
    }

    pub fn layout(&self) -> WatchLayout {
        WatchLayout::of(self.width, self.height, self.ensemble.nodes.len())
    }

    pub fn new(title: String, ensemble: EnsembleState, now: Millis) -> WatchState {
        let analyzed = LiveVerdict::of(&ensemble);
        WatchState {
            title,
            ensemble,
            analyzed,
            selected: 0,
            overlay: Overlay::None,
            now,
            width: CARD_WIDTH,
            height: 24,
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
            state.analyzed.refresh(&state.ensemble);
            true
        }
        Action::ZooCfg { node, result, at } => {
            if state.ensemble.apply_zoo_cfg(node, result, at) {
                state.analyzed.refresh(&state.ensemble);
            }
            true
        }
        Action::ProcessId { node, result, at } => {
            if state.ensemble.apply_pid(node, result, at) {
                state.analyzed.refresh(&state.ensemble);
            }
            true
        }
        Action::Key(key) => {
            on_key(state, key);
            true
        }
        Action::Resize { width, height } => {
            let changed = (state.width, state.height) != (width, height);
            state.width = width;
            state.height = height;
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
            state.selected = (state.selected + state.layout().columns(state.width)).min(count - 1)
        }
        (Overlay::None, WatchKey::Up) => {
            state.selected = state
                .selected
                .saturating_sub(state.layout().columns(state.width))
        }
        _ => {}
    }
}
