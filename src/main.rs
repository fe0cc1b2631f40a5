use std::process::ExitCode;

use clap::Parser;

use zkpilot::cli::{self, args::Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _diagnostics = zkpilot::io::diagnostics::init();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), args = ?cli::logged_args(std::env::args()), "zkpilot started");
    let result = cli::runtime().and_then(|runtime| runtime.block_on(cli::execute(cli.command)));
    if let Some(text) = result.as_ref().err().and_then(cli::failure_text) {
        zkpilot::say_err!("{text}");
    }
    ExitCode::from(cli::exit_code(&result))
}
