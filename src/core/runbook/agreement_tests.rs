//! `plan` and `run` agree: for every shipped runbook, the run's engine, shown before
//! each step a live ensemble exactly as the plan predicts it (every server's own view as `conf`
//! reports it), finds the same hazards, accepted or not, as the plan's row for that step.

use std::collections::BTreeMap;
use std::path::Path;

use super::engine::Recorded;
use super::model::Hazard;
use super::plan::plan;
use super::procedure::{bind, BindInput, Procedure};
use super::simulate::{view_named, SimState};
use crate::audit::record::{AuditEvent, StepState};
use crate::ensemble::{answered, inventory_targets, EnsembleState, PollFailure, PollReport};
use crate::inventory::Inventory;
use crate::zk::fourlw::Command;
use crate::zk::version::ZkVersion;

const FOLLOWER_SRVR: &str = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt");

const RUNBOOKS: [(&str, &str); 8] = [
    (
        "k8s-one-for-one",
        include_str!("../../../runbooks/k8s-one-for-one.yaml"),
    ),
    ("mitosis", include_str!("../../../runbooks/mitosis.yaml")),
    (
        "naive-expand",
        include_str!("../../../runbooks/naive-expand.yaml"),
    ),
    (
        "observer-migration",
        include_str!("../../../runbooks/observer-migration.yaml"),
    ),
    (
        "reconfig-replace",
        include_str!("../../../runbooks/reconfig-replace.yaml"),
    ),
    (
        "rolling-restart",
        include_str!("../../../runbooks/rolling-restart.yaml"),
    ),
    (
        "split-brain-free-expand",
        include_str!("../../../runbooks/split-brain-free-expand.yaml"),
    ),
    (
        "stateless-replace",
        include_str!("../../../runbooks/stateless-replace.yaml"),
    ),
];

fn lab() -> Inventory {
    let text = include_str!("../../../tests/fixtures/inventories/lab.yaml");
    Inventory::parse(text, Path::new("lab.yaml")).unwrap()
}

fn bound(text: &str, inventory: &Inventory) -> Procedure {
    let none = BTreeMap::new();
    let read = |_: &Path| -> Result<String, String> { Err("no fragments".into()) };
    let input = BindInput {
        inventory,
        leader: None,
        bindings: &none,
        variables: &none,
        read_fragment: &read,
    };
    bind(text, Path::new("rb.yaml"), &input).unwrap()
}

/// The live ensemble as the plan predicts it: each running server answers `srvr` and `conf`
/// with the view it runs on; the others refuse connections.
fn live_as_predicted(
    procedure: &Procedure,
    state: &SimState,
    inventory: &Inventory,
    version: ZkVersion,
) -> EnsembleState {
    let ensemble = state.ensemble(procedure, version);
    let mut live = EnsembleState::new(inventory_targets(inventory));
    for (node, host) in inventory.hosts.iter().enumerate() {
        let bound = procedure
            .hosts
            .iter()
            .position(|h| h.inventory.name == host.name);
        let answers = match bound.filter(|&h| state.up[h]) {
            None => vec![answered(Command::Srvr, Err(PollFailure::Refused))],
            Some(h) => {
                let view = state.running[h]
                    .as_deref()
                    .map(|name| view_named(procedure, name))
                    .unwrap_or_default();
                let mut conf = format!("serverId={}\nmembership: \n", ensemble.nodes[h].sid);
                for line in view.servers() {
                    conf.push_str(&format!("{line}\n"));
                }
                conf.push_str("version=0");
                vec![
                    answered(Command::Srvr, Ok(FOLLOWER_SRVR.to_string())),
                    answered(Command::Conf, Ok(conf)),
                ]
            }
        };
        live.apply(&PollReport::fourlw(node, 1_000, answers));
    }
    live
}

type Judged = Vec<(Hazard, bool)>;

#[test]
fn plan_and_run_find_the_same_hazards_at_every_step_of_every_shipped_runbook() {
    let inventory = lab();
    let version = ZkVersion::new(3, 8, 0);
    let mut compared = 0;
    for (name, text) in RUNBOOKS {
        let procedure = bound(text, &inventory);
        let planned = plan(&procedure, version);
        let mut state = SimState::initial(&procedure);
        for (index, step) in procedure.steps.iter().enumerate() {
            let mut engine = super::fixtures::engine_on(procedure.clone(), &inventory);
            engine.version = version;
            let done: Vec<AuditEvent> = procedure.steps[..index]
                .iter()
                .map(|s| AuditEvent::Step {
                    step: s.id.clone(),
                    state: StepState::Done,
                })
                .collect();
            engine.resume(&Recorded::of(&done));
            let live = live_as_predicted(&procedure, &state, &inventory, version);
            let readiness = engine.readiness(&live).unwrap();
            let judged = |hazards: &[super::plan::Found]| -> Judged {
                let mut all: Judged = hazards.iter().map(|h| (h.hazard, h.accepted)).collect();
                all.sort();
                all
            };
            assert_eq!(
                judged(&readiness.hazards),
                judged(&planned.steps[index].hazards),
                "{name}, step {}: run {:?} / plan {:?}",
                step.id,
                readiness.hazards,
                planned.steps[index].hazards
            );
            compared += 1;
            state = state.through(step).pop().unwrap_or(state);
        }
    }
    assert!(compared > 60, "{compared} steps compared");
}
