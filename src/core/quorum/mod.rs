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
pub mod findings;
mod split;

#[cfg(test)]
mod cross_check;
#[cfg(test)]
mod tests;

use crate::zk::config::{PeerAddr, ServerLine, View};
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
    /// Its own server lines: whose votes it counts and where it dials its peers. Its own line
    /// (the line for its own sid) is also the address it advertises and binds: see
    /// [`Node::advertised`] and [`Node::binds`].
    pub view: View,
    /// `quorumListenOnAllIPs`: `Some(true)` binds its election and quorum ports on every
    /// address it has, `Some(false)` only on its own line's addresses, `None` when no source
    /// tells — the verdict then judges both settings and keeps the worse answer to each
    /// question ([`Verdict::listen_all_unknown`]).
    pub listen_all: Option<bool>,
}

impl Node {
    /// Its own view's line for its own sid: `QuorumPeer.setQuorumVerifier` → `setAddrs` takes
    /// the server's quorum and election addresses from it.
    pub fn own_line(&self) -> Option<&ServerLine> {
        self.view.server(self.sid)
    }

    /// The election address it sends in the initial message of every connection it opens
    /// (`QuorumCnxManager.startConnection` writes `self.getElectionAddress()`), where a larger
    /// sid dials it back from 3.5 (`handleConnection` → `connectOne(sid, electionAddr)`): its
    /// own line, whatever address it really has. Without an own line, its real address.
    pub fn advertised(&self) -> &[PeerAddr] {
        self.own_line()
            .map_or(std::slice::from_ref(&self.addr), |line| {
                line.addrs.as_slice()
            })
    }

    /// Where it listens for peers with `quorumListenOnAllIPs` set to `listen_all`. Off, the
    /// election listener (`QuorumCnxManager.Listener.run`, `getAllAddresses`) and, as leader,
    /// the quorum listener (`Leader` constructor) bind its own line's addresses, which succeeds
    /// only for an address it has (here: its real host). On, they bind the wildcard address on
    /// its own line's ports (`getWildcardAddresses`), so it is reached at its real host on
    /// those ports. Empty: it can bind nothing (see [`Ensemble::exits_at_start`]).
    pub fn binds(&self, listen_all: bool) -> Vec<PeerAddr> {
        let Some(line) = self.own_line() else {
            return vec![self.addr.clone()];
        };
        let mut binds: Vec<PeerAddr> = line
            .addrs
            .iter()
            .filter(|a| listen_all || a.host == self.addr.host)
            .map(|a| PeerAddr {
                host: self.addr.host.clone(),
                quorum_port: a.quorum_port,
                election_port: a.election_port,
            })
            .collect();
        binds.dedup();
        binds
    }

    /// Whether `quorumListenOnAllIPs` changes where it listens: its own line names an address
    /// that is not its own.
    pub fn listen_all_matters(&self) -> bool {
        self.binds(true) != self.binds(false)
    }
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
    /// Nodes the state calls up that cannot bind their own line and exit at start (from 3.5.6,
    /// code 14), or may (their `quorumListenOnAllIPs` unknown). Ascending. Each is judged
    /// twice: running while its listener retries the bind (it votes over the election
    /// connections it opens and can follow, but nothing reaches it and it cannot lead), and
    /// down afterwards. Who can lead and whether two can lead at once take the worse of the
    /// two; whether a quorum can form (and last), which pairs cannot talk and which elections
    /// stall are the answers after the exit.
    pub exits_at_start: Vec<usize>,
    /// For each node of `exits_at_start`, in the same order, its own line's addresses: what it
    /// tries to bind.
    pub exit_lines: Vec<Vec<PeerAddr>>,
    /// Possible leaders only while a node of `exits_at_start` is still retrying its bind: they
    /// lose their quorum when it exits. Ascending; also in `possible_leaders`.
    pub brief_leaders: Vec<usize>,
    /// Up nodes whose `quorumListenOnAllIPs` no source gives and whose own line makes it
    /// matter: every answer is the worse of both settings. Ascending.
    pub listen_all_unknown: Vec<usize>,
    /// Up nodes that advertise an election address that does not reach them, by node.
    pub misadvertised: Vec<Advert>,
    /// Servers that can win an election but that too few can follow (module docs of
    /// `election`), by leader.
    pub stalls: Vec<Stall>,
    /// Voters that a possible leader needs but that can join it only in the round that elects
    /// it, by server then leader.
    pub strandable: Vec<Strand>,
    /// Up nodes that can neither lead a quorum nor follow, whoever leads: no possible leader's
    /// camp has them (no election connection brings them a decision for it, or none they can
    /// connect to), so whenever they look for a leader they find none and do not serve while
    /// the others do. Only where their own ensemble has a possible leader (without one, the
    /// quorum finding says it all). Ascending; of several verdicts, the nodes every one names.
    pub cannot_serve: Vec<usize>,
}

/// A voter `server` of `leader`'s view that can follow `leader` when both decide in one round,
/// but not once `leader` is established: a server that looks for a leader later (it restarted,
/// or its round moved on with another server's failed elections) joins an established one only
/// when servers that report following or leading it make a majority of its own view, its own
/// vote not counted (`FastLeaderElection.receivedFollowingNotification`: `outofelection`), and
/// those that can follow `leader` do not. Measured on 3.8 (`docs/analyzer.md`, rule 17): such a
/// server stayed LOOKING beside a serving leader, its round pulled ahead by a retiring voter's
/// failed rounds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Strand {
    pub server: usize,
    pub leader: usize,
}

/// A server whose advertised election address (its own line) does not reach it: a larger
/// sid that dials it back there reaches `reaches` instead, or nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Advert {
    pub node: usize,
    pub addrs: Vec<PeerAddr>,
    /// The node that address reaches instead (up or not), if any.
    pub reaches: Option<usize>,
}

/// An election that can stall: `leader` can be elected (it decides for itself, a majority of
/// its view voting for it) but cannot count a majority of its view among the servers that can
/// follow it, so after `initLimit` it goes back to LOOKING, and the same vote can win again
/// (FastLeaderElection prefers the highest zxid, then sid, and a failed round changes
/// neither).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stall {
    pub leader: usize,
    /// Up voters that can decide for it but whose own view lists it at an address that does
    /// not reach it (`Learner.findLeader`), ascending.
    pub cannot_follow: Vec<usize>,
}

/// Why two nodes cannot talk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// No partition group holds both.
    Partitioned,
    /// Two servers with one sid: a server refuses an election connection from its own sid
    /// (`QuorumCnxManager.handleConnection`, ZOOKEEPER-2164).
    SameSid,
    /// The election connection cannot be made. Only the larger sid keeps one, so it must be
    /// dialed by the larger: `own_view` says why the larger's own view does not lead to the
    /// smaller; from 3.5, `dial_back` why the dial-back after the smaller's own dial fails.
    NoElectionLink {
        own_view: Gap,
        dial_back: Option<DialBack>,
    },
}

/// Why the 3.5+ dial-back does not connect a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialBack {
    /// The smaller sid's own view does not lead to the larger, so it never dials it.
    NoDial(Gap),
    /// The smaller dials the larger, which drops the socket and dials back at the address the
    /// smaller advertised — which does not reach it.
    Advertised(Advert),
}

/// `holder`'s view does not give `peer`'s sid at an address where `peer` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub holder: usize,
    pub peer: usize,
    /// What `holder`'s view lists for `peer`'s sid instead; empty when the sid is missing.
    pub listed: Vec<PeerAddr>,
    /// The node the listed address reaches instead (up or not), if any.
    pub reaches: Option<usize>,
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

/// The most nodes with an unknown `quorumListenOnAllIPs` whose settings are combined one by one
/// (2^6 analyzer runs); beyond, all of them are judged on and all off.
const MAX_UNKNOWN_LISTEN_ALL: usize = 6;

impl Ensemble {
    /// The analyzer's answers. A node whose `quorumListenOnAllIPs` is unknown and matters is
    /// judged with it on and off, and each answer is the worse of the two
    /// ([`Verdict::worst`]); a node that cannot bind its own line is judged down from 3.5.6.
    pub fn verdict(&self) -> Result<Verdict, QuorumError> {
        self.check()?;
        let unknown: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                let node = &self.nodes[i];
                node.up && node.listen_all.is_none() && node.listen_all_matters()
            })
            .collect();
        let worlds: Vec<Vec<bool>> = if unknown.len() <= MAX_UNKNOWN_LISTEN_ALL {
            (0..1usize << unknown.len())
                .map(|w| (0..unknown.len()).map(|k| w >> k & 1 == 1).collect())
                .collect()
        } else {
            vec![vec![false; unknown.len()], vec![true; unknown.len()]]
        };
        let settled = unknown.is_empty() && !(0..self.nodes.len()).any(|i| self.exits_at_start(i));
        if settled {
            let mut verdict = self.judge();
            verdict.misadvertised = self.misadvertising(&[]);
            return Ok(verdict);
        }
        let mut verdicts = Vec::with_capacity(worlds.len());
        let mut exits: Vec<usize> = Vec::new();
        for world in worlds {
            let mut retrying = self.clone();
            for (&i, &on) in unknown.iter().zip(&world) {
                retrying.nodes[i].listen_all = Some(on);
            }
            let exiting: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| retrying.exits_at_start(i))
                .collect();
            if exiting.is_empty() {
                verdicts.push(retrying.judge());
                continue;
            }
            exits.extend(&exiting);
            let mut lasting = retrying.clone();
            for &i in &exiting {
                lasting.nodes[i].up = false;
            }
            verdicts.push(lasting.judge().with_retries(retrying.judge()));
        }
        let mut verdict = Verdict::worst(verdicts).unwrap_or_default();
        exits.sort_unstable();
        exits.dedup();
        verdict.exit_lines = exits
            .iter()
            .map(|&i| self.nodes[i].advertised().to_vec())
            .collect();
        verdict.exits_at_start = exits;
        verdict.listen_all_unknown = unknown;
        verdict.misadvertised = self.misadvertising(&verdict.exits_at_start);
        Ok(verdict)
    }

    /// The verdict of an ensemble whose every up node runs (each `listen_all` settled or
    /// irrelevant, nodes that exit at start marked down).
    fn judge(&self) -> Verdict {
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
        let mut unreachable = Vec::with_capacity(up.len() * up.len() / 2);
        for (k, &a) in up.iter().enumerate() {
            for &b in &up[k + 1..] {
                if !links.talk(a, b) {
                    unreachable.push((a, b));
                }
            }
        }
        let stalls = (0..self.nodes.len())
            .filter(|&l| decisions.decides(l, l) && !possible_leaders.contains(&l))
            .map(|leader| Stall {
                leader,
                cannot_follow: (0..self.nodes.len())
                    .filter(|&x| {
                        x != leader
                            && self.is_voter(x)
                            && decisions.decides(leader, x)
                            && !self.reaches(x, leader)
                    })
                    .collect(),
            })
            .collect();
        let strandable = self.strandable(&links, &leading);
        let cannot_serve = self.cannot_serve(&leading, &ensemble_of);
        Verdict {
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
            stalls,
            strandable,
            cannot_serve,
            ..Verdict::default()
        }
    }

    /// Up nodes in no possible leader's camp, where their ensemble has a possible leader; a
    /// node outside every ensemble (an observer, a server missing from its own view) is judged
    /// beside every leader. One pass over the camps: every verdict the search asks for runs it.
    fn cannot_serve(
        &self,
        leading: &[&election::Camp],
        ensemble_of: &dyn Fn(usize) -> Option<usize>,
    ) -> Vec<usize> {
        let n = self.nodes.len();
        let mut in_camp = vec![false; n];
        let mut led = vec![false; n];
        for camp in leading {
            in_camp[camp.leader] = true;
            for &learner in &camp.learners {
                in_camp[learner] = true;
            }
            if let Some(e) = ensemble_of(camp.leader) {
                led[e] = true;
            }
        }
        (0..n)
            .filter(|&x| {
                self.nodes[x].up
                    && !in_camp[x]
                    && ensemble_of(x).map_or(!leading.is_empty(), |e| led[e])
            })
            .collect()
    }

    /// Each voter a possible leader's view counts and that can join it only in the round that
    /// elects it ([`Strand`]).
    fn strandable(&self, links: &election::Links, leading: &[&election::Camp]) -> Vec<Strand> {
        let mut out = Vec::new();
        for camp in leading {
            let leader = camp.leader;
            let leader_view = &self.nodes[leader].view;
            // The voters the leader counts, by sid, the leader's own included: a server leaves
            // the leader its quorum when the sids left without it are still a majority
            // (`Camp::smallest_quorum` without the server, asked here for every server at
            // once).
            let counts =
                |y: usize| self.is_voter(y) && leader_view.is_participant(self.nodes[y].sid);
            let mut sids: Vec<u64> = std::iter::once(self.nodes[leader].sid)
                .chain(
                    camp.learners
                        .iter()
                        .filter(|&&y| counts(y))
                        .map(|&y| self.nodes[y].sid),
                )
                .collect();
            sids.sort_unstable();
            let distinct = sids.len() - sids.windows(2).filter(|w| w[0] == w[1]).count();
            for &server in &camp.learners {
                if !counts(server) {
                    continue;
                }
                let sid = self.nodes[server].sid;
                let alone = sids.iter().filter(|&&s| s == sid).count() == 1;
                // Without it the leader keeps its quorum, so it stays established while the
                // server looks for it.
                let holds = distinct - usize::from(alone) >= leader_view.majority();
                if !holds {
                    continue;
                }
                let own = &self.nodes[server].view;
                let mut counted: Vec<u64> = std::iter::once(leader)
                    .chain(camp.learners.iter().copied().filter(|&y| y != server))
                    .filter(|&y| own.is_participant(self.nodes[y].sid) && links.talk(server, y))
                    .map(|y| self.nodes[y].sid)
                    .collect();
                counted.sort_unstable();
                counted.dedup();
                if counted.len() < own.majority() {
                    out.push(Strand { server, leader });
                }
            }
        }
        out.sort();
        out
    }

    /// Whether node `i`, up in the state, exits at start: from 3.5.6 a server with
    /// `quorumListenOnAllIPs` off whose own line names no address it has cannot bind its
    /// election listener and exits with code 14 ([`ZkVersion::exits_when_it_cannot_bind`]).
    /// An unknown setting is taken as on here; [`Ensemble::verdict`] tries both.
    pub fn exits_at_start(&self, i: usize) -> bool {
        let node = &self.nodes[i];
        node.up
            && self.version.exits_when_it_cannot_bind()
            && !self.listen_all(i)
            && node.binds(false).is_empty()
    }

    /// The setting judged for node `i` where one answer is needed (a pair's reason, a stall's
    /// follower): its own when known; unknown, the one under which it runs and hears the
    /// least — on from 3.5.6 (off, it would exit: judged separately), off before (it then
    /// runs deaf to election connections).
    fn listen_all(&self, i: usize) -> bool {
        self.nodes[i]
            .listen_all
            .unwrap_or(self.version.exits_when_it_cannot_bind())
    }

    /// Where node `i` listens for peers (ignoring whether it is up).
    pub fn binds(&self, i: usize) -> Vec<PeerAddr> {
        self.nodes[i].binds(self.listen_all(i))
    }

    /// Whether a connection to `to` arrives at a listener of node `i`: `to` is where `i`
    /// binds, or a service in front of `i` while `i` listens on its real host at the ports the
    /// connection came to. A service forwards the address and keeps the port (kube-proxy's
    /// rules for a Service whose `targetPort` is its port, and the sandbox's DNAT of the address
    /// alone), so a pod that took over an id listens on that id's ports, whatever ports its
    /// inventory entry names.
    pub fn arrives(&self, to: &PeerAddr, i: usize) -> bool {
        let node = &self.nodes[i];
        (to.host == node.addr.host || node.aliases.contains(to))
            && self.listens_on_ports(i, to.quorum_port, to.election_port)
    }

    /// Whether one of node `i`'s [`Ensemble::binds`] has these ports (each of them is on its
    /// real host). Asked without building the list: the synthesizer asks it for every pair of
    /// every state it judges.
    fn listens_on_ports(&self, i: usize, quorum_port: u16, election_port: u16) -> bool {
        let node = &self.nodes[i];
        let ports = |a: &PeerAddr| a.quorum_port == quorum_port && a.election_port == election_port;
        match node.own_line() {
            None => ports(&node.addr),
            Some(line) => {
                let listen_all = self.listen_all(i);
                line.addrs
                    .iter()
                    .any(|a| (listen_all || a.host == node.addr.host) && ports(a))
            }
        }
    }

    /// The node a connection to `to` arrives at, an up one first; `None` when nothing listens.
    pub fn arrives_at(&self, to: &[PeerAddr]) -> Option<usize> {
        let at = |i: &usize| to.iter().any(|a| self.arrives(a, *i));
        let all = 0..self.nodes.len();
        all.clone()
            .filter(|&i| self.nodes[i].up)
            .find(at)
            .or_else(|| all.clone().find(at))
    }

    /// The up nodes (but those in `gone`) whose advertised address does not reach them, where
    /// it matters: from 3.5, where the dial-back goes there. Before 3.5 the initial message
    /// carries the sid alone (3.4.14 `QuorumCnxManager.startConnection` writes `mySid`) and the
    /// larger sid dials back from its own view (`handleConnection` → `connectOne(sid)`), so no
    /// one dials what a server advertises.
    fn misadvertising(&self, gone: &[usize]) -> Vec<Advert> {
        if self.version.dials_back_from_own_view() {
            return Vec::new();
        }
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up && !gone.contains(&i))
            .filter_map(|i| self.misadvertised(i))
            .collect()
    }

    /// Node `i`'s advertised election address when it does not reach `i`.
    pub fn misadvertised(&self, i: usize) -> Option<Advert> {
        let addrs = self.nodes[i].advertised();
        (!addrs.iter().any(|a| self.arrives(a, i))).then(|| Advert {
            node: i,
            addrs: addrs.to_vec(),
            reaches: self.arrives_at(addrs),
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
        follower == leader || (self.together(follower, leader) && self.lists(follower, leader))
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
        // Only the larger sid keeps an election connection: when the smaller dials, the larger
        // closes it and dials back (QuorumCnxManager.handleConnection, `sid < self.getMyId()`;
        // the smaller drops its own dial in `startConnection`). The larger dials on its own at
        // the address its own view gives (`connectOne(sid)` → `self.getView()`).
        if self.lists(hi, lo) {
            return None;
        }
        let own_view = self.gap(hi, lo);
        // Before 3.5 the dial-back uses that same own view (3.4.14 `connectOne(sid)`), so
        // nothing else can connect the pair (ZOOKEEPER-2938, LINE deck slide 16).
        if self.version.dials_back_from_own_view() {
            return Some(Cut::NoElectionLink {
                own_view,
                dial_back: None,
            });
        }
        // From 3.5 the dial-back goes to the election address the smaller advertised in its
        // initial message (`connectOne(sid, electionAddr)`): its own line, not where it
        // really is (QuorumPeer.setAddrs). So the smaller must reach the larger from its own
        // view, and its own line must reach it.
        let dial_back = if !self.lists(lo, hi) {
            DialBack::NoDial(self.gap(lo, hi))
        } else if let Some(advert) = self.misadvertised(lo) {
            DialBack::Advertised(advert)
        } else {
            return None;
        };
        Some(Cut::NoElectionLink {
            own_view,
            dial_back: Some(dial_back),
        })
    }

    /// `holder`'s view gives `peer`'s sid at an address where `peer` listens (its own or a
    /// service in front of it).
    pub(crate) fn lists(&self, holder: usize, peer: usize) -> bool {
        self.nodes[holder]
            .view
            .server(self.nodes[peer].sid)
            .is_some_and(|line| self.line_arrives(line, peer))
    }

    /// One of the line's addresses arrives at node `i`.
    pub(crate) fn line_arrives(&self, line: &ServerLine, i: usize) -> bool {
        line.addrs.iter().any(|a| self.arrives(a, i))
    }

    fn gap(&self, holder: usize, peer: usize) -> Gap {
        let listed = self.nodes[holder]
            .view
            .server(self.nodes[peer].sid)
            .map(|line| line.addrs.clone())
            .unwrap_or_default();
        Gap {
            holder,
            peer,
            reaches: self.arrives_at(&listed),
            listed,
        }
    }
}

/// How many times a server tries to bind its election listener before it gives up, and how long
/// it sleeps after each failure: `QuorumCnxManager.Listener` (`electionPortBindRetry`, default
/// `DEFAULT_PORT_BIND_MAX_RETRY` = 3; `ListenerHandler.acceptConnections` sleeps 1000 ms after
/// each failed bind, the last one included), then `socketBindErrorHandler` exits.
pub const BIND_TRIES: u64 = 3;
pub const BIND_RETRY_MS: u64 = 1_000;
/// When such a server exits, counted from its start: the bind retries plus the JVM's start, as
/// measured on 3.8.0 in the namespace lab (`tests/fixtures/lab/seed26-trial67.yaml`: started at
/// 300 ms, gone at about 4.5 s).
pub const EXIT_AFTER_S: u64 = 4;

impl Verdict {
    /// This verdict, judged with the nodes that exit at start down, joined with `retrying`,
    /// judged while they still run and retry their bind (`QuorumCnxManager.Listener`: until the
    /// retries end the process votes over the connections it opens, and a leader it decides
    /// for counts it): a leader possible only then is possible, briefly; a split brain possible
    /// only then is possible. Whether a working quorum can form stays this verdict's: one that
    /// dies with the exit is not one an operator can count on.
    fn with_retries(mut self, retrying: Verdict) -> Verdict {
        let added = self.add_leaders(
            retrying.possible_leaders,
            retrying.smallest_quorums,
            retrying.split_brain,
        );
        self.brief_leaders.extend(added);
        merge(&mut self.hollow_leaders, retrying.hollow_leaders);
        // A server that can follow a leader only while the bind is retried does serve then.
        self.cannot_serve
            .retain(|x| retrying.cannot_serve.contains(x));
        self.brief_leaders.sort_unstable();
        self.sort_leaders();
        self
    }

    /// Adds the leaders (each with its smallest quorum) this verdict does not list yet, and the
    /// split brain when it names none; returns the leaders added.
    fn add_leaders(
        &mut self,
        leaders: Vec<usize>,
        quorums: Vec<Quorum>,
        split: Option<Witness>,
    ) -> Vec<usize> {
        let mut added = Vec::new();
        for (leader, quorum) in leaders.into_iter().zip(quorums) {
            if !self.possible_leaders.contains(&leader) {
                self.possible_leaders.push(leader);
                self.smallest_quorums.push(quorum);
                added.push(leader);
            }
        }
        if self.split_brain.is_none() {
            self.split_brain = split;
        }
        added
    }

    /// Adds servers that exit at start with their own lines, each once, ascending:
    /// `exit_lines` stays beside `exits_at_start`.
    fn add_exits(&mut self, nodes: Vec<usize>, lines: Vec<Vec<PeerAddr>>) {
        let mut exits: Vec<(usize, Vec<PeerAddr>)> = std::mem::take(&mut self.exits_at_start)
            .into_iter()
            .zip(std::mem::take(&mut self.exit_lines))
            .collect();
        for (node, line) in nodes.into_iter().zip(lines) {
            if !exits.iter().any(|(n, _)| *n == node) {
                exits.push((node, line));
            }
        }
        exits.sort_by_key(|(node, _)| *node);
        (self.exits_at_start, self.exit_lines) = exits.into_iter().unzip();
    }

    /// `possible_leaders` ascending, `smallest_quorums` kept beside them.
    fn sort_leaders(&mut self) {
        let mut order: Vec<usize> = (0..self.possible_leaders.len()).collect();
        order.sort_by_key(|&k| self.possible_leaders[k]);
        self.smallest_quorums = order
            .iter()
            .map(|&k| self.smallest_quorums[k].clone())
            .collect();
        self.possible_leaders = order.iter().map(|&k| self.possible_leaders[k]).collect();
    }

    /// The worst of several verdicts on one set of servers (assumptions about what is not
    /// known), figure by figure: a quorum only if every one can form one, a split brain if any
    /// can, every pair that cannot talk, every possible and hollow leader, every shared sid,
    /// every stall, the most separate ensembles; a server that cannot serve only if none can.
    pub fn worst(verdicts: Vec<Verdict>) -> Option<Verdict> {
        let mut verdicts = verdicts.into_iter();
        let mut worst = verdicts.next()?;
        // Leaders that last in some verdict are not brief in the worst of them.
        let lasting_of = |v: &Verdict| -> Vec<usize> {
            let mut l = v.possible_leaders.clone();
            l.retain(|x| !v.brief_leaders.contains(x));
            l
        };
        let mut lasting = lasting_of(&worst);
        for verdict in verdicts {
            lasting.extend(lasting_of(&verdict));
            merge(&mut worst.brief_leaders, verdict.brief_leaders);
            worst.quorum_possible &= verdict.quorum_possible;
            worst.add_leaders(
                verdict.possible_leaders,
                verdict.smallest_quorums,
                verdict.split_brain,
            );
            merge(&mut worst.hollow_leaders, verdict.hollow_leaders);
            merge(&mut worst.unreachable, verdict.unreachable);
            merge(&mut worst.duplicate_sids, verdict.duplicate_sids);
            worst.add_exits(verdict.exits_at_start, verdict.exit_lines);
            merge(&mut worst.listen_all_unknown, verdict.listen_all_unknown);
            merge(&mut worst.misadvertised, verdict.misadvertised);
            merge(&mut worst.strandable, verdict.strandable);
            // Named only where no assumption lets it serve: the finding is a certainty.
            worst
                .cannot_serve
                .retain(|x| verdict.cannot_serve.contains(x));
            for stall in verdict.stalls {
                if !worst.stalls.iter().any(|s| s.leader == stall.leader) {
                    worst.stalls.push(stall);
                }
            }
            if verdict.ensembles.len() > worst.ensembles.len() {
                worst.ensembles = verdict.ensembles;
            }
        }
        worst.stalls.sort();
        worst.brief_leaders.retain(|l| !lasting.contains(l));
        worst.sort_leaders();
        Some(worst)
    }
}

fn merge<T: Ord>(into: &mut Vec<T>, more: Vec<T>) {
    into.extend(more);
    into.sort();
    into.dedup();
}
