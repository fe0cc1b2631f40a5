//! The exact search: every subset of the voters is checked once with bitmask operations, then a
//! sum-over-subsets table answers "which is the best quorum inside this set of nodes" so each
//! quorum finds its best disjoint partner in one lookup. O(n·2^n) for n voters.

use super::{Ensemble, Quorum, Witness};
use std::cmp::Ordering;

pub(super) struct Found {
    pub quorum_possible: bool,
    pub split_brain: Option<Witness>,
    pub possible_leaders: Vec<usize>,
    pub smallest_quorums: Vec<Quorum>,
}

/// The voters (up, participants in their own view) renumbered 0..k in index order, so subsets
/// are `u32` masks and a mask's order matches the order of the original indices.
struct Voters<'e> {
    ensemble: &'e Ensemble,
    index: Vec<usize>,
    /// `talks[x]`: the voters `x` can talk to.
    talks: Vec<u32>,
    /// `counted[x]`: the voters whose votes `x` counts; also the leaders `x` can follow.
    counted: Vec<u32>,
    /// Votes `x` needs: a strict majority of the participants of its view.
    needs: Vec<u32>,
}

impl<'e> Voters<'e> {
    fn new(ensemble: &'e Ensemble, keep: &dyn Fn(usize) -> bool) -> Voters<'e> {
        let index: Vec<usize> = (0..ensemble.nodes.len())
            .filter(|&i| ensemble.is_voter(i) && keep(i))
            .collect();
        let mask = |pred: &dyn Fn(usize) -> bool| -> u32 {
            (0..index.len())
                .filter(|&y| pred(index[y]))
                .fold(0, |m, y| m | 1 << y)
        };
        let talks = index
            .iter()
            .map(|&i| mask(&|j| i != j && ensemble.cut(i, j).is_none()))
            .collect();
        let counted = index
            .iter()
            .map(|&i| mask(&|j| ensemble.counts(i, j)))
            .collect();
        let needs = index
            .iter()
            .map(|&i| u32::try_from(ensemble.nodes[i].view.majority()).unwrap_or(u32::MAX))
            .collect();
        Voters {
            ensemble,
            index,
            talks,
            counted,
            needs,
        }
    }

    /// The nodes that can lead `quorum`, or 0 when it cannot form: every pair talks, each
    /// member counts a majority of its own view among the members, and follows the leader.
    fn leaders(&self, quorum: u32) -> u32 {
        let mut leaders = quorum;
        let mut rest = quorum;
        while rest != 0 {
            let x = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let others = quorum & !(1 << x);
            if others & !self.talks[x] != 0
                || (quorum & self.counted[x]).count_ones() < self.needs[x]
            {
                return 0;
            }
            leaders &= self.counted[x];
            if leaders == 0 {
                return 0;
            }
        }
        leaders
    }

    /// FastLeaderElection orders votes by epoch, zxid, then sid: with the data equal, the
    /// highest sid wins.
    fn elected(&self, quorum: u32) -> usize {
        bits(self.leaders(quorum))
            .map(|x| self.index[x])
            .max_by_key(|&i| self.ensemble.nodes[i].sid)
            .unwrap_or(self.index[quorum.trailing_zeros() as usize])
    }

    fn quorum(&self, members: u32, leader: usize) -> Quorum {
        Quorum {
            leader,
            members: bits(members).map(|x| self.index[x]).collect(),
        }
    }
}

/// Searches the voters `keep` accepts (every other node is as good as down).
pub(super) fn run(ensemble: &Ensemble, keep: &dyn Fn(usize) -> bool) -> Found {
    let voters = Voters::new(ensemble, keep);
    let k = voters.index.len();
    let full: u32 = (1u32 << k) - 1;

    // best[mask]: the rank of the best quorum inside `mask`, filled with the quorums themselves
    // first and then spread to supersets.
    let mut best = vec![NONE; 1 << k];
    let mut valid = Vec::new();
    let mut leader_best = vec![NONE; k];
    for quorum in 1..=full {
        let leaders = voters.leaders(quorum);
        if leaders == 0 {
            continue;
        }
        let key = rank(quorum);
        best[quorum as usize] = key;
        valid.push(quorum);
        for x in bits(leaders) {
            leader_best[x] = leader_best[x].min(key);
        }
    }

    for bit in 0..k {
        let step = 1usize << bit;
        for block in (0..best.len()).step_by(step << 1) {
            for mask in block + step..block + (step << 1) {
                best[mask] = best[mask].min(best[mask - step]);
            }
        }
    }

    let mut pair: Option<(u32, u32)> = None;
    for &a in &valid {
        // `a` is the quorum holding the lower-index node, so its partner lies above that node.
        let lowest = a.trailing_zeros();
        let above = full & !a & u32::MAX.checked_shl(lowest + 1).unwrap_or(0);
        let key = best[above as usize];
        if key == NONE {
            continue;
        }
        let b = unrank(key);
        if pair.is_none_or(|(pa, pb)| pair_order((a, b), (pa, pb)) == Ordering::Less) {
            pair = Some((a, b));
        }
    }

    let (possible_leaders, smallest_quorums) = leader_best
        .iter()
        .enumerate()
        .filter(|(_, &key)| key != NONE)
        .map(|(x, &key)| {
            let leader = voters.index[x];
            (leader, voters.quorum(unrank(key), leader))
        })
        .unzip();

    Found {
        quorum_possible: !valid.is_empty(),
        split_brain: pair.map(|(a, b)| Witness {
            a: voters.quorum(a, voters.elected(a)),
            b: voters.quorum(b, voters.elected(b)),
        }),
        possible_leaders,
        smallest_quorums,
    }
}

fn bits(mut mask: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let x = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            x
        })
    })
}

/// No quorum; ranks after every real one.
const NONE: u32 = u32::MAX;
const LOW: u32 = (1 << super::MAX_NODES) - 1;

/// A rank for quorums: fewer members first, then the lexicographically smallest member list.
/// Among equal-size sets, the smaller list is the one holding the lowest differing member,
/// i.e. the larger bit-reversed mask; so `size · 2^20 + (LOW − reversed)` orders them, and a
/// plain `min` picks the best.
fn rank(quorum: u32) -> u32 {
    (quorum.count_ones() << super::MAX_NODES) | (LOW - reverse(quorum))
}

fn unrank(key: u32) -> u32 {
    reverse(LOW - (key & LOW))
}

fn reverse(mask: u32) -> u32 {
    mask.reverse_bits() >> (32 - super::MAX_NODES)
}

/// Lexicographic order of the ascending member lists of two sets.
fn lex(x: u32, y: u32) -> Ordering {
    if x == y {
        return Ordering::Equal;
    }
    // Below the lowest differing member the lists agree; the set holding it has it next, the
    // other has a larger member next — or has ended, and a prefix sorts first.
    let d = (x ^ y).trailing_zeros();
    let above = u32::MAX.checked_shl(d + 1).unwrap_or(0);
    let (holder_is_x, other) = if x & (1 << d) != 0 {
        (true, y)
    } else {
        (false, x)
    };
    let holder_first = other & above != 0;
    if holder_first == holder_is_x {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// Fewest members in total, then `a`'s list, then `b`'s list.
fn pair_order((a1, b1): (u32, u32), (a2, b2): (u32, u32)) -> Ordering {
    (a1.count_ones() + b1.count_ones())
        .cmp(&(a2.count_ones() + b2.count_ones()))
        .then_with(|| lex(a1, a2))
        .then_with(|| lex(b1, b2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(mask: u32) -> Vec<usize> {
        bits(mask).collect()
    }

    #[test]
    fn lex_matches_the_order_of_member_lists() {
        for x in 0..256u32 {
            for y in 0..256u32 {
                assert_eq!(lex(x, y), list(x).cmp(&list(y)), "{x:b} vs {y:b}");
            }
        }
    }

    #[test]
    fn rank_orders_by_size_then_member_list() {
        for x in 1..512u32 {
            assert_eq!(unrank(rank(x)), x);
            for y in 1..512u32 {
                let by_lists = x
                    .count_ones()
                    .cmp(&y.count_ones())
                    .then_with(|| list(x).cmp(&list(y)));
                assert_eq!(rank(x).cmp(&rank(y)), by_lists, "{x:b} vs {y:b}");
            }
        }
        let widest = (1u32 << super::super::MAX_NODES) - 1;
        assert_eq!(unrank(rank(widest)), widest);
        assert!(rank(widest) < NONE);
    }
}
