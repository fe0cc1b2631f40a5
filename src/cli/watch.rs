//! `zkpilot watch`: live panels of an ensemble until the operator quits.

use super::args::WatchArgs;
use super::Failure;
use crate::console::watch::spares_of;
use crate::ensemble::{self, NodeTarget};
use crate::tui::watch::{self as watch_loop, WatchOptions};
use crate::{io::runbook_files, io::settings};

pub async fn watch(args: WatchArgs) -> Result<(), Failure> {
    let look = settings::look(args.display.theme.as_deref(), args.display.ascii)
        .map_err(Failure::bad_input)?;
    let (title, targets, inventory) = match (&args.inventory, &args.endpoints) {
        (Some(path), _) => {
            let inventory = runbook_files::load_inventory(path).map_err(Failure::bad_input)?;
            (
                inventory.name.clone(),
                ensemble::inventory_targets(&inventory),
                Some(inventory),
            )
        }
        (None, Some(list)) => (list.clone(), endpoint_targets(list), None),
        (None, None) => {
            return Err(Failure::bad_input(
                "give --inventory FILE or HOST:PORT[,HOST:PORT…]",
            ))
        }
    };
    if targets.is_empty() {
        return Err(Failure::bad_input("nothing to watch: no hosts given"));
    }
    let options = WatchOptions {
        title,
        targets,
        services: inventory
            .as_ref()
            .map(ensemble::inventory_services)
            .unwrap_or_default(),
        spares: inventory.as_ref().map(spares_of).unwrap_or_default(),
        interval: args.interval,
        sessions: args.sessions.policy(),
        look,
        ssh: inventory.filter(|_| !args.no_ssh),
    };
    // Asked once the input is known good, so its errors come first.
    crate::tui::terminal::require("watch").map_err(Failure::environment)?;
    watch_loop::run(options)
        .await
        .map_err(|e| Failure::environment(format!("terminal: {e}")))
}

/// Nodes named only by their client address: no sid, peer or view until they answer.
fn endpoint_targets(list: &str) -> Vec<NodeTarget> {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|endpoint| NodeTarget {
            admin: ensemble::default_admin(endpoint),
            name: endpoint.to_string(),
            sid: None,
            client: endpoint.to_string(),
            peer: None,
            declared_view: None,
        })
        .collect()
}
