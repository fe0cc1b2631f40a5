//! The command line: one module per command, each returning `Result<(), Failure>`; `main.rs`
//! parses, calls [`execute`], prints the failure once and exits with [`exit_code`].

pub mod analyze;
pub mod args;
pub mod audit;
pub mod binding;
mod failure;
pub mod follow;
pub mod inventory;
pub mod lab;
pub mod plan;
pub mod plan_live;
pub mod replay;
pub mod run;
pub mod sandbox;
pub mod synthesize;
pub mod verify_summary;
pub mod watch;

pub use failure::{exit_code, Failure, Kind, SUCCESS};

use args::Command;

/// Runs one command to its end.
pub async fn execute(command: Command) -> Result<(), Failure> {
    match command {
        Command::Analyze { state, json } => analyze::analyze(&state, json),
        Command::Plan(args) => plan::plan(&args).await,
        Command::Run(args) => run::run(args).await,
        Command::Sandbox(command) => sandbox::sandbox(command).await,
        Command::Watch(args) => watch::watch(args).await,
        Command::Audit(command) => audit::audit(command),
        Command::Replay(args) => replay::replay(args).await,
        Command::Follow(args) => follow::follow(args).await,
        Command::Lab(command) => lab::lab(command).await,
        Command::Inventory(command) => inventory::inventory(command).await,
        Command::Synthesize(args) => synthesize::synthesize(&args).await,
    }
}

/// Two workers: the poller and SSH are I/O-bound, and a sandbox shares two cores with its JVMs.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::environment(format!("cannot start the async runtime: {e}")))
}

/// The line printed for a failure, if any: errors name files, steps and hosts, and quote what
/// was wrong, so they are escaped like every text shown.
pub fn failure_text(failure: &Failure) -> Option<String> {
    failure
        .message
        .as_deref()
        .map(|message| format!("zkpilot: {}", crate::text::escape::sanitize_lines(message)))
}

/// The command line for the diagnostic log, with every `--var` value masked: which variables
/// are secret is known only once the runbook is read.
pub fn logged_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut masked = Vec::new();
    let mut value_next = false;
    for arg in args {
        let (flag, value) = match arg.split_once('=') {
            Some(("--var", value)) => ("--var=", Some(value)),
            _ if value_next => ("", Some(arg.as_str())),
            _ => ("", None),
        };
        value_next = arg == "--var";
        masked.push(match value.map(|v| v.split_once('=')) {
            Some(Some((name, _))) => format!("{flag}{name}=***"),
            Some(None) => format!("{flag}***"),
            None => arg.clone(),
        });
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagnostic_log_never_sees_a_variable_value() {
        let args = [
            "zkpilot",
            "run",
            "rb.yaml",
            "--var",
            "token=s3cr3t",
            "--var=pin=1234",
            "--bind",
            "a=b",
        ];
        assert_eq!(
            logged_args(args.iter().map(|a| a.to_string())),
            [
                "zkpilot",
                "run",
                "rb.yaml",
                "--var",
                "token=***",
                "--var=pin=***",
                "--bind",
                "a=b"
            ]
        );
    }

    #[test]
    fn a_failure_is_one_escaped_line_and_a_shown_one_prints_nothing() {
        let failure = Failure::bad_input("rb.yaml:3:7: bad \u{1b}[2J step");
        assert_eq!(
            failure_text(&failure).as_deref(),
            Some("zkpilot: rb.yaml:3:7: bad ^[[2J step")
        );
        assert_eq!(failure_text(&Failure::shown(Kind::Hazard)), None);
    }
}
