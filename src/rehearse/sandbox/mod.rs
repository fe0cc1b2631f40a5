//! Adapter: a real ZooKeeper ensemble and a real sshd on this machine, for demos, rehearsals and
//! tests. Every host is a loopback address of its own (`127.77.SLOT.N`) with its own Unix user,
//! data directory and control script; one private sshd serves them all; an nftables table of
//! the sandbox's own holds any firewall rules that cut hosts apart.

pub mod process;

pub use zkpilot_core::rehearse::sandbox::{layout, render};

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::inventory::HostRole;
use crate::net::wire;
use layout::{HostPlan, Layout, CLIENT_PORT, DYNAMIC_CFG, SSH_PORT};

pub use process::processes_mentioning;

/// Where sandboxes claim their address slot, so concurrent sandboxes never share an address.
const SLOT_DIR: &str = "/run/zkpilot-sandbox";
const STATE_FILE: &str = "sandbox.json";
const MAX_HOSTS: usize = 40;
const ELECTION_DEADLINE: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{what} not found: install it with `{install}`")]
    Missing {
        what: &'static str,
        install: &'static str,
    },
    #[error("zkpilot sandbox needs root (it creates per-host users, a private sshd and nftables rules): run it with sudo")]
    NotRoot,
    #[error("{0}")]
    Invalid(String),
    #[error(
        "a sandbox already runs in {0}: take it down first with `zkpilot sandbox down --dir {0}`"
    )]
    AlreadyUp(String),
    #[error("no sandbox in {0} (no {STATE_FILE}): start one with `zkpilot sandbox up --dir {0}`")]
    NotUp(String),
    #[error("every address slot 127.77.1-254.x is taken: take a sandbox down first")]
    NoSlot,
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("no leader within {seconds} s; last server log lines:\n{logs}")]
    NoLeader { seconds: u64, logs: String },
}

fn file_error(path: &Path, error: impl std::fmt::Display) -> SandboxError {
    SandboxError::File {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

/// What `down` and `status` need to find everything `up` made.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SandboxState {
    slot: u8,
    voters: u8,
    observers: u8,
    spares: u8,
    sshd_pid: Option<i32>,
    /// The sshds beyond the first, for sandboxes of more than 16 hosts.
    #[serde(default)]
    more_sshd_pids: Vec<i32>,
    nft_table: Option<String>,
    #[serde(default)]
    dynamic_reconfig: bool,
    #[serde(default)]
    services: bool,
    #[serde(default = "every_word")]
    whitelist: String,
    #[serde(default)]
    admin: bool,
}

fn every_word() -> String {
    "*".into()
}

impl SandboxState {
    fn layout(&self, dir: &Path) -> Layout {
        Layout::new(
            dir.to_path_buf(),
            self.slot,
            self.voters,
            self.observers,
            self.spares,
        )
        .with_dynamic_reconfig(self.dynamic_reconfig)
        .with_services(self.services)
        .with_whitelist(&self.whitelist)
        .with_admin(self.admin)
    }
}

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub voters: u8,
    pub observers: u8,
    pub spares: u8,
    /// Servers keep their server lines in a dynamic config file and accept `reconfig` (3.5+).
    pub dynamic_reconfig: bool,
    /// A stand-in Kubernetes service (an nftables DNAT address) made ready in front of every
    /// started host, each host on peer ports of its own.
    pub services: bool,
    /// `4lw.commands.whitelist`; `None` allows every word.
    pub whitelist: Option<String>,
    /// Each server's AdminServer on its host's address, port 8080.
    pub admin: bool,
}

#[derive(Debug, Clone)]
pub struct HostStatus {
    pub name: String,
    pub role: HostRole,
    pub client: String,
    pub pid: Option<i32>,
    /// The `Mode:` of `srvr`, or what stood in its place (refused, not serving…).
    pub mode: String,
}

/// Starts the sandbox and returns once a leader is elected. On any failure everything started
/// so far is stopped again.
pub async fn up(dir: &Path, options: UpOptions) -> Result<Vec<HostStatus>, SandboxError> {
    // What the operator gave is judged before the machine: a bad flag value is bad input
    // whether or not this runs as root with every package installed.
    let total =
        usize::from(options.voters) + usize::from(options.observers) + usize::from(options.spares);
    if options.voters == 0 {
        return Err(SandboxError::Invalid("--nodes must be at least 1".into()));
    }
    if total > MAX_HOSTS {
        return Err(SandboxError::Invalid(format!(
            "at most {MAX_HOSTS} hosts in one sandbox (asked for {total})"
        )));
    }
    let whitelist = options.whitelist.clone().unwrap_or_else(every_word);
    if !layout::valid_whitelist(&whitelist) {
        return Err(SandboxError::Invalid(format!(
            "--whitelist {whitelist:?}: give `*` or four-letter words separated by commas, like srvr,ruok"
        )));
    }
    preflight()?;
    fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let dir = fs::canonicalize(dir).map_err(|e| file_error(dir, e))?;
    if dir.join(STATE_FILE).exists() {
        return Err(SandboxError::AlreadyUp(dir.display().to_string()));
    }
    // Another user's directory (a lab's name in /tmp made ahead of it) would let them plant
    // files there for root to act on.
    let meta = fs::metadata(&dir).map_err(|e| file_error(&dir, e))?;
    owned_here(&dir, &meta)?;
    // Host users must reach their own directories below DIR.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .map_err(|e| file_error(&dir, e))?;

    // The state file is written under the lock: until it exists, another `up` would take the
    // fresh claim for a stale one.
    let mut state = {
        let _lock = GlobalLock::take()?;
        let slot = claim_slot(&dir)?;
        let layout = Layout::new(
            dir.clone(),
            slot,
            options.voters,
            options.observers,
            options.spares,
        )
        .with_dynamic_reconfig(options.dynamic_reconfig)
        .with_services(options.services)
        .with_whitelist(&whitelist)
        .with_admin(options.admin);
        for host in &layout.hosts {
            ensure_user(&host.user)?;
        }
        let state = SandboxState {
            slot,
            voters: options.voters,
            observers: options.observers,
            spares: options.spares,
            sshd_pid: None,
            more_sshd_pids: Vec::new(),
            nft_table: None,
            dynamic_reconfig: options.dynamic_reconfig,
            services: options.services,
            whitelist,
            admin: options.admin,
        };
        write_state(&dir, &state)?;
        state
    };
    let result = match start_everything(&dir, &mut state).await {
        Ok(statuses) => write_inventory(&dir).await.map(|_| statuses),
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        tracing::warn!(dir = %dir.display(), "sandbox up failed, taking it down again: {e}");
        let _ = down(&dir);
    }
    result
}

async fn start_everything(
    dir: &Path,
    state: &mut SandboxState,
) -> Result<Vec<HostStatus>, SandboxError> {
    let layout = state.layout(dir);
    write_ssh_files(&layout)?;
    for host in &layout.hosts {
        write_host_files(&layout, host)?;
    }
    let table = nft_table_name(layout.slot);
    run(Command::new("nft").args(["add", "table", "inet", &table]))?;
    state.nft_table = Some(table.clone());
    write_state(dir, state)?;
    run(Command::new("nft").args([
        "add",
        "chain",
        "inet",
        &table,
        "out",
        "{ type filter hook output priority 0; policy accept; }",
    ]))?;
    if layout.services {
        // Output NAT runs before the filter chain, so partition rules see the real host.
        run(Command::new("nft").args([
            "add",
            "chain",
            "inet",
            &table,
            "svc",
            "{ type nat hook output priority -100; policy accept; }",
        ]))?;
    }
    install_firewall(&layout, &table)?;

    state.sshd_pid = Some(start_sshd(&layout, 0)?);
    write_state(dir, state)?;
    for index in 1..layout.hosts.len().div_ceil(layout::HOSTS_PER_SSHD) {
        state.more_sshd_pids.push(start_sshd(&layout, index)?);
        write_state(dir, state)?;
    }
    wait_for_port(
        &format!("{}:{SSH_PORT}", layout.address(&layout.hosts[0])),
        Duration::from_secs(10),
    )
    .await
    .map_err(|_| SandboxError::Command {
        command: "sshd".into(),
        message: format!(
            "not listening on port {SSH_PORT} after 10 s; see {}",
            layout.ssh_dir().join("sshd.log").display()
        ),
    })?;

    let starts = layout.started_hosts().map(|host| {
        let script = layout.host_dir(host).join("zkctl");
        let mut command = tokio::process::Command::new("runuser");
        command
            .args(["-u", &host.user, "--"])
            .arg(&script)
            .arg("start");
        async move {
            judged(
                format!("{} start", script.display()),
                command.output().await,
            )
        }
    });
    for result in futures_join_all(starts).await {
        result?;
    }
    wait_for_leader(&layout).await
}

/// Runs the futures concurrently and keeps their order; tokio has no `join_all` of its own.
async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(result) = handle.await {
            results.push(result);
        }
    }
    results
}

fn preflight() -> Result<(), SandboxError> {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Err(SandboxError::NotRoot);
    }
    let checks: [(&str, &'static str, &'static str); 7] = [
        (
            "/usr/share/java/zookeeper.jar",
            "ZooKeeper jars",
            "apt-get install -y zookeeper",
        ),
        (
            "/usr/sbin/sshd",
            "sshd",
            "apt-get install -y openssh-server",
        ),
        (
            "/usr/bin/ssh-keygen",
            "ssh-keygen",
            "apt-get install -y openssh-client",
        ),
        ("/usr/sbin/nft", "nft", "apt-get install -y nftables"),
        (
            "/usr/sbin/runuser",
            "runuser",
            "apt-get install -y util-linux",
        ),
        ("/usr/sbin/useradd", "useradd", "apt-get install -y passwd"),
        ("/usr/bin/sudo", "sudo", "apt-get install -y sudo"),
    ];
    for (path, what, install) in checks {
        if !Path::new(path).exists() {
            return Err(SandboxError::Missing { what, install });
        }
    }
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !java.is_ok_and(|s| s.success()) {
        return Err(SandboxError::Missing {
            what: "java",
            install: "apt-get install -y default-jre-headless",
        });
    }
    Ok(())
}

/// An exclusive lock over slot claims and user creation, held while the file stays open.
struct GlobalLock {
    _held: fs::File,
}

impl GlobalLock {
    fn take() -> Result<GlobalLock, SandboxError> {
        fs::create_dir_all(SLOT_DIR).map_err(|e| file_error(Path::new(SLOT_DIR), e))?;
        let path = Path::new(SLOT_DIR).join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| file_error(&path, e))?;
        // `File::lock` is flock(2) with LOCK_EX: it blocks until the lock is ours.
        file.lock().map_err(|e| file_error(&path, e))?;
        Ok(GlobalLock { _held: file })
    }
}

/// Takes the first free slot. A slot is free when no file claims it, or when the sandbox that
/// claimed it is gone (its directory no longer holds a state file naming that slot).
fn claim_slot(dir: &Path) -> Result<u8, SandboxError> {
    for slot in 1..=254u8 {
        let claim = Path::new(SLOT_DIR).join(slot.to_string());
        if let Ok(owner) = fs::read_to_string(&claim) {
            let owner = PathBuf::from(owner.trim());
            let still_used = read_state(&owner).is_ok_and(|state| state.slot == slot);
            if still_used {
                continue;
            }
        }
        fs::write(&claim, dir.display().to_string()).map_err(|e| file_error(&claim, e))?;
        return Ok(slot);
    }
    Err(SandboxError::NoSlot)
}

fn release_slot(dir: &Path, slot: u8) {
    let claim = Path::new(SLOT_DIR).join(slot.to_string());
    if fs::read_to_string(&claim).is_ok_and(|owner| Path::new(owner.trim()) == dir) {
        let _ = fs::remove_file(claim);
    }
}

/// Host users are shared by every sandbox (host N is always `zkpilot-hN`): firewall rules
/// match a user *and* a destination address of one sandbox, so sandboxes never affect each other.
fn ensure_user(user: &str) -> Result<(), SandboxError> {
    let exists = Command::new("id")
        .arg("-u")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        run(Command::new("useradd").args([
            "--system",
            "--no-create-home",
            "--home-dir",
            "/",
            "--shell",
            "/bin/sh",
            "--user-group",
            user,
        ]))?;
    }
    // '!' locks an account and sshd refuses even key logins to it; '*' only forbids passwords.
    run(Command::new("usermod").args(["-p", "*", user]))
}

fn write_ssh_files(layout: &Layout) -> Result<(), SandboxError> {
    let ssh = layout.ssh_dir();
    fs::create_dir_all(&ssh).map_err(|e| file_error(&ssh, e))?;
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o755))
        .map_err(|e| file_error(&ssh, e))?;
    for key in ["ssh_host_ed25519_key", "id_ed25519"] {
        let path = ssh.join(key);
        // A directory brought up before keeps its old keys; ssh-keygen would ask to overwrite.
        for old in [path.clone(), path.with_extension("pub")] {
            match fs::remove_file(&old) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(file_error(&old, e))
                }
                _ => {}
            }
        }
        run(Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "zkpilot-sandbox",
                "-f",
            ])
            .arg(&path))?;
    }
    let host_key = read(&ssh.join("ssh_host_ed25519_key.pub"))?;
    let client_key = read(&ssh.join("id_ed25519.pub"))?;
    write_file(&ssh.join("authorized_keys"), &client_key, 0o644)?;
    write_file(
        &ssh.join("known_hosts"),
        &render::known_hosts(layout, &host_key),
        0o644,
    )?;
    for (index, config) in render::sshd_configs(layout).iter().enumerate() {
        write_file(&ssh.join(layout::sshd_config_name(index)), config, 0o644)?;
    }
    write_file(
        &ssh.join("config"),
        &render::ssh_client_config(layout),
        0o644,
    )?;
    fs::create_dir_all("/run/sshd").map_err(|e| file_error(Path::new("/run/sshd"), e))
}

fn write_host_files(layout: &Layout, host: &HostPlan) -> Result<(), SandboxError> {
    let dir = layout.host_dir(host);
    let data = dir.join("data");
    fs::create_dir_all(&data).map_err(|e| file_error(&data, e))?;
    clear_lock(layout, host)?;
    write_file(&dir.join("zoo.cfg"), &render::zoo_cfg(layout, host), 0o644)?;
    if let Some(dynamic) = render::dynamic_cfg(layout, host) {
        write_file(&dir.join(DYNAMIC_CFG), &dynamic, 0o644)?;
    }
    write_file(
        &dir.join("zkctl"),
        &render::control_script(layout, host),
        0o755,
    )?;
    write_file(&data.join("myid"), &format!("{}\n", host.sid), 0o644)?;
    run(Command::new("chown")
        .args(["-R", &format!("{0}:{0}", host.user)])
        .arg(&dir))
}

/// The ensemble that comes up is new, so no console holds it yet: a lock left by a console
/// that drove an earlier sandbox in this directory and never released it (killed, or its
/// machine restarted) would refuse the next console for an ensemble it never drove. The lock
/// is a directory (`session::lock`); a symlink in its place is removed, never followed.
fn clear_lock(layout: &Layout, host: &HostPlan) -> Result<(), SandboxError> {
    let lock = layout.lock_file(host);
    let removed = match fs::symlink_metadata(&lock) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&lock),
        Ok(_) => fs::remove_file(&lock),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.map_err(|e| file_error(&lock, e))
}

fn start_sshd(layout: &Layout, index: usize) -> Result<i32, SandboxError> {
    let ssh = layout.ssh_dir();
    let child = Command::new("/usr/sbin/sshd")
        .arg("-D")
        .arg("-f")
        .arg(ssh.join(layout::sshd_config_name(index)))
        .arg("-E")
        .arg(ssh.join("sshd.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C in the terminal that ran `up` must not reach it.
        .process_group(0)
        .spawn()
        .map_err(|e| SandboxError::Command {
            command: "sshd".into(),
            message: e.to_string(),
        })?;
    Ok(child.id() as i32)
}

async fn wait_for_port(addr: &str, limit: Duration) -> Result<(), ()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(())
}

async fn wait_for_leader(layout: &Layout) -> Result<Vec<HostStatus>, SandboxError> {
    let deadline = Instant::now() + ELECTION_DEADLINE;
    loop {
        let statuses = host_statuses(layout).await;
        let voters: Vec<&HostStatus> = statuses
            .iter()
            .filter(|s| s.role == HostRole::Participant)
            .collect();
        let leaders = voters.iter().filter(|s| s.mode == "leader").count();
        let settled = voters
            .iter()
            .all(|s| matches!(s.mode.as_str(), "leader" | "follower" | "standalone"));
        if settled && (leaders == 1 || voters.len() == 1) {
            return Ok(statuses);
        }
        if Instant::now() >= deadline {
            return Err(SandboxError::NoLeader {
                seconds: ELECTION_DEADLINE.as_secs(),
                logs: log_tails(layout),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn log_tails(layout: &Layout) -> String {
    layout
        .started_hosts()
        .map(|host| {
            let log = fs::read_to_string(layout.host_dir(host).join("zk.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(8)..].join("\n");
            format!("--- {}\n{tail}", host.name)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn host_statuses(layout: &Layout) -> Vec<HostStatus> {
    let queries = layout.hosts.iter().map(|host| {
        let client = format!("{}:{CLIENT_PORT}", layout.address(host));
        let pid = process::live_pid(
            &layout.host_dir(host).join("zk.pid"),
            &zoo_cfg_needle(layout, host),
            &host.user,
        );
        let name = host.name.clone();
        let role = host.role;
        async move {
            let mode = match wire::ask(&client, "srvr", Duration::from_secs(2)).await {
                Ok(answer) => mode_of(&answer),
                Err(wire::WireError::Refused(_)) => "down".to_string(),
                Err(e) => format!("error: {e}"),
            };
            HostStatus {
                name,
                role,
                client,
                pid,
                mode,
            }
        }
    });
    futures_join_all(queries.collect::<Vec<_>>()).await
}

fn mode_of(srvr: &str) -> String {
    if srvr.contains("not currently serving requests") {
        return "not serving".into();
    }
    srvr.lines()
        .find_map(|l| l.strip_prefix("Mode:"))
        .map(|m| m.trim().to_string())
        .unwrap_or_else(|| "no answer".into())
}

fn zoo_cfg_needle(layout: &Layout, host: &HostPlan) -> String {
    format!(
        "QuorumPeerMain {}",
        layout.host_dir(host).join("zoo.cfg").display()
    )
}

pub async fn status(dir: &Path) -> Result<Vec<HostStatus>, SandboxError> {
    let dir = fs::canonicalize(dir).map_err(|e| file_error(dir, e))?;
    let state = read_state(&dir)?;
    Ok(host_statuses(&state.layout(&dir)).await)
}

/// What `down` stopped and removed.
#[derive(Debug, Default)]
pub struct DownReport {
    pub stopped: Vec<String>,
    pub left_running: Vec<i32>,
    pub was_up: bool,
}

/// Stops exactly what `up` started — each host's server by its PID file, the sshd by its PID —
/// and deletes the sandbox's nftables table. Harmless to run again.
pub fn down(dir: &Path) -> Result<DownReport, SandboxError> {
    let Ok(dir) = fs::canonicalize(dir) else {
        return Ok(DownReport::default());
    };
    let state = match read_state(&dir) {
        Ok(state) => state,
        Err(SandboxError::NotUp(_)) => return Ok(DownReport::default()),
        Err(e) => return Err(e),
    };
    let layout = state.layout(&dir);
    let mut report = DownReport {
        was_up: true,
        ..DownReport::default()
    };
    for host in &layout.hosts {
        let needle = zoo_cfg_needle(&layout, host);
        let pid_file = layout.host_dir(host).join("zk.pid");
        if let Some(pid) = process::live_pid(&pid_file, &needle, &host.user) {
            if process::stop(pid, &needle, Duration::from_secs(10)) {
                report.stopped.push(format!("{} (pid {pid})", host.name));
            } else {
                report.left_running.push(pid);
            }
        }
    }
    let sshds = state.sshd_pid.iter().chain(&state.more_sshd_pids);
    for (index, &pid) in sshds.enumerate() {
        let needle = layout
            .ssh_dir()
            .join(layout::sshd_config_name(index))
            .display()
            .to_string();
        if process::is_ours(pid, &needle) {
            if process::stop(pid, &needle, Duration::from_secs(5)) {
                report.stopped.push(format!("sshd (pid {pid})"));
            } else {
                report.left_running.push(pid);
            }
        }
    }
    // The table its slot names, whatever name the state file gives: only the sandbox's own.
    if state.nft_table.is_some() {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &nft_table_name(state.slot)])
            .stderr(Stdio::null())
            .status();
    }
    let _ = fs::remove_file(layout::sudoers_path(state.slot));
    let _ = fs::remove_file(layout::firewall_script_path(state.slot));
    if report.left_running.is_empty() {
        let state_path = dir.join(STATE_FILE);
        fs::remove_file(&state_path).map_err(|e| file_error(&state_path, e))?;
        release_slot(&dir, state.slot);
    }
    Ok(report)
}

/// Cuts the named groups of hosts apart, as a firewall between data centres would: a host of one
/// group can no longer open or keep a connection to a host of another. Hosts in no group keep
/// talking to everyone.
pub fn partition(dir: &Path, groups: &[Vec<String>]) -> Result<usize, SandboxError> {
    let dir = fs::canonicalize(dir).map_err(|e| file_error(dir, e))?;
    let state = read_state(&dir)?;
    let layout = state.layout(&dir);
    let table = state
        .nft_table
        .clone()
        .ok_or_else(|| SandboxError::Invalid("this sandbox has no firewall table".into()))?;
    let mut resolved: Vec<Vec<&HostPlan>> = Vec::new();
    for group in groups {
        let mut hosts = Vec::new();
        for name in group {
            let host = layout
                .hosts
                .iter()
                .find(|h| &h.name == name)
                .ok_or_else(|| {
                    SandboxError::Invalid(format!("no host named {name} in this sandbox"))
                })?;
            hosts.push(host);
        }
        resolved.push(hosts);
    }
    let mut rules = 0;
    for (i, from_group) in resolved.iter().enumerate() {
        for (j, to_group) in resolved.iter().enumerate() {
            if i == j {
                continue;
            }
            for from in from_group {
                for to in to_group {
                    let uid = user_id(&from.user)?;
                    run(Command::new("nft").args([
                        "add",
                        "rule",
                        "inet",
                        &table,
                        "out",
                        "meta",
                        "skuid",
                        &uid,
                        "ip",
                        "daddr",
                        &layout.address(to),
                        "meta",
                        "l4proto",
                        "tcp",
                        "reject",
                        "with",
                        "tcp",
                        "reset",
                    ]))?;
                    rules += 1;
                }
            }
        }
    }
    Ok(rules)
}

/// Removes every partition rule of the sandbox.
pub fn heal(dir: &Path) -> Result<(), SandboxError> {
    let dir = fs::canonicalize(dir).map_err(|e| file_error(dir, e))?;
    let state = read_state(&dir)?;
    match state.nft_table {
        Some(table) => run(Command::new("nft").args(["flush", "chain", "inet", &table, "out"])),
        None => Ok(()),
    }
}

/// The firewall script host users run through sudo (`zkctl block-peers`), and the sudoers rule
/// that allows exactly that. The rule is checked by visudo before sudo ever reads it.
fn install_firewall(layout: &Layout, table: &str) -> Result<(), SandboxError> {
    let mut uids = Vec::new();
    for host in &layout.hosts {
        let uid = user_id(&host.user)?;
        uids.push(uid.parse::<u32>().map_err(|_| SandboxError::Command {
            command: format!("id -u {}", host.user),
            message: format!("not a user id: `{uid}`"),
        })?);
    }
    let script = layout::firewall_script_path(layout.slot);
    write_file(
        &script,
        &render::firewall_script(layout, table, &uids),
        0o755,
    )?;
    let sudoers = layout::sudoers_path(layout.slot);
    let staged = sudoers.with_extension("new");
    write_file(&staged, &render::sudoers(layout), 0o440)?;
    if let Err(e) = run(Command::new("visudo").args(["-c", "-q", "-f"]).arg(&staged)) {
        let _ = fs::remove_file(&staged);
        return Err(e);
    }
    fs::rename(&staged, &sudoers).map_err(|e| file_error(&sudoers, e))
}

fn user_id(user: &str) -> Result<String, SandboxError> {
    let output = Command::new("id")
        .args(["-u", user])
        .output()
        .map_err(|e| SandboxError::Command {
            command: format!("id -u {user}"),
            message: e.to_string(),
        })?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn nft_table_name(slot: u8) -> String {
    format!("zkpilot_sandbox_{slot}")
}

fn read_state(dir: &Path) -> Result<SandboxState, SandboxError> {
    let path = dir.join(STATE_FILE);
    match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SandboxError::NotUp(dir.display().to_string()))
        }
        Err(e) => return Err(file_error(&path, e)),
        Ok(_) => {}
    }
    trusted(dir)?;
    trusted(&path)?;
    let text = fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
    serde_json::from_str(&text).map_err(|e| file_error(&path, e))
}

/// Refuses what belongs to neither root nor this user.
fn owned_here(path: &Path, meta: &fs::Metadata) -> Result<(), SandboxError> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid reads the process's effective uid and cannot fail.
    if meta.uid() != 0 && meta.uid() != unsafe { libc::geteuid() } {
        return Err(SandboxError::Invalid(format!(
            "{} belongs to uid {}: a sandbox's directory and state are root's own",
            path.display(),
            meta.uid()
        )));
    }
    Ok(())
}

/// A sandbox's directory and state file are what root acts on (processes stopped, firewall
/// tables and sudoers rules removed): only root's own, or this user's, and writable by
/// nobody else. One another user could write had `down` delete a firewall table its state
/// file named.
fn trusted(path: &Path) -> Result<(), SandboxError> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path).map_err(|e| file_error(path, e))?;
    if meta.file_type().is_symlink() {
        return Err(SandboxError::Invalid(format!(
            "{} is a link: a sandbox's directory and state are root's own",
            path.display()
        )));
    }
    owned_here(path, &meta)?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(SandboxError::Invalid(format!(
            "{} has mode {mode:04o}: group or others could rewrite it",
            path.display()
        )));
    }
    Ok(())
}

fn write_state(dir: &Path, state: &SandboxState) -> Result<(), SandboxError> {
    let path = dir.join(STATE_FILE);
    let text = serde_json::to_string_pretty(state).map_err(|e| file_error(&path, e))?;
    write_file(&path, &text, 0o644)
}

/// Writes through a temporary file and a rename, so a reader never sees half a file. A host
/// directory belongs to that host's user, who may have left anything at the temporary's
/// name: it is removed (a link is removed, never followed), the temporary created anew
/// without following a link, and its mode set on the open file. Opened by path, a link
/// planted there had root overwrite and chmod any file it pointed at.
fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), SandboxError> {
    let tmp = path.with_extension("tmp-zkpilot");
    if fs::symlink_metadata(&tmp).is_ok() {
        fs::remove_file(&tmp).map_err(|e| file_error(&tmp, e))?;
    }
    let mut file = fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| file_error(&tmp, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| file_error(&tmp, e))?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| file_error(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| file_error(path, e))
}

fn read(path: &Path) -> Result<String, SandboxError> {
    fs::read_to_string(path).map_err(|e| file_error(path, e))
}

fn run(command: &mut Command) -> Result<(), SandboxError> {
    let shown = format!("{command:?}").replace('"', "");
    judged(shown, command.output())
}

/// A finished command as a result: one that could not start, or exited with a failure, is an
/// error naming `command` with the reason (its stderr, trimmed).
fn judged(
    command: String,
    output: std::io::Result<std::process::Output>,
) -> Result<(), SandboxError> {
    match output {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(SandboxError::Command {
            command,
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }),
        Err(e) => Err(SandboxError::Command {
            command,
            message: e.to_string(),
        }),
    }
}

/// Writes the inventory once the servers have said which version they run.
async fn write_inventory(dir: &Path) -> Result<PathBuf, SandboxError> {
    let state = read_state(dir)?;
    let layout = state.layout(dir);
    let mut version = None;
    for host in layout.started_hosts() {
        let client = format!("{}:{CLIENT_PORT}", layout.address(host));
        if let Ok(answer) = wire::ask(&client, "srvr", Duration::from_secs(2)).await {
            version = answer
                .lines()
                .find_map(crate::zk::version::ZkVersion::parse)
                .map(|v| v.to_string());
            if version.is_some() {
                break;
            }
        }
    }
    let inventory = render::inventory(&layout, version);
    let path = dir.join("inventory.yaml");
    let text = serde_yaml::to_string(&inventory).map_err(|e| file_error(&path, e))?;
    write_file(
        &path,
        &format!("# Inventory of a zkpilot sandbox: the same shape as one for real hosts.\n{text}"),
        0o644,
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state file another user owns, or one others may write, is never acted on: `down`
    /// refuses it before anything is stopped or removed. `down` deleted the firewall table
    /// such a file named. Needs root, to give the file away (CI runs as root; elsewhere it
    /// says so and checks nothing).
    #[test]
    fn a_state_file_others_could_write_is_never_acted_on() {
        // SAFETY: geteuid reads the process's effective uid and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: cannot give a state file away, nothing checked");
            return;
        }
        let dir = crate::io::scratch_dir("sandbox-state");
        let state = dir.join(STATE_FILE);
        fs::write(&state, "{\"slot\": 77}").unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&state, Some(65_534), Some(65_534)).unwrap();
        let err = down(&dir).unwrap_err().to_string();
        assert!(err.contains("belongs to uid 65534"), "{err}");
        std::os::unix::fs::chown(&state, Some(0), Some(0)).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o666)).unwrap();
        let err = down(&dir).unwrap_err().to_string();
        assert!(err.contains("mode 0666"), "{err}");
        assert!(state.exists());
        let _ = fs::remove_dir_all(&dir);
    }

    /// A link a host's user left at the temporary's name is removed, not followed: the file
    /// it points at keeps its text and mode. Root followed it, overwrote the file and made it
    /// executable by all.
    #[test]
    fn a_link_planted_at_the_temporary_name_is_never_followed() {
        let dir = crate::io::scratch_dir("sandbox-write");
        let victim = dir.join("victim");
        fs::write(&victim, "SECRET").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        let target = dir.join("zkctl");
        std::os::unix::fs::symlink(&victim, target.with_extension("tmp-zkpilot")).unwrap();
        write_file(&target, "#!/bin/sh\n", 0o755).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "SECRET");
        let mode = fs::metadata(&victim).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_to_string(&target).unwrap(), "#!/bin/sh\n");
        assert!(!fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink());
        let _ = fs::remove_dir_all(&dir);
    }
}
