//! `zkpilot analyze` end to end: the real binary on the fixture states.

use serde_json::{json, Value};

use crate::common::zkpilot;

const STATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/states");

fn analyze_json(fixture: &str) -> Value {
    let path = format!("{STATES}/valid/{fixture}");
    let out = zkpilot(&["analyze", &path, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

#[test]
fn split_brain_state_reports_the_witness() {
    let v = analyze_json("slide5_r_restarted.yaml");
    assert_eq!(v["split_brain_possible"], true);
    assert_eq!(v["quorum_possible"], true);
    assert_eq!(
        v["witness"],
        json!([
            {"leader": "Q", "members": ["P", "Q"]},
            {"leader": "T", "members": ["R", "S", "T"]}
        ])
    );
    assert_eq!(v["unreachable"], json!([]));
}

#[test]
fn every_valid_state_gives_a_verdict() {
    let expect = [
        ("slide5_before_r_restart.yaml", true, false),
        ("slide5_r_restarted.yaml", true, true),
        ("slide7_t_kept_down.yaml", true, false),
        ("issue7_partitioned.yaml", true, false),
        ("slide16_b_before_higher_sids_3.4.6.yaml", true, false),
        ("slide16_b_before_higher_sids_3.8.0.yaml", true, false),
        ("mitosis_two_two_one.yaml", false, false),
        ("observers.yaml", false, false),
        ("five_voters_25_observers.yaml", true, false),
        ("moved_r_stale_t_3.8.0.yaml", true, true),
    ];
    for (fixture, quorum, split) in expect {
        let v = analyze_json(fixture);
        assert_eq!(v["quorum_possible"], quorum, "{fixture}");
        assert_eq!(v["split_brain_possible"], split, "{fixture}");
        assert_eq!(v["witness"].is_null(), !split, "{fixture}");
    }
    let stale = analyze_json("slide16_b_before_higher_sids_3.4.6.yaml");
    assert_eq!(
        stale["unreachable"],
        json!([["B", "C"], ["B", "D"], ["B", "E"]])
    );
    let fixed = analyze_json("slide16_b_before_higher_sids_3.8.0.yaml");
    assert_eq!(fixed["unreachable"], json!([]));
}

#[test]
fn the_human_report_explains_the_split() {
    let path = format!("{STATES}/valid/slide5_r_restarted.yaml");
    let out = zkpilot(&["analyze", &path]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("SPLIT BRAIN POSSIBLE"), "{text}");
    assert!(text.contains("Q (sid 2) can lead P, Q:"), "{text}");
    assert!(text.contains("T (sid 5) can lead R, S, T:"), "{text}");
    assert!(text.contains("ZooKeeper 3.4.6"), "{text}");
}

#[test]
fn bad_input_exits_2_naming_file_line_and_column() {
    let expect = [
        ("unknown_key.yaml", 5, "unknown field `colour`"),
        ("unknown_view.yaml", 8, "unknown view `new`"),
        ("bad_server_line.yaml", 4, "bad server line"),
        ("bad_addr.yaml", 2, "bad peer address"),
        ("duplicate_name.yaml", 5, "used twice"),
        ("unknown_partition_node.yaml", 6, "partition names `R`"),
        ("bad_version.yaml", 1, "bad ZooKeeper version"),
        ("duplicate_view.yaml", 3, "defined twice"),
        ("too_many_nodes.yaml", 516, "at most 512"),
        ("syntax_error.yaml", 2, ""),
    ];
    for (fixture, line, message) in expect {
        let path = format!("{STATES}/invalid/{fixture}");
        for args in [vec!["analyze", &path], vec!["analyze", &path, "--json"]] {
            let out = zkpilot(&args);
            assert_eq!(out.status.code(), Some(2), "{fixture}");
            assert!(out.stdout.is_empty(), "{fixture}");
            let err = String::from_utf8(out.stderr).unwrap();
            let prefix = format!("zkpilot: {path}:{line}:");
            assert!(err.starts_with(&prefix), "{fixture}: {err}");
            let column = err[prefix.len()..].split(':').next().unwrap_or("");
            assert!(
                column.parse::<usize>().is_ok_and(|c| c >= 1),
                "{fixture}: {err}"
            );
            assert!(err.contains(message), "{fixture}: {err}");
            assert_eq!(err.lines().count(), 1, "printed once: {err}");
        }
    }
}

#[test]
fn a_missing_file_is_one_clear_line_and_exit_2() {
    let out = zkpilot(&["analyze", "/nonexistent/state.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("zkpilot: cannot read /nonexistent/state.yaml: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn help_describes_the_format_with_an_example() {
    let out = zkpilot(&["analyze", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "STATE FILE (YAML)",
        "partitions:",
        "EXIT STATUS",
        "EXAMPLE",
        "--json",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let out = zkpilot(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("analyze") && help.contains("split brain"),
        "{help}"
    );
}

/// The split measured on real 3.8.0 is called a split, with T's group and Q's group
/// as the witness; under 3.4 rules the stale line keeps T from counting R and it is not.
#[test]
fn the_split_measured_on_3_8_is_called_and_3_4_rules_differ() {
    let v = analyze_json("moved_r_stale_t_3.8.0.yaml");
    assert_eq!(
        v["witness"],
        json!([
            {"leader": "Q", "members": ["P", "Q"]},
            {"leader": "T", "members": ["R", "S", "T"]}
        ])
    );
    let text = std::fs::read_to_string(format!("{STATES}/valid/moved_r_stale_t_3.8.0.yaml"))
        .unwrap()
        .replace("zookeeper: \"3.8.0\"", "zookeeper: \"3.4.6\"");
    let old = std::env::temp_dir().join(format!("zkpilot-moved-r-3.4-{}.yaml", std::process::id()));
    std::fs::write(&old, text).unwrap();
    let out = zkpilot(&["analyze", old.to_str().unwrap(), "--json"]);
    let _ = std::fs::remove_file(&old);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["split_brain_possible"], false);
    assert_eq!(v["quorum_possible"], true);
}
