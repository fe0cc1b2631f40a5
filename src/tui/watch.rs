//! Adapter: the `watch` event loop. Keys, poll reports and a clock tick come in; the pure
//! `update` changes the state; the screen is redrawn after each burst of events.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::terminal::{self, RawTerminal};
use crate::console::keys::{self, WATCH_KEYS};
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
    let stop_keys = Arc::new(AtomicBool::new(false));
    let mut keys = terminal::spawn_key_reader(stop_keys.clone());
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let (zoo_cfg_tx, mut zoo_cfgs) = mpsc::channel(16);
    let connections = Arc::new(Connections::new(
        Duration::from_secs(10),
        std::env::temp_dir(),
    ));
    let mut ensemble = EnsembleState::new(options.targets);
    ensemble.services = options.services;
    let mut state = WatchState::new(options.title, ensemble, poll::unix_millis());
    let mut terminal = RawTerminal::enter()?;
    let result = loop {
        match terminal.screen.size() {
            Ok(size) => {
                update(&mut state, Action::Resize { width: size.width });
            }
            Err(e) => break Err(e),
        }
        if let Err(e) = terminal
            .screen
            .draw(|frame| view::draw_watch(frame, &state, &options.look))
        {
            break Err(e);
        }
        // Biased towards the keyboard so keys stay responsive while poll reports flood in.
        let action = tokio::select! {
            biased;
            Some(key) = keys.recv() => match keys::lookup(WATCH_KEYS, key) {
                Some(key) => Action::Key(key),
                None => continue,
            },
            Some(report) = reports.recv() => Action::Poll(report),
            Some(action) = zoo_cfgs.recv() => action,
            _ = tick.tick() => Action::Tick(poll::unix_millis()),
            _ = terminate.recv() => break Ok(()),
            _ = hangup.recv() => break Ok(()),
            _ = interrupt.recv() => break Ok(()),
        };
        update(&mut state, action);
        // Collapse a burst of queued reports into one redraw.
        while let Ok(report) = reports.try_recv() {
            update(&mut state, Action::Poll(report));
        }
        if state.quit {
            break Ok(());
        }
        if let Some(inventory) = &options.ssh {
            for node in state.ensemble.pid_reads_due(poll::unix_millis()) {
                let Some(host) = inventory.hosts.get(node) else {
                    continue;
                };
                let Some(status) = host.command("status").map(str::to_string) else {
                    continue;
                };
                let target = SshTarget::from_inventory(inventory, host);
                let connections = connections.clone();
                let actions = zoo_cfg_tx.clone();
                tokio::spawn(async move {
                    let result = connections.read(&target, &status).await;
                    let at = poll::unix_millis();
                    let _ = actions.send(Action::ProcessId { node, result, at }).await;
                });
            }
            for node in state.ensemble.zoo_cfg_reads_due(poll::unix_millis()) {
                if let Some(host) = inventory.hosts.get(node) {
                    let target = SshTarget::from_inventory(inventory, host);
                    let command = host.command("config").map(str::to_string);
                    tokio::spawn(read_zoo_cfg(
                        connections.clone(),
                        target,
                        command,
                        node,
                        zoo_cfg_tx.clone(),
                    ));
                }
            }
        }
    };
    connections.close_all().await;
    stop_keys.store(true, Ordering::Relaxed);
    for poller in pollers {
        poller.abort();
    }
    drop(terminal);
    result
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
