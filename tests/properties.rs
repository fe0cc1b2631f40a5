//! Property tests: every parser and loader that reads what a server, a file or a person wrote
//! returns a value or an error for any input — no panic, no hang. Inputs are real ones (the
//! captured 4lw answers, the shipped runbooks, inventories and states, a real audit log) with
//! random edits, and random text.
//!
//! The normal `cargo test` runs a seeded, bounded number of cases per target (256, proptest's
//! default). A long run, with the figures in docs/benchmarks.md:
//!
//! ```sh
//! PROPTEST_CASES=1000000 PROPTEST_RNG_SEED=$RANDOM cargo test --release --test properties
//! ```

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};

use zkpilot::audit::{AuditChain, AuditEvent, AuditLog, Secrets, StepState, Timestamp};
use zkpilot::ensemble::answered;
use zkpilot::inventory::Inventory;
use zkpilot::runbook::fixtures::bind_alone;
use zkpilot::zk::fourlw::Command;

/// Seeded unless PROPTEST_RNG_SEED says otherwise, so a failure in the normal run repeats.
fn config() -> Config {
    let default = Config::default();
    Config {
        failure_persistence: None,
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            default.rng_seed
        } else {
            RngSeed::Fixed(0x2b_6b_70_69_6c_6f_74)
        },
        ..default
    }
}

const FOURLW: [(&str, &str); 11] = [
    ("srvr", include_str!("fixtures/zk4lw/leader.srvr.txt")),
    ("stat", include_str!("fixtures/zk4lw/follower.stat.txt")),
    ("mntr", include_str!("fixtures/zk4lw/leader.mntr.txt")),
    ("conf", include_str!("fixtures/zk4lw/leader.conf.txt")),
    ("ruok", include_str!("fixtures/zk4lw/leader.ruok.txt")),
    ("isro", include_str!("fixtures/zk4lw/leader.isro.txt")),
    ("envi", include_str!("fixtures/zk4lw/leader.envi.txt")),
    ("cons", include_str!("fixtures/zk4lw/leader.cons.txt")),
    ("wchs", include_str!("fixtures/zk4lw/leader.wchs.txt")),
    ("mntr", include_str!("fixtures/zk4lw/looking.mntr.txt")),
    (
        "conf",
        include_str!("fixtures/zk4lw/observer-no-leader.conf.txt"),
    ),
];

const RUNBOOKS: [&str; 5] = [
    include_str!("../runbooks/rolling-restart.yaml"),
    include_str!("../runbooks/reconfig-replace.yaml"),
    include_str!("../runbooks/k8s-one-for-one.yaml"),
    include_str!("fixtures/runbooks/two-person-restart.yaml"),
    include_str!("fixtures/hostile/spoof.yaml"),
];

const LAB: &str = include_str!("fixtures/inventories/lab.yaml");

const STATES: [&str; 3] = [
    include_str!("fixtures/states/valid/issue7_partitioned.yaml"),
    include_str!("fixtures/states/valid/k8s_pod_behind_service.yaml"),
    include_str!("fixtures/states/valid/mitosis_done.yaml"),
];

/// A start and targets for the synthesizer: grown, replaced, and moved behind services.
const SYNTH_STATE: &str = "zookeeper: \"3.8.0\"\nviews:\n  today: [server.1=zk1:2888:3888, server.2=zk2:2888:3888, server.3=zk3:2888:3888]\nnodes:\n  - {name: zk1, sid: 1, addr: \"zk1:2888:3888\", view: today}\n  - {name: zk2, sid: 2, addr: \"zk2:2888:3888\", services: [\"svc2:2888:3888\"], view: today}\n  - {name: zk3, sid: 3, addr: \"zk3:2888:3888\", view: today}\n";

const SYNTH_TARGETS: [&str; 2] = [
    "servers:\n  - {host: zk1}\n  - {host: zk2}\n  - {host: new3, sid_of: zk3}\n  - {host: zk4, sid: 4, role: observer}\nservices:\n  - {serves: zk2, peer: \"svc2:2888:3888\"}\n",
    "servers:\n  - {host: new1, sid_of: zk1}\n  - {host: new2, sid_of: zk2}\n  - {host: zk3, restart: true}\nservices:\n  - {serves: zk1, peer: \"svc1:2888:3888\"}\n  - {serves: zk2, peer: \"svc2:2888:3888\"}\n",
];

/// Text that is likely to matter to a parser: structure, numbers, quotes, odd characters.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "\n",
            ":",
            ": ",
            "- ",
            "[",
            "]",
            "{",
            "}",
            ",",
            "'",
            "\"",
            "#",
            "=",
            "\t",
            "\r\n",
            "${",
            "${v}",
            "&",
            "*a",
            "!!",
            "|",
            ">",
            "\u{feff}",
            "\0",
            "\u{202e}",
            "\x1b[2J",
            "-1",
            "0x",
            "18446744073709551616",
            "9999999999999999999999",
            "NaN",
            "server.1=",
            "zxid: 0x",
            "Mode: ",
            "leader",
            "~",
            "null",
        ])
        .prop_map(String::from),
        "[0-9]{1,25}",
        any::<char>().prop_map(String::from),
        ".{0,12}",
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(Index, String),
    Delete(Index, usize),
    Repeat(Index, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), piece()).prop_map(|(at, text)| Edit::Insert(at, text)),
        3 => (any::<Index>(), 1usize..40).prop_map(|(at, len)| Edit::Delete(at, len)),
        1 => (any::<Index>(), 1usize..20, 2usize..50).prop_map(|(at, len, times)| Edit::Repeat(at, len, times)),
    ]
}

/// The nearest character boundary at or before `index` of `text`.
fn boundary(text: &str, at: &Index) -> usize {
    let mut at = at.index(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(mut text: String, edits: &[Edit]) -> String {
    for edit in edits {
        match edit {
            Edit::Insert(at, piece) => {
                let at = boundary(&text, at);
                text.insert_str(at, piece);
            }
            Edit::Delete(at, len) => {
                let start = boundary(&text, at);
                let mut end = (start + len).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(start..end, "");
            }
            Edit::Repeat(at, len, times) => {
                let start = boundary(&text, at);
                let mut end = (start + len).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let slice = text[start..end].repeat(*times);
                text.insert_str(start, &slice);
            }
        }
    }
    text
}

/// One of `seeds` with a few random edits, or random text.
fn mutated(seeds: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (prop::sample::select(seeds), prop::collection::vec(edit(), 0..8))
            .prop_map(|(seed, edits)| apply(seed, &edits)),
        1 => ".{0,400}",
        1 => prop::collection::vec(piece(), 0..60).prop_map(|pieces| pieces.concat()),
    ]
}

fn lab() -> Inventory {
    Inventory::parse(LAB, Path::new("lab.yaml")).expect("the lab inventory loads")
}

/// A real log: header, session start, a few steps and notes.
fn audit_log() -> String {
    let at = |second: u64| {
        Timestamp::from_system_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(second))
    };
    let (mut chain, header) = AuditChain::start(Secrets::default(), at(0)).expect("a header");
    let mut log = header.line;
    let events = [
        AuditEvent::Step {
            step: "restart-zk1".into(),
            state: StepState::Running,
        },
        AuditEvent::Note {
            text: "a note with \"quotes\" and ünïcode".into(),
        },
        AuditEvent::Step {
            step: "restart-zk1".into(),
            state: StepState::Done,
        },
    ];
    for (i, event) in events.into_iter().enumerate() {
        log.extend(chain.seal(event, at(i as u64 + 1)).expect("a record").line);
    }
    String::from_utf8(log).expect("records are UTF-8")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fourlw_parsers_never_panic(
        (word, text) in (0..FOURLW.len(), prop::collection::vec(edit(), 0..8))
            .prop_map(|(i, edits)| (FOURLW[i].0, apply(FOURLW[i].1.to_string(), &edits))),
        other in mutated(FOURLW.iter().map(|(_, t)| t.to_string()).collect()),
    ) {
        // As the poll path reads them, every word it asks.
        for command in [Command::Srvr, Command::Mntr, Command::Conf] {
            let _ = answered(command, Ok(text.clone()));
            let _ = answered(command, Ok(other.clone()));
        }
        prop_assert!(Command::ALL.iter().any(|c| c.as_str() == word));
    }

    #[test]
    fn the_runbook_loader_never_panics(text in mutated(RUNBOOKS.map(String::from).to_vec())) {
        let inventory = lab();
        let read = |_: &Path| -> Result<String, String> { Ok(RUNBOOKS[0].to_string()) };
        if let Err(err) = bind_alone(&text, &inventory, &read) {
            prop_assert!(err.line >= 1 && err.column >= 1, "{err}");
        }
    }

    #[test]
    fn the_inventory_loader_never_panics(text in mutated(vec![LAB.to_string()])) {
        if let Err(err) = Inventory::parse(&text, Path::new("inv.yaml")) {
            prop_assert!(err.line >= 1 && err.column >= 1, "{err}");
        }
    }

    #[test]
    fn the_state_loader_and_analyzer_never_panic(text in mutated(STATES.map(String::from).to_vec())) {
        if let Ok(report) = zkpilot::analyze::analyze(&text, Path::new("state.yaml")) {
            let _ = report.text();
            let _ = report.json();
        }
    }

    #[test]
    fn the_audit_reader_never_panics(text in mutated(vec![audit_log()])) {
        let log = AuditLog::from_bytes(text.as_bytes());
        prop_assert!(log.records.len() <= text.lines().count());
    }
}

proptest! {
    // Each case searches: fewer cases, and a small bound.
    #![proptest_config(Config { cases: config().cases.min(64), ..config() })]

    #[test]
    fn the_synthesizer_never_panics(
        state in mutated(vec![SYNTH_STATE.to_string()]),
        target in mutated(SYNTH_TARGETS.map(String::from).to_vec()),
    ) {
        for (state, target) in [(state.as_str(), SYNTH_TARGETS[0]), (SYNTH_STATE, target.as_str())] {
            let request = zkpilot::synth::Request {
                state_text: state,
                state_path: Path::new("state.yaml"),
                target_text: target,
                target_path: Path::new("target.yaml"),
                leader: Some("zk1"),
                bound: zkpilot::synth::search::Bound { max_states: 300 },
                output: None,
            };
            if let Err(zkpilot::synth::SynthError::Input(err)) = zkpilot::synth::synthesize(&request)
            {
                prop_assert!(err.line >= 1 && err.column >= 1, "{err}");
            }
        }
    }
}

proptest! {
    // Through a real file: fewer cases, each writes one.
    #![proptest_config(Config { cases: config().cases.min(64), ..config() })]

    #[test]
    fn the_file_reader_agrees_with_the_reader_in_memory(
        text in mutated(vec![audit_log()]),
    ) {
        let path = std::env::temp_dir().join(format!("zkpilot-properties-{}.jsonl", std::process::id()));
        std::fs::write(&path, &text).expect("a scratch file");
        let from_file = zkpilot::audit::read_log(&path).expect("a regular file reads");
        let in_memory = AuditLog::from_bytes(text.as_bytes());
        std::fs::remove_file(&path).expect("the scratch file goes");
        prop_assert_eq!(from_file.records.len(), in_memory.records.len());
        prop_assert_eq!(from_file.verification.is_ok(), in_memory.verification.is_ok());
    }
}
