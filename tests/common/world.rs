//! A server stopped by hand during another's restart (`docs/world-changes.md`), as a scenario
//! any ensemble can play — the sandbox, a hand-built stock one: the autopilot runs
//! `restart-while-other-stops.yaml`, whose restart of `victim` pauses three seconds between
//! its stop and its start, and `other` is stopped in that pause, leaving one voter of three.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    assert_audit_verifies, audit_records, autopilot_args, project_file, resumed_to_the_end,
    spawned_until, text, wait_for_record,
};

/// What the stop led to: the run's arguments (to resume it), and how long after the stop it
/// was noted and the step failed.
pub struct StoppedByHand {
    pub args: Vec<String>,
    pub noted: Duration,
    pub failed: Duration,
}

/// Runs the scenario on `inventory`, `stop` stopping `other` by hand. Asserts what the
/// operator must see: the autopilot stops saying the quorum was lost and which server stopped
/// outside the runbook; nothing more is released; the step's failure is recorded after the
/// stop's note and before the running pause ends, whose result is recorded before the session
/// stops; and the stop is told before the pause's end.
pub fn follower_stopped_during_a_restart(
    inventory: &Path,
    audit: &Path,
    (victim, other): (&str, &str),
    stop: impl FnOnce(),
) -> StoppedByHand {
    let runbook = project_file("tests/fixtures/runbooks/restart-while-other-stops.yaml");
    let (bind_victim, bind_other) = (format!("victim={victim}"), format!("other={other}"));
    let args = autopilot_args(
        inventory,
        &runbook,
        audit,
        &["--yes", "--bind", &bind_victim, "--bind", &bind_other],
    );
    let mut run = spawned_until(
        &args,
        audit,
        Duration::from_secs(120),
        "the pause of the restart",
        |r| r["kind"] == "intent" && r["command"] == "sleep 3",
    );
    let stopped_at = Instant::now();
    stop();
    // A control script's stop returns once its server has exited, which a graceful JVM
    // shutdown makes take a while: the stop is somewhere between the two moments.
    let stop_returned = stopped_at.elapsed();
    let stopped = format!("other ({other}) stopped outside the runbook");
    wait_for_record(
        &mut run,
        audit,
        Duration::from_secs(60),
        "the stop noted",
        |r| r["kind"] == "note" && r["text"] == stopped.as_str(),
    );
    let noted = stopped_at.elapsed();
    wait_for_record(
        &mut run,
        audit,
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
    let records = audit_records(audit);
    assert!(
        !intent_hosts(&records).is_empty()
            && !records.iter().any(|r| r["kind"] == "intent"
                && r["command"].as_str().is_some_and(|c| c.ends_with(" start"))),
        "nothing more released once the quorum was lost"
    );
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
        "{other} stopped (its stop returned after {stop_returned:?}): noted {noted:?} after, \
         the step failed {failed:?} after, before the pause ended"
    );
    StoppedByHand {
        args,
        noted,
        failed,
    }
}

/// Once `other` runs again (the victim stays stopped, as the failed step left it),
/// `--resume --autopilot` retries the restart and finishes, having run only on the victim:
/// the pause's stop and sleep, then the whole step again.
pub fn resume_finishes_on_the_victim(args: &[String], audit: &Path, victim: &str) {
    resumed_to_the_end(args);
    let records = audit_records(audit);
    assert_eq!(records.last().unwrap()["kind"], "session_end");
    let restarted = intent_hosts(&records);
    assert_eq!(restarted.len(), 2 + 3, "{restarted:?}");
    assert!(restarted.iter().all(|h| h == victim), "{restarted:?}");
    assert_audit_verifies(audit);
}

/// The host of every intent in `records`, in order.
pub fn intent_hosts(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["kind"] == "intent")
        .filter_map(|r| r["host"].as_str().map(str::to_string))
        .collect()
}
