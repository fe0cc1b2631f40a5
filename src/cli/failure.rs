//! The one error every command returns and the one table that turns it into an exit status, so
//! a script reads the same number the same way whichever command it ran.

use std::fmt;

/// Why a command did not end with status 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The work was started and stopped before it was done: a run that stopped at a hazard,
    /// a failure or a step that needs a human.
    Stopped,
    /// The command's verdict is that something is not safe or not intact: a plan step with a
    /// hazard the runbook does not accept, an audit log that does not verify, a host failing
    /// its check, the analyzer disagreeing with what real servers did.
    Hazard,
    /// What the operator gave cannot be used: a file that does not load (named with its line
    /// and column), a flag value out of range, a sandbox directory holding no sandbox.
    BadInput,
    /// The machine could not do it: no root, a missing package, a file that cannot be written,
    /// a terminal or a runtime that would not start, servers that would not elect.
    Environment,
}

/// 0 is success; the rest comes from [`Kind::code`]. Documented in `--help` and the README.
pub const SUCCESS: u8 = 0;

impl Kind {
    /// The exit status table, the only place a command's outcome becomes a number.
    pub const fn code(self) -> u8 {
        match self {
            Kind::Stopped | Kind::Hazard => 1,
            Kind::BadInput | Kind::Environment => 2,
        }
    }
}

/// The text of the table for `--help`: a literal, so clap can join it with other help text.
/// `the_help_text_matches_the_table` keeps it equal to [`Kind::code`].
macro_rules! exit_status_help {
    () => {
        "EXIT STATUS (every command):\n  \
         0  done, or the verdict was given\n  \
         1  stopped before done, or a hazard found (blocked plan step, log that does not verify,\n     \
         failing host, analyzer disagreement)\n  \
         2  bad input (file, flag or value) or the environment (root, packages, files, terminal)"
    };
}
pub(crate) use exit_status_help;

/// A command's failure: its kind (which decides the exit status) and what to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    /// `None` when the command's own output already says why (a plan table with its blocked
    /// step, a run's last line on standard output): nothing more is printed.
    pub message: Option<String>,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: Some(message.into()),
        }
    }

    /// A failure the command's output has already explained.
    pub fn shown(kind: Kind) -> Failure {
        Failure {
            kind,
            message: None,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Failure {
        Failure::new(Kind::BadInput, message)
    }

    pub fn environment(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Environment, message)
    }

    pub fn hazard(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Hazard, message)
    }

    /// Writing to standard output failed (a closed pipe, a full disk): the machine's doing.
    pub fn write(what: &str, error: impl fmt::Display) -> Failure {
        Failure::environment(format!("cannot write {what}: {error}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or(""))
    }
}

impl std::error::Error for Failure {}

/// The exit status of a command's result.
pub fn exit_code(result: &Result<(), Failure>) -> u8 {
    match result {
        Ok(()) => SUCCESS,
        Err(failure) => failure.kind.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_and_hazard_exit_1_bad_input_and_environment_exit_2() {
        assert_eq!(exit_code(&Ok(())), 0);
        let codes: Vec<u8> = [
            Kind::Stopped,
            Kind::Hazard,
            Kind::BadInput,
            Kind::Environment,
        ]
        .into_iter()
        .map(|kind| exit_code(&Err(Failure::shown(kind))))
        .collect();
        assert_eq!(codes, [1, 1, 2, 2]);
    }

    #[test]
    fn the_help_text_matches_the_table() {
        let help = exit_status_help!();
        assert!(help.contains(&format!("\n  {SUCCESS}  done")));
        assert!(help.contains(&format!("\n  {}  stopped", Kind::Stopped.code())));
        assert!(help.contains("or a hazard"));
        assert!(help.contains(&format!("\n  {}  bad input", Kind::BadInput.code())));
        assert!(help.contains("or the environment"));
    }

    #[test]
    fn a_failure_already_shown_prints_nothing_more() {
        assert_eq!(Failure::shown(Kind::Hazard).to_string(), "");
        assert_eq!(
            Failure::bad_input("x.yaml:3:1: bad").to_string(),
            "x.yaml:3:1: bad"
        );
    }
}
