//! The start of `zkpilot synthesize --inventory`: the ensemble as one poll saw it, written as a
//! state file in `analyze`'s format. The synthesizer then reads it exactly as one an operator
//! wrote, and the command keeps it beside the runbook, so the order can be synthesized again
//! from the same start after the ensemble has moved on.
//!
//! Every running server must have told its id and its own view (`conf`, or the AdminServer's
//! `configuration`): a server's view is what it will follow and elect by, and guessing it is the
//! mistake the analyzer exists to avoid. A server down today is written only when a running
//! server's view lists its id at its address (a voter that is down, which the target may start
//! again); any other host of the inventory is not part of today's ensemble, and the target
//! names it as a new host.

use std::fmt::Write;

use super::emit::q;
use crate::ensemble::{EnsembleState, Health, NodeState};
use crate::zk::config::{PeerAddr, ServerLine, View};
use crate::zk::fourlw::Mode;
use crate::zk::version::ZkVersion;

struct Entry<'a> {
    name: &'a str,
    sid: u64,
    addr: PeerAddr,
    up: bool,
    view: usize,
    /// Its `quorumListenOnAllIPs` when a `zoo.cfg` read told it; else unknown, judged both ways.
    listen_all: Option<bool>,
    /// The services that forward to it now (the inventory's `to:`).
    services: Vec<PeerAddr>,
}

/// The state file of `live`, judged on `version`'s rules; an error says which server kept the
/// poll from telling its part.
pub fn state_file(live: &EnsembleState, version: ZkVersion) -> Result<String, String> {
    let mut views: Vec<View> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for (index, node) in live.nodes.iter().enumerate() {
        let name = node.target.name.as_str();
        match &node.health {
            Health::Unknown => return Err(format!("{name}: the poll got no answer to read")),
            Health::Serving(Mode::Standalone) => {
                return Err(format!(
                    "{name} runs standalone: a quorum of one is no ensemble to migrate"
                ))
            }
            health if !health.is_up() => continue,
            _ => {}
        }
        let sid = node
            .sid()
            .ok_or_else(|| format!("{name}: its server id is unknown"))?;
        // The runbook names the server by its inventory entry, whose `sid` the binding writes
        // into every view: an order planned on the id the server reports would write others.
        if let (Some(reported), Some(listed)) = (node.server_id, node.target.sid) {
            if reported != listed {
                return Err(format!(
                    "{name} reports server id {reported}, and the inventory gives it {listed}: correct the inventory (or the server's myid) before synthesizing"
                ));
            }
        }
        let view = node
            .current_view()
            .map(|v| analyzed(&v.view))
            .ok_or_else(|| {
                format!(
                    "{name} runs, but showed no view since it started (neither `conf` nor the \
                 AdminServer's configuration answered): its view decides the order"
                )
            })?;
        let addr = address(node, &view, sid)
            .ok_or_else(|| format!("{name}: its view does not list its own id {sid}"))?;
        entries.push(Entry {
            name,
            sid,
            addr,
            up: true,
            view: view_index(&mut views, view),
            listen_all: node.listen_all,
            services: live.aliases_of(index),
        });
    }
    for (index, node) in live
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.health.is_up())
    {
        let Some(sid) = node.sid() else { continue };
        if entries.iter().any(|e| e.sid == sid) {
            continue;
        }
        let listed = views.iter().position(|view| {
            view.server(sid).is_some_and(|line| {
                node.target
                    .peer
                    .as_ref()
                    .is_none_or(|peer| line.has_addr(peer))
            })
        });
        if let Some(view) = listed {
            if let Some(addr) = address(node, &views[view], sid) {
                entries.push(Entry {
                    name: &node.target.name,
                    sid,
                    addr,
                    up: false,
                    view,
                    listen_all: node.listen_all,
                    services: live.aliases_of(index),
                });
            }
        }
    }
    if !entries.iter().any(|e| e.up) {
        return Err("no server of the inventory runs: there is no ensemble to start from".into());
    }
    Ok(render(&views, &entries, version))
}

/// What the analyzer reads of a view: the lines without their client address (it compares
/// peer addresses only) and without the dynamic config's version.
fn analyzed(view: &View) -> View {
    let lines: Vec<ServerLine> = view
        .servers()
        .iter()
        .map(|line| ServerLine {
            client: None,
            ..line.clone()
        })
        .collect();
    View::new(lines, None).unwrap_or_else(|_| view.clone())
}

/// The node's peer address: the inventory's, else its own line in its view.
fn address(node: &NodeState, view: &View, sid: u64) -> Option<PeerAddr> {
    node.target
        .peer
        .clone()
        .or_else(|| view.server(sid).map(|line| line.primary_addr().clone()))
}

fn view_index(views: &mut Vec<View>, view: View) -> usize {
    match views.iter().position(|v| v.same_membership(&view)) {
        Some(index) => index,
        None => {
            views.push(view);
            views.len() - 1
        }
    }
}

fn render(views: &[View], entries: &[Entry], version: ZkVersion) -> String {
    let name = |index: usize| {
        if views.len() == 1 {
            "today".to_string()
        } else {
            format!("today{}", index + 1)
        }
    };
    let mut text =
        String::from("# The ensemble as one poll saw it (zkpilot synthesize --inventory).\n");
    let _ = writeln!(text, "zookeeper: {}", q(&version.to_string()));
    text.push_str("views:\n");
    for (index, view) in views.iter().enumerate() {
        let lines: Vec<String> = view.servers().iter().map(|l| q(&l.to_string())).collect();
        let _ = writeln!(text, "  {}: [{}]", name(index), lines.join(", "));
    }
    text.push_str("nodes:\n");
    for entry in entries {
        let listen_all = entry
            .listen_all
            .map_or(String::new(), |on| format!(", listen_all: {on}"));
        let services = if entry.services.is_empty() {
            String::new()
        } else {
            let addrs: Vec<String> = entry.services.iter().map(|a| q(&a.to_string())).collect();
            format!(", services: [{}]", addrs.join(", "))
        };
        let _ = writeln!(
            text,
            "  - {{name: {}, sid: {}, addr: {}, up: {}{listen_all}{services}, view: {}}}",
            q(entry.name),
            entry.sid,
            q(&entry.addr.to_string()),
            entry.up,
            name(entry.view)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::{answered, PollReport};
    use crate::runbook::fixtures::{polled, FOLLOWER_SRVR};
    use crate::synth::{search::Bound, synthesize, Request};
    use crate::zk::fourlw::Command;
    use std::path::Path;

    fn newest(live: &EnsembleState) -> Result<String, String> {
        state_file(live, ZkVersion::NEWEST)
    }

    #[test]
    fn a_polled_ensemble_is_a_state_file_the_synthesizer_grows() {
        let text = newest(&polled(3, &[], 1_000)).unwrap_or_else(|e| panic!("{e}"));
        let state = crate::analyze::load(&text, Path::new("live.yaml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(state.ensemble.nodes.len(), 3, "{text}");
        assert!(state
            .ensemble
            .nodes
            .iter()
            .all(|n| n.up && n.view.participant_count() == 3));
        assert_eq!(state.view_names[0].as_deref(), Some("today"));
        let target = "servers:\n  - {host: zk1}\n  - {host: zk2}\n  - {host: zk3}\n  - {host: zk4, sid: 4}\n  - {host: zk5, sid: 5}\n";
        let synthesis = synthesize(&Request {
            state_text: &text,
            state_path: Path::new("live.yaml"),
            target_text: target,
            target_path: Path::new("five.yaml"),
            leader: Some("zk3"),
            bound: Bound::default(),
            output: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(synthesis.runbook.contains("zk5"));
    }

    #[test]
    fn a_voter_down_today_is_written_down_and_a_spare_in_no_view_is_left_out() {
        // zk2 is down and the views list it; zk4 is a spare no view names.
        let mut live = polled(3, &[1], 1_000);
        let mut spare = live.nodes[1].clone();
        spare.target.name = "zk4".into();
        spare.target.sid = Some(4);
        live.nodes.push(spare);
        let text = newest(&live).unwrap_or_else(|e| panic!("{e}"));
        let state = crate::analyze::load(&text, Path::new("live.yaml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let names: Vec<(&str, bool)> = state
            .ensemble
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.up))
            .collect();
        assert!(names.contains(&("zk2", false)), "{text}");
        assert!(!text.contains("\"zk4\""), "{text}");
    }

    /// A service the inventory says forwards to a server today is written in front of it.
    #[test]
    fn a_service_that_forwards_to_a_server_is_written_in_front_of_it() {
        let mut live = polled(3, &[], 1_000);
        let svc = PeerAddr::parse("10.96.0.2:2888:3888").unwrap_or_else(|e| panic!("{e}"));
        live.services = vec![(svc, Some(1))];
        let text = newest(&live).unwrap_or_else(|e| panic!("{e}"));
        let state = crate::analyze::load(&text, Path::new("live.yaml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let behind: Vec<usize> = state
            .ensemble
            .nodes
            .iter()
            .map(|n| n.aliases.len())
            .collect();
        assert_eq!(behind, [0, 1, 0], "{text}");
    }

    #[test]
    fn a_running_server_that_showed_no_view_is_refused_by_name() {
        let mut live = polled(3, &[], 1_000);
        live.nodes[0] = EnsembleState::new(vec![live.nodes[0].target.clone()])
            .nodes
            .remove(0);
        live.apply(&PollReport::fourlw(
            0,
            2_000,
            vec![answered(Command::Srvr, Ok(FOLLOWER_SRVR.to_string()))],
        ));
        let refused = newest(&live).err().unwrap_or_default();
        assert!(
            refused.starts_with("zk1 runs, but showed no view"),
            "{refused}"
        );
    }

    /// The runbook binds each server by its inventory entry: a server that reports another id
    /// than the inventory gives it is refused by name, not planned on the id it reports.
    #[test]
    fn a_server_whose_id_is_not_the_inventorys_is_refused_by_name() {
        let mut live = polled(3, &[], 1_000);
        live.nodes[0].target.sid = Some(9);
        let refused = newest(&live).err().unwrap_or_default();
        assert!(
            refused.starts_with("zk1 reports server id 1, and the inventory gives it 9"),
            "{refused}"
        );
        live.nodes[0].target.sid = None;
        assert!(
            newest(&live).is_ok(),
            "an inventory without ids takes the reported one"
        );
    }

    #[test]
    fn nothing_polled_or_nothing_running_is_no_start() {
        let mut live = polled(3, &[0, 1, 2], 1_000);
        assert!(newest(&live).is_err());
        live.nodes[1].health = Health::Unknown;
        assert_eq!(
            newest(&live).err().unwrap_or_default(),
            "zk2: the poll got no answer to read"
        );
    }
}
