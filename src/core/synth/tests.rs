//! The synthesizer against the seeds' starts, and every emitted runbook bound and planned.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::runbook::plan;
use crate::runbook::procedure::{bind, BindInput};

/// The LINE deck's start (seed 004): P, Q, R on the three-server view.
fn line_state(version: &str) -> String {
    format!(
        "zookeeper: \"{version}\"\nviews:\n  three: [server.1=p:2888:3888, server.2=q:2888:3888, server.3=r:2888:3888]\nnodes:\n  - {{name: P, sid: 1, addr: \"p:2888:3888\", view: three}}\n  - {{name: Q, sid: 2, addr: \"q:2888:3888\", view: three}}\n  - {{name: R, sid: 3, addr: \"r:2888:3888\", view: three}}\n"
    )
}

/// 3 → 5 (S, T), then A, B, C take over P's, Q's and R's ids.
const LINE_TARGET: &str = "servers:\n  - {host: A, sid_of: P}\n  - {host: B, sid_of: Q}\n  - {host: C, sid_of: R}\n  - {host: S, sid: 4}\n  - {host: T, sid: 5}\n";

fn run(state: &str, target: &str, leader: Option<&str>) -> Result<Synthesis, SynthError> {
    synthesize(&Request {
        state_text: state,
        state_path: Path::new("state.yaml"),
        target_text: target,
        target_path: Path::new("target.yaml"),
        leader,
        bound: Bound::default(),
        output: None,
    })
}

/// Binds `runbook` to the problem's model inventory and plans it.
fn planned(
    problem: &Problem,
    runbook: &str,
    leader: Option<&str>,
    bindings: &BTreeMap<String, String>,
) -> (Procedure, Plan) {
    let inventory = model_inventory(problem);
    let none = BTreeMap::new();
    let read = |_: &Path| -> Result<String, String> { Err("no fragments".into()) };
    let input = BindInput {
        inventory: &inventory,
        leader,
        bindings,
        variables: &none,
        read_fragment: &read,
    };
    let procedure = match bind(runbook, Path::new("synthesized.yaml"), &input) {
        Ok(p) => p,
        Err(e) => panic!("{e}\n{runbook}"),
    };
    let plan = plan::plan(&procedure, problem.version);
    (procedure, plan)
}

/// Synthesizes, checks that the runbook binds and plans ok, and returns its figures.
fn synthesized(state: &str, target: &str, leader: Option<&str>) -> (Synthesis, Figures) {
    let synthesis = match run(state, target, leader) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let (procedure, plan) = planned(
        &synthesis.problem,
        &synthesis.runbook,
        leader,
        &BTreeMap::new(),
    );
    assert!(
        !plan.blocked(),
        "{}\n{}",
        plan::render_table(&plan),
        synthesis.runbook
    );
    let figures = Figures::of(&procedure, &plan);
    assert_eq!(figures.restarts as u32, synthesis.found.cost.restarts);
    assert_eq!(figures.steps as u32, synthesis.found.cost.steps);
    (synthesis, figures)
}

fn shipped(name: &str) -> String {
    let path = format!("{}/../../runbooks/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn line_on_3_4_rules_needs_no_more_restarts_than_the_shipped_runbook() {
    let (synthesis, figures) = synthesized(&line_state("3.4.6"), LINE_TARGET, Some("P"));
    println!("{}", synthesis.runbook);
    assert_eq!(synthesis.found.proof, Proof::Minimal);
    let (procedure, plan) = planned(
        &synthesis.problem,
        &shipped("split-brain-free-expand"),
        Some("P"),
        &BTreeMap::new(),
    );
    let hand = Figures::of(&procedure, &plan);
    assert_eq!(hand.restarts, 15);
    assert!(!hand.blocked, "{}", plan::render_table(&plan));
    assert!(figures.restarts <= hand.restarts, "{figures:?} vs {hand:?}");
}
