//! Adapters to the local machine: files a person names (`input_file`, `runbook_files`), the
//! settings file, the tool's own diagnostic log, and the lines printed for the operator.

pub mod diagnostics;
pub mod input_file;
pub mod output;
pub mod runbook_files;
pub mod settings;
