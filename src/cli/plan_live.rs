//! Pure part of `plan`: which ZooKeeper rules apply and, with `--live`, the plan started from
//! the ensemble as one poll saw it instead of the runbook's declared start.

use crate::ensemble::EnsembleState;
use crate::runbook::plan::{self, Plan};
use crate::runbook::procedure::Procedure;
use crate::runbook::simulate::SimState;
use crate::zk::version::ZkVersion;

/// The version whose rules apply: `--zookeeper`, else the inventory's, else what the live
/// servers say, else the newest. A version given in words that do not parse is an error.
pub fn version(
    flag: Option<&str>,
    inventory: Option<&str>,
    live: Option<&EnsembleState>,
) -> Result<ZkVersion, String> {
    match flag.or(inventory) {
        Some(text) => {
            ZkVersion::parse(text).ok_or_else(|| format!("bad ZooKeeper version `{text}`"))
        }
        None => Ok(live
            .and_then(EnsembleState::version)
            .unwrap_or(ZkVersion::NEWEST)),
    }
}

/// The inventory name of the node leading in the poll, to bind a `pick: leader` host.
pub fn leader(live: &EnsembleState) -> Option<String> {
    live.leader().map(|i| live.nodes[i].target.name.clone())
}

/// For each runbook host, the polled node of the same inventory host.
pub fn node_of(procedure: &Procedure, live: &EnsembleState) -> Vec<Option<usize>> {
    procedure
        .hosts
        .iter()
        .map(|h| {
            live.nodes
                .iter()
                .position(|n| n.target.name == h.inventory.name)
        })
        .collect()
}

/// The plan from the ensemble as polled: what runs and each node's own view replace the
/// declared start where the poll saw them (`SimState::from_live`).
pub fn plan_from_live(procedure: &Procedure, version: ZkVersion, live: &EnsembleState) -> Plan {
    let initial = SimState::initial(procedure);
    let (procedure, start) =
        SimState::from_live(procedure, &initial, live, &node_of(procedure, live));
    plan::plan_from(&procedure, version, start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;
    use crate::runbook::procedure::{bind, BindInput};
    use std::collections::BTreeMap;
    use std::path::Path;

    fn procedure() -> (Procedure, Inventory) {
        let inventory = Inventory::parse(
            include_str!("../../tests/fixtures/inventories/lab.yaml"),
            Path::new("lab.yaml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let none = BTreeMap::new();
        let input = BindInput {
            inventory: &inventory,
            leader: None,
            bindings: &none,
            variables: &none,
            read_fragment: &|p: &Path| Err(format!("no fragment {}", p.display())),
        };
        let procedure = bind(
            include_str!("../../runbooks/rolling-restart.yaml"),
            Path::new("rolling-restart.yaml"),
            &input,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (procedure, inventory)
    }

    #[test]
    fn hosts_are_matched_to_polled_nodes_by_inventory_name_in_any_order() {
        let (procedure, inventory) = procedure();
        let mut targets = crate::ensemble::inventory_targets(&inventory);
        targets.reverse();
        let live = EnsembleState::new(targets);
        let matched = node_of(&procedure, &live);
        for (host, node) in procedure.hosts.iter().zip(&matched) {
            let node = node.unwrap_or_else(|| panic!("{} not matched", host.name));
            assert_eq!(live.nodes[node].target.name, host.inventory.name);
        }
    }

    #[test]
    fn a_poll_that_saw_nothing_plans_from_the_declared_start() {
        let (procedure, inventory) = procedure();
        let live = EnsembleState::new(crate::ensemble::inventory_targets(&inventory));
        let version = ZkVersion::NEWEST;
        assert_eq!(
            plan_from_live(&procedure, version, &live),
            plan::plan(&procedure, version)
        );
        assert_eq!(leader(&live), None);
    }

    /// Bound while zk1 led: `P` (picked as the leader) on zk1, the rolling restart's order
    /// zk2, zk3, zk1. Then zk3 leads. The run orders its pending repetitions again and `P`,
    /// flagged, is re-bound to the live leader; `plan --live` from the same poll binds and
    /// orders the same: one order, one binding.
    #[test]
    fn after_the_leader_moved_plan_live_and_the_run_show_one_order_and_one_binding() {
        use crate::runbook::engine::Input;
        use crate::runbook::fixtures::{live, picked_engine};
        const STEPS: &str = "  - {id: restart-P, title: P, confirm: none, run: [{host: P, verb: restart}], effect: [{restart: {host: P}}]}\n  - id: r\n    title: R\n    confirm: none\n    for-each: {pick: all, order: leader-last}\n    run: [{host: each, verb: restart}]\n    effect: [{restart: {host: each}}]\n";
        let mut engine = picked_engine("[{name: P, pick: leader}]", STEPS, "zk1");
        let ids = |steps: &[crate::runbook::procedure::Step]| -> Vec<String> {
            steps.iter().map(|s| s.id.clone()).collect()
        };
        assert_eq!(
            ids(&engine.procedure.steps),
            ["restart-P", "r@zk2", "r@zk3", "r@zk1"]
        );
        let moved = live(&[]);
        engine.tick(&moved, 20_000);
        let after_the_move = ["restart-P", "r@zk1", "r@zk2", "r@zk3"];
        assert_eq!(
            ids(&engine.procedure.steps),
            after_the_move,
            "before P's step"
        );
        engine.input(
            Input::Rebind {
                host: "P".into(),
                to: "zk3".into(),
            },
            &moved,
        );
        engine.tick(&moved, 21_000);
        let source = engine.source.clone().unwrap_or_else(|| panic!("a source"));
        let procedure = source
            .bind(&BTreeMap::new(), leader(&moved).as_deref())
            .unwrap_or_else(|e| panic!("{e}"));
        let plan = plan_from_live(&procedure, ZkVersion::NEWEST, &moved);
        let run: Vec<(String, String)> = engine.procedure.bindings();
        assert_eq!(plan.bindings, run);
        let planned: Vec<&str> = plan.steps.iter().map(|r| r.step.as_str()).collect();
        assert_eq!(planned, ids(&engine.procedure.steps));
        assert_eq!(planned, after_the_move);
    }

    #[test]
    fn the_flag_wins_over_the_inventory_and_a_bad_version_is_refused() {
        assert_eq!(
            version(Some("3.4.6"), Some("3.8.0"), None).ok(),
            ZkVersion::parse("3.4.6")
        );
        assert_eq!(version(None, None, None), Ok(ZkVersion::NEWEST));
        assert_eq!(
            version(None, Some("three"), None),
            Err("bad ZooKeeper version `three`".to_string())
        );
    }
}
