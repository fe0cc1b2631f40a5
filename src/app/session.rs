//! Adapter: what guards a session before its first step — a resumed log checked against this
//! run (`resume`), the hosts' pre-flight (`preflight`) and the ensemble lock (`lock`).

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::audit::{reader, AuditLog};
use crate::inventory::{Host, Inventory};
use crate::preflight;
use crate::remote::Connections;
use crate::resume::{self, ThisRun};
use crate::runbook::procedure::Procedure;

/// The log to resume, whole and verified: a broken chain is never continued.
pub fn read_resumed(path: &Path) -> Result<AuditLog, String> {
    let log = reader::read_log(path).map_err(|e| e.to_string())?;
    if let Err(problem) = &log.verification {
        return Err(format!(
            "cannot resume the session of {}: its log does not verify ({problem}); nothing is \
             appended to a broken log: check it with `zkpilot audit verify`",
            path.display()
        ));
    }
    Ok(log)
}

/// Refuses to continue `log` with another runbook, inventory or a closed session.
pub fn check_resume(
    path: &Path,
    log: &AuditLog,
    runbook_path: &Path,
    runbook_sha256: &str,
    inventory_path: &Path,
    procedure: &Procedure,
) -> Result<(), String> {
    let inventory_sha256 = file_sha256(inventory_path)?;
    let steps: Vec<String> = procedure.steps.iter().map(|s| s.id.clone()).collect();
    let run = ThisRun {
        runbook_path: &runbook_path.display().to_string(),
        runbook_sha256,
        inventory_path: &inventory_path.display().to_string(),
        inventory_sha256: &inventory_sha256,
        steps: &steps,
    };
    resume::check(
        &path.display().to_string(),
        log.records.iter().map(|r| &r.event),
        &run,
    )
    .map_err(|e| e.to_string())
}

/// Every host the runbook touches must answer over SSH and run its read-only verbs before
/// the first step; otherwise the run refuses, naming each failing host, before any command.
pub async fn preflight(
    inventory: &Inventory,
    procedure: &Procedure,
    connections: &Arc<Connections>,
    narrate: bool,
) -> Result<(), String> {
    let hosts: Vec<&Host> = preflight::touched_hosts(procedure)
        .into_iter()
        .filter_map(|i| procedure.hosts.get(i).map(|h| &h.inventory))
        .collect();
    let checks = preflight::check_hosts(inventory, &hosts, connections).await;
    if let Some(refusal) = preflight::refusal(&checks) {
        connections.close_all().await;
        return Err(refusal);
    }
    if narrate {
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        println!(
            "pre-flight: {} answer over SSH and run their read-only verbs",
            names.join(", ")
        );
    }
    Ok(())
}

/// `zkpilot inventory check`: the pre-flight on every host of the inventory.
pub async fn check_inventory(inventory: &Inventory) -> Vec<preflight::HostCheck> {
    let connections = Arc::new(Connections::new(
        std::time::Duration::from_secs(10),
        std::env::temp_dir(),
    ));
    let hosts: Vec<&Host> = inventory.hosts.iter().collect();
    let checks = preflight::check_hosts(inventory, &hosts, &connections).await;
    connections.close_all().await;
    checks
}

pub fn file_sha256(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
