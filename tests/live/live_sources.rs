//! Every route to a server's figures, on real servers: four-letter words, the AdminServer and
//! configs over SSH; a restart faster than a poll; a server that answers none of them.

use std::time::{Duration, Instant};

use crate::common::{mode, Sandbox};
use zkpilot::ensemble::{
    inventory_targets, AdminRoute, EnsembleState, Health, NodeTarget, PollFailure, Source, Support,
    ViewSource,
};
use zkpilot::inventory::Inventory;
use zkpilot::net::remote::{Connections, SshTarget};
use zkpilot::net::wire;
use zkpilot::poll::{poll_once, Schedule};
use zkpilot::zk::config::View;
use zkpilot::zk::fourlw::{Command, Mode};

const TIMEOUT: Duration = Duration::from_secs(2);

fn inventory(sandbox: &Sandbox) -> Inventory {
    let text = std::fs::read_to_string(sandbox.inventory_path()).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// One poller's worth of state for every host: what `poll::spawn` runs, one cycle at a time.
struct Poller {
    targets: Vec<NodeTarget>,
    schedules: Vec<Schedule>,
    state: EnsembleState,
}

impl Poller {
    fn new(inventory: &Inventory) -> Poller {
        let targets = inventory_targets(inventory);
        Poller {
            schedules: vec![Schedule::default(); targets.len()],
            state: EnsembleState::new(targets.clone()),
            targets,
        }
    }

    /// One cycle of node `node`; returns the commands it asked by 4lw.
    async fn cycle(&mut self, node: usize) -> Vec<Command> {
        let target = &self.targets[node];
        let schedule = &mut self.schedules[node];
        let report = poll_once(node, &target.client, &target.admin, schedule, TIMEOUT).await;
        schedule.cycle += 1;
        self.state.apply(&report);
        report.answers.iter().map(|(c, _)| *c).collect()
    }

    async fn cycle_all(&mut self) {
        for node in 0..self.targets.len() {
            self.cycle(node).await;
        }
    }
}

fn host_address(sandbox: &Sandbox, host: &str) -> String {
    let client = sandbox.client(host);
    client.rsplit_once(':').unwrap().0.to_string()
}

/// Restarts zk1 over SSH as its operator would and waits, on a plain socket (not the poller),
/// until it follows again.
async fn restart_zk1(sandbox: &Sandbox) {
    restart_zk1_until(sandbox, "follower").await;
}

/// Restarts zk1 over SSH and waits, on a plain socket, until its `srvr` says `mode`.
async fn restart_zk1_until(sandbox: &Sandbox, wanted: &str) {
    let zk1 = host_address(sandbox, "zk1");
    let zkctl = sandbox.dir.join("hosts/zk1/zkctl");
    let output = sandbox.ssh(
        &format!("zkpilot-h1@{zk1}"),
        &format!("{} restart", zkctl.display()),
    );
    assert!(output.status.success(), "{output:?}");
    let client = sandbox.client("zk1");
    let deadline = Instant::now() + Duration::from_secs(30);
    while mode(&client) != wanted {
        assert!(
            Instant::now() < deadline,
            "zk1 never answered {wanted} again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A restart faster than a poll. zk1 is restarted on a new view (an observer line
/// added: it still follows the same leader) with no poll in between, and answers in the same
/// mode and epoch; the next cycle notices the restart from the counters alone and reads the
/// new view in that same cycle. (A first restart beforehand moves zk1's own zxid from `0x0`
/// to the leader's epoch, measured on 3.8.0, so that the second changes neither.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_two_polls_is_noticed_and_its_new_view_picked_up() {
    let sandbox = Sandbox::up(3, 0, 0);
    restart_zk1(&sandbox).await;
    let mut poller = Poller::new(&inventory(&sandbox));
    for _ in 0..6 {
        poller.cycle_all().await;
    }
    let before = poller.state.nodes[0].clone();
    assert_eq!(before.health, Health::Serving(Mode::Follower));
    let epoch = before.zxid().unwrap().epoch();
    assert_eq!(
        before.current_view().unwrap().view.servers().len(),
        3,
        "{:?}",
        before.view
    );

    let zk1 = host_address(&sandbox, "zk1");
    let slot_prefix = zk1.rsplit_once('.').unwrap().0.to_string();
    let cfg = sandbox.dir.join("hosts/zk1/zoo.cfg");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!("server.4={slot_prefix}.4:2888:3888:observer\n"));
    std::fs::write(&cfg, text).unwrap();
    restart_zk1(&sandbox).await;

    let asked = poller.cycle(0).await;
    let after = &poller.state.nodes[0];
    assert_eq!(
        after.health,
        Health::Serving(Mode::Follower),
        "no mode change"
    );
    assert_eq!(after.zxid().unwrap().epoch(), epoch, "no epoch change");
    assert_ne!(
        after.started_at, before.started_at,
        "the restart was noticed"
    );
    assert!(
        asked.contains(&Command::Conf),
        "conf asked at once: {asked:?}"
    );
    let view = after.current_view().expect("its new view is current");
    assert_eq!(view.source, ViewSource::Conf);
    assert_eq!(view.view.servers().len(), 4, "{}", view.view);
    assert_eq!(view.view.participant_count(), 3);
}

/// A stock server (`srvr` alone whitelisted) with its AdminServer: `mntr` and the
/// view come from HTTP, into the same types, and the card says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_server_gives_what_the_whitelist_refuses() {
    let sandbox = Sandbox::up_with(3, 0, 0, &["--whitelist", "srvr", "--admin"]);
    let inventory = inventory(&sandbox);
    let mut poller = Poller::new(&inventory);
    for _ in 0..2 {
        poller.cycle_all().await;
    }
    let state = &poller.state;
    let leader = state.leader().expect("a leader");
    let node = &state.nodes[leader];
    assert_eq!(node.srvr_source, Some(Source::FourLw));
    assert_eq!(node.routes.mntr, Support::NotWhitelisted);
    assert_eq!(node.routes.admin, AdminRoute::Answers);
    assert_eq!(node.mntr_source, Some(Source::Admin));
    let mntr = node.mntr.as_ref().unwrap();
    assert_eq!(mntr.synced_voting_followers(), Some(2));
    assert_eq!(mntr.pending_syncs(), Some(0));
    for node in &state.nodes {
        let view = node.current_view().expect("a view from the AdminServer");
        assert_eq!(view.source, ViewSource::AdminVoters);
        assert_eq!(view.view.participant_count(), 3);
    }
    assert!(!state.sync_by_zxid());

    // The AdminServer's round trip, for the record (the research notes: ~4 ms median).
    let admin = inventory.hosts[leader].admin.clone().unwrap();
    let mut millis = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let answer = wire::http_get(&admin, "/commands/srvr", TIMEOUT)
            .await
            .unwrap();
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(answer.status, 200);
    }
    millis.sort_by(f64::total_cmp);
    eprintln!(
        "AdminServer /commands/srvr round trip: min {:.2} ms, median {:.2} ms, max {:.2} ms",
        millis[0], millis[10], millis[19]
    );
}

/// A stock server restarted under a running console: Jetty starts after the client port
/// (`QuorumPeer.start`), so the first questions to a restarting server's AdminServer can be
/// refused. That is made certain here: its AdminServer port refuses connections from before the
/// restart until the second poll after the server's start (an nftables rule of the test's own).
/// Its route must come back within five polls of the start, and the card must read `mntr` and
/// the view from it again, not "srvr only" and `zoo.cfg`. The nodes are named as `watch
/// HOST:PORT,…` names them, without sids: each server tells its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_servers_admin_server_route_comes_back_within_five_polls() {
    let sandbox = Sandbox::up_with(3, 0, 0, &["--whitelist", "srvr", "--admin"]);
    let mut poller = Poller::new(&inventory(&sandbox));
    for target in &mut poller.targets {
        target.sid = None;
    }
    poller.state = EnsembleState::new(poller.targets.clone());
    for _ in 0..2 {
        poller.cycle_all().await;
    }
    for (index, node) in poller.state.nodes.iter().enumerate() {
        assert_eq!(
            node.routes.admin,
            AdminRoute::Answers,
            "{}",
            node.target.name
        );
        assert_eq!(node.sid(), Some(index as u64 + 1), "from the AdminServer");
    }

    let started_before = poller.state.nodes[0].started_at;
    let admin = poller.targets[0].admin.clone();
    let mut refusal = Some(AdminRefusal::new(&admin));
    let zk1 = host_address(&sandbox, "zk1");
    let zkctl = sandbox.dir.join("hosts/zk1/zkctl");
    // In the background, so the polls go on while it runs, as a console's do.
    let output = sandbox.ssh(
        &format!("zkpilot-h1@{zk1}"),
        &format!("nohup {} restart >/dev/null 2>&1 &", zkctl.display()),
    );
    assert!(output.status.success(), "{output:?}");
    // Polled as `watch --interval 1s` does: one cycle a second.
    let interval = Duration::from_secs(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut silent_seen = false;
    let mut since_start: Option<u32> = None;
    loop {
        assert!(Instant::now() < deadline, "zk1 never came back");
        let next = tokio::time::Instant::now() + interval;
        poller.cycle(0).await;
        let node = &poller.state.nodes[0];
        silent_seen |= matches!(node.routes.admin, AdminRoute::Silent { .. });
        if since_start.is_some_and(|polls| polls >= 2) {
            refusal = None;
        }
        // Counted from the poll in which the model saw the server start.
        if node.started_at != started_before {
            since_start = Some(since_start.map_or(1, |polls| polls + 1));
        }
        let back = node.routes.admin == AdminRoute::Answers
            && node.health.mode().is_some()
            && node.mntr_source == Some(Source::Admin)
            && node
                .current_view()
                .is_some_and(|v| v.source == ViewSource::AdminVoters);
        if let Some(polls) = since_start {
            if back {
                eprintln!("admin route back {polls} polls after the start");
                break;
            }
            assert!(
                polls < 5 || back,
                "{polls} polls after its start: route {:?}, mntr from {:?}, view {:?}, health {:?}",
                node.routes.admin,
                node.mntr_source,
                node.view.as_ref().map(|v| v.source),
                node.health
            );
        }
        tokio::time::sleep_until(next).await;
    }
    drop(refusal);
    assert!(silent_seen, "the refused AdminServer was taken for silent");
    assert_eq!(poller.state.nodes[0].sid(), Some(1));
    let schedule = &poller.schedules[0];
    assert_eq!(
        schedule.routes.admin,
        AdminRoute::Answers,
        "the schedule agrees"
    );
}

/// An nftables table of the test's own that refuses connections to one `ip:port` from this
/// host, as a port nothing listens on does; deleted when dropped.
struct AdminRefusal {
    table: String,
}

impl AdminRefusal {
    fn new(addr: &str) -> AdminRefusal {
        let (ip, port) = addr.rsplit_once(':').expect("ip:port");
        let table = format!("zkpilot_test_refuse_{}", std::process::id());
        let script = format!(
            "table inet {table} {{\n  chain out {{\n    type filter hook output priority 0;\n    \
             ip daddr {ip} tcp dport {port} reject with tcp reset\n  }}\n}}\n"
        );
        let mut nft = std::process::Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft");
        use std::io::Write;
        nft.stdin
            .take()
            .expect("nft's stdin")
            .write_all(script.as_bytes())
            .expect("the rule written to nft");
        assert!(nft.wait().expect("nft ran").success(), "{script}");
        AdminRefusal { table }
    }
}

impl Drop for AdminRefusal {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nft")
            .args(["delete", "table", "inet", &self.table])
            .status();
    }
}

/// Config views over SSH (the `config` verb), also when the server lines live in a
/// 3.5+ dynamic config file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_views_are_read_over_ssh_also_from_a_dynamic_file() {
    let sandbox = Sandbox::up_with(3, 0, 0, &["--reconfig", "--whitelist", "srvr"]);
    let inventory = inventory(&sandbox);
    let connections = Connections::new(Duration::from_secs(10), sandbox.dir.clone());
    let host = &inventory.hosts[0];
    let target = SshTarget::from_inventory(&inventory, host);
    let text = connections
        .read_config(&target, host.command("config"))
        .await
        .unwrap();
    assert!(text.contains("dynamicConfigFile="), "{text}");
    let view = View::parse_lines(text.lines()).unwrap();
    assert_eq!(view.participant_count(), 3, "{text}");

    let mut poller = Poller::new(&inventory);
    poller.cycle_all().await;
    assert!(
        poller.state.nodes[0].current_view().is_none(),
        "srvr alone shows no view"
    );
    assert_eq!(
        poller.state.zoo_cfg_reads_due(zkpilot::poll::unix_millis()),
        [0, 1, 2]
    );
    assert!(poller
        .state
        .apply_zoo_cfg(0, Ok(text), zkpilot::poll::unix_millis()));
    let view = poller.state.nodes[0].current_view().unwrap();
    assert_eq!(view.source, ViewSource::ZooCfg);
    connections.close_all().await;
}

/// A server that answers on no route — frozen (SIGSTOP), so neither its client
/// port nor its AdminServer answers — is shown as down, never as healthy; it is counted again
/// once it answers. (`srvr` itself cannot be refused: `FourLetterCommands.isEnabled` always
/// allows it, so a 4lw whitelist never silences a ZooKeeper server.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_on_no_route_is_shown_as_down() {
    let sandbox = Sandbox::up_with(3, 0, 0, &["--whitelist", "srvr", "--admin"]);
    let mut poller = Poller::new(&inventory(&sandbox));
    poller.cycle(0).await;
    assert_eq!(
        poller.state.nodes[0].health,
        Health::Serving(Mode::Follower)
    );
    assert_eq!(poller.state.nodes[0].routes.admin, AdminRoute::Answers);
    let pid: i32 = sandbox.pid("zk1").parse().unwrap();
    let signal = |name: &str| {
        let status = std::process::Command::new("kill")
            .args([name, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    signal("-STOP");
    // A stop reaches each of the JVM's threads on its own: until all of them are stopped, one
    // may still answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_threads_stopped(pid) {
        assert!(Instant::now() < deadline, "zk1 never stopped");
        std::thread::yield_now();
    }
    poller.cycle(0).await;
    let frozen = poller.state.nodes[0].clone();
    signal("-CONT");
    assert_eq!(frozen.health, Health::Down(PollFailure::Timeout));
    assert_eq!(frozen.health.mode(), None, "never healthy");
    assert!(frozen.health.label().starts_with("DOWN"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while poller.state.nodes[0].health.mode().is_none() {
        assert!(Instant::now() < deadline, "zk1 never came back");
        poller.cycle(0).await;
    }
}

/// Whether every thread of `pid` is stopped (state `T` in `/proc/PID/task/*/stat`).
fn all_threads_stopped(pid: i32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|stat| {
                // The state follows the command name, which is in parentheses.
                let after = &stat[stat.rfind(')')? + 1..];
                after.split_whitespace().next().map(|state| state == "T")
            })
            .unwrap_or(false)
    })
}

/// A LOOKING server answers `srvr` with no counters, so a restart between two polls
/// is told by its process id over SSH (the `status` verb) instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looking_server_restarted_between_polls_is_told_by_its_process_id() {
    let sandbox = Sandbox::up(3, 0, 0);
    let inventory = inventory(&sandbox);
    for host in ["zk2", "zk3"] {
        let address = host_address(&sandbox, host);
        let user = format!("zkpilot-h{}@{address}", &host[2..]);
        let zkctl = sandbox.dir.join(format!("hosts/{host}/zkctl"));
        let output = sandbox.ssh(&user, &format!("{} stop", zkctl.display()));
        assert!(output.status.success(), "{output:?}");
    }
    let mut poller = Poller::new(&inventory);
    let deadline = Instant::now() + Duration::from_secs(30);
    while poller.state.nodes[0].health != Health::NotServing {
        assert!(Instant::now() < deadline, "zk1 never went LOOKING");
        poller.cycle(0).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connections = Connections::new(Duration::from_secs(10), sandbox.dir.clone());
    let host = &inventory.hosts[0];
    let target = SshTarget::from_inventory(&inventory, host);
    let status = host.command("status").unwrap().to_string();
    let now = zkpilot::poll::unix_millis();
    assert_eq!(poller.state.pid_reads_due(now), [0]);
    let first = connections.read(&target, &status).await;
    assert!(
        !poller.state.apply_pid(0, first, now),
        "the first id is no restart"
    );
    let started = poller.state.nodes[0].started_at;

    restart_zk1_until(&sandbox, "not serving").await;
    poller.cycle(0).await;
    assert_eq!(poller.state.nodes[0].health, Health::NotServing);
    assert_eq!(
        poller.state.nodes[0].started_at, started,
        "srvr alone cannot tell"
    );
    let second = connections.read(&target, &status).await;
    let at = zkpilot::poll::unix_millis();
    assert!(poller.state.apply_pid(0, second, at), "a new process id");
    assert_eq!(poller.state.nodes[0].started_at, Some(at));
    connections.close_all().await;
}
