//! A floor under "after the leader" that the stall rule implies, for orders with no stall state
//! (the argument is in docs/synthesize.md, "Search"). In the objective's order (and in the
//! restarts-first one, where it is compared only after restarts, steps and stalls) a bound that
//! holds for every completion without a stall is admissible: a completion with a stall already
//! ranks above it in its stalls field.
//!
//! It applies to one shape of problem, the one whose analyzer answers the argument reads off
//! the code: 3.5+ rules, one membership whose every line is a participant, every host of the
//! problem the old or the new host of a takeover, each old host listed at its own address, the
//! live leader named and running on its view of today, and every old host gone at the end.

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
    /// The membership's majority.
    majority: usize,
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
        if problem.version.dials_back_from_own_view()
            || !every_line_votes
            || !every_host_moves
            || !leader_today
        {
            return off;
        }
        Floor {
            leader: Some(leader),
            new_hosts: problem.takeovers.iter().map(|t| t.new).collect(),
            majority: membership.lines.len() / 2 + 1,
        }
    }

    /// Stops and restarts of today's other servers that any order without a stall state still
    /// makes after the live leader's first stop or restart, from `slots`: one while the leader
    /// runs untouched on today's view and fewer than a majority of new hosts run.
    ///
    /// Why: (1) a new host starts on a view that lists every sid taken over so far at its new
    /// host, and restarts only add such sids, so of two running new hosts the later started
    /// lists the earlier, and on 3.5+ rules one side listing the other is an election link
    /// (`Ensemble::cut`). (2) With a majority of new hosts running, each tallies a majority
    /// among the others that propose the earliest started one, so all of them decide for it
    /// and follow it (`election::Decisions`, `Camp::of`): it is a possible leader counting
    /// voters only (`Camp::smallest_quorum`), and the leader's untouched view lists its sid at
    /// the old host's address, so the state stalls. So before the leader is touched fewer than
    /// a majority of new hosts run. (3) The leader's restart (its down moment) or stop leaves a
    /// working quorum, a majority of voters running besides it: at least one is an old host,
    /// which stops after it.
    pub fn after_leader(&self, slots: &[Slot], leader_touched: bool) -> u32 {
        let Some(leader) = self.leader else {
            return 0;
        };
        let running_new = self
            .new_hosts
            .iter()
            .filter(|&&h| matches!(slots[h], Slot::Up(_)))
            .count();
        u32::from(
            !leader_touched && matches!(slots[leader], Slot::Up(_)) && running_new < self.majority,
        )
    }
}
