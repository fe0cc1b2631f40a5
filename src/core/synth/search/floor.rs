//! A floor under "after the leader" that the stall rule implies, for orders with no stall state
//! (the argument is in docs/synthesize.md, "Search"). In the objective's order (and in the
//! restarts-first one, where it is compared only after restarts, steps and stalls) a bound that
//! holds for every completion without a stall is admissible: a completion with a stall already
//! ranks above it in its stalls field.
//!
//! It applies to one shape of problem, the one whose analyzer answers the argument reads off
//! the code: one membership whose every line is a participant, every host of the problem the old
//! or the new host of a takeover, each old host listed at its own address, the live leader named
//! and running on its view of today, every old host gone at the end, and no service. On 3.5+
//! rules any state with a new host beside the untouched leader stalls; before 3.5 only the
//! state right after a new host's (re)start is known to, and the floor is weaker there.
//!
//! In the same shape the stall rule also forces restarts (`Floor::forced`): once the leader has
//! been touched every running server must list every other where it runs, so each new host's
//! start needs a majority that learnt its address after its old host stopped. That bound holds
//! only for completions without a stall, and restarts come before stalls in the restarts-first
//! order: only the objective's order may use it. And a state from which the leader can no
//! longer be touched without a stall first has one ahead (`Floor::stalls_ahead`).

use super::super::model::{Fate, Problem, Slot};
use super::Aim;

/// What the floor needs of the problem, found once per search run.
#[derive(Debug, Clone, Default)]
pub struct Floor {
    /// The live leader's host, when the problem has the shape above; `None` switches the floor
    /// off.
    leader: Option<usize>,
    /// The hosts that take a sid over.
    new_hosts: Vec<usize>,
    /// The hosts whose sid is taken over.
    old_hosts: Vec<usize>,
    /// The membership's majority.
    majority: usize,
    /// Before 3.5: a new host beside the untouched leader need not stall (see `after_leader`).
    dials_back: bool,
    /// The goal view's moved ids: the view every new host ends on.
    goal: u32,
    /// Whether `forced` counts: only in the objective's order.
    forces: bool,
}

/// Restarts that any order without a stall state still makes (`Floor::forced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forced {
    /// Of today's servers.
    pub old: u32,
    /// Of today's servers other than the live leader, once it has been touched: what "after the
    /// leader" counts.
    pub old_besides_leader: u32,
    /// Of the new hosts, running or not started yet, the restart onto the goal view included.
    pub new: u32,
}

impl Floor {
    pub fn of(problem: &Problem, aim: &Aim) -> Floor {
        let off = Floor::default();
        let Some(leader) = problem.leader else {
            return off;
        };
        let [membership] = problem.memberships.as_slice() else {
            return off;
        };
        let every_line_votes = membership
            .lines
            .iter()
            .all(|line| line.role == crate::zk::config::PeerRole::Participant);
        let every_host_moves = problem.hosts.iter().enumerate().all(|(h, host)| {
            problem.takeovers.iter().any(|t| t.new == h)
                || (host.fate == Fate::Leaves
                    && problem.takeovers.iter().any(|t| t.old == h)
                    && aim.want[h] == Some(Slot::Gone)
                    && membership
                        .lines
                        .iter()
                        .any(|line| line.sid == host.sid && line.has_addr(&host.addr)))
        });
        let leader_today = problem.start[leader].is_some_and(|view| view.moved == 0);
        // Its random checks drew no services: a view that names ids by them is another shape.
        if !problem.services.is_empty() || !every_line_votes || !every_host_moves || !leader_today {
            return off;
        }
        Floor {
            leader: Some(leader),
            new_hosts: problem.takeovers.iter().map(|t| t.new).collect(),
            old_hosts: problem.takeovers.iter().map(|t| t.old).collect(),
            majority: membership.lines.len() / 2 + 1,
            dials_back: problem.version.dials_back_from_own_view(),
            goal: problem.goal.moved,
            forces: false,
        }
    }

    /// The same floor, with `forced` counting when `on` (the objective's order).
    pub fn forcing(self, on: bool) -> Floor {
        Floor { forces: on, ..self }
    }

    /// Stops and restarts of today's other servers that any order without a stall state still
    /// makes after the live leader's first stop or restart, from `slots`, while the leader runs
    /// untouched on today's view: a majority of the membership when no new host runs, with the
    /// restarts that fall after it (`restarts_after_touch`); once one does, on 3.5+ rules every
    /// old host that runs, before 3.5 the majority less the new hosts running.
    ///
    /// Why: (1) a new host (re)started while the leader keeps leading must hear a majority of
    /// its own view's voters among the running participants it has an election connection with
    /// (the search refuses it otherwise: `Judge::can_join_established`). Every view of the
    /// membership lists every sid as a voter, so each of them proposes the new host and it
    /// tallies them, a majority of its view (`election::proposers`, `Decisions::new`): it decides
    /// for itself. Either too few can follow it (`Verdict::stalls`) or it is a possible leader
    /// that the untouched leader cannot follow, its view giving the sid at the old host's
    /// address: the state right after the start stalls. (2) On 3.5+ rules more holds: while the
    /// leader keeps leading every running server's view gives the leader's sid at its old host
    /// (the search refuses any other view then), so a new host's view moves only ids whose old
    /// hosts are gone: it lists every running old host where it listens, and itself at its own
    /// address. One side listing the other where it listens is an election link there
    /// (`Ensemble::cut`: the larger sid dials, or the smaller dials and is dialled back at the
    /// address it advertises, its own line), and old hosts list each other where they listen:
    /// the running servers are pairwise linked, and any state with a new host running stalls by
    /// (1)'s reasoning. Before 3.5 the larger sid dials back at the address its own view gives,
    /// so a new host can lose its links as old hosts stop, and only (1) holds. (3) So in an order
    /// without a stall state no new host (re)starts before the leader is touched. The leader's
    /// restart (its down moment) or stop leaves a working quorum: a majority of voters running
    /// besides it, each an old host but for the new hosts running already, and every old host
    /// stops after it. On 3.5+ rules, with a new host running the next move must be the
    /// leader's own, so every old host running then stops after it.
    pub fn after_leader(&self, slots: &[Slot], leader_touched: bool) -> u32 {
        let Some(leader) = self.leader else {
            return 0;
        };
        if leader_touched || !matches!(slots[leader], Slot::Up(_)) {
            return 0;
        }
        let new_running = running(slots, &self.new_hosts);
        let floor = if new_running == 0 {
            self.majority + self.restarts_after_touch(slots)
        } else if self.dials_back {
            self.majority.saturating_sub(new_running)
        } else {
            // The leader is one of them, running.
            running(slots, &self.old_hosts).saturating_sub(1)
        };
        floor as u32
    }

    /// Whether every way on from `slots` passes a stall state: the leader untouched and no new
    /// host running, with fewer than a majority of old hosts running besides the leader. Until
    /// the leader is touched an order without a stall starts no new host (step 3 of
    /// `after_leader`), so old hosts only stop or restart, and the leader's stop or restart
    /// needs a majority of old hosts running besides it: too few now, too few then.
    pub fn stalls_ahead(&self, slots: &[Slot], leader_touched: bool) -> bool {
        let Some(leader) = self.leader else {
            return false;
        };
        // The leader is one of the old hosts running.
        !leader_touched
            && matches!(slots[leader], Slot::Up(_))
            && running(slots, &self.new_hosts) == 0
            && running(slots, &self.old_hosts).saturating_sub(1) < self.majority
    }

    /// How many of the windows between an old host's stop and its successor's start one restart
    /// can fall in (step (c) of `forced`): `s = n - m - 1`, at least 1.
    fn shared(&self) -> usize {
        self.new_hosts
            .len()
            .saturating_sub(self.majority + 1)
            .max(1)
    }

    /// Old hosts beside the k-th start from now (from 0), with `new_running` new hosts and
    /// `old_running` old hosts running now: at least a majority less the new hosts running by
    /// then, and at least the old hosts running now less those stopped by then (the k + 1
    /// started and at most `s` waiting). Both shrink as k grows.
    fn old_beside(&self, new_running: usize, old_running: usize, k: usize) -> usize {
        self.majority
            .saturating_sub(new_running + k)
            .max(old_running.saturating_sub(k + 1 + self.shared()))
    }

    /// Before the leader is touched, with no new host running: restarts of today's servers
    /// other than the leader that any order without a stall makes after it. When the leader
    /// stops or restarts, at least `m` old hosts besides it run, so at least `m + 1` ids (theirs
    /// and the leader's) still have their old host: their windows open at or after the touch,
    /// no server lists those ids moved before, and the old hosts beside each of their starts
    /// (the leader perhaps among them, so one less) restart inside them. At best those windows
    /// close at the last `m + 1` starts, where the fewest old hosts are beside.
    fn restarts_after_touch(&self, slots: &[Slot]) -> usize {
        let old_running = running(slots, &self.old_hosts);
        let waiting = self
            .new_hosts
            .iter()
            .filter(|&&h| slots[h] == Slot::Off)
            .count();
        let needed: usize = (waiting.saturating_sub(self.majority + 1)..waiting)
            .map(|k| self.old_beside(0, old_running, k).saturating_sub(1))
            .sum();
        needed.div_ceil(self.shared())
    }

    /// Restarts still certainly needed from `slots` by any order without a stall state, or
    /// `None` outside the shape (or outside the objective's order). The argument, in full in
    /// docs/synthesize.md ("Restarts the views force"):
    ///
    /// (a) Once the leader has been touched every state is one where any electable server may
    /// lead. A running server that has an election link with fewer than `m - 1` others tallies
    /// fewer than a majority and decides for nobody (`election::Decisions`): it is in no camp,
    /// and the search refuses such a state (`Rule::CannotServe`). So each running server has
    /// `m - 1` links, decides for itself, and is a possible leader (or the state stalls); every
    /// running server must reach it, its view listing it where it runs (`Rule::Stall`,
    /// `Learner.findLeader`). So a running server lists every running new host at its new
    /// address, and no view that lists every id moved (the goal's) runs beside an old host.
    /// (b) No new host starts before the leader is touched (`after_leader`, step 3), so when
    /// new host `i` starts, at least `m` others run (it must hear a majority) and each lists
    /// `i` moved: each learnt it from a (re)start after old host `i` stopped, or started after
    /// that. (c) A restart's down moment leaves at most `s = n - m - 1` ids with no server
    /// running (the rest must hold a majority), so one restart falls in at most `s` of the
    /// windows between an old host's stop and its successor's start: counting, per window, the
    /// servers that must restart in it and dividing by `s` bounds the restarts from below.
    pub fn forced(&self, slots: &[Slot]) -> Option<Forced> {
        let leader = self.leader.filter(|_| self.forces)?;
        let s = self.shared();
        let view = |h: usize| match slots[h] {
            Slot::Up(key) => Some(key.moved),
            _ => None,
        };
        let waiting: Vec<usize> = (0..self.new_hosts.len())
            .filter(|&t| slots[self.new_hosts[t]] == Slot::Off)
            .collect();
        let new_running = running(slots, &self.new_hosts);
        let old_running = running(slots, &self.old_hosts);
        // Per window still to close: the running old hosts that list its id moved already.
        let mut knowing: Vec<usize> = waiting
            .iter()
            .map(|&t| {
                self.old_hosts
                    .iter()
                    .filter(|&&h| view(h).is_some_and(|moved| moved & 1 << t != 0))
                    .count()
            })
            .collect();
        knowing.sort_unstable_by(|a, b| b.cmp(a));
        // The old hosts beside the starts shrink as they go, so pairing them with the windows
        // known to most old hosts first gives the fewest restarts.
        let old_restarts = |spared: usize| {
            let needed: usize = knowing
                .iter()
                .enumerate()
                .map(|(k, &known)| {
                    self.old_beside(new_running, old_running, k)
                        .saturating_sub(known + spared)
                })
                .sum();
            needed.div_ceil(s)
        };
        // Per old host: an old host beside a start is beside every earlier one (it only
        // stops), and it restarts in each of those windows whose id it does not list yet, once
        // for every `s` of them. The j-th of the hosts beside the starts is beside those where
        // at least j are; the hosts that know the most ids fill those places, in the order
        // that needs the fewest restarts.
        let beside: Vec<usize> = (0..waiting.len())
            .map(|k| self.old_beside(new_running, old_running, k))
            .collect();
        let places: Vec<usize> = (1..=beside.first().copied().unwrap_or(0))
            .map(|j| beside.iter().filter(|&&b| b >= j).count())
            .collect();
        let mut known: Vec<usize> = self
            .old_hosts
            .iter()
            .filter_map(|&h| view(h))
            .map(|moved| waiting.iter().filter(|&&t| moved & 1 << t != 0).count())
            .collect();
        known.sort_unstable_by(|a, b| b.cmp(a));
        known.truncate(places.len());
        let by_host = fewest_by_host(&places, &known, s);
        // The leader may be the old host in the place beside the most starts.
        let besides_leader =
            by_host.saturating_sub(places.first().map_or(0, |&windows| windows.div_ceil(s)));
        // A running new host restarts in each window whose id its view does not list moved,
        // and at least once if it is not on the goal view.
        let running: usize = self
            .new_hosts
            .iter()
            .filter_map(|&h| view(h))
            .map(|moved| {
                let missing = waiting.iter().filter(|&&t| moved & 1 << t == 0).count();
                missing.div_ceil(s).max(usize::from(moved != self.goal))
            })
            .sum();
        // The j-th new host still to start (from 1) misses the ids whose old hosts still run
        // then, at least the later starts less `s` waiting; and while any old host runs beside
        // it (today's less the j started and `s` waiting), it cannot be on the goal view.
        let u = waiting.len();
        let starting: usize = (1..=u)
            .map(|j| {
                (u - j)
                    .saturating_sub(s)
                    .div_ceil(s)
                    .max(usize::from(j + s < old_running))
            })
            .sum();
        let leader_runs = matches!(slots[leader], Slot::Up(_));
        Some(Forced {
            old: old_restarts(0).max(by_host) as u32,
            old_besides_leader: if leader_runs {
                old_restarts(1).max(besides_leader)
            } else {
                old_restarts(0).max(by_host)
            } as u32,
            new: (running + starting) as u32,
        })
    }
}

/// How many of `hosts` run in `slots`.
fn running(slots: &[Slot], hosts: &[usize]) -> usize {
    hosts
        .iter()
        .filter(|&&h| matches!(slots[h], Slot::Up(_)))
        .count()
}

/// The fewest restarts of old hosts in `places` (per place, the windows the host in it is
/// beside) filled by hosts that each know `known` of those windows already: each restarts once
/// for every `s` windows it does not know. Every assignment is tried (a place per host, at most
/// `MAX_PLACES` places: a majority of nine); beyond, 0, which bounds nothing.
fn fewest_by_host(places: &[usize], known: &[usize], s: usize) -> usize {
    fn fill(places: &[usize], known: &[usize], used: u32, s: usize) -> usize {
        let Some((&windows, rest)) = places.split_first() else {
            return 0;
        };
        (0..known.len())
            .filter(|i| used & 1 << i == 0)
            .map(|i| {
                windows.saturating_sub(known[i]).div_ceil(s) + fill(rest, known, used | 1 << i, s)
            })
            .min()
            .unwrap_or(0)
    }
    if places.len() > MAX_PLACES || known.len() < places.len() {
        return 0;
    }
    fill(places, known, 0, s)
}

/// The most places `fewest_by_host` fills by trying every assignment (6! = 720).
const MAX_PLACES: usize = 6;

#[cfg(test)]
mod tests {

    use super::super::super::fixtures::{ensemble_state, into_pods, replace_all};
    use super::super::super::model::ViewKey;
    use super::super::bounds::problem;
    use super::super::{Aim, Judge};
    use super::*;
    use crate::rehearse::lab::draw::Rng;

    fn up(moved: u32) -> Slot {
        Slot::Up(ViewKey {
            membership: 0,
            moved,
            via: 0,
        })
    }

    fn replaced(n: u64, version: &str) -> Problem {
        let leader = format!("zk{n}");
        problem(&ensemble_state(n, version), &replace_all(n), Some(&leader))
    }

    /// A state in the shape the argument describes, for `n` replaced with the leader zk`n`
    /// untouched: one new host or more running (the takeovers returned, in the order they
    /// started), each listing every id taken over before it started and any other gone ones,
    /// old hosts listing any gone ids. Takeover t: old host t, new host n + t, bit t of a view.
    fn draw(n: usize, rng: &mut Rng) -> (Vec<Slot>, Vec<usize>) {
        let leader = n - 1;
        let mut ids: Vec<usize> = (0..leader).collect();
        rng.shuffle(&mut ids);
        let started = ids[..rng.in_range(&(1..=leader))].to_vec();
        let absent: Vec<usize> = ids[started.len()..]
            .iter()
            .copied()
            .filter(|_| rng.chance(30))
            .collect();
        let gone = started
            .iter()
            .chain(&absent)
            .fold(0u32, |bits, t| bits | 1 << t);
        let extra = |rng: &mut Rng| gone & (rng.next_u64() as u32);
        let mut slots = vec![Slot::Off; 2 * n];
        for (t, slot) in slots[..leader].iter_mut().enumerate() {
            *slot = if gone & 1 << t != 0 {
                Slot::Gone
            } else {
                up(extra(rng))
            };
        }
        slots[leader] = up(0);
        for (k, &t) in started.iter().enumerate() {
            let before = started[..=k].iter().fold(0u32, |bits, u| bits | 1 << u);
            slots[n + t] = up(before | extra(rng));
        }
        (slots, started)
    }

    /// Steps (1) and (2) of the argument against the analyzer itself, on five, seven and nine
    /// replaced on 3.5+ rules: states drawn in its shape are all unsafe or stall.
    #[test]
    fn any_new_host_beside_the_untouched_leader_stalls() {
        for n in [5usize, 7, 9] {
            let problem = replaced(n as u64, "3.8.0");
            let mut judge = Judge::new(&problem);
            let mut rng = Rng::new(n as u64);
            let (mut safe, mut few) = (0, 0);
            for _ in 0..400 {
                let (slots, started) = draw(n, &mut rng);
                let judgement = judge.judge(&slots);
                assert!(!judgement.safe || judgement.stall, "{slots:?}");
                safe += usize::from(judgement.safe);
                few += usize::from(judgement.safe && started.len() <= n / 2);
            }
            // Not vacuous: most drawn states are safe, many with fewer new hosts than a
            // majority, and each of them stalls.
            assert!(
                safe > 100 && few > 50,
                "{n}: {safe} safe, {few} with few new hosts"
            );
        }
    }

    /// Step (1) before 3.5, where a new host beside the untouched leader need not stall: in
    /// every drawn state where some new host could just have joined (`can_join_established`),
    /// the state is unsafe or stalls. Beside it, states where no new host could have joined
    /// and that stall not: what keeps the 3.5+ floor off there.
    #[test]
    fn before_3_5_a_new_host_that_can_join_beside_the_untouched_leader_stalls() {
        for n in [5usize, 7, 9] {
            let problem = replaced(n as u64, "3.4.6");
            let mut judge = Judge::new(&problem);
            let mut rng = Rng::new(n as u64 + 100);
            let (mut joined, mut calm) = (0, 0);
            for _ in 0..600 {
                let (slots, started) = draw(n, &mut rng);
                let judgement = judge.judge(&slots);
                let could_join = started
                    .iter()
                    .any(|&t| judge.can_join_established(&slots, n + t));
                if could_join {
                    assert!(!judgement.safe || judgement.stall, "{slots:?}");
                    joined += usize::from(judgement.safe);
                } else {
                    calm += usize::from(judgement.safe && !judgement.stall);
                }
            }
            assert!(
                joined > 200 && calm > 10,
                "{n}: {joined} safe where one could join, {calm} calm where none could"
            );
        }
    }

    /// A successor that only it lists at its new address can still win an election: it lists
    /// every running server where it listens, so all of them are linked to it and propose it,
    /// and no quorum can follow it. The analyzer names the stall, and the search counts it
    /// (it did not: such a state once passed for one where nothing stalls).
    #[test]
    fn a_successor_few_servers_list_can_win_an_election_too_few_can_follow() {
        let problem = replaced(9, "3.8.0");
        let mut judge = Judge::new(&problem);
        let mut slots = vec![up(0); 9];
        slots[0] = Slot::Gone;
        slots.extend(std::iter::repeat_n(Slot::Off, 9));
        slots[9] = up(1);
        let judgement = judge.judge(&slots);
        assert!(judgement.safe && judgement.stall, "{judgement:?}");
        let mut ensemble = judge.ensemble(&slots);
        ensemble.nodes.retain(|node| node.up);
        let verdict = ensemble.verdict().expect("a verdict");
        let stalled: Vec<&str> = verdict
            .stalls
            .iter()
            .map(|s| ensemble.nodes[s.leader].name.as_str())
            .collect();
        assert_eq!(stalled, ["new1"]);
        assert!(!verdict
            .possible_leaders
            .iter()
            .any(|&l| ensemble.nodes[l].name == "new1"));
    }

    /// The floor on the states the argument speaks of: before any new host runs, a majority and
    /// the restarts that fall after the leader (nine: one, in the windows of the six ids whose
    /// old hosts run at the touch, closing at the last six starts with two old hosts and then
    /// one beside, the leader perhaps one of them, and one restart spanning three windows);
    /// once one does, every running old host on 3.5+ rules and the majority less the new hosts
    /// running before 3.5; nothing once the leader is touched.
    #[test]
    fn the_floor_is_a_majority_and_a_restart_until_a_new_host_runs() {
        for (version, with_new) in [("3.8.0", [6, 6]), ("3.4.6", [4, 3])] {
            let problem = replaced(9, version);
            let floor = Floor::of(&problem, &Aim::target(&problem));
            let mut slots = vec![up(0); 9];
            slots.extend(std::iter::repeat_n(Slot::Off, 9));
            assert_eq!(floor.after_leader(&slots, false), 6);
            slots[0] = Slot::Gone;
            slots[1] = Slot::Gone;
            assert_eq!(floor.after_leader(&slots, false), 6);
            slots[9] = up(1);
            assert_eq!(floor.after_leader(&slots, false), with_new[0], "{version}");
            slots[10] = up(3);
            assert_eq!(floor.after_leader(&slots, false), with_new[1], "{version}");
            assert_eq!(floor.after_leader(&slots, true), 0);
        }
    }

    #[test]
    fn the_floor_is_off_where_its_argument_does_not_hold() {
        let target = |problem: &Problem| Aim::target(problem);
        let nine = replaced(9, "3.8.0");
        assert!(Floor::of(&nine, &target(&nine)).leader.is_some());
        let old_rules = replaced(9, "3.4.6");
        assert!(Floor::of(&old_rules, &target(&old_rules)).leader.is_some());
        // Behind services a view names ids by them: not the shape the argument was checked on.
        let pods = problem(&ensemble_state(9, "3.8.0"), &into_pods(9), Some("zk9"));
        assert!(Floor::of(&pods, &target(&pods)).leader.is_none());
        // A part of the order that leaves old hosts running owes no stop after the leader.
        let mut part = target(&nine);
        part.want[0] = None;
        assert!(Floor::of(&nine, &part).leader.is_none());
    }
}
