//! The pure cadence of one node's polling: what to ask this cycle (`due`, `due_admin`), when to
//! ping its session (`ping_due`, `ping_gap`, `keepalive`) or ask for one (`open_due`), and how
//! long to wait before the next cycle (`next_delay`, `delay`). `Schedule` is what a node's task
//! remembers between cycles; `poll::learn` updates it from the answers.

use std::time::Duration;

use crate::ensemble::{AdminRoute, Need, Routes, Support};
use crate::zk::admin::AdminCommand;
use crate::zk::fourlw::{Command, Srvr};

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
pub const REFUSED_RETRY_EVERY: u64 = 120;
/// How many intervals a calm learner may go between pings ([`ping_due`]): its session still
/// tells a change of mode at once.
pub const QUIET_EVERY: u64 = 5;
/// The session timeout asked for. The server clamps it to its `minSessionTimeout` ..
/// `maxSessionTimeout` (2 and 20 ticks by default); a calm node is pinged well within it
/// ([`ping_gap`]).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// What a node's task remembers between cycles to decide what to ask.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    pub cycle: u64,
    /// Whether the 4lw whitelist allows `srvr`, `mntr` and `conf`, and whether an AdminServer
    /// answers (the same rules as the ensemble model's, `ensemble::Routes`).
    pub routes: Routes,
    /// The cycle the AdminServer was last asked in: a silent one is asked again after
    /// [`retry_gap`] cycles.
    pub admin_asked: u64,
    /// The client port gave no `srvr` answer last cycle (down, frozen, or TLS only).
    pub srvr_failed: bool,
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
    /// The server started since it last told its own id (`conf`, or the AdminServer's
    /// `configuration` where the whitelist refuses `conf`).
    pub sid_due: bool,
    /// What a gate or a wait needs of this node now (`poll::Demand`), read before each cycle.
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
    /// saw it (`poll::task`'s `Pace`).
    pub moving: bool,
    /// The operator forbade client sessions (`poll::Sessions::Never`): `srvr` every cycle.
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
/// dead server, which the session's closing tells here. Never less than [`PING_FLOOR`].
pub fn keepalive(timeout: Duration) -> Duration {
    (timeout / 2).max(PING_FLOOR)
}

/// The shortest gap between two keepalive pings of one session, whatever timeout the server
/// grants: it grants what was asked clamped to its `minSessionTimeout`
/// (`ZooKeeperServer.processConnectRequest`), which is two ticks unless configured
/// (`setMinSessionTimeout`), so a server on a 1 ms tick grants 2 ms, and half of it would be a
/// ping every millisecond — as fast as the round trip allows. Such a session cannot be kept
/// by any client; pinging it faster than this only loads the server.
pub const PING_FLOOR: Duration = Duration::from_millis(250);

/// Whether to ask for a session this cycle: sessions are allowed, the node serves (its `srvr`
/// just said so) and has none; after failures, only every 1, 2, 4 … cycles, at most [`REFUSED_RETRY_EVERY`].
pub fn open_due(schedule: &Schedule) -> bool {
    let serving = !schedule.srvr_failed
        && schedule.last_srvr.is_some()
        && schedule.routes.srvr != Support::NotWhitelisted;
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
    let routes = &schedule.routes;
    let every = |support: Support, period: u64| match support {
        Support::NotWhitelisted => schedule.cycle.is_multiple_of(REFUSED_RETRY_EVERY),
        Support::Unknown => true,
        Support::Allowed => schedule.cycle.is_multiple_of(period),
    };
    let mntr_now = routes.mntr == Support::Allowed && (schedule.mntr_due || schedule.need.mntr);
    if mntr_now || every(routes.mntr, mntr_every(schedule)) {
        commands.push(Command::Mntr);
    }
    let conf_now = routes.conf == Support::Allowed
        && (schedule.view_due || !schedule.has_view || schedule.need.conf);
    // A `reconfig` is committed like a write (`QuorumPeer.processReconfig`): no restart, mode or
    // epoch change tells it, so a dynamic view is asked as often as `mntr`.
    let conf_every = match (schedule.dynamic, schedule.linked && schedule.calm()) {
        (true, _) => MNTR_EVERY,
        (false, false) => CONF_EVERY,
        (false, true) => CONF_CALM_EVERY,
    };
    if conf_now || every(routes.conf, conf_every) {
        commands.push(Command::Conf);
    }
    commands
}

/// What to ask the AdminServer this cycle: exactly what the 4lw whitelist refused, as often
/// as the 4lw word would be asked, and at once after a restart or a role change or while a gate
/// or a wait needs it; the server's own id after each start, where `conf` is refused. Nothing
/// while no AdminServer was found, except a rare probe; one that answered before and went
/// silent is asked again after [`retry_gap`] cycles, everything at once.
pub fn due_admin(schedule: &Schedule) -> Vec<AdminCommand> {
    let routes = &schedule.routes;
    // A client port that does not answer leaves the AdminServer as the only route, but only
    // one known to answer is asked: a dead host is not probed twice per cycle.
    if schedule.srvr_failed && routes.admin != AdminRoute::Answers {
        return Vec::new();
    }
    let asking = match routes.admin {
        AdminRoute::Absent => schedule.cycle.is_multiple_of(REFUSED_RETRY_EVERY),
        AdminRoute::Silent { misses } => {
            schedule.cycle >= schedule.admin_asked.saturating_add(retry_gap(misses))
        }
        AdminRoute::Probing | AdminRoute::Missed { .. } | AdminRoute::Answers => true,
    };
    if !asking {
        return Vec::new();
    }
    let refused = |support: Support| support == Support::NotWhitelisted || schedule.srvr_failed;
    let probing = routes.admin.probing() || matches!(routes.admin, AdminRoute::Silent { .. });
    let mut commands = Vec::new();
    if refused(routes.srvr) {
        commands.push(AdminCommand::Srvr);
    }
    let mntr_now = probing || schedule.mntr_due || schedule.need.mntr;
    if refused(routes.mntr) && (mntr_now || schedule.cycle.is_multiple_of(mntr_every(schedule))) {
        commands.push(AdminCommand::Mntr);
    }
    let view_now = schedule.view_due || !schedule.has_view || probing || schedule.need.conf;
    if refused(routes.conf) && (view_now || schedule.cycle.is_multiple_of(CONF_EVERY)) {
        commands.push(AdminCommand::VotingView);
    }
    if refused(routes.conf) && schedule.sid_due {
        commands.push(AdminCommand::Configuration);
    }
    commands
}

/// Silent questions in a row after which an AdminServer that answered before is no longer
/// asked every cycle. A restarting server binds its client port, then starts Jetty
/// (`QuorumPeer.start`: `startServerCnxnFactory`, then `adminServer.start`), whose first
/// answers can time out while it warms up: asked every cycle for this many, its route is back
/// within a few polls of the server's start.
const RETRY_AT_ONCE: u32 = 4;

/// Cycles between two questions to an AdminServer that answered before and is silent now,
/// after `misses` silent questions in a row (counted again from zero when its server starts):
/// every cycle for the first `RETRY_AT_ONCE`, then doubling, at most every
/// [`REFUSED_RETRY_EVERY`] cycles, so a firewalled one is not asked every cycle for ever.
pub fn retry_gap(misses: u32) -> u64 {
    let doublings = misses.saturating_sub(RETRY_AT_ONCE).min(16);
    (1u64 << doublings).min(REFUSED_RETRY_EVERY)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::fourlw::{self, Answer};

    fn srvr_of(fixture: &str) -> Srvr {
        match fourlw::parse_srvr(fixture) {
            Ok(Answer::Data(srvr)) => srvr,
            other => panic!("fixture is not a serving srvr: {other:?}"),
        }
    }

    fn leader_srvr() -> Srvr {
        srvr_of(include_str!(
            "../../../tests/fixtures/zk4lw/leader.srvr.txt"
        ))
    }

    fn follower_srvr() -> Srvr {
        srvr_of(include_str!(
            "../../../tests/fixtures/zk4lw/follower.srvr.txt"
        ))
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
            routes: Routes::words(Support::Allowed),
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

    /// A server granting a 1 ms session timeout got about 325 pings a second per node from
    /// `watch`, one per round trip.
    #[test]
    fn a_tiny_session_timeout_is_pinged_a_few_times_a_second_at_most() {
        let ms = Duration::from_millis;
        for granted in [ms(1), ms(2), ms(100), ms(499)] {
            let per_second = 1.0 / keepalive(granted).as_secs_f64();
            assert!(per_second <= 4.0, "{granted:?}: {per_second} pings/s");
        }
        assert_eq!(keepalive(ms(4_000)), ms(2_000), "a real timeout: half");
        assert_eq!(keepalive(ms(30_000)), ms(15_000));
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

    #[test]
    fn a_role_change_asks_for_the_view_at_once() {
        let schedule = Schedule {
            cycle: 7,
            routes: Routes::words(Support::Allowed),
            has_view: true,
            view_due: true,
            ..Schedule::default()
        };
        assert_eq!(due(&schedule), [Command::Srvr, Command::Conf]);
    }

    #[test]
    fn what_a_gate_or_a_wait_needs_is_asked_every_cycle() {
        let mut schedule = Schedule {
            routes: Routes::words(Support::Allowed),
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
            routes: Routes {
                admin: AdminRoute::Answers,
                ..Routes::words(Support::NotWhitelisted)
            },
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

    #[test]
    fn refused_commands_are_asked_again_only_rarely() {
        let mut schedule = Schedule {
            routes: Routes::words(Support::NotWhitelisted),
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
    fn a_silent_admin_server_is_asked_every_cycle_a_few_times_then_ever_more_rarely() {
        let gaps: Vec<u64> = (0..12).map(retry_gap).collect();
        assert_eq!(gaps, [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 120]);
        assert_eq!(retry_gap(u32::MAX), REFUSED_RETRY_EVERY);
        let silent = |misses, admin_asked, cycle| Schedule {
            cycle,
            admin_asked,
            routes: Routes {
                admin: AdminRoute::Silent { misses },
                ..Routes::words(Support::NotWhitelisted)
            },
            has_view: true,
            ..Schedule::default()
        };
        assert_eq!(
            due_admin(&silent(0, 9, 10)),
            [AdminCommand::Mntr, AdminCommand::VotingView],
            "everything at once"
        );
        assert!(due_admin(&silent(6, 9, 12)).is_empty(), "backed off");
        assert!(!due_admin(&silent(6, 9, 13)).is_empty());
        let down = Schedule {
            srvr_failed: true,
            ..silent(0, 9, 10)
        };
        assert!(due_admin(&down).is_empty(), "not while the server is down");
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
