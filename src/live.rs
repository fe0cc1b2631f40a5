//! The analyzer applied to the live ensemble (pure): what the poller has seen, turned into the
//! analyzer's input, so the panels can say whether quorum holds and whether two can form.

use crate::ensemble::{EnsembleState, Health, NodeState};
use crate::quorum::{Ensemble, Node, Verdict};
use crate::zk::config::{PeerAddr, View};
use crate::zk::fourlw::Mode;
use crate::zk::version::ZkVersion;

/// The live verdict, or in words why there is none yet.
pub fn verdict(state: &EnsembleState) -> Result<Verdict, String> {
    quorum_input(state)?.verdict().map_err(|e| e.to_string())
}

pub fn quorum_input(state: &EnsembleState) -> Result<Ensemble, String> {
    if state.nodes.iter().any(|n| n.health == Health::Unknown) {
        return Err("waiting for the first poll of every node".into());
    }
    if state
        .nodes
        .iter()
        .any(|n| n.health == Health::Serving(Mode::Standalone))
    {
        return Err("a standalone server is a quorum of one: nothing to analyze".into());
    }
    let mut nodes = Vec::with_capacity(state.nodes.len());
    for (index, node) in state.nodes.iter().enumerate() {
        let name = node.target.name.clone();
        let aliases = state.aliases_of(index);
        let up = node.health.is_up();
        let Some(sid) = node.sid() else {
            if up {
                return Err(format!("{name}: its server id is unknown"));
            }
            continue;
        };
        let view = node.current_view().map(|v| v.view.clone());
        let addr = node
            .target
            .peer
            .clone()
            .or_else(|| own_address(view.as_ref(), sid));
        let Some(addr) = addr.filter(|_| view.is_some() || !up) else {
            if up {
                return Err(unknown_view(node));
            }
            continue;
        };
        nodes.push(Node {
            name,
            sid,
            addr,
            aliases,
            up,
            view: view.unwrap_or_default(),
        });
    }
    Ok(Ensemble {
        version: state.version().unwrap_or(ZkVersion::NEWEST),
        nodes,
        partitions: None,
    })
}

fn own_address(view: Option<&View>, sid: u64) -> Option<PeerAddr> {
    view?.server(sid).map(|line| line.primary_addr().clone())
}

fn unknown_view(node: &NodeState) -> String {
    if node.view.is_some() {
        return format!(
            "{}: it restarted and has not shown its new view yet (its last known one is not used)",
            node.target.name
        );
    }
    format!(
        "{}: its config view was never seen (it has been LOOKING or refuses `conf`); \
         give it in the inventory or runbook",
        node.target.name
    )
}
