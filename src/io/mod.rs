//! Adapters to the local machine: files a person names (`input_file`, `runbook_files`), files
//! written for them whole or not at all (`output_file`), the settings file, the tool's own diagnostic log, and the lines printed for the operator.

pub mod diagnostics;
pub mod input_file;
pub mod output;
pub mod output_file;
pub mod runbook_files;
pub mod settings;

/// `$XDG_…/zkpilot/<sub>` from `xdg_var`, else `~/<fallback>/zkpilot/<sub>`, as this process's
/// environment says (only absolute values count: `text::xdg::zkpilot_dir`).
fn zkpilot_dir(xdg_var: &str, fallback: &str, sub: &str) -> Option<std::path::PathBuf> {
    crate::text::xdg::zkpilot_dir(
        std::env::var_os(xdg_var).as_deref(),
        std::env::var_os("HOME").as_deref(),
        fallback,
        sub,
    )
}

/// An empty directory of this test's own under the system's temporary one, named
/// `zkpilot-<name>-<pid>`, emptied first if an earlier run left it.
#[cfg(test)]
pub(crate) fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zkpilot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
