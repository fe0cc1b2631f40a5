//! Adapter: the poller. Every node has its own task, so a slow node never delays the others and
//! a cycle costs about one round trip however many nodes there are; a node's next cycle starts
//! only after its previous one ended, so cycles never overlap. Each figure is asked by
//! four-letter word first; what the 4lw whitelist refuses is asked of the AdminServer, if the
//! node has one (pure `due_admin`). `mntr` and the view are asked every few cycles, and in the
//! same cycle when the node's mode, epoch or process changed, and every cycle while a gate or a
//! wait needs them ([`Demand`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ensemble::restarted_between;
use crate::ensemble::{
    admin_support_after, AdminReply, Millis, Need, NodeTarget, PollFailure, PollReport, Support,
    MOVING_FOR, QUIET_EVERY,
};
use crate::net::ping::Link;
use crate::net::wire::{self, WireError};
use crate::zk::admin::{self, AdminCommand};
use crate::zk::fourlw::{self, Answer, Command, Srvr};

/// `mntr` is ~500 lines and `conf` rarely changes: every connection costs the server too, so
/// they are asked every few cycles while the node's mode and zxid are read every cycle.
const MNTR_EVERY: u64 = 5;
const CONF_EVERY: u64 = 30;
/// While the ensemble is calm (`Schedule::calm`) the leader's `mntr` is asked this rarely.
const MNTR_CALM_EVERY: u64 = 30;
/// A learner's `mntr` shows its peer state, which changes only with its role or epoch (then it
/// is asked at once, `mntr_due`); the sync figures are the leader's.
const MNTR_LEARNER_EVERY: u64 = 60;
/// With a session open, `srvr` is asked this rarely, for the card's latency and load figures
/// (every few dozen while calm): the session tells the mode (it closes when the mode changes)
/// and the zxid (each ping).
const SRVR_LINKED_EVERY: u64 = 10;
const SRVR_CALM_EVERY: u64 = 60;
/// A static view (no dynamic reconfig) changes only with a restart, which ends the session and
/// has the view asked at once: while calm it is confirmed this rarely.
const CONF_CALM_EVERY: u64 = 60;
/// A refused command is asked again this rarely, in case the whitelist was changed.
const REFUSED_RETRY_EVERY: u64 = 120;
/// The session timeout asked for. The server clamps it to its `minSessionTimeout` ..
/// `maxSessionTimeout` (2 and 20 ticks by default); a calm node is pinged well within it
/// ([`ping_gap`]).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// What a node's task remembers between cycles to decide what to ask.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    pub cycle: u64,
    /// Whether the 4lw whitelist allows `srvr`, `mntr` and `conf`.
    pub srvr: Support,
    /// The client port gave no `srvr` answer last cycle (down, frozen, or TLS only).
    pub srvr_failed: bool,
    pub mntr: Support,
    pub conf: Support,
    /// Whether an AdminServer answers (`NotWhitelisted`: nothing answers there), and the
    /// probes that timed out so far (`ensemble::admin_support_after`).
    pub admin: (Support, u32),
    /// The mode and epoch seen last: a change means a restart or an election, after which the
    /// node's view may have changed too.
    pub last_role: Option<String>,
    /// The last `srvr` answer, whose counters tell a restart faster than a poll.
    pub last_srvr: Option<Srvr>,
    /// The node restarted or changed mode or epoch since its view was last asked for.
    pub view_due: bool,
    /// The node serves in a new mode or epoch, or restarted, since its `mntr` was last read: a
    /// new leader's synced followers are what the sync gate waits for.
    pub mntr_due: bool,
    /// What a gate or a wait needs of this node now ([`Demand`]), read before each cycle.
    pub need: Need,
    pub has_view: bool,
    /// Its view has a non-zero config version: dynamic reconfig changes it in place.
    pub dynamic: bool,
    /// A client session is open on the node (`ping::Link`).
    pub linked: bool,
    /// Sessions opened and lost before their first good ping, in a row: a server that takes a
    /// session and drops it (client authentication required, a proxy) is not asked for a new
    /// one every cycle, since every session is a transaction.
    pub session_failures: u32,
    /// Cycles since a session was last asked for.
    pub since_open: u64,
    /// Cycles since the last ping, and the most a calm learner may go without one
    /// ([`ping_gap`], set when its session opens).
    pub since_ping: u64,
    pub quiet_gap: u64,
    /// A ping answered since the session opened.
    pub pinged_since_open: bool,
    /// The zxid last read of the node, by ping or `srvr`: a new one means a write.
    pub last_zxid: Option<crate::zk::zxid::Zxid>,
    /// The poller may ping a calm follower less often (`watch`; a run pings every cycle).
    pub calm_allowed: bool,
    /// Something moved in the ensemble lately (a zxid, a mode, a session), as any node's task
    /// saw it ([`Pace`]).
    pub moving: bool,
    /// The operator forbade client sessions ([`Sessions::Never`]): `srvr` every cycle.
    pub no_sessions: bool,
}

impl Schedule {
    fn leads(&self) -> bool {
        self.last_srvr
            .as_ref()
            .is_some_and(|s| s.mode == crate::zk::fourlw::Mode::Leader)
    }

    /// Nothing moves and nothing is needed: the cadence may relax.
    pub fn calm(&self) -> bool {
        self.calm_allowed && !self.moving && self.need == Need::default()
    }
}

/// Whether this cycle pings the node's session: every cycle, except for a calm learner, which
/// is pinged every [`QUIET_EVERY`] cycles. Its session still tells a change of mode the
/// moment it happens (the server closes it), and any write moves the leader's zxid first,
/// which the leader's ping every cycle sees and which ends the calm for every node.
pub fn ping_due(schedule: &Schedule) -> bool {
    if !schedule.linked {
        return false;
    }
    let relaxed = schedule.calm() && !schedule.leads();
    !relaxed || schedule.since_ping + 1 >= schedule.quiet_gap.max(1)
}

/// The longest a calm node goes between pings, in cycles of `interval`: [`QUIET_EVERY`], but
/// never more than half the session's timeout ([`keepalive`]).
pub fn ping_gap(interval: Duration, timeout: Duration) -> u64 {
    let cycles = keepalive(timeout).as_millis() / interval.as_millis().max(1);
    u64::try_from(cycles)
        .unwrap_or(u64::MAX)
        .clamp(1, QUIET_EVERY)
}

/// The longest a session goes without a ping: half its negotiated timeout. The server expires
/// a session only once no packet came for the whole timeout (`SessionTrackerImpl.touchSession`
/// → `ExpiryQueue.update`: the expiry moves to the tick after `now + timeout`; a follower
/// passes its touches to the leader with its next ping to it, within a tick), so half of it is
/// left for a ping's delay. ZooKeeper's own client pings after a third (`ClientCnxn`: half of
/// its read timeout, two thirds of the session's) because it also uses the pings to notice a
/// dead server, which the session's closing tells here.
pub fn keepalive(timeout: Duration) -> Duration {
    timeout / 2
}

/// Whether to ask for a session this cycle: sessions are allowed, the node serves (its `srvr`
/// just said so) and has none; after failures, only every 1, 2, 4 … cycles, at most [`REFUSED_RETRY_EVERY`].
pub fn open_due(schedule: &Schedule) -> bool {
    let serving = !schedule.srvr_failed
        && schedule.last_srvr.is_some()
        && schedule.srvr != Support::NotWhitelisted;
    let wait = (1u64 << schedule.session_failures.min(16)).min(REFUSED_RETRY_EVERY);
    !schedule.no_sessions
        && !schedule.linked
        && serving
        && (schedule.session_failures == 0 || schedule.since_open >= wait)
}

/// How often `mntr` is asked: the leader's (the sync figures) every [`MNTR_EVERY`] cycles, or
/// [`MNTR_CALM_EVERY`] while calm; a learner's rarely.
fn mntr_every(schedule: &Schedule) -> u64 {
    match (schedule.leads(), schedule.calm()) {
        (true, false) => MNTR_EVERY,
        (true, true) => MNTR_CALM_EVERY,
        (false, _) => MNTR_LEARNER_EVERY,
    }
}

/// The commands due this cycle, `srvr` first when it is due.
pub fn due(schedule: &Schedule) -> Vec<Command> {
    let mut commands = Vec::new();
    let srvr_every = if schedule.calm() {
        SRVR_CALM_EVERY
    } else {
        SRVR_LINKED_EVERY
    };
    if !schedule.linked || schedule.need.srvr || schedule.cycle.is_multiple_of(srvr_every) {
        commands.push(Command::Srvr);
    }
    let every = |support: Support, period: u64| match support {
        Support::NotWhitelisted => schedule.cycle.is_multiple_of(REFUSED_RETRY_EVERY),
        Support::Unknown => true,
        Support::Allowed => schedule.cycle.is_multiple_of(period),
    };
    let mntr_now = schedule.mntr == Support::Allowed && (schedule.mntr_due || schedule.need.mntr);
    if mntr_now || every(schedule.mntr, mntr_every(schedule)) {
        commands.push(Command::Mntr);
    }
    let conf_now = schedule.conf == Support::Allowed
        && (schedule.view_due || !schedule.has_view || schedule.need.conf);
    // A `reconfig` is committed like a write (`QuorumPeer.processReconfig`): no restart, mode or
    // epoch change tells it, so a dynamic view is asked as often as `mntr`.
    let conf_every = match (schedule.dynamic, schedule.linked && schedule.calm()) {
        (true, _) => MNTR_EVERY,
        (false, false) => CONF_EVERY,
        (false, true) => CONF_CALM_EVERY,
    };
    if conf_now || every(schedule.conf, conf_every) {
        commands.push(Command::Conf);
    }
    commands
}

/// What to ask the AdminServer this cycle: exactly what the 4lw whitelist refused, as often
/// as the 4lw word would be asked, and at once after a restart or a role change or while a gate
/// or a wait needs it. Nothing while no AdminServer was found, except a rare probe.
pub fn due_admin(schedule: &Schedule) -> Vec<AdminCommand> {
    // A client port that does not answer leaves the AdminServer as the only route, but only
    // one known to answer is asked: a dead host is not probed twice per cycle.
    if schedule.srvr_failed && schedule.admin.0 != Support::Allowed {
        return Vec::new();
    }
    let refused = |support: Support| support == Support::NotWhitelisted || schedule.srvr_failed;
    let probing = schedule.admin.0 == Support::Unknown;
    if schedule.admin.0 == Support::NotWhitelisted
        && !schedule.cycle.is_multiple_of(REFUSED_RETRY_EVERY)
    {
        return Vec::new();
    }
    let mut commands = Vec::new();
    if refused(schedule.srvr) {
        commands.push(AdminCommand::Srvr);
    }
    let mntr_now = probing || schedule.mntr_due || schedule.need.mntr;
    if refused(schedule.mntr) && (mntr_now || schedule.cycle.is_multiple_of(mntr_every(schedule))) {
        commands.push(AdminCommand::Mntr);
    }
    let view_now = schedule.view_due || !schedule.has_view || probing || schedule.need.conf;
    if refused(schedule.conf) && (view_now || schedule.cycle.is_multiple_of(CONF_EVERY)) {
        commands.push(AdminCommand::VotingView);
    }
    commands
}

/// How long to wait before the next cycle after `failures` failed cycles in a row: the interval
/// while the node answers, then doubling, never more than eight intervals or 30 s, so a dead
/// host is not hammered and a recovered one is seen again soon.
pub fn next_delay(interval: Duration, failures: u32) -> Duration {
    let cap = (interval * 8).min(Duration::from_secs(30)).max(interval);
    let factor = 1u32 << failures.min(16);
    interval.saturating_mul(factor).min(cap)
}

/// The delay before a node's next cycle: [`next_delay`], except for a node a gate or a wait
/// needs, which is expected back (a restart's wait) and asked every interval however long it
/// has been silent. Measured with `scripts/bench-run` (3-node sandbox, 1 s): from a restart
/// command's end to its server seen serving took 0.9–1.1 s with the backoff the restart had
/// started, 20–40 ms without (the server was already back).
pub fn delay(interval: Duration, failures: u32, need: Need) -> Duration {
    if need == Need::default() {
        next_delay(interval, failures)
    } else {
        interval
    }
}

/// How long one question may take: long enough for a loaded server, short enough that a dead
/// one does not hold up its own node's next cycle for long.
pub fn request_timeout(interval: Duration) -> Duration {
    interval.clamp(Duration::from_millis(500), Duration::from_secs(3))
}

/// The soonest a cycle follows the previous one when a new need asks for it early: a need that
/// comes and goes with every update cannot make the poller hammer a server.
pub fn demand_gap(interval: Duration) -> Duration {
    interval / 4
}

/// What the run loop tells the poller a node must be asked now ([`Need`], from
/// `Engine::needs`). Setting a node's need to one it lacked starts that node's next cycle
/// early, at most [`demand_gap`] after its last; dropping the handle leaves the last needs set.
#[derive(Debug)]
pub struct Demand {
    nodes: Vec<watch::Sender<Need>>,
}

impl Demand {
    /// Sets what node `node` (index into the polled targets) is needed for; unknown indices
    /// are ignored.
    pub fn set(&self, node: usize, need: Need) {
        if let Some(sender) = self.nodes.get(node) {
            sender.send_if_modified(|current| std::mem::replace(current, need) != need);
        }
    }
}

/// How the poller paces a node whose session is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Every node every interval: a run's gates and waits read every node.
    Steady,
    /// A learner is pinged every few intervals while nothing moves (`watch`): its session
    /// still tells a change of mode at once, and the leader, pinged every interval, the first
    /// write.
    Relaxed,
}

/// Whether the poller keeps a client session on every serving node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    Kept,
    /// Four-letter words only (`--no-sessions`), for ensembles where a tool must not create
    /// sessions, each a transaction: `srvr` every interval, and a change of mode seen at the
    /// next poll rather than the moment the server leaves its role.
    Never,
}

/// Starts one polling task per target; reports arrive on the returned channel until the poller
/// is stopped ([`Poller::stop`]) or the receiver is dropped.
pub fn spawn(
    targets: &[NodeTarget],
    interval: Duration,
    cadence: Cadence,
    sessions: Sessions,
) -> (mpsc::Receiver<PollReport>, Poller) {
    let (reports, poller, _) = spawn_with_demand(targets, interval, cadence, sessions);
    (reports, poller)
}

/// [`spawn`], and the handle that tells the poller what gates and waits need ([`Demand`]).
pub fn spawn_with_demand(
    targets: &[NodeTarget],
    interval: Duration,
    cadence: Cadence,
    sessions: Sessions,
) -> (mpsc::Receiver<PollReport>, Poller, Demand) {
    let (tx, rx) = mpsc::channel(targets.len().max(1) * 4);
    let (stop, stopped) = watch::channel(false);
    let mut senders = Vec::with_capacity(targets.len());
    let pace = Pace {
        origin: tokio::time::Instant::now(),
        interval,
        cadence,
        sessions,
        last_move: Arc::new(AtomicU64::new(unix_millis())),
    };
    let tasks = targets
        .iter()
        .enumerate()
        .map(|(node, target)| {
            let (sender, demand) = watch::channel(Need::default());
            senders.push(sender);
            tokio::spawn(poll_node(
                node,
                target.clone(),
                pace.clone(),
                tx.clone(),
                demand,
                stopped.clone(),
            ))
        })
        .collect();
    (rx, Poller { tasks, stop }, Demand { nodes: senders })
}

/// The most [`Poller::stop`] waits for the sessions' closes: a close is committed by the
/// quorum (a few milliseconds on the sandbox), and an ensemble without one never answers.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(1);

/// The running node tasks of one poller.
#[derive(Debug)]
pub struct Poller {
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Poller {
    /// Stops every node task and ends the sessions they hold ([`Link::close`]), so that none
    /// is left on the servers to expire later: a console that quit leaves no trace in `cons`
    /// and costs the ensemble no transaction after it is gone. Waits at most [`CLOSE_WITHIN`].
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        let deadline = tokio::time::Instant::now() + CLOSE_WITHIN;
        for task in &mut self.tasks {
            // A task past the deadline is aborted below; its session expires on the server.
            let _ = tokio::time::timeout_at(deadline, task).await;
        }
        for task in self.tasks {
            task.abort();
        }
    }
}

/// What the node tasks of one poller share: the moment of the last movement any of them saw,
/// and a common origin, so that every node's cycle falls on the same beat of the interval and
/// the console draws their news once per interval, not once per node.
#[derive(Debug, Clone)]
struct Pace {
    origin: tokio::time::Instant,
    interval: Duration,
    cadence: Cadence,
    sessions: Sessions,
    last_move: Arc<AtomicU64>,
}

impl Pace {
    fn moved(&self) {
        self.last_move.fetch_max(unix_millis(), Ordering::Relaxed);
    }

    fn moving(&self) -> bool {
        let since = unix_millis().saturating_sub(self.last_move.load(Ordering::Relaxed));
        u128::from(since) < self.interval.as_millis() * u128::from(MOVING_FOR)
    }

    /// The beat nearest to `target`.
    fn beat(&self, target: tokio::time::Instant) -> tokio::time::Instant {
        let step = self.interval.as_nanos().max(1);
        let offset = target.saturating_duration_since(self.origin).as_nanos();
        let beats = (offset + step / 2) / step;
        let nanos = u64::try_from(beats * step).unwrap_or(u64::MAX);
        self.origin + Duration::from_nanos(nanos)
    }
}

/// Waits for the next cycle: until `due`, or — when the demand rises above what the last cycle
/// was asked with (`asked`) — until `earliest`, whichever is sooner. Without a demand handle
/// left the cadence is plain.
async fn until_next_cycle(
    due: tokio::time::Instant,
    earliest: tokio::time::Instant,
    asked: Need,
    demand: &mut watch::Receiver<Need>,
) {
    let sleep = tokio::time::sleep_until(due);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return,
            changed = demand.changed() => {
                if changed.is_err() {
                    sleep.await;
                    return;
                }
                if demand.borrow_and_update().rose_from(asked) {
                    tokio::time::sleep_until(earliest.min(due)).await;
                    return;
                }
            }
        }
    }
}

/// A node's task: cycles until the poller stops (or is dropped) or nobody reads its reports,
/// then ends the session it holds.
async fn poll_node(
    node: usize,
    target: NodeTarget,
    pace: Pace,
    reports: mpsc::Sender<PollReport>,
    demand: watch::Receiver<Need>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut link: Option<Link> = None;
    tokio::select! {
        _ = cycles(node, &target, &pace, &reports, demand, &mut link) => {}
        _ = stopped.wait_for(|stop| *stop) => {}
    }
    if let Some(open) = link {
        // Not closed in time: the session expires on the server, as a dropped one would.
        let _ = open.close(CLOSE_WITHIN).await;
    }
}

async fn cycles(
    node: usize,
    target: &NodeTarget,
    pace: &Pace,
    reports: &mpsc::Sender<PollReport>,
    mut demand: watch::Receiver<Need>,
    link: &mut Option<Link>,
) {
    let interval = pace.interval;
    let mut schedule = Schedule {
        calm_allowed: pace.cadence == Cadence::Relaxed,
        no_sessions: pace.sessions == Sessions::Never,
        quiet_gap: QUIET_EVERY,
        ..Schedule::default()
    };
    let mut lost: Option<PollFailure> = None;
    let mut failures = 0u32;
    let mut last_contact = tokio::time::Instant::now();
    loop {
        let started = tokio::time::Instant::now();
        schedule.need = *demand.borrow_and_update();
        schedule.moving = pace.moving();
        let (report, moved) = cycle(node, target, &mut schedule, link, lost.take(), interval).await;
        if moved {
            pace.moved();
        }
        if let Some(report) = report {
            // Down on every route: the AdminServer answering for a silent client port is an
            // answer.
            let srvr_failed = matches!(report.answers.first(), Some((_, Err(_))))
                && !report
                    .admin
                    .iter()
                    .any(|(c, r)| *c == AdminCommand::Srvr && r.is_ok());
            failures = if srvr_failed {
                failures.saturating_add(1)
            } else {
                0
            };
            if reports.send(report).await.is_err() {
                return;
            }
        }
        schedule.cycle += 1;
        if schedule.since_ping == 0 {
            last_contact = tokio::time::Instant::now();
        }
        let due = pace.beat(started + delay(interval, failures, schedule.need));
        let earliest = started + demand_gap(interval);
        loop {
            // An interval longer than half the session's timeout would let it expire.
            let keepalive = link.as_ref().map(|l| last_contact + keepalive(l.timeout));
            let wake = tokio::select! {
                _ = until_next_cycle(due, earliest, schedule.need, &mut demand) => Wake::Cycle,
                error = closed(link) => Wake::Closed(error),
                _ = sleep_until(keepalive) => Wake::KeepAlive,
            };
            let error = match wake {
                Wake::Cycle => break,
                Wake::Closed(error) => error,
                Wake::KeepAlive => {
                    let Some(open) = link.as_mut() else { break };
                    let at = unix_millis();
                    match open.ping(request_timeout(interval)).await {
                        Ok(zxid) => {
                            last_contact = tokio::time::Instant::now();
                            schedule.since_ping = 0;
                            schedule.pinged_since_open = true;
                            if schedule.last_zxid.is_some_and(|last| last != zxid) {
                                pace.moved();
                            }
                            schedule.last_zxid = Some(zxid);
                            let report = PollReport {
                                node,
                                at,
                                ping: Some(Ok(zxid)),
                                linked: true,
                                ..PollReport::default()
                            };
                            if reports.send(report).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        Err(error) => error,
                    }
                }
            };
            // The server left its role or stopped: asked again at once.
            *link = None;
            lost = Some(to_failure(error));
            pace.moved();
            break;
        }
    }
}

/// What ends a node's wait between cycles.
enum Wake {
    Cycle,
    Closed(WireError),
    KeepAlive,
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn closed(link: &mut Option<Link>) -> WireError {
    match link {
        Some(link) => link.closed().await,
        None => std::future::pending().await,
    }
}

/// One cycle of a node: its session's news (`lost`, or a ping when due), the four-letter words
/// and AdminServer questions due, and a session opened if the node serves without one. The
/// report is `None` when nothing was due; the flag says whether the ensemble moved (a new
/// zxid from a ping, a session lost, a new mode or epoch).
async fn cycle(
    node: usize,
    target: &NodeTarget,
    schedule: &mut Schedule,
    link: &mut Option<Link>,
    lost: Option<PollFailure>,
    interval: Duration,
) -> (Option<PollReport>, bool) {
    let timeout = request_timeout(interval);
    let at = unix_millis();
    let mut ping = lost.map(Err);
    schedule.linked = link.is_some();
    if let Some(open) = link.as_mut().filter(|_| ping_due(schedule)) {
        match open.ping(timeout).await {
            Ok(zxid) => {
                ping = Some(Ok(zxid));
                schedule.since_ping = 0;
                schedule.pinged_since_open = true;
                schedule.session_failures = 0;
            }
            Err(error) => {
                ping = Some(Err(to_failure(error)));
                *link = None;
            }
        }
    } else {
        schedule.since_ping = schedule.since_ping.saturating_add(1);
    }
    let mut moved = false;
    if matches!(ping, Some(Err(_))) {
        moved = true;
        if !schedule.pinged_since_open {
            // Lost before its first good ping: this server does not keep our sessions.
            schedule.session_failures = schedule.session_failures.saturating_add(1);
        }
    }
    schedule.linked = link.is_some();
    let role_before = schedule.last_role.clone();
    let mut report = poll_once(node, &target.client, &target.admin, schedule, timeout).await;
    moved |= schedule.last_role != role_before;
    schedule.since_open = schedule.since_open.saturating_add(1);
    if open_due(schedule) {
        schedule.since_open = 0;
        schedule.pinged_since_open = false;
        match Link::open(&target.client, SESSION_TIMEOUT, timeout).await {
            Ok(opened) => {
                schedule.quiet_gap = ping_gap(interval, opened.timeout);
                schedule.since_ping = 0;
                *link = Some(opened);
            }
            Err(_) => schedule.session_failures = schedule.session_failures.saturating_add(1),
        }
    }
    schedule.linked = link.is_some();
    // The zxid read this cycle, `srvr`'s being the later when both were asked.
    let srvr_answered = report
        .answers
        .iter()
        .any(|(c, r)| *c == Command::Srvr && r.is_ok());
    let read = match (&ping, srvr_answered) {
        (_, true) => schedule.last_srvr.as_ref().map(|s| s.zxid),
        (Some(Ok(zxid)), false) => Some(*zxid),
        _ => None,
    };
    if let Some(zxid) = read {
        moved |= schedule.last_zxid.is_some_and(|last| last != zxid);
        schedule.last_zxid = Some(zxid);
    }
    let asked = !report.answers.is_empty() || !report.admin.is_empty() || ping.is_some();
    report.at = at;
    report.ping = ping;
    report.linked = schedule.linked;
    (asked.then_some(report), moved)
}

/// Asks the due commands one after another (the same node is never asked twice at once) and
/// updates the schedule from what came back. `admin` is the node's AdminServer `host:port`.
/// With a session open (`schedule.linked`) `srvr` is asked only now and then ([`due`]).
pub async fn poll_once(
    node: usize,
    client: &str,
    admin_addr: &str,
    schedule: &mut Schedule,
    timeout: Duration,
) -> PollReport {
    let at = unix_millis();
    let due_now = due(schedule);
    let mut answers = Vec::new();
    let mut round_trip_ms = None;
    if due_now.first() == Some(&Command::Srvr) {
        let sent = Instant::now();
        let srvr = wire::ask(client, Command::Srvr.as_str(), timeout)
            .await
            .map_err(to_failure);
        round_trip_ms = Some(sent.elapsed().as_secs_f64() * 1000.0);
        answers.push((Command::Srvr, srvr));
        learn(schedule, &answers);
    }
    // A node that does not answer srvr will not answer the rest either. The rest is decided
    // after srvr, so a restart or role change it shows has the view asked in the same cycle.
    let srvr_failed = matches!(answers.first(), Some((_, Err(_))));
    if !srvr_failed {
        let mut rest = Vec::new();
        for command in due(schedule).into_iter().filter(|c| *c != Command::Srvr) {
            let result = wire::ask(client, command.as_str(), timeout)
                .await
                .map_err(to_failure);
            rest.push((command, result));
        }
        learn(schedule, &rest);
        answers.extend(rest);
    }
    let mut admin_answers = Vec::new();
    for command in due_admin(schedule) {
        let result = wire::http_get(admin_addr, command.path(), timeout)
            .await
            .map(|answer| AdminReply {
                status: answer.status,
                body: answer.body,
            })
            .map_err(to_failure);
        admin_answers.push((command, result));
    }
    learn_admin(schedule, &admin_answers, srvr_failed);
    PollReport {
        node,
        at,
        round_trip_ms,
        answers,
        admin: admin_answers,
        ping: None,
        linked: schedule.linked,
    }
}

/// `down`: the client port did not answer either, so a failed HTTP question says the server
/// is down, not that it has no AdminServer.
fn learn_admin(
    schedule: &mut Schedule,
    answers: &[(AdminCommand, Result<AdminReply, PollFailure>)],
    down: bool,
) {
    for (command, result) in answers {
        if !(down && result.is_err()) {
            schedule.admin = admin_support_after(schedule.admin, result.as_ref().map(|_| ()));
        }
        let Ok(reply) = result else {
            continue;
        };
        match command {
            AdminCommand::Srvr => {
                if let Ok(Answer::Data(srvr)) = admin::parse_srvr(reply.status, &reply.body) {
                    learn_srvr(schedule, srvr);
                }
            }
            AdminCommand::VotingView => {
                if let Ok(Answer::Data(_)) = admin::parse_voting_view(reply.status, &reply.body) {
                    schedule.has_view = true;
                    schedule.view_due = false;
                }
            }
            AdminCommand::Mntr => {
                if let Ok(Answer::Data(_)) = admin::parse_mntr(reply.status, &reply.body) {
                    schedule.mntr_due = false;
                }
            }
        }
    }
}

/// Notes a restart or a change of mode or epoch: the view is due until it is read again.
fn learn_srvr(schedule: &mut Schedule, srvr: Srvr) {
    let role = Some(format!("{}@{}", srvr.mode, srvr.zxid.epoch()));
    let restarted = schedule
        .last_srvr
        .as_ref()
        .is_some_and(|before| restarted_between(before, &srvr));
    // Due until read: a restarted node may not answer `conf` at once.
    let changed = restarted || role != schedule.last_role;
    schedule.view_due |= changed;
    schedule.mntr_due |= changed;
    schedule.last_role = role;
    schedule.last_srvr = Some(srvr);
}

fn learn(schedule: &mut Schedule, answers: &[(Command, Result<String, PollFailure>)]) {
    for (command, result) in answers {
        let Ok(text) = result else {
            if *command == Command::Srvr {
                // Whatever answers next may be a restarted server on another config.
                schedule.last_role = None;
                schedule.last_srvr = None;
                schedule.srvr_failed = true;
            }
            continue;
        };
        match command {
            Command::Srvr => {
                schedule.srvr_failed = false;
                let parsed = fourlw::parse_srvr(text);
                schedule.srvr = support_of(
                    parsed.as_ref().map(Answer::kind).map_err(Clone::clone),
                    schedule.srvr,
                );
                match parsed {
                    Ok(Answer::Data(srvr)) => learn_srvr(schedule, srvr),
                    Ok(Answer::NotServing) => {
                        let role = Some("not serving".to_string());
                        schedule.view_due |= role != schedule.last_role;
                        schedule.last_role = role;
                        schedule.last_srvr = None;
                    }
                    // Refused by the whitelist: the AdminServer's srvr, if any, tells instead.
                    _ => {}
                }
            }
            Command::Mntr => {
                let kind = fourlw::parse_mntr(text).map(|a| a.kind());
                if matches!(kind, Ok(fourlw::AnswerKind::Data)) {
                    schedule.mntr_due = false;
                }
                schedule.mntr = support_of(kind, schedule.mntr)
            }
            Command::Conf => {
                let parsed = fourlw::parse_conf(text);
                if let Ok(Answer::Data(conf)) = &parsed {
                    schedule.has_view = conf.view().is_some();
                    schedule.dynamic = conf.view().and_then(|v| v.version).is_some_and(|v| v != 0);
                    schedule.view_due = false;
                }
                schedule.conf = support_of(parsed.map(|a| a.kind()), schedule.conf);
            }
            _ => {}
        }
    }
}

/// A node without quorum answers "not serving" to everything: that says nothing about the
/// whitelist, so what was known before stays known.
fn support_of(kind: Result<fourlw::AnswerKind, fourlw::ParseError>, before: Support) -> Support {
    match kind {
        Ok(fourlw::AnswerKind::NotWhitelisted) => Support::NotWhitelisted,
        Ok(fourlw::AnswerKind::Data) => Support::Allowed,
        _ => before,
    }
}

fn to_failure(error: WireError) -> PollFailure {
    match error {
        WireError::Refused(_) => PollFailure::Refused,
        WireError::Timeout { .. } => PollFailure::Timeout,
        WireError::Io { message, .. } => PollFailure::Io(message),
    }
}

/// Every target asked once, all at once: a starting point for `plan --live`.
pub async fn poll_all_once(
    targets: &[NodeTarget],
    timeout: Duration,
) -> crate::ensemble::EnsembleState {
    let mut state = crate::ensemble::EnsembleState::new(targets.to_vec());
    let asks: Vec<JoinHandle<PollReport>> = targets
        .iter()
        .enumerate()
        .map(|(node, target)| {
            let client = target.client.clone();
            let admin = target.admin.clone();
            tokio::spawn(async move {
                poll_once(node, &client, &admin, &mut Schedule::default(), timeout).await
            })
        })
        .collect();
    for ask in asks {
        if let Ok(report) = ask.await {
            state.apply(&report);
        }
    }
    state
}

pub fn unix_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srvr_of(fixture: &str) -> Srvr {
        match fourlw::parse_srvr(fixture) {
            Ok(Answer::Data(srvr)) => srvr,
            other => panic!("fixture is not a serving srvr: {other:?}"),
        }
    }

    fn leader_srvr() -> Srvr {
        srvr_of(include_str!("../../tests/fixtures/zk4lw/leader.srvr.txt"))
    }

    fn follower_srvr() -> Srvr {
        srvr_of(include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt"))
    }

    /// How many of each command 60 cycles ask.
    fn counts(mut schedule: Schedule) -> [usize; 3] {
        let mut counts = [0usize; 3];
        for cycle in 1..=60 {
            schedule.cycle = cycle;
            for command in due(&schedule) {
                match command {
                    Command::Srvr => counts[0] += 1,
                    Command::Mntr => counts[1] += 1,
                    Command::Conf => counts[2] += 1,
                    _ => unreachable!(),
                }
            }
        }
        counts
    }

    #[test]
    fn srvr_every_cycle_the_leaders_mntr_often_a_learners_rarely() {
        let base = Schedule {
            mntr: Support::Allowed,
            conf: Support::Allowed,
            has_view: true,
            ..Schedule::default()
        };
        let leader = Schedule {
            last_srvr: Some(leader_srvr()),
            ..base.clone()
        };
        let follower = Schedule {
            last_srvr: Some(follower_srvr()),
            ..base.clone()
        };
        assert_eq!(counts(leader.clone()), [60, 12, 2]);
        assert_eq!(counts(follower.clone()), [60, 1, 2]);
        let calm = Schedule {
            calm_allowed: true,
            ..leader.clone()
        };
        assert_eq!(counts(calm.clone()), [60, 2, 2], "a calm leader");
        let moving = Schedule {
            moving: true,
            ..calm
        };
        assert_eq!(
            counts(moving),
            [60, 12, 2],
            "calm ends when something moves"
        );
        let linked = Schedule {
            linked: true,
            ..follower
        };
        assert_eq!(
            counts(linked.clone()),
            [6, 1, 2],
            "the session tells mode and zxid"
        );
        let linked_calm = Schedule {
            calm_allowed: true,
            ..linked.clone()
        };
        assert_eq!(
            counts(linked_calm),
            [1, 1, 1],
            "calm: figures refreshed rarely"
        );
        let gated = Schedule {
            need: Need {
                srvr: true,
                ..Need::default()
            },
            ..linked
        };
        assert_eq!(counts(gated), [60, 1, 2], "a gate reads srvr's text");
    }

    #[test]
    fn a_calm_learner_is_pinged_every_few_cycles_the_leader_every_cycle() {
        let learner = Schedule {
            linked: true,
            calm_allowed: true,
            quiet_gap: QUIET_EVERY,
            last_srvr: Some(follower_srvr()),
            ..Schedule::default()
        };
        let pings = |mut schedule: Schedule| {
            (0..20)
                .filter(|_| {
                    let due = ping_due(&schedule);
                    schedule.since_ping = if due { 0 } else { schedule.since_ping + 1 };
                    due
                })
                .count()
        };
        assert_eq!(pings(learner.clone()), 4, "every fifth cycle");
        let leader = Schedule {
            last_srvr: Some(leader_srvr()),
            ..learner.clone()
        };
        assert_eq!(pings(leader), 20);
        let moving = Schedule {
            moving: true,
            ..learner.clone()
        };
        assert_eq!(pings(moving), 20);
        let needed = Schedule {
            need: Need {
                after: 1,
                ..Need::default()
            },
            ..learner.clone()
        };
        assert_eq!(pings(needed), 20, "a gate or a wait reads it");
        let steady = Schedule {
            calm_allowed: false,
            ..learner.clone()
        };
        assert_eq!(pings(steady), 20, "a run");
        let unlinked = Schedule {
            linked: false,
            ..learner
        };
        assert_eq!(pings(unlinked), 0, "no session: srvr instead");
    }

    #[test]
    fn a_calm_node_is_pinged_well_within_its_session_timeout() {
        let s = Duration::from_secs;
        assert_eq!(ping_gap(s(1), s(30)), QUIET_EVERY);
        assert_eq!(ping_gap(s(1), s(10)), QUIET_EVERY, "the sandbox's 10 s");
        assert_eq!(ping_gap(s(1), s(4)), 2, "minSessionTimeout on a 2 s tick");
        assert_eq!(ping_gap(s(3), s(30)), QUIET_EVERY);
        assert_eq!(ping_gap(s(6), s(10)), 1);
        assert_eq!(ping_gap(s(60), s(40)), 1, "never less than every cycle");
    }

    #[test]
    fn a_session_is_asked_for_at_once_and_after_failures_ever_more_rarely() {
        let serving = Schedule {
            last_srvr: Some(follower_srvr()),
            ..Schedule::default()
        };
        assert!(open_due(&serving));
        assert!(!open_due(&Schedule {
            linked: true,
            ..serving.clone()
        }));
        assert!(!open_due(&Schedule::default()), "not known to serve");
        assert!(!open_due(&Schedule {
            srvr_failed: true,
            ..serving.clone()
        }));
        let failed = |failures: u32, since_open: u64| Schedule {
            session_failures: failures,
            since_open,
            ..serving.clone()
        };
        assert!(!open_due(&failed(3, 7)));
        assert!(open_due(&failed(3, 8)));
        assert!(!open_due(&failed(30, 119)));
        assert!(open_due(&failed(30, 120)), "at most every 120 cycles");
        assert!(
            !open_due(&Schedule {
                no_sessions: true,
                ..serving.clone()
            }),
            "--no-sessions"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn every_node_cycles_on_the_same_beat() {
        let pace = Pace {
            origin: tokio::time::Instant::now(),
            interval: Duration::from_secs(1),
            cadence: Cadence::Relaxed,
            sessions: Sessions::Kept,
            last_move: Arc::new(AtomicU64::new(0)),
        };
        let ms = Duration::from_millis;
        let origin = pace.origin;
        assert_eq!(pace.beat(origin + ms(1_030)), origin + ms(1_000));
        assert_eq!(pace.beat(origin + ms(1_700)), origin + ms(2_000));
        assert_eq!(pace.beat(origin + ms(8_400)), origin + ms(8_000));
        assert!(!pace.moving(), "nothing moved since 1970");
        pace.moved();
        assert!(pace.moving());
    }

    #[test]
    fn a_role_change_asks_for_the_view_at_once() {
        let schedule = Schedule {
            cycle: 7,
            mntr: Support::Allowed,
            conf: Support::Allowed,
            has_view: true,
            view_due: true,
            ..Schedule::default()
        };
        assert_eq!(due(&schedule), [Command::Srvr, Command::Conf]);
    }

    #[test]
    fn a_server_back_from_a_refusal_is_asked_for_its_view_even_in_the_same_role() {
        let srvr = include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let mut schedule = Schedule::default();
        learn(&mut schedule, &[(Command::Srvr, Ok(srvr.clone()))]);
        learn(&mut schedule, &[(Command::Srvr, Ok(srvr.clone()))]);
        assert!(schedule.view_due, "never asked yet");
        learn(&mut schedule, &[(Command::Conf, Ok(conf()))]);
        assert!(!schedule.view_due);
        learn(&mut schedule, &[(Command::Srvr, Err(PollFailure::Refused))]);
        learn(&mut schedule, &[(Command::Srvr, Ok(srvr))]);
        assert!(schedule.view_due, "restarted, maybe on another config");
    }

    fn conf() -> String {
        include_str!("../../tests/fixtures/zk4lw/follower.conf.txt").to_string()
    }

    /// Measured on 3.8.0: a follower restarted between two polls answers in the same mode and
    /// epoch, but its counters start again from zero.
    #[test]
    fn a_restart_faster_than_a_poll_has_the_view_asked_in_the_same_cycle() {
        let before = include_str!("../../tests/fixtures/zk4lw/restart.before.srvr.txt").to_string();
        let after = include_str!("../../tests/fixtures/zk4lw/restart.after.srvr.txt").to_string();
        let mut schedule = Schedule {
            cycle: 7,
            mntr: Support::Allowed,
            conf: Support::Allowed,
            ..Schedule::default()
        };
        learn(&mut schedule, &[(Command::Srvr, Ok(before.clone()))]);
        learn(
            &mut schedule,
            &[(Command::Conf, Ok(conf())), (Command::Mntr, Ok(mntr()))],
        );
        learn(&mut schedule, &[(Command::Srvr, Ok(before))]);
        assert_eq!(due(&schedule), [Command::Srvr], "nothing changed");
        learn(&mut schedule, &[(Command::Srvr, Ok(after))]);
        assert_eq!(
            due(&schedule),
            [Command::Srvr, Command::Mntr, Command::Conf]
        );
    }

    fn mntr() -> String {
        include_str!("../../tests/fixtures/zk4lw/follower.mntr.txt").to_string()
    }

    /// Measured on 3.8.0 (research notes): a new leader is elected in about a second with the
    /// epoch one higher; its synced followers are what the sync gate waits for, so its `mntr`
    /// is asked in the cycle that shows the new mode, not up to four cycles later.
    #[test]
    fn a_new_mode_or_epoch_asks_for_mntr_in_the_same_cycle_and_once() {
        let follower = include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let leader = include_str!("../../tests/fixtures/zk4lw/leader.srvr.txt").to_string();
        let mut schedule = Schedule {
            cycle: 3,
            mntr: Support::Allowed,
            conf: Support::Allowed,
            ..Schedule::default()
        };
        learn(&mut schedule, &[(Command::Srvr, Ok(follower))]);
        learn(
            &mut schedule,
            &[(Command::Conf, Ok(conf())), (Command::Mntr, Ok(mntr()))],
        );
        assert_eq!(due(&schedule), [Command::Srvr]);
        learn(&mut schedule, &[(Command::Srvr, Ok(leader.clone()))]);
        assert_eq!(
            due(&schedule),
            [Command::Srvr, Command::Mntr, Command::Conf]
        );
        let not_serving = "This ZooKeeper instance is not currently serving requests\n";
        learn(&mut schedule, &[(Command::Mntr, Ok(not_serving.into()))]);
        assert!(
            due(&schedule).contains(&Command::Mntr),
            "still due: no figures yet"
        );
        learn(
            &mut schedule,
            &[(Command::Conf, Ok(conf())), (Command::Mntr, Ok(mntr()))],
        );
        learn(&mut schedule, &[(Command::Srvr, Ok(leader))]);
        assert_eq!(
            due(&schedule),
            [Command::Srvr],
            "same mode and epoch: back to the cadence"
        );
    }

    #[test]
    fn what_a_gate_or_a_wait_needs_is_asked_every_cycle() {
        let mut schedule = Schedule {
            mntr: Support::Allowed,
            conf: Support::Allowed,
            has_view: true,
            need: Need {
                srvr: false,
                mntr: true,
                conf: false,
                after: 0,
            },
            ..Schedule::default()
        };
        for cycle in 1..=4 {
            schedule.cycle = cycle;
            assert_eq!(due(&schedule), [Command::Srvr, Command::Mntr]);
        }
        schedule.need = Need {
            srvr: false,
            mntr: false,
            conf: true,
            after: 0,
        };
        assert_eq!(due(&schedule), [Command::Srvr, Command::Conf]);
        schedule.need = Need::default();
        assert_eq!(due(&schedule), [Command::Srvr]);
    }

    /// A stock 3.5.3+ server refuses `mntr` and `conf` over 4lw: a need goes to its AdminServer.
    #[test]
    fn a_need_refused_by_the_whitelist_is_asked_of_the_admin_server_every_cycle() {
        let mut schedule = Schedule {
            cycle: 2,
            mntr: Support::NotWhitelisted,
            conf: Support::NotWhitelisted,
            admin: (Support::Allowed, 0),
            has_view: true,
            ..Schedule::default()
        };
        assert!(due_admin(&schedule).is_empty());
        assert_eq!(due(&schedule), [Command::Srvr], "not the refused words");
        schedule.need = Need {
            srvr: false,
            mntr: true,
            conf: true,
            after: 0,
        };
        assert_eq!(
            due_admin(&schedule),
            [AdminCommand::Mntr, AdminCommand::VotingView]
        );
        assert_eq!(due(&schedule), [Command::Srvr]);
    }

    #[test]
    fn only_a_new_need_is_a_reason_to_ask_early() {
        let mntr = Need {
            srvr: false,
            mntr: true,
            conf: false,
            after: 0,
        };
        let both = Need {
            srvr: false,
            mntr: true,
            conf: true,
            after: 0,
        };
        assert!(mntr.rose_from(Need::default()));
        assert!(both.rose_from(mntr));
        assert!(!mntr.rose_from(both));
        assert!(!Need::default().rose_from(mntr));
        assert!(!mntr.rose_from(mntr));
    }

    fn at_ms(start: tokio::time::Instant) -> u128 {
        start.elapsed().as_millis()
    }

    /// A loopback server that answers `srvr` and keeps sessions the way ZooKeeper does, and
    /// counts the sessions the client opened and closed.
    async fn session_server() -> (
        String,
        Arc<[std::sync::atomic::AtomicUsize; 2]>,
        JoinHandle<()>,
    ) {
        use std::sync::atomic::AtomicUsize;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound").to_string();
        let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let counted = counts.clone();
        let server = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut head = [0u8; 4];
                    if stream.read_exact(&mut head).await.is_err() {
                        return;
                    }
                    if &head == b"srvr" {
                        let srvr = include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt");
                        let _ = stream.write_all(srvr.as_bytes()).await;
                        return;
                    }
                    let mut connect = [0u8; 45];
                    if head != 45i32.to_be_bytes() || stream.read_exact(&mut connect).await.is_err()
                    {
                        return;
                    }
                    counted[0].fetch_add(1, Ordering::Relaxed);
                    // ConnectResponse: protocol 0, a 10 s timeout, session 7, a 16-byte password.
                    let mut granted = 36i32.to_be_bytes().to_vec();
                    granted.extend_from_slice(&0i32.to_be_bytes());
                    granted.extend_from_slice(&10_000i32.to_be_bytes());
                    granted.extend_from_slice(&7i64.to_be_bytes());
                    granted.extend_from_slice(&16i32.to_be_bytes());
                    granted.extend_from_slice(&[0u8; 16]);
                    if stream.write_all(&granted).await.is_err() {
                        return;
                    }
                    // Requests without a body: a length of 8, the xid, the opcode.
                    let mut request = [0u8; 12];
                    while stream.read_exact(&mut request).await.is_ok() {
                        let xid = &request[4..8];
                        let close = request[8..12] == (-11i32).to_be_bytes();
                        let mut reply = 16i32.to_be_bytes().to_vec();
                        reply.extend_from_slice(xid);
                        reply.extend_from_slice(&5i64.to_be_bytes());
                        reply.extend_from_slice(&0i32.to_be_bytes());
                        let sent = stream.write_all(&reply).await.is_ok();
                        if close {
                            counted[1].fetch_add(1, Ordering::Relaxed);
                        }
                        if close || !sent {
                            return;
                        }
                    }
                });
            }
        });
        (addr, counts, server)
    }

    fn target_at(client: String) -> NodeTarget {
        NodeTarget {
            admin: "127.0.0.1:9".into(),
            name: "zk1".into(),
            sid: Some(1),
            client,
            peer: None,
            declared_view: None,
        }
    }

    /// A console that quits ends its sessions rather than leaving them to expire on the
    /// servers; so does a poller merely dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_or_dropped_poller_closes_its_sessions() {
        let (addr, counts, server) = session_server().await;
        let closes = &counts[1];
        for stop in [true, false] {
            let before = closes.load(Ordering::Relaxed);
            let (mut reports, poller) = spawn(
                &[target_at(addr.clone())],
                Duration::from_millis(50),
                Cadence::Relaxed,
                Sessions::Kept,
            );
            loop {
                let report = reports.recv().await.expect("the poller runs");
                if matches!(report.ping, Some(Ok(_))) {
                    break;
                }
            }
            if stop {
                poller.stop().await;
            } else {
                drop(poller);
            }
            let deadline = tokio::time::Instant::now() + CLOSE_WITHIN;
            while closes.load(Ordering::Relaxed) == before && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(
                closes.load(Ordering::Relaxed),
                before + 1,
                "stopped: {stop}"
            );
        }
        server.abort();
    }

    /// `--no-sessions`: the node is polled by `srvr` every cycle and no session is asked for.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_sessions_every_cycle_asks_srvr_and_none_is_opened() {
        let (addr, counts, server) = session_server().await;
        let (mut reports, poller) = spawn(
            &[target_at(addr)],
            Duration::from_millis(50),
            Cadence::Relaxed,
            Sessions::Never,
        );
        for _ in 0..20 {
            let report = reports.recv().await.expect("the poller runs");
            assert!(!report.linked && report.ping.is_none(), "{report:?}");
            assert!(
                matches!(report.answers.first(), Some((Command::Srvr, Ok(_)))),
                "{report:?}"
            );
        }
        poller.stop().await;
        server.abort();
        assert_eq!(counts[0].load(Ordering::Relaxed), 0, "sessions opened");
    }

    /// A server that answers `srvr` but drops every session at once (client authentication
    /// required, a proxy in front): the node stays polled by `srvr`, and sessions — each a
    /// transaction on a real ensemble — are asked for ever more rarely, not every cycle.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_drops_every_session_is_polled_by_srvr_without_a_session_storm() {
        use std::sync::atomic::AtomicUsize;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound").to_string();
        let sessions = Arc::new(AtomicUsize::new(0));
        let asked = sessions.clone();
        let server = tokio::spawn(async move {
            let srvr = include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt");
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = [0u8; 4];
                if stream.read_exact(&mut head).await.is_err() {
                    continue;
                }
                if &head == b"srvr" {
                    let _ = stream.write_all(srvr.as_bytes()).await;
                } else if head == 45i32.to_be_bytes() {
                    // A connect request's length: a session asked for, and dropped.
                    asked.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let (mut reports, poller) = spawn(
            &[target_at(addr)],
            Duration::from_millis(50),
            Cadence::Relaxed,
            Sessions::Kept,
        );
        let mut served = 0;
        while served < 40 {
            let report = reports.recv().await.expect("the poller runs");
            assert!(!report.linked, "no session is kept: {report:?}");
            if matches!(report.answers.first(), Some((Command::Srvr, Ok(_)))) {
                served += 1;
            }
        }
        poller.stop().await;
        server.abort();
        let opened = sessions.load(Ordering::Relaxed);
        // Cycles 0, 1, 3, 7, 15 and 31 at most: a session asked for every cycle would be 40.
        assert!((1..=8).contains(&opened), "sessions asked for: {opened}");
    }

    /// The wait between two cycles, on a paused clock: the cadence when nothing new is needed;
    /// a new need ends it early, but never sooner than the gap after the last cycle.
    #[tokio::test(start_paused = true)]
    async fn a_new_need_starts_the_next_cycle_early_but_not_at_once() {
        let interval = Duration::from_secs(1);
        let start = tokio::time::Instant::now();
        let (sender, mut demand) = watch::channel(Need::default());
        let demand_handle = Demand {
            nodes: vec![sender],
        };
        let due = start + interval;
        let earliest = start + demand_gap(interval);

        until_next_cycle(due, earliest, Need::default(), &mut demand).await;
        assert_eq!(at_ms(start), 1_000, "nothing needed: the interval");

        let start = tokio::time::Instant::now();
        let need = Need {
            srvr: false,
            mntr: true,
            conf: false,
            after: 0,
        };
        let waiting = tokio::spawn(async move {
            until_next_cycle(
                start + interval,
                start + demand_gap(interval),
                Need::default(),
                &mut demand,
            )
            .await;
            demand
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        demand_handle.set(0, need);
        let mut demand = waiting.await.unwrap();
        assert_eq!(
            at_ms(start),
            250,
            "a new need: at the gap, not at the interval"
        );

        let start = tokio::time::Instant::now();
        let waiting = tokio::spawn(async move {
            until_next_cycle(
                start + interval,
                start + demand_gap(interval),
                need,
                &mut demand,
            )
            .await;
            demand
        });
        tokio::time::sleep(Duration::from_millis(600)).await;
        demand_handle.set(0, need);
        demand_handle.set(0, Need::default());
        let mut demand = waiting.await.unwrap();
        assert_eq!(at_ms(start), 1_000, "no new need: the interval");

        let start = tokio::time::Instant::now();
        let waiting = tokio::spawn(async move {
            until_next_cycle(
                start + interval,
                start + demand_gap(interval),
                Need::default(),
                &mut demand,
            )
            .await;
        });
        tokio::time::sleep(Duration::from_millis(600)).await;
        demand_handle.set(0, need);
        waiting.await.unwrap();
        assert_eq!(at_ms(start), 600, "past the gap: at once");

        let start = tokio::time::Instant::now();
        let (sender, mut demand) = watch::channel(Need::default());
        drop(sender);
        until_next_cycle(start + interval, start, Need::default(), &mut demand).await;
        assert_eq!(at_ms(start), 1_000, "no handle left: the interval");
    }

    #[test]
    fn refused_commands_are_asked_again_only_rarely() {
        let mut schedule = Schedule {
            mntr: Support::NotWhitelisted,
            conf: Support::NotWhitelisted,
            ..Schedule::default()
        };
        let asked: usize = (1..=240)
            .map(|cycle| {
                schedule.cycle = cycle;
                due(&schedule).len() - 1
            })
            .sum();
        assert_eq!(asked, 4);
    }

    /// A stock 3.5.3+ server: `srvr` alone is whitelisted, so `mntr` and the view come from
    /// the AdminServer — probed at once, then as often as the 4lw words would be asked.
    #[test]
    fn what_the_whitelist_refuses_is_asked_of_the_admin_server() {
        let refused = "mntr is not executed because it is not in the whitelist.\n";
        let conf_refused = "conf is not executed because it is not in the whitelist.\n";
        let srvr = include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let mut schedule = Schedule {
            cycle: 1,
            ..Schedule::default()
        };
        learn(
            &mut schedule,
            &[
                (Command::Srvr, Ok(srvr)),
                (Command::Mntr, Ok(refused.into())),
                (Command::Conf, Ok(conf_refused.into())),
            ],
        );
        assert_eq!(
            due_admin(&schedule),
            [AdminCommand::Mntr, AdminCommand::VotingView],
            "probed at once"
        );
        let view = include_str!("../../tests/fixtures/zk4lw/follower.admin.voting_view.json");
        let reply = |body: &str| {
            Ok(AdminReply {
                status: 200,
                body: body.into(),
            })
        };
        learn_admin(
            &mut schedule,
            &[
                (
                    AdminCommand::Mntr,
                    reply(include_str!(
                        "../../tests/fixtures/zk4lw/follower.admin.mntr.json"
                    )),
                ),
                (AdminCommand::VotingView, reply(view)),
            ],
            false,
        );
        assert_eq!(schedule.admin.0, Support::Allowed);
        assert!(due_admin(&schedule).is_empty(), "cycle 1: nothing due");
        schedule.cycle = 5;
        assert!(
            due_admin(&schedule).is_empty(),
            "a learner's mntr is asked rarely"
        );
        schedule.cycle = 7;
        schedule.view_due = true;
        assert_eq!(due_admin(&schedule), [AdminCommand::VotingView]);
        schedule.mntr_due = true;
        assert_eq!(
            due_admin(&schedule),
            [AdminCommand::Mntr, AdminCommand::VotingView]
        );
    }

    #[test]
    fn without_an_admin_server_it_is_probed_again_only_rarely() {
        let mut schedule = Schedule {
            cycle: 3,
            srvr: Support::NotWhitelisted,
            mntr: Support::NotWhitelisted,
            conf: Support::NotWhitelisted,
            ..Schedule::default()
        };
        assert_eq!(due_admin(&schedule).len(), 3);
        learn_admin(
            &mut schedule,
            &[(AdminCommand::Srvr, Err(PollFailure::Refused))],
            false,
        );
        assert_eq!(schedule.admin.0, Support::NotWhitelisted);
        assert!(due_admin(&schedule).is_empty());
        schedule.cycle = REFUSED_RETRY_EVERY;
        assert!(!due_admin(&schedule).is_empty());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let second = Duration::from_secs(1);
        let delays: Vec<u64> = (0..8).map(|f| next_delay(second, f).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 8, 8, 8, 8]);
        assert_eq!(
            next_delay(Duration::from_secs(10), 5),
            Duration::from_secs(30)
        );
        assert_eq!(
            next_delay(Duration::from_secs(60), 3),
            Duration::from_secs(60)
        );
        assert_eq!(next_delay(second, u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn a_node_a_wait_needs_is_not_backed_off() {
        let second = Duration::from_secs(1);
        assert_eq!(delay(second, 3, Need::default()), Duration::from_secs(8));
        let conf = Need {
            srvr: false,
            mntr: false,
            conf: true,
            after: 0,
        };
        assert_eq!(delay(second, 3, conf), second);
        assert_eq!(delay(second, 0, conf), second);
    }

    #[test]
    fn request_timeouts_stay_reasonable() {
        assert_eq!(
            request_timeout(Duration::from_millis(100)),
            Duration::from_millis(500)
        );
        assert_eq!(
            request_timeout(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        assert_eq!(
            request_timeout(Duration::from_secs(10)),
            Duration::from_secs(3)
        );
    }
}
