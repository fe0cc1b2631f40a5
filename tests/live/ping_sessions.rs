//! The client session the poller keeps on every server (`ping::Link`), on real servers: a ping
//! reads the zxid `srvr` prints, and a server closes the session the moment it leaves its role
//! (`Learner.shutdown`, `Leader.shutdown`: `QuorumPeer.closeAllConnections`), which is what
//! lets `watch` ping a calm follower only every few intervals.

use std::time::{Duration, Instant};

use crate::common::{ask, mode, Sandbox};
use zkpilot::ensemble::{inventory_targets, NodeTarget, PollReport};
use zkpilot::inventory::Inventory;
use zkpilot::net::ping::Link;
use zkpilot::poll::{self, Cadence, Poller, Sessions, SESSION_TIMEOUT};
use zkpilot::zk::fourlw::{self, Answer, Command};
use zkpilot::zk::zxid::Zxid;

const DEADLINE: Duration = Duration::from_secs(3);

fn srvr_zxid(client: &str) -> Zxid {
    let text = ask(client, "srvr").expect("srvr answered");
    match fourlw::parse_srvr(&text) {
        Ok(Answer::Data(srvr)) => srvr.zxid,
        other => panic!("{client}: {other:?}"),
    }
}

fn restart(sandbox: &Sandbox, host: &str) {
    let client = sandbox.client(host);
    let address = client.rsplit_once(':').unwrap().0;
    let index = &host[2..];
    let zkctl = sandbox.dir.join(format!("hosts/{host}/zkctl"));
    let output = sandbox.ssh(
        &format!("zkpilot-h{index}@{address}"),
        &format!("{} restart", zkctl.display()),
    );
    assert!(output.status.success(), "{output:?}");
}

/// Whether the server closed `link` within `limit`.
async fn closes_within(link: &mut Link, limit: Duration) -> bool {
    tokio::time::timeout(limit, link.closed()).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_reads_the_zxid_of_srvr_and_ends_when_its_server_leaves_its_role() {
    let sandbox = Sandbox::up(3, 0, 0);
    let hosts = ["zk1", "zk2", "zk3"];
    let mut links = Vec::new();
    for host in hosts {
        let link = Link::open(&sandbox.client(host), SESSION_TIMEOUT, DEADLINE)
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert!(link.timeout > Duration::ZERO);
        links.push(link);
    }
    // Every session is a transaction, and a follower applies the last one's commit a moment
    // after the server that granted it: a ping is compared with `srvr` only between two
    // readings of `srvr` that agree, so the server was still while it answered.
    for (host, link) in hosts.iter().zip(links.iter_mut()) {
        let client = sandbox.client(host);
        let settled = Instant::now() + Duration::from_secs(10);
        loop {
            let before = srvr_zxid(&client);
            let pinged = link.ping(DEADLINE).await.expect("ping answered");
            let after = srvr_zxid(&client);
            assert!(
                before <= pinged && pinged <= after,
                "{host}: {before:?} {pinged:?} {after:?}"
            );
            if before == after {
                assert_eq!(pinged, before, "{host}");
                break;
            }
            assert!(
                Instant::now() < settled,
                "{host} never still: {before:?} {after:?}"
            );
        }
    }

    let modes = sandbox.modes(&hosts);
    let leader = modes.iter().position(|m| m == "leader").expect("a leader");
    let follower = (0..3).find(|i| *i != leader).expect("a follower");
    let other = (0..3)
        .find(|i| *i != leader && *i != follower)
        .expect("three");

    restart(&sandbox, hosts[follower]);
    assert!(
        closes_within(&mut links[follower], Duration::from_secs(10)).await,
        "the restarted follower closed its session"
    );
    for i in [leader, other] {
        links[i].ping(DEADLINE).await.unwrap_or_else(|e| {
            panic!(
                "{} kept its session through a follower's restart: {e}",
                hosts[i]
            )
        });
    }
    sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |m| {
        m.iter().all(|m| m == "leader" || m == "follower")
    });

    let started = Instant::now();
    restart(&sandbox, hosts[leader]);
    for i in [leader, other] {
        assert!(
            closes_within(&mut links[i], Duration::from_secs(10)).await,
            "{} closed its session when the leader went",
            hosts[i]
        );
    }
    eprintln!(
        "sessions closed {:?} after the leader's restart began",
        started.elapsed()
    );
}

/// `watch`'s poller on a real ensemble: every node gets a session and is pinged; a follower's
/// restart shows as its session lost and `srvr` asked in the same report, then a new session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_pings_over_sessions_and_sees_a_restart_at_once() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (targets, mut reports, poller) = pinged_watch_poller(&sandbox).await;

    let zk1 = targets.iter().position(|t| t.name == "zk1").unwrap();
    restart(&sandbox, "zk1");
    let lost = loop {
        let report = next(&mut reports).await;
        if report.node == zk1 && matches!(report.ping, Some(Err(_))) {
            break report;
        }
    };
    assert_eq!(
        lost.answers.first().map(|(c, _)| *c),
        Some(Command::Srvr),
        "the session's end has srvr asked in the same cycle: {lost:?}"
    );
    loop {
        let report = next(&mut reports).await;
        if report.node == zk1 && matches!(report.ping, Some(Ok(_))) {
            break;
        }
    }
    poller.stop().await;
}

/// A stopped poller ends its sessions (`closeSession`) instead of leaving them on the ensemble
/// to expire a timeout later, each expiry a transaction at a moment nobody chose: the leader's
/// count of the ensemble's sessions (`mntr`'s `zk_global_sessions`) falls to none as soon as
/// `stop` returns, where a dropped session stays counted for the sandbox's 10 s timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_poller_leaves_no_session_on_the_ensemble() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (targets, _reports, poller) = pinged_watch_poller(&sandbox).await;
    let leader = leader_of(&targets);
    assert_eq!(global_sessions(&leader.client), 3);
    poller.stop().await;
    let closed = Instant::now() + Duration::from_secs(2);
    while global_sessions(&leader.client) > 0 && Instant::now() < closed {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(global_sessions(&leader.client), 0);
}

/// `--no-sessions` on real servers: every node is read by `srvr`, and the ensemble counts no
/// session of the poller's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sessions_the_ensemble_counts_none_of_the_pollers() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (targets, mut reports, poller) =
        watch_poller(&sandbox, Duration::from_millis(500), Sessions::Never);
    let mut served = [0usize; 3];
    while served.iter().any(|s| *s < 3) {
        let report = next(&mut reports).await;
        assert!(!report.linked && report.ping.is_none(), "{report:?}");
        if matches!(report.answers.first(), Some((Command::Srvr, Ok(_)))) {
            served[report.node] += 1;
        }
    }
    let leader = leader_of(&targets);
    assert_eq!(global_sessions(&leader.client), 0);
    poller.stop().await;
}

/// The sessions of the whole ensemble, as its leader counts them.
fn global_sessions(leader: &str) -> u64 {
    let text = ask(leader, "mntr").expect("mntr answered");
    text.lines()
        .find_map(|line| line.strip_prefix("zk_global_sessions\t"))
        .and_then(|count| count.trim().parse().ok())
        .expect("zk_global_sessions in mntr")
}

/// The poller as `watch` starts it on the sandbox's inventory.
fn watch_poller(
    sandbox: &Sandbox,
    interval: Duration,
    sessions: Sessions,
) -> (Vec<NodeTarget>, Reports, Poller) {
    let text = std::fs::read_to_string(sandbox.inventory_path()).unwrap();
    let inventory: Inventory = serde_yaml::from_str(&text).unwrap();
    let targets = inventory_targets(&inventory);
    let (reports, poller) = poll::spawn(&targets, interval, Cadence::Relaxed, sessions);
    (targets, reports, poller)
}

type Reports = tokio::sync::mpsc::Receiver<PollReport>;

/// `watch`'s poller at 500 ms, once each of the three nodes answered a ping over its session.
async fn pinged_watch_poller(sandbox: &Sandbox) -> (Vec<NodeTarget>, Reports, Poller) {
    let (targets, mut reports, poller) =
        watch_poller(sandbox, Duration::from_millis(500), Sessions::Kept);
    let mut pinged = [false; 3];
    while !pinged.iter().all(|p| *p) {
        let report = next(&mut reports).await;
        if matches!(report.ping, Some(Ok(_))) {
            assert!(report.linked, "{report:?}");
            pinged[report.node] = true;
        }
    }
    (targets, reports, poller)
}

async fn next(reports: &mut tokio::sync::mpsc::Receiver<PollReport>) -> PollReport {
    tokio::time::timeout(Duration::from_secs(30), reports.recv())
        .await
        .expect("a report within 30 s")
        .expect("the poller runs")
}

/// An interval longer than the session timeout (the sandbox's `maxSessionTimeout` is 10 s):
/// the poller pings between its cycles, so no session expires and none is opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_interval_keeps_every_session_alive_between_cycles() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (_, mut reports, poller) = watch_poller(&sandbox, Duration::from_secs(12), Sessions::Kept);
    let mut pings = [0usize; 3];
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        let Ok(Some(report)) = tokio::time::timeout_at(end.into(), reports.recv()).await else {
            break;
        };
        assert!(
            !matches!(report.ping, Some(Err(_))),
            "a session was lost: {report:?}"
        );
        if matches!(report.ping, Some(Ok(_))) {
            pings[report.node] += 1;
        }
    }
    poller.stop().await;
    // Three cycles at most in 30 s; a ping every half of the 10 s timeout makes it five or more.
    assert!(pings.iter().all(|p| *p >= 5), "pings per node: {pings:?}");
}

/// The target that leads now, by its `srvr`.
fn leader_of(targets: &[NodeTarget]) -> &NodeTarget {
    targets
        .iter()
        .find(|t| mode(&t.client) == "leader")
        .expect("a leader")
}
