//! A real sandbox for integration tests: started through the real binary, always taken down
//! (also when the test fails), and four-letter words asked with plain std sockets so the
//! checks do not depend on zkpilot's own client.

#![allow(dead_code)] // each test binary (offline, live, tmux) uses its own part of this module

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_zkpilot");

pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn up(nodes: u8, observers: u8, spares: u8) -> Sandbox {
        Sandbox::up_with(nodes, observers, spares, &[])
    }

    /// `extra`: more `sandbox up` flags, such as `--reconfig`.
    pub fn up_with(nodes: u8, observers: u8, spares: u8, extra: &[&str]) -> Sandbox {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(test_name(COUNTER.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        let sandbox = Sandbox { dir };
        let (nodes, observers, spares) =
            (nodes.to_string(), observers.to_string(), spares.to_string());
        let mut args = vec![
            "sandbox",
            "up",
            "--dir",
            sandbox.dir.to_str().unwrap(),
            "--nodes",
            &nodes,
            "--observers",
            &observers,
            "--spare",
            &spares,
        ];
        args.extend_from_slice(extra);
        let output = zkpilot(&args);
        assert!(
            output.status.success(),
            "sandbox up failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        sandbox
    }

    pub fn dir_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// The start stamps in a host's server log, one per start of its server (ZooKeeper's own
    /// record of every start, whoever started it).
    pub fn starts(&self, host: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("hosts").join(host).join("zk.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("=== ")?.strip_suffix(" start"))
            .map(str::to_string)
            .collect()
    }

    /// The PID file's content of a host's server: changes whenever the server is started.
    pub fn pid(&self, host: &str) -> String {
        std::fs::read_to_string(self.dir.join("hosts").join(host).join("zk.pid"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Three voters, zk1 stopped and one of the other two leading: one more voter down and
    /// the quorum is lost.
    pub fn with_zk1_stopped() -> Sandbox {
        let sandbox = Sandbox::up(3, 0, 0);
        sandbox.stop("zk1");
        sandbox.wait_for_modes(&["zk2", "zk3"], Duration::from_secs(30), |m| {
            m.iter().any(|x| x == "leader")
        });
        sandbox
    }

    /// A host key no sandbox host has (`type base64`), made in the sandbox's directory as
    /// `name`: what an impostor in the middle would show.
    pub fn impostor_key(&self, name: &str) -> String {
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(self.dir.join(name))
            .status()
            .unwrap();
        assert!(made.success());
        let public = std::fs::read_to_string(self.dir.join(format!("{name}.pub"))).unwrap();
        let key: Vec<&str> = public.split_whitespace().take(2).collect();
        key.join(" ")
    }

    /// Stops `host`'s server with its own `zkctl`, as its user, and checks that it stopped.
    pub fn stop(&self, host: &str) {
        self.zkctl(host, "stop");
    }

    /// Runs `host`'s own `zkctl VERB` (`stop`, `start`, `restart`) as its user, as an
    /// operator would by hand, and checks that it succeeded.
    pub fn zkctl(&self, host: &str, verb: &str) {
        self.zkctl_args(host, &[verb]);
    }

    /// `host`'s own `zkctl` with a verb and its arguments (`set-servers LINE...`), as its user.
    pub fn zkctl_args(&self, host: &str, args: &[&str]) {
        let script = self.dir.join("hosts").join(host).join("zkctl");
        let user = format!("zkpilot-h{}", host.trim_start_matches("zk"));
        let out = Command::new("runuser")
            .args(["-u", &user, "--"])
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        assert_succeeded(&out);
    }

    /// Each host's mode as `srvr` says it now, in the order given.
    pub fn modes(&self, hosts: &[&str]) -> Vec<String> {
        hosts.iter().map(|h| mode(&self.client(h))).collect()
    }

    pub fn inventory_path(&self) -> PathBuf {
        self.dir.join("inventory.yaml")
    }

    pub fn client(&self, host: &str) -> String {
        let inventory = std::fs::read_to_string(self.inventory_path()).unwrap();
        let mut in_host = false;
        for line in inventory.lines() {
            if let Some(name) = line.strip_prefix("- name: ") {
                in_host = name.trim() == host;
            } else if in_host {
                if let Some(client) = line.trim().strip_prefix("client: ") {
                    return client.trim().to_string();
                }
            }
        }
        panic!("no host {host} in the inventory");
    }

    /// Runs `ssh` the way an operator would: the sandbox key, its known_hosts, strict checking.
    pub fn ssh(&self, user_at_host: &str, command: &str) -> Output {
        let ssh = self.dir.join("ssh");
        Command::new("ssh")
            .arg("-i")
            .arg(ssh.join("id_ed25519"))
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                ssh.join("known_hosts").display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-p",
                "2222",
                user_at_host,
                command,
            ])
            .output()
            .unwrap()
    }

    /// Those of `hosts` whose server says it is in mode `wanted` now.
    pub fn in_mode<'a>(&self, hosts: &[&'a str], wanted: &str) -> Vec<&'a str> {
        hosts
            .iter()
            .copied()
            .filter(|h| mode(&self.client(h)) == wanted)
            .collect()
    }

    /// Moves the leadership away from `old` by hand: stopped until another of `hosts` leads,
    /// then started again. A quick restart could let `old`, with the largest id among equal
    /// zxids, win the election again, and nothing would move.
    pub fn move_leader_by_hand(&self, hosts: &[&str], old: &str) {
        self.zkctl(old, "stop");
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.in_mode(hosts, "leader").is_empty() {
            assert!(Instant::now() < deadline, "no other server led");
            std::thread::sleep(Duration::from_millis(200));
        }
        self.zkctl(old, "start");
    }

    /// Polls `srvr` until `done` holds for the modes of `hosts`, or panics at the deadline.
    pub fn wait_for_modes(
        &self,
        hosts: &[&str],
        limit: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let clients: Vec<String> = hosts.iter().map(|h| self.client(h)).collect();
        loop {
            let modes: Vec<String> = clients.iter().map(|c| mode(c)).collect();
            if done(&modes) {
                return modes;
            }
            assert!(Instant::now() < deadline, "modes never settled: {modes:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let output = zkpilot(&["sandbox", "down", "--dir", self.dir_str()]);
        if !output.status.success() {
            eprintln!(
                "sandbox down failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        } else if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn zkpilot(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// How many of `modes` are `mode`.
pub fn count(modes: &[String], mode: &str) -> usize {
    modes.iter().filter(|m| *m == mode).count()
}

/// A process's output as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails unless the process exited with `code`, showing all it said.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
}

/// One four-letter word over a plain socket.
pub fn ask(addr: &str, word: &str) -> Option<String> {
    let addr = addr.parse().ok()?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(word.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// The `Mode:` a server reports, `not serving`, or `down`.
pub fn mode(addr: &str) -> String {
    match ask(addr, "srvr") {
        None => "down".into(),
        Some(a) if a.contains("not currently serving") => "not serving".into(),
        Some(a) => a
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .unwrap_or("unknown")
            .to_string(),
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

pub mod handbuilt;
pub mod rehearsal;
pub mod stock;
pub mod tmux;
pub mod world;
pub mod zk_client;

/// Runs the binary with a deadline, so a hung run fails the test instead of hanging it.
pub fn run_bin<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S], limit: Duration) -> Output {
    let mut child = spawn_bin(args);
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("zkpilot {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// The binary started with `args`, its output piped, for a test that acts while it runs.
pub fn spawn_bin<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Child {
    Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The records of a log that may not exist yet, or end in a line being written.
pub fn audit_records_if_any(audit: &Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(audit) {
        Ok(text) => text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits while `child` runs until a record of `audit` matches `found`, or panics at the
/// deadline or if the run ends first.
pub fn wait_for_record(
    child: &mut std::process::Child,
    audit: &Path,
    limit: Duration,
    what: &str,
    found: impl Fn(&serde_json::Value) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        // Whether it ended is asked before the log is read: a run that records it and ends
        // between the two is not taken for one that ended first.
        let ended = child.try_wait().unwrap().is_some();
        if audit_records_if_any(audit).iter().any(&found) {
            return;
        }
        assert!(!ended, "the run ended before {what}");
        assert!(Instant::now() < deadline, "never recorded: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `zkpilot` started with `args`, once its log `audit` holds the record `found` looks for
/// (`what`, in words), within `limit`: for a test that acts at that moment of the run.
pub fn spawned_until(
    args: &[String],
    audit: &Path,
    limit: Duration,
    what: &str,
    found: impl Fn(&serde_json::Value) -> bool,
) -> std::process::Child {
    let mut run = spawn_bin(args);
    wait_for_record(&mut run, audit, limit, what, found);
    run
}

/// `zkpilot run RUNBOOK --autopilot --yes` on the sandbox, whose first step `until-moved`
/// waits until `old`, the leader of the start, leads no more: once it waits, the leadership
/// is moved by hand (`Sandbox::move_leader_by_hand`). Returns the run's arguments (to resume
/// it) and its output, once it ended within `limit`.
pub fn autopilot_through_a_leader_move(
    sandbox: &Sandbox,
    hosts: &[&str],
    old: &str,
    runbook: &Path,
    audit: &Path,
    limit: Duration,
) -> (Vec<String>, Output) {
    let args = autopilot_args(&sandbox.inventory_path(), runbook, audit, &["--yes"]);
    let mut run = spawned_until(
        &args,
        audit,
        Duration::from_secs(120),
        "the wait for the move",
        |r| r["kind"] == "step" && r["step"] == "until-moved" && r["state"] == "waiting",
    );
    sandbox.move_leader_by_hand(hosts, old);
    let deadline = Instant::now() + limit;
    while run.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the run did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
    (args, run.wait_with_output().unwrap())
}

/// The autopilot run of `args` (`autopilot_args`) resumed from its log with `--resume`, which
/// must finish the runbook; its output.
pub fn resumed_to_the_end(args: &[String]) -> Output {
    let mut args = args.to_vec();
    let at = args.iter().position(|a| a == "--audit").unwrap();
    args[at] = "--resume".into();
    let out = run_bin(&args, Duration::from_secs(240));
    assert_exit(&out, 0);
    out
}

/// `zkpilot run RUNBOOK --autopilot` on the sandbox, its audit log in the sandbox dir.
pub fn autopilot(sandbox: &Sandbox, runbook: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let stem = runbook.file_stem().unwrap().to_str().unwrap();
    let audit = sandbox.dir.join(format!("audit-{stem}.jsonl"));
    let out = autopilot_on(&sandbox.inventory_path(), runbook, &audit, extra);
    (out, audit)
}

/// `zkpilot run RUNBOOK --autopilot` on `inventory`, polling every 500 ms, logging to `audit`.
pub fn autopilot_on(inventory: &Path, runbook: &Path, audit: &Path, extra: &[&str]) -> Output {
    run_bin(
        &autopilot_args(inventory, runbook, audit, extra),
        Duration::from_secs(240),
    )
}

/// The arguments of `zkpilot run RUNBOOK --autopilot` on `inventory`, polling every 500 ms,
/// logging to `audit`, then `extra`: for a test that acts while the run goes on (`spawn_bin`).
pub fn autopilot_args(
    inventory: &Path,
    runbook: &Path,
    audit: &Path,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        path_str(runbook),
        "--inventory",
        path_str(inventory),
        "--autopilot",
        "--interval",
        "500ms",
        "--audit",
        path_str(audit),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// `zkpilot-test-<run>-<pid>-<n>`: the name of a sandbox, lab or tmux server a test starts, which
/// the processes it runs carry in their arguments. `<run>` is scripts/test's `ZKPILOT_TEST_RUN`,
/// so its leftover check finds this run's processes and not another run's on the same machine.
pub fn test_name(n: impl std::fmt::Display) -> String {
    let run = std::env::var("ZKPILOT_TEST_RUN").unwrap_or_else(|_| "0".into());
    format!("zkpilot-test-{run}-{}-{n}", std::process::id())
}

/// An empty directory of this test's own under the system's temporary one, named
/// `zkpilot-<name>-<pid>`, emptied first if an earlier run left it.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zkpilot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A project file by its path from the repository root.
pub fn project_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn audit_records(audit: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A command's output that must show success; its stderr says why not.
pub fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `zkpilot plan` of the rolling restart accepts `inventory` as it is.
pub fn assert_plan_accepts(inventory: &Path) {
    let runbook = project_file("runbooks/rolling-restart.yaml");
    let plan = run_bin(
        &[
            "plan",
            path_str(&runbook),
            "--inventory",
            path_str(inventory),
        ],
        Duration::from_secs(60),
    );
    assert!(
        plan.status.success(),
        "{}\n{}",
        text(&plan.stdout),
        text(&plan.stderr)
    );
}

pub fn assert_audit_verifies(audit: &Path) {
    let out = Command::new(BIN)
        .args(["audit", "verify", audit.to_str().unwrap()])
        .output()
        .unwrap();
    assert_succeeded(&out);
}

/// The hash of a log's `session_start` record (line 2): the session's id in its locks.
pub fn session_id(audit: &Path) -> String {
    let text = std::fs::read_to_string(audit).unwrap();
    let line = text.lines().nth(1).unwrap();
    zkpilot::audit::RecordHash::of_line(line.as_bytes()).to_string()
}
