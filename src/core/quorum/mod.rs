//! The analyzer: can a quorum form, can two leaders run at once (split brain), and who cannot
//! talk to whom — for an ensemble whose servers may disagree about what the ensemble is.
//!
//! The rules are ZooKeeper's own, read from its source (3.4.14 and 3.8; `docs/analyzer.md` lists
//! each with its citation) and checked against real elections by `zkpilot lab elections`:
//!
//! - **Votes are tallied by server id.** `FastLeaderElection.lookForLeader` accepts a
//!   notification when its sender and the leader it proposes are voters of the receiver's own
//!   view (`validVoter`), over whichever election connection exists, and
//!   `SyncedLearnerTracker`/`QuorumMaj.containsQuorum` count sids. The address a view gives a
//!   peer does not decide whose vote counts; it decides who can open the election connection
//!   (`QuorumCnxManager`, see [`Ensemble::cut`]) and whether a follower reaches its leader
//!   (`Learner.findLeader` looks the leader's sid up in the follower's own view).
//! - **A leader counts its learners by sid.** `Leader.getEpochToPropose`, `waitForEpochAck` and
//!   the tick loop's `syncedAckSet` count every connected learner whose sid is a voter of the
//!   *leader's* view — observers included, though an observer never acknowledges a proposal:
//!   a leader held up by one answers as leader but commits nothing (a "hollow" leader).
//! - **Separate ensembles** are groups of voters whose views share no participant sid, whether
//!   that server is up or down; views that claim a common voter are one ensemble, and two
//!   leaders in it are a split brain.
//! - **Two running servers with one sid** are a hazard of their own: each peer keeps one
//!   election connection per sid (`QuorumCnxManager.senderWorkerMap`) and may count either.
//!
//! "Possible" means: some timing of starts, messages and decisions lets it happen. The search
//! is polynomial — who can propose, decide for and follow each leader is a per-node question,
//! and two disjoint quorums are a small flow problem (`split.rs`) — so ensembles of hundreds of
//! servers are answered exactly.
//!
//! Pure: no I/O, no clock.

mod election;
mod split;

#[cfg(test)]
mod cross_check;
#[cfg(test)]
mod tests;

use crate::zk::config::{PeerAddr, View};
use crate::zk::version::ZkVersion;
use std::collections::BTreeMap;

/// The largest ensemble the analyzer accepts: its cost grows with the square of the servers
/// times the square of the possible leaders, and no real ensemble comes near.
pub const MAX_NODES: usize = 512;

/// One ZooKeeper server as it is right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub sid: u64,
    /// Where it really listens for its peers (quorum and election ports).
    pub addr: PeerAddr,
    /// Stable addresses that forward to it — a Kubernetes service in front of it: a view that
    /// lists one of them reaches this node as if it listed `addr`.
    pub aliases: Vec<PeerAddr>,
    pub up: bool,
    /// Its own server lines: whose votes it counts and where it dials its peers.
    pub view: View,
}

/// Nodes are identified by their index in `nodes`: two nodes may share a sid (a replacement
/// host started with the sid of the host it replaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensemble {
    /// The rules follow the version: see [`ZkVersion::dials_back_from_own_view`].
    pub version: ZkVersion,
    pub nodes: Vec<Node>,
    /// Groups of node indices that can reach each other; groups may overlap (a node that still
    /// reaches both sides), and a node in no group reaches nobody. `None`: no partition.
    pub partitions: Option<Vec<Vec<usize>>>,
}

/// A leader and the servers it counts (the leader included), indices in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quorum {
    pub leader: usize,
    pub members: Vec<usize>,
}

/// Two leaders that can run at the same time with disjoint quorums; `a` holds the lower-index
/// member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub a: Quorum,
    pub b: Quorum,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Every separate ensemble can elect a leader whose quorum is made of voters, so it can
    /// commit writes.
    pub quorum_possible: bool,
    /// Two leaders at once in one ensemble: the pair with the fewest members in total, then the
    /// lexicographically smallest member lists, each side led by its highest-sid leader.
    pub split_brain: Option<Witness>,
    /// Pairs of up nodes without an election connection, each pair ascending, the list
    /// sorted; ask [`Ensemble::cut`] why.
    pub unreachable: Vec<(usize, usize)>,
    /// Every node that can be elected and establish itself as leader (zxids decide which one
    /// really wins), ascending.
    pub possible_leaders: Vec<usize>,
    /// For each possible leader, in the same order, the smallest set of servers it can count:
    /// voters only when it can do with voters.
    pub smallest_quorums: Vec<Quorum>,
    /// Possible leaders that can be established only by counting an observer (a server that
    /// runs as observer but whose sid the leader's view lists as a voter): they would answer as
    /// leader and never commit a write.
    pub hollow_leaders: Vec<usize>,
    /// The separate ensembles, when the up voters form more than one; each group ascending,
    /// groups by first member. Empty for one ensemble (or none).
    pub ensembles: Vec<Vec<usize>>,
    /// Up nodes that run with the same sid, each group ascending: every peer may count either.
    pub duplicate_sids: Vec<Vec<usize>>,
}

/// Why two nodes cannot talk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// No partition group holds both.
    Partitioned,
    /// Two servers with one sid: a server refuses an election connection from its own sid
    /// (`QuorumCnxManager.handleConnection`, ZOOKEEPER-2164).
    SameSid,
    /// The election connection cannot be made: the views that would be dialed from lack the
    /// peer's real address. One gap before 3.5 (the larger sid's view), two from 3.5.
    NoElectionLink(Vec<Gap>),
}

/// `holder`'s view does not give `peer`'s sid at `peer`'s real address (nor at a service in
/// front of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub holder: usize,
    pub peer: usize,
    /// What `holder`'s view lists for `peer`'s sid instead; empty when the sid is missing.
    pub listed: Vec<PeerAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuorumError {
    #[error("{0} nodes: the analyzer accepts at most {MAX_NODES}")]
    TooManyNodes(usize),
    #[error("partition group {group} names node {index}, but there are only {count} nodes")]
    UnknownPartitionMember {
        group: usize,
        index: usize,
        count: usize,
    },
}

impl Ensemble {
    pub fn verdict(&self) -> Result<Verdict, QuorumError> {
        self.check()?;
        let links = election::Links::new(self);
        let decisions = election::Decisions::new(self, &links);
        let camps: Vec<election::Camp> = (0..self.nodes.len())
            .filter_map(|leader| election::Camp::of(self, &decisions, leader))
            .collect();
        let ensembles = self.ensembles();
        let ensemble_of = |i: usize| ensembles.iter().position(|e| e.contains(&i));

        let mut possible_leaders = Vec::new();
        let mut smallest_quorums = Vec::new();
        let mut hollow_leaders = Vec::new();
        for camp in &camps {
            if let Some(quorum) = camp.smallest_quorum(self, true) {
                possible_leaders.push(camp.leader);
                smallest_quorums.push(quorum);
            } else if let Some(quorum) = camp.smallest_quorum(self, false) {
                possible_leaders.push(camp.leader);
                smallest_quorums.push(quorum);
                hollow_leaders.push(camp.leader);
            }
        }
        let quorum_possible = !ensembles.is_empty()
            && ensembles.iter().all(|members| {
                possible_leaders
                    .iter()
                    .any(|l| members.contains(l) && !hollow_leaders.contains(l))
            });
        let leading: Vec<&election::Camp> = camps
            .iter()
            .filter(|c| possible_leaders.contains(&c.leader))
            .collect();
        let split_brain = split::witness(self, &leading, &|a, b| ensemble_of(a) == ensemble_of(b));

        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up)
            .collect();
        let mut unreachable = Vec::new();
        for (k, &a) in up.iter().enumerate() {
            for &b in &up[k + 1..] {
                if !links.talk(a, b) {
                    unreachable.push((a, b));
                }
            }
        }
        Ok(Verdict {
            quorum_possible,
            split_brain,
            unreachable,
            possible_leaders,
            smallest_quorums,
            hollow_leaders,
            ensembles: if ensembles.len() > 1 {
                ensembles
            } else {
                Vec::new()
            },
            duplicate_sids: self.duplicate_sids(),
        })
    }

    /// The up voters grouped into separate ensembles: two voters belong together when their
    /// views share a participant sid (up or down), followed transitively.
    pub fn ensembles(&self) -> Vec<Vec<usize>> {
        let voters: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.is_voter(i))
            .collect();
        let mut group: Vec<usize> = (0..voters.len()).collect();
        fn root(group: &mut [usize], mut x: usize) -> usize {
            while group[x] != x {
                group[x] = group[group[x]];
                x = group[x];
            }
            x
        }
        let mut first_claim: BTreeMap<u64, usize> = BTreeMap::new();
        for (x, &i) in voters.iter().enumerate() {
            for line in self.nodes[i].view.participants() {
                match first_claim.get(&line.sid) {
                    Some(&y) => {
                        let (rx, ry) = (root(&mut group, x), root(&mut group, y));
                        group[rx.max(ry)] = rx.min(ry);
                    }
                    None => {
                        first_claim.insert(line.sid, x);
                    }
                }
            }
        }
        let mut ensembles: Vec<Vec<usize>> = Vec::new();
        for x in 0..voters.len() {
            let r = root(&mut group, x);
            match ensembles.iter_mut().find(|e| e[0] == voters[r]) {
                Some(members) => members.push(voters[x]),
                None => ensembles.push(vec![voters[x]]),
            }
        }
        ensembles
    }

    /// Up nodes sharing a sid, each group ascending, groups by first member.
    pub fn duplicate_sids(&self) -> Vec<Vec<usize>> {
        let mut by_sid: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate().filter(|(_, n)| n.up) {
            by_sid.entry(node.sid).or_default().push(i);
        }
        let mut groups: Vec<Vec<usize>> = by_sid.into_values().filter(|g| g.len() > 1).collect();
        groups.sort();
        groups
    }

    fn check(&self) -> Result<(), QuorumError> {
        let count = self.nodes.len();
        if count > MAX_NODES {
            return Err(QuorumError::TooManyNodes(count));
        }
        for (group, members) in self.partitions.iter().flatten().enumerate() {
            if let Some(&index) = members.iter().find(|&&i| i >= count) {
                return Err(QuorumError::UnknownPartitionMember {
                    group,
                    index,
                    count,
                });
            }
        }
        Ok(())
    }

    /// Can vote at all: up, and a participant in its own view (an observer, or a node whose
    /// view leaves it out, never votes — QuorumPeer only runs FastLeaderElection for voters).
    pub fn is_voter(&self, i: usize) -> bool {
        let node = &self.nodes[i];
        node.up && node.view.is_participant(node.sid)
    }

    /// Whether `i` tallies `j`'s vote: `j`'s sid is a voter of `i`'s view
    /// (`FastLeaderElection.validVoter`) and the two have an election connection, whatever
    /// address `i`'s view gives `j`. A node always hears itself.
    pub fn counts(&self, i: usize, j: usize) -> bool {
        self.nodes[i].view.is_participant(self.nodes[j].sid) && (i == j || self.cut(i, j).is_none())
    }

    /// Whether `follower` can connect to `leader` as a learner: `Learner.findLeader` looks the
    /// leader's sid up in the follower's own view and dials that address's quorum port.
    pub fn reaches(&self, follower: usize, leader: usize) -> bool {
        follower == leader
            || (self.together(follower, leader)
                && lists(&self.nodes[follower], &self.nodes[leader]))
    }

    pub(crate) fn together(&self, a: usize, b: usize) -> bool {
        self.partitions
            .as_ref()
            .is_none_or(|groups| groups.iter().any(|g| g.contains(&a) && g.contains(&b)))
    }

    /// Why `a` and `b` cannot talk, or `None` when they can. Ignores whether they are up.
    pub fn cut(&self, a: usize, b: usize) -> Option<Cut> {
        if a == b {
            return None;
        }
        if !self.together(a, b) {
            return Some(Cut::Partitioned);
        }
        let (na, nb) = (&self.nodes[a], &self.nodes[b]);
        if na.sid == nb.sid {
            return Some(Cut::SameSid);
        }
        let (lo, hi) = if na.sid < nb.sid { (a, b) } else { (b, a) };
        let (node_lo, node_hi) = (&self.nodes[lo], &self.nodes[hi]);
        // Only the larger sid keeps an election connection: when the smaller dials, the larger
        // closes it and dials back (QuorumCnxManager.handleConnection). Before 3.5 it dials
        // back at the address its own view gives (`connectOne(sid)`; ZOOKEEPER-2938, LINE deck
        // slide 16); from 3.5 at the election address the smaller one advertised in its
        // initial message (`connectOne(sid, electionAddr)`), so either side knowing the
        // other's real address is enough (measured on 3.8.0).
        if lists(node_hi, node_lo) {
            return None;
        }
        let mut gaps = vec![gap(hi, node_hi, lo, node_lo)];
        if !self.version.dials_back_from_own_view() {
            if lists(node_lo, node_hi) {
                return None;
            }
            gaps.push(gap(lo, node_lo, hi, node_hi));
        }
        Some(Cut::NoElectionLink(gaps))
    }
}

/// `holder`'s view gives `peer`'s sid at an address that reaches `peer`: its real one or a
/// service in front of it.
fn lists(holder: &Node, peer: &Node) -> bool {
    holder
        .view
        .server(peer.sid)
        .is_some_and(|line| points_at(line, peer))
}

/// One of the line's addresses reaches `node`: its real address or a service in front of it.
fn points_at(line: &crate::zk::config::ServerLine, node: &Node) -> bool {
    line.has_addr(&node.addr) || node.aliases.iter().any(|alias| line.has_addr(alias))
}

fn gap(holder: usize, holder_node: &Node, peer: usize, peer_node: &Node) -> Gap {
    Gap {
        holder,
        peer,
        listed: holder_node
            .view
            .server(peer_node.sid)
            .map(|line| line.addrs.clone())
            .unwrap_or_default(),
    }
}
