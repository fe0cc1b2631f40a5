//! A trustworthy session on a real sandbox: the pre-flight and `inventory check`,
//! the ensemble lock between two consoles, breaking a dead console's lock, and `--resume`
//! refusing a log that is not this run's.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{
    self, audit_records, mode, project_file, run_bin, text, zkpilot, Sandbox, BIN,
};

const HOSTS: [&str; 3] = ["zk1", "zk2", "zk3"];

fn run_args<'a>(sandbox: &'a Sandbox, runbook: &'a str, log: &'a str) -> Vec<&'a str> {
    let inventory: &'static str = sandbox
        .inventory_path()
        .to_str()
        .unwrap()
        .to_string()
        .leak();
    vec![
        "run",
        runbook,
        "--inventory",
        inventory,
        "--autopilot",
        "--interval",
        "500ms",
        "--audit",
        log,
    ]
}

/// A host's ensemble lock directory.
fn lock_dir(sandbox: &Sandbox, host: &str) -> std::path::PathBuf {
    sandbox.dir.join("hosts").join(host).join("zkpilot.lock")
}

#[test]
fn a_missing_host_key_refuses_the_run_before_any_command_and_inventory_check_names_the_host() {
    let sandbox = Sandbox::up(3, 0, 0);
    let inventory = sandbox.inventory_path();
    let out = zkpilot(&["inventory", "check", inventory.to_str().unwrap()]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    for host in HOSTS {
        assert!(report.contains(&format!("{host}: ok\n")), "{report}");
    }
    assert!(
        report.contains("  status      ok (exit 0: zk1: running"),
        "{report}"
    );

    let known_hosts = sandbox.dir.join("ssh/known_hosts");
    let all = fs::read_to_string(&known_hosts).unwrap();
    let zk2 = sandbox.client("zk2");
    let zk2_address = zk2.split(':').next().unwrap();
    let without: String = all
        .lines()
        .filter(|l| !l.starts_with(&format!("[{zk2_address}]")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, all, "zk2's key was in known_hosts");
    fs::write(&known_hosts, without).unwrap();

    let out = zkpilot(&["inventory", "check", inventory.to_str().unwrap()]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report
            .contains("zk2: FAILED\n  ssh         FAILED: zk2: the host key is not in known_hosts"),
        "{report}"
    );
    assert!(
        report.contains("zk1: ok\n") && report.contains("zk3: ok\n"),
        "{report}"
    );

    let pids: Vec<String> = HOSTS.iter().map(|h| sandbox.pid(h)).collect();
    let log = sandbox.dir.join("preflight.jsonl");
    let runbook = project_file("runbooks/rolling-restart.yaml");
    let args = run_args(&sandbox, runbook.to_str().unwrap(), log.to_str().unwrap());
    let mut args = args.clone();
    args.push("--yes");
    let out = run_bin(&args, Duration::from_secs(60));
    let stderr = refused_saying(&out, "pre-flight failed, nothing was run");
    assert!(
        stderr.contains("\n  zk2: the host key is not in known_hosts"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("  zk1:") && !stderr.contains("  zk3:"),
        "{stderr}"
    );
    // Refused before the log, so before any intent; and nothing restarted.
    assert!(!log.exists());
    let after: Vec<String> = HOSTS.iter().map(|h| sandbox.pid(h)).collect();
    assert_eq!(pids, after);
    for host in HOSTS {
        assert!(!lock_dir(&sandbox, host).exists(), "{host} is locked");
    }
    fs::write(&known_hosts, all).unwrap();
}

/// Samples every server's mode until told to stop; returns the samples.
fn monitor(sandbox: &Sandbox, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Vec<String>>> {
    let clients: Vec<String> = HOSTS.iter().map(|h| sandbox.client(h)).collect();
    std::thread::spawn(move || {
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            samples.push(clients.iter().map(|c| mode(c)).collect());
            std::thread::sleep(Duration::from_millis(100));
        }
        samples
    })
}

#[test]
fn two_consoles_on_one_ensemble_the_second_is_refused_and_no_server_is_down_twice() {
    let sandbox = Sandbox::up(3, 0, 0);
    let before: Vec<usize> = HOSTS.iter().map(|h| sandbox.starts(h).len()).collect();
    let runbook = project_file("runbooks/rolling-restart.yaml");
    let runbook = runbook.to_str().unwrap();
    let first_log = sandbox.dir.join("first.jsonl");
    let second_log = sandbox.dir.join("second.jsonl");
    let stop = Arc::new(AtomicBool::new(false));
    let samples = monitor(&sandbox, stop.clone());

    let mut first_args = run_args(&sandbox, runbook, first_log.to_str().unwrap());
    first_args.push("--yes");
    let mut first = Command::new(BIN)
        .args(&first_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The second console starts once the first holds the lock on every host.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !HOSTS
        .iter()
        .all(|h| lock_dir(&sandbox, h).join("owner").exists())
    {
        assert!(
            Instant::now() < deadline,
            "the first console never took the lock"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first console ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut second_args = run_args(&sandbox, runbook, second_log.to_str().unwrap());
    second_args.push("--yes");
    let second = run_bin(&second_args, Duration::from_secs(60));
    let first = first.wait_with_output().unwrap();
    stop.store(true, Ordering::Relaxed);
    let samples = samples.join().unwrap();

    let said = refused_saying(
        &second,
        "the ensemble is locked by another console: session ",
    );
    assert!(
        said.contains(&format!("log {}", first_log.display())),
        "{said}"
    );
    assert!(said.contains("--break-lock REASON"), "{said}");
    let records = audit_records(&second_log);
    assert!(
        records.iter().all(|r| r["kind"] != "intent"),
        "{records:#?}"
    );
    let last = records.last().unwrap();
    assert_eq!(last["kind"], "session_stop");
    assert!(last["reason"]
        .as_str()
        .unwrap()
        .contains("locked by another console"));

    assert!(first.status.success(), "{}", text(&first.stdout));
    for (host, before) in HOSTS.iter().zip(before) {
        assert_eq!(
            sandbox.starts(host).len() - before,
            1,
            "{host} restarted once"
        );
    }
    // Followers stop serving during the leader's election; a server without a process is one
    // being restarted, and only ever one at a time.
    let most_down = samples
        .iter()
        .map(|s| s.iter().filter(|m| *m == "down").count())
        .max()
        .unwrap();
    assert!(most_down <= 1, "two servers were down at once: {samples:?}");
    for host in HOSTS {
        assert!(
            !lock_dir(&sandbox, host).exists(),
            "{host} still locked after the end"
        );
    }

    // The first session ended with every step done: it is never continued.
    let said = resume_refused(&sandbox, runbook, &first_log);
    assert!(
        said.contains("closed by its session_end (every step done)"),
        "{said}"
    );
}

#[test]
fn a_dead_consoles_lock_is_broken_only_with_a_reason_and_resume_refuses_another_runbook() {
    let sandbox = Sandbox::up(3, 0, 0);
    let runbook = project_file("runbooks/rolling-restart.yaml");
    let runbook = runbook.to_str().unwrap();

    // A console that stopped at its first confirmation: a resumable session.
    let old_log = sandbox.dir.join("old.jsonl");
    let out = run_bin(
        &run_args(&sandbox, runbook, old_log.to_str().unwrap()),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("asks for confirmation"),
        "{}",
        text(&out.stdout)
    );
    let records = audit_records(&old_log);
    assert_eq!(records.last().unwrap()["kind"], "session_stop");
    let session = common::session_id(&old_log);

    // Its console killed while it held the lock: the lock stays on zk2, naming it.
    let dir = lock_dir(&sandbox, "zk2");
    fs::create_dir(&dir).unwrap();
    let hostname = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // The operator is the log's owner: a break writes only into a log its holder owns.
    let operator =
        zkpilot::session::approval::person_of(fs::metadata(&old_log).unwrap().uid()).label();
    fs::write(
        dir.join("owner"),
        format!(
            "session: {session}\noperator: {operator}\nconsole: {}\npid: 1\nstarted: 2026-12-02T09:00:00.000Z\nlog: {}\n",
            hostname.trim(),
            old_log.display()
        ),
    )
    .unwrap();
    // As the host's own user would have left it.
    let host_user = fs::metadata(dir.parent().unwrap()).unwrap();
    for path in [dir.join("owner"), dir.clone()] {
        std::os::unix::fs::chown(&path, Some(host_user.uid()), Some(host_user.gid())).unwrap();
    }

    let new_log = sandbox.dir.join("new.jsonl");
    let out = run_bin(
        &run_args(&sandbox, runbook, new_log.to_str().unwrap()),
        Duration::from_secs(60),
    );
    let said = refused_saying(&out, "on zk2)");
    assert!(said.contains(&format!("of {operator}")), "{said}");
    for host in ["zk1", "zk3"] {
        assert!(
            !lock_dir(&sandbox, host).exists(),
            "{host}'s lock was given back"
        );
    }

    let newer_log = sandbox.dir.join("newer.jsonl");
    let mut args = run_args(&sandbox, runbook, newer_log.to_str().unwrap());
    args.extend(["--break-lock", "bob's console died in the 09:00 window"]);
    let out = run_bin(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let note = audit_records(&newer_log)
        .into_iter()
        .find(|r| r["kind"] == "note")
        .expect("the break is noted");
    let note = note["text"].as_str().unwrap().to_string();
    assert!(
        note.contains("ensemble lock broken with --break-lock on zk2: bob's console died"),
        "{note}"
    );
    assert!(note.contains("the break is recorded in its log"), "{note}");
    let old = audit_records(&old_log);
    assert!(
        old.iter().any(|r| r["kind"] == "note"
            && r["text"]
                .as_str()
                .unwrap()
                .contains("ensemble lock was broken by session")),
        "{old:#?}"
    );
    assert!(!dir.exists(), "the console released the lock it took over");
    common::assert_audit_verifies(&old_log);

    // The old session resumed with another runbook: refused, naming the runbook.
    let other = project_file("tests/fixtures/runbooks/rolling-restart-three.yaml");
    let said = resume_refused(&sandbox, other.to_str().unwrap(), &old_log);
    assert!(said.contains("cannot resume the session of"), "{said}");
    assert!(said.contains("it was written for runbook"), "{said}");
    assert!(
        said.contains("rolling-restart-three.yaml (sha256"),
        "{said}"
    );
    assert_eq!(audit_records(&old_log).len(), old.len(), "nothing appended");
}

#[test]
fn a_discovered_sandbox_inventory_is_accepted_unchanged_by_plan_and_run() {
    let sandbox = Sandbox::up(3, 0, 0);
    let found = sandbox.dir.join("found.yaml");
    let (written, _) = discovered(&sandbox);
    for host in HOSTS {
        assert!(
            written.contains(&format!("- name: '{host}'\n")),
            "{written}"
        );
    }
    assert!(written.contains("# guessed: the peer address"), "{written}");
    // Never over an existing file.
    let again = discover(&sandbox);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(fs::read_to_string(&found).unwrap(), written);

    let out = zkpilot(&["inventory", "check", found.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let runbook = project_file("runbooks/rolling-restart.yaml");
    let out = zkpilot(&[
        "plan",
        runbook.to_str().unwrap(),
        "--inventory",
        found.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let log = sandbox.dir.join("found.jsonl");
    let out = common::autopilot_on(&found, &runbook, &log, &["--yes"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("done: every step done"));
    let intents = audit_records(&log)
        .iter()
        .filter(|r| r["kind"] == "intent")
        .count();
    assert_eq!(intents, 3);
    common::assert_audit_verifies(&log);
}

/// `inventory discover` on `sandbox`, asking zk2, into `found.yaml` (never over a file that
/// exists).
fn discover(sandbox: &Sandbox) -> std::process::Output {
    let found = sandbox.dir.join("found.yaml");
    zkpilot(&[
        "inventory",
        "discover",
        &sandbox.client("zk2"),
        "--preset",
        "sandbox",
        "--dir",
        sandbox.dir_str(),
        "-o",
        found.to_str().unwrap(),
    ])
}

/// [`discover`], which must succeed: the text written and the inventory.
fn discovered(sandbox: &Sandbox) -> (String, zkpilot::inventory::Inventory) {
    let found = sandbox.dir.join("found.yaml");
    let out = discover(sandbox);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = fs::read_to_string(&found).unwrap();
    let inventory = zkpilot::inventory::Inventory::parse(&written, &found)
        .unwrap_or_else(|e| panic!("{e}\n{written}"));
    (written, inventory)
}

/// Discover probes every server's AdminServer where ZooKeeper puts it by default and
/// writes `admin:` where one answers — on a sandbox started with `--admin` (each server's
/// AdminServer on its own address, port 8080), for the voters and the observer alike — and
/// only a comment saying what was tried where none does. Either inventory passes `inventory
/// check` unchanged.
#[test]
fn discover_writes_the_admin_server_of_every_server_where_one_answers() {
    let started = Instant::now();
    let with = Sandbox::up_with(3, 1, 0, &["--admin"]);
    let (written, found) = discovered(&with);
    let own_path = with.inventory_path();
    let own =
        zkpilot::inventory::Inventory::parse(&fs::read_to_string(&own_path).unwrap(), &own_path)
            .unwrap();
    for host in ["zk1", "zk2", "zk3", "zk4"] {
        let expected = own.host(host).and_then(|h| h.admin.clone());
        assert!(expected.is_some(), "the sandbox runs {host}'s AdminServer");
        assert_eq!(
            found.host(host).and_then(|h| h.admin.clone()),
            expected,
            "{written}"
        );
    }
    assert_eq!(
        written
            .matches("# probed: its AdminServer answered /commands/configuration there")
            .count(),
        4,
        "{written}"
    );
    assert!(!written.contains("# admin: none found"), "{written}");
    let out = zkpilot(&[
        "inventory",
        "check",
        with.dir.join("found.yaml").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    drop(with);

    let without = Sandbox::up(3, 0, 0);
    let (written, found) = discovered(&without);
    for host in HOSTS {
        assert_eq!(
            found.host(host).and_then(|h| h.admin.clone()),
            None,
            "{written}"
        );
        let address = without.client(host).replace(":2181", ":8080");
        assert!(
            written.contains(&format!(
                "# admin: none found: no AdminServer answered /commands/configuration at {address} ("
            )),
            "{written}"
        );
    }
    let out = zkpilot(&[
        "inventory",
        "check",
        without.dir.join("found.yaml").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    eprintln!(
        "discover with and without AdminServers: {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// `run RUNBOOK --autopilot --resume LOG` on the sandbox, refused with exit 2: what it said.
fn resume_refused(sandbox: &Sandbox, runbook: &str, log: &Path) -> String {
    let out = run_bin(
        &[
            "run",
            runbook,
            "--inventory",
            sandbox.inventory_path().to_str().unwrap(),
            "--autopilot",
            "--resume",
            log.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    refused_saying(&out, "")
}

/// Exit 2 with `says` on stderr: a run refused before anything ran. What it said.
#[track_caller]
fn refused_saying(out: &Output, says: &str) -> String {
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains(says), "{said}");
    said
}
