//! `zkpilot synthesize`: reads the start (a state file, or one poll of the inventory's hosts
//! written as one) and the target, asks the pure synthesizer for an order, writes the runbook,
//! and prints its plan table and a summary line (and the same figures for a hand-written
//! runbook with `--compare`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::SynthesizeArgs;
use super::{plan_live, Failure, Kind};
use crate::io::{input_file, output_file, runbook_files};
use crate::runbook::plan;
use crate::runbook::procedure::{self, BindInput, Procedure};
use crate::synth::{self, search::Bound, Figures, SynthError};
use crate::text::escape;
use crate::{ensemble, poll};

/// How long `--inventory` waits for each node's one answer (as `plan --live`).
const LIVE_POLL_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the synthesis starts: the state file's text, the path the runbook's header names for
/// it, and the live leader when a poll saw one.
struct Start {
    text: String,
    path: PathBuf,
    leader: Option<String>,
    /// The inventory polled, with `--inventory`: the runbook's services are its. With `-o`
    /// too, the state read is written at `path` beside the runbook once the runbook is, so
    /// that a refusal leaves neither behind.
    inventory: Option<crate::inventory::Inventory>,
}

async fn start(args: &SynthesizeArgs) -> Result<Start, Failure> {
    let Some(inventory_path) = &args.inventory else {
        let path = args.state.clone().unwrap_or_default();
        let text = input_file::read_text(&path).map_err(Failure::bad_input)?;
        return Ok(Start {
            text,
            path,
            leader: args.leader.clone(),
            inventory: None,
        });
    };
    let inventory = runbook_files::load_inventory(inventory_path).map_err(Failure::bad_input)?;
    let targets = ensemble::inventory_targets(&inventory);
    let mut live = poll::poll_all_once(&targets, LIVE_POLL_TIMEOUT).await;
    live.services = ensemble::inventory_services(&inventory);
    let version = plan_live::version(None, inventory.zookeeper.as_deref(), Some(&live))
        .map_err(Failure::bad_input)?;
    let text = synth::live::state_file(&live, version).map_err(|e| {
        Failure::environment(format!(
            "cannot read the ensemble from {}: {e}",
            inventory_path.display()
        ))
    })?;
    // Kept beside the runbook, so the header's line synthesizes the same order again.
    let path = match &args.output {
        Some(output) => state_beside(output),
        None => PathBuf::from(format!("(polled from {})", inventory_path.display())),
    };
    Ok(Start {
        text,
        path,
        leader: args.leader.clone().or_else(|| plan_live::leader(&live)),
        inventory: Some(inventory),
    })
}

pub async fn synthesize(args: &SynthesizeArgs) -> Result<(), Failure> {
    refuse_overwriting_inputs(args)?;
    let start = start(args).await?;
    let leader = start.leader.as_deref();
    let target_text = input_file::read_text(&args.target).map_err(Failure::bad_input)?;
    let output = args.output.as_ref().map(|p| p.display().to_string());
    let synthesis = synth::synthesize(&synth::Request {
        state_text: &start.text,
        state_path: &start.path,
        target_text: &target_text,
        target_path: &args.target,
        leader,
        bound: Bound {
            max_states: args.max_states,
        },
        output: output.as_deref(),
    })
    .map_err(|e| match e {
        SynthError::Unreachable(reason) => {
            Failure::hazard(format!("the target cannot be reached safely: {reason}"))
        }
        SynthError::GaveUp(reason) => Failure::hazard(format!(
            "no safe order found, though one may exist: {reason}"
        )),
        other => Failure::bad_input(other.to_string()),
    })?;
    if let Some(polled) = &start.inventory {
        synth::services_match(&synthesis.problem, polled)
            .map_err(|e| Failure::bad_input(format!("{}: {e}", args.target.display())))?;
    }
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
        leader,
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
            leader,
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
        // Both written in full before either takes its place: a failed write leaves the
        // files there before as they were, and never a state without its runbook.
        let staged = |path: &Path, text: &str| {
            output_file::stage(path, text)
                .map_err(|e| Failure::write(&path.display().to_string(), e))
        };
        let runbook = staged(path, &synthesis.runbook)?;
        let state = match &start.inventory {
            Some(_) => Some(staged(&start.path, &start.text)?),
            None => None,
        };
        for file in state.into_iter().chain([runbook]) {
            let shown = file.path().display().to_string();
            file.commit().map_err(|e| Failure::write(&shown, e))?;
        }
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

/// `-o` and the state file kept beside it must not be one of the files read: the runbook's
/// header names them to reproduce it, and the operator's inventory or state would be lost.
fn refuse_overwriting_inputs(args: &SynthesizeArgs) -> Result<(), Failure> {
    let Some(output) = &args.output else {
        return Ok(());
    };
    let mut outputs = vec![("-o", output.clone())];
    if args.inventory.is_some() {
        outputs.push(("the state kept beside the runbook", state_beside(output)));
    }
    let inputs = [
        ("--state", &args.state),
        ("--target", &Some(args.target.clone())),
        ("--inventory", &args.inventory),
        ("--compare", &args.compare),
    ];
    for (what, path) in &outputs {
        for (flag, input) in &inputs {
            if let Some(input) = input.as_ref().filter(|i| output_file::same_file(path, i)) {
                return Err(Failure::bad_input(format!(
                    "{what} ({}) is the {flag} file {}: writing there would lose it; write the runbook elsewhere",
                    path.display(),
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// Where `--inventory` with `-o` keeps the state it read.
fn state_beside(output: &Path) -> PathBuf {
    output.with_extension("state.yaml")
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
