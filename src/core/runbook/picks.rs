//! Every binding a runbook's `pick:` hosts can get (pure). A runbook that binds a host by what
//! it is doing ("the leader", "a follower") runs on whichever server plays that part when it
//! starts, so its plan is proven only when it holds for each of them: a server's id decides
//! who dials whom before 3.5 (`QuorumCnxManager`) and who wins ties, so an order that is safe
//! with the deck's P = lowest id may not be with P = the highest.

use std::collections::BTreeMap;

use super::model::{Pick, Runbook};
use crate::inventory::{HostRole, Inventory};

/// The most bindings `plan` checks; beyond it, the operator binds by `--bind`.
pub const MAX_BINDINGS: usize = 5040;

/// Every assignment of the runbook's `pick:` hosts (those not bound by `explicit`) to distinct
/// inventory participants, a `pick: leader` host taking each participant in turn; each is
/// returned with `explicit` merged in. `None` when there are more than [`MAX_BINDINGS`].
pub fn every_binding(
    runbook: &Runbook,
    inventory: &Inventory,
    explicit: &BTreeMap<String, String>,
) -> Option<Vec<BTreeMap<String, String>>> {
    let picked: Vec<(&str, Pick)> = runbook
        .hosts
        .iter()
        .filter(|h| !explicit.contains_key(&h.name))
        .filter_map(|h| h.pick.map(|p| (h.name.as_str(), p)))
        .collect();
    let taken: Vec<&str> = explicit.values().map(String::as_str).collect();
    let participants: Vec<&str> = inventory
        .hosts
        .iter()
        .filter(|h| h.role == HostRole::Participant && !taken.contains(&h.name.as_str()))
        .map(|h| h.name.as_str())
        .collect();
    let mut all = Vec::new();
    let mut chosen: Vec<&str> = Vec::new();
    let complete = extend(&picked, &participants, &mut chosen, &mut |chosen| {
        if all.len() >= MAX_BINDINGS {
            return false;
        }
        let mut binding = explicit.clone();
        for ((name, _), host) in picked.iter().zip(chosen) {
            binding.insert(name.to_string(), host.to_string());
        }
        all.push(binding);
        true
    });
    complete.then_some(all)
}

/// Depth-first over the pick hosts; every leader pick names the same server (the one leader).
fn extend<'a>(
    picked: &[(&str, Pick)],
    participants: &[&'a str],
    chosen: &mut Vec<&'a str>,
    emit: &mut dyn FnMut(&[&'a str]) -> bool,
) -> bool {
    let Some(&(_, pick)) = picked.get(chosen.len()) else {
        return emit(chosen);
    };
    let leader = picked[..chosen.len()]
        .iter()
        .zip(chosen.iter())
        .find(|((_, p), _)| *p == Pick::Leader)
        .map(|(_, &host)| host);
    for &host in participants {
        let fits = match (pick, leader) {
            (Pick::Leader, Some(l)) => host == l,
            (Pick::Leader, None) => !chosen.contains(&host),
            (Pick::Follower, l) => Some(host) != l && !chosen.contains(&host),
        };
        if !fits {
            continue;
        }
        chosen.push(host);
        let more = extend(picked, participants, chosen, emit);
        chosen.pop();
        if !more {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::tests::inventory;
    use std::path::Path;

    fn runbook(hosts: &str) -> Runbook {
        let text = format!(
            "name: t\ndescription: d\nsource: s\nhosts: {hosts}\nsteps:\n  - {{id: s, title: t}}\n"
        );
        crate::runbook::procedure::parse(&text, Path::new("rb.yaml")).unwrap()
    }

    #[test]
    fn a_leader_and_two_followers_of_three_servers_bind_six_ways() {
        let rb = runbook(
            "[{name: P, pick: leader}, {name: Q, pick: follower}, {name: R, pick: follower}]",
        );
        let all = every_binding(&rb, &inventory(3, 1), &BTreeMap::new()).unwrap();
        assert_eq!(all.len(), 6);
        let as_text: Vec<String> = all
            .iter()
            .map(|b| format!("{}{}{}", b["P"], b["Q"], b["R"]))
            .collect();
        assert_eq!(
            as_text,
            [
                "zk1zk2zk3",
                "zk1zk3zk2",
                "zk2zk1zk3",
                "zk2zk3zk1",
                "zk3zk1zk2",
                "zk3zk2zk1"
            ]
        );
    }

    #[test]
    fn explicit_bindings_are_kept_and_their_hosts_not_picked_again() {
        let rb = runbook("[{name: P, pick: leader}, {name: Q, pick: follower}]");
        let explicit = BTreeMap::from([("P".to_string(), "zk2".to_string())]);
        let all = every_binding(&rb, &inventory(3, 1), &explicit).unwrap();
        let qs: Vec<&str> = all.iter().map(|b| b["Q"].as_str()).collect();
        assert_eq!(qs, ["zk1", "zk3"]);
        assert!(all.iter().all(|b| b["P"] == "zk2"));
    }

    #[test]
    fn a_runbook_without_picks_has_one_binding() {
        let rb = runbook("[{name: zk1}]");
        assert_eq!(
            every_binding(&rb, &inventory(3, 1), &BTreeMap::new())
                .unwrap()
                .len(),
            1
        );
    }
}
