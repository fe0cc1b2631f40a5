//! The world changing under `zkpilot run --autopilot` on a real sandbox (`docs/world-changes.md`):
//! a follower stopped by hand during another's restart, then started again and the run resumed;
//! the leader restarted by hand mid-run, and the live leader restarted last.

use std::time::Duration;

use crate::common::world::{
    follower_stopped_during_a_restart, intent_hosts, resume_finishes_on_the_victim,
};
use crate::common::{
    assert_audit_verifies, audit_records, autopilot_through_a_leader_move, count, project_file,
    text, Sandbox,
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
    let stopped = follower_stopped_during_a_restart(
        &sandbox.inventory_path(),
        &audit,
        (victim, other),
        || sandbox.stop(other),
    );
    eprintln!("({POLL_MS} ms polls)");
    // Two polls, and the moments a loaded machine takes to run them.
    assert!(
        stopped.noted < Duration::from_millis(2 * POLL_MS) + Duration::from_secs(2),
        "noted {:?} after the stop",
        stopped.noted
    );

    // Put right by hand: the other follower started again.
    sandbox.zkctl(other, "start");
    let serving: Vec<&str> = HOSTS.iter().copied().filter(|h| *h != victim).collect();
    sandbox.wait_for_modes(&serving, Duration::from_secs(60), |m| {
        count(m, "leader") == 1 && count(m, "follower") == 1
    });
    resume_finishes_on_the_victim(&stopped.args, &audit, victim);
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
