//! `zkpilot sandbox` against real ZooKeeper servers and a real sshd.

use std::time::Duration;

use crate::common::{ask, autopilot, count, mode, project_file, zkpilot, Sandbox};

#[test]
fn up_elects_one_leader_serves_ssh_and_down_leaves_nothing() {
    let sandbox = Sandbox::up(3, 0, 2);

    let modes = sandbox.modes(&["zk1", "zk2", "zk3"]);
    assert_eq!(count(&modes, "leader"), 1, "{modes:?}");
    assert_eq!(count(&modes, "follower"), 2, "{modes:?}");
    assert_eq!(
        mode(&sandbox.client("zk4")),
        "down",
        "spares are not started"
    );

    let inventory = std::fs::read_to_string(sandbox.inventory_path()).unwrap();
    assert!(inventory.contains("zookeeper: 3.8.0"), "{inventory}");
    for (index, host) in ["zk1", "zk2", "zk3", "zk4", "zk5"].iter().enumerate() {
        let address = sandbox.client(host).replace(":2181", "");
        let script = sandbox.dir.join("hosts").join(host).join("zkctl");
        let out = sandbox.ssh(
            &format!("zkpilot-h{}@{address}", index + 1),
            &format!("{} status", script.display()),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        if index < 3 {
            assert!(
                out.status.success(),
                "{host}: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("running (pid"), "{stdout}");
        } else {
            assert_eq!(out.status.code(), Some(3), "{host}: {stdout}");
            assert!(stdout.contains("stopped"), "{stdout}");
        }
    }

    let status = zkpilot(&["sandbox", "status", "--dir", sandbox.dir_str()]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("leader") && status.contains("spare"),
        "{status}"
    );

    let dir = sandbox.dir.clone();
    let down = zkpilot(&["sandbox", "down", "--dir", sandbox.dir_str()]);
    assert!(down.status.success());
    assert!(String::from_utf8_lossy(&down.stdout).contains("stopped sshd"));
    let left = zkpilot::rehearse::sandbox::processes_mentioning(dir.to_str().unwrap());
    assert!(left.is_empty(), "still running: {left:?}");
    let again = zkpilot(&["sandbox", "down", "--dir", sandbox.dir_str()]);
    assert!(again.status.success(), "down twice is harmless");
}

#[test]
fn a_host_key_that_is_not_known_is_refused() {
    let sandbox = Sandbox::up(1, 0, 0);
    let ssh = sandbox.dir.join("ssh");
    let empty = sandbox.dir.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let address = sandbox.client("zk1").replace(":2181", "");
    let out = std::process::Command::new("ssh")
        .arg("-i")
        .arg(ssh.join("id_ed25519"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", empty.display()))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-p",
            "2222",
        ])
        .arg(format!("zkpilot-h1@{address}"))
        .arg("true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Host key verification failed"));
}

#[test]
fn the_control_script_restarts_a_spare_into_the_ensemble_over_ssh() {
    let sandbox = Sandbox::up(3, 0, 1);
    let address = sandbox.client("zk4").replace(":2181", "");
    let script = sandbox.dir.join("hosts/zk4/zkctl");
    let lines = ["zk1", "zk2", "zk3", "zk4"]
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let a = sandbox.client(h).replace(":2181", "");
            let observer = if *h == "zk4" { ":observer" } else { "" };
            format!("server.{}={a}:2888:3888{observer}", i + 1)
        })
        .collect::<Vec<_>>()
        .join(" ");
    let user = format!("zkpilot-h4@{address}");
    let set = sandbox.ssh(
        &user,
        &format!(
            "{} set-servers {lines} && {} set-option peerType=observer && {} start",
            script.display(),
            script.display(),
            script.display()
        ),
    );
    crate::common::assert_succeeded(&set);
    sandbox.wait_for_modes(&["zk4"], Duration::from_secs(60), |m| m[0] == "observer");

    let bad = sandbox.ssh(
        &user,
        &format!("{} set-servers 'rm -rf /'", script.display()),
    );
    assert_eq!(bad.status.code(), Some(2));
    let wipe = sandbox.ssh(&user, &format!("{} wipe-data", script.display()));
    assert!(!wipe.status.success(), "wiping a running server is refused");
    let stop = sandbox.ssh(&user, &format!("{} stop", script.display()));
    assert!(stop.status.success());
    assert_eq!(mode(&sandbox.client("zk4")), "down");
}

#[test]
fn a_partition_cuts_the_leader_off_and_heal_brings_it_back() {
    let sandbox = Sandbox::up(3, 0, 0);
    let hosts = ["zk1", "zk2", "zk3"];
    let modes = sandbox.modes(&hosts);
    let leader = hosts[modes.iter().position(|m| m == "leader").unwrap()];
    let others: Vec<&str> = hosts.iter().copied().filter(|h| *h != leader).collect();

    let cut = zkpilot(&[
        "sandbox",
        "partition",
        "--dir",
        sandbox.dir_str(),
        leader,
        &others.join(","),
    ]);
    crate::common::assert_succeeded(&cut);
    let modes = sandbox.wait_for_modes(&hosts, Duration::from_secs(60), |m| {
        let i = hosts.iter().position(|h| *h == leader).unwrap();
        m[i] == "not serving"
            && m.iter().filter(|x| *x == "leader").count() == 1
            && m.iter().filter(|x| *x == "follower").count() == 1
    });
    assert_eq!(modes.len(), 3);

    let heal = zkpilot(&["sandbox", "heal", "--dir", sandbox.dir_str()]);
    assert!(heal.status.success());
    sandbox.wait_for_modes(&hosts, Duration::from_secs(60), |m| {
        m.iter().filter(|x| *x == "leader").count() == 1
            && m.iter().filter(|x| *x == "follower").count() == 2
    });
}

/// The firewall a runbook reaches over SSH, as an operator runs `sudo iptables` on a server:
/// `zkctl block-peers` cuts this host off from the hosts named, only those, and only addresses
/// of this sandbox; `unblock-peers` and `sandbox down` remove every rule and the sudo grant.
#[test]
fn a_host_blocks_and_unblocks_its_peers_through_sudo() {
    let sandbox = Sandbox::up(3, 0, 0);
    let hosts = ["zk1", "zk2", "zk3"];
    let modes = sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |m| {
        m.iter().filter(|x| *x == "follower").count() == 2
    });
    let follower = modes.iter().position(|m| m == "follower").unwrap();
    let name = hosts[follower];
    let address = |host: &str| sandbox.client(host).replace(":2181", "");
    let user_at = format!("zkpilot-h{}@{}", follower + 1, address(name));
    let zkctl = sandbox.dir.join("hosts").join(name).join("zkctl");
    let zkctl = zkctl.display();
    let others: Vec<String> = hosts
        .iter()
        .filter(|h| **h != name)
        .map(|h| address(h))
        .collect();

    let block = sandbox.ssh(
        &user_at,
        &format!("{zkctl} block-peers {}", others.join(" ")),
    );
    crate::common::assert_succeeded(&block);
    let listed = sandbox.ssh(&user_at, &format!("{zkctl} firewall"));
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        others
            .iter()
            .map(|a| format!("blocked {a}\n"))
            .collect::<String>()
    );
    sandbox.wait_for_modes(&hosts, Duration::from_secs(60), |m| {
        m[follower] == "not serving" && m.iter().filter(|x| *x == "leader").count() == 1
    });

    let foreign = sandbox.ssh(&user_at, &format!("{zkctl} block-peers 10.0.0.1"));
    assert_eq!(foreign.status.code(), Some(2), "only sandbox addresses");

    let unblock = sandbox.ssh(
        &user_at,
        &format!("{zkctl} unblock-peers {}", others.join(" ")),
    );
    assert!(unblock.status.success());
    sandbox.wait_for_modes(&hosts, Duration::from_secs(60), |m| {
        m[follower] == "follower" && m.iter().filter(|x| *x == "leader").count() == 1
    });

    let slot = address(name).split('.').nth(2).unwrap().to_string();
    let grant = std::path::PathBuf::from(format!("/etc/sudoers.d/zkpilot-sandbox-{slot}"));
    assert!(grant.exists());
    drop(sandbox);
    assert!(!grant.exists(), "down removes the sudo grant");
}

/// `sandbox up --services`: a stand-in Kubernetes service per server, reached only once
/// `point-service` creates it, repointed in place, refused for addresses outside the sandbox,
/// and gone with `drop-service`.
#[test]
fn a_service_forwards_to_the_host_it_is_pointed_at() {
    let sandbox = Sandbox::up_with(3, 0, 1, &["--services"]);
    let address = |name: &str| sandbox.client(name).replace(":2181", "");
    let zkctl = sandbox.dir.join("hosts").join("zk1").join("zkctl");
    let zkctl = zkctl.display();
    let user_at = format!("zkpilot-h1@{}", address("zk1"));
    let service = address("zk2-svc");
    let run = |command: String| {
        let out = sandbox.ssh(&user_at, &command);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(mode(&sandbox.client("zk2-svc")), "down", "not created yet");

    let (code, out) = run(format!(
        "{zkctl} point-service {service} {}",
        address("zk2")
    ));
    assert_eq!(code, Some(0), "{out}");
    let through = ask(&sandbox.client("zk2-svc"), "conf").unwrap_or_default();
    assert!(through.contains("serverId=2"), "{through}");

    let (code, _) = run(format!(
        "{zkctl} point-service {service} {}",
        address("zk3")
    ));
    assert_eq!(code, Some(0));
    let through = ask(&sandbox.client("zk2-svc"), "conf").unwrap_or_default();
    assert!(
        through.contains("serverId=3"),
        "repointed in place: {through}"
    );
    let (_, listed) = run(format!("{zkctl} firewall"));
    assert_eq!(listed, format!("service {service} -> {}\n", address("zk3")));

    let (code, _) = run(format!("{zkctl} point-service 10.0.0.1 {}", address("zk2")));
    assert_eq!(code, Some(2), "only the sandbox's service addresses");
    let (code, _) = run(format!("{zkctl} point-service {service} 10.0.0.1"));
    assert_eq!(code, Some(2), "only the sandbox's hosts behind them");

    let (code, _) = run(format!("{zkctl} drop-service {service}"));
    assert_eq!(code, Some(0));
    assert_eq!(mode(&sandbox.client("zk2-svc")), "down");
}

/// A console killed while it drove a sandbox leaves its lock on the hosts (`session::lock`).
/// `sandbox down` and `up` in the same directory bring up a new ensemble that no console
/// holds, so the lock goes with the old one: `./scripts/demo` once refused its own next run,
/// naming a console that had died with the machine's restart.
#[test]
fn a_sandbox_brought_up_again_in_its_directory_is_held_by_no_console() {
    let sandbox = Sandbox::up(3, 0, 0);
    let stale = sandbox.dir.join("hosts/zk1/zkpilot.lock");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(
        stale.join("owner"),
        "session: c4248e033f976cd1\noperator: root (uid 0)\nconsole: elsewhere\npid: 32508\nstarted: 2026-12-06T04:39:55Z\nlog: /nonexistent/audit.jsonl\n",
    )
    .unwrap();
    let down = zkpilot(&["sandbox", "down", "--dir", sandbox.dir_str()]);
    assert!(down.status.success());
    let up = zkpilot(&["sandbox", "up", "--dir", sandbox.dir_str(), "--nodes", "3"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(!stale.exists(), "the stale lock is still there");
    let runbook = project_file("tests/fixtures/runbooks/status-only.yaml");
    let (out, _) = autopilot(&sandbox, &runbook, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
