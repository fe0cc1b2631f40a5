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

use crate::ensemble::{answered, read_admin, Millis, Need, NodeTarget, PollFailure, PollReport};
use crate::net::ping::Link;
use crate::net::wire::{self, WireError};
use crate::poll::{
    delay, demand_gap, due, due_admin, keepalive, learn, learn_admin, open_due, ping_due, ping_gap,
    request_timeout, Schedule, QUIET_EVERY, SESSION_TIMEOUT,
};
use crate::zk::fourlw::Command;

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

/// How many intervals after the last movement (a new zxid, a session lost, a new mode or
/// epoch) every node is still pinged every interval.
const MOVING_FOR: u64 = 10;

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
            failures = if report.down() {
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
        answers.push(answered(Command::Srvr, srvr));
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
            rest.push(answered(command, result));
        }
        learn(schedule, &rest);
        answers.extend(rest);
    }
    let mut admin_answers = Vec::new();
    for command in due_admin(schedule) {
        let result = wire::http_get(admin_addr, command.path(), timeout)
            .await
            .map(|answer| read_admin(command, answer.status, &answer.body))
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

    /// The wait for the cycle after one that started at `start` and asked `asked`; hands the
    /// receiver back for the next wait.
    async fn next_cycle(
        start: tokio::time::Instant,
        interval: Duration,
        asked: Need,
        mut demand: watch::Receiver<Need>,
    ) -> watch::Receiver<Need> {
        until_next_cycle(
            start + interval,
            start + demand_gap(interval),
            asked,
            &mut demand,
        )
        .await;
        demand
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
        let waiting = tokio::spawn(next_cycle(start, interval, Need::default(), demand));
        tokio::time::sleep(Duration::from_millis(100)).await;
        demand_handle.set(0, need);
        let demand = waiting.await.unwrap();
        assert_eq!(
            at_ms(start),
            250,
            "a new need: at the gap, not at the interval"
        );

        let start = tokio::time::Instant::now();
        let waiting = tokio::spawn(next_cycle(start, interval, need, demand));
        tokio::time::sleep(Duration::from_millis(600)).await;
        demand_handle.set(0, need);
        demand_handle.set(0, Need::default());
        let demand = waiting.await.unwrap();
        assert_eq!(at_ms(start), 1_000, "no new need: the interval");

        let start = tokio::time::Instant::now();
        let waiting = tokio::spawn(next_cycle(start, interval, Need::default(), demand));
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
}
