//! Every state on which the election lab caught the analyzer out: the current analyzer must
//! allow what real ZooKeeper did there (`tests/fixtures/lab/`, written by
//! `zkpilot lab elections --keep-fixtures`). Passes with no fixture at all.

use std::path::Path;

use zkpilot::lab::{fixture, judge};

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
        let at = fixture::Addressing {
            names: state
                .ensemble
                .nodes
                .iter()
                .map(|n| n.name.clone())
                .collect(),
            peers: state
                .ensemble
                .nodes
                .iter()
                .map(|n| n.addr.to_string())
                .collect(),
        };
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
