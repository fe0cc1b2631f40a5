//! A console whose reader is gone: the operator's SSH connection dropped (SIGHUP, a terminal
//! that answers EIO) or the pipe it prints into was closed (EPIPE). It must still close its
//! log, release the ensemble lock and end its sessions; a print nobody reads is no reason to
//! stop a migration half way.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_audit_verifies, audit_records, project_file, Sandbox, BIN};

const HOSTS: [&str; 3] = ["zk1", "zk2", "zk3"];

fn autopilot(sandbox: &Sandbox, runbook: &str, audit: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.args([
        "run",
        project_file(runbook).to_str().unwrap(),
        "--inventory",
        sandbox.inventory_path().to_str().unwrap(),
        "--autopilot",
        "--yes",
        "--interval",
        "500ms",
        "--audit",
        audit.to_str().unwrap(),
    ]);
    command
}

fn no_lock_left(sandbox: &Sandbox) {
    for host in HOSTS {
        let lock = sandbox.dir.join("hosts").join(host).join("zkpilot.lock");
        assert!(!lock.exists(), "{host} still holds {}", lock.display());
    }
}

/// `run --autopilot | head -1`: the pipe closes after the first line, and the run goes on to
/// its end with every record written, where the next `println!` used to panic (exit 101, the
/// log left without its end, the lock held).
#[test]
fn an_autopilot_whose_output_pipe_closed_runs_to_its_end() {
    let sandbox = Sandbox::up(3, 0, 0);
    let audit = sandbox.dir.join("audit-epipe.jsonl");
    let mut child = autopilot(&sandbox, "tests/fixtures/runbooks/status-only.yaml", &audit)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = wait(&mut child, Duration::from_secs(120));
    assert_eq!(status.code(), Some(0), "{status:?}");
    let records = audit_records(&audit);
    assert_eq!(records.last().unwrap()["kind"], "session_end");
    assert_audit_verifies(&audit);
    no_lock_left(&sandbox);
}

/// An autopilot started over SSH without `nohup` gets SIGHUP when the connection drops: it
/// stops as it does on SIGTERM, its log closed by `session_stop` (resumable) and the lock
/// released, where the default action used to kill it on the spot.
#[test]
fn an_autopilot_that_hangs_up_stops_with_its_log_closed_and_the_lock_released() {
    let sandbox = Sandbox::up(3, 0, 0);
    let audit = sandbox.dir.join("audit-hup.jsonl");
    let mut child = autopilot(
        &sandbox,
        "tests/fixtures/runbooks/rolling-restart-three.yaml",
        &audit,
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Once the first step is done the autopilot is in its loop, signals handled.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !first_step_done(&audit) {
        assert!(Instant::now() < deadline, "no step done within 120 s");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = i32::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let status = wait(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(1), "stopped, not killed: {status:?}");
    let records = audit_records(&audit);
    let last = records.last().unwrap();
    assert_eq!(last["kind"], "session_stop", "{last}");
    assert!(last.to_string().contains("the terminal hung up"), "{last}");
    assert_audit_verifies(&audit);
    no_lock_left(&sandbox);
}

fn first_step_done(audit: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(audit) else {
        return false;
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .any(|r| r["kind"] == "step" && r["state"] == "done")
}

fn wait(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
