//! Adapter: the `watch` screen in the one event loop. Poll reports and SSH reads become
//! actions for the pure `update`; the SSH reads it finds due are started here.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ratatui::Frame;
use tokio::sync::mpsc;

use super::event_loop::{self, Screen};
use crate::console::keys::{self, Key, WATCH_KEYS};
use crate::console::watch::{update, Action, WatchState};
use crate::ensemble::{EnsembleState, NodeTarget};
use crate::inventory::Inventory;
use crate::poll;
use crate::remote::{Connections, SshTarget};
use crate::view::{self, Look};
use crate::zk::config::PeerAddr;

pub struct WatchOptions {
    pub title: String,
    pub targets: Vec<NodeTarget>,
    /// Services in front of nodes and the node each forwards to (see `EnsembleState`).
    pub services: Vec<(PeerAddr, Option<usize>)>,
    pub interval: Duration,
    pub look: Look,
    /// The inventory whose `config` verb reads a node's `zoo.cfg` over SSH when the node never
    /// shows its view itself; `None` never connects over SSH.
    pub ssh: Option<Inventory>,
}

pub async fn run(options: WatchOptions) -> io::Result<()> {
    let (mut reports, pollers) = poll::spawn(&options.targets, options.interval);
    let (actions_tx, mut actions) = mpsc::channel(64);
    let forward = actions_tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(report) = reports.recv().await {
            if forward.send(Action::Poll(report)).await.is_err() {
                return;
            }
        }
    });
    let connections = Arc::new(Connections::new(
        Duration::from_secs(10),
        std::env::temp_dir(),
    ));
    let mut ensemble = EnsembleState::new(options.targets);
    ensemble.services = options.services;
    let mut screen = WatchScreen {
        state: WatchState::new(options.title, ensemble, poll::unix_millis()),
        look: options.look,
        ssh: options.ssh,
        connections: connections.clone(),
        actions: actions_tx,
    };
    let result = event_loop::run_on_terminal(&mut screen, &mut actions).await;
    connections.close_all().await;
    forwarder.abort();
    for poller in pollers {
        poller.abort();
    }
    result.map(|_| ())
}

/// The watch screen: its model, and the SSH reads its effects ask for.
struct WatchScreen {
    state: WatchState,
    look: Look,
    /// The inventory whose verbs read configs and process ids; `None` never connects.
    ssh: Option<Inventory>,
    connections: Arc<Connections>,
    actions: mpsc::Sender<Action>,
}

impl WatchScreen {
    /// Starts an SSH read of the config of every node that shows no current view of its own,
    /// and of the process id of every LOOKING node.
    fn read_over_ssh(&mut self) {
        let Some(inventory) = &self.ssh else {
            return;
        };
        let now = poll::unix_millis();
        for node in self.state.ensemble.pid_reads_due(now) {
            let Some(host) = inventory.hosts.get(node) else {
                continue;
            };
            let Some(status) = host.command("status").map(str::to_string) else {
                continue;
            };
            let target = SshTarget::from_inventory(inventory, host);
            let connections = self.connections.clone();
            let actions = self.actions.clone();
            tokio::spawn(async move {
                let result = connections.read(&target, &status).await;
                let at = poll::unix_millis();
                let _ = actions.send(Action::ProcessId { node, result, at }).await;
            });
        }
        for node in self.state.ensemble.zoo_cfg_reads_due(now) {
            if let Some(host) = inventory.hosts.get(node) {
                let target = SshTarget::from_inventory(inventory, host);
                let command = host.command("config").map(str::to_string);
                tokio::spawn(read_zoo_cfg(
                    self.connections.clone(),
                    target,
                    command,
                    node,
                    self.actions.clone(),
                ));
            }
        }
    }
}

impl Screen for WatchScreen {
    type Action = Action;

    fn key(&mut self, key: Key) -> bool {
        match keys::lookup(WATCH_KEYS, key) {
            Some(key) => update(&mut self.state, Action::Key(key)),
            None => false,
        }
    }

    fn action(&mut self, action: Action) -> bool {
        let changed = update(&mut self.state, action);
        self.read_over_ssh();
        changed
    }

    fn tick(&mut self) -> bool {
        let changed = update(&mut self.state, Action::Tick(poll::unix_millis()));
        self.read_over_ssh();
        changed
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(500))
    }

    fn resize(&mut self, width: u16, _height: u16) {
        update(&mut self.state, Action::Resize { width });
    }

    fn draw(&self, frame: &mut Frame) {
        view::draw_watch(frame, &self.state, &self.look);
    }

    fn done(&self) -> bool {
        self.state.quit
    }
}

/// Runs the host's read-only `config` verb (and reads the dynamic file it names) and hands the
/// text back as an action.
pub async fn read_zoo_cfg(
    connections: Arc<Connections>,
    target: SshTarget,
    command: Option<String>,
    node: usize,
    actions: mpsc::Sender<Action>,
) {
    let result = connections.read_config(&target, command.as_deref()).await;
    let _ = actions
        .send(Action::ZooCfg {
            node,
            result,
            at: poll::unix_millis(),
        })
        .await;
}
