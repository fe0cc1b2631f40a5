//! Every state on which the election lab caught the analyzer out: the current analyzer must
//! allow what real ZooKeeper did there (`tests/fixtures/lab/`, written by
//! `zkpilot lab elections --keep-fixtures`). Passes with no fixture at all.

use std::path::Path;

use zkpilot::rehearse::lab::{fixture, judge};

#[test]
fn the_analyzer_allows_what_zookeeper_did_in_every_lab_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lab");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let (state, seen) = fixture::parse_fixture(&text, path).unwrap_or_else(|e| panic!("{e}"));
        let verdict = state.ensemble.verdict().unwrap();
        let judgement = judge::judge(&verdict, &seen);
        let at = fixture::Addressing::of(&state.ensemble);
        for d in &judgement.disagreements {
            failures.push(format!(
                "{}: {}",
                path.display(),
                fixture::disagreement_text(d, &at)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "the analyzer still disagrees with real ZooKeeper on {} of {} fixture(s):\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}

/// `zkpilot lab judge` re-judges recorded trials without starting anything: a record whose
/// leader the analyzer allows agrees, one whose leader is a server that was down does not.
#[test]
fn lab_judge_holds_the_analyzer_to_recorded_trials() {
    use zkpilot::rehearse::lab::draw::draw;
    use zkpilot::rehearse::lab::judge::{Role, Sample};
    use zkpilot::zk::version::ZkVersion;

    let version = ZkVersion::new(3, 8, 0);
    let dir = std::env::temp_dir().join(format!("zkpilot-lab-judge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trial = (0..100)
        .map(|i| draw(9, i, &(4..=7)))
        .find(|t| t.hosts.iter().any(|h| !h.running))
        .unwrap();
    let at = fixture::Addressing {
        names: (1..=trial.hosts.len()).map(|i| format!("zk{i}")).collect(),
        peers: (1..=trial.hosts.len())
            .map(|i| format!("127.77.9.{i}:2888:3888"))
            .collect(),
        services: Vec::new(),
    };
    let verdict = fixture::ensemble(&trial, &at, version)
        .unwrap()
        .verdict()
        .unwrap();
    let record = |leader: usize, name: &str| {
        let mut roles = vec![Role::NotServing; trial.hosts.len()];
        roles[leader] = Role::Leader {
            epoch: 1,
            synced_followers: Some(1),
        };
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                at_ms: i * 200,
                roles: roles.clone(),
            })
            .collect();
        let seen = judge::summarize(&samples);
        let judgement = judge::judge(&verdict, &seen);
        let path = dir.join(name);
        let text = fixture::fixture_text(&trial, &at, version, &seen, &samples, &judgement);
        std::fs::write(&path, text).unwrap();
        path
    };
    let down = trial.hosts.iter().position(|h| !h.running).unwrap();
    let bad = record(down, "bad.yaml");
    let judge_bin = |paths: &[&Path]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_zkpilot"));
        command.args(["lab", "judge"]).args(paths);
        command.output().unwrap()
    };
    let out = judge_bin(&[&bad]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DISAGREEMENT"), "{stdout}");
    if let Some(&allowed) = verdict.possible_leaders.first() {
        let good = record(allowed, "good.yaml");
        let out = judge_bin(&[&good]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("leaders seen"), "{stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
