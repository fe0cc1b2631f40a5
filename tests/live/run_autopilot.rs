//! `zkpilot run --autopilot` on a real sandbox: the rolling restart end to end while an
//! independent client writes and a monitor watches the ensemble, and every failure path ending
//! in a clear state.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::rehearsal::{most_leaders, rehearse};
use crate::common::{
    self, assert_audit_verifies, audit_records, autopilot, mode, project_file, run_bin, text,
    zkpilot, Sandbox,
};

#[test]
fn the_rolling_restart_restarts_every_server_once_leader_last_keeping_quorum() {
    assert_synced_by_the_leader(&rolling_restart_on(Sandbox::up(3, 0, 0)));
}

/// Stock servers (`srvr` alone whitelisted) with their AdminServer: `mntr` and the
/// views come from HTTP, so the sync gate decides on the leader's synced followers as usual.
#[test]
fn the_rolling_restart_runs_on_stock_servers_through_the_admin_server() {
    let stock = ["--whitelist", "srvr", "--admin"];
    assert_synced_by_the_leader(&rolling_restart_on(Sandbox::up_with(3, 0, 0, &stock)));
}

/// Stock servers without an AdminServer: views over SSH, sync by zxid, said so.
#[test]
fn the_rolling_restart_runs_on_stock_servers_by_srvr_and_ssh_alone() {
    assert_synced_by_zxid(&rolling_restart_on(Sandbox::up_with(
        3,
        0,
        0,
        &["--whitelist", "srvr"],
    )));
}

/// The sync gate decided on the leader's own list of synced followers.
fn assert_synced_by_the_leader(gates: &[String]) {
    assert!(gates.iter().all(|g| !g.contains("by zxid")), "{gates:?}");
}

/// Without the leader's list (no `mntr`), the sync gate compared zxids and said so.
fn assert_synced_by_zxid(gates: &[String]) {
    assert!(
        gates
            .iter()
            .any(|g| g == "every voter synced with the leader (by zxid)"),
        "{gates:?}"
    );
}

/// Runs `rolling-restart.yaml` by `--autopilot --yes` beside a writer and a monitor, checks
/// every server restarted once with the leader last, quorum kept, no write lost, and the log
/// verified; returns the names of the gates the log recorded.
fn rolling_restart_on(sandbox: Sandbox) -> Vec<String> {
    let hosts = ["zk1", "zk2", "zk3"];
    let clients: Vec<String> = hosts.iter().map(|h| sandbox.client(h)).collect();
    let leader = hosts[clients.iter().position(|c| mode(c) == "leader").unwrap()];
    let before: Vec<String> = hosts.iter().map(|h| sandbox.pid(h)).collect();

    let rehearsal = rehearse(
        &sandbox,
        &project_file("runbooks/rolling-restart.yaml"),
        &["--yes"],
        &hosts,
        &hosts,
    );
    rehearsal.assert_succeeded();
    let stdout = rehearsal.stdout();
    assert!(stdout.contains("done: every step done"), "{stdout}");
    rehearsal.assert_no_acknowledged_write_lost();
    let (audit, samples) = (&rehearsal.audit, &rehearsal.samples);

    assert_every_server_restarted(&sandbox, &hosts, &before);
    let records = audit_records(audit);
    let intents = field_of_each(&records, "intent", "host");
    assert_eq!(intents.len(), 3, "{intents:?}");
    let mut sorted = intents.clone();
    sorted.sort();
    assert_eq!(sorted, hosts, "every server exactly once");
    assert_eq!(intents[2], leader, "the leader last");

    // Between steps (when one is done and before the next starts) a quorum serves.
    let starts = records
        .iter()
        .filter(|r| r["kind"] == "step" && r["state"] == "running")
        .count();
    assert_eq!(starts, 3);
    let quorum = |modes: &Vec<String>| {
        modes.iter().filter(|m| *m == "leader").count() == 1
            && modes
                .iter()
                .filter(|m| *m == "leader" || *m == "follower")
                .count()
                >= 2
    };
    assert!(quorum(&samples.last().unwrap().1), "{:?}", samples.last());
    assert_eq!(
        most_leaders(samples, &[0, 1, 2]),
        1,
        "never two leaders seen"
    );
    let serving = samples.iter().filter(|(_, m)| quorum(m)).count();
    assert!(
        serving * 10 >= samples.len() * 7,
        "a quorum served most of the time: {serving} of {}",
        samples.len()
    );
    assert_audit_verifies(audit);
    field_of_each(&records, "gate", "gate")
}

#[test]
fn a_step_that_would_lose_quorum_is_refused_on_the_live_ensemble() {
    let sandbox = Sandbox::with_zk1_stopped();

    let audit = stops_saying(&sandbox, "stop-zk2", "quorum loss");
    assert_ne!(mode(&sandbox.client("zk2")), "down", "zk2 still runs");
    assert!(
        audit_records(&audit).iter().all(|r| r["kind"] != "intent"),
        "nothing was run"
    );
    assert_audit_verifies(&audit);
}

#[test]
fn a_failing_command_stops_the_run_with_its_exit_status_and_output_recorded() {
    let sandbox = Sandbox::up(1, 0, 0);
    let audit = stops_saying(&sandbox, "failing-command", "exited with 3");
    let records = audit_records(&audit);
    let result = records.iter().find(|r| r["kind"] == "result").unwrap();
    assert_eq!(result["exit_status"], 3);
    assert!(holds(&records, "output", ("text", "the reason")));
    assert_audit_verifies(&audit);
}

#[test]
fn a_node_that_dies_mid_step_makes_the_wait_time_out() {
    let sandbox = Sandbox::up(3, 0, 0);
    let audit = stops_saying(&sandbox, "wait-times-out", "the wait timed out");
    assert!(holds(&audit_records(&audit), "step", ("state", "failed")));
    assert_audit_verifies(&audit);
}

#[test]
fn ssh_refused_and_a_changed_host_key_run_nothing_and_say_why() {
    let sandbox = Sandbox::up(1, 0, 0);
    let inventory = std::fs::read_to_string(sandbox.inventory_path()).unwrap();

    let refused = sandbox.dir.join("inventory-wrong-port.yaml");
    std::fs::write(
        &refused,
        inventory.replace("ssh_port: 2222", "ssh_port: 2999"),
    )
    .unwrap();
    let audit = sandbox.dir.join("audit-refused.jsonl");
    let out = status_only(&refused, &audit);
    // The pre-flight refuses before the log is opened: nothing ran, nothing to log.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pre-flight failed, nothing was run"),
        "{stderr}"
    );
    assert!(stderr.contains("zk1: cannot connect over SSH"), "{stderr}");
    assert!(!audit.exists());

    let known_hosts = sandbox.dir.join("ssh/known_hosts");
    let key = sandbox.impostor_key("impostor");
    let lines: String = std::fs::read_to_string(&known_hosts)
        .unwrap()
        .lines()
        .map(|l| format!("{} {key}\n", l.split_whitespace().next().unwrap()))
        .collect();
    std::fs::write(&known_hosts, lines).unwrap();
    let audit = sandbox.dir.join("audit-hostkey.jsonl");
    let out = status_only(&sandbox.inventory_path(), &audit);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("zk1: THE HOST KEY HAS CHANGED"), "{stderr}");
    assert!(!audit.exists());
}

/// `status-only.yaml` run by autopilot on `inventory`, logging to `audit`.
/// Whether a record of `kind` has `field` equal to `value`.
fn holds(records: &[serde_json::Value], kind: &str, (field, value): (&str, &str)) -> bool {
    records
        .iter()
        .any(|r| r["kind"] == kind && r[field] == value)
}

/// `--autopilot` on the test runbook `tests/fixtures/runbooks/NAME.yaml` stops with exit 1,
/// saying `says`: its audit log.
fn stops_saying(sandbox: &Sandbox, name: &str, says: &str) -> PathBuf {
    let runbook = format!("tests/fixtures/runbooks/{name}.yaml");
    let (stdout, audit) = autopilot_ends(sandbox, &runbook, &[], 1);
    assert!(stdout.contains(says), "{stdout}");
    audit
}

/// `--autopilot` on `runbook` (a path in the project) with `extra`, ended with exit `code`:
/// what it printed, and its audit log.
fn autopilot_ends(
    sandbox: &Sandbox,
    runbook: &str,
    extra: &[&str],
    code: i32,
) -> (String, PathBuf) {
    let (out, audit) = autopilot(sandbox, &project_file(runbook), extra);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(code), "{stdout}");
    (stdout, audit)
}

fn status_only(inventory: &std::path::Path, audit: &std::path::Path) -> std::process::Output {
    run_bin(
        &[
            "run",
            project_file("tests/fixtures/runbooks/status-only.yaml")
                .to_str()
                .unwrap(),
            "--inventory",
            inventory.to_str().unwrap(),
            "--autopilot",
            "--audit",
            audit.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    )
}

/// A runbook that names only the follower it restarts is judged on the whole
/// ensemble (the inventory's other servers keep the quorum), so it runs to the end.
#[test]
fn a_runbook_naming_one_follower_runs_on_the_whole_ensemble() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (stdout, audit) = autopilot_ends(
        &sandbox,
        "tests/fixtures/runbooks/restart-one-follower.yaml",
        &["--yes"],
        0,
    );
    assert!(stdout.contains("done: every step done"), "{stdout}");
    let records = audit_records(&audit);
    let intents = records.iter().filter(|r| r["kind"] == "intent").count();
    assert_eq!(intents, 1, "one restart");
    let verdicts: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["kind"] == "verdict").collect();
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert!(
        verdicts.iter().all(|r| r["quorum_possible"] == true),
        "every step's forecast kept the quorum: {verdicts:?}"
    );
    assert_audit_verifies(&audit);
}

/// The one rolling-restart runbook on five voters and an observer restarts all six
/// servers, the observer first and the leader last, each gated and waited for.
#[test]
fn the_rolling_restart_restarts_five_voters_and_an_observer() {
    five_voters_and_an_observer(Sandbox::up(5, 1, 0));
}

/// Stock servers (`srvr` alone) with their AdminServer.
#[test]
fn five_voters_and_an_observer_on_stock_servers_through_the_admin_server() {
    let stock = ["--whitelist", "srvr", "--admin"];
    assert_synced_by_the_leader(&five_voters_and_an_observer(Sandbox::up_with(
        5, 1, 0, &stock,
    )));
}

/// Stock servers without an AdminServer, views over SSH, sync by zxid.
#[test]
fn five_voters_and_an_observer_on_stock_servers_by_srvr_and_ssh_alone() {
    assert_synced_by_zxid(&five_voters_and_an_observer(Sandbox::up_with(
        5,
        1,
        0,
        &["--whitelist", "srvr"],
    )));
}

/// Runs `rolling-restart.yaml` on 5 voters + 1 observer: every server restarted and waited
/// for, the observer first and the leader last, the log verified; returns the gates' names.
fn five_voters_and_an_observer(sandbox: Sandbox) -> Vec<String> {
    let hosts = ["zk1", "zk2", "zk3", "zk4", "zk5", "zk6"];
    // `sandbox up` returns once a leader is elected; the observer may still be syncing.
    sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |modes| {
        modes
            .iter()
            .all(|m| ["leader", "follower", "observer"].contains(&m.as_str()))
    });
    let leader = hosts
        .iter()
        .find(|h| mode(&sandbox.client(h)) == "leader")
        .unwrap()
        .to_string();
    let observer = hosts
        .iter()
        .find(|h| mode(&sandbox.client(h)) == "observer")
        .unwrap()
        .to_string();
    let before: Vec<String> = hosts.iter().map(|h| sandbox.pid(h)).collect();
    let (_, audit) = autopilot_ends(&sandbox, "runbooks/rolling-restart.yaml", &["--yes"], 0);
    let records = audit_records(&audit);
    let intents = field_of_each(&records, "intent", "host");
    assert_eq!(intents.len(), 6, "{intents:?}");
    assert_eq!(intents[0], observer, "the observer first: {intents:?}");
    assert_eq!(intents[5], leader, "the leader last: {intents:?}");
    assert_every_server_restarted(&sandbox, &hosts, &before);
    let waits = records
        .iter()
        .filter(|r| r["kind"] == "step" && r["state"] == "waiting")
        .count();
    assert_eq!(waits, 6, "every restart waited for");
    assert_audit_verifies(&audit);
    field_of_each(&records, "gate", "gate")
}

/// The text field `field` of each record of kind `kind`, in the log's order.
fn field_of_each(records: &[serde_json::Value], kind: &str, field: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

/// Every host runs under another process id than `before` (taken in the same order).
fn assert_every_server_restarted(sandbox: &Sandbox, hosts: &[&str], before: &[String]) {
    for (h, b) in hosts.iter().zip(before) {
        assert_ne!(*b, sandbox.pid(h), "{h} was not restarted");
    }
}

/// A secret given with `--var` never shows in clear: not in autopilot's lines, the log, its
/// exports or `replay --print` (the hostile corpus's `secret-run.yaml`).
#[test]
fn a_secret_never_shows_in_clear_under_autopilot_nor_in_the_log_or_its_exports() {
    let sandbox = common::Sandbox::up(1, 0, 0);
    let audit = sandbox.dir.join("secret.jsonl");
    let secret = "s3'cr3t-first\nsecond-half-x";
    let out = common::run_bin(
        &[
            "run",
            common::project_file("tests/fixtures/hostile/secret-run.yaml")
                .to_str()
                .unwrap(),
            "--inventory",
            sandbox.inventory_path().to_str().unwrap(),
            "--var",
            &format!("token={secret}"),
            "--autopilot",
            "--audit",
            audit.to_str().unwrap(),
        ],
        Duration::from_secs(90),
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("zk1 $ printf '%s\\n' ***"), "{stdout}");
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        log.contains("\"text\":\"***\""),
        "the output lines are recorded masked: {log}"
    );
    let audit = audit.to_str().unwrap();
    let markdown = zkpilot(&["audit", "export", audit]);
    let printed = zkpilot(&["replay", "--print", audit]);
    for (what, shown) in [
        ("stdout", stdout.clone()),
        ("stderr", stderr),
        ("the log", log),
        ("the Markdown export", text(&markdown.stdout)),
        ("replay --print", text(&printed.stdout)),
    ] {
        for part in ["cr3t", "second-half"] {
            assert!(!shown.contains(part), "{what} shows {part}: {shown}");
        }
    }
}

/// A follower stopped by hand while the runbook waits for another leaves one voter of three:
/// the autopilot stops within a few polls (500 ms each) of that stop, not at the 60 s timeout,
/// saying the quorum was lost and which server stopped outside the runbook.
#[test]
fn a_server_stopped_by_hand_during_a_wait_stops_the_autopilot_naming_it() {
    let sandbox = Sandbox::up(3, 0, 0);
    let hosts = ["zk1", "zk2", "zk3"];
    sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |m| {
        m.iter().any(|x| x == "leader")
    });
    let followers: Vec<&str> = hosts
        .iter()
        .copied()
        .filter(|h| mode(&sandbox.client(h)) == "follower")
        .collect();
    let [victim, other] = followers[..] else {
        panic!("two followers: {followers:?}")
    };
    let audit = sandbox.dir.join("audit-quorum-lost.jsonl");
    let runbook = project_file("tests/fixtures/runbooks/quorum-lost.yaml");
    let (bind_victim, bind_other) = (format!("victim={victim}"), format!("other={other}"));
    let args = common::autopilot_args(
        &sandbox.inventory_path(),
        &runbook,
        &audit,
        &["--yes", "--bind", &bind_victim, "--bind", &bind_other],
    );
    let mut run = common::spawned_until(
        &args,
        &audit,
        Duration::from_secs(90),
        "the step waiting",
        |r| r["kind"] == "step" && r["state"] == "waiting",
    );
    sandbox.stop(other);
    let stopped_at = Instant::now();
    while run.try_wait().unwrap().is_none() {
        assert!(
            stopped_at.elapsed() < Duration::from_secs(30),
            "the autopilot did not stop after {other} was stopped"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = stopped_at.elapsed();
    let out = run.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "quorum lost: other ({other}) stopped outside the runbook"
        )),
        "{stdout}"
    );
    assert!(
        audit_records(&audit).iter().any(|r| r["kind"] == "note"
            && r["text"] == format!("other ({other}) stopped outside the runbook")),
        "recorded"
    );
    assert!(
        took < Duration::from_secs(10),
        "stopped {took:?} after the stop"
    );
    eprintln!("the autopilot stopped {took:?} after {other} was stopped");
    assert_audit_verifies(&audit);
}
