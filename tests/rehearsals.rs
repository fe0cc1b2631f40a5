//! The seed procedures rehearsed with `--autopilot` on real ZooKeeper: the deck's
//! split-brain-free expansion ends in one five-server ensemble, the naive order is stopped
//! before the step that allows two leaders, and stateless replacement brings every server
//! back with its id and data.

mod common;

use std::time::Duration;

use common::{ask, assert_audit_verifies, audit_records, autopilot, mode, project_file, Sandbox};
use zkpilot::zk::fourlw::{self, Answer};

fn view_size(client: &str) -> usize {
    let text = ask(client, "conf").unwrap_or_default();
    match fourlw::parse_conf(&text) {
        Ok(Answer::Data(conf)) => conf.view().map_or(0, |v| v.participant_count()),
        _ => 0,
    }
}

#[test]
fn split_brain_free_expansion_grows_three_to_five_with_one_leader() {
    let sandbox = Sandbox::up(3, 0, 2);
    let hosts = ["zk1", "zk2", "zk3", "zk4", "zk5"];
    let (out, audit) = autopilot(
        &sandbox,
        &project_file("runbooks/split-brain-free-expand.yaml"),
        &["--yes"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let modes = sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |m| {
        m.iter().filter(|x| *x == "leader").count() == 1
            && m.iter().filter(|x| *x == "follower").count() == 4
    });
    assert_eq!(modes.len(), 5);
    for host in hosts {
        assert_eq!(
            view_size(&sandbox.client(host)),
            5,
            "{host} runs the five-server view"
        );
    }
    let verdicts = audit_records(&audit);
    assert!(verdicts
        .iter()
        .filter(|r| r["kind"] == "verdict")
        .all(|r| r["split_brain_possible"] == false));
    assert_audit_verifies(&audit);
}

#[test]
fn the_naive_expansion_is_stopped_before_two_leaders_become_possible() {
    let sandbox = Sandbox::up(3, 0, 2);
    let (out, audit) = autopilot(
        &sandbox,
        &project_file("runbooks/naive-expand.yaml"),
        &["--yes"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("stopped before `restart-r`: split brain"),
        "{stdout}"
    );
    let records = audit_records(&audit);
    assert!(records
        .iter()
        .any(|r| r["kind"] == "step" && r["step"] == "start-s-and-t" && r["state"] == "done"));
    assert!(
        records
            .iter()
            .all(|r| r["kind"] != "intent" || r["step"] != "restart-r"),
        "R was never touched"
    );
    let modes: Vec<String> = ["zk1", "zk2", "zk3"]
        .iter()
        .map(|h| mode(&sandbox.client(h)))
        .collect();
    assert_eq!(
        modes.iter().filter(|m| *m == "leader").count(),
        1,
        "{modes:?}"
    );
    assert_eq!(
        view_size(&sandbox.client("zk3")),
        3,
        "R still runs the three-server view"
    );
    assert_audit_verifies(&audit);
}

#[test]
fn stateless_replacement_brings_every_server_back_in_turn() {
    let sandbox = Sandbox::up(3, 0, 0);
    let hosts = ["zk1", "zk2", "zk3"];
    let pid = |h: &str| {
        std::fs::read_to_string(sandbox.dir.join("hosts").join(h).join("zk.pid"))
            .unwrap_or_default()
    };
    let before: Vec<String> = hosts.iter().map(|h| pid(h)).collect();
    let (out, audit) = autopilot(
        &sandbox,
        &project_file("runbooks/stateless-replace.yaml"),
        &["--yes"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (host, old) in hosts.iter().zip(&before) {
        assert_ne!(&pid(host), old, "{host} was replaced");
    }
    sandbox.wait_for_modes(&hosts, Duration::from_secs(30), |m| {
        m.iter().filter(|x| *x == "leader").count() == 1
    });
    assert_audit_verifies(&audit);
}
