//! `zkpilot audit verify` and `audit export`. A log whose chain, anchor or expected head does
//! not hold, or that others could write, is a hazard (1); a file that cannot be read is 2.

use std::io::Write;

use super::args::{AuditCommand, ExportArgs, ExportFormat, VerifyArgs};
use super::verify_summary::verify_summary;
use super::Failure;
use crate::audit::{self, AuditError};
use crate::io::output_file;
use crate::{replay, text::escape, view, view::theme};

/// The terminal an asciicast is drawn for: wide enough for four node cards and the run screen.
const CAST_SIZE: (u16, u16) = (160, 44);

pub fn audit(command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Verify(args) => verify(&args),
        AuditCommand::Export(args) => export(&args),
    }
}

fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let anchored =
        audit::anchored::verify_anchored(&args.file, args.expect_head).map_err(|e| match e {
            AuditError::ChainBroken { .. } => Failure::hazard(e.to_string()),
            _ => Failure::bad_input(e.to_string()),
        })?;
    match verify_summary(&anchored, &args.file, args.expect_head, args.unanchored) {
        Ok(summary) => {
            crate::say!("{summary}");
            Ok(())
        }
        // One problem a line, each read as zkpilot's like the first.
        Err(failures) => Err(Failure::hazard(failures.join("\nzkpilot: "))),
    }
}

fn export(args: &ExportArgs) -> Result<(), Failure> {
    if let Some(out) = args
        .output
        .as_ref()
        .filter(|out| output_file::same_file(out, &args.file))
    {
        return Err(Failure::bad_input(format!(
            "-o {} is the audit log itself: the report would replace the record; write it elsewhere",
            out.display()
        )));
    }
    let log = audit::read_log(&args.file).map_err(|e| Failure::bad_input(e.to_string()))?;
    if let Err(problem) = &log.verification {
        // A warning, not a failure: the report covers what verifies and says where it stops.
        crate::say_err!(
            "zkpilot: warning: audit log {} does not verify ({}); the report says so and \
             covers only the records before that line",
            args.file.display(),
            escape::sanitize(&problem.to_string())
        );
    }
    let source = args.file.display().to_string();
    let report = match args.format {
        ExportFormat::Markdown => audit::report::render_markdown(&log, &source),
        ExportFormat::Asciicast => {
            let verification = match log.verification {
                Ok(verified) => replay::Verification::Intact(verified),
                Err(problem) => replay::Verification::Broken(problem),
            };
            let mut player = replay::Player::new(log.records, verification);
            // The default theme and glyphs, whatever the exporter's own terminal settings are:
            // the recording is watched elsewhere.
            let theme = theme::Theme::builtin("dark")
                .ok_or_else(|| Failure::environment("the built-in dark theme does not load"))?;
            let look = view::Look {
                theme,
                symbols: view::Symbols::UNICODE,
            };
            view::asciicast::render(&mut player, &source, &look, CAST_SIZE)
                .map_err(|e| Failure::environment(format!("cannot draw the replay: {e}")))?
        }
    };
    match &args.output {
        Some(out) => output_file::write_whole(out, &report)
            .map_err(|e| Failure::write(&out.display().to_string(), e)),
        None => std::io::stdout()
            .write_all(report.as_bytes())
            .map_err(|e| Failure::write("the report", e)),
    }
}
