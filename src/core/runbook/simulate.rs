//! Predicting the ensemble after each step (pure): which hosts run, the view each runs with and
//! the view its config holds for its next start, and any partition. Every intermediate state a
//! step passes through is checked too — a restart is a stop, then a start.

use super::procedure::{inventory_view, Effect, Procedure, Step, INVENTORY_VIEW};
use crate::ensemble::{EnsembleState, Health, ViewSource};
use crate::quorum::{Ensemble, Node};
use crate::zk::config::{PeerAddr, View};
use crate::zk::version::ZkVersion;

#[derive(Debug, Clone, PartialEq)]
pub struct SimState {
    pub up: Vec<bool>,
    /// The view name each host runs with (None: never started here).
    pub running: Vec<Option<String>>,
    /// The view name in each host's config: what its next start runs with.
    pub config: Vec<Option<String>>,
    pub partitions: Option<Vec<Vec<usize>>>,
    /// For each of the procedure's services, the host it forwards to.
    pub routes: Vec<Option<usize>>,
    /// Each host's `quorumListenOnAllIPs` where the live ensemble told it (its `zoo.cfg`);
    /// otherwise the runbook's own setting ([`listen_all_written`]), or unknown.
    pub listen_all: Vec<Option<bool>>,
}

impl SimState {
    pub fn initial(procedure: &Procedure) -> SimState {
        let views = procedure.initial.views.clone();
        SimState {
            up: procedure.initial.up.clone(),
            running: views.clone(),
            config: views,
            partitions: None,
            routes: procedure.services.iter().map(|s| s.initially_to).collect(),
            listen_all: vec![None; procedure.hosts.len()],
        }
    }

    fn start(&mut self, host: usize, view: &Option<String>) {
        if let Some(view) = view {
            self.config[host] = Some(view.clone());
        }
        self.up[host] = true;
        self.running[host] = self.config[host].clone();
    }

    /// The states a step passes through, in order; the last is the state after it. A parallel
    /// step's commands end in any order, so it is judged at both extremes: every stop done
    /// and no start yet (each restarted host down too: the fewest servers up), and every start
    /// done and no stop yet (the most), then the state after it.
    pub fn through(&self, step: &Step) -> Vec<SimState> {
        let mut phases = Vec::new();
        let mut state = self.clone();
        if step.parallel {
            let starts_first = step
                .effects
                .iter()
                .filter(|e| !matches!(e, Effect::Stop { .. }))
                .fold(self.clone(), |mut state, effect| {
                    state.apply(effect);
                    state
                });
            let mut starts = Vec::new();
            for effect in &step.effects {
                match effect {
                    Effect::Restart { host, view } | Effect::Start { host, view } => {
                        if matches!(effect, Effect::Restart { .. }) {
                            state.up[*host] = false;
                        }
                        starts.push((*host, view.clone()));
                    }
                    other => state.apply(other),
                }
            }
            phases.push(state.clone());
            for (host, view) in starts {
                state.start(host, &view);
            }
            if starts_first != state {
                phases.push(starts_first);
            }
            phases.push(state);
        } else {
            for effect in &step.effects {
                if let Effect::Restart { host, .. } = effect {
                    state.up[*host] = false;
                    phases.push(state.clone());
                }
                state.apply(effect);
                phases.push(state.clone());
            }
            if phases.is_empty() {
                phases.push(state);
            }
        }
        phases
    }

    pub fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::Start { host, view } | Effect::Restart { host, view } => {
                self.start(*host, view)
            }
            Effect::Stop { host } => self.up[*host] = false,
            Effect::SetView { host, view } => self.config[*host] = Some(view.clone()),
            Effect::Reconfig { view } => {
                for host in 0..self.up.len() {
                    if self.up[host] {
                        self.running[host] = Some(view.clone());
                        self.config[host] = Some(view.clone());
                    }
                }
            }
            Effect::Partition(groups) => self.partitions = Some(groups.clone()),
            Effect::Heal => self.partitions = None,
            Effect::Route { service, to } => {
                if let Some(route) = self.routes.get_mut(*service) {
                    *route = *to;
                }
            }
        }
    }

    /// The live ensemble as the starting point of a prediction: what runs and the view each
    /// node showed, falling back to `expected` (what zkpilot's own steps left) where the live
    /// state is silent. Views seen live are added to the returned procedure as `live:HOST`.
    pub fn from_live(
        procedure: &Procedure,
        expected: &SimState,
        live: &EnsembleState,
        node_of: &[Option<usize>],
    ) -> (Procedure, SimState) {
        let mut procedure = procedure.clone();
        let mut state = expected.clone();
        for (host, node) in node_of.iter().enumerate() {
            let Some(node) = node.and_then(|n| live.nodes.get(n)) else {
                continue;
            };
            if node.health == Health::Unknown {
                continue;
            }
            state.up[host] = node.health.is_up();
            if node.listen_all.is_some() {
                state.listen_all[host] = node.listen_all;
            }
            if let Some(observed) = node
                .current_view()
                .filter(|v| v.source != ViewSource::Declared)
            {
                let name = format!("live:{}", procedure.hosts[host].name);
                procedure.views.insert(name.clone(), observed.view.clone());
                state.running[host] = Some(name.clone());
                if state.config[host].is_none() {
                    state.config[host] = Some(name);
                }
            }
        }
        (procedure, state)
    }

    /// The analyzer's input for this state.
    pub fn ensemble(&self, procedure: &Procedure, version: ZkVersion) -> Ensemble {
        let written = listen_all_written_per_host(procedure);
        let nodes = procedure
            .hosts
            .iter()
            .enumerate()
            .map(|(h, host)| {
                let view = self.running[h]
                    .as_deref()
                    .map(|name| view_named(procedure, name))
                    .unwrap_or_default();
                let aliases = self.aliases_of(procedure, h);
                Node {
                    name: host.name.clone(),
                    sid: sid_in(&view, &host.peer, &aliases).unwrap_or(host.inventory.sid),
                    addr: host.peer.clone(),
                    aliases,
                    up: self.up[h],
                    view,
                    listen_all: self.listen_all[h].or(written[h]),
                }
            })
            .collect();
        Ensemble {
            version,
            nodes,
            partitions: self.partitions.as_ref().map(|groups| {
                // A partition names some hosts; everyone else still reaches everyone, so each
                // unnamed host joins every group.
                let named: Vec<usize> = groups.iter().flatten().copied().collect();
                let free: Vec<usize> = (0..procedure.hosts.len())
                    .filter(|h| !named.contains(h))
                    .collect();
                groups
                    .iter()
                    .map(|g| g.iter().chain(&free).copied().collect())
                    .collect()
            }),
        }
    }
}

impl SimState {
    /// The addresses of the services that forward to `host`.
    pub fn aliases_of(&self, procedure: &Procedure, host: usize) -> Vec<PeerAddr> {
        procedure
            .services
            .iter()
            .zip(&self.routes)
            .filter(|(_, to)| **to == Some(host))
            .map(|(service, _)| service.peer.clone())
            .collect()
    }
}

pub fn view_named(procedure: &Procedure, name: &str) -> View {
    if name == INVENTORY_VIEW {
        return inventory_view(&procedure.hosts);
    }
    procedure.views.get(name).cloned().unwrap_or_default()
}

/// The sid a host runs with: the one its own view gives its address or a service in front of
/// it (a replacement takes an old server's id), else its inventory sid.
fn sid_in(view: &View, peer: &PeerAddr, aliases: &[PeerAddr]) -> Option<u64> {
    view.servers()
        .iter()
        .find(|s| s.has_addr(peer) || aliases.iter().any(|a| s.has_addr(a)))
        .map(|s| s.sid)
}

/// For each host, the `quorumListenOnAllIPs` its runbook writes into its config (the k8s
/// runbook's `set-option` verb), the last one when several: it takes effect at the next start,
/// and matters only once the host's own line names an address it does not have — the view the
/// same runbook writes alongside it — so it is judged from the start. A runbook that never
/// writes it leaves it unknown.
fn listen_all_written_per_host(procedure: &Procedure) -> Vec<Option<bool>> {
    let mut written = vec![None; procedure.hosts.len()];
    for command in procedure.steps.iter().flat_map(|s| &s.commands) {
        if let Some(setting) = listen_all_written(&command.text) {
            if let Some(host) = written.get_mut(command.host) {
                *host = Some(setting);
            }
        }
    }
    written
}

/// The `quorumListenOnAllIPs` setting a remote command writes, if it names one: the value
/// after `quorumListenOnAllIPs=`, as `QuorumPeerConfig.parseBoolean` reads it.
fn listen_all_written(text: &str) -> Option<bool> {
    let (_, rest) = text.split_once("quorumListenOnAllIPs=")?;
    let value: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
