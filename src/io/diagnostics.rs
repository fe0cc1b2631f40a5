//! Adapter: zkpilot's own diagnostic log (not the audit log). A daily rolling file under the
//! XDG state dir, never the terminal, which belongs to the console while it runs.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where the diagnostic log goes: `$XDG_STATE_HOME/zkpilot/log/` or `~/.local/state/...`
/// (only absolute values count, as for the audit log).
pub fn log_dir() -> Option<PathBuf> {
    super::zkpilot_dir("XDG_STATE_HOME", ".local/state", "log")
}

/// Starts the diagnostic log; the level comes from `ZKPILOT_LOG` (e.g. `debug`), `info` by
/// default. Keep the guard alive for the life of the program so the last lines are flushed.
pub fn init() -> Option<WorkerGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(dir, "zkpilot.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("ZKPILOT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
