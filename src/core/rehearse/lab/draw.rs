//! Pure: draws ensemble states the way migrations leave them half done, from a seed.
//!
//! A state starts from a base ensemble (sids 1..=m on hosts 0..m, every host listing the same
//! view) and applies one or two *changes*: a server moved to a new host, the ensemble expanded
//! or shrunk, an id taken over by a replacement while the old server still runs, an observer
//! promoted to participant. Each running host has applied each change or not (a view updated
//! part way), except where ZooKeeper itself forbids it: a server always lists itself at its own
//! address with its own role, or it would not start as that server. Some servers may then be
//! left down. The start order is drawn too: the split brain reproduced on 3.8 needed R, S, T
//! started before P and Q (`shared/research/README.md`).
//!
//! The generator has its own PRNG (SplitMix64) so a seed draws the same states whatever crate
//! versions the build resolves, and each trial is drawn from `(seed, trial)` alone, so trial 17
//! of a 200-trial run is trial 17 of a 20-trial run.

use std::fmt;
use std::ops::RangeInclusive;

use super::own_line;

/// The smallest and largest number of hosts in one state.
pub const MIN_HOSTS: usize = 4;
pub const MAX_HOSTS: usize = 7;

/// The longest pause drawn between two starts within a group.
pub const MAX_START_DELAY_MS: u32 = 800;
/// The pause before each later group of a staged start: long enough for the group started
/// first to elect a leader (1-3 s on tickTime 500) before the next one comes up.
pub const STAGE_GAP_MS: RangeInclusive<u32> = 2_500..=4_000;

/// What a state went through; a state can show several kinds, and the lab's table counts a
/// trial under each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A server restarted on a new host; its old host is down, some views still list the old one.
    Moved,
    /// New servers added; some views list them, some do not yet.
    Expanded,
    /// Servers removed from some views; a removed server may still run on the old view.
    Shrunk,
    /// A replacement host took over a sid while the server it replaces still runs.
    DuplicateSid,
    /// An observer (running with `peerType=observer`) that some views list as a participant.
    ObserverPromoted,
    /// Servers listed but not started.
    Down,
    /// Every view lists services in front of the servers (Kubernetes, seed 000); a server's
    /// pod started before or after its service was repointed, some views left behind.
    ServiceFronted,
    /// A replacement took over a stopped server's sid on the old template: its own line still
    /// names the old host.
    StaleOwnLine,
    /// A running server whose own line is not its own address and that does not listen on
    /// every address: it cannot bind its election port and exits at start (3.5.6+).
    OwnLineNotOwn,
    /// The highest sid moved to a new host while just a majority runs, its other voters on
    /// views that still list its old host: with equal zxids it wins every round
    /// (`FastLeaderElection.totalOrderPredicate`: epoch, zxid, then sid) and they cannot
    /// follow it (`Learner.findLeader`): an election that stalls ([`moved_highest_sid`]).
    MovedHighestSid,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Moved,
        Kind::Expanded,
        Kind::Shrunk,
        Kind::DuplicateSid,
        Kind::ObserverPromoted,
        Kind::Down,
        Kind::ServiceFronted,
        Kind::StaleOwnLine,
        Kind::OwnLineNotOwn,
        Kind::MovedHighestSid,
    ];

    /// Drawn only with each host in a network namespace of its own ([`draw_netns`]): on
    /// loopback every 127.x address is local, so an own line that is not the host's still
    /// binds. The stall kind came with the namespace lab and is drawn there only, so [`draw`]
    /// keeps drawing the states its seeds always drew.
    pub fn needs_netns(self) -> bool {
        matches!(
            self,
            Kind::ServiceFronted | Kind::StaleOwnLine | Kind::OwnLineNotOwn | Kind::MovedHighestSid
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Moved => "moved",
            Kind::Expanded => "expanded",
            Kind::Shrunk => "shrunk",
            Kind::DuplicateSid => "duplicate-sid",
            Kind::ObserverPromoted => "observer-promoted",
            Kind::Down => "down",
            Kind::ServiceFronted => "service-fronted",
            Kind::StaleOwnLine => "stale-own-line",
            Kind::OwnLineNotOwn => "own-line-not-own",
            Kind::MovedHighestSid => "moved-highest-sid",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a line points: a host's own address (an index into the state's hosts), or the
/// service in front of a sid (a Kubernetes service: an address that forwards to whichever host
/// [`Trial::services`] routes it to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum At {
    Host(usize),
    Service(u64),
}

/// One `server.N=` line of a drawn view: the sid, where it is listed, and whether it is listed
/// as an observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Line {
    pub sid: u64,
    pub at: At,
    pub observer: bool,
}

/// One host of a drawn state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState {
    pub sid: u64,
    pub running: bool,
    /// Its `server.N=` lines, ascending by sid; always lists its own sid, at its own host
    /// except in the service-fronted and stale-own-line kinds.
    pub view: Vec<Line>,
    /// `quorumListenOnAllIPs=true`: listens on every address it has, not only its own line's.
    pub listen_all: bool,
}

impl HostState {
    /// Runs as an observer: its own line says so (ZooKeeper 3.5+ takes the role from the server
    /// list when `peerType` disagrees, `QuorumPeerConfig.setupPeerType`); the runner writes a
    /// matching `peerType` too.
    pub fn observer(&self) -> bool {
        self.view
            .iter()
            .any(|line| line.sid == self.sid && line.observer)
    }

    /// Its own line names an address it does not have (a service, or another host): without
    /// `quorumListenOnAllIPs` it cannot bind its election port and exits at start on 3.5.6+.
    pub fn own_line_elsewhere(&self, index: usize) -> bool {
        self.view
            .iter()
            .any(|line| line.sid == self.sid && line.at != At::Host(index))
    }
}

/// The service in front of `sid` forwards to host `to` (by DNAT of the address alone, so the
/// port is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceRoute {
    pub sid: u64,
    pub to: usize,
}

/// A start: wait `delay_ms` after the previous one, then start `host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub host: usize,
    pub delay_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    pub seed: u64,
    pub index: u32,
    /// Ascending, no repeats.
    pub kinds: Vec<Kind>,
    pub hosts: Vec<HostState>,
    /// Every running host exactly once.
    pub starts: Vec<Start>,
    /// The services and where each forwards; empty but for the service-fronted kind.
    pub services: Vec<ServiceRoute>,
}

/// Hosts of [`research_split`].
pub const RESEARCH_SPLIT_HOSTS: usize = 6;

/// The split brain measured on 3.8.0 (`shared/research/README.md`, "Votes are tallied by server
/// id"): P and Q run `{1: p, 2: q, 3: r2}`; R (sid 3) moved from r1 to r2 and runs the
/// five-server view with S; T's copy of it still lists sid 3 at r1. R, S and T start first,
/// then, after an election's time, P and Q. Hosts: p, q, r1 (down), r2, s, t.
pub fn research_split(seed: u64, index: u32) -> Trial {
    let line = |sid: u64, host: usize| Line {
        sid,
        at: At::Host(host),
        observer: false,
    };
    let three = vec![line(1, 0), line(2, 1), line(3, 3)];
    let five = vec![line(1, 0), line(2, 1), line(3, 3), line(4, 4), line(5, 5)];
    let stale = vec![line(1, 0), line(2, 1), line(3, 2), line(4, 4), line(5, 5)];
    let host = |sid: u64, running: bool, view: &Vec<Line>| HostState {
        sid,
        running,
        view: view.clone(),
        listen_all: false,
    };
    let old = vec![line(1, 0), line(2, 1), line(3, 2)];
    Trial {
        seed,
        index,
        kinds: vec![Kind::Moved, Kind::Expanded],
        hosts: vec![
            host(1, true, &three),
            host(2, true, &three),
            host(3, false, &old),
            host(3, true, &five),
            host(4, true, &five),
            host(5, true, &stale),
        ],
        starts: vec![
            Start {
                host: 3,
                delay_ms: 0,
            },
            Start {
                host: 4,
                delay_ms: 0,
            },
            Start {
                host: 5,
                delay_ms: 0,
            },
            Start {
                host: 0,
                delay_ms: 3_000,
            },
            Start {
                host: 1,
                delay_ms: 0,
            },
        ],
        services: Vec::new(),
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, well mixed, and stable forever.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0); the modulo bias is below 2^-50 for the sizes drawn here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn in_range(&mut self, range: &RangeInclusive<usize>) -> usize {
        range.start() + self.below(range.end() - range.start() + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// One membership change of the migration a state is caught in the middle of.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// `sid` now lives on `to`; its old host is down.
    Move { sid: u64, from: usize, to: usize },
    /// New participants, each on a new host.
    Expand { joiners: Vec<(u64, usize)> },
    /// These sids are left out of the new view.
    Shrink { removed: Vec<u64> },
    /// `to` runs with `sid` while `from` still does.
    Duplicate { sid: u64, from: usize, to: usize },
    /// `sid` (an observer in the base view) becomes a participant.
    Promote { sid: u64 },
}

impl Change {
    /// Applies the change to a view (sid → line).
    fn apply(&self, view: &mut Vec<Line>) {
        match self {
            Change::Move { sid, to, .. } | Change::Duplicate { sid, to, .. } => {
                for line in view.iter_mut().filter(|l| l.sid == *sid) {
                    line.at = At::Host(*to);
                }
            }
            Change::Expand { joiners } => {
                for &(sid, host) in joiners {
                    view.push(Line {
                        sid,
                        at: At::Host(host),
                        observer: false,
                    });
                }
            }
            Change::Shrink { removed } => view.retain(|l| !removed.contains(&l.sid)),
            Change::Promote { sid } => {
                for line in view.iter_mut().filter(|l| l.sid == *sid) {
                    line.observer = false;
                }
            }
        }
        view.sort();
    }

    /// Whether `host` must (`Some(true)`) or must not (`Some(false)`) have applied the change
    /// to run at all as the server it is, or `None` when either is possible.
    fn forced_for(&self, host: usize, sid: u64) -> Option<bool> {
        match self {
            // The new host lists itself at its own address; the old one lists itself at its own.
            Change::Move { from, to, .. } | Change::Duplicate { from, to, .. } => {
                if host == *to {
                    Some(true)
                } else if host == *from {
                    Some(false)
                } else {
                    None
                }
            }
            Change::Expand { joiners } => joiners.iter().any(|&(_, h)| h == host).then_some(true),
            Change::Shrink { removed } => removed.contains(&sid).then_some(false),
            // The observer itself still runs as an observer: promoted only in others' views.
            Change::Promote { sid: promoted } => (sid == *promoted).then_some(false),
        }
    }
}

/// Draws trial `index` of the run seeded `seed`, with a number of hosts in `hosts`
/// (clamped to [`MIN_HOSTS`]..=[`MAX_HOSTS`]).
pub fn draw(seed: u64, index: u32, hosts: &RangeInclusive<usize>) -> Trial {
    let lo = (*hosts.start()).clamp(MIN_HOSTS, MAX_HOSTS);
    let hi = (*hosts.end()).clamp(lo, MAX_HOSTS);
    // Trials are independent streams: mix the index into the seed through one SplitMix step.
    let mut rng = Rng::new(Rng::new(seed ^ (u64::from(index) << 32 | 0x1AB)).next_u64());
    let n = rng.in_range(&(lo..=hi));
    // A few attempts at most: a draw is only refused when some view would have fewer than two
    // voters (ZooKeeper then runs a standalone server, which is not an election).
    let mut attempt = 0;
    loop {
        attempt += 1;
        if let Some(trial) = try_draw(&mut rng, seed, index, n) {
            return trial;
        }
        if attempt >= 64 {
            return plain(seed, index, n);
        }
    }
}

/// Trial `index` of a run with each host in a network namespace of its own: half the time a
/// state whose own lines do not name their hosts ([`own_line::draw`]: service-fronted, stale
/// own line), otherwise what [`draw`] draws. A stream of its own, so `draw` keeps its states.
pub fn draw_netns(seed: u64, index: u32, hosts: &RangeInclusive<usize>) -> Trial {
    let lo = (*hosts.start()).clamp(MIN_HOSTS, MAX_HOSTS);
    let hi = (*hosts.end()).clamp(lo, MAX_HOSTS);
    let mut rng = Rng::new(Rng::new(seed ^ (u64::from(index) << 32 | 0x2E7)).next_u64());
    if rng.chance(10) {
        let n = rng.in_range(&(lo..=hi));
        return moved_highest_sid(&mut rng, seed, index, n);
    }
    if rng.chance(50) {
        let n = rng.in_range(&(lo..=hi));
        for _ in 0..64 {
            if let Some(trial) = own_line::draw(&mut rng, seed, index, n) {
                return trial;
            }
        }
    }
    draw(seed, index, hosts)
}

/// A state of kind [`Kind::MovedHighestSid`] on `n` hosts (4 or more): sids 1..=m on hosts
/// 0..m (m = n - 1), sid m moved from host m - 1 (stopped) to host m, whose view says so; the
/// others' views still list sid m at its old host. Just a majority of m runs: the moved server
/// and m/2 others, the rest down. Without the moved server the others are too few, and with it
/// they elect it and cannot reach it: the election stalls for as long as the state holds.
pub fn moved_highest_sid(rng: &mut Rng, seed: u64, index: u32, n: usize) -> Trial {
    let m = n.max(MIN_HOSTS) - 1;
    let line = |sid: u64, host: usize| Line {
        sid,
        at: At::Host(host),
        observer: false,
    };
    let stale: Vec<Line> = (1..=m as u64).map(|k| line(k, k as usize - 1)).collect();
    let mut moved = stale.clone();
    moved[m - 1] = line(m as u64, m);
    let mut others: Vec<usize> = (0..m - 1).collect();
    rng.shuffle(&mut others);
    let up = &others[..m / 2];
    let mut hosts: Vec<HostState> = (0..m)
        .map(|h| HostState {
            sid: h as u64 + 1,
            running: up.contains(&h),
            view: stale.clone(),
            listen_all: false,
        })
        .collect();
    hosts.push(HostState {
        sid: m as u64,
        running: true,
        view: moved,
        listen_all: false,
    });
    let starts = start_order(rng, &hosts);
    Trial {
        seed,
        index,
        kinds: vec![Kind::Moved, Kind::Down, Kind::MovedHighestSid],
        hosts,
        starts,
        services: Vec::new(),
    }
}

/// The fallback that never fails validation: every host on one view, all running.
fn plain(seed: u64, index: u32, n: usize) -> Trial {
    let view: Vec<Line> = (0..n)
        .map(|h| Line {
            sid: h as u64 + 1,
            at: At::Host(h),
            observer: false,
        })
        .collect();
    Trial {
        seed,
        index,
        kinds: Vec::new(),
        hosts: (0..n)
            .map(|h| HostState {
                sid: h as u64 + 1,
                running: true,
                view: view.clone(),
                listen_all: false,
            })
            .collect(),
        starts: (0..n).map(|host| Start { host, delay_ms: 0 }).collect(),
        services: Vec::new(),
    }
}

const CHANGE_KINDS: [Kind; 5] = [
    Kind::Moved,
    Kind::Expanded,
    Kind::Shrunk,
    Kind::DuplicateSid,
    Kind::ObserverPromoted,
];

fn try_draw(rng: &mut Rng, seed: u64, index: u32, n: usize) -> Option<Trial> {
    let mut kinds = vec![CHANGE_KINDS[rng.below(CHANGE_KINDS.len())]];
    if rng.chance(40) {
        let second = CHANGE_KINDS[rng.below(CHANGE_KINDS.len())];
        if !kinds.contains(&second) {
            kinds.push(second);
        }
    }
    let joiners = if kinds.contains(&Kind::Expanded) {
        1 + rng.below(2)
    } else {
        0
    };
    let new_hosts = joiners
        + usize::from(kinds.contains(&Kind::Moved))
        + usize::from(kinds.contains(&Kind::DuplicateSid));
    let base = n.checked_sub(new_hosts).filter(|&m| m >= 2)?;

    // The base ensemble: sids 1..=base on hosts 0..base, observers only for a promotion.
    let mut base_view: Vec<Line> = (0..base)
        .map(|h| Line {
            sid: h as u64 + 1,
            at: At::Host(h),
            observer: false,
        })
        .collect();
    let mut free_sids: Vec<u64> = (1..=base as u64).collect();
    rng.shuffle(&mut free_sids);
    let mut next_host = base;
    let mut changes = Vec::new();
    for kind in &kinds {
        match kind {
            Kind::Moved | Kind::DuplicateSid => {
                let sid = free_sids.pop()?;
                let (from, to) = (sid as usize - 1, next_host);
                next_host += 1;
                changes.push(if *kind == Kind::Moved {
                    Change::Move { sid, from, to }
                } else {
                    Change::Duplicate { sid, from, to }
                });
            }
            Kind::Expanded => {
                let first = base as u64 + 1;
                let list = (0..joiners)
                    .map(|j| (first + j as u64, next_host + j))
                    .collect();
                next_host += joiners;
                changes.push(Change::Expand { joiners: list });
            }
            Kind::Shrunk => {
                let count = 1 + rng.below(2);
                let removed: Vec<u64> = (0..count).filter_map(|_| free_sids.pop()).collect();
                if removed.is_empty() {
                    return None;
                }
                changes.push(Change::Shrink { removed });
            }
            Kind::ObserverPromoted => {
                let sid = free_sids.pop()?;
                base_view[sid as usize - 1].observer = true;
                changes.push(Change::Promote { sid });
            }
            _ => {}
        }
    }

    // Who each host is: base hosts keep their sid; new hosts take the sid their change gives.
    let mut sids: Vec<u64> = (1..=n as u64).collect();
    for change in &changes {
        match change {
            Change::Move { sid, to, .. } | Change::Duplicate { sid, to, .. } => sids[*to] = *sid,
            Change::Expand { joiners } => {
                for &(sid, host) in joiners {
                    sids[host] = sid;
                }
            }
            _ => {}
        }
    }

    let mut hosts = Vec::with_capacity(n);
    for (host, &sid) in sids.iter().enumerate() {
        let mut view = base_view.clone();
        for change in &changes {
            let applied = change
                .forced_for(host, sid)
                .unwrap_or_else(|| rng.chance(50));
            if applied {
                change.apply(&mut view);
            }
        }
        let running = changes
            .iter()
            .find_map(|c| match c {
                Change::Move { from, .. } if *from == host => Some(false),
                // A removed server is either stopped already or still runs on its old view.
                Change::Shrink { removed } if removed.contains(&sid) => Some(rng.chance(50)),
                _ => None,
            })
            .unwrap_or(true);
        hosts.push(HostState {
            sid,
            running,
            view,
            listen_all: false,
        });
    }

    // Servers listed but not started: at most two, and never fewer than two left running.
    if rng.chance(30) {
        let count = 1 + rng.below(2);
        for _ in 0..count {
            let running: Vec<usize> = (0..n).filter(|&h| hosts[h].running).collect();
            if running.len() <= 2 {
                break;
            }
            hosts[running[rng.below(running.len())]].running = false;
            if !kinds.contains(&Kind::Down) {
                kinds.push(Kind::Down);
            }
        }
    }

    // ZooKeeper runs a view with one voter as a standalone server: no election to watch.
    let valid = hosts.iter().enumerate().all(|(index, h)| {
        !h.running
            || (h.view.iter().filter(|l| !l.observer).count() >= 2
                && h.view
                    .iter()
                    .any(|l| l.sid == h.sid && l.at == At::Host(index)))
    });
    if !valid || hosts.iter().filter(|h| h.running).count() < 2 {
        return None;
    }

    let starts = start_order(rng, &hosts);
    kinds.sort();
    Some(Trial {
        seed,
        index,
        kinds,
        hosts,
        starts,
        services: Vec::new(),
    })
}

/// The order and pauses of the starts. Half the time staged: the servers grouped by the view
/// they run, one group after another with a pause of [`STAGE_GAP_MS`] between groups, as an
/// operator restarts one batch and then the next (the split brain reproduced on 3.8 needed R,
/// S and T, on the new view, to elect first, then P and Q on the old one). Otherwise all in
/// one shuffled sequence with pauses of up to [`MAX_START_DELAY_MS`].
fn start_order(rng: &mut Rng, hosts: &[HostState]) -> Vec<Start> {
    let running: Vec<usize> = (0..hosts.len()).filter(|&h| hosts[h].running).collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    if rng.chance(50) {
        for &h in &running {
            match groups
                .iter_mut()
                .find(|g| hosts[g[0]].view == hosts[h].view)
            {
                Some(group) => group.push(h),
                None => groups.push(vec![h]),
            }
        }
    } else {
        groups.push(running);
    }
    rng.shuffle(&mut groups);
    let mut starts = Vec::new();
    for (g, group) in groups.iter_mut().enumerate() {
        rng.shuffle(group);
        for (k, &host) in group.iter().enumerate() {
            let delay_ms = match (g, k) {
                (0, 0) => 0,
                (_, 0) => {
                    let steps = (STAGE_GAP_MS.end() - STAGE_GAP_MS.start()) / 500;
                    STAGE_GAP_MS.start() + rng.below(steps as usize + 1) as u32 * 500
                }
                _ => (rng.below(MAX_START_DELAY_MS as usize / 100 + 1) * 100) as u32,
            };
            starts.push(Start { host, delay_ms });
        }
    }
    starts
}

/// Parses `4..7` (both ends included, as the issue writes it), `4..=7` or `5`.
pub fn parse_hosts_range(text: &str) -> Result<RangeInclusive<usize>, String> {
    let text = text.trim();
    let (lo, hi) = match text.split_once("..") {
        Some((lo, hi)) => (lo, hi.strip_prefix('=').unwrap_or(hi)),
        None => (text, text),
    };
    let number = |part: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{text}`: expected a number of hosts or a range like 4..7"))
    };
    let (lo, hi) = (number(lo)?, number(hi)?);
    if lo > hi {
        return Err(format!("`{text}`: the range is empty"));
    }
    if lo < MIN_HOSTS || hi > MAX_HOSTS {
        return Err(format!(
            "`{text}`: a state has {MIN_HOSTS} to {MAX_HOSTS} hosts"
        ));
    }
    Ok(lo..=hi)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn many(seed: u64, count: u32) -> Vec<Trial> {
        (0..count).map(|i| draw(seed, i, &(4..=7))).collect()
    }

    /// The first `count` trials of `seed` in the namespace lab, 4 to 6 hosts as it runs them.
    pub(in crate::rehearse::lab) fn many_netns(seed: u64, count: u32) -> Vec<Trial> {
        (0..count).map(|i| draw_netns(seed, i, &(4..=6))).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_states_and_another_seed_others() {
        assert_eq!(many(7, 50), many(7, 50));
        assert_ne!(many(7, 50), many(8, 50));
        // A trial depends on its own index only, not on how many trials the run has.
        assert_eq!(draw(7, 17, &(4..=7)), many(7, 20)[17]);
    }

    #[test]
    fn every_state_is_one_zookeeper_can_start() {
        for trial in many(1, 2000) {
            let n = trial.hosts.len();
            assert!((MIN_HOSTS..=MAX_HOSTS).contains(&n), "{trial:?}");
            for (index, host) in trial.hosts.iter().enumerate() {
                let sids: Vec<u64> = host.view.iter().map(|l| l.sid).collect();
                let mut sorted = sids.clone();
                sorted.dedup();
                assert_eq!(sids, sorted, "one line per sid, ascending: {trial:?}");
                if host.running {
                    assert!(
                        host.view
                            .iter()
                            .any(|l| l.sid == host.sid && l.at == At::Host(index)),
                        "a server lists itself at its own host: {trial:?}"
                    );
                    assert!(
                        host.view.iter().filter(|l| !l.observer).count() >= 2,
                        "no standalone view: {trial:?}"
                    );
                }
                assert!(
                    host.view
                        .iter()
                        .all(|l| matches!(l.at, At::Host(h) if h < n)),
                    "{trial:?}"
                );
            }
            let mut started: Vec<usize> = trial.starts.iter().map(|s| s.host).collect();
            started.sort();
            let running: Vec<usize> = (0..n).filter(|&h| trial.hosts[h].running).collect();
            assert_eq!(started, running, "every running host starts once");
            assert!(running.len() >= 2);
            assert_eq!(trial.starts[0].delay_ms, 0);
            assert!(trial
                .starts
                .iter()
                .all(|s| s.delay_ms <= *STAGE_GAP_MS.end()));
        }
    }

    #[test]
    fn every_kind_is_drawn_and_the_host_range_is_kept() {
        let trials = many(3, 400);
        for kind in Kind::ALL.into_iter().filter(|k| !k.needs_netns()) {
            assert!(
                trials.iter().any(|t| t.kinds.contains(&kind)),
                "{kind} never drawn"
            );
        }
        assert!(trials.iter().any(|t| t.kinds.len() >= 2), "no combinations");
        for size in 4..=7 {
            assert!(trials.iter().any(|t| t.hosts.len() == size));
        }
        assert!((0..100).all(|i| draw(3, i, &(5..=5)).hosts.len() == 5));
    }

    #[test]
    fn each_kind_leaves_the_trace_it_names() {
        for trial in many(11, 1000) {
            let hosts = &trial.hosts;
            let running = |h: &&HostState| h.running;
            if trial.kinds.contains(&Kind::DuplicateSid) {
                // Two hosts with one sid, the newer one listing itself elsewhere.
                let dup = hosts
                    .iter()
                    .enumerate()
                    .any(|(i, a)| hosts.iter().skip(i + 1).any(|b| a.sid == b.sid));
                assert!(dup, "{trial:?}");
            }
            if trial.kinds.contains(&Kind::Moved) {
                assert!(hosts.iter().any(|h| !h.running), "{trial:?}");
            }
            if trial.kinds.contains(&Kind::ObserverPromoted) {
                let observer = hosts.iter().find(|h| h.observer()).expect("an observer");
                assert!(observer
                    .view
                    .iter()
                    .any(|l| l.sid == observer.sid && l.observer));
            }
            if trial.kinds == [Kind::Expanded] {
                let sizes: Vec<usize> =
                    hosts.iter().filter(running).map(|h| h.view.len()).collect();
                assert!(sizes.iter().max() > sizes.iter().min() || sizes.len() == hosts.len());
            }
        }
    }

    /// `--research-split` runs the measured state; the analyzer calls it a split brain on 3.8
    /// rules with Q's and T's groups as the witness, and not on 3.4 rules.
    #[test]
    fn the_research_split_scenario_is_the_measured_state() {
        use crate::rehearse::lab::fixture::{ensemble, Addressing};
        use crate::zk::version::ZkVersion;
        let trial = research_split(1, 0);
        let names = ["P", "Q", "R1", "R", "S", "T"];
        let at = Addressing {
            names: names.iter().map(|n| n.to_string()).collect(),
            peers: names
                .iter()
                .map(|n| format!("{}:2888:3888", n.to_lowercase()))
                .collect(),
            services: Vec::new(),
        };
        let split = |version| {
            let ens = ensemble(&trial, &at, version).unwrap();
            ens.verdict().unwrap().split_brain.map(|w| {
                [w.a, w.b].map(|q| {
                    (
                        names[q.leader],
                        q.members.iter().map(|&m| names[m]).collect::<Vec<_>>(),
                    )
                })
            })
        };
        assert_eq!(
            split(ZkVersion::new(3, 8, 0)),
            Some([("Q", vec!["P", "Q"]), ("T", vec!["R", "S", "T"])])
        );
        assert_eq!(split(ZkVersion::new(3, 4, 14)), None);
    }

    /// The stall kind is one `analyze` names as a stall whatever its size and start order: a
    /// working quorum is possible (zxids permitting, a stale server could lead the moved one),
    /// the moved highest sid can be elected, and every stale server that runs cannot follow it.
    #[test]
    fn a_moved_highest_sid_on_a_bare_majority_is_named_a_stall() {
        use crate::rehearse::lab::fixture::{ensemble, Addressing};
        use crate::zk::version::ZkVersion;
        let trials: Vec<Trial> = many_netns(4, 200)
            .into_iter()
            .filter(|t| t.kinds.contains(&Kind::MovedHighestSid))
            .collect();
        assert!(trials.len() > 8, "{}", trials.len());
        for n in MIN_HOSTS..=6 {
            assert!(trials.iter().any(|t| t.hosts.len() == n), "{n} hosts");
        }
        for trial in &trials {
            let n = trial.hosts.len();
            let at = Addressing {
                names: (1..=n).map(|i| format!("zk{i}")).collect(),
                peers: (1..=n).map(|i| format!("10.77.{i}.2:2888:3888")).collect(),
                services: Vec::new(),
            };
            let verdict = ensemble(trial, &at, ZkVersion::new(3, 8, 0))
                .unwrap()
                .verdict()
                .unwrap();
            let stale: Vec<usize> = (0..n - 1).filter(|&h| trial.hosts[h].running).collect();
            assert!(verdict.quorum_possible, "{trial:?}");
            assert_eq!(
                verdict.stalls,
                [crate::quorum::Stall {
                    leader: n - 1,
                    cannot_follow: stale
                }],
                "{trial:?}"
            );
        }
    }

    #[test]
    fn the_research_split_can_be_drawn() {
        // Moved and expanded together, a stale line and two view sizes: the state of
        // `shared/research/README.md` ("Votes are tallied by server id") is in the space drawn.
        let found = many(5, 3000).into_iter().any(|t| {
            t.kinds.contains(&Kind::Moved)
                && t.kinds.contains(&Kind::Expanded)
                && t.hosts.iter().filter(|h| h.running).any(|h| {
                    let moved = t.hosts.iter().position(|o| !o.running && o.sid == h.sid);
                    moved.is_some_and(|old| {
                        t.hosts
                            .iter()
                            .any(|o| o.running && o.view.iter().any(|l| l.at == At::Host(old)))
                    })
                })
        });
        assert!(found);
    }

    #[test]
    fn staged_starts_bring_up_one_view_after_another() {
        let trials = many(6, 300);
        let staged: Vec<&Trial> = trials
            .iter()
            .filter(|t| t.starts.iter().any(|s| s.delay_ms > MAX_START_DELAY_MS))
            .collect();
        assert!(staged.len() > 50 && staged.len() < 250, "{}", staged.len());
        for trial in staged {
            // Within a stage every server runs the same view; a long pause starts a new stage.
            let mut stage_view = &trial.hosts[trial.starts[0].host].view;
            for start in &trial.starts {
                let view = &trial.hosts[start.host].view;
                if start.delay_ms > MAX_START_DELAY_MS {
                    assert_ne!(view, stage_view, "{trial:?}");
                    stage_view = view;
                } else {
                    assert_eq!(view, stage_view, "{trial:?}");
                }
            }
        }
    }

    #[test]
    fn host_ranges_parse_as_the_issue_writes_them() {
        assert_eq!(parse_hosts_range("4..7"), Ok(4..=7));
        assert_eq!(parse_hosts_range("4..=6"), Ok(4..=6));
        assert_eq!(parse_hosts_range("5"), Ok(5..=5));
        assert!(parse_hosts_range("3..7").is_err());
        assert!(parse_hosts_range("4..8").is_err());
        assert!(parse_hosts_range("6..4").is_err());
        assert!(parse_hosts_range("four").is_err());
    }

    #[test]
    fn the_rng_is_splitmix64() {
        // First outputs of SplitMix64 seeded 0, as in the reference implementation.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
