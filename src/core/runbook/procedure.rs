//! A runbook bound to an inventory and validated whole before anything runs (pure): hosts
//! resolved, views turned into server lines, variables interpolated and shell-quoted, gates and
//! effects checked. Every error names the file, line and column of the offending value.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{
    Acceptance, Approval, CommandSpec, Confirm, EffectSpec, ForEach, Fragment, GateSpec, Group,
    Order, Pick, Runbook, StepSpec, ViewMember,
};
use crate::inventory::{Host, Inventory};
use crate::text::yaml::{self, YamlError};
use crate::zk::config::{PeerAddr, PeerRole, ServerLine, View};
use crate::zk::fourlw::{Command as Word, Mode};

/// What the caller provides besides the runbook text: the inventory, explicit bindings of
/// runbook hosts to inventory hosts, variable values, and a reader for included fragments.
pub struct BindInput<'a> {
    pub inventory: &'a Inventory,
    /// The inventory name of the live leader, when known, for hosts bound with `pick`.
    pub leader: Option<&'a str>,
    pub bindings: &'a BTreeMap<String, String>,
    pub variables: &'a BTreeMap<String, String>,
    pub read_fragment: &'a dyn Fn(&Path) -> Result<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    pub name: String,
    pub description: String,
    pub source: String,
    pub teaching: Option<String>,
    pub path: PathBuf,
    pub hosts: Vec<BoundHost>,
    /// The inventory's services in front of the runbook's hosts.
    pub services: Vec<BoundService>,
    pub views: BTreeMap<String, View>,
    pub initial: InitialState,
    pub steps: Vec<Step>,
    /// Values never to be written to the audit log or shown.
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BoundHost {
    /// The runbook's name for it.
    pub name: String,
    pub inventory: Host,
    pub peer: PeerAddr,
    /// False for a server of the inventory that the runbook never names: it is still part of
    /// the ensemble every prediction and gate models (named after its inventory host).
    pub from_runbook: bool,
}

/// A service (a stable address in front of one server) made for a runbook host.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundService {
    pub name: String,
    /// Index into `Procedure::hosts`: the host the service was made for.
    pub serves: usize,
    pub peer: PeerAddr,
    pub client: String,
    /// The runbook host it forwards to before the first step, if any.
    pub initially_to: Option<usize>,
}

/// The ensemble before the first step: per host, whether it runs and on which view.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialState {
    pub up: Vec<bool>,
    pub views: Vec<Option<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub explain: String,
    pub commands: Vec<StepCommand>,
    pub parallel: bool,
    pub effects: Vec<Effect>,
    pub gates: Vec<Gate>,
    pub wait: Option<Wait>,
    pub confirm: Confirm,
    pub approval: Option<Approval>,
    pub accepts: Vec<Acceptance>,
    pub rollback: Vec<StepCommand>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepCommand {
    /// Index into `Procedure::hosts`.
    pub host: usize,
    /// The exact text run by the remote shell.
    pub text: String,
    pub stdin: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Start {
        host: usize,
        view: Option<String>,
    },
    Stop {
        host: usize,
    },
    Restart {
        host: usize,
        view: Option<String>,
    },
    SetView {
        host: usize,
        view: String,
    },
    Reconfig {
        view: String,
    },
    Partition(Vec<Vec<usize>>),
    Heal,
    /// Service `service` (an index into `Procedure::services`) forwards to `to` from now on.
    Route {
        service: usize,
        to: Option<usize>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Synced,
    LagBelow(u32),
    Leader(usize),
    NotLeader(usize),
    Mode {
        host: usize,
        modes: Vec<Mode>,
    },
    Fourlw {
        host: usize,
        word: Word,
        contains: String,
    },
    Check {
        host: usize,
        command: String,
    },
    Down(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub timeout: Duration,
    pub until: Vec<Gate>,
}

const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Parses the runbook text alone: syntax and unknown keys.
pub fn parse(text: &str, path: &Path) -> Result<Runbook, YamlError> {
    yaml::from_str(text, path)
}

/// Where a step came from, for error positions: the runbook or an included fragment.
struct Source<'a> {
    text: &'a str,
    path: &'a Path,
    /// The key path of the step list in that file (`steps`).
    index: usize,
}

impl Source<'_> {
    fn error(&self, keys: &[&str], message: impl Into<String>) -> YamlError {
        let index = self.index.to_string();
        let mut full = vec!["steps", index.as_str()];
        full.extend_from_slice(keys);
        yaml::error_at(self.text, self.path, &full, message)
    }
}

pub fn bind(text: &str, path: &Path, input: &BindInput) -> Result<Procedure, YamlError> {
    let runbook = parse(text, path)?;
    let at = |keys: &[&str], message: String| yaml::error_at(text, path, keys, message);

    let mut hosts: Vec<BoundHost> = Vec::new();
    let leader = input
        .leader
        .map(str::to_string)
        .or_else(|| assumed_leader(input.inventory));
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
            Some(Pick::Leader) => leader.clone(),
            Some(Pick::Follower) => input
                .inventory
                .hosts
                .iter()
                .filter(|h| h.role == crate::inventory::HostRole::Participant)
                .map(|h| h.name.clone())
                .find(|name| {
                    Some(name) != leader.as_ref()
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
        });
    }
    let mut initial = initial_state(&runbook, &hosts, text, path)?;
    // From here on the whole ensemble is bound: a `for-each` step repeats over servers the
    // runbook does not list, an `every:` view lists them, and every prediction models them.
    // The runbook's own names still resolve only to the hosts it lists (`Context::named`).
    let named = hosts.len();
    add_unnamed_servers(&mut hosts, input.inventory);
    for _ in named..hosts.len() {
        initial.up.push(true);
        initial.views.push(Some(INVENTORY_VIEW.to_string()));
    }
    let group_leader = leader
        .as_deref()
        .and_then(|name| hosts.iter().position(|h| h.inventory.name == name));

    // Fragments are read before any step is built: a step of theirs may pair spares, and
    // every spare paired anywhere must be bound (and modelled) from the first step on.
    let mut included = Vec::new();
    for (index, spec) in runbook.steps.iter().enumerate() {
        let source = Source { text, path, index };
        let Some(include) = &spec.include else {
            included.push(None);
            continue;
        };
        if spec.id.is_some()
            || spec.title.is_some()
            || !spec.run.is_empty()
            || !spec.effect.is_empty()
        {
            return Err(source.error(&["include"], "an `include:` step holds nothing else"));
        }
        let fragment_path = path.parent().unwrap_or(Path::new(".")).join(include);
        if fragment_path.components().eq(path.components()) {
            return Err(source.error(&["include"], "a runbook cannot include itself"));
        }
        let fragment_text =
            (input.read_fragment)(&fragment_path).map_err(|e| source.error(&["include"], e))?;
        let fragment: Fragment = yaml::from_str(&fragment_text, &fragment_path)?;
        included.push(Some((fragment_path, fragment_text, fragment)));
    }
    let pairing: BTreeSet<usize> = runbook
        .steps
        .iter()
        .chain(included.iter().flatten().flat_map(|(_, _, f)| &f.steps))
        .filter_map(|spec| spec.for_each.filter(|f| f.spare))
        .flat_map(|for_each| group_of(&hosts, for_each, group_leader))
        .collect();
    let servers = hosts.len();
    let spares = bind_paired_spares(&mut hosts, input.inventory, &pairing)
        .map_err(|message| at(&["steps"], message))?;
    for _ in servers..hosts.len() {
        initial.up.push(false);
        initial.views.push(None);
    }
    let services =
        bind_services(&hosts, input.inventory).map_err(|message| at(&["hosts"], message))?;
    let views = bind_views(
        &runbook,
        &hosts,
        &services,
        input.inventory,
        group_leader,
        &at,
    )?;

    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut secrets = Vec::new();
    for (name, variable) in &runbook.variables {
        let value = input
            .variables
            .get(name)
            .cloned()
            .or_else(|| variable.default.clone())
            .ok_or_else(|| {
                at(
                    &["variables", name],
                    format!("variable `{name}` has no default: give it with --var {name}=VALUE"),
                )
            })?;
        if variable.secret && !value.is_empty() {
            secrets.push(value.clone());
        }
        values.insert(name.clone(), value);
    }
    if let Some(unknown) = input
        .variables
        .keys()
        .find(|k| !runbook.variables.contains_key(*k))
    {
        return Err(at(
            &["variables"],
            format!("--var {unknown}: the runbook declares no such variable"),
        ));
    }

    let context = Context {
        hosts: &hosts,
        services: &services,
        views: &views,
        values: &values,
        spares: &spares,
        inventory: input.inventory,
        each: None,
        spare: None,
    };
    let mut steps = Vec::new();
    for (index, (spec, fragment)) in runbook.steps.iter().zip(&included).enumerate() {
        let Some((fragment_path, fragment_text, fragment)) = fragment else {
            let source = Source { text, path, index };
            steps.extend(context.steps(spec, &source, group_leader)?);
            continue;
        };
        for (inner, inner_spec) in fragment.steps.iter().enumerate() {
            let inner_source = Source {
                text: fragment_text,
                path: fragment_path,
                index: inner,
            };
            if inner_spec.include.is_some() {
                return Err(
                    inner_source.error(&["include"], "fragments cannot include other fragments")
                );
            }
            steps.extend(context.steps(inner_spec, &inner_source, group_leader)?);
        }
    }
    let mut seen = BTreeSet::new();
    for (index, step) in steps.iter().enumerate() {
        if !seen.insert(step.id.clone()) {
            return Err(at(
                &["steps", &index.to_string(), "id"],
                format!("step id `{}` is used twice", step.id),
            ));
        }
    }
    if steps.is_empty() {
        return Err(at(&["steps"], "a runbook needs at least one step".into()));
    }
    Ok(Procedure {
        name: runbook.name,
        description: runbook.description,
        source: runbook.source,
        teaching: runbook.teaching,
        path: path.to_path_buf(),
        hosts,
        services,
        views,
        initial,
        steps,
        secrets,
    })
}

/// The runbook's views as server lines: named members by their runbook host, `every:` members
/// expanded to each server of their group (in server id order).
fn bind_views(
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

/// Binds the spare paired with each of `servers` (see `ForEach::spare`) and returns, per
/// server, the bound host of its spare; a server without a spare has none (its step says so).
fn bind_paired_spares(
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
                let name = if hosts.iter().any(|b| b.name == spare.name) {
                    format!("inventory:{}", spare.name)
                } else {
                    spare.name.clone()
                };
                hosts.push(BoundHost {
                    name,
                    inventory: (*spare).clone(),
                    peer,
                    from_runbook: false,
                });
                hosts.len() - 1
            }
        };
        paired.insert(server, bound);
    }
    Ok(paired)
}

/// The inventory services made for bound hosts, and where each forwards at the start.
fn bind_services(hosts: &[BoundHost], inventory: &Inventory) -> Result<Vec<BoundService>, String> {
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

fn initial_state(
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
fn assumed_leader(inventory: &Inventory) -> Option<String> {
    inventory
        .hosts
        .iter()
        .rev()
        .find(|h| h.role == crate::inventory::HostRole::Participant)
        .map(|h| h.name.clone())
}

/// The servers a `for-each` step repeats over, in its order: by what each server is in the
/// inventory (participant, observer) and which one leads when the runbook is bound.
fn group_of(hosts: &[BoundHost], for_each: ForEach, leader: Option<usize>) -> Vec<usize> {
    use crate::inventory::HostRole;
    let role = |h: usize| hosts[h].inventory.role;
    let mut members: Vec<usize> = (0..hosts.len())
        .filter(|&h| match for_each.pick {
            Group::Followers => role(h) == HostRole::Participant && Some(h) != leader,
            Group::Observers => role(h) == HostRole::Observer,
            Group::Voters => role(h) == HostRole::Participant,
            Group::All => role(h) != HostRole::Spare,
        })
        .collect();
    match for_each.order {
        Order::BySid => members.sort_by_key(|&h| (hosts[h].inventory.sid, h)),
        Order::LeaderLast => members.sort_by_key(|&h| {
            (
                Some(h) == leader,
                role(h) != HostRole::Observer,
                hosts[h].inventory.sid,
                h,
            )
        }),
    }
    members
}

/// Every server of the inventory (participant or observer) that the runbook does not name joins
/// the bound hosts, so the ensemble a plan or a gate judges is the whole ensemble: restarting
/// one follower of three is safe because the two servers the runbook never mentions still run.
fn add_unnamed_servers(hosts: &mut Vec<BoundHost>, inventory: &Inventory) {
    for host in &inventory.hosts {
        if host.role == crate::inventory::HostRole::Spare
            || hosts.iter().any(|b| b.inventory.name == host.name)
        {
            continue;
        }
        let Ok(peer) = host.peer_addr() else {
            continue;
        };
        let name = if hosts.iter().any(|b| b.name == host.name) {
            format!("inventory:{}", host.name)
        } else {
            host.name.clone()
        };
        hosts.push(BoundHost {
            name,
            inventory: host.clone(),
            peer,
            from_runbook: false,
        });
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

/// Looks up an optional name: absent stays absent, present must be found.
fn optional<T>(
    name: &Option<String>,
    find: impl FnOnce(&str) -> Result<T, YamlError>,
) -> Result<Option<T>, YamlError> {
    name.as_deref().map(find).transpose()
}

struct Context<'a> {
    hosts: &'a [BoundHost],
    services: &'a [BoundService],
    views: &'a BTreeMap<String, View>,
    values: &'a BTreeMap<String, String>,
    /// The spare paired with each server that a `for-each … spare: true` step repeats over.
    spares: &'a BTreeMap<usize, usize>,
    inventory: &'a Inventory,
    /// The server of a `for-each` repetition.
    each: Option<usize>,
    /// The spare paired with it, in a step with `spare: true`.
    spare: Option<usize>,
}

impl Context<'_> {
    /// A host by the runbook's name for it, or `each`; servers the runbook does not list are
    /// reached only as `each`.
    fn named(&self, name: &str) -> Option<usize> {
        if name == EACH {
            return self.each;
        }
        if name == SPARE && self.spare.is_some() {
            return self.spare;
        }
        self.hosts
            .iter()
            .position(|h| h.from_runbook && h.name == name)
    }

    fn host(&self, name: &str, source: &Source, keys: &[&str]) -> Result<usize, YamlError> {
        self.named(name).ok_or_else(|| {
            if name == EACH {
                source.error(keys, "`each` names a server only in a step with `for-each`")
            } else if name == SPARE {
                source.error(
                    keys,
                    "`spare` names a host only in a step with `for-each: {…, spare: true}`",
                )
            } else {
                source.error(keys, format!("no host `{name}` in the runbook's `hosts`"))
            }
        })
    }

    /// The service in front of runbook host `name`.
    fn service(&self, name: &str, source: &Source, keys: &[&str]) -> Result<usize, YamlError> {
        let host = self.host(name, source, keys)?;
        self.services
            .iter()
            .position(|s| s.serves == host)
            .ok_or_else(|| {
                source.error(
                    keys,
                    format!(
                        "no service serves `{name}` ({}): add one to the inventory's `services`",
                        self.hosts[host].inventory.name
                    ),
                )
            })
    }

    fn view(&self, name: &str, source: &Source, keys: &[&str]) -> Result<String, YamlError> {
        if self.views.contains_key(name) {
            Ok(name.to_string())
        } else {
            Err(source.error(keys, format!("no view named `{name}` in `views`")))
        }
    }

    /// The step, or for a `for-each` step one repetition per server of its group.
    fn steps(
        &self,
        spec: &StepSpec,
        source: &Source,
        leader: Option<usize>,
    ) -> Result<Vec<Step>, YamlError> {
        let Some(for_each) = spec.for_each else {
            return Ok(vec![self.step(spec, source)?]);
        };
        let group = group_of(self.hosts, for_each, leader);
        if group.is_empty() {
            return Err(source.error(
                &["for-each", "pick"],
                "no server of the inventory is in this group",
            ));
        }
        let mut values = self.values.clone();
        group
            .into_iter()
            .map(|each| {
                let name = self.hosts[each].inventory.name.clone();
                values.insert(EACH.to_string(), name.clone());
                let spare = match (for_each.spare, self.spares.get(&each)) {
                    (false, _) => None,
                    (true, Some(&spare)) => Some(spare),
                    (true, None) => {
                        use crate::inventory::HostRole;
                        let count = |wanted: bool| {
                            self.inventory
                                .hosts
                                .iter()
                                .filter(|h| (h.role == HostRole::Spare) == wanted)
                                .count()
                        };
                        return Err(source.error(
                            &["for-each", "spare"],
                            format!(
                                "`{name}` has no spare: inventory `{}` lists {} spares for {} servers (the k-th server in inventory order is paired with the k-th spare); add a spare host",
                                self.inventory.name,
                                count(true),
                                count(false)
                            ),
                        ));
                    }
                };
                let spare_name = spare.map(|s| self.hosts[s].inventory.name.clone());
                let context = Context {
                    each: Some(each),
                    spare,
                    values: &values,
                    ..*self
                };
                let mut step = context.step(spec, source)?;
                step.id = format!("{}@{name}", step.id);
                step.title = if step.title.contains("${each}") {
                    step.title.replace("${each}", &name)
                } else {
                    format!("{} ({name})", step.title)
                };
                if let Some(spare_name) = spare_name {
                    step.title = step.title.replace("${spare}", &spare_name);
                }
                Ok(step)
            })
            .collect()
    }

    fn step(&self, spec: &StepSpec, source: &Source) -> Result<Step, YamlError> {
        let id = spec
            .id
            .clone()
            .ok_or_else(|| source.error(&[], "a step needs an `id`"))?;
        if id.trim().is_empty() {
            return Err(source.error(
                &["id"],
                "a step id cannot be empty: the audit log, approvals and --resume name steps by it",
            ));
        }
        let title = spec
            .title
            .clone()
            .ok_or_else(|| source.error(&["id"], format!("step `{id}` needs a `title`")))?;
        let commands = spec
            .run
            .iter()
            .enumerate()
            .map(|(i, c)| self.command(c, source, &["run", &i.to_string()]))
            .collect::<Result<Vec<_>, _>>()?;
        let rollback = spec
            .rollback
            .iter()
            .enumerate()
            .map(|(i, c)| self.command(c, source, &["rollback", &i.to_string()]))
            .collect::<Result<Vec<_>, _>>()?;
        let mut effects = Vec::new();
        for (i, effect) in spec.effect.iter().enumerate() {
            let index = i.to_string();
            let keys = ["effect", index.as_str()];
            effects.push(match effect {
                EffectSpec::Start(hv) => Effect::Start {
                    host: self.host(&hv.host, source, &keys)?,
                    view: optional(&hv.view, |v| self.view(v, source, &keys))?,
                },
                EffectSpec::Restart(hv) => Effect::Restart {
                    host: self.host(&hv.host, source, &keys)?,
                    view: optional(&hv.view, |v| self.view(v, source, &keys))?,
                },
                EffectSpec::Stop(h) => Effect::Stop {
                    host: self.host(&h.host, source, &keys)?,
                },
                EffectSpec::SetView(hv) => Effect::SetView {
                    host: self.host(&hv.host, source, &keys)?,
                    view: self.view(&hv.view, source, &keys)?,
                },
                EffectSpec::Reconfig(v) => Effect::Reconfig {
                    view: self.view(&v.view, source, &keys)?,
                },
                EffectSpec::Partition(groups) => Effect::Partition(
                    groups
                        .iter()
                        .map(|g| {
                            g.iter()
                                .map(|h| self.host(h, source, &keys))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                EffectSpec::Heal(_) => Effect::Heal,
                EffectSpec::Route(route) => Effect::Route {
                    service: self.service(&route.service, source, &keys)?,
                    to: optional(&route.to, |h| self.host(h, source, &keys))?,
                },
            });
        }
        let gates = spec
            .gates
            .iter()
            .enumerate()
            .map(|(i, g)| self.gate(g, source, &["gates", &i.to_string()]))
            .collect::<Result<Vec<_>, _>>()?;
        let wait = match &spec.wait {
            None => None,
            Some(wait) if wait.until.iter().any(|g| matches!(g, GateSpec::Check(_))) => {
                return Err(source.error(
                    &["wait", "until"],
                    "a wait polls the ensemble: a `check` command belongs in `gates`",
                ));
            }
            Some(wait) => Some(Wait {
                timeout: crate::text::duration::parse(&wait.timeout)
                    .map_err(|e| source.error(&["wait", "timeout"], e.to_string()))?,
                until: wait
                    .until
                    .iter()
                    .enumerate()
                    .map(|(i, g)| self.gate(g, source, &["wait", "until", &i.to_string()]))
                    .collect::<Result<Vec<_>, _>>()?,
            }),
        };
        let timeout = match &spec.timeout {
            None => DEFAULT_COMMAND_TIMEOUT,
            Some(t) => match crate::text::duration::parse(t) {
                Ok(timeout) if timeout.is_zero() => {
                    return Err(source.error(
                        &["timeout"],
                        "a timeout of 0 ends every command before it starts: give a real one",
                    ))
                }
                Ok(timeout) => timeout,
                Err(e) => return Err(source.error(&["timeout"], e.to_string())),
            },
        };
        if spec.confirm == Confirm::TypeHost && commands.is_empty() {
            return Err(source.error(
                &["confirm"],
                format!("step `{id}`: type-host needs a command on a host"),
            ));
        }
        for (i, acceptance) in spec.accepts.iter().enumerate() {
            if acceptance.hazard == super::model::Hazard::Unsupported {
                return Err(source.error(
                    &["accepts", &i.to_string(), "hazard"],
                    "a step the ZooKeeper version cannot do cannot be accepted",
                ));
            }
            if acceptance.reason.trim().is_empty() {
                return Err(source.error(
                    &["accepts", &i.to_string(), "reason"],
                    "an accepted hazard needs its reason",
                ));
            }
        }
        Ok(Step {
            id,
            title,
            explain: spec.explain.clone().unwrap_or_default(),
            commands,
            parallel: spec.parallel,
            effects,
            gates,
            wait,
            confirm: spec.confirm,
            approval: spec.approval,
            accepts: spec.accepts.clone(),
            rollback,
            timeout,
        })
    }

    fn gate(&self, spec: &GateSpec, source: &Source, keys: &[&str]) -> Result<Gate, YamlError> {
        Ok(match spec {
            GateSpec::Synced(_) => Gate::Synced,
            GateSpec::LagBelow(n) => Gate::LagBelow(*n),
            GateSpec::Leader(h) => Gate::Leader(self.host(&h.host, source, keys)?),
            GateSpec::NotLeader(h) => Gate::NotLeader(self.host(&h.host, source, keys)?),
            GateSpec::Down(h) => Gate::Down(self.host(&h.host, source, keys)?),
            GateSpec::Mode(m) => Gate::Mode {
                host: self.host(&m.host, source, keys)?,
                modes: m
                    .is
                    .iter()
                    .map(|text| {
                        Mode::parse(text).ok_or_else(|| {
                            source.error(keys, format!("`{text}` is not a mode: leader, follower, observer, standalone, read-only"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            },
            GateSpec::Fourlw(f) => Gate::Fourlw {
                host: self.host(&f.host, source, keys)?,
                // The poller asks these three; a gate reads its latest answer.
                word: [Word::Srvr, Word::Mntr, Word::Conf]
                    .into_iter()
                    .find(|w| w.as_str() == f.command)
                    .ok_or_else(|| {
                        source.error(keys, format!("a fourlw gate asks srvr, mntr or conf (what the poller polls), not `{}`", f.command))
                    })?,
                contains: self.interpolate(&f.contains, source, keys, false)?,
            },
            GateSpec::Check(c) => {
                // Gates run before the operator confirms the step (and under `--autopilot`
                // without anyone): only a command known to look, never to change, may run then.
                let mut at = keys.to_vec();
                at.push("check");
                if c.shell.is_some() {
                    at.push("shell");
                    return Err(source.error(
                        &at,
                        format!(
                            "a `check` runs before anyone confirms: it runs a read-only inventory verb ({}, or one the inventory marks `read-only: true`), not `shell`; put the command in `run`",
                            crate::inventory::READ_ONLY_VERBS.join(", ")
                        ),
                    ));
                }
                if let Some(verb) = &c.verb {
                    let host = &self.hosts[self.host(&c.host, source, keys)?].inventory;
                    if host.command(verb).is_some() && !host.is_read_only(verb) {
                        at.push("verb");
                        return Err(source.error(
                            &at,
                            format!(
                                "a `check` runs before anyone confirms, and `{verb}` on inventory host `{}` is not read-only ({}, or marked `read-only: true` in the inventory)",
                                host.name,
                                crate::inventory::READ_ONLY_VERBS.join(", ")
                            ),
                        ));
                    }
                }
                let spec = CommandSpec {
                    host: c.host.clone(),
                    verb: c.verb.clone(),
                    shell: c.shell.clone(),
                    args: c.args.clone(),
                    stdin: None,
                };
                let command = self.command(&spec, source, keys)?;
                Gate::Check {
                    host: command.host,
                    command: command.text,
                }
            }
        })
    }

    fn command(
        &self,
        spec: &CommandSpec,
        source: &Source,
        keys: &[&str],
    ) -> Result<StepCommand, YamlError> {
        let host = self.host(&spec.host, source, keys)?;
        let bound = &self.hosts[host];
        let mut text = match (&spec.verb, &spec.shell) {
            (Some(verb), None) => bound
                .inventory
                .command(verb)
                .map(str::to_string)
                .ok_or_else(|| {
                    source.error(
                        keys,
                        format!(
                            "inventory host `{}` has no `{verb}` command",
                            bound.inventory.name
                        ),
                    )
                })?,
            (None, Some(shell)) => {
                let mut at = keys.to_vec();
                at.push("shell");
                if let Err(misplaced) = crate::text::shell::check_placeholders(shell) {
                    let name: String = shell[misplaced.offset..]
                        .chars()
                        .take_while(|c| *c != '}')
                        .take(40)
                        .chain(['}'])
                        .collect();
                    return Err(source.error(
                        &at,
                        format!(
                            "`{name}` (character {}) is {}: a value can only stand where the shell sees a word of its own; put it there, or pass it in `args`",
                            shell[..misplaced.offset].chars().count() + 1,
                            misplaced.reason
                        ),
                    ));
                }
                self.interpolate(shell, source, &at, true)?
            }
            _ => {
                return Err(source.error(
                    keys,
                    "a command has either `verb` or `shell`, not both or neither",
                ))
            }
        };
        for arg in &spec.args {
            if let Some(view) = arg
                .strip_prefix("${view:")
                .and_then(|rest| rest.strip_suffix('}'))
            {
                let view = self
                    .views
                    .get(view)
                    .ok_or_else(|| source.error(keys, format!("no view named `{view}`")))?;
                for line in view.servers() {
                    text.push(' ');
                    text.push_str(&crate::text::shell::quote(&line.to_string()));
                }
            } else {
                text.push(' ');
                text.push_str(&crate::text::shell::quote(
                    &self.interpolate(arg, source, keys, false)?,
                ));
            }
        }
        let stdin = spec
            .stdin
            .as_deref()
            .map(|s| self.interpolate(s, source, keys, false))
            .transpose()?;
        Ok(StepCommand { host, text, stdin })
    }

    /// Replaces `${name}` (a variable), `${host:NAME.FIELD}` (client, peer, sid, address, ssh)
    /// and `${service:NAME.FIELD}` (client, peer, address of the service serving host NAME).
    /// In shell text every value is quoted, so no value can become code.
    fn interpolate(
        &self,
        template: &str,
        source: &Source,
        keys: &[&str],
        quote: bool,
    ) -> Result<String, YamlError> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| source.error(keys, "an unclosed `${`"))?;
            let name = &after[..end];
            let value = self.lookup(name).ok_or_else(|| {
                source.error(keys, format!("`${{{name}}}` is not defined: declare it under `variables` or use ${{host:NAME.client|peer|sid|address}} or ${{service:NAME.client|peer|address}}"))
            })?;
            out.push_str(&if quote {
                crate::text::shell::quote(&value)
            } else {
                value
            });
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(reference) = name.strip_prefix("host:") {
            let (host, field) = reference.split_once('.')?;
            let bound = &self.hosts[self.named(host)?];
            return match field {
                "client" => Some(bound.inventory.client.clone()),
                "peer" => Some(bound.peer.to_string()),
                "sid" => Some(bound.inventory.sid.to_string()),
                "address" => Some(bound.peer.host.clone()),
                "ssh" => Some(bound.inventory.ssh.clone()),
                _ => None,
            };
        }
        if let Some(reference) = name.strip_prefix("service:") {
            let (host, field) = reference.split_once('.')?;
            let host = self.named(host)?;
            let service = self.services.iter().find(|s| s.serves == host)?;
            return match field {
                "client" => Some(service.client.clone()),
                "peer" => Some(service.peer.to_string()),
                "address" => Some(service.peer.host.clone()),
                _ => None,
            };
        }
        if name == EACH {
            return self.each.map(|h| self.hosts[h].inventory.name.clone());
        }
        if let Some(spare) = self.spare.filter(|_| name == SPARE) {
            return Some(self.hosts[spare].inventory.name.clone());
        }
        self.values.get(name).cloned()
    }
}

/// The name a `for-each` step gives the server of each repetition.
const EACH: &str = "each";

/// The name a `for-each` step with `spare: true` gives the spare paired with that server.
const SPARE: &str = "spare";
