//! The fast search against a deliberately naive reference written straight from the rules:
//! every (leader, subset) checked node by node, every pair of valid subsets compared.

use super::tests::addr;
use super::*;
use crate::zk::config::{PeerRole, ServerLine};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Each sid has a home host and an alternative one (a replacement), so views can be stale.
fn host_for(rng: &mut Rng, sid: u64, home_percent: u64) -> PeerAddr {
    if rng.chance(home_percent) {
        addr(&format!("h{sid}"))
    } else {
        addr(&format!("alt{sid}"))
    }
}

fn random_view(rng: &mut Rng, sids: u64) -> View {
    let mut servers = Vec::new();
    for sid in 1..=sids {
        if rng.chance(80) {
            servers.push(ServerLine {
                sid,
                addrs: vec![host_for(rng, sid, 90)],
                role: if rng.chance(10) {
                    PeerRole::Observer
                } else {
                    PeerRole::Participant
                },
                client: None,
            });
        }
    }
    View::new(servers, None).unwrap()
}

fn random_ensemble(rng: &mut Rng) -> Ensemble {
    let count = rng.below(8) as usize;
    // Mostly one sid per node, as in a real ensemble; sometimes a replacement shares one.
    let sids = 1 + rng.below(7);
    let shared: Vec<View> = (0..3).map(|_| random_view(rng, sids)).collect();
    let nodes: Vec<Node> = (0..count)
        .map(|i| {
            let sid = if (i as u64) < sids && rng.chance(85) {
                i as u64 + 1
            } else {
                1 + rng.below(sids)
            };
            let view = if rng.chance(85) {
                shared[rng.below(3) as usize].clone()
            } else {
                random_view(rng, sids)
            };
            Node {
                name: format!("n{i}"),
                sid,
                addr: host_for(rng, sid, 85),
                aliases: Vec::new(),
                up: rng.chance(85),
                view,
            }
        })
        .collect();
    let partitions = rng.chance(40).then(|| {
        (0..1 + rng.below(3))
            .map(|_| (0..count).filter(|_| rng.chance(60)).collect())
            .collect()
    });
    let version = if rng.chance(50) {
        ZkVersion::new(3, 4, 6)
    } else {
        ZkVersion::new(3, 8, 0)
    };
    Ensemble {
        version,
        nodes,
        partitions,
    }
}

fn listed_at(view: &View, peer: &Node) -> bool {
    view.servers()
        .iter()
        .any(|line| line.sid == peer.sid && line.addrs.contains(&peer.addr))
}

fn votes(view: &View, sid: u64) -> bool {
    view.servers()
        .iter()
        .any(|line| line.sid == sid && line.role == PeerRole::Participant)
}

fn talk(ens: &Ensemble, a: usize, b: usize) -> bool {
    let together = ens
        .partitions
        .as_ref()
        .is_none_or(|groups| groups.iter().any(|g| g.contains(&a) && g.contains(&b)));
    let (na, nb) = (&ens.nodes[a], &ens.nodes[b]);
    if !together || na.sid == nb.sid {
        return false;
    }
    let (lo, hi) = if na.sid < nb.sid { (na, nb) } else { (nb, na) };
    let old_rules = ens.version < ZkVersion::new(3, 5, 0);
    listed_at(&hi.view, lo) || (!old_rules && listed_at(&lo.view, hi))
}

fn leads(ens: &Ensemble, quorum: &[usize], leader: usize) -> bool {
    let l = &ens.nodes[leader];
    quorum.iter().all(|&i| {
        let node = &ens.nodes[i];
        let voters = node
            .view
            .servers()
            .iter()
            .filter(|s| s.role == PeerRole::Participant)
            .count();
        let counted = quorum
            .iter()
            .filter(|&&j| {
                let peer = &ens.nodes[j];
                votes(&node.view, peer.sid) && (i == j || listed_at(&node.view, peer))
            })
            .count();
        node.up
            && votes(&node.view, node.sid)
            && votes(&node.view, l.sid)
            && (i == leader || listed_at(&node.view, l))
            && 2 * counted > voters
            && quorum.iter().all(|&j| j == i || talk(ens, i, j))
    })
}

fn reference(ens: &Ensemble) -> Verdict {
    let n = ens.nodes.len();
    let mut valid: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    for mask in 1u32..1 << n {
        let quorum: Vec<usize> = (0..n).filter(|&i| mask & 1 << i != 0).collect();
        let leaders: Vec<usize> = quorum
            .iter()
            .copied()
            .filter(|&l| leads(ens, &quorum, l))
            .collect();
        if !leaders.is_empty() {
            valid.push((quorum, leaders));
        }
    }
    let elected = |leaders: &[usize]| {
        leaders
            .iter()
            .copied()
            .max_by_key(|&l| ens.nodes[l].sid)
            .unwrap()
    };
    let side = |(members, leaders): &(Vec<usize>, Vec<usize>)| Quorum {
        leader: elected(leaders),
        members: members.clone(),
    };
    let ensembles = separate_ensembles(ens);
    let ensemble_of = |i: usize| ensembles.iter().position(|e| e.contains(&i));
    let mut split_brain: Option<Witness> = None;
    for qa in &valid {
        for qb in &valid {
            if qa.0[0] >= qb.0[0]
                || qa.0.iter().any(|i| qb.0.contains(i))
                || ensemble_of(qa.0[0]) != ensemble_of(qb.0[0])
            {
                continue;
            }
            let order = |w: &Witness| {
                (
                    w.a.members.len() + w.b.members.len(),
                    w.a.members.clone(),
                    w.b.members.clone(),
                )
            };
            let candidate = Witness {
                a: side(qa),
                b: side(qb),
            };
            if split_brain
                .as_ref()
                .is_none_or(|best| order(&candidate) < order(best))
            {
                split_brain = Some(candidate);
            }
        }
    }
    let mut possible_leaders: Vec<usize> =
        valid.iter().flat_map(|(_, l)| l.iter().copied()).collect();
    possible_leaders.sort_unstable();
    possible_leaders.dedup();
    let smallest_quorums = possible_leaders
        .iter()
        .map(|&l| {
            let members = valid
                .iter()
                .filter(|(_, leaders)| leaders.contains(&l))
                .map(|(q, _)| q)
                .min_by(|x, y| x.len().cmp(&y.len()).then_with(|| x.cmp(y)))
                .unwrap()
                .clone();
            Quorum { leader: l, members }
        })
        .collect();
    let unreachable = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .filter(|&(a, b)| ens.nodes[a].up && ens.nodes[b].up && !talk(ens, a, b))
        .collect();
    let every_ensemble_has_one = ensembles
        .iter()
        .all(|e| valid.iter().any(|(q, _)| q.iter().all(|i| e.contains(i))));
    Verdict {
        quorum_possible: !valid.is_empty() && every_ensemble_has_one,
        split_brain,
        unreachable,
        possible_leaders,
        smallest_quorums,
        ensembles: if ensembles.len() > 1 {
            ensembles
        } else {
            Vec::new()
        },
    }
}

/// Voters linked by naming each other, grown one member at a time until nothing joins.
fn separate_ensembles(ens: &Ensemble) -> Vec<Vec<usize>> {
    let n = ens.nodes.len();
    let voter = |i: usize| ens.nodes[i].up && votes(&ens.nodes[i].view, ens.nodes[i].sid);
    let linked = |i: usize, j: usize| {
        votes(&ens.nodes[i].view, ens.nodes[j].sid) || votes(&ens.nodes[j].view, ens.nodes[i].sid)
    };
    let mut seen = vec![false; n];
    let mut ensembles = Vec::new();
    for start in (0..n).filter(|&i| voter(i)) {
        if seen[start] {
            continue;
        }
        let mut members = vec![start];
        seen[start] = true;
        let mut grew = true;
        while grew {
            grew = false;
            for (j, seen_j) in seen.iter_mut().enumerate() {
                if voter(j) && !*seen_j && members.iter().any(|&m| linked(m, j)) {
                    members.push(j);
                    *seen_j = true;
                    grew = true;
                }
            }
        }
        members.sort_unstable();
        ensembles.push(members);
    }
    ensembles
}

#[test]
fn the_fast_search_agrees_with_the_naive_reference() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut quorums, mut splits, mut cuts, mut separate) = (0, 0, 0, 0);
    for case in 0..4000 {
        let ens = random_ensemble(&mut rng);
        let fast = ens.verdict().unwrap();
        assert_eq!(fast, reference(&ens), "case {case}: {ens:#?}");
        quorums += usize::from(fast.quorum_possible);
        splits += usize::from(fast.split_brain.is_some());
        cuts += usize::from(!fast.unreachable.is_empty());
        separate += usize::from(!fast.ensembles.is_empty());
        for &(a, b) in &fast.unreachable {
            assert!(ens.cut(a, b).is_some() && ens.cut(b, a).is_some());
        }
    }
    // The generator must exercise every outcome, or the agreement proves little.
    assert!(
        quorums > 1000 && splits > 100 && cuts > 1000 && separate > 50,
        "{quorums} {splits} {cuts} {separate}"
    );
}
