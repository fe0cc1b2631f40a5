//! Who can propose, decide for and follow each leader.
//!
//! `FastLeaderElection.lookForLeader` moves a server's proposal to any better vote it accepts
//! (`totalOrderPredicate`; zxids decide "better", and the analyzer does not know them, so any
//! order is possible) and decides once the votes equal to its proposal, tallied by sid, make a
//! quorum of its own view (`getVoteTracker`/`SyncedLearnerTracker.hasAllQuorums`). A vote is
//! accepted only when its sender and the leader it names are voters of the receiver's view
//! (`validVoter`). The decided server then connects to the leader at the address its own view
//! gives (`Learner.findLeader`), and the leader counts every learner whose sid its own view lists
//! as a voter (`Leader.getEpochToPropose`, `waitForEpochAck`, the tick loop's `syncedAckSet`).
//! Each of these is a question about one server and one leader, so the camps below are found
//! without searching subsets.

use super::{Ensemble, Quorum};

/// The election connections between every two nodes, computed once.
pub(super) struct Links {
    n: usize,
    talk: Vec<bool>,
}

impl Links {
    pub(super) fn new(ensemble: &Ensemble) -> Links {
        let n = ensemble.nodes.len();
        let mut talk = vec![false; n * n];
        for a in 0..n {
            for b in a + 1..n {
                let linked = ensemble.cut(a, b).is_none();
                talk[a * n + b] = linked;
                talk[b * n + a] = linked;
            }
        }
        Links { n, talk }
    }

    pub(super) fn talk(&self, a: usize, b: usize) -> bool {
        a != b && self.talk[a * self.n + b]
    }
}

/// For every voter L and every server x: whether x can decide for L.
pub(super) struct Decisions {
    decides: Vec<Vec<bool>>,
}

impl Decisions {
    pub(super) fn new(ensemble: &Ensemble, links: &Links) -> Decisions {
        let n = ensemble.nodes.len();
        let nodes = &ensemble.nodes;
        // Whose votes each server tallies, asked once for all leaders: `tally[x * n + y]` when
        // y's sid is a voter of x's view and the two have an election connection (x always
        // hears itself).
        let tally: Vec<bool> = (0..n * n)
            .map(|k| {
                let (x, y) = (k / n, k % n);
                nodes[x].view.is_participant(nodes[y].sid) && (x == y || links.talk(x, y))
            })
            .collect();
        // Sids as dense numbers, to count distinct ones without sorting.
        let mut sids: Vec<u64> = nodes.iter().map(|node| node.sid).collect();
        sids.sort_unstable();
        sids.dedup();
        let sid_number: Vec<usize> = nodes
            .iter()
            .map(|node| sids.binary_search(&node.sid).unwrap_or(0))
            .collect();
        let majorities: Vec<usize> = nodes.iter().map(|node| node.view.majority()).collect();
        let mut seen = vec![usize::MAX; sids.len()];
        let mut round = 0;
        let decides = (0..n)
            .map(|leader| {
                if !ensemble.is_voter(leader) {
                    return vec![false; n];
                }
                let proposers = proposers(ensemble, &tally, leader);
                (0..n)
                    .map(|x| {
                        round += 1;
                        proposers[x]
                            && tallied_sids(
                                &proposers,
                                &tally[x * n..(x + 1) * n],
                                &sid_number,
                                &mut seen,
                                round,
                            ) >= majorities[x]
                    })
                    .collect()
            })
            .collect();
        Decisions { decides }
    }

    /// Whether `x` can decide for `leader`.
    pub(super) fn decides(&self, leader: usize, x: usize) -> bool {
        self.decides[leader][x]
    }
}

/// A server that can lead, and every other server that can decide for it and connect to it.
pub(super) struct Camp {
    pub leader: usize,
    /// Ascending; voters and observers alike (the leader counts both by sid).
    pub learners: Vec<usize>,
}

impl Camp {
    /// The camp of `leader`, or `None` when it can never decide for itself.
    ///
    /// A learner connects to whatever listens at the address its own view gives the sid it
    /// decided for (`Learner.findLeader`, `connectToLeader`), and the leader accepts any
    /// learner and counts it by sid (`LearnerHandler.run`): so a server that decided for
    /// another sid whose line in its view points at this leader's address joins this leader.
    /// The leader listens where its own line binds (`Leader` constructor, `quorumListenOnAllIPs`
    /// as for the election listener), so a line arrives only there or at a service in front.
    pub(super) fn of(ensemble: &Ensemble, decisions: &Decisions, leader: usize) -> Option<Camp> {
        if !decisions.decides[leader][leader] {
            return None;
        }
        let target = &ensemble.nodes[leader];
        // Whether x, having decided for `decided`, connects to this leader.
        let joins = |x: usize, decided: usize| {
            decisions.decides[decided][x]
                && ensemble.nodes[x]
                    .view
                    .server(ensemble.nodes[decided].sid)
                    .is_some_and(|line| line.addrs.iter().any(|a| ensemble.arrives(a, leader)))
        };
        let learners = (0..ensemble.nodes.len())
            .filter(|&x| {
                x != leader
                    && ensemble.nodes[x].sid != target.sid
                    && ensemble.together(x, leader)
                    // Deciding for the leader itself is the common case: asked first.
                    && (joins(x, leader) || (0..ensemble.nodes.len()).any(|d| joins(x, d)))
            })
            .collect();
        Some(Camp { leader, learners })
    }

    /// The leader and, in ascending order, the first learners that bring a new sid the leader
    /// counts, until they make a majority of the leader's view; `voters_only` leaves observers
    /// out (a quorum that can commit). `None` when the camp is too small.
    pub(super) fn smallest_quorum(&self, ensemble: &Ensemble, voters_only: bool) -> Option<Quorum> {
        let view = &ensemble.nodes[self.leader].view;
        // Asked for every camp of every state the synthesizer judges: counted and sized once.
        let majority = view.majority();
        let mut counted = Vec::with_capacity(majority);
        counted.push(ensemble.nodes[self.leader].sid);
        let mut members = Vec::with_capacity(majority);
        members.push(self.leader);
        for &x in &self.learners {
            if counted.len() >= majority {
                break;
            }
            let sid = ensemble.nodes[x].sid;
            if (voters_only && !ensemble.is_voter(x))
                || !view.is_participant(sid)
                || counted.contains(&sid)
            {
                continue;
            }
            counted.push(sid);
            members.push(x);
        }
        (counted.len() >= majority).then(|| {
            members.sort_unstable();
            Quorum {
                leader: self.leader,
                members,
            }
        })
    }
}

/// The up servers that can at some moment propose `leader`: the leader itself, then every
/// server whose view lists the leader as a voter and that accepts a vote for it from one that
/// already proposes it (a sender that is a voter of its view, over an election connection:
/// `tally`). Observers propose too: they adopt a better vote while LOOKING (`getInitId` is
/// `Long.MIN_VALUE` for them, so any voter's vote is better).
fn proposers(ensemble: &Ensemble, tally: &[bool], leader: usize) -> Vec<bool> {
    let nodes = &ensemble.nodes;
    let n = nodes.len();
    let leader_sid = nodes[leader].sid;
    let open: Vec<bool> = nodes
        .iter()
        .map(|node| node.up && node.view.is_participant(leader_sid))
        .collect();
    let mut proposing = vec![false; n];
    proposing[leader] = true;
    let mut queue = vec![leader];
    while let Some(z) = queue.pop() {
        for y in 0..n {
            if !proposing[y] && open[y] && tally[y * n + z] {
                proposing[y] = true;
                queue.push(y);
            }
        }
    }
    proposing
}

/// How many distinct sids among the proposers a server tallies (`tallies`: its row of the
/// tally table). `seen` marks sids counted in this `round`.
fn tallied_sids(
    proposers: &[bool],
    tallies: &[bool],
    sid_number: &[usize],
    seen: &mut [usize],
    round: usize,
) -> usize {
    let mut count = 0;
    for (y, (&proposing, &tallied)) in proposers.iter().zip(tallies).enumerate() {
        if proposing && tallied && seen[sid_number[y]] != round {
            seen[sid_number[y]] = round;
            count += 1;
        }
    }
    count
}
