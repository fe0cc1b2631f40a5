//! Adapter: the poller. Every node has its own task, so a slow node never delays the others and
//! a cycle costs about one round trip however many nodes there are; a node's next cycle starts
//! only after its previous one ended, so cycles never overlap. Each figure is asked by
//! four-letter word first; what the 4lw whitelist refuses is asked of the AdminServer, if the
//! node has one (pure `due_admin`). `mntr` and the view are asked every few cycles, and in the
//! same cycle when the node's mode, epoch or process changed, and every cycle while a gate or a
//! wait needs them ([`Demand`]).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ensemble::restarted_between;
use crate::ensemble::{
    admin_support_after, AdminReply, Millis, Need, NodeTarget, PollFailure, PollReport, Support,
};
use crate::wire::{self, WireError};
use crate::zk::admin::{self, AdminCommand};
use crate::zk::fourlw::{self, Answer, Command, Srvr};

/// `mntr` is ~500 lines and `conf` rarely changes: every connection costs the server too, so
/// they are asked every few cycles while `srvr` (mode and zxid) is asked every cycle.
const MNTR_EVERY: u64 = 5;
const CONF_EVERY: u64 = 30;
/// A refused command is asked again this rarely, in case the whitelist was changed.
const REFUSED_RETRY_EVERY: u64 = 120;

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
}

/// The commands due this cycle, `srvr` first.
pub fn due(schedule: &Schedule) -> Vec<Command> {
    let mut commands = vec![Command::Srvr];
    let every = |support: Support, period: u64| match support {
        Support::NotWhitelisted => schedule.cycle % REFUSED_RETRY_EVERY == 0,
        Support::Unknown => true,
        Support::Allowed => schedule.cycle % period == 0,
    };
    let mntr_now = schedule.mntr == Support::Allowed && (schedule.mntr_due || schedule.need.mntr);
    if mntr_now || every(schedule.mntr, MNTR_EVERY) {
        commands.push(Command::Mntr);
    }
    let conf_now = schedule.conf == Support::Allowed
        && (schedule.view_due || !schedule.has_view || schedule.need.conf);
    // A `reconfig` is committed like a write (`QuorumPeer.processReconfig`): no restart, mode or
    // epoch change tells it, so a dynamic view is asked as often as `mntr`.
    let conf_every = if schedule.dynamic {
        MNTR_EVERY
    } else {
        CONF_EVERY
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
    if schedule.admin.0 == Support::NotWhitelisted && schedule.cycle % REFUSED_RETRY_EVERY != 0 {
        return Vec::new();
    }
    let mut commands = Vec::new();
    if refused(schedule.srvr) {
        commands.push(AdminCommand::Srvr);
    }
    let mntr_now = probing || schedule.mntr_due || schedule.need.mntr;
    if refused(schedule.mntr) && (mntr_now || schedule.cycle % MNTR_EVERY == 0) {
        commands.push(AdminCommand::Mntr);
    }
    let view_now = schedule.view_due || !schedule.has_view || probing || schedule.need.conf;
    if refused(schedule.conf) && (view_now || schedule.cycle % CONF_EVERY == 0) {
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

/// Starts one polling task per target; reports arrive on the returned channel until the
/// handles are aborted or the receiver is dropped.
pub fn spawn(
    targets: &[NodeTarget],
    interval: Duration,
) -> (mpsc::Receiver<PollReport>, Vec<JoinHandle<()>>) {
    let (reports, handles, _) = spawn_with_demand(targets, interval);
    (reports, handles)
}

/// [`spawn`], and the handle that tells the poller what gates and waits need ([`Demand`]).
pub fn spawn_with_demand(
    targets: &[NodeTarget],
    interval: Duration,
) -> (mpsc::Receiver<PollReport>, Vec<JoinHandle<()>>, Demand) {
    let (tx, rx) = mpsc::channel(targets.len().max(1) * 4);
    let mut senders = Vec::with_capacity(targets.len());
    let handles = targets
        .iter()
        .enumerate()
        .map(|(node, target)| {
            let (sender, demand) = watch::channel(Need::default());
            senders.push(sender);
            tokio::spawn(poll_node(
                node,
                target.clone(),
                interval,
                tx.clone(),
                demand,
            ))
        })
        .collect();
    (rx, handles, Demand { nodes: senders })
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

async fn poll_node(
    node: usize,
    target: NodeTarget,
    interval: Duration,
    reports: mpsc::Sender<PollReport>,
    mut demand: watch::Receiver<Need>,
) {
    let mut schedule = Schedule::default();
    let mut failures = 0u32;
    let timeout = request_timeout(interval);
    loop {
        let started = tokio::time::Instant::now();
        schedule.need = *demand.borrow_and_update();
        let report = poll_once(node, &target.client, &target.admin, &mut schedule, timeout).await;
        // Down on every route: the AdminServer answering for a silent client port is an answer.
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
        schedule.cycle += 1;
        let due = started + delay(interval, failures, schedule.need);
        let earliest = started + demand_gap(interval);
        until_next_cycle(due, earliest, schedule.need, &mut demand).await;
    }
}

/// Asks the due commands one after another (the same node is never asked twice at once) and
/// updates the schedule from what came back. `admin` is the node's AdminServer `host:port`.
pub async fn poll_once(
    node: usize,
    client: &str,
    admin_addr: &str,
    schedule: &mut Schedule,
    timeout: Duration,
) -> PollReport {
    let at = unix_millis();
    let sent = Instant::now();
    let srvr = wire::ask(client, Command::Srvr.as_str(), timeout)
        .await
        .map_err(to_failure);
    let round_trip_ms = Some(sent.elapsed().as_secs_f64() * 1000.0);
    let srvr_failed = srvr.is_err();
    let mut answers = vec![(Command::Srvr, srvr)];
    learn(schedule, &answers);
    // A node that does not answer srvr will not answer the rest either. The rest is decided
    // after srvr, so a restart or role change it shows has the view asked in the same cycle.
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

    #[test]
    fn srvr_every_cycle_mntr_and_conf_less_often() {
        let mut schedule = Schedule {
            mntr: Support::Allowed,
            conf: Support::Allowed,
            has_view: true,
            ..Schedule::default()
        };
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
        assert_eq!(counts, [60, 12, 2]);
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
        let srvr = include_str!("../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
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
        include_str!("../tests/fixtures/zk4lw/follower.conf.txt").to_string()
    }

    /// Measured on 3.8.0: a follower restarted between two polls answers in the same mode and
    /// epoch, but its counters start again from zero.
    #[test]
    fn a_restart_faster_than_a_poll_has_the_view_asked_in_the_same_cycle() {
        let before = include_str!("../tests/fixtures/zk4lw/restart.before.srvr.txt").to_string();
        let after = include_str!("../tests/fixtures/zk4lw/restart.after.srvr.txt").to_string();
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
        include_str!("../tests/fixtures/zk4lw/follower.mntr.txt").to_string()
    }

    /// Measured on 3.8.0 (research notes): a new leader is elected in about a second with the
    /// epoch one higher; its synced followers are what the sync gate waits for, so its `mntr`
    /// is asked in the cycle that shows the new mode, not up to four cycles later.
    #[test]
    fn a_new_mode_or_epoch_asks_for_mntr_in_the_same_cycle_and_once() {
        let follower = include_str!("../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let leader = include_str!("../tests/fixtures/zk4lw/leader.srvr.txt").to_string();
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
            mntr: true,
            conf: false,
            after: 0,
        };
        let both = Need {
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
        let srvr = include_str!("../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
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
        let view = include_str!("../tests/fixtures/zk4lw/follower.admin.voting_view.json");
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
                        "../tests/fixtures/zk4lw/follower.admin.mntr.json"
                    )),
                ),
                (AdminCommand::VotingView, reply(view)),
            ],
            false,
        );
        assert_eq!(schedule.admin.0, Support::Allowed);
        assert!(due_admin(&schedule).is_empty(), "cycle 1: nothing due");
        schedule.cycle = 5;
        assert_eq!(due_admin(&schedule), [AdminCommand::Mntr]);
        schedule.view_due = true;
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
