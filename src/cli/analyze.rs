//! `zkpilot analyze`: the verdict on a state file. Any verdict, split brain included, is the
//! command's answer and exits 0 (the command's help says so); only a file that cannot be read
//! is a failure.

use std::io::Write;
use std::path::Path;

use super::Failure;
use crate::{analyze, io::input_file, text::escape};

pub fn analyze(state: &Path, json: bool) -> Result<(), Failure> {
    let text = input_file::read_text(state).map_err(Failure::bad_input)?;
    let report = analyze::analyze(&text, state).map_err(|e| Failure::bad_input(e.to_string()))?;
    let out = if json {
        escape::json_visible(&report.json())
    } else {
        escape::sanitize_lines(&report.text())
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| Failure::write("the report", e))
}
