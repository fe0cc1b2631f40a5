//! The command line: each subcommand calls into the library; errors are printed once.

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use zkpilot::analyze;
use zkpilot::yaml::YamlError;

/// Walks operators through zero-downtime Apache ZooKeeper migrations.
#[derive(Parser)]
#[command(
    name = "zkpilot",
    version,
    long_about = "zkpilot walks operators through zero-downtime Apache ZooKeeper migrations: \
                  before every step it checks that the ensemble keeps one quorum and cannot \
                  elect two leaders at once (split brain).",
    after_help = "Run `zkpilot analyze --help` for the state file format and an example.",
    after_long_help = "EXAMPLES:\n  \
                       zkpilot analyze restart-r.yaml                 explain the verdict\n  \
                       zkpilot analyze restart-r.yaml --json | jq .split_brain_possible\n\n\
                       Run `zkpilot analyze --help` for the state file format."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(
        about = analyze::help::ABOUT,
        long_about = analyze::help::LONG_ABOUT,
        after_long_help = analyze::help::EXAMPLE
    )]
    Analyze {
        /// The state file (YAML) describing every node: its sid, address, view and whether it is up
        #[arg(value_name = "STATE.yaml")]
        state: PathBuf,
        /// Print one JSON object instead of the explanation
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Input(#[from] YamlError),
    #[error("cannot write the report: {0}")]
    Output(std::io::Error),
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Read { .. } | Failure::Input(_) => ExitCode::from(2),
            Failure::Output(_) => ExitCode::FAILURE,
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("zkpilot: {failure}");
            failure.exit_code()
        }
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Analyze { state, json } => {
            let text = std::fs::read_to_string(&state).map_err(|source| Failure::Read {
                path: state.clone(),
                source,
            })?;
            let report = analyze::analyze(&text, &state)?;
            let out = if json { report.json() } else { report.text() };
            std::io::stdout()
                .write_all(out.as_bytes())
                .map_err(Failure::Output)
        }
    }
}
