//! Hosts: each runbook host bound to an inventory host (by `--bind`, `pick`, role or name),
//! the inventory's other servers and paired spares added, the services in front of them, and
//! the state the ensemble starts in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::super::model::{Pick, Runbook};
use super::{BindInput, BoundHost, BoundService, InitialState};
use crate::inventory::{Host, Inventory};
use crate::text::yaml::{self, YamlError};
use crate::zk::config::{PeerRole, ServerLine, View};

/// The runbook's `hosts`, in order, each bound to its inventory host.
pub(super) fn bind_runbook_hosts(
    runbook: &Runbook,
    input: &BindInput,
    leader: Option<&str>,
    at: &dyn Fn(&[&str], String) -> YamlError,
) -> Result<Vec<BoundHost>, YamlError> {
    let mut hosts: Vec<BoundHost> = Vec::new();
    for (i, need) in runbook.hosts.iter().enumerate() {
        let index = i.to_string();
        if hosts.iter().any(|h| h.name == need.name) {
            return Err(at(
                &["hosts", &index, "name"],
                format!("host `{}` is listed twice", need.name),
            ));
        }
        let picked = match need.pick {
            _ if input.bindings.contains_key(&need.name) => None,
            None => None,
            Some(Pick::Leader) => leader.map(str::to_string),
            Some(Pick::Follower) => input
                .inventory
                .hosts
                .iter()
                .filter(|h| h.role == crate::inventory::HostRole::Participant)
                .map(|h| h.name.clone())
                .find(|name| {
                    Some(name.as_str()) != leader
                        && !hosts.iter().any(|b| &b.inventory.name == name)
                }),
        };
        if need.pick.is_some() && picked.is_none() && !input.bindings.contains_key(&need.name) {
            return Err(at(
                &["hosts", &index, "pick"],
                format!(
                    "no inventory host left to pick for `{}`: bind it with --bind {}=HOST",
                    need.name, need.name
                ),
            ));
        }
        // Without a binding and without an inventory host of its name, a host that names its
        // role takes the next inventory host of that role, in inventory order.
        let by_role = match need.role {
            Some(wanted)
                if picked.is_none()
                    && !input.bindings.contains_key(&need.name)
                    && input.inventory.host(&need.name).is_none() =>
            {
                input
                    .inventory
                    .hosts
                    .iter()
                    .find(|h| h.role == wanted && !hosts.iter().any(|b| b.inventory.name == h.name))
                    .map(|h| h.name.clone())
            }
            _ => None,
        };
        let inventory_name = picked
            .as_ref()
            .or(by_role.as_ref())
            .or(input.bindings.get(&need.name))
            .unwrap_or(&need.name);
        let host = input.inventory.host(inventory_name).ok_or_else(|| {
            at(
                &["hosts", &index, "name"],
                format!(
                    "no host `{inventory_name}` in inventory `{}`: bind it with --bind {}=HOST",
                    input.inventory.name, need.name
                ),
            )
        })?;
        let peer = host
            .peer_addr()
            .map_err(|e| at(&["hosts", &index, "name"], format!("{}: {e}", host.name)))?;
        hosts.push(BoundHost {
            name: need.name.clone(),
            inventory: host.clone(),
            peer,
            from_runbook: true,
            picked: picked.is_some().then_some(need.pick).flatten(),
            pick: need.pick,
        });
    }
    Ok(hosts)
}

/// Binds the spare paired with each of `servers` (see `ForEach::spare`) and returns, per
/// server, the bound host of its spare; a server without a spare has none (its step says so).
pub(super) fn bind_paired_spares(
    hosts: &mut Vec<BoundHost>,
    inventory: &Inventory,
    servers: &BTreeSet<usize>,
) -> Result<BTreeMap<usize, usize>, String> {
    use crate::inventory::HostRole;
    let in_order = inventory.hosts.iter().filter(|h| h.role != HostRole::Spare);
    let spares = inventory.hosts.iter().filter(|h| h.role == HostRole::Spare);
    let pairs: BTreeMap<&str, &Host> = in_order.map(|h| h.name.as_str()).zip(spares).collect();
    let mut paired = BTreeMap::new();
    for &server in servers {
        let Some(spare) = pairs.get(hosts[server].inventory.name.as_str()) else {
            continue;
        };
        let bound = match hosts.iter().position(|b| b.inventory.name == spare.name) {
            Some(bound) => bound,
            None => {
                let peer = spare
                    .peer_addr()
                    .map_err(|e| format!("spare `{}`: {e}", spare.name))?;
                hosts.push(BoundHost {
                    name: unclaimed_name(hosts, &spare.name),
                    inventory: (*spare).clone(),
                    peer,
                    from_runbook: false,
                    picked: None,
                    pick: None,
                });
                hosts.len() - 1
            }
        };
        paired.insert(server, bound);
    }
    Ok(paired)
}

/// The inventory services made for bound hosts, and where each forwards at the start.
pub(super) fn bind_services(
    hosts: &[BoundHost],
    inventory: &Inventory,
) -> Result<Vec<BoundService>, String> {
    let runbook_host = |inventory_name: &str| {
        hosts
            .iter()
            .position(|h| h.inventory.name == inventory_name)
    };
    let mut services = Vec::new();
    for service in &inventory.services {
        let Some(serves) = runbook_host(&service.serves) else {
            continue;
        };
        let peer = service
            .peer_addr()
            .map_err(|e| format!("service `{}`: {e}", service.name))?;
        services.push(BoundService {
            name: service.name.clone(),
            serves,
            peer,
            client: service.client.clone(),
            initially_to: service.to.as_deref().and_then(runbook_host),
        });
    }
    Ok(services)
}

/// Which hosts run, and on which view, before the first step.
pub(super) fn initial_state(
    runbook: &Runbook,
    hosts: &[BoundHost],
    text: &str,
    path: &Path,
) -> Result<InitialState, YamlError> {
    let at = |keys: &[&str], message: String| yaml::error_at(text, path, keys, message);
    let Some(initial) = &runbook.initial else {
        use crate::inventory::HostRole;
        let up: Vec<bool> = hosts
            .iter()
            .map(|h| h.inventory.role != HostRole::Spare)
            .collect();
        return Ok(InitialState {
            views: up
                .iter()
                .map(|u| u.then(|| INVENTORY_VIEW.to_string()))
                .collect(),
            up,
        });
    };
    let mut up = vec![false; hosts.len()];
    for (i, name) in initial.up.iter().enumerate() {
        let h = hosts.iter().position(|h| &h.name == name).ok_or_else(|| {
            at(
                &["initial", "up", &i.to_string()],
                format!("no host `{name}` in `hosts`"),
            )
        })?;
        up[h] = true;
    }
    let check_view = |name: &str, keys: &[&str]| {
        if runbook.views.contains_key(name) {
            Ok(())
        } else {
            Err(at(keys, format!("no view named `{name}`")))
        }
    };
    if let Some(default) = &initial.default_view {
        check_view(default, &["initial", "default_view"])?;
    }
    let mut chosen: Vec<Option<String>> = vec![initial.default_view.clone(); hosts.len()];
    for (host, view) in &initial.views {
        let h = hosts.iter().position(|b| &b.name == host).ok_or_else(|| {
            at(
                &["initial", "views", host],
                format!("no host `{host}` in `hosts`"),
            )
        })?;
        check_view(view, &["initial", "views", host])?;
        chosen[h] = Some(view.clone());
    }
    for (h, host) in hosts.iter().enumerate() {
        if up[h] && chosen[h].is_none() {
            return Err(at(
                &["initial"],
                format!(
                    "host `{}` runs but has no view: set initial.views or initial.default_view",
                    host.name
                ),
            ));
        }
    }
    Ok(InitialState { up, views: chosen })
}

/// Without a live poll, the last participant of the inventory is taken to lead: `plan` says
/// so, and `run` binds from the live state.
pub(super) fn assumed_leader(inventory: &Inventory) -> Option<String> {
    inventory
        .hosts
        .iter()
        .rev()
        .find(|h| h.role == crate::inventory::HostRole::Participant)
        .map(|h| h.name.clone())
}

/// Every server of the inventory (participant or observer) that the runbook does not name joins
/// the bound hosts, so the ensemble a plan or a gate judges is the whole ensemble: restarting
/// one follower of three is safe because the two servers the runbook never mentions still run.
pub(super) fn add_unnamed_servers(hosts: &mut Vec<BoundHost>, inventory: &Inventory) {
    for host in &inventory.hosts {
        if host.role == crate::inventory::HostRole::Spare
            || hosts.iter().any(|b| b.inventory.name == host.name)
        {
            continue;
        }
        let Ok(peer) = host.peer_addr() else {
            continue;
        };
        hosts.push(BoundHost {
            name: unclaimed_name(hosts, &host.name),
            inventory: host.clone(),
            peer,
            from_runbook: false,
            picked: None,
            pick: None,
        });
    }
}

/// The name a host the runbook does not name is bound by: its inventory name, unless a runbook
/// host already has that name.
fn unclaimed_name(hosts: &[BoundHost], name: &str) -> String {
    if hosts.iter().any(|b| b.name == name) {
        format!("inventory:{name}")
    } else {
        name.to_string()
    }
}

/// The view named after the inventory when a runbook declares no initial state: every
/// participant and observer of the inventory.
pub const INVENTORY_VIEW: &str = "(inventory)";

/// The view every inventory participant and observer is assumed to run with.
pub fn inventory_view(hosts: &[BoundHost]) -> View {
    use crate::inventory::HostRole;
    let lines = hosts
        .iter()
        .filter(|h| h.inventory.role != HostRole::Spare)
        .map(|h| ServerLine {
            sid: h.inventory.sid,
            addrs: vec![h.peer.clone()],
            role: if h.inventory.role == HostRole::Observer {
                PeerRole::Observer
            } else {
                PeerRole::Participant
            },
            client: None,
        })
        .collect();
    View::new(lines, None).unwrap_or_default()
}
