//! The ensemble lock: one driver per ensemble. Before its first gate a console creates a lock
//! directory with `mkdir` (atomic on every POSIX filesystem) on every host of the inventory, in
//! the order of their names, and writes who holds it inside; a second console then meets a
//! held lock on the first host and is refused with the holder named. Because the lock lives on
//! the ensemble's own hosts, consoles on different jump hosts exclude each other too.
//!
//! The lock is released when the console stops or ends the session; a console killed leaves
//! it behind: the same session takes it back on `--resume` (its id is in the lock), any other
//! only with `--break-lock REASON`, which is recorded in both sessions' logs. Followers take no
//! lock. The scripts and the owner's text are pure; `EnsembleLock` is the SSH adapter.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::inventory::{Host, Inventory};
use crate::net::remote::{Connections, Outcome, SshTarget, Stream};
use crate::text::shell::quote;

/// How long one lock command may take on a host.
const LOCK_TIMEOUT: Duration = Duration::from_secs(20);
/// The exit status of the take script when another session holds the lock.
const HELD: i32 = 3;

/// Who holds a lock: written into `LOCK/owner`, one `key: value` per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockOwner {
    /// The hash of the session's `session_start` record.
    pub session: String,
    pub operator: String,
    /// The machine the console runs on, and its process id there.
    pub console: String,
    pub pid: u32,
    pub started: String,
    /// The session's audit log on the console's machine.
    pub log: String,
}

impl LockOwner {
    pub fn text(&self) -> String {
        format!(
            "session: {}\noperator: {}\nconsole: {}\npid: {}\nstarted: {}\nlog: {}\n",
            one_line(&self.session),
            one_line(&self.operator),
            one_line(&self.console),
            self.pid,
            one_line(&self.started),
            one_line(&self.log)
        )
    }

    /// Reads an owner file; fields it lacks stay empty (a lock being taken has no owner yet).
    pub fn parse(text: &str) -> LockOwner {
        let mut owner = LockOwner::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            let value = value.to_string();
            match key {
                "session" => owner.session = value,
                "operator" => owner.operator = value,
                "console" => owner.console = value,
                "pid" => owner.pid = value.parse().unwrap_or(0),
                "started" => owner.started = value,
                "log" => owner.log = value,
                _ => {}
            }
        }
        owner
    }

    /// How a refusal names the holder.
    pub fn describe(&self) -> String {
        if self.session.is_empty() {
            return "a console that is taking it right now (no owner written yet)".into();
        }
        format!(
            "session {} of {}, console {} pid {}, since {}, log {}",
            short(&self.session),
            self.operator,
            self.console,
            self.pid,
            self.started,
            self.log
        )
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn short(session: &str) -> &str {
    session.get(..16).unwrap_or(session)
}

/// Where the lock lives on `host`: the inventory's `lock:`, else a directory in /var/tmp
/// (kept across reboots, unlike /tmp) named after the server's client address, written the
/// one way (`canonical_client`): two inventories that spell one server's address differently
/// must still meet at one lock, or two consoles drive one ensemble.
pub fn lock_path(host: &Host) -> String {
    match &host.lock {
        Some(path) => path.clone(),
        None => {
            let name: String = canonical_client(&host.client)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("/var/tmp/zkpilot-lock-{name}")
        }
    }
}

/// A client address written the one way: the port as a number (`02181` is 2181), an IP
/// address in its canonical form (`[0:0::1]` is `[::1]`), a host name in lower case without a
/// final dot (DNS names are case-insensitive, `zk1.` is `zk1`). What does not parse stays as
/// written.
pub fn canonical_client(client: &str) -> String {
    let Some((host, port)) = client.rsplit_once(':') else {
        return client.to_string();
    };
    let port = port
        .parse::<u16>()
        .map_or(port.to_string(), |p| p.to_string());
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = match bare.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(ip) => ip.to_string(),
        Err(_) => bare.trim_end_matches('.').to_ascii_lowercase(),
    };
    format!("{host}:{port}")
}

/// The most of an owner file that is read: the text is six short lines; a larger file was
/// not written by zkpilot and is not read whole.
const OWNER_CAP: usize = 4096;

/// The owner file's text, capped, and only from a regular file (not a FIFO, not a link).
fn owner_text() -> String {
    format!("{{ [ -f \"$L/owner\" ] && [ ! -L \"$L/owner\" ] && head -c {OWNER_CAP} -- \"$L/owner\"; }}")
}

/// Creates the lock, or takes it back when this same session holds it; exit `HELD` and the
/// owner's text when another does. A lock directory this console could never remove is no
/// lock held by another console: one that another user made (whoever can write its parent,
/// `/var/tmp` included, can make it first), one group or others can write, a symbolic link or
/// a file in its place, or a `mkdir` that failed for another reason (a parent that does not
/// exist) exits 1 saying which; so does a lock in a directory anyone can write without the
/// sticky bit, where anyone could rename the lock away.
pub fn take_script(path: &str, owner: &LockOwner) -> String {
    let lock = quote(path);
    let ours = quote(&format!("session: {}", owner.session));
    let text = quote(&owner.text());
    let read = owner_text();
    format!(
        "umask 077; L={lock}; \
         if [ -n \"$(find \"$(dirname -- \"$L\")\" -maxdepth 0 -perm -002 ! -perm -1000 2>/dev/null)\" ]; then \
           echo 'anyone can write the directory it is in, which has no sticky bit, so anyone could rename the lock away: give the host a lock: path in a directory only trusted users can write' >&2; exit 1; fi; \
         if made=$(mkdir -- \"$L\" 2>&1); then printf %s {text} > \"$L/owner\" && echo taken; exit; fi; \
         if [ -L \"$L\" ] || {{ [ -e \"$L\" ] && [ ! -d \"$L\" ]; }}; then \
           echo 'something other than a directory is in its place (a symbolic link or a file): zkpilot never made it' >&2; exit 1; fi; \
         if [ ! -e \"$L\" ]; then printf '%s\\n' \"mkdir failed: $made\" >&2; exit 1; fi; \
         if [ ! -O \"$L\" ]; then \
           echo \"the directory belongs to $(stat -c '%U (uid %u)' -- \"$L\"), not to the SSH user $(id -un) (uid $(id -u)): another user made it, so no console can take, release or break this lock; remove it as root or as that user, or give the host a lock: path only the SSH user can create\" >&2; exit 1; fi; \
         if [ -n \"$(find \"$L\" -maxdepth 0 -perm /022)\" ]; then \
           echo 'group or others can write the directory, so anyone of them could forge its owner: zkpilot makes it 0700' >&2; exit 1; fi; \
         if {read} | grep -qxF {ours}; then printf %s {text} > \"$L/owner\" && echo resumed; \
         else {read}; exit {HELD}; fi"
    )
}

/// Removes the lock only if this session holds it.
pub fn release_script(path: &str, session: &str) -> String {
    let lock = quote(path);
    let ours = quote(&format!("session: {session}"));
    let read = owner_text();
    format!(
        "L={lock}; \
         if {read} | grep -qxF {ours}; then rm -f -- \"$L/owner\" && rmdir -- \"$L\" && echo released; \
         else echo 'not held by this session'; fi"
    )
}

/// Removes the lock of the session `holder` names (only if it still holds it, so a lock
/// released and taken by a third session meanwhile is not broken by mistake).
pub fn break_script(path: &str, holder: &LockOwner) -> String {
    let lock = quote(path);
    if holder.session.is_empty() {
        return format!("L={lock}; rm -f -- \"$L/owner\" && rmdir -- \"$L\"");
    }
    let theirs = quote(&format!("session: {}", holder.session));
    let read = owner_text();
    format!(
        "L={lock}; \
         if {read} | grep -qxF {theirs}; then rm -f -- \"$L/owner\" && rmdir -- \"$L\"; \
         else echo 'the lock changed hands meanwhile' >&2; exit 1; fi"
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("the ensemble is locked by another console: {holder} (lock {path} on {host}); one console drives an ensemble at a time: wait for it, resume that session with --resume LOG, or, if it is gone for good, run again with --break-lock REASON")]
    Held {
        host: String,
        path: String,
        holder: String,
        owner: LockOwner,
    },
    #[error("cannot take the ensemble lock on {host} ({path}): {why}; nothing was run: fix the host or its `lock:` in the inventory")]
    Failed {
        host: String,
        path: String,
        why: String,
    },
}

/// A lock broken with `--break-lock`: whose it was, to be recorded in both logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub host: String,
    pub holder: LockOwner,
}

/// The lock this console holds on every host of the inventory.
pub struct EnsembleLock {
    hosts: Vec<(SshTarget, String)>,
    session: String,
    connections: Arc<Connections>,
}

impl EnsembleLock {
    /// Takes the lock on every host, in the order of their names. A host held by another
    /// session refuses (and what was taken is given back), unless `break_lock` allows breaking
    /// it: then every broken holder is returned with the lock.
    pub async fn take(
        inventory: &Inventory,
        owner: &LockOwner,
        break_lock: bool,
        connections: Arc<Connections>,
    ) -> Result<(EnsembleLock, Vec<Broken>), LockError> {
        let mut hosts: Vec<&Host> = inventory.hosts.iter().collect();
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        let mut lock = EnsembleLock {
            hosts: Vec::new(),
            session: owner.session.clone(),
            connections,
        };
        let mut broken = Vec::new();
        for host in hosts {
            let target = SshTarget::from_inventory(inventory, host);
            let path = lock_path(host);
            let taken = match lock.take_one(&target, &path, owner).await {
                Err(LockError::Held { owner: holder, .. }) if break_lock => {
                    let broke = lock.run(&target, &break_script(&path, &holder)).await;
                    match broke {
                        Ok(_) => {
                            broken.push(Broken {
                                host: host.name.clone(),
                                holder,
                            });
                            lock.take_one(&target, &path, owner).await
                        }
                        Err(why) => Err(LockError::Failed {
                            host: host.name.clone(),
                            path: path.clone(),
                            why: format!("breaking it failed: {why}"),
                        }),
                    }
                }
                other => other,
            };
            match taken {
                Ok(()) => lock.hosts.push((target, path)),
                Err(held @ LockError::Held { .. }) => {
                    lock.release().await;
                    return Err(held);
                }
                Err(e) => {
                    lock.release().await;
                    return Err(e);
                }
            }
        }
        Ok((lock, broken))
    }

    async fn take_one(
        &self,
        target: &SshTarget,
        path: &str,
        owner: &LockOwner,
    ) -> Result<(), LockError> {
        let (outcome, lines) = self
            .connections
            .run_collected(target, &take_script(path, owner), None, LOCK_TIMEOUT)
            .await;
        let mut stdout = String::new();
        let mut stderr = String::new();
        for line in lines {
            let text = match line.stream {
                Stream::Stdout => &mut stdout,
                Stream::Stderr => &mut stderr,
            };
            text.push_str(&line.text);
            text.push('\n');
        }
        match outcome {
            Outcome::Exited { code: Some(0), .. } => Ok(()),
            Outcome::Exited {
                code: Some(HELD), ..
            } => {
                let owner = LockOwner::parse(&stdout);
                Err(LockError::Held {
                    host: target.host.clone(),
                    path: path.to_string(),
                    holder: owner.describe(),
                    owner,
                })
            }
            other => Err(LockError::Failed {
                host: target.host.clone(),
                path: path.to_string(),
                why: failure(&other, &stderr),
            }),
        }
    }

    async fn run(&self, target: &SshTarget, script: &str) -> Result<(), String> {
        run_script(&self.connections, target, script).await
    }

    /// Gives the lock back on every host where this session holds it, all hosts at once (only
    /// taking needs an order). Best effort: a host that cannot be reached keeps a stale lock,
    /// which names this session.
    pub async fn release(&mut self) {
        let mut releases = JoinSet::new();
        for (target, path) in std::mem::take(&mut self.hosts) {
            let connections = self.connections.clone();
            let script = release_script(&path, &self.session);
            releases.spawn(async move {
                let released = run_script(&connections, &target, &script).await;
                (target.host, path, released)
            });
        }
        while let Some(joined) = releases.join_next().await {
            if let Ok((host, path, Err(why))) = joined {
                tracing::warn!(%host, %path, "cannot release the ensemble lock: {why}");
            }
        }
    }
}

async fn run_script(
    connections: &Connections,
    target: &SshTarget,
    script: &str,
) -> Result<(), String> {
    let (outcome, lines) = connections
        .run_collected(target, script, None, LOCK_TIMEOUT)
        .await;
    let mut said = String::new();
    for line in lines {
        said.push_str(&line.text);
        said.push(' ');
    }
    if outcome.succeeded() {
        Ok(())
    } else {
        Err(failure(&outcome, said.trim()))
    }
}

fn failure(outcome: &Outcome, said: &str) -> String {
    let what = match outcome {
        Outcome::Exited { code, .. } => format!("exit {code:?}"),
        Outcome::NotRun(e) => e.to_string(),
        Outcome::Unknown { reason, .. } => reason.clone(),
    };
    // What a host printed is one clause of an error line: its line breaks must not start
    // lines of their own under zkpilot's name.
    let said = said.trim().replace(['\n', '\r'], " / ");
    if said.is_empty() {
        what
    } else {
        format!("{what}: {said}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::scratch_dir;

    fn owner() -> LockOwner {
        LockOwner {
            session: "ab".repeat(32),
            operator: "alice (uid 1000)".into(),
            console: "jump1".into(),
            pid: 4242,
            started: "2026-12-02T12:00:00.000Z".into(),
            log: "/home/alice/s.jsonl".into(),
        }
    }

    /// A lock script run for real by a local `sh`: its exit code, stdout and stderr.
    fn sh(script: String) -> (Option<i32>, String, String) {
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn the_owner_round_trips_and_names_the_holder() {
        let o = owner();
        assert_eq!(LockOwner::parse(&o.text()), o);
        let said = o.describe();
        assert!(
            said.starts_with(
                "session abababababababab of alice (uid 1000), console jump1 pid 4242"
            ),
            "{said}"
        );
        let forged = LockOwner {
            log: "x\nsession: other".into(),
            ..owner()
        };
        assert_eq!(LockOwner::parse(&forged.text()).session, o.session);
        assert!(LockOwner::parse("")
            .describe()
            .contains("taking it right now"));
    }

    #[test]
    fn the_default_lock_is_named_after_the_client_address() {
        let host: Host = serde_yaml::from_str(
            "{name: a, sid: 1, role: participant, client: '10.0.0.1:2181', peer: '10.0.0.1:2888:3888', ssh: zk@10.0.0.1, ssh_port: 22, commands: {}}",
        )
        .unwrap();
        assert_eq!(lock_path(&host), "/var/tmp/zkpilot-lock-10.0.0.1-2181");
        let with = Host {
            lock: Some("/srv/zk/zkpilot.lock".into()),
            ..host
        };
        assert_eq!(lock_path(&with), "/srv/zk/zkpilot.lock");
    }

    /// Two inventories spelling one server's client address differently meet at one lock
    /// (before, `127.77.1.1:2181` and `127.77.1.1:02181` got a lock each, and two consoles
    /// drove one ensemble).
    #[test]
    fn one_server_has_one_default_lock_however_its_address_is_spelt() {
        let path = |client: &str| {
            let host: Host = serde_yaml::from_str(&format!(
                "{{name: a, sid: 1, role: participant, client: '{client}', peer: '10.0.0.1:2888:3888', ssh: zk@10.0.0.1, ssh_port: 22, commands: {{}}}}"
            ))
            .unwrap();
            lock_path(&host)
        };
        for (one, other) in [
            ("127.77.1.1:2181", "127.77.1.1:02181"),
            ("[::1]:2181", "[0:0::1]:002181"),
            ("zk1.example.com:2181", "ZK1.Example.COM.:2181"),
        ] {
            assert_eq!(path(one), path(other), "{one} {other}");
        }
        assert_ne!(path("127.77.1.1:2181"), path("127.77.1.2:2181"));
        assert_eq!(path("[::1]:2181"), "/var/tmp/zkpilot-lock----1--2181");
    }

    /// The scripts run for real in a local shell: take, refuse another, take back, release.
    #[test]
    fn the_scripts_take_refuse_resume_and_release() {
        let dir = scratch_dir("lock-test");
        let path = dir.join("l").display().to_string();
        let sh = |script: String| {
            let (code, stdout, _) = sh(script);
            (code, stdout)
        };
        let mine = owner();
        let theirs = LockOwner {
            session: "cd".repeat(32),
            ..owner()
        };
        assert_eq!(sh(take_script(&path, &mine)), (Some(0), "taken\n".into()));
        let (code, said) = sh(take_script(&path, &theirs));
        assert_eq!(code, Some(HELD));
        assert_eq!(LockOwner::parse(&said), mine);
        assert_eq!(sh(take_script(&path, &mine)), (Some(0), "resumed\n".into()));
        assert_eq!(
            sh(release_script(&path, &theirs.session)).1,
            "not held by this session\n"
        );
        assert_eq!(sh(break_script(&path, &theirs)).0, Some(1));
        assert_eq!(
            sh(release_script(&path, &mine.session)),
            (Some(0), "released\n".into())
        );
        assert!(!std::path::Path::new(&path).exists());
        assert_eq!(sh(take_script(&path, &theirs)).0, Some(0));
        assert_eq!(sh(break_script(&path, &theirs)).0, Some(0));
        assert!(!std::path::Path::new(&path).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A lock directory no console could ever remove is said to be so, never "locked by another
    /// console": a parent that does not exist, a symbolic link in its place, a directory another
    /// user made (checked when the test runs as root, who can give it away); and an owner file
    /// is read only up to its cap.
    #[test]
    fn a_lock_no_console_could_remove_is_named_as_such() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch_dir("lock-odd");
        let at = |name: &str| dir.join(name).display().to_string();

        let (code, _, said) = sh(take_script(&at("missing/l"), &owner()));
        assert_eq!(code, Some(1), "{said}");
        assert!(
            said.contains("mkdir failed: ") && said.contains("No such file"),
            "{said}"
        );

        std::os::unix::fs::symlink(&dir, dir.join("link")).unwrap();
        let (code, _, said) = sh(take_script(&at("link"), &owner()));
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains("symbolic link"), "{said}");

        let open = at("open");
        assert_eq!(sh(take_script(&open, &owner())).0, Some(0));
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let (code, _, said) = sh(take_script(&open, &owner()));
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains("group or others can write"), "{said}");

        // A parent anyone can write without the sticky bit lets anyone rename the lock away.
        let open_parent = dir.join("open-parent");
        std::fs::create_dir(&open_parent).unwrap();
        std::fs::set_permissions(&open_parent, std::fs::Permissions::from_mode(0o777)).unwrap();
        let in_open = open_parent.join("l").display().to_string();
        let (code, _, said) = sh(take_script(&in_open, &owner()));
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains("no sticky bit"), "{said}");

        let huge = at("huge");
        std::fs::create_dir(&huge).unwrap();
        std::fs::write(dir.join("huge/owner"), "x".repeat(1 << 20)).unwrap();
        let (code, held, _) = sh(take_script(&huge, &owner()));
        assert_eq!((code, held.len()), (Some(HELD), OWNER_CAP));

        // What the host printed stays one clause of the error line.
        let exited = Outcome::Exited {
            code: Some(1),
            duration: Duration::ZERO,
        };
        assert_eq!(
            failure(&exited, "rmdir: busy\nzkpilot: forged\r"),
            "exit Some(1): rmdir: busy / zkpilot: forged"
        );

        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let foreign = at("foreign");
            std::fs::create_dir(&foreign).unwrap();
            std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).unwrap();
            let (code, _, said) = sh(take_script(&foreign, &owner()));
            assert_eq!(code, Some(1), "{said}");
            assert!(said.contains("another user made it"), "{said}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
