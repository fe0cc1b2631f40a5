//! `zkpilot synthesize` end to end: the real binary writes a runbook that `plan` passes, refuses
//! an unreachable target with exit 1 and a contradicting one with exit 2 and its position.

use crate::common::zkpilot;
use zkpilot_core::testing::assert_contains;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/synth");

#[test]
fn the_line_migration_is_written_planned_and_compared() {
    let out_dir = std::env::temp_dir().join(format!("zkpilot-synth-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("a temporary directory");
    let runbook = out_dir.join("line.yaml");
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/runbooks/split-brain-free-expand.yaml"
    );
    let out = zkpilot(&[
        "synthesize",
        "--state",
        &format!("{DIR}/line-3.4.yaml"),
        "--target",
        &format!("{DIR}/line-target.yaml"),
        "--leader",
        "P",
        "-o",
        &runbook.display().to_string(),
        "--compare",
        shipped,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(&stdout, "| step | hosts up |");
    assert_contains(&stdout, "Synthesized: 16 steps, 8 restarts, minimal");
    assert_contains(&stdout, "23 steps, 15 restarts, plan ok");
    let text = std::fs::read_to_string(&runbook).expect("the runbook was written");
    assert!(
        text.starts_with("# Synthesized by `zkpilot synthesize`"),
        "{text}"
    );
    assert_contains(&text, "# Reproduce: zkpilot synthesize --state");
    assert_contains(&text, "check: {host: \"A\", verb: data-empty}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn an_unreachable_target_exits_1_naming_the_blocking_state() {
    let out = zkpilot(&[
        "synthesize",
        "--state",
        &format!("{DIR}/alone.yaml"),
        "--target",
        &format!("{DIR}/replace-alone.yaml"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains(&stderr, "stopping zk1");
    assert_contains(&stderr, "no working quorum can form");
}

#[test]
fn a_contradicting_target_exits_2_with_its_line() {
    let target = format!("{DIR}/contradicting-target.yaml");
    let out = zkpilot(&[
        "synthesize",
        "--state",
        &format!("{DIR}/line-3.4.yaml"),
        "--target",
        &target,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{target}:3:")), "{stderr}");
}

#[test]
fn the_start_is_a_state_file_or_an_inventory_never_both_nor_neither() {
    let state = format!("{DIR}/line-3.4.yaml");
    let target = format!("{DIR}/line-target.yaml");
    for args in [
        vec!["synthesize", "--target", &target],
        vec![
            "synthesize",
            "--state",
            &state,
            "--inventory",
            &state,
            "--target",
            &target,
        ],
    ] {
        let out = zkpilot(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--inventory"), "{stderr}");
    }
}
