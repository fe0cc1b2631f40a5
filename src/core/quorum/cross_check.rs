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

/// Each sid has a home host and an alternative one (a replacement), so views can be stale; now
/// and then a line names another sid's home host (a host reused for another server).
fn host_for(rng: &mut Rng, sid: u64, home_percent: u64) -> PeerAddr {
    if rng.chance(home_percent) {
        addr(&format!("h{sid}"))
    } else if rng.chance(70) {
        addr(&format!("alt{sid}"))
    } else {
        addr(&format!("h{}", 1 + rng.below(7)))
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
                listen_all: Some(rng.chance(50)),
            }
        })
        .collect();
    let partitions = rng.chance(40).then(|| {
        (0..1 + rng.below(3))
            .map(|_| (0..count).filter(|_| rng.chance(60)).collect())
            .collect()
    });
    let version = match rng.below(3) {
        0 => ZkVersion::new(3, 4, 6),
        1 => ZkVersion::new(3, 5, 5),
        _ => ZkVersion::new(3, 8, 0),
    };
    Ensemble {
        version,
        nodes,
        partitions,
    }
}

/// Where a server listens: its own line's addresses, each on its real host when it listens
/// on all addresses, else only those on its real host; its real address without an own line.
fn listening(node: &Node) -> Vec<PeerAddr> {
    let all = node.listen_all == Some(true);
    match node.view.servers().iter().find(|line| line.sid == node.sid) {
        None => vec![node.addr.clone()],
        Some(line) => line
            .addrs
            .iter()
            .filter(|a| all || a.host == node.addr.host)
            .map(|a| PeerAddr {
                host: node.addr.host.clone(),
                ..a.clone()
            })
            .collect(),
    }
}

/// The ensemble as it runs: from 3.5.6 a server that can bind nothing has exited.
fn as_run(ens: &Ensemble) -> Ensemble {
    let mut run = ens.clone();
    for node in &mut run.nodes {
        if ens.version >= ZkVersion::new(3, 5, 6)
            && node.listen_all == Some(false)
            && listening(node).is_empty()
        {
            node.up = false;
        }
    }
    run
}

fn listed_at(view: &View, peer: &Node) -> bool {
    let at = listening(peer);
    view.servers()
        .iter()
        .any(|line| line.sid == peer.sid && line.addrs.iter().any(|a| at.contains(a)))
}

/// The smaller sid's own line reaches it, for the 3.5+ dial-back.
fn advertises_itself(node: &Node) -> bool {
    let at = listening(node);
    match node.view.servers().iter().find(|line| line.sid == node.sid) {
        None => true,
        Some(line) => line.addrs.iter().any(|a| at.contains(a)),
    }
}

fn votes(view: &View, sid: u64) -> bool {
    view.servers()
        .iter()
        .any(|line| line.sid == sid && line.role == PeerRole::Participant)
}

fn together(ens: &Ensemble, a: usize, b: usize) -> bool {
    ens.partitions
        .as_ref()
        .is_none_or(|groups| groups.iter().any(|g| g.contains(&a) && g.contains(&b)))
}

fn talk(ens: &Ensemble, a: usize, b: usize) -> bool {
    let (na, nb) = (&ens.nodes[a], &ens.nodes[b]);
    if a == b || !together(ens, a, b) || na.sid == nb.sid {
        return false;
    }
    let (lo, hi) = if na.sid < nb.sid { (na, nb) } else { (nb, na) };
    let old_rules = ens.version < ZkVersion::new(3, 5, 0);
    listed_at(&hi.view, lo) || (!old_rules && listed_at(&lo.view, hi) && advertises_itself(lo))
}

fn voter(ens: &Ensemble, i: usize) -> bool {
    ens.nodes[i].up && votes(&ens.nodes[i].view, ens.nodes[i].sid)
}

/// Replays notifications until nothing changes: who ever proposes `leader`.
fn proposing(ens: &Ensemble, leader: usize) -> Vec<bool> {
    let n = ens.nodes.len();
    let mut proposes = vec![false; n];
    proposes[leader] = true;
    loop {
        let mut changed = false;
        for y in 0..n {
            for z in 0..n {
                let node = &ens.nodes[y];
                if proposes[z]
                    && !proposes[y]
                    && node.up
                    && votes(&node.view, ens.nodes[leader].sid)
                    && votes(&node.view, ens.nodes[z].sid)
                    && talk(ens, y, z)
                {
                    proposes[y] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            return proposes;
        }
    }
}

fn decides_for(ens: &Ensemble, leader: usize, x: usize) -> bool {
    if !voter(ens, leader) {
        return false;
    }
    let proposes = proposing(ens, leader);
    let node = &ens.nodes[x];
    let mut tallied: Vec<u64> = (0..ens.nodes.len())
        .filter(|&y| {
            proposes[y] && votes(&node.view, ens.nodes[y].sid) && (x == y || talk(ens, x, y))
        })
        .map(|y| ens.nodes[y].sid)
        .collect();
    tallied.sort_unstable();
    tallied.dedup();
    let voters = node.view.participants().count();
    proposes[x] && 2 * tallied.len() > voters
}

/// `members` (ascending, the leader among them) can all stand behind `leader`, and it counts a
/// majority of its view among their sids.
fn establishes(ens: &Ensemble, decide: &[Vec<bool>], members: &[usize], leader: usize) -> bool {
    let l = &ens.nodes[leader];
    if !voter(ens, leader) || !members.contains(&leader) {
        return false;
    }
    // A learner connects to whoever listens where its view puts the sid it decided for.
    let joins = |x: usize| {
        (0..ens.nodes.len()).any(|decided| {
            decide[decided][x]
                && ens.nodes[x].view.servers().iter().any(|line| {
                    line.sid == ens.nodes[decided].sid
                        && line.addrs.iter().any(|a| listening(l).contains(a))
                })
        })
    };
    let behind = members.iter().all(|&x| {
        x == leader || (ens.nodes[x].sid != l.sid && together(ens, x, leader) && joins(x))
    });
    let mut sids: Vec<u64> = members
        .iter()
        .map(|&x| ens.nodes[x].sid)
        .filter(|&s| votes(&l.view, s))
        .collect();
    sids.sort_unstable();
    sids.dedup();
    behind && decide[leader][leader] && 2 * sids.len() > l.view.participants().count()
}

/// Everything the fast search answers, from every (leader, subset) and every pair of them.
struct Reference {
    /// (leader, members, all members voters)
    valid: Vec<(usize, Vec<usize>, bool)>,
    smallest_split: Option<usize>,
}

impl Reference {
    /// Whether `members` is a valid quorum for `leader`.
    fn is_valid(&self, leader: usize, members: &[usize]) -> bool {
        self.valid.iter().any(|v| v.0 == leader && v.1 == members)
    }
}

fn reference(ens: &Ensemble) -> Reference {
    let n = ens.nodes.len();
    let decide: Vec<Vec<bool>> = (0..n)
        .map(|l| (0..n).map(|x| decides_for(ens, l, x)).collect())
        .collect();
    let mut valid = Vec::new();
    for mask in 1u32..1 << n {
        let members: Vec<usize> = (0..n).filter(|&i| mask & 1 << i != 0).collect();
        for &leader in &members {
            if establishes(ens, &decide, &members, leader) {
                let working = members.iter().all(|&x| voter(ens, x));
                valid.push((leader, members.clone(), working));
            }
        }
    }
    let ensembles = separate_ensembles(ens);
    let ensemble_of = |i: usize| ensembles.iter().position(|e| e.contains(&i));
    let mut smallest_split = None;
    for (la, qa, _) in &valid {
        for (lb, qb, _) in &valid {
            if la < lb && ensemble_of(*la) == ensemble_of(*lb) && qa.iter().all(|x| !qb.contains(x))
            {
                let total = qa.len() + qb.len();
                smallest_split = Some(smallest_split.map_or(total, |s: usize| s.min(total)));
            }
        }
    }
    Reference {
        valid,
        smallest_split,
    }
}

/// Voters linked by views that share a participant sid, grown until nothing joins.
fn separate_ensembles(ens: &Ensemble) -> Vec<Vec<usize>> {
    let n = ens.nodes.len();
    let linked = |i: usize, j: usize| {
        ens.nodes[i]
            .view
            .participants()
            .any(|line| votes(&ens.nodes[j].view, line.sid))
    };
    let mut seen = vec![false; n];
    let mut ensembles = Vec::new();
    for start in (0..n).filter(|&i| voter(ens, i)) {
        if seen[start] {
            continue;
        }
        let mut members = vec![start];
        seen[start] = true;
        let mut grew = true;
        while grew {
            grew = false;
            for (j, seen_j) in seen.iter_mut().enumerate() {
                if voter(ens, j) && !*seen_j && members.iter().any(|&m| linked(m, j)) {
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

/// The leaders a reference allows, ascending, and those only an observer holds up.
fn leaders(naive: &Reference) -> (Vec<usize>, Vec<usize>) {
    let mut leaders: Vec<usize> = naive.valid.iter().map(|v| v.0).collect();
    leaders.sort_unstable();
    leaders.dedup();
    let hollow = leaders
        .iter()
        .copied()
        .filter(|&l| !naive.valid.iter().any(|v| v.0 == l && v.2))
        .collect();
    (leaders, hollow)
}

/// The fast verdict against the reference on the ensemble as it lasts (servers that cannot
/// bind gone) and, for who can lead and whether two can, as it runs while they retry their
/// bind (still up, reached by nobody).
fn agree(retrying: &Ensemble, fast: &Verdict, case: usize) {
    let ens = &as_run(retrying);
    let naive = reference(ens);
    let early = reference(retrying);
    let context = format!("case {case}: {ens:#?}\n{fast:#?}");
    let (lasting, lasting_hollow) = leaders(&naive);
    let (briefly, briefly_hollow) = leaders(&early);
    let mut all = lasting.clone();
    super::merge(&mut all, briefly.clone());
    assert_eq!(fast.possible_leaders, all, "{context}");
    let brief: Vec<usize> = briefly
        .iter()
        .copied()
        .filter(|l| !lasting.contains(l))
        .collect();
    assert_eq!(fast.brief_leaders, brief, "{context}");
    let mut hollow = lasting_hollow;
    super::merge(&mut hollow, briefly_hollow);
    assert_eq!(fast.hollow_leaders, hollow, "{context}");
    for quorum in &fast.smallest_quorums {
        let world = if brief.contains(&quorum.leader) {
            &early
        } else {
            &naive
        };
        let working = !hollow.contains(&quorum.leader);
        let smallest = world
            .valid
            .iter()
            .filter(|v| v.0 == quorum.leader && (v.2 || !working))
            .map(|v| v.1.len())
            .min();
        assert_eq!(Some(quorum.members.len()), smallest, "{context}");
        assert!(world.is_valid(quorum.leader, &quorum.members), "{context}");
    }
    let ensembles = separate_ensembles(ens);
    assert_eq!(
        fast.ensembles,
        if ensembles.len() > 1 {
            ensembles.clone()
        } else {
            Vec::new()
        },
        "{context}"
    );
    let every_ensemble_works = !ensembles.is_empty()
        && ensembles
            .iter()
            .all(|e| naive.valid.iter().any(|v| v.2 && e.contains(&v.0)));
    assert_eq!(fast.quorum_possible, every_ensemble_works, "{context}");
    // A split that lasts is the witness when there is one; else one while a server retries.
    let (world, split) = match naive.smallest_split {
        Some(total) => (&naive, Some(total)),
        None => (&early, early.smallest_split),
    };
    match (&fast.split_brain, split) {
        (None, None) => {}
        (Some(w), Some(total)) => {
            assert_eq!(w.a.members.len() + w.b.members.len(), total, "{context}");
            for side in [&w.a, &w.b] {
                assert!(world.is_valid(side.leader, &side.members), "{context}");
            }
            assert!(
                w.a.members.iter().all(|x| !w.b.members.contains(x)),
                "{context}"
            );
            assert!(w.a.members[0] < w.b.members[0], "{context}");
        }
        (fast_split, naive_split) => {
            panic!("split: fast {fast_split:?}, naive {naive_split:?}; {context}")
        }
    }
    let unreachable: Vec<(usize, usize)> = (0..ens.nodes.len())
        .flat_map(|a| (a + 1..ens.nodes.len()).map(move |b| (a, b)))
        .filter(|&(a, b)| ens.nodes[a].up && ens.nodes[b].up && !talk(ens, a, b))
        .collect();
    assert_eq!(fast.unreachable, unreachable, "{context}");
}

#[test]
fn the_fast_search_agrees_with_the_naive_reference() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut quorums, mut splits, mut cuts, mut separate, mut exits) = (0, 0, 0, 0, 0);
    for case in 0..4000 {
        let ens = random_ensemble(&mut rng);
        let fast = ens.verdict().unwrap();
        agree(&ens, &fast, case);
        quorums += usize::from(fast.quorum_possible);
        splits += usize::from(fast.split_brain.is_some());
        cuts += usize::from(!fast.unreachable.is_empty());
        separate += usize::from(!fast.ensembles.is_empty());
        for &(a, b) in &fast.unreachable {
            assert!(ens.cut(a, b).is_some() && ens.cut(b, a).is_some());
        }
        exits += fast.exits_at_start.len();
    }
    // The generator must exercise every outcome, or the agreement proves little.
    assert!(
        quorums > 1000 && splits > 100 && cuts > 1000 && separate > 20 && exits > 100,
        "{quorums} {splits} {cuts} {separate} {exits}"
    );
}

/// An unknown `quorumListenOnAllIPs` is judged both ways: the verdict is the worst of the two
/// settled ones, whichever nodes it matters for.
#[test]
fn an_unknown_listen_all_is_the_worst_of_both_settings() {
    let mut rng = Rng(0x0005_EED0_FA11);
    let mut mattered = 0;
    for _ in 0..1500 {
        let ens = random_ensemble(&mut rng);
        let unknown: Vec<usize> = (0..ens.nodes.len())
            .filter(|&i| ens.nodes[i].up && ens.nodes[i].listen_all_matters())
            .take(3)
            .collect();
        if unknown.is_empty() {
            continue;
        }
        mattered += 1;
        let mut open = ens.clone();
        for &i in &unknown {
            open.nodes[i].listen_all = None;
        }
        let judged = open.verdict().unwrap();
        let settled: Vec<Verdict> = (0..1usize << unknown.len())
            .map(|w| {
                let mut each = ens.clone();
                for (k, &i) in unknown.iter().enumerate() {
                    each.nodes[i].listen_all = Some(w >> k & 1 == 1);
                }
                each.verdict().unwrap()
            })
            .collect();
        let worst = Verdict::worst(settled).unwrap();
        assert_eq!(judged.quorum_possible, worst.quorum_possible, "{open:#?}");
        assert_eq!(judged.split_brain.is_some(), worst.split_brain.is_some());
        assert_eq!(judged.possible_leaders, worst.possible_leaders);
        assert_eq!(judged.unreachable, worst.unreachable);
        assert_eq!(judged.listen_all_unknown, unknown);
    }
    assert!(mattered > 200, "{mattered}");
}
