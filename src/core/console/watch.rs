//! The watch screen's model and its pure update: every key press and every poll result is a
//! value in, a changed state out — testable without a terminal.

use super::keys::WatchKey;
use crate::ensemble::live::LiveVerdict;
use crate::ensemble::{EnsembleState, Millis, NodeState, PollReport};
use crate::inventory::{HostRole, Inventory};
use crate::poll::QUIET_EVERY;
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
    Read(SshRead),
}

/// What a read of a node over SSH said, or why it failed, `at` by the adapter's clock: the
/// watch and the run console take the same two.
#[derive(Debug, Clone, PartialEq)]
pub enum SshRead {
    /// Its config (its `config` verb: `zoo.cfg` and any dynamic file).
    ZooCfg {
        node: usize,
        result: Result<String, String>,
        at: Millis,
    },
    /// Its `status` verb output (its process id).
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

/// The rows it takes to show `cards` nodes as cards at this width, and the line that lists the
/// idle spares when there are any.
pub fn cards_height(width: u16, cards: usize, spare_line: bool) -> u16 {
    let rows = cards.div_ceil(cards_per_row(width)).max(1);
    u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_mul(CARD_HEIGHT)
        .saturating_add(u16::from(spare_line))
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
    /// `nodes` get a line each in the views panel; `cards` is what showing them as cards
    /// takes (`WatchState::cards_height`).
    pub fn of(height: u16, nodes: usize, cards: u16) -> WatchLayout {
        let view_rows = u16::try_from(nodes)
            .unwrap_or(u16::MAX)
            .saturating_add(2)
            .min(height / 3)
            .max(3);
        let room = height.saturating_sub(3 + view_rows);
        WatchLayout {
            as_cards: cards <= room,
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

/// Which inventory hosts are spares (`role: spare`), node by node: the console lists those
/// not started yet on one line instead of a DOWN card each.
pub fn spares_of(inventory: &Inventory) -> Vec<bool> {
    inventory
        .hosts
        .iter()
        .map(|host| host.role == HostRole::Spare)
        .collect()
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
    /// The poll interval: a node's figures are shown with their age only once they are older
    /// than its cadence explains ([`overdue`]).
    pub interval: Millis,
    /// The terminal's size: the nodes are laid out by `WatchLayout`, and the arrows move by
    /// its rows.
    pub width: u16,
    pub height: u16,
    /// Node by node, whether the inventory names it a spare (`spares_of`).
    pub spares: Vec<bool>,
    pub quit: bool,
}

impl WatchState {
    pub fn verdict(&self) -> &Result<Verdict, String> {
        &self.analyzed.verdict
    }

    pub fn layout(&self) -> WatchLayout {
        self.layout_at(self.width, self.height)
    }

    /// The layout on an area of this size.
    pub fn layout_at(&self, width: u16, height: u16) -> WatchLayout {
        WatchLayout::of(height, self.ensemble.nodes.len(), self.cards_height(width))
    }

    /// Spares that never answered since the console started: they stand ready for a
    /// `spare: true` step and say nothing a card would, so they share one line. Once a spare
    /// answers it gets its card, and keeps it.
    pub fn idle_spares(&self) -> Vec<usize> {
        self.ensemble
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, node)| {
                self.spares.get(*i).copied().unwrap_or(false) && node.last_ok_at.is_none()
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The nodes drawn as cards, in the inventory's order: all but the idle spares.
    pub fn carded(&self) -> Vec<usize> {
        let idle = self.idle_spares();
        (0..self.ensemble.nodes.len())
            .filter(|i| !idle.contains(i))
            .collect()
    }

    /// The rows the cards take at this width, the spares' line included.
    pub fn cards_height(&self, width: u16) -> u16 {
        let idle = self.idle_spares().len();
        cards_height(width, self.ensemble.nodes.len() - idle, idle > 0)
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
            interval: 1_000,
            width: CARD_WIDTH,
            height: 24,
            spares: Vec::new(),
            quit: false,
        }
    }
}

/// How old a node's last good answer is, once that is more than its cadence explains: three
/// of its gaps (an interval, or [`QUIET_EVERY`] of them for a node on a session, which tells a
/// change of mode without a question), and at least 10 s. Within that the card names the
/// route instead, so an idle screen has no clock to redraw every second.
pub fn overdue(node: &NodeState, now: Millis, interval: Millis) -> Option<Millis> {
    let gap = if node.linked {
        interval.saturating_mul(QUIET_EVERY)
    } else {
        interval
    };
    node.age(now)
        .filter(|age| *age >= gap.saturating_mul(3).max(10_000))
}

/// A view's age as the views panel shows it, in whole minutes: it is read again every few
/// dozen intervals, so seconds would only make the screen tick.
pub fn view_age_minutes(now: Millis, seen_at: Millis) -> Millis {
    now.saturating_sub(seen_at) / 60_000
}

/// What of the clock the screen shows for a node: its overdue age in whole seconds and its
/// view's age in minutes. A tick redraws only when one of them changes.
fn clock_shown(
    node: &NodeState,
    now: Millis,
    interval: Millis,
) -> (Option<Millis>, Option<Millis>) {
    (
        overdue(node, now, interval).map(|age| age / 1000),
        node.view.as_ref().map(|v| view_age_minutes(now, v.seen_at)),
    )
}

/// What of the clock the screen shows now, node by node.
fn clocks(state: &WatchState) -> Vec<(Option<Millis>, Option<Millis>)> {
    state
        .ensemble
        .nodes
        .iter()
        .map(|node| clock_shown(node, state.now, state.interval))
        .collect()
}

/// What a node's card, row and view line show, to tell a poll that changed nothing on screen
/// from one that did: every poll of an idle ensemble is one of the former. Counters no card
/// shows (`srvr`'s packets, most of `mntr`) are left out.
#[derive(PartialEq)]
struct Shown {
    health: crate::ensemble::Health,
    zxid: Option<crate::zk::zxid::Zxid>,
    srvr: Option<(crate::zk::fourlw::Latency, u64, Option<u64>, u64, String)>,
    sync: Option<(Option<u64>, Option<u64>, Option<String>)>,
    view: Option<(crate::zk::config::View, crate::ensemble::ViewSource, bool)>,
    error: Option<String>,
    linked: bool,
    round_trips: Vec<f64>,
    sources: (
        Option<crate::ensemble::Source>,
        Option<crate::ensemble::Source>,
    ),
}

fn shown(node: &NodeState) -> Shown {
    Shown {
        health: node.health.clone(),
        zxid: node.zxid(),
        srvr: node.srvr.as_ref().map(|s| {
            (
                s.latency,
                s.outstanding,
                s.connections,
                s.node_count,
                s.version_text.clone(),
            )
        }),
        sync: node.mntr.as_ref().map(|m| {
            (
                m.synced_voting_followers(),
                m.pending_syncs(),
                m.get("zk_peer_state").map(str::to_string),
            )
        }),
        view: node
            .view
            .as_ref()
            .map(|v| (v.view.clone(), v.source, node.current_view().is_some())),
        error: node.error.clone(),
        linked: node.linked,
        round_trips: node.round_trips.iter().copied().collect(),
        sources: (node.srvr_source, node.mntr_source),
    }
}

/// Applies one action; true when something on screen changed.
pub fn update(state: &mut WatchState, action: Action) -> bool {
    match action {
        Action::Tick(now) => {
            let before = clocks(state);
            state.now = now;
            before != clocks(state)
        }
        Action::Poll(report) => {
            let before = state.ensemble.nodes.get(report.node).map(shown);
            let clocks_before = clocks(state);
            state.now = state.now.max(report.at);
            state.ensemble.apply(&report);
            // Not only when the recorded signature changes: a view becomes current again when
            // a restarted server shows the same `conf` as before, and only the verdict cares.
            let verdict_changed = state.analyzed.refresh(&state.ensemble);
            let after = state.ensemble.nodes.get(report.node).map(shown);
            // The detail overlay shows all of `mntr` and `conf`: drawn after every poll.
            let detail = matches!(state.overlay, Overlay::Detail { .. });
            verdict_changed || detail || before != after || clocks_before != clocks(state)
        }
        Action::Read(SshRead::ZooCfg { node, result, at }) => {
            if state.ensemble.apply_zoo_cfg(node, result, at) {
                state.analyzed.refresh(&state.ensemble);
            }
            true
        }
        Action::Read(SshRead::ProcessId { node, result, at }) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::{answered, NodeTarget};
    use crate::zk::fourlw::Command;
    use crate::zk::zxid::Zxid;

    const NOW: Millis = 1_790_000_000_000;
    const SRVR: &str = include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt");

    fn watching() -> WatchState {
        let target = NodeTarget {
            admin: String::new(),
            name: "zk1".into(),
            sid: Some(1),
            client: "127.0.0.2:2181".into(),
            peer: None,
            declared_view: None,
        };
        let mut state = WatchState::new("t".into(), EnsembleState::new(vec![target]), NOW);
        let first = PollReport {
            at: NOW,
            answers: vec![answered(Command::Srvr, Ok(SRVR.to_string()))],
            linked: true,
            ..PollReport::default()
        };
        assert!(update(&mut state, Action::Poll(first)), "the first answer");
        state
    }

    fn ping(at: Millis, zxid: Zxid) -> Action {
        Action::Poll(PollReport {
            at,
            ping: Some(Ok(zxid)),
            linked: true,
            ..PollReport::default()
        })
    }

    #[test]
    fn a_ping_that_shows_nothing_new_draws_nothing_and_a_new_zxid_does() {
        let mut state = watching();
        let zxid = state.ensemble.nodes[0].zxid().expect("srvr's zxid");
        assert!(!update(&mut state, ping(NOW + 1_000, zxid)));
        assert!(!update(&mut state, ping(NOW + 2_000, zxid)));
        assert!(update(&mut state, ping(NOW + 3_000, Zxid(zxid.0 + 1))));
        assert_eq!(state.ensemble.nodes[0].zxid(), Some(Zxid(zxid.0 + 1)));
    }

    #[test]
    fn an_idle_screen_has_no_clock_until_a_node_is_overdue() {
        let mut state = watching();
        let ticks = |state: &mut WatchState, from: Millis, to: Millis| {
            (from..to)
                .step_by(500)
                .filter(|at| update(state, Action::Tick(*at)))
                .count()
        };
        // On a session the card names its route: nothing ticks for three quiet gaps.
        assert_eq!(ticks(&mut state, NOW, NOW + 14_500), 0);
        assert_eq!(overdue(&state.ensemble.nodes[0], NOW + 14_000, 1_000), None);
        // Then the age shows, and changes every second.
        assert_eq!(ticks(&mut state, NOW + 15_000, NOW + 20_000), 5);
        assert_eq!(
            overdue(&state.ensemble.nodes[0], NOW + 20_000, 1_000),
            Some(20_000)
        );
        // An answer makes it current again, which the screen shows at once.
        let zxid = state.ensemble.nodes[0].zxid().expect("zxid");
        assert!(update(&mut state, ping(NOW + 20_100, zxid)));
    }

    #[test]
    fn without_a_session_a_node_is_overdue_after_three_intervals_and_at_least_10_s() {
        let mut state = watching();
        state.ensemble.nodes[0].linked = false;
        let node = &state.ensemble.nodes[0];
        assert_eq!(overdue(node, NOW + 9_999, 1_000), None);
        assert_eq!(overdue(node, NOW + 10_000, 1_000), Some(10_000));
        assert_eq!(overdue(node, NOW + 170_000, 60_000), None);
        assert_eq!(overdue(node, NOW + 180_000, 60_000), Some(180_000));
    }
}
