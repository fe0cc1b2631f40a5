//! What `plan` and `run` share: the inventory and the `--bind` and `--var` pairs read once, the
//! same way, and the runbook bound with them.

use std::collections::BTreeMap;

use super::args::BindingArgs;
use super::Failure;
use crate::inventory::Inventory;
use crate::io::runbook_files::{self, Loaded};

/// The inventory and command-line pairs a runbook is bound with.
pub struct Inputs {
    pub inventory: Inventory,
    pub bindings: BTreeMap<String, String>,
    pub variables: BTreeMap<String, String>,
}

/// Reads the inventory and parses the pairs; every error is bad input naming its file or flag.
pub fn inputs(args: &BindingArgs) -> Result<Inputs, Failure> {
    Ok(Inputs {
        inventory: runbook_files::load_inventory(&args.inventory).map_err(Failure::bad_input)?,
        bindings: runbook_files::pairs(&args.bindings, "--bind").map_err(Failure::bad_input)?,
        variables: runbook_files::pairs(&args.variables, "--var").map_err(Failure::bad_input)?,
    })
}

impl Inputs {
    /// The runbook bound to the inventory; `leader` binds a `pick: leader` host.
    pub fn load(&self, args: &BindingArgs, leader: Option<&str>) -> Result<Loaded, Failure> {
        self.load_with(args, &self.bindings, leader)
    }

    /// The runbook bound with other bindings than the command line's (every `pick:` choice).
    pub fn load_with(
        &self,
        args: &BindingArgs,
        bindings: &BTreeMap<String, String>,
        leader: Option<&str>,
    ) -> Result<Loaded, Failure> {
        runbook_files::load(
            &args.runbook,
            &self.inventory,
            bindings,
            &self.variables,
            leader,
        )
        .map_err(Failure::bad_input)
    }
}
