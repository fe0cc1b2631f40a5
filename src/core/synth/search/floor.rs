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
        }
    }

    /// Stops and restarts of today's other servers that any order without a stall state still
    /// makes after the live leader's first stop or restart, from `slots`, while the leader runs
    /// untouched on today's view: a majority of the membership when no new host runs; once one
    /// does, on 3.5+ rules every old host that runs, before 3.5 the majority less the new hosts
    /// running.
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
        let running = |hosts: &[usize]| {
            hosts
                .iter()
                .filter(|&&h| h != leader && matches!(slots[h], Slot::Up(_)))
                .count()
        };
        let new_running = running(&self.new_hosts);
        let floor = if new_running == 0 {
            self.majority
        } else if self.dials_back {
            self.majority.saturating_sub(new_running)
        } else {
            running(&self.old_hosts)
        };
        floor as u32
    }
}

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

    /// The floor on the states the argument speaks of: a majority before any new host runs;
    /// once one does, every running old host on 3.5+ rules and the majority less the new hosts
    /// running before 3.5; nothing once the leader is touched.
    #[test]
    fn the_floor_is_a_majority_until_a_new_host_runs() {
        for (version, with_new) in [("3.8.0", [6, 6]), ("3.4.6", [4, 3])] {
            let problem = replaced(9, version);
            let floor = Floor::of(&problem, &Aim::target(&problem));
            let mut slots = vec![up(0); 9];
            slots.extend(std::iter::repeat_n(Slot::Off, 9));
            assert_eq!(floor.after_leader(&slots, false), 5);
            slots[0] = Slot::Gone;
            slots[1] = Slot::Gone;
            assert_eq!(floor.after_leader(&slots, false), 5);
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
