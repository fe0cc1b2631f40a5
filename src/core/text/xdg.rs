//! Pure: the XDG Base Directory rule, in one place for the audit log, the diagnostic log and
//! the settings. The spec says a relative value must be ignored; `$HOME` counts only when
//! absolute too.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// `$XDG_…` when absolute, else `$HOME/<fallback>` when `$HOME` is absolute, then `zkpilot/<leaf>`.
pub fn zkpilot_dir(
    xdg_value: Option<&OsStr>,
    home: Option<&OsStr>,
    fallback: &str,
    leaf: &str,
) -> Option<PathBuf> {
    let base = absolute(xdg_value)
        .map(Path::to_path_buf)
        .or_else(|| absolute(home).map(|home| home.join(fallback)))?;
    let dir = base.join("zkpilot");
    Some(if leaf.is_empty() { dir } else { dir.join(leaf) })
}

fn absolute(value: Option<&OsStr>) -> Option<&Path> {
    value.map(Path::new).filter(|p| p.is_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_values_are_ignored() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            zkpilot_dir(
                xdg.map(OsStr::new),
                home.map(OsStr::new),
                ".local/state",
                "log",
            )
        };
        assert_eq!(
            dir(Some("/var/x"), Some("/home/a")),
            Some(PathBuf::from("/var/x/zkpilot/log"))
        );
        assert_eq!(
            dir(Some("rel/x"), Some("/home/a")),
            Some(PathBuf::from("/home/a/.local/state/zkpilot/log"))
        );
        assert_eq!(dir(Some(""), Some("rel")), None);
        assert_eq!(dir(None, None), None);
    }
}
