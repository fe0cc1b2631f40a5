//! A host bound by `pick: leader` that no longer leads when its step comes, on a real
//! sandbox (`docs/world-changes.md`): the autopilot stops naming the re-bind and its key; in
//! the console, resumed, the pick is checked again, `p` lists the live leader and `y`
//! re-binds to it (recorded); `--resume --autopilot` binds the same host, checks it still
//! fits, and restarts it.

use std::time::Duration;

use crate::common::tmux::resumed_console;
use crate::common::{
    assert_audit_verifies, audit_records, autopilot_through_a_leader_move, count,
    resumed_to_the_end, text, Sandbox,
};

const HOSTS: [&str; 3] = ["zk1", "zk2", "zk3"];
const RUNBOOK: &str = "tests/fixtures/runbooks/leader-pick-moves.yaml";

#[test]
fn a_picked_leader_that_no_longer_leads_is_re_bound_in_the_console_and_the_resume_honours_it() {
    let sandbox = Sandbox::up(3, 0, 0);
    let settled = |m: &[String]| count(m, "leader") == 1 && count(m, "follower") == 2;
    sandbox.wait_for_modes(&HOSTS, Duration::from_secs(60), settled);
    let old = sandbox.in_mode(&HOSTS, "leader")[0];
    let audit = sandbox.dir.join("audit-pick-rebind.jsonl");
    let runbook = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(RUNBOOK);
    let limit = Duration::from_secs(120);
    let (args, out) =
        autopilot_through_a_leader_move(&sandbox, &HOSTS, old, &runbook, &audit, limit);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    sandbox.wait_for_modes(&HOSTS, Duration::from_secs(60), settled);
    let new = sandbox.in_mode(&HOSTS, "leader")[0];
    assert_ne!(new, old);
    let misfit = format!("`P` was picked as the leader ({old}), and {new} leads now");
    assert!(
        stdout.contains(&misfit)
            && stdout.contains(&format!("p re-binds it to a server that fits now ({new}")),
        "{stdout}"
    );
    assert!(
        !audit_records(&audit).iter().any(|r| r["kind"] == "intent"),
        "nothing run on the old leader"
    );

    // The console, resumed: the pick bound from the log is checked again and re-bound.
    let tmux = resumed_console(&sandbox, RUNBOOK, &audit);
    tmux.wait_for("the misfit flagged", Duration::from_secs(60), |s| {
        s.contains("p re-binds it, r runs it as bound")
    });
    tmux.send("p");
    tmux.wait_for("the servers that fit", Duration::from_secs(10), |s| {
        s.contains(&format!("> `P` on {new}"))
    });
    tmux.send("y");
    tmux.wait_for("the re-bind", Duration::from_secs(10), |s| {
        s.contains(&format!("`P` re-bound from {old} to {new}"))
    });
    tmux.send("q");
    tmux.wait_until_exited(Duration::from_secs(20));

    resumed_to_the_end(&args);
    let records = audit_records(&audit);
    let rebinds: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["kind"] == "decision" && r["decision"]["type"] == "rebind")
        .collect();
    assert_eq!(rebinds.len(), 1, "{rebinds:?}");
    let decision = &rebinds[0]["decision"];
    assert_eq!(
        (&decision["host"], &decision["from"], &decision["to"]),
        (&"P".into(), &old.into(), &new.into())
    );
    let intents: Vec<&str> = records
        .iter()
        .filter(|r| r["kind"] == "intent")
        .filter_map(|r| r["host"].as_str())
        .collect();
    assert_eq!(intents, [new], "the re-bound host restarted, and only it");
    assert_eq!(records.last().unwrap()["kind"], "session_end");
    assert_audit_verifies(&audit);
}
