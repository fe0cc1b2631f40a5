//! Adapter: the poller. Every node has its own task, so a slow node never delays the others and
//! a cycle costs about one round trip however many nodes there are; a node's next cycle starts
//! only after its previous one ended, so cycles never overlap. Each figure is asked by
//! four-letter word first; what the 4lw whitelist refuses is asked of the AdminServer, if the
//! node has one (pure `due_admin`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::ensemble::restarted_between;
use crate::ensemble::{
    admin_support_after, AdminReply, Millis, NodeTarget, PollFailure, PollReport, Support,
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
    if every(schedule.mntr, MNTR_EVERY) {
        commands.push(Command::Mntr);
    }
    let conf_now = schedule.conf == Support::Allowed && (schedule.view_due || !schedule.has_view);
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
/// as the 4lw word would be asked; the view (`voting_view`) at once after a restart or a role
/// change. Nothing while no AdminServer was found, except a rare probe.
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
    if refused(schedule.mntr) && (probing || schedule.cycle % MNTR_EVERY == 0) {
        commands.push(AdminCommand::Mntr);
    }
    let view_now = schedule.view_due || !schedule.has_view || probing;
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

/// How long one question may take: long enough for a loaded server, short enough that a dead
/// one does not hold up its own node's next cycle for long.
pub fn request_timeout(interval: Duration) -> Duration {
    interval.clamp(Duration::from_millis(500), Duration::from_secs(3))
}

/// Starts one polling task per target; reports arrive on the returned channel until the
/// handles are aborted or the receiver is dropped.
pub fn spawn(
    targets: &[NodeTarget],
    interval: Duration,
) -> (mpsc::Receiver<PollReport>, Vec<JoinHandle<()>>) {
    let (tx, rx) = mpsc::channel(targets.len().max(1) * 4);
    let handles = targets
        .iter()
        .enumerate()
        .map(|(node, target)| tokio::spawn(poll_node(node, target.clone(), interval, tx.clone())))
        .collect();
    (rx, handles)
}

async fn poll_node(
    node: usize,
    target: NodeTarget,
    interval: Duration,
    reports: mpsc::Sender<PollReport>,
) {
    let mut schedule = Schedule::default();
    let mut failures = 0u32;
    let timeout = request_timeout(interval);
    loop {
        let started = tokio::time::Instant::now();
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
        tokio::time::sleep_until(started + next_delay(interval, failures)).await;
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
            AdminCommand::Mntr => {}
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
    // Due until a view is read: a restarted node may not answer `conf` at once.
    schedule.view_due |= restarted || role != schedule.last_role;
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
                schedule.mntr =
                    support_of(fourlw::parse_mntr(text).map(|a| a.kind()), schedule.mntr)
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
        learn(&mut schedule, &[(Command::Conf, Ok(conf()))]);
        learn(&mut schedule, &[(Command::Srvr, Ok(before))]);
        assert_eq!(due(&schedule), [Command::Srvr], "nothing changed");
        learn(&mut schedule, &[(Command::Srvr, Ok(after))]);
        assert_eq!(due(&schedule), [Command::Srvr, Command::Conf]);
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
                    Ok(AdminReply {
                        status: 500,
                        body: String::new(),
                    }),
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
