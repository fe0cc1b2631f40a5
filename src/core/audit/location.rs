//! Pure: where session logs go by default, and what each file is called.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::record::Timestamp;

/// `$XDG_STATE_HOME/zkpilot/audit`, else `$HOME/.local/state/zkpilot/audit`. The XDG Base
/// Directory spec says a relative value must be ignored, so only absolute paths count.
pub fn audit_dir(xdg_state_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    crate::text::xdg::zkpilot_dir(xdg_state_home, home, ".local/state", "audit")
}

/// `20261123T091703Z-move-to-dc2.jsonl`: sorted by start time in a listing, and the runbook's
/// name (its file stem, reduced to characters safe in any shell) says what the session did.
pub fn session_file_name(started: Timestamp, runbook_path: &str) -> String {
    let stamp: String = started
        .to_string()
        .chars()
        .take(19)
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let stem = Path::new(runbook_path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    name = name.trim_matches(|c| c == '-' || c == '.').to_string();
    if name.is_empty() {
        name = "session".to_string();
    }
    format!("{stamp}Z-{name}.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_state_home_wins_when_absolute() {
        let dir = audit_dir(Some(OsStr::new("/var/state")), Some(OsStr::new("/home/a")));
        assert_eq!(dir, Some(PathBuf::from("/var/state/zkpilot/audit")));
        let dir = audit_dir(Some(OsStr::new("rel/state")), Some(OsStr::new("/home/a")));
        assert_eq!(
            dir,
            Some(PathBuf::from("/home/a/.local/state/zkpilot/audit"))
        );
        let dir = audit_dir(Some(OsStr::new("")), Some(OsStr::new("/home/a")));
        assert_eq!(
            dir,
            Some(PathBuf::from("/home/a/.local/state/zkpilot/audit"))
        );
        assert_eq!(audit_dir(None, None), None);
        assert_eq!(audit_dir(None, Some(OsStr::new("home"))), None);
    }

    #[test]
    fn file_names_carry_utc_start_and_runbook() {
        let started = Timestamp::from_unix(1_795_425_423, 120_000_000);
        assert_eq!(
            session_file_name(started, "runbooks/move-to-dc2.yaml"),
            "20261123T091703Z-move-to-dc2.jsonl"
        );
        assert_eq!(
            session_file_name(started, "/tmp/a b;rm -rf $HOME.yml"),
            "20261123T091703Z-a-b-rm--rf--HOME.jsonl"
        );
        assert_eq!(
            session_file_name(started, ""),
            "20261123T091703Z-session.jsonl"
        );
        assert_eq!(
            session_file_name(started, "../.."),
            "20261123T091703Z-session.jsonl"
        );
    }
}
