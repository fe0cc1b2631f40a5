//! `zkpilot run`: the console (or `--autopilot`) on a live ensemble. A run that stops before
//! every step is done exits 1; its last line says why and where the audit log is.

use super::args::RunArgs;
use super::{binding, Failure, Kind};
use crate::tui::run::{self as run_loop, RunOptions};
use crate::zk::version::ZkVersion;
use crate::{io::settings, text::escape};

pub async fn run(args: RunArgs) -> Result<(), Failure> {
    let look = settings::look(args.display.theme.as_deref(), args.display.ascii)
        .map_err(Failure::bad_input)?;
    let inputs = binding::inputs(&args.binding)?;
    let zookeeper = match args.zookeeper.as_deref() {
        None => None,
        Some(text) => Some(
            ZkVersion::parse(text)
                .ok_or_else(|| Failure::bad_input(format!("bad --zookeeper version `{text}`")))?,
        ),
    };
    if args
        .break_lock
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        return Err(Failure::bad_input(
            "--break-lock needs a reason, recorded in both sessions' logs",
        ));
    }
    // Before any host is asked or any log opened: a console without a terminal does nothing.
    if !args.autopilot {
        crate::tui::terminal::require("run").map_err(Failure::environment)?;
    }
    let options = RunOptions {
        runbook: args.binding.runbook,
        inventory_path: args.binding.inventory,
        inventory: inputs.inventory,
        bindings: inputs.bindings,
        variables: inputs.variables,
        interval: args.interval,
        sessions: args.sessions.policy(),
        look,
        audit: args.audit,
        resume: args.resume,
        autopilot: args.autopilot,
        yes: args.yes,
        zookeeper,
        break_lock: args.break_lock,
    };
    // The loop's errors are refusals before the first step (pre-flight, lock, resume checks)
    // or a terminal or log that failed: the environment's status, never "stopped".
    let end = run_loop::run(options).await.map_err(Failure::environment)?;
    crate::say!(
        "{}: {}\naudit log {}: {} records, head {}",
        if end.finished { "done" } else { "stopped" },
        escape::sanitize(&end.reason),
        end.audit_path.display(),
        end.records,
        end.head
    );
    if end.finished {
        Ok(())
    } else {
        Err(Failure::shown(Kind::Stopped))
    }
}
