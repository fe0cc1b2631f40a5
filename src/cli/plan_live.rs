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
