//! `zkpilot plan` through the real binary: every shipped runbook plans ok, a wrong one is
//! blocked with exit 1, bad input exits 2 naming the file, line and column.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{zkpilot, BIN};
use zkpilot_core::testing::assert_contains;

const INVENTORY: &str = "name: lab\nzookeeper: 3.8.0\nhosts:\n\
  - {name: zk1, sid: 1, role: participant, client: '127.0.0.2:2181', peer: '127.0.0.2:2888:3888', ssh: 'zk@127.0.0.2', ssh_port: 22, commands: {restart: r, stop: s, start: s}}\n\
  - {name: zk2, sid: 2, role: participant, client: '127.0.0.3:2181', peer: '127.0.0.3:2888:3888', ssh: 'zk@127.0.0.3', ssh_port: 22, commands: {restart: r, stop: s, start: s}}\n\
  - {name: zk3, sid: 3, role: participant, client: '127.0.0.4:2181', peer: '127.0.0.4:2888:3888', ssh: 'zk@127.0.0.4', ssh_port: 22, commands: {restart: r, stop: s, start: s}}\n";

/// `zkpilot plan ARGS` run from the project's root, so paths are the repository's own.
fn plan(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("plan")
        .args(args)
        .output()
        .unwrap()
}

/// What `plan runbooks/RUNBOOK.yaml --inventory tests/fixtures/inventories/INVENTORY.yaml`
/// prints for a runbook it passes.
fn planned_ok(runbook: &str, inventory: &str) -> String {
    let runbook = format!("runbooks/{runbook}.yaml");
    let inventory = format!("tests/fixtures/inventories/{inventory}.yaml");
    let out = plan(&[&runbook, "--inventory", &inventory]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    stdout
}

/// The hosts of each repetition of `step` in a plan's table (`| step@host | …`), in order.
fn repetitions<'a>(plan: &'a str, step: &str) -> Vec<&'a str> {
    plan.lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next()?.split_once('@'))
        .filter(|(s, _)| *s == step)
        .map(|(_, host)| host)
        .collect()
}

/// The committed plan `docs/runbooks/NAME.md` ends with `plan`, what plan says now.
fn assert_documented(name: &str, plan: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/runbooks/{name}.md"));
    let documented = std::fs::read_to_string(path).unwrap();
    assert!(
        documented.ends_with(plan),
        "docs/runbooks/{name}.md drifted: run scripts/plan-docs"
    );
}

fn inventory() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "zkpilot-plan-inventory-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, INVENTORY).unwrap();
    path
}

/// Every shipped runbook plans ok on the lab inventory, except teaching examples, which must
/// be blocked; and the committed plans in docs/runbooks/ match what plan says now.
#[test]
fn every_shipped_runbook_plans_as_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lab = root.join("tests/fixtures/inventories/lab.yaml");
    let mut count = 0;
    for entry in std::fs::read_dir(root.join("runbooks")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let relative = format!("runbooks/{name}.yaml");
        let out = plan(&[
            &relative,
            "--inventory",
            "tests/fixtures/inventories/lab.yaml",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let teaching = std::fs::read_to_string(&path)
            .unwrap()
            .contains("\nteaching:");
        let expected_code = if teaching { 1 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected_code),
            "{name}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let documented =
            std::fs::read_to_string(root.join("docs/runbooks").join(format!("{name}.md")))
                .unwrap_or_else(|_| {
                    panic!("docs/runbooks/{name}.md is missing: run scripts/plan-docs")
                });
        assert!(
            documented.ends_with(&stdout),
            "docs/runbooks/{name}.md drifted from `zkpilot plan`: run scripts/plan-docs"
        );
        assert!(lab.exists());
        count += 1;
    }
    assert!(count >= 4);
}

#[test]
fn stopping_two_of_three_is_blocked_at_that_step() {
    let inventory = inventory();
    let runbook = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runbooks/stop-two-of-three.yaml");
    let out = zkpilot(&[
        "plan",
        runbook.to_str().unwrap(),
        "--inventory",
        inventory.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let blocked: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("BLOCKED") && l.starts_with('|'))
        .collect();
    assert_eq!(blocked.len(), 1, "{stdout}");
    assert!(blocked[0].starts_with("| stop-zk2 "), "{stdout}");

    let json = zkpilot(&[
        "plan",
        runbook.to_str().unwrap(),
        "--inventory",
        inventory.to_str().unwrap(),
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["steps"][0]["verdict"], "ok");
    assert_eq!(value["steps"][1]["verdict"], "blocked");
    assert_eq!(value["steps"][1]["quorum_possible"], false);
}

#[test]
fn bad_input_exits_2_with_the_position() {
    let inventory = inventory();
    let runbook =
        std::env::temp_dir().join(format!("zkpilot-bad-runbook-{}.yaml", std::process::id()));
    std::fs::write(&runbook, "name: x\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nsteps:\n  - {id: a, title: A, run: [{host: zk7, verb: restart}]}\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "plan",
            runbook.to_str().unwrap(),
            "--inventory",
            inventory.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:6:", runbook.display())),
        "{stderr}"
    );
    assert_contains(&stderr, "no host `zk7`");
}

/// `zkpilot --help` is where an operator starts: every command says what it does, in its own
/// words.
#[test]
fn every_command_says_what_it_does() {
    let out = zkpilot(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    let commands = [
        ("analyze", "quorum"),
        ("plan", "Simulate a runbook"),
        ("run", "console"),
        ("sandbox", "loopback"),
        ("watch", "Live panels"),
        ("audit", "audit log"),
        ("replay", "recorded session"),
        ("follow", "in progress"),
    ];
    for (command, words) in commands {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{command} ")))
            .unwrap_or_else(|| panic!("no `{command}` in:\n{help}"));
        assert!(line.contains(words), "`{command}`: {line}");
    }
}

/// A runbook that binds hosts by `pick:` is planned under every binding it can get;
/// one that is safe only when the follower bound to P has the lower id is blocked on 3.4 rules
/// (the larger id dials back from its own view) and passes on 3.8 rules.
#[test]
fn every_binding_of_pick_hosts_is_planned() {
    let plan_on = |version: &str| {
        plan(&[
            "tests/fixtures/runbooks/replace-by-pick.yaml",
            "--inventory",
            "tests/fixtures/inventories/lab.yaml",
            "--zookeeper",
            version,
        ])
    };
    let old = plan_on("3.4.6");
    let text = String::from_utf8_lossy(&old.stdout);
    assert_eq!(old.status.code(), Some(1), "{text}");
    assert_contains(&text, "Hosts: P=zk1, Q=zk2, R=zk3, B=zk4");
    assert_contains(
        &text,
        "- P=zk2, Q=zk1, R=zk3, B=zk4: **BLOCKED** at `stop-r`",
    );
    assert!(!text.contains("- P=zk1, Q=zk2"), "{text}");
    let new = plan_on("3.8.0");
    let text = String::from_utf8_lossy(&new.stdout);
    assert_eq!(new.status.code(), Some(0), "{text}");
    assert_contains(&text, "planned too (5): each keeps");
}

/// One rolling-restart runbook for any ensemble size — on five voters and an
/// observer it restarts the observer first and the leader last, six steps, as documented.
#[test]
fn the_rolling_restart_expands_to_five_voters_and_an_observer() {
    let stdout = planned_ok("rolling-restart", "five-and-observer");
    let restarts = repetitions(&stdout, "restart");
    assert_eq!(restarts, ["zk6", "zk1", "zk2", "zk3", "zk4", "zk5"]);
    assert_documented("rolling-restart-5+1", &stdout);
}

/// One exit-status table for every command: 0 done or verdict given, 1 stopped or
/// hazard, 2 bad input or environment — `sandbox` included, which used to exit 1 on any error.
#[test]
fn every_command_exits_by_the_same_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory = inventory();
    let inventory = inventory.to_str().unwrap();
    let code = |args: &[&str]| {
        let out = zkpilot(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr)
    };

    let ok = root.join("runbooks/rolling-restart.yaml");
    let (status, stderr) = code(&["plan", ok.to_str().unwrap(), "--inventory", inventory]);
    assert_eq!(status, Some(0), "plan ok: {stderr}");

    let blocked = root.join("tests/fixtures/runbooks/stop-two-of-three.yaml");
    let (status, stderr) = code(&["plan", blocked.to_str().unwrap(), "--inventory", inventory]);
    assert_eq!(status, Some(1), "plan blocked: {stderr}");
    assert!(stderr.is_empty(), "the table says why: {stderr}");

    let bad =
        std::env::temp_dir().join(format!("zkpilot-exit-runbook-{}.yaml", std::process::id()));
    std::fs::write(&bad, "name: x\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nsteps:\n  - {id: a, title: A, run: [{host: zk7, verb: restart}]}\n").unwrap();
    let (status, stderr) = code(&["plan", bad.to_str().unwrap(), "--inventory", inventory]);
    assert_eq!(status, Some(2), "bad runbook: {stderr}");
    assert!(
        stderr.contains(&format!("{}:6:", bad.display())),
        "file:line:col: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "printed once: {stderr}");

    // Bad sandbox input is judged before root and packages: nothing is created or started.
    let dir = std::env::temp_dir().join(format!("zkpilot-exit-sandbox-{}", std::process::id()));
    let dir = dir.to_str().unwrap();
    let (status, stderr) = code(&["sandbox", "up", "--dir", dir, "--whitelist", "srvr;id"]);
    assert_eq!(status, Some(2), "sandbox bad whitelist: {stderr}");
    assert_contains(&stderr, "--whitelist");
    let (status, stderr) = code(&[
        "sandbox",
        "up",
        "--dir",
        dir,
        "--nodes",
        "20",
        "--observers",
        "30",
    ]);
    assert_eq!(status, Some(2), "sandbox too many hosts: {stderr}");
    assert!(!Path::new(dir).exists(), "bad input created {dir}");
    let (status, stderr) = code(&["sandbox", "status", "--dir", dir]);
    assert_eq!(status, Some(2), "sandbox status of no sandbox: {stderr}");
    let (status, stderr) = code(&["sandbox", "up", "--dir", dir, "--nodes", "0"]);
    assert_eq!(status, Some(2), "sandbox --nodes 0: {stderr}");

    // A split brain is analyze's verdict, not a failure of the command: 0, as its help says.
    let split = root.join("tests/fixtures/states/valid/slide5_r_restarted.yaml");
    let out = zkpilot(&["analyze", split.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SPLIT BRAIN POSSIBLE"));

    let help = zkpilot(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert_contains(&help, "EXIT STATUS (every command):");
    assert_contains(&help, "  1  stopped before done, or a hazard");
}

/// The Kubernetes migration for any ensemble size — on five voters and an observer
/// every per-server step repeats six times, the restarts and replacements observer first and
/// leader last, each server replaced by the spare the inventory pairs with it; every step is
/// safe, as documented.
#[test]
fn the_k8s_migration_expands_to_five_voters_and_an_observer() {
    let stdout = planned_ok("k8s-one-for-one", "five-and-observer-k8s");
    let of = |step: &str| repetitions(&stdout, step);
    let by_sid = ["zk1", "zk2", "zk3", "zk4", "zk5", "zk6"];
    let leader_last = ["zk6", "zk1", "zk2", "zk3", "zk4", "zk5"];
    assert_eq!(of("create-service"), by_sid);
    assert_eq!(of("peers-to-services"), by_sid);
    assert_eq!(of("restart"), leader_last);
    assert_eq!(of("replace"), leader_last);
    assert!(
        stdout.contains("| replace@zk6 | zk1,zk2,zk3,zk4,zk5,zk12 |"),
        "the observer's pod is the sixth spare: {stdout}"
    );
    let verdicts = stdout.lines().filter(|l| l.ends_with("| ok |")).count();
    assert_eq!(verdicts, 25, "every step safe: {stdout}");
    assert_documented("k8s-one-for-one-5+1", &stdout);
}
