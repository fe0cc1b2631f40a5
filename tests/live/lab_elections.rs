//! `zkpilot lab elections` through the real binary on a real sandbox (needs root, like every
//! sandbox test): ten drawn states, each run on real ZooKeeper servers and held against the
//! analyzer. Every trial must agree, and nothing of the lab may be left running.

use std::time::Duration;

use crate::common::{run_bin, test_name, BIN};

/// Ten states of 4 to 6 hosts; this seed draws every kind of state, and eight of the ten
/// combine two kinds or more; six start one view after another (about 145 s on two cores).
const SEED: &str = "21";

/// Runs `zkpilot lab elections` with `args` in a fresh directory of its own (`slot` keeps two
/// tests apart) and checks that no process of the lab is left: the output, both streams as
/// text, and the directory to remove at the end.
fn lab(slot: u32, args: &[&str]) -> (std::process::Output, String, String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(test_name(slot));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_text = dir.to_str().unwrap().to_string();
    let mut all = vec!["lab", "elections"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--dir", &dir_text]);
    let output = run_bin(&all, Duration::from_secs(240));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let left = zkpilot::rehearse::sandbox::processes_mentioning(&dir_text);
    assert!(left.is_empty(), "the lab left processes running: {left:?}");
    (output, stdout, stderr, dir)
}

#[test]
fn ten_drawn_states_run_on_real_zookeeper_and_the_analyzer_agrees() {
    let (output, stdout, stderr, dir) =
        lab(900, &["--trials", "10", "--seed", SEED, "--nodes", "4..6"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{BIN} lab elections failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The table: a header, then the totals over every trial.
    assert!(stdout.contains("leaders seen"), "{stdout}");
    let all: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("all "))
        .unwrap_or_else(|| panic!("no totals row:\n{stdout}"))
        .split_whitespace()
        .collect();
    assert_eq!(all[1], "10", "ten trials judged: {all:?}");
    assert_eq!(all[6], "0", "no disagreement: {all:?}");
    assert!(
        all[2].parse::<u32>().unwrap() > 0,
        "real elections ran: {all:?}"
    );
    assert!(stderr.contains("10/10"), "progress shown: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--netns`: four states with each host in a namespace of its own (this seed draws a stale
/// own line, a service-fronted state whose zk4 exits at start, a moved highest sid that
/// `analyze` names a stall, and a service-fronted state whose zk4 can follow no possible
/// leader); every trial must agree, the stall must be seen (no serving leader for the settle
/// window), the server that cannot serve must not serve while another leads, and no
/// namespace, veth or server of the lab may be left afterwards.
#[test]
fn the_namespace_lab_agrees_and_leaves_nothing_behind() {
    let (output, stdout, stderr, dir) = lab(
        901,
        &[
            "--netns", "--trials", "4", "--seed", "5", "--first", "0", "--nodes", "4..5",
        ],
    );
    let prefix = stderr
        .split("network namespaces ")
        .nth(1)
        .and_then(|rest| rest.split('r').next())
        .unwrap_or_else(|| panic!("no namespaces named: {stderr}"));
    let namespaces = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&namespaces.stdout);
    assert!(
        !listed.lines().any(|l| l.starts_with(prefix)),
        "namespaces left: {listed}"
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{BIN} lab elections --netns failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stderr.contains("exited [zk4]"),
        "an exit at start recorded: {stderr}"
    );
    let stall = stderr
        .lines()
        .find(|l| l.contains("moved-highest-sid"))
        .unwrap_or_else(|| panic!("no stall drawn: {stderr}"));
    assert!(
        stall.contains("stall named yes, seen yes"),
        "a stall named before it is seen: {stall}"
    );
    let idle = stderr
        .lines()
        .find(|l| l.contains("cannot serve ["))
        .unwrap_or_else(|| panic!("no server that cannot serve drawn: {stderr}"));
    assert!(
        idle.contains("leaders [zk3]") && idle.contains("cannot serve [zk4]; agree"),
        "zk4 named, zk3 led, and zk4 never served: {idle}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
