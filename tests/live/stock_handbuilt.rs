//! The first hour on a hand-built stock 3.8 ensemble (`common::handbuilt`: a user, home and
//! control script per host, one key-only sshd, an ssh client config with strict host keys):
//! `inventory discover --probe` writes an inventory with nothing guessed that `inventory check`
//! and `plan` accept as written and that `run --autopilot --yes` of the rolling restart
//! finishes on; and with neither the 4lw `conf` nor an AdminServer answering, `--via-ssh`
//! reads the ensemble from one host's zoo.cfg. One ensemble serves both: a hand-built one
//! takes a fixed address block and fixed user names per test process.

use std::path::Path;
use std::time::Duration;

use crate::common::handbuilt::{HandBuilt, SSH_PORT};
use crate::common::stock::wait_serving;
use crate::common::world::{follower_stopped_during_a_restart, resume_finishes_on_the_victim};
use crate::common::{
    assert_audit_verifies, assert_plan_accepts, autopilot_on, mode, path_str, project_file,
    run_bin, text,
};

/// The operator's own verbs: the control script in each user's home.
const VERBS: &str = "start: ~/bin/zkctl start\nstop: ~/bin/zkctl stop\n\
    restart: ~/bin/zkctl restart\nstatus: ~/bin/zkctl status\n";

/// `inventory discover` with the operator's verbs and `ssh_config`, its inventory.
fn discover(built: &HandBuilt, ssh_config: &Path, output: &Path, extra: &[&str]) -> String {
    let verbs = built.dir.join("verbs.yaml");
    std::fs::write(&verbs, VERBS).unwrap();
    let mut args = vec![
        "inventory",
        "discover",
        "--preset",
        "custom",
        "--verbs",
        path_str(&verbs),
        "--ssh-config",
        path_str(ssh_config),
        "-o",
        path_str(output),
    ];
    args.extend_from_slice(extra);
    let out = run_bin(&args, Duration::from_secs(90));
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    std::fs::read_to_string(output).unwrap()
}

#[test]
fn discover_probe_check_plan_and_a_rolling_restart_on_a_hand_built_ensemble() {
    let built = HandBuilt::start();
    discover_via_ssh(&built);
    probe_refused_by_an_unknown_host_key(&built);
    let written = built.dir.join("inventory.yaml");
    let inventory = discover(
        &built,
        &built.ssh_config(),
        &written,
        &[&built.client(1), "--probe"],
    );
    assert!(
        inventory.contains(&format!(
            "from the AdminServer at {}:8080",
            built.address(1)
        )),
        "{inventory}"
    );
    // Nothing guessed: the only mention is the header's advice.
    let guessed = inventory.lines().filter(|l| l.contains("guessed")).count();
    assert_eq!(guessed, 1, "{inventory}");
    for n in 1..=3u8 {
        let host = &inventory[inventory.find(&format!("- name: 'zk{n}'")).unwrap()..];
        let home = built.home(n);
        for expected in [
            format!(
                "ssh: '{}@{}'",
                built.users[usize::from(n) - 1],
                built.address(n)
            ),
            format!("ssh_port: {SSH_PORT}"),
            format!("client: '{}'  # probed", built.client(n)),
            format!("admin: '{}:8080'", built.address(n)),
            "restart: '~/bin/zkctl restart'".to_string(),
            format!("config: 'cat -- {}/conf/zoo.cfg'", home.display()),
            format!("log: 'tail -n 40 -- {}/logs/zookeeper.log'", home.display()),
            format!("ls -A {}/data/version-2", home.display()),
        ] {
            assert!(
                host.contains(&expected),
                "zk{n}: {expected} in\n{inventory}"
            );
        }
    }
    let check = run_bin(
        &["inventory", "check", path_str(&written)],
        Duration::from_secs(90),
    );
    let said = text(&check.stdout);
    assert!(check.status.success(), "{said}\n{}", text(&check.stderr));
    assert!(said.contains(path_str(&built.ssh_config())), "{said}");
    let runbook = project_file("runbooks/rolling-restart.yaml");
    assert_plan_accepts(&written);
    let before: Vec<Option<i32>> = (1..=3).map(|n| built.server_pid(n)).collect();
    let audit = built.dir.join("audit.jsonl");
    let run = autopilot_on(&written, &runbook, &audit, &["--yes"]);
    assert!(
        run.status.success(),
        "{}\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    for n in 1..=3u8 {
        let after = built.server_pid(n);
        assert!(after.is_some(), "zk{n} runs after the restart");
        assert_ne!(after, before[usize::from(n) - 1], "zk{n} was restarted");
    }
    assert_audit_verifies(&audit);
    stopped_by_hand_during_a_restart(&built, &written);
}

/// On the same ensemble, a follower stopped by hand (its own control script, as its user)
/// while the other restarts: the autopilot stops within two polls of the stop, saying the
/// quorum was lost and which server stopped outside the runbook; started again by hand,
/// `--resume --autopilot` finishes the runbook.
fn stopped_by_hand_during_a_restart(built: &HandBuilt, inventory: &Path) {
    let clients: Vec<String> = (1..=3).map(|n| built.client(n)).collect();
    wait_serving(&clients, Duration::from_secs(60));
    let followers: Vec<u8> = (1..=3u8)
        .filter(|n| mode(&built.client(*n)) == "follower")
        .collect();
    let [victim, other] = followers[..] else {
        panic!("two followers: {followers:?}")
    };
    let control = |n: u8, verb: &str| {
        let out = built.as_user(n, &format!("~/bin/zkctl {verb}"));
        assert!(out.status.success(), "zk{n} {verb}: {out:?}");
    };
    let (victim_name, other_name) = (format!("zk{victim}"), format!("zk{other}"));
    let audit = built.dir.join("audit-stopped-by-hand.jsonl");
    let stopped =
        follower_stopped_during_a_restart(inventory, &audit, (&victim_name, &other_name), || {
            control(other, "stop")
        });
    eprintln!(
        "hand-built: noted {:?}, failed {:?} after the stop",
        stopped.noted, stopped.failed
    );
    control(other, "start");
    let serving: Vec<String> = (1..=3u8)
        .filter(|n| *n != victim)
        .map(|n| built.client(n))
        .collect();
    wait_serving(&serving, Duration::from_secs(60));
    resume_finishes_on_the_victim(&stopped.args, &audit, &victim_name);
}

/// Neither the 4lw `conf` nor an AdminServer answers: the ensemble from zk1's zoo.cfg.
fn discover_via_ssh(built: &HandBuilt) {
    let written = built.dir.join("via-ssh.yaml");
    // Nothing answers at the AdminServer address given (as behind a firewall dropping 8080),
    // and a stock server refuses the 4lw conf.
    let nowhere = format!("{}:9", built.address(1));
    let inventory = discover(
        built,
        &built.ssh_config(),
        &written,
        &[&built.client(1), "--admin", &nowhere, "--via-ssh", "zk1"],
    );
    assert!(
        inventory.contains(&format!(
            "from {}/conf/zoo.cfg read over SSH at zk1",
            built.home(1).display()
        )),
        "{inventory}"
    );
    for n in 1..=3u8 {
        assert!(
            inventory.contains(&format!("peer: '{}:2888:3888'", built.address(n))),
            "{inventory}"
        );
    }
    assert_plan_accepts(&written);
    // The config file named outright, on another host, by its user@address.
    let zoo_cfg = built.home(2).join("conf/zoo.cfg");
    let via = format!("{}@{}", built.users[1], built.address(2));
    let named = discover(
        built,
        &built.ssh_config(),
        &built.dir.join("via-zoo-cfg.yaml"),
        &[
            &built.client(2),
            "--admin",
            &nowhere,
            "--via-ssh",
            &via,
            "--zoo-cfg",
            path_str(&zoo_cfg),
        ],
    );
    assert!(
        named.contains(&format!(
            "from {} read over SSH at {via}",
            zoo_cfg.display()
        )),
        "{named}"
    );
}

/// zk3's host key is not in the known_hosts the SSH config names: its probe fails, saying so,
/// and its values stay marked as guesses; the other hosts are read all the same.
fn probe_refused_by_an_unknown_host_key(built: &HandBuilt) {
    let known = std::fs::read_to_string(built.dir.join("known_hosts")).unwrap();
    let without_zk3: String = known
        .lines()
        .filter(|line| !line.starts_with(&format!("[{}]", built.address(3))))
        .map(|line| format!("{line}\n"))
        .collect();
    let partial = built.dir.join("known_hosts.partial");
    std::fs::write(&partial, without_zk3).unwrap();
    let config = std::fs::read_to_string(built.ssh_config())
        .unwrap()
        .replace(path_str(&built.dir.join("known_hosts")), path_str(&partial));
    let partial_config = built.dir.join("ssh_config.partial");
    std::fs::write(&partial_config, config).unwrap();
    let written = built.dir.join("partial.yaml");
    let inventory = discover(
        built,
        &partial_config,
        &written,
        &[&built.client(1), "--probe"],
    );
    let zk3 = &inventory[inventory.find("- name: 'zk3'").unwrap()..];
    assert!(zk3.contains("# probe over SSH failed:"), "{inventory}");
    for guess in [
        "# guessed: its peer host with the clientPort its AdminServer gave",
        "commands:  # guessed: the probe could not check them on the host",
    ] {
        assert!(zk3.contains(guess), "{guess} in {inventory}");
    }
    let zk2 = &inventory
        [inventory.find("- name: 'zk2'").unwrap()..inventory.find("- name: 'zk3'").unwrap()];
    assert!(!zk2.contains("guessed"), "{inventory}");
}
