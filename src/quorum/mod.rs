//! The analyzer: can a quorum form, can two form at once (split brain), and who cannot talk to
//! whom — for an ensemble whose nodes may disagree about what the ensemble is.
//!
//! The rules are ZooKeeper's own (FastLeaderElection and QuorumCnxManager), as the LINE deck
//! (seed 004) works them by hand: each node counts votes only from the participants of its own
//! view, so a set of nodes can elect a leader when it is a majority of *every* member's view,
//! whatever the other views say. Two disjoint such sets are two leaders at once — unless no view
//! on one side names a server on the other: then they are two separate ensembles, as after a
//! deliberate split (the mitosis procedure, seed 001), and each is judged on its own.
//!
//! Pure: no I/O, no clock. The search over subsets lives in `search.rs`.

mod search;

#[cfg(test)]
mod cross_check;
#[cfg(test)]
mod tests;

use crate::zk::config::{PeerAddr, View};
use crate::zk::version::ZkVersion;

/// The largest ensemble the exact search accepts: it visits every subset of the voters.
pub const MAX_NODES: usize = 20;

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

/// A leader and the nodes that can elect it (the leader included), indices in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quorum {
    pub leader: usize,
    pub members: Vec<usize>,
}

/// Two disjoint quorums that can form at the same time; `a` holds the lower-index node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub a: Quorum,
    pub b: Quorum,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub quorum_possible: bool,
    /// The two quorums with the fewest members in total (then the lexicographically smallest
    /// member lists); each led by its highest-sid possible leader, as FastLeaderElection
    /// prefers the highest sid when zxids and epochs tie.
    pub split_brain: Option<Witness>,
    /// Pairs of up nodes that cannot talk, each pair ascending, the list sorted; ask
    /// [`Ensemble::cut`] why.
    pub unreachable: Vec<(usize, usize)>,
    /// Every node that leads at least one possible quorum (zxids decide which one really
    /// wins), ascending.
    pub possible_leaders: Vec<usize>,
    /// For each possible leader, in the same order, the smallest quorum it can lead.
    pub smallest_quorums: Vec<Quorum>,
    /// The separate ensembles, when the up voters form more than one: groups of voters linked
    /// by one naming the other as a participant; each group ascending, groups by first member.
    /// Empty for one ensemble (or none).
    pub ensembles: Vec<Vec<usize>>,
}

/// Why two nodes cannot talk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// No partition group holds both.
    Partitioned,
    /// Two servers with one sid: QuorumCnxManager keeps one connection per sid and drops the
    /// other.
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
    #[error("{0} nodes: the analyzer checks every subset and accepts at most {MAX_NODES}")]
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
        let ensembles = self.ensembles();
        let found = if ensembles.len() > 1 {
            self.each_ensemble(&ensembles)
        } else {
            search::run(self, &|_| true)
        };
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up)
            .collect();
        let mut unreachable = Vec::new();
        for (k, &a) in up.iter().enumerate() {
            for &b in &up[k + 1..] {
                if self.cut(a, b).is_some() {
                    unreachable.push((a, b));
                }
            }
        }
        Ok(Verdict {
            quorum_possible: found.quorum_possible,
            split_brain: found.split_brain,
            unreachable,
            possible_leaders: found.possible_leaders,
            smallest_quorums: found.smallest_quorums,
            ensembles: if ensembles.len() > 1 {
                ensembles
            } else {
                Vec::new()
            },
        })
    }

    /// The up voters grouped into separate ensembles: two voters belong together when either
    /// view names the other as a participant, and the relation is followed transitively.
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
        for (x, &i) in voters.iter().enumerate() {
            for (y, &j) in voters.iter().enumerate().skip(x + 1) {
                let (a, b) = (&self.nodes[i], &self.nodes[j]);
                if a.view.is_participant(b.sid) || b.view.is_participant(a.sid) {
                    let (rx, ry) = (root(&mut group, x), root(&mut group, y));
                    group[rx.max(ry)] = rx.min(ry);
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

    /// Each ensemble searched alone; quorum is possible only when every one of them can form
    /// its own, and a split brain is two leaders within one of them.
    fn each_ensemble(&self, ensembles: &[Vec<usize>]) -> search::Found {
        let mut all = search::Found {
            quorum_possible: true,
            split_brain: None,
            possible_leaders: Vec::new(),
            smallest_quorums: Vec::new(),
        };
        for members in ensembles {
            let found = search::run(self, &|i| members.contains(&i));
            all.quorum_possible &= found.quorum_possible;
            all.split_brain = all.split_brain.or(found.split_brain);
            all.smallest_quorums.extend(found.smallest_quorums);
        }
        all.smallest_quorums.sort_by_key(|q| q.leader);
        all.possible_leaders = all.smallest_quorums.iter().map(|q| q.leader).collect();
        all
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

    /// Whether `i` counts `j`'s vote: FastLeaderElection only tallies notifications from the
    /// participants of the receiver's own voting view, and they arrive over the connection to
    /// the address that view lists. A node always counts its own vote. The same test decides
    /// whether `i` can follow `j` as leader: it only votes for a sid it counts, and a follower
    /// connects to the leader at the address its own view gives (Learner.findLeader).
    pub fn counts(&self, i: usize, j: usize) -> bool {
        let (node, peer) = (&self.nodes[i], &self.nodes[j]);
        node.view.is_participant(peer.sid) && (i == j || lists(node, peer))
    }

    /// Why `a` and `b` cannot talk, or `None` when they can. Ignores whether they are up.
    pub fn cut(&self, a: usize, b: usize) -> Option<Cut> {
        if a == b {
            return None;
        }
        if let Some(groups) = &self.partitions {
            if !groups.iter().any(|g| g.contains(&a) && g.contains(&b)) {
                return Some(Cut::Partitioned);
            }
        }
        let (na, nb) = (&self.nodes[a], &self.nodes[b]);
        if na.sid == nb.sid {
            return Some(Cut::SameSid);
        }
        let (lo, hi) = if na.sid < nb.sid { (a, b) } else { (b, a) };
        let (node_lo, node_hi) = (&self.nodes[lo], &self.nodes[hi]);
        // Only the larger sid keeps an election connection: when the smaller dials, the larger
        // closes it and dials back (QuorumCnxManager.handleConnection). Before 3.5 it dials
        // back at the address its own view gives (ZOOKEEPER-2938, LINE deck slide 16); from
        // 3.5 at the address the smaller one advertised, so either side knowing the other's
        // real address is enough (measured on 3.8.0).
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
    holder.view.server(peer.sid).is_some_and(|line| {
        line.has_addr(&peer.addr) || peer.aliases.iter().any(|alias| line.has_addr(alias))
    })
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
