//! The seed procedures rehearsed with `--autopilot` on real ZooKeeper while an independent
//! client writes numbered znodes and a monitor samples every node: the deck's split-brain-free
//! expansion ends in one five-server ensemble, the naive order is stopped before the step that
//! allows two leaders, stateless replacement brings every server back with its id and data, and
//! mitosis leaves two separate ensembles, and the Kubernetes migration ends with every server
//! id in a "pod" behind its stable service address. No acknowledged write is ever lost.

use std::time::Duration;

use crate::common::rehearsal::{most_leaders, rehearse, rehearse_writing_to, Rehearsal};
use crate::common::zk_client::{self, Client};
use crate::common::{
    ask, assert_audit_verifies, audit_records, count, mode, project_file, Sandbox,
};
use zkpilot::zk::fourlw::{self, Answer};

fn view_size(client: &str) -> usize {
    let text = ask(client, "conf").unwrap_or_default();
    match fourlw::parse_conf(&text) {
        Ok(Answer::Data(conf)) => conf.view().map_or(0, |v| v.participant_count()),
        _ => 0,
    }
}

/// Every step's forecast in the log ruled out two leaders.
fn assert_no_verdict_allowed_two_leaders(records: &[serde_json::Value]) {
    assert!(records
        .iter()
        .filter(|r| r["kind"] == "verdict")
        .all(|r| r["split_brain_possible"] == false));
}

const THREE: [&str; 3] = ["zk1", "zk2", "zk3"];
const THREE_SPARES: [&str; 3] = ["zk4", "zk5", "zk6"];

/// `runbooks/<runbook>.yaml` rehearsed by autopilot on three servers and three spares, all six
/// watched, the writer writing to `write_to`.
/// Every write the ensemble acknowledged during the rehearsal is read back from `hosts`.
fn assert_no_acknowledged_write_lost(sandbox: &Sandbox, rehearsal: &Rehearsal, hosts: &[&str]) {
    let clients: Vec<String> = hosts.iter().map(|h| sandbox.client(h)).collect();
    let lost = rehearsal
        .writes
        .verify(&clients)
        .expect("the ensemble answers reads");
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}

/// The shipped runbook `runbooks/NAME.yaml` rehearsed with `--yes`, writing to `write_to`
/// and watching `watch`.
fn rehearse_shipped(sandbox: &Sandbox, name: &str, write_to: &[&str], watch: &[&str]) -> Rehearsal {
    rehearse(
        sandbox,
        &project_file(&format!("runbooks/{name}.yaml")),
        &["--yes"],
        write_to,
        watch,
    )
}

fn rehearse_on_three_and_three_spares(runbook: &str, write_to: &[&str]) -> (Sandbox, Rehearsal) {
    let sandbox = Sandbox::up(3, 0, 3);
    let all: Vec<&str> = THREE.iter().chain(&THREE_SPARES).copied().collect();
    let rehearsal = rehearse_shipped(&sandbox, runbook, write_to, &all);
    (sandbox, rehearsal)
}

/// Waits until `hosts` are one leader and `followers` followers.
fn wait_for_a_leader_and_followers(sandbox: &Sandbox, hosts: &[&str], followers: usize) {
    sandbox.wait_for_modes(hosts, Duration::from_secs(30), |m| {
        m.iter().filter(|x| *x == "leader").count() == 1
            && m.iter().filter(|x| *x == "follower").count() == followers
    });
}

#[test]
fn split_brain_free_migration_grows_to_five_and_replaces_every_original_host() {
    let sandbox = Sandbox::up(3, 0, 5);
    let hosts = ["zk1", "zk2", "zk3", "zk4", "zk5", "zk6", "zk7", "zk8"];
    let originals = &hosts[..3];
    let last = &hosts[3..];
    let rehearsal = rehearse_shipped(&sandbox, "split-brain-free-expand", &hosts, &hosts);
    rehearsal.assert_succeeded();
    wait_for_a_leader_and_followers(&sandbox, last, 4);
    for host in originals {
        assert_eq!(mode(&sandbox.client(host)), "down", "{host} was replaced");
    }
    for host in last {
        let conf = ask(&sandbox.client(host), "conf").unwrap_or_default();
        assert_eq!(view_size(&sandbox.client(host)), 5, "{host}: {conf}");
        for original in originals {
            let address = sandbox.client(original).replace(":2181", ":2888");
            assert!(
                !conf.contains(&address),
                "{host} still names {original}: {conf}"
            );
        }
    }
    // The replacements took over the ids 1 to 3: every id is served by one of the five.
    let mut ids: Vec<u64> = last
        .iter()
        .filter_map(|h| {
            let conf = ask(&sandbox.client(h), "conf").unwrap_or_default();
            conf.lines()
                .find_map(|l| l.strip_prefix("serverId="))
                .and_then(|id| id.trim().parse().ok())
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert_eq!(
        most_leaders(&rehearsal.samples, &[0, 1, 2, 3, 4, 5, 6, 7]),
        1
    );
    assert_no_acknowledged_write_lost(&sandbox, &rehearsal, last);
    assert!(rehearsal.writes.acked.len() >= 20, "{}", rehearsal.writes);
    assert_no_verdict_allowed_two_leaders(&audit_records(&rehearsal.audit));
    assert_audit_verifies(&rehearsal.audit);
}

#[test]
fn the_naive_expansion_is_stopped_before_two_leaders_become_possible() {
    let sandbox = Sandbox::up(3, 0, 2);
    let hosts = ["zk1", "zk2", "zk3", "zk4", "zk5"];
    let rehearsal = rehearse_shipped(&sandbox, "naive-expand", &hosts[..3], &hosts);
    let (out, audit) = (&rehearsal.out, &rehearsal.audit);
    let stdout = rehearsal.stdout();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("stopped before `restart-r`: split brain"),
        "{stdout}"
    );
    let records = audit_records(audit);
    assert!(records
        .iter()
        .any(|r| r["kind"] == "step" && r["step"] == "start-s-and-t" && r["state"] == "done"));
    assert!(
        records
            .iter()
            .all(|r| r["kind"] != "intent" || r["step"] != "restart-r"),
        "R was never touched"
    );
    let modes = sandbox.modes(&["zk1", "zk2", "zk3"]);
    assert_eq!(count(&modes, "leader"), 1, "{modes:?}");
    assert_eq!(
        view_size(&sandbox.client("zk3")),
        3,
        "R still runs the three-server view"
    );
    assert_eq!(most_leaders(&rehearsal.samples, &[0, 1, 2, 3, 4]), 1);
    rehearsal.assert_no_acknowledged_write_lost();
    assert_audit_verifies(audit);
}

#[test]
fn stateless_replacement_brings_every_server_back_in_turn() {
    let sandbox = Sandbox::up(3, 0, 0);
    let hosts = ["zk1", "zk2", "zk3"];
    let pid = |h: &str| sandbox.pid(h);
    let before: Vec<String> = hosts.iter().map(|h| pid(h)).collect();
    let rehearsal = rehearse_shipped(&sandbox, "stateless-replace", &hosts, &hosts);
    rehearsal.assert_succeeded();
    for (host, old) in hosts.iter().zip(&before) {
        assert_ne!(&pid(host), old, "{host} was replaced");
    }
    sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |m| {
        m.iter().filter(|x| *x == "leader").count() == 1
    });
    assert_eq!(most_leaders(&rehearsal.samples, &[0, 1, 2]), 1);
    rehearsal.assert_no_acknowledged_write_lost();
    assert_audit_verifies(&rehearsal.audit);
}

#[test]
fn observer_migration_moves_the_data_to_a_new_ensemble_and_retires_the_old() {
    let (old, new) = (THREE, THREE_SPARES);
    // The writer is a client already pointed at the new servers: it writes through the
    // observers to the old leader, then to the new ensemble.
    let (sandbox, rehearsal) = rehearse_on_three_and_three_spares("observer-migration", &new);
    rehearsal.assert_succeeded();
    wait_for_a_leader_and_followers(&sandbox, &new, 2);
    for host in new {
        assert_eq!(view_size(&sandbox.client(host)), 3, "{host}");
    }
    for host in old {
        assert_eq!(mode(&sandbox.client(host)), "down", "{host} is retired");
    }
    let observed = rehearsal
        .samples
        .iter()
        .any(|(_, m)| m[3..].iter().all(|x| x == "observer"));
    assert!(observed, "the new servers observed first");
    assert_eq!(most_leaders(&rehearsal.samples, &[0, 1, 2]), 1, "old");
    assert_eq!(most_leaders(&rehearsal.samples, &[3, 4, 5]), 1, "new");
    rehearsal.assert_no_acknowledged_write_lost();
    assert_no_verdict_allowed_two_leaders(&audit_records(&rehearsal.audit));
    assert_audit_verifies(&rehearsal.audit);
}

#[test]
fn reconfig_replacement_swaps_a_server_without_a_restart() {
    let sandbox = Sandbox::up_with(3, 0, 1, &["--reconfig"]);
    let hosts = ["zk1", "zk2", "zk3", "zk4"];
    let pid = |h: &str| sandbox.pid(h);
    let before: Vec<String> = hosts[..3].iter().map(|h| pid(h)).collect();
    let rehearsal = rehearse_shipped(&sandbox, "reconfig-replace", &hosts[..3], &hosts);
    rehearsal.assert_succeeded();
    let records = audit_records(&rehearsal.audit);
    let removed = records
        .iter()
        .find(|r| r["kind"] == "intent" && r["step"] == "stop-r")
        .and_then(|r| r["host"].as_str())
        .expect("a server was stopped")
        .to_string();
    let remaining: Vec<&str> = hosts.iter().copied().filter(|h| *h != removed).collect();
    wait_for_a_leader_and_followers(&sandbox, &remaining, 2);
    assert_eq!(mode(&sandbox.client(&removed)), "down");
    for host in &remaining {
        let conf = ask(&sandbox.client(host), "conf").unwrap_or_default();
        assert_eq!(view_size(&sandbox.client(host)), 3, "{host}: {conf}");
        assert!(conf.contains("server.4="), "{host} counts the new server");
    }
    for (host, old) in hosts[..3].iter().zip(&before) {
        if *host != removed {
            assert_eq!(&pid(host), old, "{host} was never restarted");
        }
    }
    assert_eq!(most_leaders(&rehearsal.samples, &[0, 1, 2, 3]), 1);
    assert_no_acknowledged_write_lost(&sandbox, &rehearsal, &remaining);
    assert_audit_verifies(&rehearsal.audit);
}

/// The sequence numbers of the writer's znodes an ensemble holds, each checked for its data.
fn written_sequence(client: &str) -> Vec<u64> {
    let mut session =
        Client::connect(client, 0, zk_client::SESSION_TIMEOUT).expect("the destination answers");
    let mut seqs: Vec<u64> = session
        .get_children(zk_client::ROOT)
        .expect("the writer's root was copied")
        .iter()
        .filter_map(|name| name.strip_prefix("w-")?.parse().ok())
        .collect();
    seqs.sort_unstable();
    for &seq in &seqs {
        let data = session.get_data(&zk_client::znode(seq)).expect("readable");
        assert_eq!(String::from_utf8_lossy(&data), seq.to_string());
    }
    seqs
}

#[test]
fn mitosis_leaves_two_separate_ensembles_and_no_firewall_rule() {
    let (source, destination) = (THREE, THREE_SPARES);
    let (sandbox, rehearsal) = rehearse_on_three_and_three_spares("mitosis", &source);
    rehearsal.assert_succeeded();
    for side in [source, destination] {
        wait_for_a_leader_and_followers(&sandbox, &side, 2);
        for host in side {
            assert_eq!(view_size(&sandbox.client(host)), 3, "{host}");
        }
    }
    assert_eq!(most_leaders(&rehearsal.samples, &[0, 1, 2]), 1, "source");
    assert_eq!(
        most_leaders(&rehearsal.samples, &[3, 4, 5]),
        1,
        "destination"
    );
    rehearsal.assert_no_acknowledged_write_lost();

    // The destination holds the source's history up to the cut: every write from the first on,
    // without a hole, and none the source did not acknowledge.
    let copied = written_sequence(&sandbox.client("zk5"));
    assert!(!copied.is_empty(), "the data was copied");
    assert_eq!(copied, (1..=copied.len() as u64).collect::<Vec<_>>());
    assert!(copied
        .iter()
        .all(|s| rehearsal.writes.acked.contains(s) || rehearsal.writes.unknown.contains(s)));

    let conf = ask(&sandbox.client("zk5"), "conf").unwrap_or_default();
    assert!(
        !conf.contains("server.1="),
        "the destination forgot the source: {conf}"
    );
    for (index, host) in destination.iter().enumerate() {
        let address = sandbox.client(host).replace(":2181", "");
        let zkctl = sandbox.dir.join("hosts").join(host).join("zkctl");
        let rules = sandbox.ssh(
            &format!("zkpilot-h{}@{address}", index + 4),
            &format!("{} firewall", zkctl.display()),
        );
        assert_eq!(String::from_utf8_lossy(&rules.stdout), "", "{host}");
    }
    let records = audit_records(&rehearsal.audit);
    let accepted_split = records.iter().any(|r| {
        r["kind"] == "verdict"
            && r["step"] == "restart-destination"
            && r["split_brain_possible"] == true
    });
    assert!(accepted_split, "the deliberate split is on record");
    assert_audit_verifies(&rehearsal.audit);
}

/// The sandbox's services in front of `hosts` (`--services` names each `HOST-svc`), and the
/// client addresses of a writer already moved to them that still holds the hosts' (which work
/// until the hosts go).
fn behind_services(sandbox: &Sandbox, hosts: &[&str]) -> (Vec<String>, Vec<String>) {
    let services: Vec<String> = hosts.iter().map(|h| format!("{h}-svc")).collect();
    let written_to = services
        .iter()
        .map(String::as_str)
        .chain(hosts.iter().copied())
        .map(|h| sandbox.client(h))
        .collect();
    (services, written_to)
}

/// Seed 000 on the sandbox's stand-in Kubernetes: services are nftables DNAT addresses, pods
/// are spare hosts. The writer is a client already moved to the services (and still holding
/// the host addresses, which work until the hosts go): at the end only the services can serve
/// it, each forwards to the pod that took over its server id, and the pods form the ensemble.
/// One runbook for any size: `voters` voters and `observers` observers, each replaced by the
/// spare the inventory pairs with it (the k-th server by the k-th spare).
fn k8s_migration_moves_every_server_id_into_a_pod_behind_its_service(voters: u8, observers: u8) {
    let servers = usize::from(voters + observers);
    let sandbox = Sandbox::up_with(voters, observers, voters + observers, &["--services"]);
    let names: Vec<String> = (1..=2 * servers).map(|i| format!("zk{i}")).collect();
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let (hosts, pods) = all.split_at(servers);
    let (services, written_to) = behind_services(&sandbox, hosts);
    let started = std::time::Instant::now();
    let rehearsal = rehearse_writing_to(
        &sandbox,
        &project_file("runbooks/k8s-one-for-one.yaml"),
        &["--yes"],
        written_to,
        &all,
    );
    eprintln!(
        "k8s one-for-one on {voters} voters and {observers} observer(s): {:.0} s",
        started.elapsed().as_secs_f64()
    );
    rehearsal.assert_succeeded();
    // Every repetition of every per-server step ran: services, configs, restarts, replacements.
    let records = audit_records(&rehearsal.audit);
    let done = |prefix: &str| {
        records
            .iter()
            .filter(|r| {
                r["kind"] == "step"
                    && r["state"] == "done"
                    && r["step"].as_str().is_some_and(|s| s.starts_with(prefix))
            })
            .count()
    };
    for prefix in [
        "create-service@",
        "peers-to-services@",
        "restart@",
        "replace@",
    ] {
        assert_eq!(done(prefix), servers, "{prefix}");
    }
    sandbox.wait_for_modes(pods, Duration::from_secs(30), |m| {
        m.iter().filter(|x| *x == "leader").count() == 1
            && m.iter().filter(|x| *x == "follower").count() == usize::from(voters) - 1
            && m.iter().filter(|x| *x == "observer").count() == usize::from(observers)
    });
    for host in hosts {
        assert_eq!(mode(&sandbox.client(host)), "down", "{host} was replaced");
    }
    let inventory_path = sandbox.inventory_path();
    let inventory = zkpilot::inventory::Inventory::parse(
        &std::fs::read_to_string(&inventory_path).unwrap(),
        &inventory_path,
    )
    .unwrap();
    let service_peers: Vec<String> = inventory.services.iter().map(|s| s.peer.clone()).collect();
    assert_eq!(service_peers.len(), servers);
    let mut behind = Vec::new();
    for (index, service) in services.iter().enumerate() {
        let sid = index + 1;
        let through = sandbox.client(service);
        let conf = ask(&through, "conf").unwrap_or_default();
        assert!(
            conf.contains(&format!("serverId={sid}\n")),
            "{service} forwards to the server with id {sid}: {conf}"
        );
        // The server answering names its own data directory: which host it runs on. The
        // inventory pairs the k-th server with the k-th spare.
        let pod = pods[index];
        assert!(
            conf.contains(&format!("/hosts/{pod}/data")),
            "{service} forwards to its paired pod {pod}: {conf}"
        );
        behind.push(pod);
        assert_eq!(view_size(&through), usize::from(voters), "{conf}");
        for peer in &service_peers {
            assert!(
                conf.contains(peer.as_str()),
                "{service}'s pod names {peer}: {conf}"
            );
        }
    }
    assert_eq!(behind, pods, "one pod behind each service");
    let everyone: Vec<usize> = (0..all.len()).collect();
    assert_eq!(most_leaders(&rehearsal.samples, &everyone), 1);
    rehearsal.assert_no_acknowledged_write_lost();
    // The writer ends on the services: the hosts it also knew are all gone.
    let mut client =
        zk_client::Client::connect(&sandbox.client("zk2-svc"), 0, Duration::from_secs(10))
            .expect("a session through a service");
    client.sync("/").expect("sync through a service");
    assert_no_verdict_allowed_two_leaders(&records);
    assert_audit_verifies(&rehearsal.audit);
}

#[test]
fn k8s_migration_on_three_voters() {
    k8s_migration_moves_every_server_id_into_a_pod_behind_its_service(3, 0);
}

#[test]
fn k8s_migration_on_five_voters_and_an_observer() {
    k8s_migration_moves_every_server_id_into_a_pod_behind_its_service(5, 1);
}

/// What `zkpilot synthesize` writes is an ordinary runbook that runs: three voters of a live
/// sandbox grown to five (zk4 and zk5 with new ids), the order found by the search and emitted
/// with its gates and waits, rehearsed with `--autopilot` beside the writer and the monitor.
#[test]
fn a_synthesized_expansion_runs_to_the_end_with_one_leader_and_nothing_lost() {
    let sandbox = Sandbox::up(3, 0, 2);
    let hosts = ["zk1", "zk2", "zk3", "zk4", "zk5"];
    let peer = |host: &str| sandbox.client(host).replace(":2181", ":2888:3888");
    sandbox.wait_for_modes(&hosts[..3], Duration::from_secs(30), |m| {
        m.iter().filter(|x| *x == "leader").count() == 1
    });
    let leader = hosts[..3]
        .iter()
        .find(|h| mode(&sandbox.client(h)) == "leader")
        .expect("one of the three leads");
    let lines: Vec<String> = (1..=3)
        .map(|sid| format!("\"server.{sid}={}\"", peer(hosts[sid - 1])))
        .collect();
    let mut state = format!(
        "zookeeper: \"3.8.0\"\nviews:\n  today: [{}]\nnodes:\n",
        lines.join(", ")
    );
    for (sid, host) in hosts[..3].iter().enumerate() {
        state.push_str(&format!(
            "  - {{name: {host}, sid: {}, addr: \"{}\", view: today}}\n",
            sid + 1,
            peer(host)
        ));
    }
    let mut target = String::from("servers:\n");
    for host in &hosts[..3] {
        target.push_str(&format!("  - {{host: {host}}}\n"));
    }
    for (sid, host) in [(4, "zk4"), (5, "zk5")] {
        target.push_str(&format!(
            "  - {{host: {host}, sid: {sid}, addr: \"{}\"}}\n",
            peer(host)
        ));
    }
    let dir = std::path::Path::new(sandbox.dir_str());
    let (state_path, target_path) = (dir.join("now.yaml"), dir.join("five.yaml"));
    std::fs::write(&state_path, state).unwrap();
    std::fs::write(&target_path, target).unwrap();
    let runbook = dir.join("synthesized-expand.yaml");
    synthesize(&[
        "--state",
        state_path.to_str().unwrap(),
        "--target",
        target_path.to_str().unwrap(),
        "--leader",
        leader,
        "-o",
        runbook.to_str().unwrap(),
    ]);

    let rehearsal = rehearse(&sandbox, &runbook, &["--yes"], &hosts[..3], &hosts);
    let five: Vec<(&str, u64, bool)> = hosts.iter().map(|h| (*h, sid_of(h), false)).collect();
    assert_ends_on_target(&sandbox, &rehearsal, &five, &[]);
}

/// `zkpilot synthesize ARGS`, which must find an order; its summary line is printed.
fn synthesize(args: &[&str]) {
    let out = crate::common::zkpilot(&[&["synthesize"], args].concat());
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{shown}");
    let summary = shown.lines().find(|l| l.starts_with("Synthesized: "));
    eprintln!("{}", summary.unwrap_or_default());
}

/// `zkpilot synthesize --inventory` on the live sandbox: the ensemble as one poll saw it, the
/// order to `target` written as `name.yaml` in the sandbox's directory (and the state it read
/// beside it as `name.state.yaml`).
fn synthesize_live(sandbox: &Sandbox, target: &str, name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(sandbox.dir_str());
    let target_path = dir.join(format!("{name}.target.yaml"));
    std::fs::write(&target_path, target).unwrap();
    let runbook = dir.join(format!("{name}.yaml"));
    let inventory = sandbox.inventory_path();
    let [inventory, target, out] =
        [&inventory, &target_path, &runbook].map(|p| p.to_str().unwrap());
    synthesize(&["--inventory", inventory, "--target", target, "-o", out]);
    assert!(dir.join(format!("{name}.state.yaml")).exists());
    runbook
}

/// A target refused after the poll (here a service the inventory does not have) leaves
/// neither the runbook nor the state it read behind: the state file was once written before
/// the target was even read.
fn assert_a_refusal_writes_nothing(sandbox: &Sandbox, target: &str) {
    let dir = std::path::Path::new(sandbox.dir_str());
    let target_path = dir.join("refused.target.yaml");
    std::fs::write(&target_path, target).unwrap();
    let inventory = sandbox.inventory_path();
    let out = crate::common::zkpilot(&[
        "synthesize",
        "--inventory",
        inventory.to_str().unwrap(),
        "--target",
        target_path.to_str().unwrap(),
        "-o",
        dir.join("refused.yaml").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refused.target.yaml"), "{stderr}");
    assert!(!dir.join("refused.yaml").exists());
    assert!(!dir.join("refused.state.yaml").exists());
}

/// How a synthesized rehearsal must end: every server of the target (host, sid, observer)
/// running the target view, as its own `conf` shows it; every retired host down; one leader
/// at a time among `watched` all along; and every acknowledged write readable from the target.
fn assert_ends_on_target(
    sandbox: &Sandbox,
    rehearsal: &Rehearsal,
    target: &[(&str, u64, bool)],
    retired: &[&str],
) {
    rehearsal.assert_succeeded();
    let hosts: Vec<&str> = target.iter().map(|(h, _, _)| *h).collect();
    let voters = target.iter().filter(|(_, _, o)| !o).count();
    let observers = target.len() - voters;
    sandbox.wait_for_modes(&hosts, Duration::from_secs(60), |m| {
        count(m, "leader") == 1
            && count(m, "follower") == voters - 1
            && count(m, "observer") == observers
    });
    let mut wanted: Vec<(u64, String, bool)> = target
        .iter()
        .map(|(h, sid, o)| (*sid, sandbox.client(h).replace(":2181", ":2888:3888"), *o))
        .collect();
    wanted.sort();
    for (host, sid, _) in target {
        let conf = ask(&sandbox.client(host), "conf").unwrap_or_default();
        let view = match fourlw::parse_conf(&conf) {
            Ok(Answer::Data(conf)) => conf.view().cloned(),
            _ => None,
        };
        let lines: Vec<(u64, String, bool)> = view
            .iter()
            .flat_map(|v| v.servers())
            .map(|l| {
                let observer = l.role == zkpilot::zk::config::PeerRole::Observer;
                (l.sid, l.primary_addr().to_string(), observer)
            })
            .collect();
        assert_eq!(lines, wanted, "{host} runs the target view: {conf}");
        assert!(
            conf.contains(&format!("serverId={sid}\n")),
            "{host}: {conf}"
        );
    }
    for host in retired {
        assert_eq!(mode(&sandbox.client(host)), "down", "{host} retired");
    }
    let everyone: Vec<usize> = (0..rehearsal.samples.first().map_or(0, |(_, m)| m.len())).collect();
    assert_eq!(most_leaders(&rehearsal.samples, &everyone), 1);
    assert!(rehearsal.writes.acked.len() >= 20, "{}", rehearsal.writes);
    assert_no_acknowledged_write_lost(sandbox, rehearsal, &hosts);
    assert_no_verdict_allowed_two_leaders(&audit_records(&rehearsal.audit));
    assert_audit_verifies(&rehearsal.audit);
}

/// The host leading among `hosts` once one leads.
fn leader_of<'a>(sandbox: &Sandbox, hosts: &[&'a str]) -> &'a str {
    let followers = hosts.len() - 1;
    wait_for_a_leader_and_followers(sandbox, hosts, followers);
    hosts
        .iter()
        .copied()
        .find(|h| mode(&sandbox.client(h)) == "leader")
        .expect("one of them leads")
}

/// The leader of `voters` once `observer` serves: a live read refuses a running server whose
/// view it cannot read, and an observer answers `conf` only once it has synced, which may be
/// after the voters elected a leader.
fn leader_once_observed<'a>(sandbox: &Sandbox, voters: &[&'a str], observer: &str) -> &'a str {
    let leader = leader_of(sandbox, voters);
    sandbox.wait_for_modes(&[observer], Duration::from_secs(30), |m| m[0] == "observer");
    leader
}

/// The host's number: its sid in the sandbox.
fn sid_of(host: &str) -> u64 {
    host.trim_start_matches("zk").parse().unwrap()
}

/// Five voters, two followers replaced by the spares zk6 and zk7, which take over their ids
/// with empty data directories; synthesized from the live sandbox.
#[test]
fn a_synthesized_replacement_of_two_hosts_of_five_takes_over_their_ids() {
    let sandbox = Sandbox::up(5, 0, 2);
    let all = ["zk1", "zk2", "zk3", "zk4", "zk5", "zk6", "zk7"];
    let leader = leader_of(&sandbox, &all[..5]);
    let (retired, kept): (Vec<&str>, Vec<&str>) = {
        let followers: Vec<&str> = all[..5].iter().copied().filter(|h| *h != leader).collect();
        let kept = all[..5]
            .iter()
            .copied()
            .filter(|h| !followers[..2].contains(h))
            .collect();
        (followers[..2].to_vec(), kept)
    };
    let mut target = String::from("servers:\n");
    let mut wanted = Vec::new();
    for host in &kept {
        target.push_str(&format!("  - {{host: {host}}}\n"));
        wanted.push((*host, sid_of(host), false));
    }
    for (new, old) in ["zk6", "zk7"].into_iter().zip(&retired) {
        target.push_str(&format!("  - {{host: {new}, sid_of: {old}}}\n"));
        wanted.push((new, sid_of(old), false));
    }
    let runbook = synthesize_live(&sandbox, &target, "replace-two");
    let rehearsal = rehearse(&sandbox, &runbook, &["--yes"], &all, &all);
    assert_ends_on_target(&sandbox, &rehearsal, &wanted, &retired);
}

/// Five voters shrunk to three: two followers retire, the leader and two others stay (a
/// leader that retires leaves no safe order by restarts: another retiring server may win the
/// election after it, and the servers on the three-server view cannot follow it).
#[test]
fn a_synthesized_shrink_from_five_to_three_retires_two() {
    let sandbox = Sandbox::up(5, 0, 0);
    let all = ["zk1", "zk2", "zk3", "zk4", "zk5"];
    let leader = leader_of(&sandbox, &all);
    let followers: Vec<&str> = all.iter().copied().filter(|h| *h != leader).collect();
    let (stay, retired) = followers.split_at(2);
    let mut target = format!("servers:\n  - {{host: {leader}}}\n");
    let mut wanted = vec![(leader, sid_of(leader), false)];
    for host in stay {
        target.push_str(&format!("  - {{host: {host}}}\n"));
        wanted.push((*host, sid_of(host), false));
    }
    assert_a_refusal_writes_nothing(
        &sandbox,
        &format!("{target}services:\n  - {{serves: {leader}, peer: \"{leader}-svc:2888:3888\"}}\n"),
    );
    let runbook = synthesize_live(&sandbox, &target, "shrink");
    let text = std::fs::read_to_string(&runbook).unwrap();
    assert!(
        text.contains(&format!("the live leader ({leader}) restarted last")),
        "the poll's leader is the one restarted last:\n{text}"
    );
    let rehearsal = rehearse(&sandbox, &runbook, &["--yes"], &all, &all);
    assert_ends_on_target(&sandbox, &rehearsal, &wanted, retired);
}

/// Three voters and an observer: the observer zk4 becomes a voter while a follower retires.
#[test]
fn a_synthesized_promotion_makes_the_observer_a_voter_while_a_voter_retires() {
    let sandbox = Sandbox::up(3, 1, 0);
    let all = ["zk1", "zk2", "zk3", "zk4"];
    let leader = leader_once_observed(&sandbox, &all[..3], "zk4");
    let retired = all[..3]
        .iter()
        .copied()
        .find(|h| *h != leader)
        .expect("a follower");
    let mut target = String::from("servers:\n");
    let mut wanted = Vec::new();
    for host in all[..3].iter().filter(|h| **h != retired) {
        target.push_str(&format!("  - {{host: {host}}}\n"));
        wanted.push((*host, sid_of(host), false));
    }
    target.push_str("  - {host: zk4, role: participant}\n");
    wanted.push(("zk4", 4, false));
    let runbook = synthesize_live(&sandbox, &target, "promote");
    let rehearsal = rehearse(&sandbox, &runbook, &["--yes"], &all, &all);
    assert_ends_on_target(&sandbox, &rehearsal, &wanted, &[retired]);
}

/// The LINE deck's migration (seed 004) on 3.8 rules: P, Q, R (zk1-zk3) grown by S and T (zk4,
/// zk5) to five, then A, B, C (zk6-zk8) take over P's, Q's and R's ids.
#[test]
fn the_synthesized_line_migration_grows_to_five_and_replaces_all_three_on_3_8_rules() {
    let sandbox = Sandbox::up(3, 0, 5);
    let all = ["zk1", "zk2", "zk3", "zk4", "zk5", "zk6", "zk7", "zk8"];
    wait_for_a_leader_and_followers(&sandbox, &all[..3], 2);
    let target = "zookeeper: 3.8.0\nservers:\n  - {host: zk4, sid: 4}\n  - {host: zk5, sid: 5}\n  - {host: zk6, sid_of: zk1}\n  - {host: zk7, sid_of: zk2}\n  - {host: zk8, sid_of: zk3}\n";
    let runbook = synthesize_live(&sandbox, target, "line");
    let rehearsal = rehearse(&sandbox, &runbook, &["--yes"], &all, &all);
    assert_ends_on_target(
        &sandbox,
        &rehearsal,
        &[
            ("zk4", 4, false),
            ("zk5", 5, false),
            ("zk6", 1, false),
            ("zk7", 2, false),
            ("zk8", 3, false),
        ],
        &["zk1", "zk2", "zk3"],
    );
}

/// A voter down when the poll runs is part of today's ensemble (its id is in the others'
/// views): the live start writes it `up: false`, and the synthesized order starts it again.
#[test]
fn a_voter_down_today_is_read_live_as_down_and_started_again() {
    let sandbox = Sandbox::with_zk1_stopped();
    let all = ["zk1", "zk2", "zk3"];
    let target = "servers:\n  - {host: zk1}\n  - {host: zk2}\n  - {host: zk3}\n";
    let runbook = synthesize_live(&sandbox, target, "restore");
    let state = std::fs::read_to_string(sandbox.dir.join("restore.state.yaml")).unwrap();
    assert!(
        state.contains("{name: \"zk1\", sid: 1, addr: ")
            && state.contains("up: false, view: today}"),
        "{state}"
    );
    let rehearsal = rehearse(&sandbox, &runbook, &["--yes"], &all[1..], &all);
    let three: Vec<(&str, u64, bool)> = all.iter().map(|h| (*h, sid_of(h), false)).collect();
    assert_ends_on_target(&sandbox, &rehearsal, &three, &[]);
}

/// Seed 000 synthesized: three voters and an observer on the sandbox's stand-in Kubernetes
/// (services are nftables DNAT addresses, pods are spare hosts), read live, each replaced by the
/// pod that takes over its id behind its service. The writer is a client already on the services and the
/// hosts; at the end each service forwards to the pod with its id, every pod names its peers by
/// the services, the hosts are down, and no acknowledged write is lost.
#[test]
fn a_synthesized_move_into_pods_behind_services_takes_over_every_id() {
    let sandbox = Sandbox::up_with(3, 1, 4, &["--services"]);
    let all = ["zk1", "zk2", "zk3", "zk4", "zk5", "zk6", "zk7", "zk8"];
    let (hosts, pods) = all.split_at(4);
    leader_once_observed(&sandbox, &hosts[..3], "zk4");
    let inventory_path = sandbox.inventory_path();
    let inventory = zkpilot::inventory::Inventory::parse(
        &std::fs::read_to_string(&inventory_path).unwrap(),
        &inventory_path,
    )
    .unwrap();
    let mut target = String::from("servers:\n");
    for (pod, host) in pods.iter().zip(hosts) {
        let role = if *host == "zk4" {
            ", role: observer"
        } else {
            ""
        };
        target.push_str(&format!("  - {{host: {pod}, sid_of: {host}{role}}}\n"));
    }
    target.push_str("services:\n");
    for host in hosts {
        let service = inventory.service_for(host).expect("a service per server");
        target.push_str(&format!(
            "  - {{serves: {host}, peer: \"{}\"}}\n",
            service.peer
        ));
    }
    let runbook = synthesize_live(&sandbox, &target, "into-pods");
    let (services, written_to) = behind_services(&sandbox, hosts);
    let rehearsal = rehearse_writing_to(&sandbox, &runbook, &["--yes"], written_to, &all);
    rehearsal.assert_succeeded();
    sandbox.wait_for_modes(pods, Duration::from_secs(60), |m| {
        count(m, "leader") == 1 && count(m, "follower") == 2 && count(m, "observer") == 1
    });
    for host in hosts {
        assert_eq!(mode(&sandbox.client(host)), "down", "{host} was replaced");
    }
    let service_peers: Vec<&str> = inventory.services.iter().map(|s| s.peer.as_str()).collect();
    for (index, service) in services.iter().enumerate() {
        let conf = ask(&sandbox.client(service), "conf").unwrap_or_default();
        assert!(
            conf.contains(&format!("serverId={}\n", index + 1)),
            "{service} forwards to the server with id {}: {conf}",
            index + 1
        );
        assert!(
            conf.contains(&format!("/hosts/{}/data", pods[index])),
            "{service} forwards to {}: {conf}",
            pods[index]
        );
        assert_eq!(view_size(&sandbox.client(service)), 3, "{conf}");
        for peer in &service_peers {
            assert!(conf.contains(peer), "{service}'s pod names {peer}: {conf}");
        }
    }
    let everyone: Vec<usize> = (0..all.len()).collect();
    assert_eq!(most_leaders(&rehearsal.samples, &everyone), 1);
    rehearsal.assert_no_acknowledged_write_lost();
    let records = audit_records(&rehearsal.audit);
    assert_no_verdict_allowed_two_leaders(&records);
    assert_audit_verifies(&rehearsal.audit);
}

/// The promotion's state after its leader restarted, reached so that zk2 is left out for sure:
/// zk1 retiring on today's view (zk4 an observer), zk2 on the joint view of four voters, zk3
/// and zk4 on the target. zk2 starts only once zk4 leads zk3, so it can join zk4 only through
/// servers that report following it (`FastLeaderElection.receivedFollowingNotification`), and
/// of its view's four only zk3 and zk4 can: it stays LOOKING, as the analyzer's "may be left
/// out" says. The rest of the synthesized order (zk2 restarted on the target, zk1 stopped)
/// then runs: the sync gate does not wait for a server the live leader can leave out.
#[test]
fn a_voter_the_live_leader_leaves_out_is_not_waited_for_and_its_restart_brings_it_back() {
    let sandbox = Sandbox::up(3, 1, 0);
    let all = ["zk1", "zk2", "zk3", "zk4"];
    // The steps below restart zk4 and zk2 as followers: zk3 must lead. Were zk2 the leader,
    // its restart onto the joint view would start an election that zk1 and zk3 win on today's
    // view, and zk2 and zk4 (the joint view: three of four) would both be left out (rule 17),
    // as a CI run saw. A leader's restart leaves two followers of equal zxid, and the tie goes
    // to the larger sid (`FastLeaderElection.totalOrderPredicate`): zk3.
    for _ in 0..3 {
        let leader = leader_of(&sandbox, &all[..3]);
        if leader == "zk3" {
            break;
        }
        sandbox.zkctl(leader, "restart");
        sandbox.wait_for_modes(&all[..3], Duration::from_secs(60), |m| {
            count(m, "leader") == 1 && count(m, "follower") == 2
        });
    }
    assert_eq!(leader_of(&sandbox, &all[..3]), "zk3");
    sandbox.wait_for_modes(&["zk4"], Duration::from_secs(30), |m| m[0] == "observer");
    let line = |h: &str| {
        let peer = sandbox.client(h).replace(":2181", ":2888:3888");
        format!("server.{}={peer}", sid_of(h))
    };
    let joint: Vec<String> = all.iter().map(|h| line(h)).collect();
    let target: Vec<String> = all[1..].iter().map(|h| line(h)).collect();
    let set = |host: &str, lines: &[String]| {
        let mut args = vec!["set-servers"];
        args.extend(lines.iter().map(String::as_str));
        sandbox.zkctl_args(host, &args);
    };
    let all_serve = |m: &[String]| count(m, "leader") == 1 && count(m, "follower") == 3;
    for (host, lines) in [("zk4", &joint), ("zk2", &joint), ("zk4", &target)] {
        set(host, lines);
        sandbox.zkctl(host, "restart");
        sandbox.wait_for_modes(&all, Duration::from_secs(60), all_serve);
    }
    sandbox.stop("zk2");
    set("zk3", &target);
    sandbox.zkctl("zk3", "restart");
    // Equal zxids: FastLeaderElection's tie goes to the larger sid.
    sandbox.wait_for_modes(&["zk3", "zk4"], Duration::from_secs(60), |m| {
        m[0] == "follower" && m[1] == "leader"
    });
    sandbox.zkctl("zk2", "start");
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        assert_eq!(mode(&sandbox.client("zk2")), "not serving");
        std::thread::sleep(Duration::from_millis(500));
    }

    let runbook = sandbox.dir.join("left-out.yaml");
    std::fs::write(
        &runbook,
        "name: left-out\ndescription: the end of the synthesized promotion\nsource: test\n\
         hosts: [{name: zk1}, {name: zk2}, {name: zk3}, {name: zk4}]\n\
         views:\n  today: [zk1, zk2, zk3, {host: zk4, observer: true}]\n\
         \x20 joint: [zk1, zk2, zk3, zk4]\n  target: [zk2, zk3, zk4]\n\
         initial:\n  up: [zk1, zk2, zk3, zk4]\n\
         \x20 views: {zk1: today, zk2: joint, zk3: target, zk4: target}\n\
         steps:\n\
         \x20 - id: restart-zk2\n    title: Restart zk2 on the target\n    gates: [{synced: {}}]\n\
         \x20   run:\n      - {host: zk2, verb: set-servers, args: [\"${view:target}\"]}\n\
         \x20     - {host: zk2, verb: restart}\n\
         \x20   effect: [{restart: {host: zk2, view: target}}]\n\
         \x20   wait: {timeout: 90s, until: [{mode: {host: zk2, is: [follower, leader]}}, {synced: {}}]}\n\
         \x20 - id: stop-zk1\n    title: Stop zk1\n    gates: [{synced: {}}]\n\
         \x20   run: [{host: zk1, verb: stop}]\n    effect: [{stop: {host: zk1}}]\n\
         \x20   wait: {timeout: 60s, until: [{down: {host: zk1}}, {synced: {}}]}\n",
    )
    .unwrap();
    let rehearsal = rehearse(&sandbox, &runbook, &["--yes"], &all[1..], &all);
    assert_ends_on_target(
        &sandbox,
        &rehearsal,
        &[("zk2", 2, false), ("zk3", 3, false), ("zk4", 4, false)],
        &["zk1"],
    );
}
