//! Adapter: reading a YAML file a person named (a runbook, a fragment, an inventory, a state
//! file, a theme), whatever the path turns out to be.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::text::yaml;

/// The text of the file at `path`, only if it is a regular file of at most `yaml::MAX_BYTES`:
/// a FIFO would block, a device such as /dev/zero would grow without end. The open itself does
/// not block on a FIFO. Errors say what is wrong, never what the file holds.
pub fn read_text(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.file_type().is_file() {
        return Err(format!(
            "cannot read {}: not a regular file",
            path.display()
        ));
    }
    let too_large = || {
        format!(
            "cannot read {}: larger than {} MiB, not a file zkpilot reads",
            path.display(),
            yaml::MAX_BYTES >> 20
        )
    };
    if meta.len() > yaml::MAX_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    // A file growing while it is read stops at the limit all the same.
    file.take(yaml::MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > yaml::MAX_BYTES {
        return Err(too_large());
    }
    yaml::decode(&bytes, path).map_err(|e| e.to_string())
}
