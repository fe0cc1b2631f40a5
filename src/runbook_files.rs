//! Adapter: reading a runbook, its fragments and its inventory from disk, and binding them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::inventory::Inventory;
use crate::runbook::procedure::{self, BindInput, Procedure};

pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub fn load_inventory(path: &Path) -> Result<Inventory, String> {
    Inventory::parse(&read(path)?, path).map_err(|e| e.to_string())
}

/// Parses `NAME=VALUE` pairs from the command line.
pub fn pairs(items: &[String], flag: &str) -> Result<BTreeMap<String, String>, String> {
    items
        .iter()
        .map(|item| {
            item.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("{flag} {item}: expected NAME=VALUE"))
        })
        .collect()
}

pub struct Loaded {
    pub procedure: Procedure,
    pub text: String,
}

pub fn load(
    runbook: &Path,
    inventory: &Inventory,
    bindings: &BTreeMap<String, String>,
    variables: &BTreeMap<String, String>,
    leader: Option<&str>,
) -> Result<Loaded, String> {
    let text = read(runbook)?;
    let read_fragment = |path: &Path| std::fs::read_to_string(path).map_err(|e| e.to_string());
    let input = BindInput {
        inventory,
        leader,
        bindings,
        variables,
        read_fragment: &read_fragment,
    };
    let procedure = procedure::bind(&text, runbook, &input).map_err(|e| e.to_string())?;
    Ok(Loaded { procedure, text })
}
