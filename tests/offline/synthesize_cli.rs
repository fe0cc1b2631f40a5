//! `zkpilot synthesize` end to end: the real binary writes a runbook that `plan` passes, refuses
//! an unreachable target with exit 1 and a contradicting one with exit 2 and its position.

use crate::common::zkpilot;
use zkpilot_core::testing::assert_contains;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/synth");

/// `synthesize` of the LINE migration (3.4 rules, P leading) written to `runbook`.
fn line_args(runbook: &std::path::Path) -> Vec<String> {
    [
        "synthesize",
        "--state",
        &format!("{DIR}/line-3.4.yaml"),
        "--target",
        &format!("{DIR}/line-target.yaml"),
        "--leader",
        "P",
        "-o",
        &runbook.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn the_line_migration_is_written_planned_and_compared() {
    let out_dir = std::env::temp_dir().join(format!("zkpilot-synth-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("a temporary directory");
    let runbook = out_dir.join("line.yaml");
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/runbooks/split-brain-free-expand.yaml"
    );
    let mut args = line_args(&runbook);
    args.extend(["--compare".into(), shipped.into()]);
    let out = zkpilot(&args.iter().map(String::as_str).collect::<Vec<_>>());
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

/// A scratch directory of this test's own, emptied first.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zkpilot-synth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// `-o` naming the state (or the target) would replace the file the runbook's header names to
/// reproduce it: refused before anything runs, the file untouched. It used to be overwritten.
#[test]
fn the_runbook_is_never_written_over_one_of_its_inputs() {
    let dir = scratch("over-input");
    let state = dir.join("state.yaml");
    let target = dir.join("target.yaml");
    std::fs::copy(format!("{DIR}/line-3.4.yaml"), &state).expect("a copy");
    std::fs::copy(format!("{DIR}/line-target.yaml"), &target).expect("a copy");
    let link = dir.join("link.yaml");
    std::os::unix::fs::symlink(&target, &link).expect("a link");
    for (output, flag) in [(&state, "--state"), (&link, "--target")] {
        let before = std::fs::read(output).expect("the input");
        let out = zkpilot(&[
            "synthesize",
            "--state",
            &state.display().to_string(),
            "--target",
            &target.display().to_string(),
            "--leader",
            "P",
            "-o",
            &output.display().to_string(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_contains(&stderr, &format!("is the {flag} file"));
        assert_eq!(std::fs::read(output).expect("the input"), before);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A write cut short (here by a file size limit, as a full disk would) leaves the runbook that
/// was there before whole, and no partial file beside it: it used to leave a shortened runbook
/// that still planned ok, its last step without its command.
#[test]
fn a_failed_write_leaves_the_earlier_runbook_as_it_was() {
    let dir = scratch("short-write");
    let runbook = dir.join("line.yaml");
    std::fs::write(&runbook, "the earlier runbook\n").expect("a file");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\"")
        .arg(crate::common::BIN)
        .args(line_args(&runbook))
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_contains(&stderr, "cannot write");
    assert_eq!(
        std::fs::read_to_string(&runbook).expect("the runbook"),
        "the earlier runbook\n"
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("the directory")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(names, ["line.yaml"]);
    let _ = std::fs::remove_dir_all(&dir);
}
