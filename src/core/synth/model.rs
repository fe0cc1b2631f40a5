//! The synthesizer's model: every host that runs today or at the end, what becomes of it, the
//! memberships views are built from, and the analyzer's input for any state of the search.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::fast_hash::FastMap;

use super::target::Target;
use super::SynthError;
use crate::analyze::State;
use crate::quorum::{Ensemble, Node};
use crate::zk::config::{PeerAddr, PeerRole, ServerLine, View};
use crate::zk::version::ZkVersion;

/// What the migration does to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Runs today (or is down today) and at the end, with the same sid.
    Stays,
    /// Runs today and is stopped for good.
    Leaves,
    /// A new host taking over the sid of the host at this index, once that host has stopped.
    Replaces(usize),
    /// A new host with a sid of its own.
    Joins,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub sid: u64,
    pub addr: PeerAddr,
    pub fate: Fate,
    /// Its role at the end, for hosts in the target.
    pub role: Option<PeerRole>,
    /// Restarted at least once, whatever its view (`restart: true` in the target).
    pub must_restart: bool,
    /// Its `quorumListenOnAllIPs`: as the state file says for today's servers; off for a new
    /// host, whose config the emitted runbook writes without it (ZooKeeper's default,
    /// `QuorumPeerConfig.parseProperties`), so started on a view whose line for its own id names
    /// another address it cannot bind and exits (the analyzer's own-line rule).
    pub listen_all: Option<bool>,
}

/// A list of server lines a view starts from: one of today's views or the target's. Sids taken
/// over are listed at the old host's address here; a view may move each to its new host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The state file's name for it, `today`, or `target`.
    pub name: String,
    pub lines: Vec<ServerLine>,
}

/// A view as the search knows it: a membership, which sids taken over it lists at their
/// new host (bit `t` for `Problem::takeovers[t]`), and which sids it names by their service
/// (bit `s` for `Problem::services[s]`; such a sid's host address is not in the view, so its
/// `moved` bit is always clear).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ViewKey {
    pub membership: usize,
    pub moved: u32,
    pub via: u32,
}

/// A sid moving from one host to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Takeover {
    pub sid: u64,
    pub old: usize,
    pub new: usize,
}

/// A stable address in front of a server id (a Kubernetes ClusterIP service): a view that names
/// the id by it reaches whichever host the service forwards to, and a `point` move repoints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub sid: u64,
    pub addr: PeerAddr,
    /// The state node it was made for (the runbook's `${service:NAME…}` names it by that node).
    pub serves: usize,
    /// The host it forwards to today, if it exists yet.
    pub start: Option<usize>,
    /// The host that runs its sid at the end, where it must forward then.
    pub end: usize,
}

/// What the search is asked: hosts, memberships, where it starts, where it must end.
#[derive(Debug, Clone)]
pub struct Problem {
    pub version: ZkVersion,
    pub hosts: Vec<Host>,
    pub memberships: Vec<Membership>,
    pub takeovers: Vec<Takeover>,
    /// Services in front of server ids; their slots follow the hosts' in a state.
    pub services: Vec<Service>,
    /// Per host: its view today when it runs, `None` when it does not.
    pub start: Vec<Option<ViewKey>>,
    /// The view every host of the target runs at the end.
    pub goal: ViewKey,
    /// The live leader, restarted last when it can be.
    pub leader: Option<usize>,
    /// `memberships[..today_memberships]` are today's views, the rest were made for the target.
    pub today_memberships: usize,
    /// The goal view's name.
    pub target_name: String,
    /// The names given to views so far (`view_name`).
    names: RefCell<Names>,
}

/// Every view's name, given once: a generated name (`target-as-today`, `today-with-new1`) can
/// be one the state file already uses, or two generated ones can meet (hosts `a-b` and `a`,
/// `b`); the later one takes a number.
#[derive(Debug, Clone, Default)]
struct Names {
    by_key: HashMap<ViewKey, String>,
    taken: HashSet<String>,
}

/// At most this many hosts, today's and new ones together. Measured on the build machine,
/// 2026-12-06: three servers to 32 ran 240 s before it refused (25 000 states; 127 s at 8 000
/// with slower verdicts), three to 43 still ran after 400 s; nine replaced (18 hosts) is
/// proven in about 1 s.
pub const MAX_HOSTS: usize = 32;

/// At most this many sids may change hosts in one synthesis (they are bits of a `u32`).
pub const MAX_TAKEOVERS: usize = 32;

/// At most this many services (bits of a `u32` too).
pub const MAX_SERVICES: usize = 32;

/// Hosts restarted in place are tracked as bits of a `u64`.
pub const MAX_PENDING: usize = 64;

impl Problem {
    pub fn new(
        state: &State,
        target: &Target,
        leader: Option<&str>,
    ) -> Result<Problem, SynthError> {
        let ensemble = &state.ensemble;
        if ensemble.partitions.is_some() {
            return Err(SynthError::Unsupported(
                "the state has `partitions:`; synthesize plans orders without firewall cuts".into(),
            ));
        }
        let version = target.version.unwrap_or(ensemble.version);
        let ports = ensemble
            .nodes
            .first()
            .map_or((2888, 3888), |n| (n.addr.quorum_port, n.addr.election_port));
        let node_named = |name: &str| ensemble.nodes.iter().position(|n| n.name == name);
        let bad = |index: usize, message: String| SynthError::Target {
            list: "servers",
            index,
            message,
        };

        let mut hosts: Vec<Host> = ensemble
            .nodes
            .iter()
            .map(|n| Host {
                name: n.name.clone(),
                sid: n.sid,
                addr: n.addr.clone(),
                fate: Fate::Leaves,
                role: None,
                must_restart: false,
                listen_all: n.listen_all,
            })
            .collect();
        for wanted in &target.servers {
            let i = wanted.index;
            match node_named(&wanted.host) {
                Some(h) => {
                    let node = &ensemble.nodes[h];
                    if wanted.sid_of.is_some() {
                        return Err(bad(i, format!("`{}` runs today: `sid_of` is for a new host taking over another's id", wanted.host)));
                    }
                    if wanted.sid.is_some_and(|sid| sid != node.sid) {
                        return Err(bad(i, format!("`{}` runs with sid {} today: a server's id does not change in place; list a new host with `sid_of: {}`", wanted.host, node.sid, wanted.host)));
                    }
                    if wanted.addr.as_ref().is_some_and(|a| a != &node.addr) {
                        return Err(bad(i, format!("`{}` listens at {} today: a host keeps its address; list a new host with `sid_of: {}` to move the id", wanted.host, node.addr, wanted.host)));
                    }
                    let today = node.view.server(node.sid).map(|l| l.role);
                    hosts[h].fate = Fate::Stays;
                    hosts[h].role = Some(wanted.role.or(today).unwrap_or(PeerRole::Participant));
                    hosts[h].must_restart = wanted.restart && node.up;
                }
                None => {
                    if wanted.restart {
                        return Err(bad(i, format!("`{}` does not run today: `restart: true` is for a server replaced in place", wanted.host)));
                    }
                    let (sid, fate) = match (&wanted.sid_of, wanted.sid) {
                        (Some(old), _) => {
                            let o = node_named(old).ok_or_else(|| {
                                bad(i, format!("`sid_of: {old}`: the state has no node `{old}`"))
                            })?;
                            (ensemble.nodes[o].sid, Fate::Replaces(o))
                        }
                        (None, Some(sid)) => (sid, Fate::Joins),
                        (None, None) => {
                            return Err(bad(i, format!("`{}` is not a node of the state: give it `sid: N` (a new id) or `sid_of: HOST` (take over one)", wanted.host)))
                        }
                    };
                    // Without `addr:` the host's name is where it listens: it must be one a
                    // server line can give (not checked, it failed only once the emitted
                    // runbook was bound, naming a file never written).
                    let addr = match &wanted.addr {
                        Some(addr) => addr.clone(),
                        None => PeerAddr::parse(&format!("{}:{}:{}", wanted.host, ports.0, ports.1))
                            .map_err(|_| {
                                bad(i, format!("`{}` is no host name a server line can give (letters, digits, '.', '-', '_'): give the new host its `addr: HOST:PORT:PORT`", wanted.host))
                            })?,
                    };
                    if let Some(other) = hosts.iter().find(|h| h.addr == addr) {
                        return Err(bad(
                            i,
                            format!(
                                "`{}` would listen at {addr}, the address of `{}`",
                                wanted.host, other.name
                            ),
                        ));
                    }
                    hosts.push(Host {
                        name: wanted.host.clone(),
                        sid,
                        addr,
                        fate,
                        role: Some(wanted.role.unwrap_or(PeerRole::Participant)),
                        must_restart: false,
                        listen_all: Some(false),
                    });
                }
            }
        }
        // Every sid once at the end; a sid of today's servers only through its own host.
        let mut takeovers = Vec::new();
        for (n, host) in hosts.iter().enumerate() {
            let index = target
                .servers
                .iter()
                .find(|s| s.host == host.name)
                .map_or(0, |s| s.index);
            match host.fate {
                Fate::Replaces(old) => {
                    if hosts[old].fate != Fate::Leaves {
                        return Err(bad(
                            index,
                            format!(
                                "`{}` takes over `{}`'s id, but `{}` stays in the target",
                                host.name, hosts[old].name, hosts[old].name
                            ),
                        ));
                    }
                    if takeovers.iter().any(|t: &Takeover| t.old == old) {
                        return Err(bad(
                            index,
                            format!("two hosts take over `{}`'s id", hosts[old].name),
                        ));
                    }
                    takeovers.push(Takeover {
                        sid: host.sid,
                        old,
                        new: n,
                    });
                }
                Fate::Joins => {
                    if let Some(owner) = hosts
                        .iter()
                        .find(|h| h.sid == host.sid && h.name != host.name)
                    {
                        return Err(bad(index, format!("sid {} is `{}`'s: a new host takes it with `sid_of: {}`, once `{}` stops", host.sid, owner.name, owner.name, owner.name)));
                    }
                }
                Fate::Stays | Fate::Leaves => {}
            }
        }
        if hosts.iter().skip(MAX_PENDING).any(|h| h.must_restart) {
            return Err(SynthError::Unsupported(format!(
                "`restart: true` is for the first {MAX_PENDING} nodes of the state"
            )));
        }
        if hosts.len() > MAX_HOSTS {
            return Err(SynthError::Unsupported(format!(
                "the state and the target name {} hosts together; synthesize plans for at most {MAX_HOSTS} (each verdict weighs every running server, and a search past that size runs for many minutes)",
                hosts.len()
            )));
        }
        if takeovers.len() > MAX_TAKEOVERS {
            return Err(SynthError::Unsupported(format!(
                "{} ids change hosts; synthesize moves at most {MAX_TAKEOVERS} at once",
                takeovers.len()
            )));
        }
        if let Some(stay) = hosts.iter().find(|h| {
            h.fate == Fate::Stays && ensemble.nodes.iter().filter(|n| n.sid == h.sid).count() > 1
        }) {
            let second = ensemble
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.sid == stay.sid)
                .nth(1)
                .map_or(0, |(index, _)| index);
            return Err(SynthError::StateNode {
                index: second,
                field: "sid",
                message: format!(
                    "two nodes of the state have sid {}; settle that before synthesizing",
                    stay.sid
                ),
            });
        }

        let services = services(ensemble, target, &hosts, &takeovers)?;

        // Today's memberships: one per distinct view a node runs with (or would start with).
        let mut memberships: Vec<Membership> = Vec::new();
        let mut start = Vec::new();
        for (n, node) in ensemble.nodes.iter().enumerate() {
            let lines = node.view.servers().to_vec();
            let m = match memberships.iter().position(|m| m.lines == lines) {
                Some(m) => m,
                None => {
                    // A view the state gives inline gets a name no view of the state has.
                    let name = state.view_names[n].clone().unwrap_or_else(|| {
                        free_name("today", |name| {
                            state.view_names.iter().flatten().any(|given| given == name)
                                || memberships.iter().any(|m| m.name == name)
                        })
                    });
                    memberships.push(Membership { name, lines });
                    memberships.len() - 1
                }
            };
            start.push(node.up.then_some(ViewKey {
                membership: m,
                ..ViewKey::default()
            }));
        }
        let today_memberships = memberships.len();
        // The target's lines, sids taken over at their old host's address: the goal view moves
        // them all.
        let mut target_lines = Vec::new();
        for host in hosts.iter().filter(|h| h.fate != Fate::Leaves) {
            let addr = match host.fate {
                Fate::Replaces(old) => hosts[old].addr.clone(),
                _ => host.addr.clone(),
            };
            target_lines.push(ServerLine {
                sid: host.sid,
                addrs: vec![addr],
                role: host.role.unwrap_or(PeerRole::Participant),
                client: None,
            });
        }
        let target_view = View::new(target_lines, None)
            .map_err(|e| SynthError::Unsupported(format!("the target: {e}")))?;
        let target_name = if memberships.iter().any(|m| m.name == "target") {
            "target-view".to_string()
        } else {
            "target".to_string()
        };
        let goal_membership = match memberships
            .iter()
            .position(|m| m.lines == target_view.servers())
        {
            Some(m) => m,
            None => {
                memberships.push(Membership {
                    name: target_name.clone(),
                    lines: target_view.servers().to_vec(),
                });
                memberships.len() - 1
            }
        };
        // The joint membership: every server of today's views and of the target, the target's
        // line where both list a sid. Moving to servers that share no sid with today's needs
        // a view that holds both sides for a while (seed 002's observers do that by role).
        // Where today's views disagree about a sid's address, the line that gives its host's
        // own address is taken: one server's view alone does not choose what every joint view
        // writes for it.
        let mut joint: Vec<ServerLine> = target_view.servers().to_vec();
        let own = |line: &ServerLine| {
            hosts
                .iter()
                .any(|h| h.sid == line.sid && line.has_addr(&h.addr))
        };
        for line in memberships.iter().flat_map(|m| &m.lines) {
            match joint.iter().position(|l| l.sid == line.sid) {
                None => joint.push(line.clone()),
                Some(at) if at >= target_view.servers().len() && !own(&joint[at]) && own(line) => {
                    joint[at] = line.clone();
                }
                Some(_) => {}
            }
        }
        if let Ok(joint) = View::new(joint, None) {
            if !memberships.iter().any(|m| m.lines == joint.servers()) {
                memberships.push(Membership {
                    name: "joint".into(),
                    lines: joint.servers().to_vec(),
                });
            }
        }
        start.extend(hosts[ensemble.nodes.len()..].iter().map(|_| None));
        let mut problem = Problem {
            version,
            hosts,
            memberships,
            takeovers,
            services,
            start,
            goal: ViewKey {
                membership: goal_membership,
                ..ViewKey::default()
            },
            leader: None,
            today_memberships,
            target_name,
            names: RefCell::default(),
        };
        problem.goal.via = problem.all_via(goal_membership);
        problem.goal.moved = problem.all_moved(goal_membership) & !problem.served(problem.goal.via);
        problem.leader = match leader {
            None => None,
            Some(name) => Some(
                node_named(name)
                    .filter(|&l| ensemble.nodes[l].up)
                    .ok_or_else(|| {
                        SynthError::Unsupported(format!(
                            "--leader {name}: no running node of that name in the state"
                        ))
                    })?,
            ),
        };
        problem.name_fixed_views();
        Ok(problem)
    }

    /// The takeover bits that matter in membership `m`: sids it lists.
    pub fn all_moved(&self, m: usize) -> u32 {
        let listed = |sid: u64| self.memberships[m].lines.iter().any(|l| l.sid == sid);
        bits(self.takeovers.iter().map(|t| listed(t.sid)))
    }

    /// The service bits that matter in membership `m`: services of sids it lists.
    pub fn all_via(&self, m: usize) -> u32 {
        let listed = |sid: u64| self.memberships[m].lines.iter().any(|l| l.sid == sid);
        bits(self.services.iter().map(|s| listed(s.sid)))
    }

    /// The takeover bits of the sids that the services in `via` name.
    pub fn served(&self, via: u32) -> u32 {
        let named = |sid: u64| {
            (0..self.services.len()).any(|s| via & 1 << s != 0 && self.services[s].sid == sid)
        };
        bits(self.takeovers.iter().map(|t| named(t.sid)))
    }

    /// The service in front of `sid` that view `key` names it by, if it does.
    pub fn service_named(&self, key: ViewKey, sid: u64) -> Option<usize> {
        (0..self.services.len()).find(|&s| key.via & 1 << s != 0 && self.services[s].sid == sid)
    }

    /// The service in front of takeover `t`'s id, if any.
    pub fn service_of_takeover(&self, t: usize) -> Option<usize> {
        let sid = self.takeovers[t].sid;
        self.services.iter().position(|s| s.sid == sid)
    }

    /// The takeover of service `s`'s id, if its id moves.
    pub fn takeover_of_service(&self, s: usize) -> Option<usize> {
        let sid = self.services[s].sid;
        self.takeovers.iter().position(|t| t.sid == sid)
    }

    /// The name of the state node service `s` was made for: what the runbook names it by.
    pub fn service_name(&self, s: usize) -> &str {
        &self.hosts[self.services[s].serves].name
    }

    /// The index of service `s`'s slot in a state: after every host's.
    pub fn service_slot(&self, s: usize) -> usize {
        self.hosts.len() + s
    }

    /// The server lines of a view.
    pub fn view(&self, key: ViewKey) -> View {
        let lines = self.memberships[key.membership]
            .lines
            .iter()
            .map(|line| {
                let mut line = line.clone();
                if let Some(s) = self.service_named(key, line.sid) {
                    line.addrs = vec![self.services[s].addr.clone()];
                } else if let Some((_, t)) = self
                    .takeovers
                    .iter()
                    .enumerate()
                    .find(|(i, t)| t.sid == line.sid && key.moved & 1 << i != 0)
                {
                    line.addrs = vec![self.hosts[t.new].addr.clone()];
                }
                line
            })
            .collect();
        // The lines come from a valid view, one per sid.
        View::new(lines, None).unwrap_or_default()
    }

    /// The view's name in messages and runbooks: the state's own names and the goal's are
    /// given first (`name_fixed_views`), and no two views ever share one.
    pub fn view_name(&self, key: ViewKey) -> String {
        let mut names = self.names.borrow_mut();
        if let Some(name) = names.by_key.get(&key) {
            return name.clone();
        }
        let name = free_name(&self.natural_view_name(key), |name| {
            names.taken.contains(name)
        });
        names.taken.insert(name.clone());
        names.by_key.insert(key, name.clone());
        name
    }

    /// Today's views keep the names the state gives them, and the goal its own, whatever is
    /// named first.
    fn name_fixed_views(&self) {
        for membership in 0..self.today_memberships {
            self.view_name(ViewKey {
                membership,
                ..ViewKey::default()
            });
        }
        self.view_name(self.goal);
    }

    /// A readable name for a view: its membership's, which new hosts it lists, and whether it
    /// names ids by their services (two views can meet on one: `view_name` tells them apart).
    fn natural_view_name(&self, key: ViewKey) -> String {
        if key.via == 0 {
            return self.host_view_name(key);
        }
        if key == self.goal {
            return self.target_name.clone();
        }
        let plain = ViewKey { via: 0, ..key };
        format!("{}-via-services", self.host_view_name(plain))
    }

    fn host_view_name(&self, key: ViewKey) -> String {
        let base = &self.memberships[key.membership].name;
        let all = self.all_moved(key.membership);
        let made_here = key.membership >= self.today_memberships;
        if key.membership == self.goal.membership && key.moved == all && all != 0 {
            return if made_here {
                base.clone()
            } else {
                self.target_name.clone()
            };
        }
        if key.moved == 0 {
            return if made_here && all != 0 {
                format!("{base}-as-today")
            } else {
                base.clone()
            };
        }
        let with: Vec<&str> = self
            .takeovers
            .iter()
            .enumerate()
            .filter(|(i, _)| key.moved & 1 << i != 0)
            .map(|(_, t)| self.hosts[t.new].name.as_str())
            .collect();
        format!("{base}-with-{}", with.join("-"))
    }

    /// The addresses of the services that forward to host `h` in `slots`.
    pub fn aliases(&self, slots: &[Slot], h: usize) -> Vec<PeerAddr> {
        self.services
            .iter()
            .enumerate()
            .filter(|(s, _)| slots.get(self.service_slot(*s)) == Some(&Slot::To(h)))
            .map(|(_, service)| service.addr.clone())
            .collect()
    }

    /// The analyzer's input: every host, running with its view or down, behind the services
    /// that forward to it. A host on a view that names its own id by a service listens on
    /// every address: the runbook writes `quorumListenOnAllIPs=true` with that view, since no
    /// address of the host's own is the service's.
    pub fn ensemble(&self, slots: &[Slot], views: &mut ViewCache) -> Ensemble {
        self.ensemble_of(slots, views, false)
    }

    /// The ensemble of the running servers only: what the analyzer counts (a server that is
    /// down has no votes, links or learners), built without copying the views of the others.
    pub fn running(&self, slots: &[Slot], views: &mut ViewCache) -> Ensemble {
        self.ensemble_of(slots, views, true)
    }

    fn ensemble_of(&self, slots: &[Slot], views: &mut ViewCache, only_up: bool) -> Ensemble {
        let nodes = self
            .hosts
            .iter()
            .zip(slots)
            .enumerate()
            .filter(|(_, (_, slot))| !only_up || matches!(slot, Slot::Up(_)))
            .map(|(h, (host, slot))| {
                let (up, view, behind) = match slot {
                    Slot::Up(key) => (
                        true,
                        views.get(self, *key).clone(),
                        self.service_named(*key, host.sid).is_some(),
                    ),
                    _ => (false, View::default(), false),
                };
                Node {
                    name: host.name.clone(),
                    sid: host.sid,
                    addr: host.addr.clone(),
                    aliases: self.aliases(slots, h),
                    listen_all: if behind { Some(true) } else { host.listen_all },
                    up,
                    view,
                }
            })
            .collect();
        Ensemble {
            version: self.version,
            nodes,
            partitions: None,
        }
    }
}

/// `base`, or the first of `base-2`, `base-3`, … that `taken` does not hold: how views and
/// steps get names of their own.
pub fn free_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    std::iter::once(base.to_string())
        .chain((2..).map(|n| format!("{base}-{n}")))
        .find(|name| !taken(name))
        .unwrap_or_default()
}

/// A set of takeovers or services as bits: bit `i` for each `i`-th item that is in it.
fn bits(items: impl Iterator<Item = bool>) -> u32 {
    items
        .enumerate()
        .filter(|(_, is)| *is)
        .fold(0, |bits, (i, _)| bits | 1 << i)
}

/// What a host is doing in a state of the search; after the hosts, where each service
/// forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// Not running: not started yet, or down today. A service: not created yet.
    Off,
    /// Stopped for good (a host that leaves).
    Gone,
    Up(ViewKey),
    /// A service forwarding to this host.
    To(usize),
}

/// Views built once per key.
#[derive(Debug, Default)]
pub struct ViewCache(FastMap<ViewKey, View>);

impl ViewCache {
    pub fn get(&mut self, problem: &Problem, key: ViewKey) -> &View {
        self.0.entry(key).or_insert_with(|| problem.view(key))
    }
}

/// The target's services, checked against the state: each in front of a sid of the target, named
/// by a state node; where each forwards today is where the state file puts it (a node's
/// `services:`), and every service of the state must be one of the target's.
fn services(
    ensemble: &Ensemble,
    target: &Target,
    hosts: &[Host],
    takeovers: &[Takeover],
) -> Result<Vec<Service>, SynthError> {
    let bad = |index: usize, message: String| SynthError::Target {
        list: "services",
        index,
        message,
    };
    if target.services.len() > MAX_SERVICES {
        return Err(SynthError::Unsupported(format!(
            "{} services; synthesize models at most {MAX_SERVICES}",
            target.services.len()
        )));
    }
    let mut out = Vec::new();
    for wanted in &target.services {
        let i = wanted.index;
        let serves = ensemble
            .nodes
            .iter()
            .position(|n| n.name == wanted.serves)
            .ok_or_else(|| {
                bad(
                    i,
                    format!(
                        "`serves: {}`: the state has no node `{}`; a service is made for a server that runs today",
                        wanted.serves, wanted.serves
                    ),
                )
            })?;
        let end = match hosts[serves].fate {
            Fate::Stays => serves,
            _ => takeovers
                .iter()
                .find(|t| t.old == serves)
                .map(|t| t.new)
                .ok_or_else(|| {
                    bad(
                        i,
                        format!(
                            "`{}` leaves and no host takes its id over: its service would forward to nothing",
                            wanted.serves
                        ),
                    )
                })?,
        };
        if let Some(host) = hosts.iter().find(|h| h.addr.host == wanted.peer.host) {
            return Err(bad(
                i,
                format!(
                    "{} is `{}`'s own address: a service needs an address of its own",
                    wanted.peer.host, host.name
                ),
            ));
        }
        let start = ensemble
            .nodes
            .iter()
            .position(|n| n.aliases.contains(&wanted.peer));
        out.push(Service {
            sid: hosts[serves].sid,
            addr: wanted.peer.clone(),
            serves,
            start,
            end,
        });
    }
    for node in &ensemble.nodes {
        if let Some(alias) = node
            .aliases
            .iter()
            .find(|a| !out.iter().any(|s| s.addr == **a))
        {
            return Err(SynthError::TargetList {
                list: "services",
                message: format!(
                    "the state's node `{}` is behind the service {alias}, which `services` does not list: list it, in front of that id at the end",
                    node.name
                ),
            });
        }
    }
    Ok(out)
}
