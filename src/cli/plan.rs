//! `zkpilot plan`: the verdict on every step before anything runs. A blocked step exits 1 (a
//! hazard); the table or JSON on standard output says which.

use std::time::Duration;

use super::args::PlanArgs;
use super::binding::{self, Inputs};
use super::{plan_live, Failure, Kind};
use crate::io::runbook_files::Loaded;
use crate::runbook::plan::{self, OtherBinding, Plan};
use crate::runbook::procedure;
use crate::zk::version::ZkVersion;
use crate::{audit, ensemble, poll, text::escape};

/// How long `--live` waits for each node's one answer.
const LIVE_POLL_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn plan(args: &PlanArgs) -> Result<(), Failure> {
    let inputs = binding::inputs(&args.binding)?;
    let live = if args.live {
        let targets = ensemble::inventory_targets(&inputs.inventory);
        Some(poll::poll_all_once(&targets, LIVE_POLL_TIMEOUT).await)
    } else {
        None
    };
    let leader = live.as_ref().and_then(plan_live::leader);
    let loaded = inputs.load(&args.binding, leader.as_deref())?;
    let version = plan_live::version(
        args.zookeeper.as_deref(),
        inputs.inventory.zookeeper.as_deref(),
        live.as_ref(),
    )
    .map_err(Failure::bad_input)?;
    let procedure = &loaded.procedure;
    let (plan, others) = match &live {
        None => {
            let plan = plan::plan(procedure, version);
            let others = other_bindings(args, &inputs, &loaded, version, &plan)?;
            (plan, others)
        }
        // The live leader is already bound: the other choices are what the poll ruled out.
        Some(live) => (
            plan_live::plan_from_live(procedure, version, live),
            Vec::new(),
        ),
    };
    let out = if args.json {
        json(&plan)?
    } else {
        escape::sanitize_lines(&(plan::render_table(&plan) + &plan::render_other_bindings(&others)))
    };
    // A check's command is shown, and may hold a secret variable.
    let out = audit::Secrets::new(procedure.secrets.iter().cloned()).scrub(out);
    crate::io::output::out(format_args!("{out}"));
    if plan.blocked() || others.iter().any(|o| o.plan.blocked()) {
        Err(Failure::shown(Kind::Hazard))
    } else {
        Ok(())
    }
}

/// The plan as JSON. Failing to encode it says nothing about the runbook: it is the program's
/// environment, never the "hazard" status a script would take for a blocked step.
fn json(plan: &Plan) -> Result<String, Failure> {
    encoded(serde_json::to_string_pretty(plan))
}

fn encoded(json: serde_json::Result<String>) -> Result<String, Failure> {
    json.map(|json| escape::json_visible(&json) + "\n")
        .map_err(|e| Failure::environment(format!("cannot encode the plan as JSON: {e}")))
}

/// The plan under every other binding the runbook's `pick:` hosts can get: it holds for the
/// runbook only if it holds whoever leads when the run starts.
fn other_bindings(
    args: &PlanArgs,
    inputs: &Inputs,
    loaded: &Loaded,
    version: ZkVersion,
    first: &Plan,
) -> Result<Vec<OtherBinding>, Failure> {
    let runbook = procedure::parse(&loaded.source.text, &args.binding.runbook)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let Some(bindings) =
        crate::runbook::picks::every_binding(&runbook, &inputs.inventory, &inputs.bindings)
    else {
        return Ok(vec![OtherBinding::too_many()]);
    };
    let mut others = Vec::new();
    for binding in bindings {
        let procedure = inputs.load_with(&args.binding, &binding, None)?.procedure;
        let plan = plan::plan(&procedure, version);
        if plan.bindings != first.bindings {
            others.push(OtherBinding::of(plan));
        }
    }
    Ok(others)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An encoding failure exited 1, the status of a blocked step.
    #[test]
    fn a_plan_that_cannot_be_encoded_is_an_environment_failure_not_a_hazard() {
        let broken = serde_json::from_str::<String>("not json").map(|_| String::new());
        let failure = encoded(broken).err();
        assert_eq!(failure.as_ref().map(|f| f.kind), Some(Kind::Environment));
        assert_eq!(failure.map(|f| f.kind.code()), Some(2));
    }
}
