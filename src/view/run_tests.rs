//! The run screen through its states, built purely: the lab inventory, a shipped runbook, real
//! ZooKeeper 3.8.0 answers and the operator's keys fed through `console::run::update`, drawn on
//! ratatui's `TestBackend` at the size of a roomy terminal and at the 80×24 of a jump host.

use std::collections::BTreeMap;
use std::path::Path;

use super::draw_run;
use crate::console::keys::Key;
use crate::console::run::{update, Effect, RunAction, RunState};
use crate::console::watch::{spares_of, WatchState};
use crate::ensemble::{answered, inventory_targets, EnsembleState, PollFailure, PollReport};
use crate::inventory::Inventory;
use crate::net::remote::{OutputLine, Stream};
use crate::runbook::engine::{Ended, Prompt, Status};
use crate::runbook::procedure::{bind, BindInput};
use crate::view::nodes::role_label;
use crate::zk::fourlw::Command;

pub(crate) const NOW: u64 = 1_790_000_000_000;
const LEADER_SRVR: &str = include_str!("../../tests/fixtures/zk4lw/leader.srvr.txt");
const LEADER_MNTR: &str = include_str!("../../tests/fixtures/zk4lw/leader.mntr.txt");
const FOLLOWER_SRVR: &str = include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt");
const FOLLOWER_MNTR: &str = include_str!("../../tests/fixtures/zk4lw/follower.mntr.txt");
pub(crate) const LAB: &str = include_str!("../../tests/fixtures/inventories/lab.yaml");
pub(crate) const ROLLING_RESTART: &str = include_str!("../../runbooks/rolling-restart.yaml");
const STOP_ZK2: &str = include_str!("../../tests/fixtures/runbooks/stop-zk2.yaml");

/// The two sizes every state is drawn at: a roomy terminal and a jump host's.
const ROOMY: (u16, u16) = (160, 45);
const JUMP_HOST: (u16, u16) = (80, 24);

/// The `conf` answer of server `sid` in the lab's three-voter ensemble.
fn conf(sid: u64) -> String {
    let mut text = format!("serverId={sid}\nmembership: \n");
    for member in 1..=3 {
        text.push_str(&format!(
            "server.{member}=10.0.0.{member}:2888:3888:participant\n"
        ));
    }
    text + "version=100000000"
}

/// One poll of every lab host at `at`: zk3 leads zk1 and zk2, the five spares are not
/// running, and the nodes in `down` refuse connections.
pub(crate) fn poll_all(inventory: &Inventory, down: &[usize], at: u64) -> Vec<RunAction> {
    (0..inventory.hosts.len())
        .map(|node| {
            let answers = if down.contains(&node) || node > 2 {
                vec![(Command::Srvr, Err(PollFailure::Refused))]
            } else if node == 2 {
                vec![
                    (Command::Srvr, Ok(LEADER_SRVR.to_string())),
                    (Command::Mntr, Ok(LEADER_MNTR.to_string())),
                    (Command::Conf, Ok(conf(3))),
                ]
            } else {
                vec![
                    (Command::Srvr, Ok(FOLLOWER_SRVR.to_string())),
                    (Command::Mntr, Ok(FOLLOWER_MNTR.to_string())),
                    (Command::Conf, Ok(conf(node as u64 + 1))),
                ]
            };
            RunAction::Poll(PollReport {
                admin: Vec::new(),
                node,
                at,
                round_trip_ms: Some(0.4 + node as f64 * 0.1),
                answers: answers.into_iter().map(|(c, r)| answered(c, r)).collect(),
                ..PollReport::default()
            })
        })
        .collect()
}

/// The lab inventory cut to its first `hosts` hosts (the three voters, then spares).
fn lab(hosts: usize) -> String {
    let (head, rest) = LAB.split_once("hosts:\n").unwrap();
    let (list, services) = rest.split_once("services:").unwrap();
    let end = list
        .find(&format!("  - {{name: zk{},", hosts + 1))
        .unwrap_or(list.len());
    format!("{head}hosts:\n{}services:{services}", &list[..end])
}

/// A run console on the lab inventory, bound as `run` binds (zk3 is the live leader) and
/// polled once at `NOW` with `down` refusing.
fn console_on(lab: &str, runbook: &str, down: &[usize]) -> RunState {
    let (inventory, mut state) = bound(lab, runbook, Some("zk3"));
    poll_on(&inventory, &mut state, down, NOW);
    update(&mut state, RunAction::Tick(NOW + 1_500));
    state
}

/// A run console bound to `runbook` on `lab`, not polled yet.
pub(crate) fn bound(lab: &str, runbook: &str, leader: Option<&str>) -> (Inventory, RunState) {
    let inventory = Inventory::parse(lab, Path::new("lab.yaml")).unwrap();
    let none = BTreeMap::new();
    let read = |_: &Path| -> Result<String, String> { Err("none".into()) };
    let input = BindInput {
        inventory: &inventory,
        leader,
        bindings: &none,
        variables: &none,
        read_fragment: &read,
    };
    let procedure = bind(runbook, Path::new("runbook.yaml"), &input).unwrap();
    let targets = inventory_targets(&inventory);
    let engine = crate::runbook::fixtures::engine_on(procedure, &inventory);
    let mut watch = WatchState::new(
        engine.procedure.name.clone(),
        EnsembleState::new(targets),
        NOW,
    );
    watch.spares = spares_of(&inventory);
    let state = RunState::new(watch, engine, "/var/lib/zkpilot/audit/lab.jsonl".into());
    (inventory, state)
}

fn poll_on(inventory: &Inventory, state: &mut RunState, down: &[usize], at: u64) {
    for action in poll_all(inventory, down, at) {
        update(state, action);
    }
}

fn key(state: &mut RunState, c: char) -> Vec<Effect> {
    update(state, RunAction::Key(Key::Char(c)))
}

/// The intent of the command the effects release to SSH.
fn released(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Execute { intent, .. } => Some(*intent),
            _ => None,
        })
        .expect("a command is released")
}

fn output(state: &mut RunState, intent: u64, stream: Stream, text: &str) {
    update(
        state,
        RunAction::Output {
            intent,
            line: OutputLine {
                host: "zk1".into(),
                stream,
                text: text.into(),
            },
        },
    );
}

fn ended(state: &mut RunState, intent: u64, code: i32) {
    update(
        state,
        RunAction::Ended {
            intent,
            ended: Ended::Exited {
                code: Some(code),
                duration_ms: 2_300,
            },
            at: 20_000,
        },
    );
}

/// The seven states of the run screen, on `lab`: the runbook's first step pending with its
/// gates met, the same with a gate failing, a hazard asking for an override, the step running
/// with output, waiting with progress, failed, and the whole runbook done.
fn states(lab: &str) -> Vec<(&'static str, RunState)> {
    vec![
        ("pending", pending(lab)),
        ("gates_failing", console_on(lab, ROLLING_RESTART, &[1])),
        ("hazard_override", hazard_override(lab)),
        ("running", running(lab).0),
        ("waiting", waiting(lab)),
        ("failed", failed(lab)),
        ("done", done(lab)),
    ]
}

fn pending(lab: &str) -> RunState {
    let state = console_on(lab, ROLLING_RESTART, &[]);
    assert_eq!(state.engine.status[0], Status::Pending);
    state
}

fn hazard_override(lab: &str) -> RunState {
    let mut state = console_on(lab, STOP_ZK2, &[0]);
    key(&mut state, 'r');
    assert!(matches!(state.engine.prompt, Some(Prompt::Override { .. })));
    state
}

/// The rolling restart's first step started and confirmed, its command running and talking.
fn running(lab: &str) -> (RunState, u64) {
    let mut state = console_on(lab, ROLLING_RESTART, &[]);
    key(&mut state, 'r');
    assert_eq!(state.engine.prompt, Some(Prompt::Confirm));
    let intent = released(&key(&mut state, 'y'));
    output(
        &mut state,
        intent,
        Stream::Stdout,
        "ZooKeeper JMX enabled by default",
    );
    output(
        &mut state,
        intent,
        Stream::Stdout,
        "Using config: /opt/zookeeper/conf/zoo.cfg",
    );
    output(
        &mut state,
        intent,
        Stream::Stdout,
        "Stopping zookeeper ... STOPPED",
    );
    output(
        &mut state,
        intent,
        Stream::Stdout,
        "Starting zookeeper ... STARTED",
    );
    assert_eq!(state.engine.status[0], Status::Running);
    (state, intent)
}

fn waiting(lab: &str) -> RunState {
    let (mut state, intent) = running(lab);
    ended(&mut state, intent, 0);
    update(&mut state, RunAction::Tick(NOW + 25_000));
    assert!(matches!(state.engine.status[0], Status::Waiting { .. }));
    state
}

fn failed(lab: &str) -> RunState {
    let (mut state, intent) = running(lab);
    output(
        &mut state,
        intent,
        Stream::Stderr,
        "Error: JAVA_HOME is not set and java could not be found in PATH.",
    );
    ended(&mut state, intent, 1);
    assert_eq!(state.engine.prompt, Some(Prompt::Recover));
    state
}

fn done(lab: &str) -> RunState {
    let inventory = Inventory::parse(lab, Path::new("lab.yaml")).unwrap();
    let mut state = console_on(lab, ROLLING_RESTART, &[]);
    let mut at = NOW + 2_000;
    // The rolling restart takes zk1, zk2, then the leader zk3: each is seen down, then back.
    for node in 0..3 {
        key(&mut state, 'r');
        let intent = released(&key(&mut state, 'y'));
        update(&mut state, RunAction::Tick(at));
        ended(&mut state, intent, 0);
        poll_on(&inventory, &mut state, &[node], at + 1_000);
        at += 5_000;
        poll_on(&inventory, &mut state, &[], at);
        update(&mut state, RunAction::Tick(at));
    }
    assert!(state.engine.finished(), "{:?}", state.engine.status);
    state
}

fn render(state: &RunState, (width, height): (u16, u16)) -> String {
    crate::view::rendered(width, height, |frame, look| draw_run(frame, state, look))
}

/// Each state at both sizes, on the whole lab (three voters, five spares).
#[test]
fn the_run_screen_through_its_states() {
    for (name, state) in states(LAB) {
        insta::assert_snapshot!(format!("{name}_160x45"), render(&state, ROOMY));
        insta::assert_snapshot!(format!("{name}_80x24"), render(&state, JUMP_HOST));
    }
}

/// After a failure, `b` shows what the rollback runs and the keys for it; nothing runs until
/// `y`.
#[test]
fn a_rollback_is_shown_before_it_runs() {
    const WIPE: &str = "name: wipe\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nsteps:\n  - id: wipe\n    title: Stop zk1\n    run: [{host: zk1, verb: stop}]\n    rollback: [{host: zk1, verb: restart}]\n";
    let mut state = console_on(LAB, WIPE, &[]);
    key(&mut state, 'r');
    let intent = released(&key(&mut state, 'y'));
    ended(&mut state, intent, 1);
    assert!(key(&mut state, 'b')
        .iter()
        .all(|e| !matches!(e, Effect::Execute { .. })));
    let screen = words(&render(&state, ROOMY));
    assert!(screen.contains("ROLL BACK: runs `"), "{screen}");
    assert!(
        screen.contains("on zk1 y run the rollback Esc keep the step as it is"),
        "{screen}"
    );
}

/// The screen's words with the frames and the wrapping taken out, to look for a sentence that
/// may have been wrapped.
fn words(screen: &str) -> String {
    screen
        .replace(['│', '┌', '┐', '└', '┘', '─'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// At 80×24, in every state and with three to seven nodes: every node's row with its role and
/// zxid, the current step's gates and the predicted verdict.
#[test]
fn a_jump_host_sees_every_node_and_the_current_gates_and_verdict() {
    for hosts in [3, 5, 7] {
        for (name, state) in states(&lab(hosts)) {
            let screen = render(&state, JUMP_HOST);
            let context = format!("{name} with {hosts} nodes:\n{screen}");
            for node in &state.watch.ensemble.nodes {
                let (role, _) = role_label(&node.health);
                let name = format!(" {} ", node.target.name);
                assert!(
                    screen
                        .lines()
                        .any(|l| l.contains(&name) && l.contains(&role) && l.contains("zxid")),
                    "{} as {role}: {context}",
                    node.target.name
                );
            }
            let Some(readiness) = state.engine.readiness(&state.watch.ensemble) else {
                assert_eq!(name, "done");
                continue;
            };
            let text = words(&screen);
            for (gate, result) in &readiness.gates {
                let why = result
                    .as_ref()
                    .err()
                    .map_or(String::new(), |w| format!(" — {w}"));
                assert!(text.contains(&format!("{gate}{why}")), "{gate}: {context}");
            }
            let predicted = readiness.predicted.unwrap_or_default();
            assert!(text.contains(&predicted), "{predicted}: {context}");
            for hazard in &readiness.hazards {
                assert!(
                    text.contains(&hazard.detail),
                    "{}: {context}",
                    hazard.detail
                );
            }
        }
    }
}

/// With more nodes than rows, the node the step acts on and the leader stay (then the others
/// in order), and the last row names those left out.
#[test]
fn nodes_that_do_not_fit_are_named_and_the_ones_acted_on_stay() {
    let state = console_on(LAB, ROLLING_RESTART, &[1]);
    let screen = render(&state, (80, 20));
    assert!(screen.contains("+5 more: zk4 zk5 zk6 zk7 zk8"), "{screen}");
    for row in ["▸ zk1 follower", "  zk2 DOWN", "  zk3 LEADER"] {
        assert!(screen.contains(row), "{row}: {screen}");
    }
    assert!(screen.contains("NOT accepted"), "{screen}");
}

/// One live verdict: zk1's restart command runs (zk1 answering again) when zk2 is stopped by
/// hand. The summary line
/// and the step's panel say the same thing — both draw the live verdict — and the panel does
/// not forecast a quorum loss from simulating zk1's restart a second time. The stop is shown
/// beside the step from the poll that sees it.
#[test]
fn the_summary_and_the_forecast_of_a_step_under_way_agree() {
    let inventory = Inventory::parse(LAB, Path::new("lab.yaml")).unwrap();
    let (mut state, _) = running(LAB);
    poll_on(&inventory, &mut state, &[1], NOW + 3_000);
    assert_eq!(state.engine.status[0], Status::Running);
    let screen = render(&state, ROOMY);
    assert!(!screen.contains("NOT accepted"), "{screen}");
    assert!(screen.contains("now (the step is under way)"), "{screen}");
    assert!(
        screen.contains("⚠ zk2 stopped outside the runbook"),
        "shown the poll it is seen: {screen}"
    );
    assert_eq!(
        screen.matches("quorum can form").count(),
        2,
        "the summary and the panel: {screen}"
    );
}

/// Hard-wrapped `explain:` text is one paragraph on the screen, wrapped at its width.
#[test]
fn the_explanation_is_reflowed_to_the_width() {
    let screen = render(&pending(LAB), ROOMY);
    // In the YAML, "the quorum holds and its clients" ends a line.
    assert!(
        screen.contains("so the quorum holds and its clients reconnect to the others;"),
        "{screen}"
    );
}

fn needs(output: usize, cards: u16) -> super::Needs {
    super::Needs {
        step_least: 10,
        step_all: 14,
        nodes: 5,
        cards,
        output,
    }
}

/// The rows are shared by priority: the step's essentials, a row per node, a line of output,
/// the explanation, more output, and only then cards.
#[test]
fn rows_go_to_what_matters_first() {
    use super::{plan_rows, Plan};
    let plan = |body, needs| plan_rows(body, &needs);
    // Without output the pane takes nothing; what is left goes to the middle.
    assert_eq!(
        plan(20, needs(0, 18)),
        Plan {
            nodes: 5,
            cards: false,
            middle: 15,
            output: 0
        }
    );
    // Output shrinks to one unframed line before the explanation gives way.
    assert_eq!(
        plan(16, needs(4, 18)),
        Plan {
            nodes: 5,
            cards: false,
            middle: 10,
            output: 1
        }
    );
    // Two unframed lines rather than a frame around one.
    assert_eq!(plan(21, needs(4, 18)).output, 2);
    assert_eq!(plan(23, needs(4, 18)).output, 2);
    assert_eq!(plan(25, needs(4, 18)).output, 6);
    // Cards once everything else fits.
    assert_eq!(
        plan(45, needs(4, 18)),
        Plan {
            nodes: 18,
            cards: true,
            middle: 21,
            output: 6
        }
    );
    // A step asking for the whole screen still leaves three node rows.
    assert_eq!(plan(8, needs(0, 18)).nodes, 3);
}

/// At 80×24 the `?` help shows every key whole: its label and every word of what it does.
#[test]
fn the_help_fits_a_jump_host() {
    let mut state = pending(LAB);
    key(&mut state, '?');
    let screen = render(&state, JUMP_HOST);
    let text = words(&screen);
    for (label, help) in crate::console::keys::help_rows(crate::console::keys::RUN_KEYS, |_| true) {
        let row = words(&format!("{label} {help}"));
        assert!(text.contains(&row), "{row}:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}

/// `f` picked as a follower while zk3 led (zk1); then zk1 leads. The step panel flags it and
/// offers `p`; the list shows the servers that fit now, ↓ selects zk3... `y` re-binds to the
/// selected one and the decision is recorded.
#[test]
fn a_pick_that_no_longer_fits_offers_a_re_bind_chosen_from_the_servers_that_fit_now() {
    const ONE_FOLLOWER: &str =
        include_str!("../../tests/fixtures/runbooks/restart-one-follower.yaml");
    let (inventory, mut state) = bound(LAB, ONE_FOLLOWER, Some("zk3"));
    state.engine.source = Some(crate::runbook::procedure::BindSource {
        text: ONE_FOLLOWER.into(),
        path: "runbook.yaml".into(),
        inventory: inventory.clone(),
        variables: BTreeMap::new(),
        fragments: BTreeMap::new(),
    });
    poll_on(&inventory, &mut state, &[], NOW);
    // zk1 leads now, zk3 follows.
    for (node, srvr) in [(0, LEADER_SRVR), (2, FOLLOWER_SRVR)] {
        update(
            &mut state,
            RunAction::Poll(PollReport {
                node,
                at: NOW + 1_000,
                answers: vec![answered(Command::Srvr, Ok(srvr.to_string()))],
                ..PollReport::default()
            }),
        );
    }
    update(&mut state, RunAction::Tick(NOW + 1_500));
    assert!(crate::console::run::offered(
        &state,
        crate::console::keys::RunKey::Rebind
    ));
    key(&mut state, 'p');
    key(&mut state, 'j');
    let screens: Vec<String> = [ROOMY, JUMP_HOST]
        .into_iter()
        .map(|size| render(&state, size))
        .collect();
    assert!(
        words(&screens[0]).contains("> `f` on zk3"),
        "{}",
        screens[0]
    );
    insta::assert_snapshot!(screens.join("\n"));
    let effects = key(&mut state, 'y');
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record {
            event: crate::audit::record::AuditEvent::Decision { .. },
            ..
        }
    )));
    assert_eq!(state.engine.procedure.hosts[0].inventory.name, "zk3");
    assert!(state.choosing.is_none());
}
