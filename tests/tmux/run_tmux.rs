//! `zkpilot run` driven in tmux as an operator would: keys in, screen read back.

use std::time::Duration;

use crate::common::tmux::{console, rolling_restart_console};
use crate::common::{ask, assert_audit_verifies, audit_records, mode, Sandbox};

#[test]
fn an_operator_runs_the_rolling_restart_step_by_step() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (tmux, audit) = rolling_restart_console(&sandbox);
    for step in ["restart-first", "restart-second", "restart-leader"] {
        tmux.run_step(step);
    }
    let screen = tmux.wait_for("the end", Duration::from_secs(10), |s| {
        s.contains("every step is done")
    });
    assert!(screen.contains("restart-leader"), "{screen}");
    tmux.send("q");
    tmux.wait_until_exited(Duration::from_secs(10));
    assert_eq!(tmux.query("#{alternate_on}"), "0");

    let records = audit_records(&audit);
    let intents = records.iter().filter(|r| r["kind"] == "intent").count();
    let confirms = records
        .iter()
        .filter(|r| r["kind"] == "decision" && r["decision"]["type"] == "confirm")
        .count();
    assert_eq!((intents, confirms), (3, 3));
    assert!(records.last().unwrap()["kind"] == "session_end");
    assert_audit_verifies(&audit);
}

#[test]
fn a_blocked_step_runs_only_after_an_override_with_a_typed_reason() {
    let sandbox = Sandbox::with_zk1_stopped();

    let audit = sandbox.dir.join("audit.jsonl");
    let tmux = console(&sandbox, "tests/fixtures/runbooks/stop-zk2.yaml", &audit);
    tmux.wait_for("the predicted quorum loss", Duration::from_secs(20), |s| {
        s.contains("NOT accepted") && s.contains("r run the current step")
    });
    tmux.send("r");
    tmux.wait_for("the block", Duration::from_secs(10), |s| {
        s.contains("BLOCKED:") && s.contains("o override")
    });
    tmux.send("o");
    tmux.wait_for("the reason prompt", Duration::from_secs(10), |s| {
        s.contains("override reason:")
    });
    for c in "drill: clients drained".chars() {
        tmux.send(&c.to_string());
    }
    tmux.send("Enter");
    tmux.wait_for("the step done", Duration::from_secs(60), |s| {
        s.lines()
            .any(|l| l.contains("stop-zk2") && l.contains(" done"))
    });
    tmux.send("q");
    tmux.wait_until_exited(Duration::from_secs(10));

    let records = audit_records(&audit);
    let override_at = records
        .iter()
        .position(|r| {
            r["kind"] == "decision" && r["decision"]["reason"] == "drill: clients drained"
        })
        .expect("the override and its reason are recorded");
    let intent_at = records.iter().position(|r| r["kind"] == "intent").unwrap();
    assert!(override_at < intent_at, "nothing ran before the override");
    assert_audit_verifies(&audit);
}

/// The operator's SSH connection drops mid-session: the console's terminal hangs up (SIGHUP,
/// then EIO on every write). The console still closes its log with `session_stop`, releases
/// the ensemble lock and ends its ZooKeeper sessions, where it used to panic restoring the
/// screen (ratatui prints the failure to that same dead terminal) and leave all three behind.
#[test]
fn a_console_whose_terminal_hangs_up_closes_its_log_lock_and_sessions() {
    let sandbox = Sandbox::up(3, 0, 0);
    let (tmux, audit) = rolling_restart_console(&sandbox);
    tmux.wait_for("the first step ready", Duration::from_secs(60), |s| {
        s.contains("r run the current step")
    });
    let pid = tmux.pane_pid();
    tmux.hang_up();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while running(pid) {
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(Duration::from_millis(100));
    }

    let records = audit_records(&audit);
    let last = records.last().unwrap();
    assert_eq!(last["kind"], "session_stop", "{last}");
    assert!(last.to_string().contains("the terminal hung up"), "{last}");
    assert_audit_verifies(&audit);
    for host in ["zk1", "zk2", "zk3"] {
        let lock = sandbox.dir.join("hosts").join(host).join("zkpilot.lock");
        assert!(!lock.exists(), "{host} still holds the lock");
    }
    let leader = ["zk1", "zk2", "zk3"]
        .map(|h| sandbox.client(h))
        .into_iter()
        .find(|c| mode(c) == "leader")
        .expect("a leader");
    let mntr = ask(&leader, "mntr").expect("mntr answered");
    assert!(
        mntr.lines().any(|l| l == "zk_global_sessions\t0"),
        "sessions left: {mntr}"
    );
}

/// Whether `pid` still runs (a zombie waiting for its reaper does not).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z')
        })
        .unwrap_or(false)
}
