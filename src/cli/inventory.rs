//! `zkpilot inventory check` (a failing host is a hazard: 1) and `inventory discover`.

use std::io::Write;
use std::path::PathBuf;

use super::args::{DiscoverPreset, InventoryCommand};
use super::{Failure, Kind};
use crate::inventory::discover::Preset;
use crate::{inventory::discover_live, io::runbook_files, session::guards, session::preflight};

pub async fn inventory(command: InventoryCommand) -> Result<(), Failure> {
    match command {
        InventoryCommand::Check { file } => {
            let inventory = runbook_files::load_inventory(&file).map_err(Failure::bad_input)?;
            let checks = guards::check_inventory(&inventory).await;
            // The report names every failing host and why.
            crate::io::output::out(format_args!(
                "{}",
                crate::text::escape::sanitize_lines(&preflight::render(&checks))
            ));
            if checks.iter().all(|c| c.ok()) {
                Ok(())
            } else {
                Err(Failure::shown(Kind::Hazard))
            }
        }
        InventoryCommand::Discover {
            server,
            ssh_user,
            preset,
            dir,
            output,
        } => {
            let preset = preset_of(preset, dir)?;
            let text = discover_live::discover(&server, preset, ssh_user.as_deref())
                .await
                .map_err(Failure::bad_input)?;
            match &output {
                Some(path) => write_new(path, &text),
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(|e| Failure::write("the inventory", e)),
            }
        }
    }
}

fn preset_of(preset: DiscoverPreset, dir: Option<PathBuf>) -> Result<Preset, Failure> {
    // Absolute, because the inventory's commands run on other hosts from other directories.
    let dir = dir.map(|d| std::path::absolute(&d).unwrap_or(d));
    match (preset, dir) {
        (DiscoverPreset::Systemd, _) => Ok(Preset::Systemd),
        (DiscoverPreset::ZkserverSh, dir) => Ok(Preset::ZkServerSh {
            home: dir.map_or_else(|| "/opt/zookeeper".into(), |d| d.display().to_string()),
        }),
        (DiscoverPreset::Sandbox, Some(dir)) => Ok(Preset::Sandbox {
            dir: dir.display().to_string(),
        }),
        (DiscoverPreset::Sandbox, None) => Err(Failure::bad_input(
            "--preset sandbox needs --dir DIR, the sandbox's directory",
        )),
    }
}

/// Writes the inventory to a new file: an existing one (perhaps hand-edited) is never replaced.
fn write_new(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| {
            Failure::bad_input(format!(
                "cannot write {}: {e} (an existing file is never overwritten)",
                path.display()
            ))
        })
}
