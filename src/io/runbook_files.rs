//! Adapter: reading a runbook, its fragments and its inventory from disk, and binding them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use crate::inventory::Inventory;
use crate::runbook::procedure::{self, BindInput, BindSource, Procedure};

pub fn read(path: &Path) -> Result<String, String> {
    crate::io::input_file::read_text(path)
}

pub fn load_inventory(path: &Path) -> Result<Inventory, String> {
    Inventory::parse(&read(path)?, path).map_err(|e| e.to_string())
}

/// Parses `NAME=VALUE` pairs from the command line. A name given twice with two values is
/// refused: which one the operator meant cannot be told (the last one was kept, silently).
pub fn pairs(items: &[String], flag: &str) -> Result<BTreeMap<String, String>, String> {
    let mut pairs = BTreeMap::new();
    for item in items {
        let (name, value) = item
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("{flag} {item}: expected NAME=VALUE"))?;
        if let Some(earlier) = pairs.insert(name.to_string(), value.to_string()) {
            if earlier != value {
                return Err(format!(
                    "{flag} {name} is given twice, as `{earlier}` and as `{value}`: give it once"
                ));
            }
        }
    }
    Ok(pairs)
}

pub struct Loaded {
    pub procedure: Procedure,
    /// What it was bound from — the runbook's text, and the fragments as read now: a run binds
    /// it again from this when a `pick:` host is re-bound, never from files that may have
    /// changed since.
    pub source: BindSource,
}

pub fn load(
    runbook: &Path,
    inventory: &Inventory,
    bindings: &BTreeMap<String, String>,
    variables: &BTreeMap<String, String>,
    leader: Option<&str>,
) -> Result<Loaded, String> {
    let text = read(runbook)?;
    let itself = std::fs::canonicalize(runbook).ok();
    let fragments = RefCell::new(BTreeMap::new());
    let read_fragment = |path: &Path| {
        if itself.is_some() && std::fs::canonicalize(path).ok() == itself {
            return Err(format!(
                "{} is the runbook itself: a runbook cannot include itself",
                path.display()
            ));
        }
        let fragment = read(path)?;
        fragments
            .borrow_mut()
            .insert(path.to_path_buf(), fragment.clone());
        Ok(fragment)
    };
    let input = BindInput {
        inventory,
        leader,
        bindings,
        variables,
        read_fragment: &read_fragment,
    };
    let procedure = procedure::bind(&text, runbook, &input).map_err(|e| e.to_string())?;
    let source = BindSource {
        text,
        path: runbook.to_path_buf(),
        inventory: inventory.clone(),
        variables: variables.clone(),
        fragments: fragments.into_inner(),
    };
    Ok(Loaded { procedure, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_given_twice_with_two_values_is_refused() {
        let given = |items: &[&str]| {
            pairs(
                &items.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
                "--bind",
            )
        };
        assert_eq!(
            given(&["zk1=a", "zk2=b", "zk1=a"]).unwrap().len(),
            2,
            "the same value twice is one"
        );
        assert_eq!(
            given(&["zk1=a", "zk1=b"]).unwrap_err(),
            "--bind zk1 is given twice, as `a` and as `b`: give it once"
        );
        assert!(given(&["=a"]).is_err());
    }
}
