//! The screens need a terminal: without one (`setsid … </dev/null`, no controlling terminal,
//! stdin not one) `watch`, `replay`, `follow` and `run` say so and exit 2, with no panic
//! (before, crossterm's reader panicked with "reader source not set" first).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{project_file, scratch, text, BIN};
use zkpilot::replay::fixtures::session_info;

#[test]
fn the_screens_without_a_terminal_say_so_and_exit_2() {
    let dir = scratch("no-tty");
    let log = dir.join("s.jsonl");
    let now = zkpilot::audit::record::Timestamp::from_system_time(std::time::SystemTime::now());
    zkpilot::audit::AuditWriter::create(&log, session_info(), Default::default(), now)
        .unwrap()
        .stop_session("the operator quit", now)
        .unwrap();
    let log = log.to_str().unwrap();
    let runbook = project_file("runbooks/rolling-restart.yaml");
    let inventory = project_file("tests/fixtures/inventories/lab.yaml");
    let run_log = dir.join("run.jsonl");
    let cases: [&[&str]; 4] = [
        &["watch", "127.0.0.1:9"],
        &["replay", log],
        &["follow", log],
        &[
            "run",
            runbook.to_str().unwrap(),
            "--inventory",
            inventory.to_str().unwrap(),
            "--audit",
            run_log.to_str().unwrap(),
        ],
    ];
    for args in cases {
        let started = Instant::now();
        let out = Command::new("setsid")
            .arg("--wait")
            .arg(BIN)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let said = text(&out.stderr);
        assert!(started.elapsed() < Duration::from_secs(20), "{args:?}");
        assert!(!said.contains("panicked"), "{args:?}: {said}");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains("draws on a terminal"), "{args:?}: {said}");
    }
    assert!(
        !dir.join("run.jsonl").exists(),
        "a console without a terminal opened a log"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
