//! `zkpilot synthesize`: reads the state and target files, asks the pure synthesizer for an
//! order, writes the runbook, and prints its plan table and a summary line (and the same
//! figures for a hand-written runbook with `--compare`). The live form, reading the ensemble
//! through the poller from an inventory, is not here yet: the state comes from a file.

use std::collections::BTreeMap;
use std::path::Path;

use super::args::SynthesizeArgs;
use super::{Failure, Kind};
use crate::io::{input_file, runbook_files};
use crate::runbook::plan;
use crate::runbook::procedure::{self, BindInput, Procedure};
use crate::synth::{self, search::Bound, Figures, SynthError};
use crate::text::escape;

pub fn synthesize(args: &SynthesizeArgs) -> Result<(), Failure> {
    let state_text = input_file::read_text(&args.state).map_err(Failure::bad_input)?;
    let target_text = input_file::read_text(&args.target).map_err(Failure::bad_input)?;
    let output = args.output.as_ref().map(|p| p.display().to_string());
    let synthesis = synth::synthesize(&synth::Request {
        state_text: &state_text,
        state_path: &args.state,
        target_text: &target_text,
        target_path: &args.target,
        leader: args.leader.as_deref(),
        bound: Bound {
            max_states: args.max_states,
        },
        output: output.as_deref(),
    })
    .map_err(|e| match e {
        SynthError::Unreachable(reason) => {
            Failure::hazard(format!("the target cannot be reached safely: {reason}"))
        }
        other => Failure::bad_input(other.to_string()),
    })?;
    let inventory = synth::model_inventory(&synthesis.problem);
    let no_bindings = BTreeMap::new();
    let emitted_path = args
        .output
        .clone()
        .unwrap_or_else(|| "synthesized.yaml".into());
    // The emitted runbook includes nothing, so no fragment is ever read.
    let procedure = bind(
        &synthesis.runbook,
        &emitted_path,
        &inventory,
        &no_bindings,
        args.leader.as_deref(),
        &|path: &Path| {
            Err(format!(
                "{}: the synthesized runbook includes nothing",
                path.display()
            ))
        },
    )
    .map_err(|e| Failure::environment(format!("the synthesized runbook does not bind: {e}")))?;
    let version = synthesis.problem.version;
    let planned = plan::plan(&procedure, version);
    let figures = Figures::of(&procedure, &planned);
    let mut out = plan::render_table(&planned);
    out.push('\n');
    out.push_str(&synth::summary(&synthesis, figures));
    out.push('\n');
    if let Some(compare) = &args.compare {
        let text = runbook_files::read(compare).map_err(Failure::bad_input)?;
        let bindings =
            runbook_files::pairs(&args.bindings, "--bind").map_err(Failure::bad_input)?;
        let read_fragment = |path: &Path| runbook_files::read(path);
        let hand = bind(
            &text,
            compare,
            &inventory,
            &bindings,
            args.leader.as_deref(),
            &read_fragment,
        )
        .map_err(Failure::bad_input)?;
        let hand_plan = plan::plan(&hand, version);
        let theirs = Figures::of(&hand, &hand_plan);
        out.push_str(&format!(
            "Compared: {}: {} steps, {} restarts, plan {}; synthesized: {} steps, {} restarts.\n",
            compare.display(),
            theirs.steps,
            theirs.restarts,
            if theirs.blocked { "BLOCKED" } else { "ok" },
            figures.steps,
            figures.restarts
        ));
    }
    if let Some(path) = &args.output {
        std::fs::write(path, &synthesis.runbook)
            .map_err(|e| Failure::write(&path.display().to_string(), e))?;
    }
    crate::io::output::out(format_args!("{}", escape::sanitize_lines(&out)));
    if planned.blocked() {
        // The search and `plan` judge by the same analyzer: a blocked plan is a bug to report.
        return Err(Failure::new(
            Kind::Hazard,
            "the synthesized runbook's plan blocks: please report this with the two files",
        ));
    }
    Ok(())
}

fn bind(
    text: &str,
    path: &Path,
    inventory: &crate::inventory::Inventory,
    bindings: &BTreeMap<String, String>,
    leader: Option<&str>,
    read_fragment: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<Procedure, String> {
    let variables = BTreeMap::new();
    procedure::bind(
        text,
        path,
        &BindInput {
            inventory,
            leader,
            bindings,
            variables: &variables,
            read_fragment,
        },
    )
    .map_err(|e| e.to_string())
}
