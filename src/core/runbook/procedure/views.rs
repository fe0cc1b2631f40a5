//! Views: the runbook's named server lists, turned into ZooKeeper server lines.

use std::collections::BTreeMap;

use super::super::model::{ForEach, Order, Runbook, ViewMember};
use super::for_each::group_of;
use super::{BoundHost, BoundService};
use crate::inventory::Inventory;
use crate::text::yaml::YamlError;
use crate::zk::config::{PeerAddr, PeerRole, ServerLine, View};

/// The runbook's views as server lines: named members by their runbook host, `every:` members
/// expanded to each server of their group (in server id order).
pub(super) fn bind_views(
    runbook: &Runbook,
    hosts: &[BoundHost],
    services: &[BoundService],
    inventory: &Inventory,
    leader: Option<usize>,
    at: &dyn Fn(&[&str], String) -> YamlError,
) -> Result<BTreeMap<String, View>, YamlError> {
    use crate::inventory::HostRole;
    let runbook_host = |name: &str| hosts.iter().position(|h| h.from_runbook && h.name == name);
    let service_of = |host: usize, where_: &[&str], name: &str| {
        services
            .iter()
            .find(|s| s.serves == host)
            .map(|s| s.peer.clone())
            .ok_or_else(|| {
                at(
                    where_,
                    format!(
                        "view `{name}`: inventory `{}` has no service serving `{}` ({})",
                        inventory.name, hosts[host].inventory.name, hosts[host].name
                    ),
                )
            })
    };
    let mut views = BTreeMap::new();
    for (name, members) in &runbook.views {
        let mut lines = Vec::new();
        for (i, member) in members.iter().enumerate() {
            let index = i.to_string();
            let where_ = ["views", name.as_str(), index.as_str()];
            let line = |sid: u64, addr: PeerAddr, observer: bool| ServerLine {
                sid,
                addrs: vec![addr],
                role: if observer {
                    PeerRole::Observer
                } else {
                    PeerRole::Participant
                },
                client: None,
            };
            if let ViewMember::Detailed(spec) = member {
                if let Some(group) = spec.every {
                    if spec.host.is_some() {
                        return Err(at(
                            &where_,
                            format!("view `{name}`: a member names one `host` or `every` server of a group, not both"),
                        ));
                    }
                    if spec.observer
                        || spec.sid.is_some()
                        || spec.sid_of.is_some()
                        || spec.peer.is_some()
                    {
                        return Err(at(
                            &where_,
                            format!("view `{name}`: `every` lists each server with its own sid, role and address; only `service: true` goes with it"),
                        ));
                    }
                    let for_each = ForEach {
                        pick: group,
                        order: Order::BySid,
                        spare: false,
                    };
                    for host in group_of(hosts, for_each, leader) {
                        let addr = if spec.service {
                            service_of(host, &where_, name)?
                        } else {
                            hosts[host].peer.clone()
                        };
                        let observer = hosts[host].inventory.role == HostRole::Observer;
                        lines.push(line(hosts[host].inventory.sid, addr, observer));
                    }
                    continue;
                }
            }
            let member_host = member.host().ok_or_else(|| {
                at(
                    &where_,
                    format!("view `{name}`: a member names a `host` or `every` server of a group"),
                )
            })?;
            let h = runbook_host(member_host).ok_or_else(|| {
                at(
                    &where_,
                    format!("view `{name}`: no host `{member_host}` in `hosts`"),
                )
            })?;
            let host = &hosts[h];
            let (sid, addr, observer) = match member {
                ViewMember::Host(_) => (host.inventory.sid, host.peer.clone(), false),
                ViewMember::Detailed(spec) => {
                    let addr = match (&spec.peer, spec.service) {
                        (Some(_), true) => {
                            return Err(at(
                                &where_,
                                format!("view `{name}`: give `peer` or `service`, not both"),
                            ))
                        }
                        (Some(peer), false) => PeerAddr::parse(peer)
                            .map_err(|e| at(&where_, format!("view `{name}`: {e}")))?,
                        (None, true) => service_of(h, &where_, name)?,
                        (None, false) => host.peer.clone(),
                    };
                    let sid = match (&spec.sid, &spec.sid_of) {
                        (Some(_), Some(_)) => {
                            return Err(at(
                                &where_,
                                format!("view `{name}`: give `sid` or `sid_of`, not both"),
                            ))
                        }
                        (Some(sid), None) => *sid,
                        (None, Some(other)) => runbook_host(other)
                            .map(|o| hosts[o].inventory.sid)
                            .ok_or_else(|| {
                                at(
                                    &where_,
                                    format!("view `{name}`: no host `{other}` in `hosts`"),
                                )
                            })?,
                        (None, None) => host.inventory.sid,
                    };
                    (sid, addr, spec.observer)
                }
            };
            lines.push(line(sid, addr, observer));
        }
        let view = View::new(lines, None)
            .map_err(|e| at(&["views", name], format!("view `{name}`: {e}")))?;
        views.insert(name.clone(), view);
    }
    Ok(views)
}
