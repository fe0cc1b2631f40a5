//! Adapter: the channel through which a follower approves a two-person step.
//!
//! The audit log is 0600 and locked by the one console that writes it, so a follower cannot
//! write to it. Instead the console keeps an inbox next to the log, `LOG.approvals/`, mode
//! 1733: anyone who can reach it may create a file there, nobody but its owner may list it, and
//! the sticky bit keeps users from removing each other's files. A follower drops one small
//! JSON file naming the step and the head hash of the log it saw. The console reads who
//! approved from the file's owner — the kernel's word, not the file's content — and the engine
//! decides whether that person may approve; the decision goes into the log.
//!
//! Identity under sudo: a console run through `sudo` acts for the person in `SUDO_UID`, and a
//! follower run through `sudo` (the way a partner reads a log of another user) drops to
//! `SUDO_UID`/`SUDO_GID` right after it has opened the log and the inbox, so the files it
//! drops are owned by that person. `SUDO_UID` is believed only by a process whose real uid
//! is root, who could act as anyone anyway.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub use crate::console::approvals::{ApprovalFile, Dropped, Ignored};
use crate::runbook::engine::Person;

/// The inbox's mode: sticky, rwx for its owner, write and search (no listing) for others.
const INBOX_MODE: u32 = 0o1733;
/// An approval is a step id and a hash: anything larger is not one.
const MAX_FILE: u64 = 4096;
/// Files removed unread per look: a flood drains over a few looks, and each look stays short
/// (a stat and an unlink for most).
const MAX_PER_LOOK: usize = 4096;
/// Files read per owner per look: the rest of a flood from one user is removed unread, so it
/// cannot push another user's approval back by one look.
const MAX_READ_PER_OWNER: usize = 4;
const SUFFIX: &str = ".json";

/// `LOG.approvals`, beside the log.
pub fn inbox_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_os_string();
    name.push(".approvals");
    PathBuf::from(name)
}

/// The console's side: created when the session starts, emptied and removed when it ends.
#[derive(Debug)]
pub struct Inbox {
    path: PathBuf,
}

impl Inbox {
    /// Creates the inbox, or takes over one a crashed session of this log left behind after
    /// checking it is a real directory of ours (not a symlink planted by someone else).
    pub fn create(log: &Path) -> Result<Inbox, String> {
        let path = inbox_path(log);
        let made = DirBuilder::new().mode(0o700).create(&path);
        if let Err(e) = made {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(format!(
                    "cannot create the approvals inbox {}: {e}",
                    path.display()
                ));
            }
        }
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("cannot inspect {}: {e}", path.display()))?;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let me = unsafe { libc::geteuid() };
        if !meta.file_type().is_dir() || meta.uid() != me {
            return Err(format!(
                "{} exists but is not a directory of this user: remove it, it is not the approvals inbox of this log",
                path.display()
            ));
        }
        // The umask applied to mkdir cannot be trusted to leave the bits others need.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(INBOX_MODE))
            .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
        Ok(Inbox { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes finished files out of the inbox. Every name is looked at (names only: cheap), and
    /// the `*.json` ones come first: of each owner's, `MAX_READ_PER_OWNER` are read and the
    /// rest removed unread, so a flood from one user cannot push another's approval past this
    /// look. Anything else is junk, removed and reported (at most `MAX_PER_LOOK` removals per
    /// look beyond the reads, so one look stays short), except a follower's file still being
    /// written (`.approval-*.partial`, renamed to `*.json` once complete) while it is young.
    pub fn take(&self) -> Vec<Dropped> {
        let Ok(entries) = std::fs::read_dir(&self.path) else {
            return Vec::new();
        };
        let (mut approvals, mut junk) = (Vec::new(), Vec::new());
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.as_bytes();
            if name.ends_with(SUFFIX.as_bytes()) {
                approvals.push(entry.path());
            } else if !(name.starts_with(b".approval-") && name.ends_with(b".partial"))
                || stale(&entry.path())
            {
                junk.push(entry.path());
            }
        }
        let mut taken = Vec::new();
        let mut people: HashMap<u32, (Person, usize)> = HashMap::new();
        let mut removals = 0;
        for path in approvals {
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let (owner, read) = people
                .entry(meta.uid())
                .or_insert_with(|| (person_of(meta.uid()), 0));
            if *read < MAX_READ_PER_OWNER {
                *read += 1;
                taken.extend(read_dropped(&path, owner));
            } else if removals < MAX_PER_LOOK {
                removals += 1;
                taken.push(Dropped {
                    owner: owner.clone(),
                    content: Err("one of many files dropped at once: removed unread".into()),
                });
            } else {
                // Left for the next look, when this owner's first files are gone.
                continue;
            }
            let _ = std::fs::remove_file(&path);
        }
        for path in junk.into_iter().take(MAX_PER_LOOK.saturating_sub(removals)) {
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let (owner, _) = people
                .entry(meta.uid())
                .or_insert_with(|| (person_of(meta.uid()), 0));
            taken.push(Dropped {
                owner: owner.clone(),
                content: Err("not an approval's name (`*.json`): removed unread".into()),
            });
            // A directory made in the inbox is junk too, whatever it holds: left in place it
            // came back on every look, which held the burst's note back for good.
            // `remove_dir_all` follows no link inside it.
            let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
        }
        taken
    }

    /// Removes what is left and the inbox itself: a closed session takes no approvals.
    pub fn close(self) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
            }
        }
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// A follower's file in progress that was never finished: a follower writes a few bytes and
/// renames them at once, so one a minute old was left by a follower that died, or is junk.
fn stale(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_none_or(|age| age > std::time::Duration::from_secs(60))
}

/// Reads one dropped file without following a symlink, without blocking on a FIFO, and only
/// if it is a small regular file with one link (a hard link to someone else's file is not a
/// file its owner dropped). Content problems are reported without quoting the content.
fn read_dropped(path: &Path, owner: &Person) -> Option<Dropped> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.file_type().is_file() || meta.nlink() != 1 || meta.uid() != owner.uid {
        return None;
    }
    let owner = owner.clone();
    if meta.len() > MAX_FILE {
        return Some(Dropped {
            owner,
            content: Err("the file is larger than an approval".into()),
        });
    }
    let mut bytes = Vec::new();
    let content = match Read::by_ref(&mut file)
        .take(MAX_FILE)
        .read_to_end(&mut bytes)
    {
        Ok(_) => serde_json::from_slice::<ApprovalFile>(&bytes)
            .map_err(|_| "the file is not an approval (expected {\"step\", \"head\"})".into()),
        Err(e) => Err(format!("the file cannot be read: {e}")),
    };
    Some(Dropped { owner, content })
}

/// The follower's side: the inbox opened once, before privileges are dropped, so a partner who
/// reads the log through sudo can still reach an inbox under a directory closed to them.
#[derive(Debug)]
pub struct Outbox {
    dir: File,
    path: PathBuf,
}

impl Outbox {
    pub fn open(log: &Path) -> Result<Outbox, String> {
        let path = inbox_path(log);
        // `O_PATH`: the inbox is 1733, so a partner may create files in it but not list it,
        // and opening it for reading (`O_RDONLY`) is refused to everyone but its owner. A
        // path descriptor needs no right on the directory itself and is all `openat` and
        // `renameat` need, which then check write and search permission as they should.
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                format!(
                    "no approvals inbox at {} ({e}): the console of this session takes no approvals",
                    path.display()
                )
            })?;
        Ok(Outbox { dir, path })
    }

    /// Writes the approval under a private name and renames it to `*.json` once complete, so
    /// the console never reads half a file. Returns the file's name.
    pub fn drop_approval(&self, approval: &ApprovalFile) -> Result<String, String> {
        let bytes = serde_json::to_vec(approval).map_err(|e| e.to_string())?;
        // SAFETY: getpid(2) and geteuid(2) cannot fail and touch no memory.
        let (pid, uid) = unsafe { (libc::getpid(), libc::geteuid()) };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let stem = format!("approval-{uid}-{pid}-{nanos}");
        let partial = c_name(&format!(".{stem}.partial"))?;
        let done = format!("{stem}{SUFFIX}");
        let done_c = c_name(&done)?;
        let failed = |what: &str| {
            format!(
                "cannot {what} in {}: {}",
                self.path.display(),
                std::io::Error::last_os_error()
            )
        };
        // SAFETY: `partial` is a NUL-terminated name and the directory descriptor is open for
        // the life of `self`; openat returns a new descriptor we own or -1.
        let fd = unsafe {
            libc::openat(
                self.dir.as_raw_fd(),
                partial.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o644 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(failed("create the approval"));
        }
        // SAFETY: `fd` was just returned by openat and is owned by nobody else.
        let mut file = unsafe { File::from_raw_fd(fd) };
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("cannot write the approval: {e}"))?;
        drop(file);
        // SAFETY: both names are NUL-terminated and the directory descriptor is open.
        let renamed = unsafe {
            libc::renameat(
                self.dir.as_raw_fd(),
                partial.as_ptr(),
                self.dir.as_raw_fd(),
                done_c.as_ptr(),
            )
        };
        if renamed != 0 {
            return Err(failed("finish the approval"));
        }
        Ok(done)
    }
}

fn c_name(name: &str) -> Result<CString, String> {
    CString::new(OsStr::new(name).as_bytes()).map_err(|e| e.to_string())
}

/// The person at the keyboard: the real user, or under sudo the user who ran sudo.
pub fn current_person() -> Person {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    let real = unsafe { libc::getuid() };
    let uid = match (real, sudo_ids()) {
        (0, Some((uid, _))) => uid,
        _ => real,
    };
    person_of(uid)
}

fn sudo_ids() -> Option<(u32, u32)> {
    let id = |name: &str| std::env::var(name).ok()?.parse::<u32>().ok();
    Some((id("SUDO_UID")?, id("SUDO_GID")?))
}

/// A follower started through sudo becomes the person who ran sudo: the approvals it drops are
/// then theirs, and nothing else it does runs as root. Returns who it now is.
pub fn drop_to_sudo_user() -> Result<Person, String> {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    let real = unsafe { libc::getuid() };
    let Some((uid, gid)) = sudo_ids().filter(|(uid, _)| real == 0 && *uid != 0) else {
        return Ok(current_person());
    };
    // The person's own supplementary groups (a `zkpilot` pairing group among them), none of
    // root's; without a name in the password database, none at all.
    let person = person_of(uid);
    let name = (person.name != format!("uid-{uid}"))
        .then(|| CString::new(person.name.as_bytes()).ok())
        .flatten();
    // SAFETY: `name` is a NUL-terminated string alive for the call; the others are plain
    // system calls on integers, setgroups with a count of 0 reads no memory. glibc applies
    // set*id to every thread of the process.
    let dropped = unsafe {
        let groups = match &name {
            Some(name) => libc::initgroups(name.as_ptr(), gid),
            None => libc::setgroups(0, std::ptr::null()),
        };
        groups == 0 && libc::setresgid(gid, gid, gid) == 0 && libc::setresuid(uid, uid, uid) == 0
    };
    // SAFETY: getuid(2)/geteuid(2) cannot fail and touch no memory.
    let now = unsafe { (libc::getuid(), libc::geteuid()) };
    if !dropped || now != (uid, uid) {
        return Err(format!(
            "cannot become uid {uid} (SUDO_UID): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(person)
}

/// Whether this process runs through sudo with more rights than the person who ran it: its
/// real uid is root and `SUDO_UID` names someone else.
pub fn elevated_by_sudo() -> bool {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    let real = unsafe { libc::getuid() };
    real == 0 && sudo_ids().is_some_and(|(uid, _)| uid != 0)
}

/// The log a follower started through sudo may read: `path` resolved (no `..`, no symlink)
/// and lying under the audit directory of the account sudo made it (from the password
/// database, not the environment the caller may have shaped). A sudoers `*` matches `../`,
/// so the rule's own pattern cannot be trusted to keep the path in its directory. Without
/// sudo, `path` as given: the kernel already limits the caller to what they may read.
pub fn granted_log(path: &Path) -> Result<PathBuf, String> {
    if !elevated_by_sudo() {
        return Ok(path.to_path_buf());
    }
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    let dir = home_of(euid)
        .and_then(|home| crate::audit::location::audit_dir(None, Some(home.as_os_str())))
        .ok_or_else(|| {
            format!("uid {euid} has no home directory: no audit directory to follow from")
        })?;
    let refused = || {
        format!(
            "through sudo, follow reads only session logs under {}",
            dir.display()
        )
    };
    let dir = std::fs::canonicalize(&dir).map_err(|_| refused())?;
    let resolved = std::fs::canonicalize(path).map_err(|_| refused())?;
    if resolved.parent() != Some(dir.as_path()) {
        return Err(refused());
    }
    Ok(resolved)
}

/// The home directory of `uid` from the password database.
fn home_of(uid: u32) -> Option<PathBuf> {
    passwd_field(uid, |entry| entry.pw_dir).map(|dir| PathBuf::from(OsStr::from_bytes(&dir)))
}

/// The user name of `uid` from the password database, else the number alone.
pub fn person_of(uid: u32) -> Person {
    let name = passwd_field(uid, |entry| entry.pw_name)
        .map(|name| String::from_utf8_lossy(&name).into_owned())
        .unwrap_or_else(|| format!("uid-{uid}"));
    Person { name, uid }
}

/// One string field of `uid`'s password database entry, copied out, or `None` when there is
/// no entry or the field is absent.
fn passwd_field(uid: u32, field: fn(&libc::passwd) -> *mut libc::c_char) -> Option<Vec<u8>> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid value to be overwritten by getpwuid_r.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live memory of the stated size; on success `found`
    // points to `entry`, whose strings point into `buffer`, both alive while read below.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    let pointer = field(&entry);
    if status != 0 || found.is_null() || pointer.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r filled the field with a NUL-terminated string in `buffer`, alive here.
    Some(unsafe { CStr::from_ptr(pointer) }.to_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::RecordHash;
    use crate::io::scratch_dir;

    /// A scratch directory, its session log's path and that log's inbox.
    fn inbox_in(name: &str) -> (PathBuf, PathBuf, Inbox) {
        let dir = scratch_dir(&format!("approval-{name}"));
        let log = dir.join("session.jsonl");
        let inbox = Inbox::create(&log).unwrap();
        (dir, log, inbox)
    }

    /// The approval every test drops: one step, any head.
    fn restart_leader() -> ApprovalFile {
        ApprovalFile {
            step: "restart-leader".into(),
            head: RecordHash::of_line(b"x"),
        }
    }

    #[test]
    fn a_dropped_approval_is_taken_once_with_its_owner() {
        let (dir, log, inbox) = inbox_in("take");
        let mode = std::fs::metadata(inbox.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, INBOX_MODE);
        let approval = restart_leader();
        Outbox::open(&log)
            .unwrap()
            .drop_approval(&approval)
            .unwrap();
        let taken = inbox.take();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].content, Ok(approval));
        // SAFETY: geteuid(2) cannot fail.
        assert_eq!(taken[0].owner.uid, unsafe { libc::geteuid() });
        assert!(inbox.take().is_empty(), "taken files are gone");
        inbox.close();
        assert!(!inbox_path(&log).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A directory planted in the inbox with a file in it is removed as junk, reported once,
    /// and gone when the session closes. It came back on every look (so the note on a refused
    /// approval was never written), and the inbox outlived the session.
    #[test]
    fn a_planted_directory_is_junk_once_and_leaves_with_the_inbox() {
        let (dir, log, inbox) = inbox_in("planted");
        std::fs::create_dir(inbox.path().join("d")).unwrap();
        std::fs::write(inbox.path().join("d/x"), "x").unwrap();
        std::os::unix::fs::symlink(&dir, inbox.path().join("d/up")).unwrap();
        assert_eq!(inbox.take().len(), 1);
        assert!(inbox.take().is_empty(), "reported once");
        std::fs::create_dir(inbox.path().join("e")).unwrap();
        std::fs::write(inbox.path().join("e/y"), "y").unwrap();
        inbox.close();
        assert!(!inbox_path(&log).exists());
        assert!(dir.exists(), "a link inside was not followed");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn junk_symlinks_fifos_and_partial_files_are_never_believed() {
        let (dir, _, inbox) = inbox_in("junk");
        let secret = dir.join("secret");
        std::fs::write(&secret, "{\"step\":\"x\",\"head\":\"00\"}").unwrap();
        std::os::unix::fs::symlink(&secret, inbox.path().join("link.json")).unwrap();
        let fifo = CString::new(inbox.path().join("pipe.json").as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::fs::write(inbox.path().join("junk.json"), "rm -rf /").unwrap();
        std::fs::write(inbox.path().join(".approval-half.partial"), "{").unwrap();
        let taken = inbox.take();
        assert_eq!(taken.len(), 1, "only the regular file: {taken:?}");
        assert!(taken[0]
            .content
            .as_ref()
            .unwrap_err()
            .contains("not an approval"));
        assert!(!taken[0].content.as_ref().unwrap_err().contains("rm"));
        assert!(inbox.path().join(".approval-half.partial").exists());
        assert!(secret.exists(), "the symlink's target is untouched");
        inbox.close();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_flood_of_junk_neither_hides_an_approval_nor_writes_a_note_per_file() {
        let (dir, _, inbox) = inbox_in("flood");
        for i in 0..2000 {
            std::fs::write(inbox.path().join(format!("junk-{i}.json")), "junk").unwrap();
        }
        let approval = restart_leader();
        let genuine = inbox.path().join("approval.json");
        std::fs::write(&genuine, serde_json::to_vec(&approval).unwrap()).unwrap();
        // Another user's file, when the test may hand it to one.
        // SAFETY: geteuid(2) cannot fail.
        let partner = if unsafe { libc::geteuid() } == 0 {
            let path = CString::new(genuine.as_os_str().as_bytes()).unwrap();
            // SAFETY: a NUL-terminated path.
            assert_eq!(unsafe { libc::chown(path.as_ptr(), 65534, 65534) }, 0);
            65534
        } else {
            // SAFETY: geteuid(2) cannot fail.
            unsafe { libc::geteuid() }
        };
        let taken = inbox.take();
        assert_eq!(taken.len(), 2001, "every file is taken in one look");
        let approvals: Vec<&Dropped> = taken.iter().filter(|d| d.content.is_ok()).collect();
        if partner == 65534 {
            assert_eq!(approvals.len(), 1);
            assert_eq!(approvals[0].owner.uid, 65534);
        }
        let mut ignored = Ignored::default();
        for dropped in taken.iter().filter(|d| d.content.is_err()) {
            ignored.add(&dropped.owner, dropped.content.clone().unwrap_err());
        }
        let note = ignored.note().unwrap();
        // SAFETY: geteuid(2) cannot fail.
        let me = person_of(unsafe { libc::geteuid() }).label();
        let expected = format!("2000 files in the approvals inbox were ignored (2000 from {me})");
        assert!(note.starts_with(&expected), "{note}");
        assert_eq!(ignored.note(), None, "one note per burst");
        assert_eq!(std::fs::read_dir(inbox.path()).unwrap().count(), 0);
        inbox.close();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Names that are no approval's (`*.json`) neither count towards a look's limit nor stay:
    /// after 20,000 of them an approval is still taken in the first look, and the junk is
    /// removed and reported within a few looks (before, it was never removed, and an approval
    /// past the first 4,096 names read stayed unread).
    #[test]
    fn junk_names_never_delay_an_approval_and_are_removed() {
        let (dir, log, inbox) = inbox_in("names");
        let approval = restart_leader();
        Outbox::open(&log)
            .unwrap()
            .drop_approval(&approval)
            .unwrap();
        for i in 0..20_000 {
            std::fs::write(inbox.path().join(format!("junk-{i}")), "").unwrap();
        }
        let first = inbox.take();
        assert!(
            first.iter().any(|d| d.content.as_ref() == Ok(&approval)),
            "the approval waits behind junk"
        );
        let mut reported = first.iter().filter(|d| d.content.is_err()).count();
        for _ in 0..5 {
            reported += inbox.take().len();
        }
        assert_eq!(reported, 20_000);
        assert_eq!(std::fs::read_dir(inbox.path()).unwrap().count(), 0);
        inbox.close();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn one_ignored_file_is_named_as_before() {
        let mut ignored = Ignored::default();
        ignored.add(&person_of(0), "the file is larger than an approval".into());
        assert_eq!(
            ignored.note().as_deref(),
            Some("a file from root (uid 0) in the approvals inbox was ignored: the file is larger than an approval")
        );
    }

    #[test]
    fn an_inbox_path_that_is_a_symlink_is_refused() {
        let dir = scratch_dir("approval-planted");
        let log = dir.join("session.jsonl");
        std::os::unix::fs::symlink(&dir, inbox_path(&log)).unwrap();
        assert!(Inbox::create(&log).unwrap_err().contains("not a directory"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn root_is_named() {
        assert_eq!(person_of(0).name, "root");
        assert_eq!(person_of(0).label(), "root (uid 0)");
    }
}
