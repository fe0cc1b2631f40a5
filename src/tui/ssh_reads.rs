//! Adapter: reading a live node's config (its `config` verb, following a 3.5+ dynamic file)
//! and process id (its `status` verb) over SSH, for `watch` and `run` alike. Each answer comes
//! back to the screen as one of its own actions.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::ensemble::Millis;
use crate::inventory::Inventory;
use crate::net::remote::{Connections, SshTarget};
use crate::poll;

/// How to reach each inventory host (in live-node order) and its read-only verbs.
pub struct SshReads {
    hosts: Vec<HostReads>,
    connections: Arc<Connections>,
}

#[derive(Clone)]
struct HostReads {
    target: SshTarget,
    config: Option<String>,
    status: Option<String>,
}

impl SshReads {
    pub fn of(inventory: &Inventory, connections: Arc<Connections>) -> SshReads {
        let hosts = inventory
            .hosts
            .iter()
            .map(|host| HostReads {
                target: SshTarget::from_inventory(inventory, host),
                config: host.command("config").map(str::to_string),
                status: host.command("status").map(str::to_string),
            })
            .collect();
        SshReads { hosts, connections }
    }

    /// Starts reading `node`'s config; `answer` turns the text (or why there is none) and the
    /// time it came into the screen's action.
    pub fn config<A: Send + 'static>(
        &self,
        node: usize,
        actions: &mpsc::Sender<A>,
        answer: impl FnOnce(Result<String, String>, Millis) -> A + Send + 'static,
    ) {
        let Some(host) = self.hosts.get(node).cloned() else {
            return;
        };
        let connections = self.connections.clone();
        let actions = actions.clone();
        tokio::spawn(async move {
            let result = connections
                .read_config(&host.target, host.config.as_deref())
                .await;
            let _ = actions.send(answer(result, poll::unix_millis())).await;
        });
    }

    /// Starts reading `node`'s process id, when its host has a `status` verb.
    pub fn process_id<A: Send + 'static>(
        &self,
        node: usize,
        actions: &mpsc::Sender<A>,
        answer: impl FnOnce(Result<String, String>, Millis) -> A + Send + 'static,
    ) {
        let Some(HostReads {
            target,
            status: Some(status),
            ..
        }) = self.hosts.get(node).cloned()
        else {
            return;
        };
        let connections = self.connections.clone();
        let actions = actions.clone();
        tokio::spawn(async move {
            let result = connections.read(&target, &status).await;
            let _ = actions.send(answer(result, poll::unix_millis())).await;
        });
    }
}
