//! Adapter: files written for the operator (a synthesized runbook and its state, a report),
//! whole or not at all. Each is written to a temporary file beside its path, synced, and only
//! then renamed over it: a write that fails part-way (a full disk, a file size limit) leaves the
//! earlier file as it was, never a shortened one that still loads and plans.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file written in full beside its path, not yet in place; dropped uncommitted, it is
/// removed.
#[derive(Debug)]
pub struct Staged {
    temporary: PathBuf,
    path: PathBuf,
    committed: bool,
}

/// Writes `text` beside `path`, synced, ready to take its place.
pub fn stage(path: &Path, text: &str) -> io::Result<Staged> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".zkpilot-{}.partial", std::process::id()));
    let staged = Staged {
        temporary: path.with_file_name(temporary_name),
        path: path.to_path_buf(),
        committed: false,
    };
    // One left by an earlier run of this pid is ours to replace; `create_new` never follows
    // a link planted in its place.
    let _ = fs::remove_file(&staged.temporary);
    let mut file: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staged.temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(staged)
}

impl Staged {
    /// Puts the file in place of whatever was at its path.
    pub fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.temporary, &self.path)?;
        self.committed = true;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

/// `stage` then `commit`.
pub fn write_whole(path: &Path, text: &str) -> io::Result<()> {
    stage(path, text)?.commit()
}

/// Whether the two paths name one existing file (a link or another spelling of the path
/// included): an output that would overwrite an input.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_file_replaces_the_old_one_only_when_committed() {
        let dir = super::super::scratch_dir("output-file");
        let path = dir.join("rb.yaml");
        fs::write(&path, "old").unwrap();
        let staged = stage(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        drop(staged);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary left");
        write_whole(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_link_to_an_input_is_the_same_file() {
        let dir = super::super::scratch_dir("same-file");
        let input = dir.join("state.yaml");
        fs::write(&input, "x").unwrap();
        std::os::unix::fs::symlink(&input, dir.join("link.yaml")).unwrap();
        assert!(same_file(&input, &dir.join("link.yaml")));
        assert!(same_file(&input, &dir.join(".").join("state.yaml")));
        assert!(!same_file(&input, &dir.join("new.yaml")));
        let _ = fs::remove_dir_all(&dir);
    }
}
