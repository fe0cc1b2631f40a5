//! The world changing under `zkpilot run --autopilot` on a real sandbox (`docs/world-changes.md`):
//! a follower stopped by hand during another's restart, then started again and the run resumed;
//! the leader restarted by hand mid-run, and the live leader restarted last.

use std::time::{Duration, Instant};

use crate::common::{
    assert_audit_verifies, audit_records, autopilot_args, autopilot_through_a_leader_move, count,
    project_file, resumed_to_the_end, spawn_bin, text, wait_for_record, Sandbox,
};

const HOSTS: [&str; 3] = ["zk1", "zk2", "zk3"];
/// The run's poll interval (`autopilot_args`' `--interval`), in milliseconds.
const POLL_MS: u64 = 500;

/// Three voters, one leading and two following.
fn settled() -> Sandbox {
    let sandbox = Sandbox::up(3, 0, 0);
    sandbox.wait_for_modes(&HOSTS, Duration::from_secs(60), |m| {
        count(m, "leader") == 1 && count(m, "follower") == 2
    });
    sandbox
}

fn notes(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["kind"] == "note")
        .filter_map(|r| r["text"].as_str().map(str::to_string))
        .collect()
}

fn intent_hosts(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["kind"] == "intent")
        .filter_map(|r| r["host"].as_str().map(str::to_string))
        .collect()
}

/// A follower stopped by hand while the other restarts leaves one voter of three: the step
/// fails and the autopilot stops within two polls of the stop, while the restart's pause still
/// runs, saying the quorum was lost and which server stopped outside the runbook; the pause is
/// left to finish and its result recorded before the session stops. Started again by hand,
/// `--resume --autopilot` retries the restart and finishes the runbook.
#[test]
fn a_follower_stopped_by_hand_during_a_restart_stops_the_autopilot_and_resume_finishes() {
    let sandbox = settled();
    let followers = sandbox.in_mode(&HOSTS, "follower");
    let [victim, other] = followers[..] else {
        panic!("two followers: {followers:?}")
    };
    let audit = sandbox.dir.join("audit-stopped-by-hand.jsonl");
    let runbook = project_file("tests/fixtures/runbooks/restart-while-other-stops.yaml");
    let (bind_victim, bind_other) = (format!("victim={victim}"), format!("other={other}"));
    let args = autopilot_args(
        &sandbox.inventory_path(),
        &runbook,
        &audit,
        &["--yes", "--bind", &bind_victim, "--bind", &bind_other],
    );
    let mut run = spawn_bin(&args);
    // The victim's restart pauses three seconds between its stop and its start: the other
    // follower is stopped in that pause, while the victim is down.
    wait_for_record(
        &mut run,
        &audit,
        Duration::from_secs(120),
        "the pause of the restart",
        |r| r["kind"] == "intent" && r["command"] == "sleep 3",
    );
    let stopped_at = Instant::now();
    sandbox.stop(other);
    let stopped = format!("other ({other}) stopped outside the runbook");
    wait_for_record(
        &mut run,
        &audit,
        Duration::from_secs(60),
        "the stop noted",
        |r| r["kind"] == "note" && r["text"] == stopped.as_str(),
    );
    let noted = stopped_at.elapsed();
    wait_for_record(
        &mut run,
        &audit,
        Duration::from_secs(60),
        "the restart failed",
        |r| r["kind"] == "step" && r["step"] == "restart-victim" && r["state"] == "failed",
    );
    let failed = stopped_at.elapsed();
    let out = run.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "stopping: `restart-victim` failed: quorum lost: {stopped}"
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("note: {stopped}")), "{stdout}");
    let records = audit_records(&audit);
    assert!(
        !intent_hosts(&records).is_empty()
            && !records.iter().any(|r| r["kind"] == "intent"
                && r["command"].as_str().is_some_and(|c| c.ends_with(" start"))),
        "nothing more released once the quorum was lost"
    );
    // The step fails while its pause still runs; the pause is left to finish, and its result
    // is recorded after the failure, before the session stops.
    let at = |wanted: &dyn Fn(&serde_json::Value) -> bool| {
        records
            .iter()
            .position(wanted)
            .unwrap_or_else(|| panic!("{records:?}"))
    };
    let pause = records
        .iter()
        .find(|r| r["kind"] == "intent" && r["command"] == "sleep 3")
        .map(|r| r["intent"].clone())
        .unwrap();
    let failure = at(&|r| r["kind"] == "step" && r["state"] == "failed");
    let pause_ended = at(&|r| r["kind"] == "result" && r["intent"] == pause);
    let noted_at = at(&|r| r["kind"] == "note" && r["text"] == stopped.as_str());
    assert!(
        noted_at < failure && failure < pause_ended,
        "the stop noted, then the failure, then the pause's end: {records:?}"
    );
    assert_eq!(records[pause_ended + 1]["kind"], "session_stop");
    let (said_stop, said_end) = (stdout.find("stopping: "), stdout.rfind("  -> "));
    assert!(
        said_stop < said_end,
        "the stop is told before the pause's end: {stdout}"
    );
    eprintln!(
        "{other} stopped: noted {noted:?} after, the step failed {failed:?} after, before its \
         pause ended ({POLL_MS} ms polls)"
    );
    // Two polls, and the moments a loaded machine takes to run them.
    assert!(
        noted < Duration::from_millis(2 * POLL_MS) + Duration::from_secs(2),
        "noted {noted:?} after the stop"
    );

    // Put right by hand: the other follower started again. The victim stays stopped, as the
    // failed step left it; the retry restarts it.
    sandbox.zkctl(other, "start");
    let serving: Vec<&str> = HOSTS.iter().copied().filter(|h| *h != victim).collect();
    sandbox.wait_for_modes(&serving, Duration::from_secs(60), |m| {
        count(m, "leader") == 1 && count(m, "follower") == 1
    });
    resumed_to_the_end(&args);
    let records = audit_records(&audit);
    assert_eq!(records.last().unwrap()["kind"], "session_end");
    let restarted = intent_hosts(&records);
    assert_eq!(
        restarted.len(),
        2 + 3,
        "the pause's stop and sleep, then the whole step again: {restarted:?}"
    );
    assert!(restarted.iter().all(|h| h == victim), "{restarted:?}");
    assert_audit_verifies(&audit);
}

/// The leader restarted by hand while the runbook waits for it to move: the move, the stop and
/// the start are recorded as outside the runbook, and the rolling restart bound with the old
/// leader last restarts the live leader last instead.
#[test]
fn the_live_leader_is_restarted_last_after_the_leader_moved_by_hand() {
    let sandbox = settled();
    let old = sandbox.in_mode(&HOSTS, "leader")[0];
    let audit = sandbox.dir.join("audit-leader-moves.jsonl");
    let runbook = project_file("tests/fixtures/runbooks/leader-moves.yaml");
    let limit = Duration::from_secs(300);
    let (_, out) = autopilot_through_a_leader_move(&sandbox, &HOSTS, old, &runbook, &audit, limit);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let records = audit_records(&audit);
    let notes = notes(&records);
    let moved = format!("old ({old}) stopped leading; ");
    let new = notes
        .iter()
        .find_map(|n| n.strip_prefix(&moved)?.strip_suffix(" leads"))
        .unwrap_or_else(|| panic!("the move recorded: {notes:?}"))
        .to_string();
    for event in ["stopped", "restarted"] {
        let note = format!("old ({old}) {event} outside the runbook");
        assert!(notes.contains(&note), "{note}: {notes:?}");
    }
    let intents = intent_hosts(&records);
    assert_eq!(intents.len(), 3, "{intents:?}");
    let mut distinct = intents.clone();
    distinct.sort();
    assert_eq!(distinct, HOSTS, "each server restarted once");
    assert_ne!(
        intents[2], old,
        "the old leader is not last: {intents:?} {notes:?}"
    );
    assert_eq!(
        intents[2], new,
        "the live leader is last: {intents:?} {notes:?}"
    );
    assert_audit_verifies(&audit);
}
