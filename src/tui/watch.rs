//! Adapter: the `watch` screen in the one event loop. Poll reports and SSH reads become
//! actions for the pure `update`; the SSH reads it finds due are started here.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ratatui::Frame;
use tokio::sync::mpsc;

use super::clock::Clock;
use super::event_loop::{self, Screen};
use super::ssh_reads::SshReads;
use crate::console::keys::{self, Key, WATCH_KEYS};
use crate::console::watch::{update, Action, SshRead, WatchState};
use crate::ensemble::{EnsembleState, NodeTarget};
use crate::inventory::Inventory;
use crate::net::remote::Connections;
use crate::poll;
use crate::view::{self, Look};
use crate::zk::config::PeerAddr;

pub struct WatchOptions {
    pub title: String,
    pub targets: Vec<NodeTarget>,
    /// Services in front of nodes and the node each forwards to (see `EnsembleState`).
    pub services: Vec<(PeerAddr, Option<usize>)>,
    /// Node by node, whether the inventory names it a spare (`console::watch::spares_of`).
    pub spares: Vec<bool>,
    pub interval: Duration,
    /// Whether the poller keeps a client session on every node (`--no-sessions`).
    pub sessions: poll::Sessions,
    pub look: Look,
    /// The inventory whose `config` verb reads a node's `zoo.cfg` over SSH when the node never
    /// shows its view itself; `None` never connects over SSH.
    pub ssh: Option<Inventory>,
}

pub async fn run(options: WatchOptions) -> io::Result<()> {
    let (mut reports, poller) = poll::spawn(
        &options.targets,
        options.interval,
        poll::Cadence::Relaxed,
        options.sessions,
    );
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
    let ssh = options
        .ssh
        .as_ref()
        .map(|inventory| SshReads::of(inventory, connections.clone()));
    let mut screen = WatchScreen::new(options, ssh, actions_tx, Clock::Wall);
    let result = event_loop::run_on_terminal(&mut screen, &mut actions).await;
    poller.stop().await;
    connections.close_all().await;
    forwarder.abort();
    result.map(|_| ())
}

/// The watch screen: its model, and the SSH reads its effects ask for.
pub(super) struct WatchScreen {
    state: WatchState,
    look: Look,
    /// The inventory whose verbs read configs and process ids; `None` never connects.
    ssh: Option<SshReads>,
    actions: mpsc::Sender<Action>,
    clock: Clock,
}

impl WatchScreen {
    /// The screen over `options`' nodes; SSH reads answer on `actions`, where the poller's
    /// reports arrive too (a test sends its own).
    pub(super) fn new(
        options: WatchOptions,
        ssh: Option<SshReads>,
        actions: mpsc::Sender<Action>,
        clock: Clock,
    ) -> WatchScreen {
        let mut ensemble = EnsembleState::new(options.targets);
        ensemble.services = options.services;
        let mut state = WatchState::new(options.title, ensemble, clock.now());
        state.interval = millis_of(options.interval);
        state.spares = options.spares;
        WatchScreen {
            state,
            look: options.look,
            ssh,
            actions,
            clock,
        }
    }

    /// Starts an SSH read of the config of every node that shows no current view of its own,
    /// and of the process id of every LOOKING node.
    fn read_over_ssh(&mut self) {
        let Some(reads) = &self.ssh else {
            return;
        };
        let now = self.clock.now();
        for node in self.state.ensemble.pid_reads_due(now) {
            reads.process_id(node, &self.actions, move |result, at| {
                Action::Read(SshRead::ProcessId { node, result, at })
            });
        }
        for node in self.state.ensemble.zoo_cfg_reads_due(now) {
            reads.config(node, &self.actions, move |result, at| {
                Action::Read(SshRead::ZooCfg { node, result, at })
            });
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
        let changed = update(&mut self.state, Action::Tick(self.clock.now()));
        self.read_over_ssh();
        changed
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(500))
    }

    fn resize(&mut self, width: u16, height: u16) {
        update(&mut self.state, Action::Resize { width, height });
    }

    fn draw(&self, frame: &mut Frame) {
        view::draw_watch(frame, &self.state, &self.look);
    }

    fn done(&self) -> bool {
        self.state.quit
    }
}

/// A duration in the model's milliseconds.
pub fn millis_of(interval: Duration) -> crate::ensemble::Millis {
    u64::try_from(interval.as_millis()).unwrap_or(u64::MAX)
}
