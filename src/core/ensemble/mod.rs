//! The live ensemble as the poller sees it (pure): each node's last answers, its health, the
//! last config view it showed and when. Poll reports come in with every answer already read
//! once (`report`), and which routes each node answers by is learnt by the same rules the
//! poller's schedule uses (`routes`); the panels and the analyzer read it out. Time is passed in
//! as unix milliseconds, never read here.

pub mod live;
mod report;
mod routes;

pub use report::{
    answered, read_admin, restarted_between, started, Heard, PollFailure, PollReport, Reading, Said,
};
pub use routes::{AdminRoute, Routes, Support, ADMIN_PROBES};

use std::collections::VecDeque;

use crate::inventory::Inventory;
use crate::zk::admin::AdminCommand;
use crate::zk::config::{PeerAddr, View};
use crate::zk::fourlw::{Answer, Command, Conf, Mntr, Mode, Srvr};
use crate::zk::version::ZkVersion;
use crate::zk::zxid::{Zxid, ZxidLag};

/// Unix time in milliseconds.
pub type Millis = u64;

/// How many round trips the sparkline shows.
pub const HISTORY: usize = 30;

/// A node to poll, as the inventory or the command line names it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTarget {
    pub name: String,
    pub sid: Option<u64>,
    /// `host:port` of the client port, where four-letter words are asked.
    pub client: String,
    /// The node's real quorum/election address, when known (from the inventory).
    pub peer: Option<PeerAddr>,
    /// The view the inventory or runbook says the node was started with; used until the node
    /// shows its own.
    pub declared_view: Option<View>,
    /// `host:port` of its AdminServer: the inventory's `admin:`, else the client host on
    /// ZooKeeper's default `admin.serverPort` 8080, probed.
    pub admin: String,
}

/// ZooKeeper's default `admin.serverPort`.
pub const ADMIN_DEFAULT_PORT: u16 = 8080;

/// Where a node's AdminServer is looked for when the inventory does not say: its client host
/// on port 8080.
pub fn default_admin(client: &str) -> String {
    let host = client.rsplit_once(':').map_or(client, |(host, _)| host);
    format!("{host}:{ADMIN_DEFAULT_PORT}")
}

/// What to poll for every inventory host.
pub fn inventory_targets(inventory: &Inventory) -> Vec<NodeTarget> {
    inventory
        .hosts
        .iter()
        .map(|host| NodeTarget {
            name: host.name.clone(),
            sid: Some(host.sid),
            client: host.client.clone(),
            peer: host.peer_addr().ok(),
            declared_view: None,
            admin: host
                .admin
                .clone()
                .unwrap_or_else(|| default_admin(&host.client)),
        })
        .collect()
}

/// The inventory's services and the host (index into its hosts) each forwards to.
pub fn inventory_services(inventory: &Inventory) -> Vec<(PeerAddr, Option<usize>)> {
    inventory
        .services
        .iter()
        .filter_map(|service| {
            let to = service
                .to
                .as_deref()
                .and_then(|to| inventory.hosts.iter().position(|h| h.name == to));
            Some((service.peer_addr().ok()?, to))
        })
        .collect()
}

/// The route a figure came from, shown on the node's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A four-letter word on the client port.
    FourLw,
    /// The AdminServer's HTTP `/commands/...`.
    Admin,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::FourLw => "4lw",
            Source::Admin => "admin",
        }
    }
}

/// What a node is doing, as far as the last poll tells.
/// Serialised into the audit log's snapshots and read back by `replay`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Health {
    /// Not polled yet.
    Unknown,
    Serving(Mode),
    /// Up but without quorum: LOOKING, or an observer that lost its leader. It still answers
    /// `ruok` with `imok`, which is why `ruok` is never trusted.
    NotServing,
    /// The answer could not be read.
    Unparsable(String),
    Down(PollFailure),
}

impl Health {
    /// A running server process, whatever it is doing: it takes part in elections.
    pub fn is_up(&self) -> bool {
        matches!(
            self,
            Health::Serving(_) | Health::NotServing | Health::Unparsable(_)
        )
    }

    pub fn mode(&self) -> Option<Mode> {
        match self {
            Health::Serving(mode) => Some(*mode),
            _ => None,
        }
    }

    /// The role as the operator reads it, on the node cards and in replays.
    pub fn label(&self) -> &'static str {
        match self {
            Health::Unknown => "…",
            Health::Serving(Mode::Leader) => "LEADER",
            Health::Serving(Mode::Follower) => "follower",
            Health::Serving(Mode::Observer) => "observer",
            Health::Serving(Mode::Standalone) => "standalone",
            Health::Serving(Mode::ReadOnly) => "read-only",
            Health::NotServing => "LOOKING / not serving",
            Health::Unparsable(_) => "unreadable answer",
            Health::Down(PollFailure::Refused) => "DOWN (refused)",
            Health::Down(PollFailure::Timeout) => "DOWN (timeout)",
            Health::Down(PollFailure::Io(_)) => "DOWN",
        }
    }
}

/// What a gate or a wait needs of one node now, beyond its `srvr`: the poller asks these
/// every cycle while they are needed instead of every few cycles
/// (`runbook::engine::Engine::needs` decides, `poll::Demand` carries it to the poller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Need {
    /// Its `srvr` as answered now: a `fourlw` gate on `srvr` reads the text, which a node on a
    /// session is otherwise asked for only now and then.
    pub srvr: bool,
    /// Its `mntr` (or the AdminServer's): the sync gate reads the leader's synced followers.
    pub mntr: bool,
    /// Its view (`conf`, or the AdminServer's `voting_view`): a wait for a predicted view.
    pub conf: bool,
    /// Answers from after this moment are wanted: the leader's `mntr` from before a follower
    /// came back cannot show it synced, so its next cycle is brought forward.
    pub after: Millis,
}

impl Need {
    /// Whether `self` needs something `before` did not: the moment to ask at once.
    pub fn rose_from(self, before: Need) -> bool {
        (self.srvr && !before.srvr)
            || (self.mntr && !before.mntr)
            || (self.conf && !before.conf)
            || self.after > before.after
    }
}

/// Where a node's view came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewSource {
    /// The node's own `conf` answer (3.5+).
    Conf,
    /// The node's AdminServer (`/commands/voting_view`, 3.5+): its voters only, no observers;
    /// answered whatever the 4lw whitelist says.
    AdminVoters,
    /// The inventory or runbook, because the node never showed its own.
    Declared,
    /// The node's `zoo.cfg`, read over SSH because it never answered `conf` with a view (3.4
    /// prints none; a LOOKING node answers nothing). On disk, not necessarily what runs.
    ZooCfg,
}

/// How many transactions a follower may trail the leader's last seen zxid and still count as
/// caught up by zxid: the two answers are taken at different moments, so under writes they
/// never match exactly; a follower that fell behind for real trails by far more.
pub const ZXID_SYNC_SLACK: u32 = 1_000;

/// Consecutive polls a voter must show itself caught up by zxid for the sync gate.
pub const ZXID_SYNC_POLLS: u32 = 2;

/// How often a LOOKING node has its process id read over SSH.
pub const PID_EVERY_MS: Millis = 5_000;

/// The process id in a `status` verb's output: the number after `pid` (`zk1: running (pid
/// 1234)`, systemd's `Main PID: 1234 (java)`), or the whole output when it is one number
/// (`systemctl show -p MainPID --value zookeeper`). 0 is systemd's "not running".
pub fn process_id(status: &str) -> Option<u32> {
    let text = status.trim();
    if let Ok(pid) = text.parse::<u32>() {
        return Some(pid).filter(|p| *p != 0);
    }
    let lower = text.to_ascii_lowercase();
    let at = lower.find("pid")? + 3;
    let digits: String = lower
        .get(at..)?
        .trim_start_matches([':', ' ', '='])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|p| *p != 0)
}

/// How often a node whose view is still unknown has its `zoo.cfg` read again.
pub const ZOO_CFG_RETRY_MS: Millis = 60_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedView {
    pub view: View,
    pub source: ViewSource,
    /// When it was last confirmed; for a declared view, when it was declared.
    pub seen_at: Millis,
    /// The server runs dynamic reconfiguration (3.5+): a `conf` membership with a non-zero
    /// `version`, or a config naming a `dynamicConfigFile`. Such a server's view changes in
    /// place by `reconfig`, and a learner takes the leader's committed config when it syncs.
    pub dynamic: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeState {
    pub target: NodeTarget,
    pub health: Health,
    pub srvr: Option<Srvr>,
    pub mntr: Option<Mntr>,
    pub conf: Option<Conf>,
    pub view: Option<ObservedView>,
    pub last_poll_at: Option<Millis>,
    pub last_ok_at: Option<Millis>,
    /// When the server last started, as far as the polls tell: `srvr` answered after no answer,
    /// turned to serving after anything else, or its counters started again from zero (a restart faster than a poll,
    /// see [`restarted_between`]). A view seen before then may be one the server ran before a
    /// restart with a new config.
    pub started_at: Option<Millis>,
    pub round_trips: VecDeque<f64>,
    /// Which words the 4lw whitelist allows, and whether the AdminServer answers.
    pub routes: Routes,
    /// The id the server gives itself: `conf`'s `serverId`, or the AdminServer's `server_id`.
    pub server_id: Option<u64>,
    /// A client session is open on it (`PollReport::linked`), and the zxid its last ping read.
    pub linked: bool,
    pub beat: Option<Zxid>,
    /// Where the last `srvr` and `mntr` figures came from.
    pub srvr_source: Option<Source>,
    pub mntr_source: Option<Source>,
    /// The last error, in words, while it lasts.
    pub error: Option<String>,
    /// The last answer to each polled word, as received, for `fourlw` gates; a word that then
    /// fails (every word, once `srvr` does) has none.
    pub raw: Vec<(Command, String)>,
    /// Consecutive polls in which `srvr` alone showed this node caught up with the leader
    /// named here (node index) at its epoch; see [`EnsembleState::caught_up_by_zxid`].
    pub zxid_synced: (Option<(usize, u32)>, u32),
    /// The server's process id as its `status` verb last told over SSH, and when that was
    /// asked: read while the node is LOOKING, where `srvr` has no counters to tell a restart.
    pub pid: Option<u32>,
    pub pid_asked_at: Option<Millis>,
    /// When `zoo.cfg` was last asked for over SSH, and why that failed if it did.
    pub zoo_cfg_asked_at: Option<Millis>,
    pub zoo_cfg_error: Option<String>,
    /// Its `quorumListenOnAllIPs`, from the last `zoo.cfg` read over SSH; `None` until one is
    /// read (neither `conf` nor the AdminServer tells it).
    pub listen_all: Option<bool>,
}

impl NodeState {
    fn new(target: NodeTarget) -> NodeState {
        let view = target.declared_view.clone().map(|view| ObservedView {
            view,
            source: ViewSource::Declared,
            seen_at: 0,
            dynamic: false,
        });
        NodeState {
            target,
            health: Health::Unknown,
            srvr: None,
            mntr: None,
            conf: None,
            view,
            last_poll_at: None,
            last_ok_at: None,
            started_at: None,
            round_trips: VecDeque::with_capacity(HISTORY),
            linked: false,
            beat: None,
            routes: Routes::default(),
            server_id: None,
            srvr_source: None,
            mntr_source: None,
            error: None,
            raw: Vec::new(),
            zxid_synced: (None, 0),
            pid: None,
            pid_asked_at: None,
            zoo_cfg_asked_at: None,
            zoo_cfg_error: None,
            listen_all: None,
        }
    }

    /// A view from the node's `zoo.cfg`; a view the running server showed itself since it last
    /// started is never replaced by it, one from before its restart is.
    pub fn apply_zoo_cfg(&mut self, result: Result<String, String>, at: Millis) -> bool {
        if let Ok(text) = &result {
            self.listen_all = crate::zk::config::listen_on_all_ips(text);
        }
        if self
            .current_view()
            .is_some_and(|v| v.source != ViewSource::Declared && v.source != ViewSource::ZooCfg)
        {
            return false;
        }
        let dynamic = result.as_ref().is_ok_and(|text| {
            text.lines()
                .any(|line| line.trim_start().starts_with("dynamicConfigFile="))
        });
        let view = result.and_then(|text| {
            View::parse_lines(text.lines())
                .map_err(|e| format!("zoo.cfg: {e}"))
                .and_then(|view| {
                    if view.servers().is_empty() {
                        Err("zoo.cfg has no server lines (a dynamic config file?)".into())
                    } else {
                        Ok(view)
                    }
                })
        });
        match view {
            Ok(view) => {
                self.zoo_cfg_error = None;
                self.view = Some(ObservedView {
                    view,
                    source: ViewSource::ZooCfg,
                    seen_at: at,
                    dynamic,
                });
                true
            }
            Err(e) => {
                self.zoo_cfg_error = Some(e);
                false
            }
        }
    }

    /// The view the server runs now, as far as is known: a declared one, or one seen since the
    /// server last started ([`NodeState::started_at`]). This is the one rule for "current":
    /// the analyzer, the forecasts, the gates and a step's check of its predicted view all read
    /// it, so none of them uses a view older than the server's last start. The panels show the
    /// last one seen, marked as last known while it is not current.
    pub fn current_view(&self) -> Option<&ObservedView> {
        self.view.as_ref().filter(|v| {
            v.source == ViewSource::Declared
                || self.started_at.is_none_or(|since| v.seen_at >= since)
        })
    }

    /// The sid the node reports (`conf`, or the AdminServer's `configuration`), else the one
    /// the inventory gives.
    pub fn sid(&self) -> Option<u64> {
        self.server_id.or(self.target.sid)
    }

    /// The later of what `srvr` and the session's last ping read: both print the data tree's
    /// last processed zxid, and within one serving spell it only grows (a restart or a role
    /// change ends the session and clears the ping's).
    pub fn zxid(&self) -> Option<Zxid> {
        let srvr = self.srvr.as_ref().map(|s| s.zxid);
        srvr.max(self.beat).filter(|_| srvr.is_some())
    }

    pub fn version(&self) -> Option<ZkVersion> {
        self.srvr.as_ref().and_then(|s| s.version)
    }

    /// The last answer to a word, as received.
    pub fn raw_answer(&self, command: Command) -> Option<&str> {
        self.raw
            .iter()
            .find(|(c, _)| *c == command)
            .map(|(_, t)| t.as_str())
    }

    /// Milliseconds since the last good answer, if there ever was one.
    pub fn age(&self, now: Millis) -> Option<Millis> {
        self.last_ok_at.map(|at| now.saturating_sub(at))
    }

    fn apply(&mut self, report: &PollReport) -> bool {
        let before = self.signature();
        self.last_poll_at = Some(report.at);
        if let Some(rtt) = report.round_trip_ms {
            if self.round_trips.len() == HISTORY {
                self.round_trips.pop_front();
            }
            self.round_trips.push_back(rtt);
        }
        match &report.ping {
            Some(Ok(zxid)) => {
                self.beat = Some(*zxid);
                self.last_ok_at = Some(report.at);
            }
            Some(Err(_)) => self.beat = None,
            None => {}
        }
        self.linked = report.linked;
        for (command, result) in &report.answers {
            match result {
                Err(failure) => {
                    // A word that fails is no longer answered: a `fourlw` gate must not pass on
                    // what the server said before it stopped (none of them, once `srvr` fails).
                    self.raw.retain(|(c, _)| c != command);
                    if *command == Command::Srvr {
                        self.raw.clear();
                        self.health = Health::Down(failure.clone());
                        self.error = Some(describe_failure(failure));
                    }
                }
                Ok(said) => {
                    self.raw.retain(|(c, _)| c != command);
                    self.raw.push((*command, said.text.clone()));
                    self.routes.note_fourlw(*command, &said.reading);
                    self.apply_answer(*command, &said.reading, report.at);
                }
            }
        }
        self.routes.note_admin(&report.admin, report.srvr_failed());
        for (command, result) in &report.admin {
            if let Ok(reading) = result {
                self.apply_admin(*command, reading, report.at);
            }
        }
        before != self.signature()
    }

    fn apply_admin(&mut self, command: AdminCommand, reading: &Reading, at: Millis) {
        match reading {
            Reading::Srvr(Answer::Data(srvr)) => {
                self.apply_srvr_data(srvr.clone(), at, Source::Admin)
            }
            Reading::Srvr(Answer::NotServing) => self.apply_not_serving(at),
            Reading::Unreadable(why) if command == AdminCommand::Srvr => {
                self.unreadable(why.clone())
            }
            Reading::Mntr(Answer::Data(mntr)) => {
                self.mntr = Some(mntr.clone());
                self.mntr_source = Some(Source::Admin);
            }
            Reading::Voters(Answer::Data(view)) => {
                self.view = Some(ObservedView {
                    view: view.clone(),
                    source: ViewSource::AdminVoters,
                    seen_at: at,
                    dynamic: false,
                });
            }
            Reading::ServerId(Answer::Data(id)) => self.server_id = Some(*id),
            _ => {}
        }
    }

    /// What the server's last `srvr` said, for [`started`].
    fn heard(&self) -> Heard<'_> {
        match (&self.health, &self.srvr) {
            (Health::Serving(_), Some(srvr)) => Heard::Serving(srvr),
            (health, _) if health.is_up() => Heard::NotServing,
            _ => Heard::Nothing,
        }
    }

    fn apply_srvr_data(&mut self, srvr: Srvr, at: Millis, source: Source) {
        if started(self.heard(), Heard::Serving(&srvr)) {
            self.started(at);
            self.beat = None;
        }
        self.health = Health::Serving(srvr.mode);
        self.srvr = Some(srvr);
        self.srvr_source = Some(source);
        self.last_ok_at = Some(at);
        self.error = None;
    }

    fn apply_not_serving(&mut self, at: Millis) {
        if started(self.heard(), Heard::NotServing) {
            self.started(at);
        }
        self.health = Health::NotServing;
        self.error = None;
    }

    /// The server started at `at`: a follower's `mntr` says nothing of the leader it may have
    /// become, and an AdminServer silent while it restarted is asked again at once.
    fn started(&mut self, at: Millis) {
        self.started_at = Some(at);
        self.mntr = None;
        self.mntr_source = None;
        self.routes.started();
    }

    fn unreadable(&mut self, reason: String) {
        self.health = Health::Unparsable(reason.clone());
        self.error = Some(reason);
    }

    fn apply_answer(&mut self, command: Command, reading: &Reading, at: Millis) {
        match (command, reading) {
            (Command::Srvr, Reading::Srvr(Answer::Data(srvr))) => {
                self.apply_srvr_data(srvr.clone(), at, Source::FourLw)
            }
            (Command::Srvr, Reading::Srvr(Answer::NotServing)) => self.apply_not_serving(at),
            // `FourLetterCommands.isEnabled` always allows `srvr` (ZooKeeper itself uses it),
            // so only something that is not a plain ZooKeeper refuses it.
            (Command::Srvr, Reading::Srvr(Answer::NotWhitelisted)) => {
                self.unreadable("srvr refused by a 4lw whitelist".to_string())
            }
            (Command::Srvr, Reading::Srvr(other)) => {
                self.unreadable(format!("srvr answered {:?}", other.kind()))
            }
            (Command::Srvr, Reading::Unreadable(why)) => self.unreadable(why.clone()),
            (_, Reading::Mntr(Answer::Data(mntr))) => {
                self.mntr = Some(mntr.clone());
                self.mntr_source = Some(Source::FourLw);
            }
            (_, Reading::Conf(Answer::Data(conf))) => {
                if let Some(view) = conf.view() {
                    self.view = Some(ObservedView {
                        view: view.clone(),
                        source: ViewSource::Conf,
                        seen_at: at,
                        dynamic: view.version.is_some_and(|v| v != 0),
                    });
                }
                self.server_id = Some(conf.server_id());
                self.conf = Some(conf.clone());
            }
            _ => {}
        }
    }

    /// What makes a state change worth recording: role, epoch and view, not every counter.
    fn signature(&self) -> (Option<String>, Option<u32>, Option<String>) {
        (
            Some(format!("{:?}", self.health)),
            self.zxid().map(Zxid::epoch),
            self.view.as_ref().map(|v| v.view.to_string()),
        )
    }
}

fn describe_failure(failure: &PollFailure) -> String {
    match failure {
        PollFailure::Refused => "connection refused: no server listening".into(),
        PollFailure::Timeout => "no answer before the deadline".into(),
        PollFailure::Io(detail) => detail.clone(),
    }
}

/// Every polled node.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleState {
    pub nodes: Vec<NodeState>,
    /// Stable addresses in front of servers (Kubernetes ClusterIP services) and the node each
    /// forwards to now, as the inventory or the runbook's steps so far say: a view naming one
    /// reaches that node.
    pub services: Vec<(PeerAddr, Option<usize>)>,
}

impl EnsembleState {
    pub fn new(targets: Vec<NodeTarget>) -> EnsembleState {
        EnsembleState {
            nodes: targets.into_iter().map(NodeState::new).collect(),
            services: Vec::new(),
        }
    }

    /// Sets where a service forwards, adding it if it is new; true when that changed anything.
    pub fn route_service(&mut self, addr: &PeerAddr, to: Option<usize>) -> bool {
        match self.services.iter_mut().find(|(a, _)| a == addr) {
            Some((_, current)) if *current == to => false,
            Some((_, current)) => {
                *current = to;
                true
            }
            None => {
                self.services.push((addr.clone(), to));
                true
            }
        }
    }

    /// The service addresses that forward to node `index`.
    pub fn aliases_of(&self, index: usize) -> Vec<PeerAddr> {
        self.services
            .iter()
            .filter(|(_, to)| *to == Some(index))
            .map(|(addr, _)| addr.clone())
            .collect()
    }

    /// Applies one node's poll; true when its role, epoch or view changed.
    pub fn apply(&mut self, report: &PollReport) -> bool {
        let changed = self
            .nodes
            .get_mut(report.node)
            .is_some_and(|node| node.apply(report));
        let caught_up = self.caught_up_by_zxid(report.node);
        if let Some(node) = self.nodes.get_mut(report.node) {
            let (with, polls) = node.zxid_synced;
            node.zxid_synced = match caught_up {
                Some(leader) if with == Some(leader) => (with, polls.saturating_add(1)),
                Some(leader) => (Some(leader), 1),
                None => (None, 0),
            };
        }
        changed
    }

    /// The leader and epoch a serving node is caught up with, judged from `srvr` alone: on the
    /// current leader's epoch within [`ZXID_SYNC_SLACK`] transactions of its last seen zxid, or
    /// — while the leader has written nothing in its epoch (counter 0) — on an older epoch:
    /// measured on 3.8.0, a follower that did not restart keeps showing the previous epoch's
    /// last zxid until the next write reaches it (`0x100000000` beside a leader at
    /// `0x200000000`): `srvr` prints the data tree's last processed zxid
    /// (`ZooKeeperServer.getLastProcessedZxid`), and a follower that stayed up has no
    /// transaction of the new epoch to apply before the first write. A follower serves only
    /// after `Learner.syncWithLeader` ends, so a serving follower was synced once; holding the
    /// condition over consecutive polls is what makes it a gate, and it stays the weaker
    /// signal, named as such wherever it decides.
    pub fn caught_up_by_zxid(&self, index: usize) -> Option<(usize, u32)> {
        let leader = self.leader()?;
        let leader_zxid = self.nodes.get(leader)?.zxid()?;
        let node = self.nodes.get(index)?;
        let mode = node.health.mode()?;
        let caught_up = match mode {
            Mode::Leader => index == leader,
            Mode::Follower | Mode::Observer => match node.zxid()?.lag_behind(leader_zxid) {
                ZxidLag::Transactions(t) => t <= ZXID_SYNC_SLACK,
                // Polled after the leader, a busy follower can be ahead of its last seen zxid.
                ZxidLag::Ahead => node.zxid()?.epoch() == leader_zxid.epoch(),
                ZxidLag::OlderEpoch { .. } => leader_zxid.counter() == 0,
            },
            Mode::Standalone | Mode::ReadOnly => false,
        };
        caught_up.then_some((leader, leader_zxid.epoch()))
    }

    /// Whether the sync gate must decide by zxid: the leader's `mntr` is reachable by no
    /// route (the 4lw whitelist refuses it and no AdminServer answers: none was found, or it
    /// has been silent for a few cycles, `AdminRoute::gone`). While its AdminServer is still
    /// being probed, the gate waits for `mntr` instead.
    pub fn sync_by_zxid(&self) -> bool {
        self.leader()
            .and_then(|l| self.nodes.get(l))
            .is_some_and(|leader| {
                leader.mntr.is_none()
                    && leader.routes.mntr == Support::NotWhitelisted
                    && leader.routes.admin.gone()
            })
    }

    /// Whether node `index` has shown itself caught up by zxid with the current leader, at its
    /// current epoch, over [`ZXID_SYNC_POLLS`] consecutive polls.
    pub fn synced_by_zxid(&self, index: usize) -> bool {
        let Some(leader) = self.leader() else {
            return false;
        };
        let epoch = self.nodes[leader].zxid().map(Zxid::epoch);
        self.nodes.get(index).is_some_and(|node| {
            let (with, polls) = node.zxid_synced;
            with.is_some_and(|(l, e)| l == leader && Some(e) == epoch) && polls >= ZXID_SYNC_POLLS
        })
    }

    /// Nodes that have been polled, still show no view of their own, and whose `zoo.cfg` was
    /// not asked for recently; marks them asked.
    pub fn zoo_cfg_reads_due(&mut self, now: Millis) -> Vec<usize> {
        let mut due = Vec::new();
        for (index, node) in self.nodes.iter_mut().enumerate() {
            let unseen = node
                .current_view()
                .is_none_or(|v| v.source == ViewSource::Declared);
            // A read from before the server's last start says nothing about what runs now.
            let recently = node.zoo_cfg_asked_at.is_some_and(|at| {
                now.saturating_sub(at) < ZOO_CFG_RETRY_MS
                    && node.started_at.is_none_or(|started| at >= started)
            });
            if unseen && node.health.is_up() && !recently {
                node.zoo_cfg_asked_at = Some(now);
                due.push(index);
            }
        }
        due
    }

    /// LOOKING nodes whose process id was not read over SSH in the last [`PID_EVERY_MS`];
    /// marks them asked. A LOOKING server answers `srvr` with no counters, so only its process
    /// id tells a restart between two polls.
    pub fn pid_reads_due(&mut self, now: Millis) -> Vec<usize> {
        let mut due = Vec::new();
        for (index, node) in self.nodes.iter_mut().enumerate() {
            let recently = node
                .pid_asked_at
                .is_some_and(|at| now.saturating_sub(at) < PID_EVERY_MS);
            if node.health == Health::NotServing && !recently {
                node.pid_asked_at = Some(now);
                due.push(index);
            }
        }
        due
    }

    /// A process id read over SSH; a different one than before is a restart. True when it was.
    pub fn apply_pid(&mut self, node: usize, result: Result<String, String>, at: Millis) -> bool {
        let Some(node) = self.nodes.get_mut(node) else {
            return false;
        };
        let Some(pid) = result.ok().as_deref().and_then(process_id) else {
            return false;
        };
        let restarted = node.pid.is_some_and(|before| before != pid);
        node.pid = Some(pid);
        if restarted {
            node.started(at);
        }
        restarted
    }

    pub fn apply_zoo_cfg(
        &mut self,
        node: usize,
        result: Result<String, String>,
        at: Millis,
    ) -> bool {
        self.nodes
            .get_mut(node)
            .is_some_and(|n| n.apply_zoo_cfg(result, at))
    }

    /// What the audit log records of the ensemble: each node's identity, health, zxid and
    /// view — the parts whose change matters, not every counter (`replay` draws from it).
    pub fn snapshot(&self) -> serde_json::Value {
        let nodes: Vec<serde_json::Value> = self
            .nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "name": n.target.name,
                    "sid": n.sid(),
                    "client": n.target.client,
                    "health": n.health,
                    "zxid": n.zxid().map(|z| z.to_string()),
                    "view": n.view.as_ref().map(|v| v.view.to_string()),
                })
            })
            .collect();
        serde_json::json!({ "nodes": nodes })
    }

    /// The snapshot with the live verdict's findings in the words every surface uses
    /// (`quorum::findings`: severity and text), so `replay` shows for each recorded state what
    /// the live summary showed. Without a verdict (too little known yet) it has none.
    pub fn snapshot_with(&self, verdict: Option<&crate::quorum::Verdict>) -> serde_json::Value {
        let mut snapshot = self.snapshot();
        if let Some(verdict) = verdict {
            let name = |i: usize| {
                self.nodes
                    .get(i)
                    .map_or_else(|| "?".to_string(), |n| n.target.name.clone())
            };
            snapshot["findings"] =
                serde_json::json!(crate::quorum::findings::findings(verdict, &name));
        }
        snapshot
    }

    /// Every node that says it leads. More than one is not yet split brain: a leader cut off by
    /// a partition still says `leader` for its old epoch for a while, so compare epochs.
    pub fn leaders(&self) -> Vec<usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.health.mode() == Some(Mode::Leader))
            .map(|(i, _)| i)
            .collect()
    }

    /// The current leader: the one with the highest epoch among those that say they lead.
    pub fn leader(&self) -> Option<usize> {
        self.leaders()
            .into_iter()
            .max_by_key(|i| self.nodes[*i].zxid().map(Zxid::epoch))
    }

    /// Leaders that share the highest epoch: two of them mean two quorums committed at once.
    pub fn competing_leaders(&self) -> Vec<usize> {
        let Some(top) = self.leader().and_then(|l| self.nodes[l].zxid()) else {
            return Vec::new();
        };
        let same: Vec<usize> = self
            .leaders()
            .into_iter()
            .filter(|i| self.nodes[*i].zxid().map(Zxid::epoch) == Some(top.epoch()))
            .collect();
        if same.len() > 1 {
            same
        } else {
            Vec::new()
        }
    }

    /// How far a node trails the current leader.
    pub fn lag(&self, node: usize) -> Option<ZxidLag> {
        let leader = self.nodes.get(self.leader()?)?.zxid()?;
        let zxid = self.nodes.get(node)?.zxid()?;
        Some(zxid.lag_behind(leader))
    }

    /// The version the rules must follow: the oldest one seen, because an ensemble mid-upgrade
    /// behaves as its oldest member does for the connections that member makes.
    pub fn version(&self) -> Option<ZkVersion> {
        self.nodes.iter().filter_map(NodeState::version).min()
    }

    /// For each node, whether its view differs from the view most nodes hold.
    pub fn disagreeing_views(&self) -> Vec<bool> {
        let views: Vec<Option<&View>> = self
            .nodes
            .iter()
            .map(|n| n.view.as_ref().map(|v| &v.view))
            .collect();
        let majority = views
            .iter()
            .flatten()
            .max_by_key(|candidate| {
                views
                    .iter()
                    .flatten()
                    .filter(|v| v.same_membership(candidate))
                    .count()
            })
            .copied();
        views
            .iter()
            .map(|view| match (view, majority) {
                (Some(view), Some(majority)) => !view.same_membership(majority),
                _ => false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follower's `srvr` just before and just after a restart no poll saw (3.8.0).
    const RESTART_BEFORE: &str = zk4lw!("restart.before.srvr.txt");
    const RESTART_AFTER: &str = zk4lw!("restart.after.srvr.txt");

    /// One server's `conf` answer in 3.8's dynamic format.
    const CONF: &str = "serverId=1\nmembership: \nserver.1=a:2888:3888:participant\nversion=0";

    /// Node 0 answering `srvr` and `conf` at 1 000 ms: its view is known since.
    fn with_view(srvr: &str) -> EnsembleState {
        let mut state = EnsembleState::new(vec![target()]);
        state.apply(&at(
            1_000,
            vec![
                answered(Command::Srvr, Ok(srvr.into())),
                answered(Command::Conf, Ok(CONF.into())),
            ],
        ));
        state
    }

    /// One poll report of node 0 at `at`, 4lw answers only.
    fn at(at: Millis, answers: Vec<(Command, Result<Said, PollFailure>)>) -> PollReport {
        PollReport::fourlw(0, at, answers)
    }

    fn target() -> NodeTarget {
        NodeTarget {
            name: "zk1".into(),
            sid: Some(1),
            client: "127.0.0.2:2181".into(),
            peer: None,
            declared_view: None,
            admin: default_admin("127.0.0.2:2181"),
        }
    }

    fn report(answer: &str) -> PollReport {
        PollReport {
            node: 0,
            at: 1_000,
            answers: vec![answered(Command::Srvr, Ok(answer.to_string()))],
            ..PollReport::default()
        }
    }

    #[test]
    fn a_looking_node_without_a_view_gets_its_zoo_cfg_read_once_a_minute() {
        let mut state = EnsembleState::new(vec![target()]);
        assert!(state.zoo_cfg_reads_due(0).is_empty(), "not polled yet");
        state.apply(&report(
            "This ZooKeeper instance is not currently serving requests",
        ));
        assert_eq!(state.zoo_cfg_reads_due(1_000), [0]);
        assert!(state.zoo_cfg_reads_due(2_000).is_empty());
        assert!(state.apply_zoo_cfg(
            0,
            Ok("tickTime=2000\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n".into()),
            2_000
        ));
        let view = state.nodes[0].view.as_ref().unwrap();
        assert_eq!(view.source, ViewSource::ZooCfg);
        assert_eq!(view.view.participant_count(), 2);
        assert!(
            state.zoo_cfg_reads_due(90_000).is_empty(),
            "a view is known now"
        );
    }

    #[test]
    fn a_view_seen_before_a_restart_is_not_taken_for_the_current_one() {
        let follower = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt");
        let mut state = with_view(follower);
        assert!(state.nodes[0].current_view().is_some());
        state.apply(&at(
            2_000,
            vec![answered(Command::Srvr, Err(PollFailure::Refused))],
        ));
        state.apply(&at(
            3_000,
            vec![answered(Command::Srvr, Ok(follower.into()))],
        ));
        assert!(
            state.nodes[0].view.is_some(),
            "the panels keep the last one"
        );
        assert!(state.nodes[0].current_view().is_none(), "decisions do not");
        state.apply(&at(3_500, vec![answered(Command::Conf, Ok(CONF.into()))]));
        assert!(state.nodes[0].current_view().is_some());
    }

    /// The rule of `current_view`, for a restart no poll saw: same mode, same epoch, only the
    /// counters tell (measured on 3.8.0, see the fixtures).
    #[test]
    fn a_restart_between_two_polls_keeps_the_view_as_last_known_until_a_new_one() {
        let mut state = with_view(RESTART_BEFORE);
        state.apply(&at(
            2_000,
            vec![answered(Command::Srvr, Ok(RESTART_BEFORE.into()))],
        ));
        assert!(state.nodes[0].current_view().is_some(), "no restart yet");
        state.apply(&at(
            3_000,
            vec![answered(Command::Srvr, Ok(RESTART_AFTER.into()))],
        ));
        assert_eq!(state.nodes[0].started_at, Some(3_000));
        assert!(state.nodes[0].view.is_some(), "kept as last known");
        assert!(
            state.nodes[0].current_view().is_none(),
            "never forecast with"
        );
        state.apply(&at(3_100, vec![answered(Command::Conf, Ok(CONF.into()))]));
        assert!(state.nodes[0].current_view().is_some());
    }

    #[test]
    fn a_zoo_cfg_read_before_a_restart_is_read_again_at_once() {
        let mut state = EnsembleState::new(vec![target()]);
        state.apply(&report(RESTART_BEFORE));
        assert_eq!(state.zoo_cfg_reads_due(1_000), [0]);
        let cfg = "server.1=a:2888:3888\nserver.2=b:2888:3888\n";
        assert!(state.apply_zoo_cfg(0, Ok(cfg.into()), 1_100));
        assert!(state.zoo_cfg_reads_due(2_000).is_empty());
        let mut restarted = report(RESTART_AFTER);
        restarted.at = 2_500;
        state.apply(&restarted);
        assert!(state.nodes[0].current_view().is_none());
        assert_eq!(state.zoo_cfg_reads_due(2_600), [0], "not a minute later");
        assert!(state.apply_zoo_cfg(0, Ok(cfg.into()), 2_700));
        assert!(state.nodes[0].current_view().is_some());
    }

    fn admin(
        command: AdminCommand,
        status: u16,
        body: &str,
    ) -> (AdminCommand, Result<Reading, PollFailure>) {
        (command, Ok(read_admin(command, status, body)))
    }

    #[test]
    fn figures_from_the_admin_server_say_where_they_came_from() {
        let mut state = EnsembleState::new(vec![target()]);
        state.apply(&PollReport {
            at: 1_000,
            answers: vec![
                answered(
                    Command::Srvr,
                    Ok(include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt").into()),
                ),
                answered(
                    Command::Mntr,
                    Ok("mntr is not executed because it is not in the whitelist.\n".into()),
                ),
                answered(
                    Command::Conf,
                    Ok("conf is not executed because it is not in the whitelist.\n".into()),
                ),
            ],
            admin: vec![
                admin(
                    AdminCommand::Mntr,
                    200,
                    include_str!("../../../tests/fixtures/zk4lw/leader.admin.mntr.json"),
                ),
                admin(
                    AdminCommand::VotingView,
                    200,
                    include_str!("../../../tests/fixtures/zk4lw/follower.admin.voting_view.json"),
                ),
            ],
            ..PollReport::default()
        });
        let node = &state.nodes[0];
        assert_eq!(node.health, Health::Serving(Mode::Leader));
        assert_eq!(node.srvr_source, Some(Source::FourLw));
        assert_eq!(node.mntr_source, Some(Source::Admin));
        assert_eq!(node.routes.mntr, Support::NotWhitelisted);
        assert_eq!(node.routes.admin, AdminRoute::Answers);
        assert_eq!(node.mntr.as_ref().and_then(Mntr::synced_followers), Some(2));
        let view = node.current_view().unwrap();
        assert_eq!(view.source, ViewSource::AdminVoters);
        assert_eq!(view.view.participant_count(), 3);
    }

    /// A node whose client port does not answer (down, frozen, or TLS only) is down unless its
    /// AdminServer answers for it.
    #[test]
    fn the_admin_server_answers_for_a_node_whose_client_port_does_not() {
        let mut state = EnsembleState::new(vec![target()]);
        state.apply(&PollReport {
            at: 2_000,
            answers: vec![answered(Command::Srvr, Err(PollFailure::Timeout))],
            ..PollReport::default()
        });
        assert_eq!(state.nodes[0].health, Health::Down(PollFailure::Timeout));
        assert_eq!(state.nodes[0].health.mode(), None, "never healthy");
        state.apply(&PollReport {
            at: 3_000,
            answers: vec![answered(Command::Srvr, Err(PollFailure::Refused))],
            admin: vec![admin(
                AdminCommand::Srvr,
                200,
                include_str!("../../../tests/fixtures/zk4lw/follower.admin.srvr.json"),
            )],
            ..PollReport::default()
        });
        assert_eq!(state.nodes[0].health, Health::Serving(Mode::Follower));
        assert_eq!(state.nodes[0].srvr_source, Some(Source::Admin));
    }

    /// Two nodes answering `srvr` only: the leader at `leader_zxid`, the follower at
    /// `follower_zxid`, each polled `polls` times.
    fn srvr_only(leader_zxid: &str, follower_zxid: &str, polls: u64) -> EnsembleState {
        let with_zxid =
            |text: &str, zxid: &str| text.replace("Zxid: 0x10000000b", &format!("Zxid: {zxid}"));
        let leader = with_zxid(
            include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt"),
            leader_zxid,
        );
        let follower = with_zxid(
            include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt"),
            follower_zxid,
        );
        let mut state = EnsembleState::new(vec![target(), target()]);
        for poll in 0..polls {
            for (node, text) in [(0, &leader), (1, &follower)] {
                let refused = "mntr is not executed because it is not in the whitelist.\n";
                state.apply(&PollReport {
                    node,
                    at: 1_000 * (poll + 1),
                    answers: vec![
                        answered(Command::Srvr, Ok(text.clone())),
                        answered(Command::Mntr, Ok(refused.into())),
                    ],
                    admin: vec![(AdminCommand::Mntr, Err(PollFailure::Refused))],
                    ..PollReport::default()
                });
            }
        }
        state
    }

    /// Measured on 3.8.0 after the leader's restart: the new leader at 0x200000000, a follower
    /// that stayed up still at 0x100000000 until the first write.
    #[test]
    fn an_idle_follower_on_the_previous_epoch_is_caught_up_by_zxid_over_two_polls() {
        let once = srvr_only("0x200000000", "0x100000000", 1);
        assert!(once.sync_by_zxid());
        assert!(!once.synced_by_zxid(1), "one poll is not enough");
        let twice = srvr_only("0x200000000", "0x100000000", 2);
        assert!(twice.synced_by_zxid(1));
        assert!(twice.synced_by_zxid(0), "the leader itself");
    }

    #[test]
    fn a_follower_an_epoch_behind_a_leader_that_wrote_is_not_caught_up() {
        let state = srvr_only("0x200000005", "0x100000000", 3);
        assert!(!state.synced_by_zxid(1));
        let behind = srvr_only("0x200002000", "0x200000005", 3);
        assert!(
            !behind.synced_by_zxid(1),
            "thousands of transactions behind"
        );
        let close = srvr_only("0x200000010", "0x200000005", 3);
        assert!(close.synced_by_zxid(1));
    }

    /// Found on a 5 + 1 rolling restart: the new leader kept the mntr it had as a follower,
    /// and its AdminServer, refused while the server restarted, was taken for absent.
    #[test]
    fn a_restart_forgets_the_old_mntr_and_a_down_server_keeps_its_admin_server() {
        let mut state = EnsembleState::new(vec![target()]);
        state.apply(&PollReport {
            at: 1_000,
            answers: vec![answered(
                Command::Srvr,
                Ok(include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt").into()),
            )],
            admin: vec![admin(
                AdminCommand::Mntr,
                200,
                include_str!("../../../tests/fixtures/zk4lw/follower.admin.mntr.json"),
            )],
            ..PollReport::default()
        });
        assert!(state.nodes[0].mntr.is_some());
        state.apply(&PollReport {
            at: 2_000,
            answers: vec![answered(Command::Srvr, Err(PollFailure::Refused))],
            admin: vec![(AdminCommand::Mntr, Err(PollFailure::Refused))],
            ..PollReport::default()
        });
        assert_eq!(state.nodes[0].routes.admin, AdminRoute::Answers);
        state.apply(&PollReport {
            at: 3_000,
            answers: vec![answered(
                Command::Srvr,
                Ok(include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt").into()),
            )],
            ..PollReport::default()
        });
        assert!(
            state.nodes[0].mntr.is_none(),
            "not a follower's mntr for a leader"
        );
    }

    #[test]
    fn process_ids_are_read_from_the_usual_status_outputs() {
        assert_eq!(process_id("zk1: running (pid 4242)\n"), Some(4242));
        assert_eq!(process_id("   Main PID: 977 (java)\n"), Some(977));
        assert_eq!(process_id("1234\n"), Some(1234));
        assert_eq!(process_id("0\n"), None, "systemd: not running");
        assert_eq!(process_id("zk1: stopped\n"), None);
        assert_eq!(process_id("pid"), None);
    }

    /// Counters cannot tell a LOOKING server's restart (it answers `srvr` with none): its
    /// process id over SSH does.
    #[test]
    fn a_looking_server_restarted_between_polls_is_told_by_its_process_id() {
        let mut state = EnsembleState::new(vec![target()]);
        assert!(state.pid_reads_due(0).is_empty(), "not polled yet");
        let looking = "This ZooKeeper instance is not currently serving requests\n";
        state.apply(&report(looking));
        assert_eq!(state.pid_reads_due(1_000), [0]);
        assert!(state.pid_reads_due(2_000).is_empty());
        let started = state.nodes[0].started_at;
        assert!(!state.apply_pid(0, Ok("zk1: running (pid 10)\n".into()), 1_100));
        assert!(!state.apply_pid(0, Ok("zk1: running (pid 10)\n".into()), 6_100));
        assert_eq!(state.nodes[0].started_at, started);
        assert!(!state.apply_pid(0, Err("ssh: timeout".into()), 7_000));
        assert!(state.apply_pid(0, Ok("zk1: running (pid 11)\n".into()), 11_100));
        assert_eq!(state.nodes[0].started_at, Some(11_100));
        assert_eq!(state.pid_reads_due(6_000), [0]);
    }

    #[test]
    fn a_zoo_cfg_without_servers_is_an_error_not_an_empty_view() {
        let mut state = EnsembleState::new(vec![target()]);
        assert!(!state.apply_zoo_cfg(0, Ok("dynamicConfigFile=/etc/zk/dyn\n".into()), 5));
        assert!(state.nodes[0].view.is_none());
        assert!(state.nodes[0]
            .zoo_cfg_error
            .as_deref()
            .unwrap()
            .contains("no server lines"));
    }
}
