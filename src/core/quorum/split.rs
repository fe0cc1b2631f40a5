//! Two leaders at once: two camps whose leaders can each count a majority of their own view
//! among servers the other does not take. A server follows one leader at a time, and a leader
//! counts each sid once, so this is an assignment of servers to two sides where each side needs
//! a number of distinct sids — a small max-flow per pair of leaders.

use super::election::Camp;
use super::{Ensemble, Quorum, Witness};
use crate::zk::config::View;
use std::cmp::Reverse;

/// The best split-brain witness among every pair of camps in one ensemble, or `None`.
pub(super) fn witness(
    ensemble: &Ensemble,
    camps: &[&Camp],
    same_ensemble: &dyn Fn(usize, usize) -> bool,
) -> Option<Witness> {
    let mut best: Option<(Key, Witness)> = None;
    // With one up server per sid, two disjoint quorums need as many distinct sids as both
    // majorities together, all voters of one leader's view or the other's: two leaders on views
    // with the same voters (a rolling restart, any size) never split, and need no flow.
    let one_server_per_sid = ensemble.duplicate_sids().is_empty();
    // Views compared once per distinct pair, not per pair of leaders.
    let mut views: Vec<&View> = Vec::new();
    let view_of: Vec<usize> = camps
        .iter()
        .map(|camp| {
            let view = &ensemble.nodes[camp.leader].view;
            views.iter().position(|v| *v == view).unwrap_or_else(|| {
                views.push(view);
                views.len() - 1
            })
        })
        .collect();
    let too_few: Vec<Vec<bool>> = views
        .iter()
        .map(|a| views.iter().map(|b| too_few_sids(a, b)).collect())
        .collect();
    for (k, first) in camps.iter().enumerate() {
        for (m, second) in camps.iter().enumerate().skip(k + 1) {
            if !same_ensemble(first.leader, second.leader)
                || (one_server_per_sid && too_few[view_of[k]][view_of[m]])
            {
                continue;
            }
            let pair = Pair::new(ensemble, first, second);
            let total = pair.need[0] + pair.need[1] + 2;
            if best.as_ref().is_some_and(|(key, _)| key.0 < total) || !pair.feasible(&[]) {
                continue;
            }
            for order in [[0, 1], [1, 0]] {
                let witness = pair.greedy(order);
                let key = key_of(ensemble, &witness);
                if best.as_ref().is_none_or(|(b, _)| key < *b) {
                    best = Some((key, witness));
                }
            }
        }
    }
    best.map(|(_, witness)| witness)
}

/// Whether the voters of two leaders' views together are fewer than their two majorities.
fn too_few_sids(view_a: &View, view_b: &View) -> bool {
    let shared = view_a
        .participants()
        .filter(|line| view_b.is_participant(line.sid))
        .count();
    let union = view_a.participant_count() + view_b.participant_count() - shared;
    union < view_a.majority() + view_b.majority()
}

/// Fewest members, then the member lists, then the higher-sid leaders (FastLeaderElection
/// prefers the highest sid when epochs and zxids tie).
type Key = (usize, Vec<usize>, Vec<usize>, Reverse<u64>, Reverse<u64>);

fn key_of(ensemble: &Ensemble, w: &Witness) -> Key {
    (
        w.a.members.len() + w.b.members.len(),
        w.a.members.clone(),
        w.b.members.clone(),
        Reverse(ensemble.nodes[w.a.leader].sid),
        Reverse(ensemble.nodes[w.b.leader].sid),
    )
}

/// Two camps and what each side still needs beyond its leader.
struct Pair<'e> {
    ensemble: &'e Ensemble,
    leaders: [usize; 2],
    /// Per side, the learners that would add a sid its leader counts (not the other leader).
    eligible: [Vec<usize>; 2],
    need: [usize; 2],
}

impl<'e> Pair<'e> {
    fn new(ensemble: &'e Ensemble, a: &Camp, b: &Camp) -> Pair<'e> {
        let leaders = [a.leader, b.leader];
        let side = |camp: &Camp| {
            let leader = &ensemble.nodes[camp.leader];
            camp.learners
                .iter()
                .copied()
                .filter(|&x| {
                    !leaders.contains(&x) && leader.view.is_participant(ensemble.nodes[x].sid)
                })
                .collect::<Vec<usize>>()
        };
        let need = |camp: &Camp| ensemble.nodes[camp.leader].view.majority() - 1;
        Pair {
            ensemble,
            leaders,
            eligible: [side(a), side(b)],
            need: [need(a), need(b)],
        }
    }

    /// Whether both sides can still be completed once the servers in `taken[side]` are fixed
    /// on that side.
    fn feasible(&self, taken: &[(usize, usize)]) -> bool {
        let sid = |x: usize| self.ensemble.nodes[x].sid;
        let mut need = self.need;
        let mut covered: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
        for &(side, x) in taken {
            covered[side].push(sid(x));
            need[side] = need[side].saturating_sub(1);
        }
        let free = |x: usize| !taken.iter().any(|&(_, t)| t == x);
        let mut flow = Flow::default();
        for (side, (eligible, covered)) in self.eligible.iter().zip(&covered).enumerate() {
            for &x in eligible {
                if free(x) && !covered.contains(&sid(x)) {
                    flow.offer(x, side, sid(x));
                }
            }
        }
        flow.fills(need)
    }

    /// Completes side `order[0]` with the lowest-index servers that keep the pair feasible,
    /// then side `order[1]` the same way.
    fn greedy(&self, order: [usize; 2]) -> Witness {
        let sid = |x: usize| self.ensemble.nodes[x].sid;
        let mut taken: Vec<(usize, usize)> = Vec::new();
        for side in order {
            let mut covered = vec![sid(self.leaders[side])];
            for &x in &self.eligible[side] {
                if covered.len() > self.need[side] {
                    break;
                }
                if covered.contains(&sid(x)) || taken.iter().any(|&(_, t)| t == x) {
                    continue;
                }
                taken.push((side, x));
                if self.feasible(&taken) {
                    covered.push(sid(x));
                } else {
                    taken.pop();
                }
            }
        }
        let quorum = |side: usize| {
            let mut members: Vec<usize> = taken
                .iter()
                .filter(|&&(s, _)| s == side)
                .map(|&(_, x)| x)
                .chain([self.leaders[side]])
                .collect();
            members.sort_unstable();
            Quorum {
                leader: self.leaders[side],
                members,
            }
        };
        let (first, second) = (quorum(0), quorum(1));
        if first.members[0] < second.members[0] {
            Witness {
                a: first,
                b: second,
            }
        } else {
            Witness {
                a: second,
                b: first,
            }
        }
    }
}

/// Servers offered to sides; each server serves one side, each side counts a sid once.
#[derive(Default)]
struct Flow {
    /// (server, side, sid)
    offers: Vec<(usize, usize, u64)>,
}

impl Flow {
    fn offer(&mut self, server: usize, side: usize, sid: u64) {
        self.offers.push((server, side, sid));
    }

    /// Whether side 0 can get `need[0]` distinct sids and side 1 `need[1]`, from different
    /// servers: augmenting paths in the graph source → server → (side, sid) → side → sink.
    fn fills(&self, need: [usize; 2]) -> bool {
        let mut servers: Vec<usize> = self.offers.iter().map(|o| o.0).collect();
        servers.sort_unstable();
        servers.dedup();
        let mut slots: Vec<(usize, u64)> = self.offers.iter().map(|o| (o.1, o.2)).collect();
        slots.sort_unstable();
        slots.dedup();
        // Node numbering: 0 source, 1 sink, 2 and 3 the sides, then servers, then slots.
        let server_node = |x: usize| 4 + servers.binary_search(&x).unwrap_or(0);
        let slot_node = |s: (usize, u64)| 4 + servers.len() + slots.binary_search(&s).unwrap_or(0);
        let mut graph = Graph::new(4 + servers.len() + slots.len());
        for &x in &servers {
            graph.edge(0, server_node(x), 1);
        }
        for &(x, side, sid) in &self.offers {
            graph.edge(server_node(x), slot_node((side, sid)), 1);
        }
        for &(side, sid) in &slots {
            graph.edge(slot_node((side, sid)), 2 + side, 1);
        }
        graph.edge(2, 1, need[0]);
        graph.edge(3, 1, need[1]);
        graph.max_flow(0, 1, need[0] + need[1]) == need[0] + need[1]
    }
}

/// A residual graph for unit-capacity augmenting paths; tiny, so breadth-first search per
/// unit of flow is plenty.
struct Graph {
    /// (to, capacity left, index of the reverse edge in `to`'s list)
    adjacent: Vec<Vec<(usize, usize, usize)>>,
}

impl Graph {
    fn new(nodes: usize) -> Graph {
        Graph {
            adjacent: vec![Vec::new(); nodes],
        }
    }

    fn edge(&mut self, from: usize, to: usize, capacity: usize) {
        let back = self.adjacent[to].len() + usize::from(from == to);
        let forward = self.adjacent[from].len();
        self.adjacent[from].push((to, capacity, back));
        self.adjacent[to].push((from, 0, forward));
    }

    /// Pushes flow one unit at a time until `enough` or no path is left.
    fn max_flow(&mut self, source: usize, sink: usize, enough: usize) -> usize {
        let mut flow = 0;
        while flow < enough {
            let mut came_from: Vec<Option<(usize, usize)>> = vec![None; self.adjacent.len()];
            let mut queue = std::collections::VecDeque::from([source]);
            while let Some(node) = queue.pop_front() {
                if node == sink {
                    break;
                }
                for (k, &(to, capacity, _)) in self.adjacent[node].iter().enumerate() {
                    if capacity > 0 && to != source && came_from[to].is_none() {
                        came_from[to] = Some((node, k));
                        queue.push_back(to);
                    }
                }
            }
            if came_from[sink].is_none() {
                break;
            }
            let mut node = sink;
            while let Some((from, k)) = came_from[node] {
                let (_, _, back) = self.adjacent[from][k];
                self.adjacent[from][k].1 -= 1;
                self.adjacent[node][back].1 += 1;
                node = from;
            }
            flow += 1;
        }
        flow
    }
}
