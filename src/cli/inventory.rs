//! `zkpilot inventory check` (a failing host is a hazard: 1) and `inventory discover`.

use std::io::Write;
use std::path::PathBuf;

use super::args::{DiscoverArgs, DiscoverPreset, InventoryCommand};
use super::{Failure, Kind};
use crate::inventory::discover::{self, Preset};
use crate::{inventory::discover_live, io::runbook_files, session::guards, session::preflight};

pub async fn inventory(command: InventoryCommand) -> Result<(), Failure> {
    match command {
        InventoryCommand::Check { file } => {
            let inventory = runbook_files::load_inventory(&file).map_err(Failure::bad_input)?;
            crate::io::output::out(format_args!(
                "{}",
                preflight::ssh_files(inventory.ssh.as_ref())
            ));
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
        InventoryCommand::Discover(arguments) => {
            let DiscoverArgs {
                server,
                ssh_user,
                preset,
                dir,
                verbs,
                ssh_port,
                ssh_identity,
                ssh_known_hosts,
                ssh_config,
                admin,
                via_ssh,
                zoo_cfg,
                probe,
                output,
            } = *arguments;
            for (flag, template) in [("--ssh-user", &ssh_user), ("--dir", &dir)] {
                if let Some(template) = template {
                    check_template(flag, template)?;
                }
            }
            let preset = preset_of(preset, dir, verbs)?;
            let ssh_files = [
                ("identity", ssh_identity),
                ("known_hosts", ssh_known_hosts),
                ("config", ssh_config),
            ]
            .into_iter()
            .filter_map(|(key, path)| Some((key, absolute(path?).display().to_string())))
            .collect();
            let options = discover_live::Options {
                preset,
                ssh_user: ssh_user.as_deref(),
                ssh_port,
                ssh_files,
                admin: admin.as_deref(),
                via_ssh: via_ssh.as_deref(),
                zoo_cfg: zoo_cfg.as_deref(),
                probe,
            };
            let (text, notes) = discover_live::discover(&server, options)
                .await
                .map_err(Failure::bad_input)?;
            for note in notes {
                crate::io::output::err(format_args!(
                    "zkpilot: {}\n",
                    crate::text::escape::sanitize(&note)
                ));
            }
            match &output {
                Some(path) => write_new(path, &text),
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(|e| Failure::write("the inventory", e)),
            }
        }
    }
}

fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// A per-host template names only the placeholders discover fills.
fn check_template(flag: &str, template: &str) -> Result<(), Failure> {
    match discover::unknown_placeholder(template) {
        None => Ok(()),
        Some(word) => Err(Failure::bad_input(format!(
            "{flag}: {} is not a placeholder; a template may hold {}",
            crate::text::escape::sanitize(word),
            discover::PLACEHOLDERS.join(", ")
        ))),
    }
}

fn preset_of(
    preset: DiscoverPreset,
    dir: Option<String>,
    verbs: Option<PathBuf>,
) -> Result<Preset, Failure> {
    // Absolute, because the inventory's commands run on other hosts from other directories.
    let dir = dir.map(|d| absolute(PathBuf::from(d)).display().to_string());
    if verbs.is_some() && !matches!(preset, DiscoverPreset::Custom) {
        return Err(Failure::bad_input("--verbs FILE goes with --preset custom"));
    }
    match (preset, dir) {
        (DiscoverPreset::Systemd, _) => Ok(Preset::Systemd),
        (DiscoverPreset::ZkserverSh, dir) => Ok(Preset::ZkServerSh {
            home: dir.unwrap_or_else(|| "/opt/zookeeper".into()),
        }),
        (DiscoverPreset::Sandbox, Some(dir)) => Ok(Preset::Sandbox { dir }),
        (DiscoverPreset::Sandbox, None) => Err(Failure::bad_input(
            "--preset sandbox needs --dir DIR, the sandbox's directory",
        )),
        (DiscoverPreset::Custom, _) => {
            let path = verbs.ok_or_else(|| {
                Failure::bad_input(
                    "--preset custom needs --verbs FILE, a YAML map of verb to command",
                )
            })?;
            let text = crate::io::input_file::read_text(&path).map_err(Failure::bad_input)?;
            let table: std::collections::BTreeMap<String, String> =
                crate::text::yaml::from_str(&text, &path)
                    .map_err(|e| Failure::bad_input(e.to_string()))?;
            for (verb, command) in &table {
                check_template(&format!("{}: {verb}", path.display()), command)?;
            }
            Ok(Preset::Custom {
                verbs: table.into_iter().collect(),
            })
        }
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
