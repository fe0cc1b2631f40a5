//! Adapter: what guards a session before its first step — a resumed log checked against this
//! run (`resume`), the hosts' pre-flight (`preflight`) and the ensemble lock (`lock`).

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::audit::record::{AuditEvent, Secrets, Timestamp};
use crate::audit::{reader, AuditLog, AuditWriter, Durability};
use crate::inventory::{Host, Inventory};
use crate::net::remote::Connections;
use crate::runbook::procedure::Procedure;
use crate::session::lock::{Broken, EnsembleLock, LockError, LockOwner};
use crate::session::preflight;
use crate::session::resume::{self, ThisRun};

/// The log to resume, whole and verified: a broken chain is never continued, nor a log whose
/// anchor or files `audit verify` refuses. Checked here, before any host is asked, and again
/// under the log's lock when it is opened for appending (`AuditWriter::open_append`).
pub fn read_resumed(path: &Path) -> Result<AuditLog, String> {
    let log = reader::read_log(path).map_err(|e| e.to_string())?;
    let refuse = |problem: String| {
        format!(
            "cannot resume the session of {}: its log does not verify ({problem}); nothing is \
             appended to a log `zkpilot audit verify` refuses: check it with that command",
            path.display()
        )
    };
    if let Err(problem) = &log.verification {
        return Err(refuse(problem.to_string()));
    }
    let anchored =
        crate::audit::anchored::verify_anchored(path, None).map_err(|e| e.to_string())?;
    match (anchored.anchor, anchored.file_problem) {
        (Err(problem), _) => Err(refuse(problem.to_string())),
        (Ok(_), Some(problem)) => Err(refuse(problem)),
        (Ok(_), None) => Ok(log),
    }
}

/// Refuses to continue `log` with another runbook, inventory or a closed session.
pub fn check_resume(
    path: &Path,
    log: &AuditLog,
    runbook_path: &Path,
    runbook_sha256: &str,
    inventory_path: &Path,
    procedure: &Procedure,
) -> Result<(), String> {
    let inventory_sha256 = file_sha256(inventory_path)?;
    let steps: Vec<String> = procedure.steps.iter().map(|s| s.id.clone()).collect();
    let run = ThisRun {
        runbook_path: &runbook_path.display().to_string(),
        runbook_sha256,
        inventory_path: &inventory_path.display().to_string(),
        inventory_sha256: &inventory_sha256,
        steps: &steps,
    };
    resume::check(
        &path.display().to_string(),
        log.records.iter().map(|r| &r.event),
        &run,
    )
    .map_err(|e| e.to_string())
}

/// Every host the runbook touches must answer over SSH and run its read-only verbs before
/// the first step; otherwise the run refuses, naming each failing host, before any command.
pub async fn preflight(
    inventory: &Inventory,
    procedure: &Procedure,
    connections: &Arc<Connections>,
    narrate: bool,
) -> Result<(), String> {
    let hosts: Vec<&Host> = preflight::touched_hosts(procedure)
        .into_iter()
        .filter_map(|i| procedure.hosts.get(i).map(|h| &h.inventory))
        .collect();
    let checks = preflight::check_hosts(inventory, &hosts, connections).await;
    if let Some(refusal) = preflight::refusal(&checks) {
        connections.close_all().await;
        return Err(refusal);
    }
    if narrate {
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        crate::say!(
            "pre-flight: {} answer over SSH and run their read-only verbs",
            names.join(", ")
        );
    }
    Ok(())
}

/// `zkpilot inventory check`: the pre-flight on every host of the inventory.
pub async fn check_inventory(inventory: &Inventory) -> Vec<preflight::HostCheck> {
    let connections = Arc::new(Connections::new(
        std::time::Duration::from_secs(10),
        std::env::temp_dir(),
    ));
    let hosts: Vec<&Host> = inventory.hosts.iter().collect();
    let checks = preflight::check_hosts(inventory, &hosts, &connections).await;
    connections.close_all().await;
    checks
}

/// Takes the ensemble lock for the session whose log `writer` writes. With `break_lock`, a
/// lock held by another session is broken, unless that session's console is still alive
/// (its log is locked by a writer on this machine), and the break is recorded in this log
/// and, when it is on this machine and can be written, in the old session's.
pub async fn take_lock(
    inventory: &Inventory,
    owner: &LockOwner,
    break_lock: Option<&str>,
    writer: &mut AuditWriter,
    connections: &Arc<Connections>,
    now: impl Fn() -> Timestamp,
) -> Result<EnsembleLock, String> {
    let first = EnsembleLock::take(inventory, owner, false, connections.clone()).await;
    let (lock, broken) = match (first, break_lock) {
        (Ok(taken), _) => taken,
        (Err(LockError::Held { owner: holder, .. }), Some(_)) if alive(&holder, owner) => {
            return Err(format!(
                "--break-lock refused: the lock's holder is alive ({}): its console still \
                 writes its log; stop that console instead",
                holder.describe()
            ))
        }
        (Err(LockError::Held { .. }), Some(_)) => {
            EnsembleLock::take(inventory, owner, true, connections.clone())
                .await
                .map_err(|e| e.to_string())?
        }
        (Err(e), _) => return Err(e.to_string()),
    };
    if let Some(reason) = break_lock {
        record_breaks(&broken, reason, owner, writer, &now)?;
    }
    Ok(lock)
}

/// A holder whose console runs on this machine and whose log is still locked by its writer
/// (every writer holds an exclusive `flock` on its log for its whole life). Where the log
/// cannot be examined as the operator's own — a console run with `sudo` writes a log root
/// owns while its `operator:` names the person, and another user's private directory hides
/// it — the owner's process decides: a zkpilot still running under its pid is alive. Both
/// cases counted as dead, and a running console's lock was broken.
fn alive(holder: &LockOwner, me: &LockOwner) -> bool {
    if holder.console != me.console || holder.log.is_empty() {
        return false;
    }
    match holder_log(holder) {
        // The probe's lock, if it got one, goes with the descriptor when `file` is dropped.
        Ok(file) => matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => i32::try_from(holder.pid)
            .is_ok_and(|pid| crate::rehearse::sandbox::process::is_ours(pid, "zkpilot")),
    }
}

/// The log a lock's owner file names, opened only once it is known to be one: the owner file
/// is text anyone who can write the lock directory may have written, so its `log:` could name a
/// FIFO (an `open` that never returns), a device, a symlink or someone else's file. Read-only,
/// without following a link or blocking, a regular file owned by the uid the owner's
/// `operator:` names.
fn holder_log(holder: &LockOwner) -> Result<std::fs::File, String> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    // Not even opened unless it is a regular file: opening a device can act on it.
    match std::fs::symlink_metadata(&holder.log) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(_) => return Err("it is not a regular file".into()),
        Err(e) => return Err(format!("cannot examine it: {e}")),
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&holder.log)
        .map_err(|e| format!("cannot open it: {e}"))?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err("it is not a regular file".into());
    }
    let uid = holder
        .operator
        .rsplit_once("(uid ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|uid| uid.parse::<u32>().ok());
    if uid != Some(meta.uid()) {
        return Err(format!(
            "it belongs to {}, not to the lock's operator {}",
            crate::session::approval::person_of(meta.uid()).label(),
            holder.operator
        ));
    }
    Ok(file)
}

fn record_breaks(
    broken: &[Broken],
    reason: &str,
    me: &LockOwner,
    writer: &mut AuditWriter,
    now: &impl Fn() -> Timestamp,
) -> Result<(), String> {
    let mut holders: Vec<&LockOwner> = Vec::new();
    for b in broken {
        if !holders.contains(&&b.holder) {
            holders.push(&b.holder);
        }
    }
    for holder in holders {
        let hosts: Vec<&str> = broken
            .iter()
            .filter(|b| &b.holder == holder)
            .map(|b| b.host.as_str())
            .collect();
        let old_log = write_to_old_log(holder, me, reason, now);
        let text = format!(
            "ensemble lock broken with --break-lock on {}: {reason}; it was held by {}; {old_log}",
            hosts.join(", "),
            holder.describe()
        );
        writer
            .append(AuditEvent::Note { text }, now(), Durability::Sync)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Records the break in the old session's log when it is on this machine; says what became
/// of it, for this session's own note.
fn write_to_old_log(
    holder: &LockOwner,
    me: &LockOwner,
    reason: &str,
    now: &impl Fn() -> Timestamp,
) -> String {
    if holder.console != me.console || holder.log.is_empty() {
        return format!(
            "its log {} is on {}, not written from here",
            holder.log, holder.console
        );
    }
    let path = Path::new(&holder.log);
    if let Err(why) = holder_log(holder) {
        return format!("its log {} is not written: {why}", holder.log);
    }
    let text = format!(
        "this session's ensemble lock was broken by session {} of {} (log {}): {reason}",
        me.session, me.operator, me.log
    );
    // Only the holder's own session: an owner file's `log:` may name an unrelated log.
    let written =
        AuditWriter::open_append_of(path, Some(&holder.session), Secrets::default(), now())
            .and_then(|(mut old, _)| {
                old.append(AuditEvent::Note { text }, now(), Durability::Sync)?;
                old.stop_session("its ensemble lock was broken by another console", now())
            });
    match written {
        Ok(_) => format!("the break is recorded in its log {}", holder.log),
        Err(e) => format!("its log could not be written: {e}"),
    }
}

pub fn file_sha256(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(zkpilot_core::hex::encode(Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::scratch_dir;
    use crate::replay::fixtures::session_info;
    use std::time::{Duration, Instant, SystemTime};

    fn now() -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }

    /// A console run with `sudo` writes a log root owns while its lock's `operator:` names the
    /// person (here: a log this test's uid owns, named for another uid): the log cannot be
    /// examined as the operator's, so the owner's process decides. Running, the holder is
    /// alive and `--break-lock` is refused; it was counted dead, and the lock broken under a
    /// running console. A pid that runs no zkpilot is dead.
    #[test]
    fn a_console_whose_log_is_not_the_operators_is_alive_while_its_process_runs() {
        let dir = scratch_dir("guards-sudo");
        let log = dir.join("live.jsonl");
        let writer = AuditWriter::create(&log, session_info(), Secrets::default(), now()).unwrap();
        // SAFETY: geteuid has no preconditions.
        let other_uid = unsafe { libc::geteuid() } + 1000;
        let holder = |pid: u32| LockOwner {
            session: writer.session_id().to_string(),
            operator: format!("alice (uid {other_uid})"),
            console: "jump1".into(),
            pid,
            started: "now".into(),
            log: log.display().to_string(),
        };
        let breaker = LockOwner {
            session: "cd".repeat(32),
            operator: "bob (uid 1)".into(),
            console: "jump1".into(),
            pid: 1,
            started: "now".into(),
            log: dir.join("b.jsonl").display().to_string(),
        };
        assert!(holder_log(&holder(std::process::id())).is_err());
        assert!(alive(&holder(std::process::id()), &breaker));
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        gone.wait().unwrap();
        assert!(!alive(&holder(gone_pid), &breaker));
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// What a lock's owner file names as its `log:` is opened only once it is known to be the
    /// holder's log: a FIFO no longer hangs `--break-lock` in `open()`, and an unrelated
    /// stopped log gets nothing appended (before: a note, a `resume` and a `session_stop`).
    #[test]
    fn a_lock_owners_log_is_checked_before_it_is_opened_or_written() {
        let dir = scratch_dir("guards");
        let fifo = dir.join("fifo");
        let c_path = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let unrelated = dir.join("unrelated.jsonl");
        AuditWriter::create(&unrelated, session_info(), Secrets::default(), now())
            .unwrap()
            .stop_session("the operator quit", now())
            .unwrap();
        let before = std::fs::read(&unrelated).unwrap();
        let me = LockOwner {
            session: "cd".repeat(32),
            operator: crate::session::approval::person_of(
                // SAFETY: geteuid has no preconditions.
                unsafe { libc::geteuid() },
            )
            .label(),
            console: "jump1".into(),
            pid: 1,
            started: "now".into(),
            log: dir.join("mine.jsonl").display().to_string(),
        };
        for log in [&fifo, &unrelated] {
            let holder = LockOwner {
                session: "ab".repeat(32),
                log: log.display().to_string(),
                ..me.clone()
            };
            let (done_tx, done) = std::sync::mpsc::channel();
            let (holder2, me2) = (holder.clone(), me.clone());
            std::thread::spawn(move || {
                let alive = alive(&holder2, &me2);
                let said = write_to_old_log(&holder2, &me2, "gone", &now);
                let _ = done_tx.send((alive, said));
            });
            let started = Instant::now();
            let (alive, said) = done
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("{} hung the break", log.display()));
            assert!(started.elapsed() < Duration::from_secs(5));
            assert!(!alive, "{}", log.display());
            assert!(
                said.contains("not written") || said.contains("could not be written"),
                "{said}"
            );
        }
        assert_eq!(std::fs::read(&unrelated).unwrap(), before);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
