//! The search over orders: A* over states (per host: down, gone, or up on a view), each move
//! kept only when every state it passes through is safe by the analyzer.
//!
//! The cost is compared in order: states where an election can stall (the analyzer sees a
//! server that can win an election and that too few can follow to make a quorum, or a
//! possible leader that is hollow, or that some running server cannot follow), restarts or
//! stops of today's other servers after the live leader's own, restarts, steps, and states on
//! a bare majority. The heuristic counts the restarts and steps still needed for certain (a
//! host on a view other than the goal's restarts at least once, a host not started yet starts,
//! a leaving host stops; in one shape of problem, the restarts and stops the stall rule forces:
//! `floor`), so it never overestimates and the first goal taken from the queue is a cheapest
//! order — within the moves and views of the model. On 3.5+ rules states that
//! differ only by which of several interchangeable ids is which are searched once
//! (`symmetry`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::fast_hash::FastMap;
use super::model::{Fate, Problem, Slot, ViewCache, ViewKey};
use super::symmetry::{Renaming, Symmetry};
use crate::zk::version::ZkVersion;
use floor::Floor;
use packed::{Numbered, StateId, States};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MoveKind {
    /// Write the host's view and start it.
    Start,
    /// Write the host's view and restart it.
    Restart,
    /// Stop it for good.
    Stop,
    /// Point service `service` (an index into `Problem::services`) at the host: create it, or
    /// repoint it from the host it forwards to now.
    Point { service: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Move {
    pub kind: MoveKind,
    /// The host it starts, restarts or stops; for a `Point`, the host the service forwards to.
    pub host: usize,
    /// The view it starts with (none for a stop or a point).
    pub view: Option<ViewKey>,
}

impl Move {
    /// Whether it takes a running server down (a restart or a stop): what elections follow.
    pub fn disrupts(&self) -> bool {
        matches!(self.kind, MoveKind::Restart | MoveKind::Stop)
    }
}

/// The objective, compared field by field in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cost {
    /// States where an election can stall: a server that can win an election and that too few
    /// can follow to make a quorum, or a possible leader that is hollow or that some running
    /// server cannot follow.
    pub stalls: u32,
    /// Restarts and stops of today's other servers after the live leader was restarted or
    /// stopped.
    pub after_leader: u32,
    pub restarts: u32,
    pub steps: u32,
    /// States passed through (each restarting server's down time included) in which some
    /// running voter's view has no voter to spare: one more server lost and it has no quorum.
    /// The last tie-break: of two orders otherwise equal, the one that runs on fewer bare
    /// majorities.
    pub thin: u32,
}

impl Cost {
    fn plus(self, other: Cost) -> Cost {
        Cost {
            stalls: self.stalls + other.stalls,
            after_leader: self.after_leader + other.after_leader,
            restarts: self.restarts + other.restarts,
            steps: self.steps + other.steps,
            thin: self.thin + other.thin,
        }
    }
}

/// How far the search may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// States expanded before the exact search gives up and a greedier one takes over.
    pub max_states: usize,
}

impl Default for Bound {
    /// Enough to prove the order for every host of nine replaced on 3.8 rules (931 states
    /// expanded), of five on 3.4 (510, where no ids are interchangeable), of seven on 3.4 as far
    /// as the objective goes (the bare-majority tie-break is bounded, not proven) and of nine
    /// moved into pods on 3.4 (10 317). Nine replaced on 3.4 rules, the slowest case that still
    /// stops at the bound, takes about 5 s with it (docs/benchmarks.md).
    fn default() -> Bound {
        Bound { max_states: 25_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// No order of the model's moves costs less.
    Minimal,
    /// The exact search hit its bound, but what it proved meets the order found in the
    /// objective itself: no order has fewer stalls, fewer of today's servers after the leader,
    /// fewer restarts or fewer steps. Only the last tie-break is not proven: of the orders equal
    /// there, none passes fewer than `bare_at_least` states on a bare majority.
    MinimalBeforeTies { bare_at_least: u32 },
    /// The exact search hit its bound: the order found is the best the searches past it found.
    BestFound {
        /// No order costs less, in the objective's order.
        lower_bound: Cost,
        /// No order the rules allow has fewer restarts, whatever its stalls and leader order
        /// (a search by restarts first).
        restarts_at_least: u32,
        /// That search found an order with exactly `restarts_at_least`: the fewest restarts
        /// are proven, not only bounded.
        restarts_exact: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub moves: Vec<Move>,
    pub cost: Cost,
    pub proof: Proof,
    /// States expanded, by both searches when the exact one hit its bound.
    pub expanded: usize,
}

/// Why no order was found: the state closest to the goal (fewest moves still certainly
/// needed) and the moves out of it that were refused; and, per rule, the closest state where
/// that rule refused a move toward the goal — the closest state is often blocked by quorum
/// alone, while the rule that closed every route is another, met earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    pub slots: Vec<Slot>,
    /// Each goal-ward move from `slots` and why it was refused.
    pub refused: Vec<(Move, Refusal)>,
    /// Per rule, the closest state (its slots) where it refused a goal-ward move, that move and
    /// the refusal; ordered by rule.
    pub blockers: Vec<(Vec<Slot>, Move, Refusal)>,
    pub expanded: usize,
    /// True when the search gave up at its bound rather than running out of moves.
    pub gave_up: bool,
}

/// The rule a move breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A state it passes through has no working quorum possible, two possible, or two running
    /// servers with one sid.
    Unsafe,
    /// The live leader, not yet restarted or stopped, keeps leading, and afterwards some running
    /// server cannot follow it (`Learner.findLeader` dials the leader from the follower's own
    /// view).
    LeaderUnfollowed,
    /// The server the move started finds fewer than a majority of its own view's voters
    /// following the leader among those it has an election connection with, and stays LOOKING
    /// (`FastLeaderElection.receivedFollowingNotification`); whether the leader is the live one
    /// or, once that has been touched, whichever server won.
    CannotJoin,
    /// The live leader has been restarted or stopped (or is unknown), so any electable server
    /// may lead, and one can be elected that some running server cannot follow, or that counts
    /// an observer (`FastLeaderElection.lookForLeader`, `validVoter(n.leader)`).
    Stall,
    /// The live leader has been restarted or stopped (or is unknown), and some running server
    /// can follow no server that can be elected, nor lead a quorum itself (analyzer rule 18):
    /// whoever wins, it stays LOOKING and the step's wait for it never ends.
    CannotServe,
}

/// A move refused: the rule it breaks and the state that breaks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: Rule,
    pub state: Vec<Slot>,
}

/// The analyzer's answers that the search needs about one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// A working quorum possible, two impossible, no two running servers with one sid.
    pub safe: bool,
    /// Some leader that can be elected is one every running server can follow: an election
    /// can end with everyone in, so a step's wait for its server to join and sync can end.
    pub joinable: bool,
    /// The live leader (when the problem names it) runs, can lead, and every running server
    /// can follow it: what a follower's restart needs while the leader keeps leading.
    pub leader_followed: bool,
    /// Some possible leader counts an observer and commits nothing, or some running server
    /// cannot follow it: once any electable server may lead, a step's wait might never end.
    pub unfollowed: bool,
    /// An election can stall: `unfollowed`, or it can choose a server that too few can follow
    /// to make a quorum (`Verdict::stalls`: it wins, no quorum joins it, and no leader serves
    /// until its voters give up on it and the election runs again).
    pub stall: bool,
    /// Some running voter's view has exactly a bare majority of its voters running, or fewer.
    pub thin: bool,
    /// Some running server can follow no server that can be elected, nor lead a quorum
    /// (`Verdict::cannot_serve`): while the live leader keeps leading it may still follow it
    /// over the connection it has, but once an election runs it stays out.
    pub idle: bool,
}

/// The analyzer's verdicts, one per state.
pub struct Judge<'p> {
    pub problem: &'p Problem,
    views: ViewCache,
    states: States,
    /// By state id (`states`): the verdicts asked for so far.
    memo: Vec<Option<Judgement>>,
    judged: usize,
}

impl<'p> Judge<'p> {
    pub fn new(problem: &'p Problem) -> Judge<'p> {
        Judge {
            problem,
            views: ViewCache::default(),
            states: States::new(problem.hosts.len() + problem.services.len()),
            memo: Vec::new(),
            judged: 0,
        }
    }

    pub fn ensemble(&mut self, slots: &[Slot]) -> crate::quorum::Ensemble {
        self.problem.ensemble(slots, &mut self.views)
    }

    pub fn judge(&mut self, slots: &[Slot]) -> Judgement {
        // The verdict depends on the running servers only: a host not started yet and one
        // stopped for good are the same to it, and states that differ only there share it.
        let running: Vec<Slot> = slots
            .iter()
            .map(|s| match s {
                Slot::Gone => Slot::Off,
                s => *s,
            })
            .collect();
        let slots = running.as_slice();
        let id = self.states.id(slots) as usize;
        if let Some(Some(j)) = self.memo.get(id) {
            return *j;
        }
        let margins = self.margins(slots);
        // A necessary condition for a working quorum, cheap enough to ask before the verdict:
        // some running voter's view has a majority of its participants running as voters (a
        // leader needs a majority of its own view, counted by sid: analyzer rules 3 and 6).
        if !margins.iter().any(|&margin| margin >= 0) {
            let refused = Judgement {
                safe: false,
                joinable: false,
                leader_followed: false,
                unfollowed: false,
                stall: false,
                thin: true,
                idle: false,
            };
            self.remember(id, refused);
            return refused;
        }
        // Only running servers: the analyzer counts no server that is down (its votes, its
        // links and its learners all need it up), and a smaller input is a faster verdict.
        let ensemble = self.problem.running(slots, &mut self.views);
        let leader = self.problem.leader.and_then(|l| {
            matches!(slots[l], Slot::Up(_)).then(|| {
                slots[..l]
                    .iter()
                    .filter(|s| matches!(s, Slot::Up(_)))
                    .count()
            })
        });
        // No voter to spare: some running voter's view has its bare majority running, or less.
        let thin = margins.iter().any(|&margin| margin <= 0);
        let judgement = match ensemble.verdict() {
            Err(_) => Judgement {
                safe: false,
                joinable: false,
                leader_followed: false,
                unfollowed: false,
                stall: false,
                thin,
                idle: false,
            },
            Ok(v) => {
                // `Learner.findLeader` dials the leader's sid at the address the follower's own
                // view gives it (analyzer rule 5): a server that cannot reach the leader keeps
                // looking, and `synced` never holds.
                let followed = |l: usize| {
                    !v.hollow_leaders.contains(&l)
                        && (0..ensemble.nodes.len())
                            .all(|i| !ensemble.nodes[i].up || ensemble.reaches(i, l))
                };
                let unfollowed = v.possible_leaders.iter().any(|&l| !followed(l));
                Judgement {
                    safe: v.quorum_possible
                        && v.split_brain.is_none()
                        && v.duplicate_sids.is_empty(),
                    joinable: v.possible_leaders.iter().any(|&l| followed(l)),
                    leader_followed: leader
                        .is_some_and(|l| v.possible_leaders.contains(&l) && followed(l)),
                    unfollowed,
                    stall: unfollowed || !v.stalls.is_empty(),
                    thin,
                    idle: !v.cannot_serve.is_empty(),
                }
            }
        };
        self.remember(id, judgement);
        judgement
    }

    /// Per running voter: how many of its view's voters run as voters, less the view's
    /// majority.
    fn margins(&mut self, slots: &[Slot]) -> Vec<i64> {
        let problem = self.problem;
        let voting: Vec<u64> = problem
            .hosts
            .iter()
            .zip(slots)
            .filter_map(|(host, slot)| match slot {
                Slot::Up(key) => self
                    .views
                    .get(problem, *key)
                    .is_participant(host.sid)
                    .then_some(host.sid),
                _ => None,
            })
            .collect();
        slots
            .iter()
            .zip(&problem.hosts)
            .filter_map(|(slot, host)| match slot {
                Slot::Up(key) => {
                    let view = self.views.get(problem, *key);
                    view.is_participant(host.sid).then(|| {
                        let running = view
                            .participants()
                            .filter(|line| voting.contains(&line.sid))
                            .count();
                        running as i64 - view.majority() as i64
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// Whether `host`, (re)started into `slots` while a leader leads (the live one, or the one
    /// elected once that was touched), can join it: "before joining an established ensemble,
    /// verify that a majority are following the same leader"
    /// (`FastLeaderElection.receivedFollowingNotification`, the `outofelection` votes): the
    /// other running servers that follow or lead (a participant by its own view; an observer's
    /// notification is ignored), that have an election connection with it (their
    /// notifications come over nothing else: `QuorumCnxManager`, analyzer rule 17) and whose
    /// sid its own view lists as a voter must be a majority of that view — its own vote is not
    /// among them. A server restarted first onto a larger view than the others run stays
    /// LOOKING (seen on 3.8.0: zk1 restarted on a five-server view beside two servers of the
    /// three-server view never served); so does one that, before 3.5, only smaller sids can
    /// reach: a larger sid dials it back at the address its own view gives, and one that still
    /// lists the id at its old host never connects (3.4.14 `QuorumCnxManager.connectOne`).
    pub fn can_join_established(&mut self, slots: &[Slot], host: usize) -> bool {
        let Slot::Up(own) = slots[host] else {
            return true;
        };
        let problem = self.problem;
        let voters: Vec<usize> = (0..problem.hosts.len())
            .filter(|&i| match slots[i] {
                Slot::Up(key) => {
                    i != host
                        && self
                            .views
                            .get(problem, key)
                            .is_participant(problem.hosts[i].sid)
                }
                _ => false,
            })
            .collect();
        let view = self.views.get(problem, own).clone();
        let majority = view.majority();
        let counted = |linked: &[usize]| {
            view.participants()
                .filter(|line| linked.iter().any(|&i| problem.hosts[i].sid == line.sid))
                .count()
        };
        // Asked for every start the search weighs: the ensemble that tells the connections is
        // built only when the voters alone would be enough.
        if counted(&voters) < majority {
            return false;
        }
        let ensemble = self.ensemble(slots);
        let linked: Vec<usize> = voters
            .into_iter()
            .filter(|&i| ensemble.cut(host, i).is_none())
            .collect();
        counted(&linked) >= majority
    }

    /// Whether every running server's view gives `leader`'s sid at its address: what
    /// following it needs (analyzer rule 5), checked before asking for a whole verdict.
    pub fn all_list(&mut self, slots: &[Slot], leader: usize) -> bool {
        let target = &self.problem.hosts[leader];
        let aliases = self.problem.aliases(slots, leader);
        for slot in slots {
            if let Slot::Up(key) = slot {
                let view = self.views.get(self.problem, *key);
                if !view.server(target.sid).is_some_and(|line| {
                    line.has_addr(&target.addr) || aliases.iter().any(|a| line.has_addr(a))
                }) {
                    return false;
                }
            }
        }
        true
    }

    fn remember(&mut self, id: usize, judgement: Judgement) {
        if self.memo.len() <= id {
            self.memo.resize(id + 1, None);
        }
        self.memo[id] = Some(judgement);
        self.judged += 1;
    }

    pub fn judged(&self) -> usize {
        self.judged
    }

    fn store(&mut self, key: &Key) -> Stored {
        Stored {
            slots: self.states.id(&key.slots),
            leader_touched: key.leader_touched,
            pending: key.pending,
        }
    }

    fn load(&self, stored: Stored) -> Key {
        Key {
            slots: self.states.slots(stored.slots),
            leader_touched: stored.leader_touched,
            pending: stored.pending,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    slots: Vec<Slot>,
    leader_touched: bool,
    /// Hosts still to be restarted in place (`Host::must_restart`), by index.
    pending: u64,
}

/// A `Key` as the search keeps it (`packed`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Stored {
    slots: StateId,
    leader_touched: bool,
    pending: u64,
}

/// One state the search reached, and how. Millions are kept, so the move and the renaming are
/// numbers (`Numbered`), and `NONE` stands for "none".
struct Entry {
    key: Stored,
    cost: Cost,
    /// The entry of the state it came from (`NONE` for the start).
    parent: u32,
    /// The move from there, in that state's naming.
    step: u32,
    /// How the state the move led to was renamed into `key` (`Symmetry::canonical`), when it
    /// was.
    renamed: u32,
}

const NONE: u32 = u32::MAX;

/// What the entries' numbers stand for.
#[derive(Default)]
struct Steps {
    moves: Numbered<Move>,
    renamings: Numbered<Renaming>,
}

/// The search's starting slots: leaving hosts that are down today are gone already; then where
/// each service forwards today.
pub fn start_slots(problem: &Problem) -> Vec<Slot> {
    let hosts = problem
        .hosts
        .iter()
        .zip(&problem.start)
        .map(|(host, start)| match (start, host.fate) {
            (Some(view), _) => Slot::Up(*view),
            (None, Fate::Leaves) => Slot::Gone,
            (None, _) => Slot::Off,
        });
    let services = problem
        .services
        .iter()
        .map(|service| service.start.map_or(Slot::Off, Slot::To));
    hosts.chain(services).collect()
}

/// The views a host may be started or restarted with from `slots`: each membership that lists
/// the host at its own address, with the sids taken over so far at their new hosts, or with
/// every sid taken over at its new host already (written ahead, so no later restart is needed
/// for it). A sid whose old host has stopped is never listed at the old address again: that
/// server does not come back. With services, each of those views also names every sid that
/// has a service by it, and such a view lists the host when its own id is behind a service
/// that forwards to it now (the runbook points the service before it starts the server, the
/// order the Kubernetes runbook follows).
pub fn candidates(problem: &Problem, slots: &[Slot], host: usize) -> Vec<ViewKey> {
    let gone: u32 = problem
        .takeovers
        .iter()
        .enumerate()
        .filter(|(_, t)| slots[t.old] == Slot::Gone)
        .fold(0, |bits, (i, _)| bits | 1 << i);
    let me = &problem.hosts[host];
    let mut out: Vec<ViewKey> = Vec::new();
    // A sid with a service is named by its old host's address until a view names it by the
    // service, never by its new host's: the target names it by the service.
    let behind = problem.served(u32::MAX);
    for m in 0..problem.memberships.len() {
        let all = problem.all_moved(m) & !behind;
        for (via, moved) in [0, problem.all_via(m)]
            .into_iter()
            .flat_map(|via| [gone & all, all].map(|moved| (via, moved & !problem.served(via))))
        {
            let key = ViewKey {
                membership: m,
                moved,
                via,
            };
            if out.contains(&key) {
                continue;
            }
            if let Some(s) = problem.service_named(key, me.sid) {
                let listed = problem.memberships[m].lines.iter().any(|l| l.sid == me.sid);
                if listed && slots[problem.service_slot(s)] == Slot::To(host) {
                    out.push(key);
                }
                continue;
            }
            let lists_me = problem.memberships[m].lines.iter().any(|l| {
                l.sid == me.sid && {
                    let moved_here = problem
                        .takeovers
                        .iter()
                        .enumerate()
                        .find(|(_, t)| t.sid == me.sid)
                        .map(|(i, t)| (moved & 1 << i != 0, t.new == host));
                    match moved_here {
                        Some((moved, is_new)) => moved == is_new,
                        None => l.has_addr(&me.addr),
                    }
                }
            });
            if lists_me {
                out.push(key);
            }
        }
    }
    out
}

/// Host `h`'s bit in a set of hosts to restart in place; hosts past the 64th are never in one
/// (`MAX_PENDING`).
fn bit(h: usize) -> u64 {
    u32::try_from(h)
        .ok()
        .and_then(|h| 1u64.checked_shl(h))
        .unwrap_or(0)
}

/// The hosts to restart in place that run today.
pub fn start_pending(problem: &Problem) -> u64 {
    problem
        .hosts
        .iter()
        .enumerate()
        .filter(|(h, host)| host.must_restart && problem.start[*h].is_some())
        .fold(0, |bits, (h, _)| bits | bit(h))
}

/// Every move out of `slots` (safe or not); a host in `pending` may restart on its own view.
pub fn moves(problem: &Problem, slots: &[Slot], pending: u64) -> Vec<Move> {
    let mut out = Vec::new();
    for (h, host) in problem.hosts.iter().enumerate() {
        match (slots[h], host.fate) {
            (Slot::Gone, _) => {}
            (Slot::Up(current), fate) => {
                if fate == Fate::Leaves {
                    out.push(Move {
                        kind: MoveKind::Stop,
                        host: h,
                        view: None,
                    });
                }
                for view in candidates(problem, slots, h) {
                    // Addresses only move forward: a view that lists a sid at its old host
                    // again, after this host already listed the new one, undoes a restart;
                    // and a view never names a sid by its host again after its service.
                    let backward = (view.membership == current.membership
                        && view.moved & current.moved != current.moved)
                        || view.via & current.via != current.via;
                    if backward {
                        continue;
                    }
                    if view != current || pending & bit(h) != 0 {
                        out.push(Move {
                            kind: MoveKind::Restart,
                            host: h,
                            view: Some(view),
                        });
                    }
                }
            }
            (Slot::Off | Slot::To(_), Fate::Leaves) => {}
            (Slot::Off, Fate::Replaces(old)) if slots[old] != Slot::Gone => {}
            (Slot::Off | Slot::To(_), _) => {
                for view in candidates(problem, slots, h) {
                    out.push(Move {
                        kind: MoveKind::Start,
                        host: h,
                        view: Some(view),
                    });
                }
            }
        }
    }
    out
}

/// The states a move passes through: the restarting host down, then the state after. A
/// server that stops for good takes its service with it to the host that takes its id over, in
/// the same step: repointed earlier, the service would take a running server's address from
/// under it (a follower that lost its connection could not come back); left pointing at a
/// stopped server, it reaches nothing.
pub fn through(problem: &Problem, slots: &[Slot], m: Move) -> Vec<Vec<Slot>> {
    let mut after = slots.to_vec();
    let mut phases = Vec::new();
    match m.kind {
        MoveKind::Stop => {
            after[m.host] = Slot::Gone;
            for (s, service) in problem.services.iter().enumerate() {
                if service.serves == m.host && service.end != m.host {
                    after[problem.service_slot(s)] = Slot::To(service.end);
                }
            }
        }
        MoveKind::Point { service } => after[problem.service_slot(service)] = Slot::To(m.host),
        MoveKind::Start | MoveKind::Restart => {
            if m.kind == MoveKind::Restart {
                let mut down = slots.to_vec();
                down[m.host] = Slot::Off;
                phases.push(down);
            }
            if let Some(view) = m.view {
                after[m.host] = Slot::Up(view);
            }
        }
    }
    phases.push(after);
    phases
}

/// What one search run must reach: per host, the slot it ends in (`None`: any), and whether
/// the hosts to restart in place must have been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aim {
    pub want: Vec<Option<Slot>>,
    pub restarts_done: bool,
}

impl Aim {
    /// The target itself.
    pub fn target(problem: &Problem) -> Aim {
        let hosts = problem.hosts.iter().map(|host| {
            Some(match host.fate {
                Fate::Leaves => Slot::Gone,
                _ => Slot::Up(problem.goal),
            })
        });
        let services = problem.services.iter().map(|s| Some(Slot::To(s.end)));
        Aim {
            want: hosts.chain(services).collect(),
            restarts_done: true,
        }
    }

    /// The target's servers with only the ids in `moved` taken over: old hosts of the other
    /// ids still run, their new hosts are not started, and hosts that leave without a
    /// successor may do anything.
    fn part(problem: &Problem, moved: u32) -> Aim {
        let view = Slot::Up(ViewKey {
            membership: problem.goal.membership,
            moved: moved & !problem.served(problem.goal.via),
            via: problem.goal.via,
        });
        let taken = |t: Option<usize>| t.is_some_and(|t| moved & 1 << t != 0);
        let takeover_of = |h: usize| {
            problem
                .takeovers
                .iter()
                .position(|t| t.old == h || t.new == h)
        };
        Aim {
            want: problem
                .hosts
                .iter()
                .enumerate()
                .map(|(h, host)| match host.fate {
                    Fate::Leaves if takeover_of(h).is_none() => None,
                    Fate::Leaves if taken(takeover_of(h)) => Some(Slot::Gone),
                    Fate::Replaces(_) if !taken(takeover_of(h)) => Some(Slot::Off),
                    _ => Some(view),
                })
                .chain(problem.services.iter().map(|_| None))
                .collect(),
            restarts_done: false,
        }
    }

    fn allows(&self, m: Move) -> bool {
        match (m.kind, self.want[m.host]) {
            (_, None) => true,
            (MoveKind::Stop, want) => want == Some(Slot::Gone),
            (MoveKind::Start, want) => matches!(want, Some(Slot::Up(_))),
            (MoveKind::Restart, want) => want != Some(Slot::Off),
            // Services are created before the search starts, and repointed by the stops.
            (MoveKind::Point { .. }, _) => true,
        }
    }
}

/// Restarts and steps still certainly needed; and once the live leader has been touched,
/// every stop or restart still needed of today's other servers comes after it (before, the
/// stall rule's `floor`). In the floor's shape, in the objective's order, the restarts the
/// stall rule forces (`Floor::forced`) replace the count of new hosts off the goal view; and a
/// state with a stall on every way on counts it (`Floor::stalls_ahead`).
fn heuristic(problem: &Problem, aim: &Aim, floor: &Floor, key: &Key) -> Cost {
    // The floor's bounds hold for ways on without a stall; where every way on has one, they
    // say nothing about the fields after it.
    let stall_ahead = floor.stalls_ahead(&key.slots, key.leader_touched);
    let none = Floor::default();
    let floor = if stall_ahead { &none } else { floor };
    let mut cost = Cost {
        stalls: u32::from(stall_ahead),
        after_leader: floor.after_leader(&key.slots, key.leader_touched),
        ..Cost::default()
    };
    for (h, (want, slot)) in aim.want.iter().zip(&key.slots).enumerate() {
        let pending = aim.restarts_done && key.pending & bit(h) != 0;
        let disrupts = match (want, slot) {
            (Some(Slot::Gone), Slot::Up(_)) => true,
            (Some(Slot::Up(want)), Slot::Up(view)) if view != want || pending => {
                cost.restarts += 1;
                true
            }
            (Some(Slot::Up(_)), Slot::Off) => {
                cost.steps += 1;
                false
            }
            _ => false,
        };
        if disrupts {
            cost.steps += 1;
            let today = matches!(problem.hosts[h].fate, Fate::Stays | Fate::Leaves);
            if key.leader_touched && today && problem.leader != Some(h) {
                cost.after_leader += 1;
            }
        }
    }
    if let Some(forced) = floor.forced(&key.slots) {
        // In the shape every restart counted above is a new host's, each within `forced.new`;
        // each restart is a step too.
        let restarts = forced.old + forced.new.max(cost.restarts);
        cost.steps += restarts - cost.restarts;
        cost.restarts = restarts;
        if key.leader_touched {
            cost.after_leader += forced.old_besides_leader;
        }
    }
    cost
}

/// How a run orders its queue, and which of two paths to one state it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// By the objective (`Cost`'s order) of `g + h`: the first goal taken is a cheapest order,
    /// and the smallest `g + h` left in the queue bounds every order from below.
    Objective,
    /// By restarts, then steps, of `g + h`, whatever the stalls and the leader's place: the first
    /// goal taken has the fewest restarts of any order the rules allow, and the smallest
    /// `g + h` left bounds the restarts of every order from below (the heuristic's restarts
    /// alone never overestimate).
    RestartsFirst,
    /// Greedy: the fewest restarts and steps taken plus this many times those still needed. It
    /// heads for the goal, and what it finds is an order, not a proven cheapest one.
    Greedy(u32),
}

impl Order {
    /// What a cost is compared by.
    fn rank(self, c: Cost) -> [u32; 5] {
        match self {
            Order::RestartsFirst => [c.restarts, c.steps, c.stalls, c.after_leader, c.thin],
            Order::Objective | Order::Greedy(_) => {
                [c.stalls, c.after_leader, c.restarts, c.steps, c.thin]
            }
        }
    }
}

/// The queue's order: `rush` (0 but for a greedy run), then `rank` of `f` = `g + h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Priority {
    rush: u32,
    rank: [u32; 5],
    f: Cost,
}

fn priority(g: Cost, h: Cost, order: Order) -> Priority {
    let f = g.plus(h);
    Priority {
        rush: match order {
            Order::Greedy(rush) => g.restarts + g.steps + rush * (h.restarts + h.steps),
            _ => 0,
        },
        rank: order.rank(f),
        f,
    }
}

fn is_goal(aim: &Aim, slots: &[Slot], pending: u64) -> bool {
    (pending == 0 || !aim.restarts_done)
        && aim
            .want
            .iter()
            .zip(slots)
            .all(|(want, slot)| want.is_none_or(|want| want == *slot))
}

/// Whether the search takes move `m` out of `slots`: the states it passes through and what the
/// step costs (its stalls, bare majorities, restart and step; not its place after the
/// leader), or the rule that refuses it.
///
/// Every state it passes through must be safe, and the server it started must be able to join,
/// so the step's wait ends: while the live leader has not been touched it keeps leading (a
/// follower's restart starts no election), and every running server must be able to follow it.
/// Once it has been touched (or when it is unknown), whichever server won the election keeps
/// leading, and it may be any electable one: every electable leader must be one every running
/// server can follow. A notification naming a leader that is not a voter of the server's own
/// view is ignored (`FastLeaderElection.lookForLeader`, `validVoter(n.leader)`), and
/// `Learner.findLeader` looks the leader up in that view.
pub fn admit(
    judge: &mut Judge,
    slots: &[Slot],
    leader_touched: bool,
    m: Move,
) -> Result<(Vec<Vec<Slot>>, Cost), Refusal> {
    let problem = judge.problem;
    let mut phases = through(problem, slots, m);
    let touched = leader_touched || (m.disrupts() && problem.leader == Some(m.host));
    let leads = problem.leader.filter(|&l| {
        !touched
            && phases
                .last()
                .is_some_and(|after| matches!(after[l], Slot::Up(_)))
    });
    let starts = matches!(m.kind, MoveKind::Start | MoveKind::Restart);
    // A server started or restarted joins whoever leads then: the live leader or, once it has
    // been touched, whichever server won (the step before waited for every server to sync).
    // The live leader's own restart starts an election instead and is not asked; so would a
    // restart of the server that won, but which one won is not known, and asking every other
    // restart too is stricter, never unsafe.
    let joins = |judge: &mut Judge, after: &[Slot]| {
        !starts || problem.leader == Some(m.host) || judge.can_join_established(after, m.host)
    };
    // While the live leader keeps leading, a move that leaves a server unable to follow it, or
    // the server it started unable to join it, is refused: found without a verdict, it is cheap.
    if let (Some(l), Some(after)) = (leads, phases.last()) {
        let rule = if !judge.all_list(after, l) {
            Some(Rule::LeaderUnfollowed)
        } else if !joins(judge, after) {
            Some(Rule::CannotJoin)
        } else {
            None
        };
        if let Some(rule) = rule {
            let state = phases.pop().unwrap_or_default();
            return Err(Refusal { rule, state });
        }
    }
    let mut step = Cost {
        steps: 1,
        restarts: u32::from(m.kind == MoveKind::Restart),
        ..Cost::default()
    };
    for i in 0..phases.len() {
        let j = judge.judge(&phases[i]);
        let rule = if !j.safe {
            Some(Rule::Unsafe)
        } else if i + 1 < phases.len() {
            None
        } else if leads.is_some() {
            (!j.leader_followed).then_some(Rule::LeaderUnfollowed)
        } else {
            // Asked after the verdict, so a state where some electable leader cannot be
            // followed is named for that, the broader reason.
            (!j.joinable || j.unfollowed)
                .then_some(Rule::Stall)
                .or_else(|| (!joins(judge, &phases[i])).then_some(Rule::CannotJoin))
                .or_else(|| j.idle.then_some(Rule::CannotServe))
        };
        if let Some(rule) = rule {
            let state = phases.swap_remove(i);
            return Err(Refusal { rule, state });
        }
        step.stalls += u32::from(j.stall);
        step.thin += u32::from(j.thin);
    }
    Ok((phases, step))
}

/// The state move `m` leads to from `key` and what the step costs, or why it is refused.
fn successor(judge: &mut Judge, key: &Key, m: Move) -> Result<(Key, Cost), Refusal> {
    let problem = judge.problem;
    let (mut phases, mut step) = admit(judge, &key.slots, key.leader_touched, m)?;
    // "The leader last" is about today's servers: a restart of the live leader starts an
    // election, and every one of today's servers disrupted after it may start another. New
    // servers restarted later are the price of their ids moving.
    let mut touched = key.leader_touched;
    if m.disrupts() {
        if problem.leader == Some(m.host) {
            touched = true;
        } else if touched && matches!(problem.hosts[m.host].fate, Fate::Stays | Fate::Leaves) {
            step.after_leader = 1;
        }
    }
    let next = Key {
        slots: phases.pop().unwrap_or_default(),
        leader_touched: touched,
        pending: key.pending & !bit(m.host),
    };
    Ok((next, step))
}

/// A move that brings a host to where the target has it: a stop, a (re)start on the goal
/// view, or a service pointed at the host that runs its id at the end.
fn goalward(problem: &Problem, m: Move) -> bool {
    match m.kind {
        MoveKind::Stop => true,
        MoveKind::Point { service } => problem.services[service].end == m.host,
        MoveKind::Start | MoveKind::Restart => m.view == Some(problem.goal),
    }
}

/// What one search run ended with.
enum Outcome {
    Found(Vec<Move>, Cost, Key),
    /// The queue ran dry: no order exists within the model.
    Exhausted,
    /// The bound was hit; the smallest `g + h` left in the queue bounds every order from below.
    GaveUp(Cost),
}

struct Run {
    outcome: Outcome,
    expanded: usize,
    /// The expanded state with the fewest moves still certainly needed.
    closest: Key,
    blockers: Blockers,
}

/// Per rule (`Refusal::rule`), the goal-ward move it refused from the expanded state with the
/// fewest moves still certainly needed: (that distance, the state's slots, the move, the
/// refusal).
#[derive(Default)]
struct Blockers(Vec<(u32, Vec<Slot>, Move, Refusal)>);

impl Blockers {
    /// Runs for every refused goal-ward move of every search, and is read only when no order
    /// is found: the state is copied only when it is kept.
    fn note(&mut self, h: Cost, key: &Key, m: Move, refusal: Refusal) {
        let distance = h.restarts + h.steps;
        match self.0.iter_mut().find(|b| b.3.rule == refusal.rule) {
            Some(b) if b.0 <= distance => {}
            Some(b) => *b = (distance, key.slots.clone(), m, refusal),
            None => self.0.push((distance, key.slots.clone(), m, refusal)),
        }
    }

    fn into_list(mut self) -> Vec<(Vec<Slot>, Move, Refusal)> {
        self.0.sort_by_key(|b| b.3.rule);
        self.0
            .into_iter()
            .map(|(_, slots, m, refusal)| (slots, m, refusal))
            .collect()
    }
}

/// The moves from the first entry to `index`, each in the naming of the states the search
/// really passes through: entry `i`'s key is its real state renamed by the renamings met so
/// far, so its move, renamed back, is the real one.
fn path(problem: &Problem, entries: &[Entry], steps: &Steps, index: usize) -> Vec<Move> {
    let mut back = Vec::new();
    let mut at = index;
    while entries[at].parent != NONE {
        let entry = &entries[at];
        let renaming = (entry.renamed != NONE).then(|| steps.renamings.get(entry.renamed));
        back.push((*steps.moves.get(entry.step), renaming));
        at = entry.parent as usize;
    }
    let mut named = Renaming::identity(problem.takeovers.len());
    let mut moves = Vec::new();
    for (m, renaming) in back.into_iter().rev() {
        moves.push(named.inverse().apply(problem, m));
        if let Some(renaming) = renaming {
            named = renaming.after(&named);
        }
    }
    moves
}

/// One A* run from `from` to `aim`, ranked by `order`, expanding at most `bound` states. A
/// state whose `g + h` ranks at or above `ceiling` (the cost of an order already known) is not
/// kept: the queue running dry then proves that no order is cheaper than the known one.
fn run(
    judge: &mut Judge,
    bound: Bound,
    order: Order,
    from: &Key,
    aim: &Aim,
    symmetry: &Symmetry,
    ceiling: Option<Cost>,
) -> Run {
    let problem = judge.problem;
    let floor = Floor::of(problem, aim).forcing(order == Order::Objective);
    let mut entries: Vec<Entry> = vec![Entry {
        key: judge.store(from),
        cost: Cost::default(),
        parent: NONE,
        step: NONE,
        renamed: NONE,
    }];
    let mut steps = Steps::default();
    let mut best: FastMap<Stored, Cost> = FastMap::default();
    best.insert(entries[0].key, Cost::default());
    let mut open = BinaryHeap::new();
    open.push(Reverse((
        priority(
            Cost::default(),
            heuristic(problem, aim, &floor, from),
            order,
        ),
        0usize,
    )));
    let mut expanded = 0;
    let mut closest = (heuristic(problem, aim, &floor, from), from.clone());
    let mut blockers = Blockers::default();
    while let Some(Reverse((Priority { f, .. }, index))) = open.pop() {
        let cost = entries[index].cost;
        if best
            .get(&entries[index].key)
            .is_some_and(|b| order.rank(*b) < order.rank(cost))
        {
            continue;
        }
        let key = judge.load(entries[index].key);
        if is_goal(aim, &key.slots, key.pending) {
            let moves = path(problem, &entries, &steps, index);
            return Run {
                outcome: Outcome::Found(moves, cost, key),
                expanded,
                closest: closest.1,
                blockers,
            };
        }
        if expanded >= bound.max_states {
            return Run {
                outcome: Outcome::GaveUp(f),
                expanded,
                closest: closest.1,
                blockers,
            };
        }
        expanded += 1;
        let h = heuristic(problem, aim, &floor, &key);
        if (h.restarts, h.steps) < (closest.0.restarts, closest.0.steps) {
            closest = (h, key.clone());
        }
        for m in moves(problem, &key.slots, key.pending) {
            if !aim.allows(m) {
                continue;
            }
            let (next, step) = match successor(judge, &key, m) {
                Ok(next) => next,
                Err(refusal) => {
                    if goalward(problem, m) {
                        blockers.note(h, &key, m, refusal);
                    }
                    continue;
                }
            };
            let (next, renaming) = if symmetry.is_trivial() {
                (next, None)
            } else {
                let (slots, renaming) = symmetry.canonical(problem, &next.slots);
                (Key { slots, ..next }, Some(renaming))
            };
            let g = cost.plus(step);
            let stored = judge.store(&next);
            if best
                .get(&stored)
                .is_some_and(|b| order.rank(*b) <= order.rank(g))
            {
                continue;
            }
            let f = priority(g, heuristic(problem, aim, &floor, &next), order);
            if ceiling.is_some_and(|c| order.rank(f.f) >= order.rank(c)) {
                continue;
            }
            best.insert(stored, g);
            entries.push(Entry {
                key: stored,
                cost: g,
                // Entries number at most a few per state judged: far below `NONE`.
                parent: index as u32,
                step: steps.moves.number(m),
                renamed: renaming.map_or(NONE, |r| steps.renamings.number(r)),
            });
            open.push(Reverse((f, entries.len() - 1)));
        }
    }
    Run {
        outcome: Outcome::Exhausted,
        expanded,
        closest: closest.1,
        blockers,
    }
}

/// The cheapest order within `bound`; past it, the best order found by taking the ids over in
/// batches of three, two or one (the leader's last), each part searched exactly within `bound`
/// or greedily past it, with the restart floor a restarts-first search proves; `Err` when
/// there is none.
pub fn search(judge: &mut Judge, bound: Bound) -> Result<Found, Stuck> {
    let problem = judge.problem;
    let (created, cost, slots) = create_services(judge, start_slots(problem))?;
    let start = Key {
        slots,
        leader_touched: false,
        pending: start_pending(problem),
    };
    let mut found = search_from(judge, bound, start)?;
    found.moves.splice(0..0, created);
    found.cost = cost.plus(found.cost);
    Ok(found)
}

/// The services that do not exist yet, created first, each in front of the server it was made
/// for (or, when that server is gone already, the host that takes its id over), and the state
/// they leave. Before they exist no view can name them, so creating them first loses no order
/// worth having, and the search is spared interleaving them with every other move. Each is
/// judged like any move.
fn create_services(
    judge: &mut Judge,
    mut slots: Vec<Slot>,
) -> Result<(Vec<Move>, Cost, Vec<Slot>), Stuck> {
    let problem = judge.problem;
    let mut moves = Vec::new();
    let mut cost = Cost::default();
    for (s, service) in problem.services.iter().enumerate() {
        if slots[problem.service_slot(s)] != Slot::Off {
            continue;
        }
        let host = if slots[service.serves] == Slot::Gone {
            service.end
        } else {
            service.serves
        };
        let m = Move {
            kind: MoveKind::Point { service: s },
            host,
            view: None,
        };
        match admit(judge, &slots, false, m) {
            Ok((mut phases, step)) => {
                slots = phases.pop().unwrap_or_default();
                moves.push(m);
                cost = cost.plus(step);
            }
            Err(refusal) => {
                return Err(Stuck {
                    slots,
                    refused: vec![(m, refusal)],
                    blockers: Vec::new(),
                    expanded: 0,
                    gave_up: false,
                })
            }
        }
    }
    Ok((moves, cost, slots))
}

/// `search` from `start`, its services created.
fn search_from(judge: &mut Judge, bound: Bound, start: Key) -> Result<Found, Stuck> {
    let problem = judge.problem;
    let target = Aim::target(problem);
    // The two whole searches merge interchangeable ids; the batches below name each id.
    let symmetry = Symmetry::of(problem);
    // An order known before the exact search caps it: a state that cannot finish cheaper is
    // not kept, and a queue that runs dry below the cap proves that order the cheapest.
    let candidate = on_later_rules(judge, bound, &start);
    let ceiling = candidate.as_ref().map(|(_, cost, _)| *cost);
    let exact = run(
        judge,
        bound,
        Order::Objective,
        &start,
        &target,
        &symmetry,
        ceiling,
    );
    let mut expanded = exact.expanded;
    let mut candidate = candidate.map(|(moves, cost, more)| {
        expanded += more;
        (moves, cost)
    });
    let lower_bound = match exact.outcome {
        Outcome::Found(moves, cost, _) => {
            return Ok(Found {
                moves,
                cost,
                proof: Proof::Minimal,
                expanded,
            })
        }
        Outcome::Exhausted => match candidate {
            Some((moves, cost)) => {
                return Ok(Found {
                    moves,
                    cost,
                    proof: Proof::Minimal,
                    expanded,
                })
            }
            None => return Err(stuck(judge, exact, 0, false)),
        },
        Outcome::GaveUp(lower_bound) => lower_bound,
    };
    // An order known already that meets the bound in the objective is as good as any the
    // searches below could find there.
    if let Some((moves, cost)) =
        candidate.take_if(|(_, cost)| objective(*cost) == objective(lower_bound))
    {
        return Ok(Found {
            moves,
            cost,
            proof: tie_proof(lower_bound, cost),
            expanded,
        });
    }
    // The ids in descending sid order (before 3.5 the higher ids must learn a new address
    // first, LINE deck slide 16), the live leader's last; taken over a few at a time, each batch
    // ending with every running server on one view. Each batch costs about a restart of every
    // running server (replacing nine: 72 restarts one id at a time, 18 three at a time), so the
    // largest batch size whose searches find an order is kept.
    let mut order: Vec<usize> = (0..problem.takeovers.len()).collect();
    order.sort_by_key(|&t| {
        let takeover = problem.takeovers[t];
        (
            problem.leader == Some(takeover.old),
            std::cmp::Reverse(takeover.sid),
        )
    });
    // How few restarts any order can have: the objective ranks stalls and the leader's place
    // before restarts, so its bound says nothing about the restarts of an order worse there.
    let fewest = run(
        judge,
        bound,
        Order::RestartsFirst,
        &start,
        &target,
        &symmetry,
        None,
    );
    expanded += fewest.expanded;
    let mut best = candidate;
    let (restarts_at_least, restarts_exact) = match fewest.outcome {
        Outcome::Found(moves, cost, _) => {
            if best.as_ref().is_none_or(|(_, b)| cost < *b) {
                best = Some((moves, cost));
            }
            (cost.restarts, true)
        }
        Outcome::GaveUp(f) => (f.restarts, false),
        Outcome::Exhausted => return Err(stuck(judge, fewest, exact.expanded, false)),
    };
    let (moves, cost) = match (best, batches(judge, bound, &start, &order)) {
        (best, Ok((moves, cost, more))) => {
            expanded += more;
            match best {
                Some((kept, b)) if b <= cost => (kept, b),
                _ => (moves, cost),
            }
        }
        (Some(best), Err(stuck)) => {
            expanded += stuck.expanded;
            best
        }
        (None, Err(mut stuck)) => {
            stuck.expanded += expanded;
            return Err(stuck);
        }
    };
    let proof = if objective(lower_bound) == objective(cost) {
        tie_proof(lower_bound, cost)
    } else {
        Proof::BestFound {
            lower_bound,
            restarts_at_least,
            restarts_exact,
        }
    };
    Ok(Found {
        moves,
        cost,
        proof,
        expanded,
    })
}

/// The fields of the objective itself, without the bare-majority tie-break.
fn objective(c: Cost) -> (u32, u32, u32, u32) {
    (c.stalls, c.after_leader, c.restarts, c.steps)
}

/// The proof of an order that meets the exact search's bound in the objective: every order
/// ranks at or above that bound, so none is better there; the tie-break is proven only when
/// the bound reaches it too.
fn tie_proof(lower_bound: Cost, cost: Cost) -> Proof {
    if lower_bound.thin >= cost.thin {
        Proof::Minimal
    } else {
        Proof::MinimalBeforeTies {
            bare_at_least: lower_bound.thin,
        }
    }
}

/// Before 3.5 no two ids are interchangeable, so the exact search stops short where the same
/// problem on 3.5 rules, its ids merged, is searched to the end. That order, replayed move by
/// move under the problem's own rules, is a candidate when each move is admitted there (it
/// often is: replacing every host of nine, 32 / 14 against 36 / 18 by batches); with the states
/// the search on 3.5 rules expanded. `None` on 3.5+ rules, or when no such order is found or
/// one of its moves is refused.
fn on_later_rules(
    judge: &mut Judge,
    bound: Bound,
    start: &Key,
) -> Option<(Vec<Move>, Cost, usize)> {
    let problem = judge.problem;
    if !problem.version.dials_back_from_own_view() {
        return None;
    }
    let mut later = problem.clone();
    later.version = ZkVersion::new(3, 5, 0);
    let mut later_judge = Judge::new(&later);
    let target = Aim::target(&later);
    let searched = run(
        &mut later_judge,
        bound,
        Order::Objective,
        start,
        &target,
        &Symmetry::of(&later),
        None,
    );
    let Outcome::Found(moves, _, _) = searched.outcome else {
        return None;
    };
    let mut key = start.clone();
    let mut cost = Cost::default();
    for &m in &moves {
        let (next, step) = successor(judge, &key, m).ok()?;
        cost = cost.plus(step);
        key = next;
    }
    is_goal(&target, &key.slots, key.pending).then_some((moves, cost, searched.expanded))
}

/// The first order found by batches of three ids, else two, else one (nine voters keep a
/// majority and one to restart with three of them down); with the states expanded by every
/// size tried. `Err` when even one at a time finds none.
fn batches(
    judge: &mut Judge,
    bound: Bound,
    start: &Key,
    order: &[usize],
) -> Result<(Vec<Move>, Cost, usize), Stuck> {
    let mut expanded = 0;
    for size in [3, 2] {
        match batched(judge, bound, start, order, size) {
            Ok((moves, cost, more)) => return Ok((moves, cost, expanded + more)),
            Err(stuck) => expanded += stuck.expanded,
        }
    }
    match batched(judge, bound, start, order, 1) {
        Ok((moves, cost, more)) => Ok((moves, cost, expanded + more)),
        Err(mut stuck) => {
            stuck.expanded += expanded;
            Err(stuck)
        }
    }
}

/// An order that takes the ids over `size` at a time, in `order`: each batch searched exactly
/// within `bound`, or greedily past it; with the states expanded.
fn batched(
    judge: &mut Judge,
    bound: Bound,
    start: &Key,
    order: &[usize],
    size: usize,
) -> Result<(Vec<Move>, Cost, usize), Stuck> {
    let problem = judge.problem;
    let mut aims = Vec::new();
    let mut moved = 0u32;
    for batch in order.chunks(size) {
        moved |= batch.iter().fold(0, |bits, t| bits | 1 << t);
        aims.push(Aim::part(
            problem,
            moved & problem.all_moved(problem.goal.membership),
        ));
    }
    aims.push(Aim::target(problem));
    let mut expanded = 0;
    let mut at = start.clone();
    let mut moves = Vec::new();
    let mut cost = Cost::default();
    for aim in &aims {
        let plain = Symmetry::default();
        let mut part = run(judge, bound, Order::Objective, &at, aim, &plain, None);
        if matches!(part.outcome, Outcome::GaveUp(_)) {
            expanded += part.expanded;
            // The bound is the exact search's: the weighted one that takes over gets at least
            // the default's, or a small bound would leave it no room to find any order.
            let greedy = Bound {
                max_states: bound.max_states.max(Bound::default().max_states),
            };
            part = run(judge, greedy, Order::Greedy(4), &at, aim, &plain, None);
        }
        match part.outcome {
            Outcome::Found(more, more_cost, end) => {
                expanded += part.expanded;
                moves.extend(more);
                cost = cost.plus(more_cost);
                at = end;
            }
            Outcome::Exhausted => return Err(stuck(judge, part, expanded, false)),
            Outcome::GaveUp(_) => return Err(stuck(judge, part, expanded, true)),
        }
    }
    Ok((moves, cost, expanded))
}

/// Why a run found no order: the goal-ward moves out of the closest state it reached and why
/// each is refused, and the closest refusal of each rule it met (`expanded`: states expanded
/// before this run).
fn stuck(judge: &mut Judge, run: Run, expanded: usize, gave_up: bool) -> Stuck {
    let problem = judge.problem;
    let closest = run.closest;
    let refused = moves(problem, &closest.slots, 0)
        .into_iter()
        .filter(|&m| goalward(problem, m))
        .filter_map(|m| {
            admit(judge, &closest.slots, closest.leader_touched, m)
                .err()
                .map(|refusal| (m, refusal))
        })
        .collect();
    Stuck {
        slots: closest.slots,
        refused,
        blockers: run.blockers.into_list(),
        expanded: expanded + run.expanded,
        gave_up,
    }
}

mod floor;
mod packed;

#[cfg(test)]
mod bounds;
