//! Pure: `zkpilot inventory discover` writes an inventory from one server's membership —
//! every server of its view with its sid, role, peer and client address — and the verbs of a
//! preset (how ZooKeeper is run on those hosts). The membership comes by whichever route the
//! server allows ([`Route`]): the 4lw `conf` (every server line, observers too), or, when the
//! 4lw whitelist refuses it (3.5.3+ allows only `srvr` by default), the AdminServer, which
//! ignores that whitelist: `/commands/voting_view` for the voters and the leader's
//! `/commands/observers` for the observers' ids (3.8 gives no observer's address over HTTP:
//! such an observer is named in a comment, for the operator to add). What is read from the server is written
//! plainly; what is guessed (a host's name, its client address, a preset's paths) carries a
//! `# guessed:` comment for the operator to check before relying on it. Each server's
//! AdminServer is probed where ZooKeeper puts it by default: an `admin:` that answered is
//! written with a `# probed:` comment, one that did not is a comment saying what was tried.
//!
//! Everything the server says is data, never text of the file: a server line may hide carriage
//! returns or escapes in a bracketed host, and YAML reads a carriage return as a line break, so
//! a raw one in a comment or value would let the server add keys (a `status` command that
//! `inventory check` runs over SSH) that `cat` on a terminal does not even show. Values are
//! written as YAML scalars with every control and invisible character escaped (`yaml_str`),
//! comments through the one escaping routine (`comment`); the inventory loader then refuses
//! such characters in any field, naming it.

use std::fmt::Write;

use crate::text::escape::sanitize;

use crate::ensemble::ADMIN_DEFAULT_PORT;
use crate::zk::admin::AdminConf;
use crate::zk::config::{PeerRole, ServerLine, View};
use crate::zk::fourlw::Conf;

use super::probe::{self, HostProbe};
use super::zoo_cfg::ZooCfg;

/// How the membership was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The 4lw `conf` of the server asked.
    FourLetterConf,
    /// The AdminServer at this `host:port`: `voting_view`, `configuration`, and the leader's
    /// `observers`.
    AdminServer { at: String },
    /// The config file of the server reached over SSH at `ssh` (`user@host` or an SSH config
    /// name): `path`, and the dynamic file it names, when it names one.
    ZooCfg {
        ssh: String,
        path: String,
        dynamic: Option<String>,
    },
}

/// One server's view of the ensemble and the settings the inventory needs from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub route: Route,
    pub view: View,
    /// The asked server's `clientPort`, the guess for a server whose own is unknown.
    pub client_port: Option<u16>,
    /// The asked server's data directory, the guess for a server whose own is unknown.
    pub data_dir: Option<String>,
    /// Observers the leader named whose addresses no answer of this route gave.
    pub unplaced_observers: Vec<u64>,
}

impl Membership {
    /// From a 4lw `conf` answer; `None` when it lists no server lines (a standalone server, or
    /// 3.4, whose `conf` ends at `peerType=`: `QuorumZooKeeperServer.dumpConf`).
    pub fn from_conf(conf: &Conf) -> Option<Membership> {
        Some(Membership {
            route: Route::FourLetterConf,
            view: conf.view()?.clone(),
            client_port: conf.client_port(),
            data_dir: conf.get("dataDir").map(str::to_string),
            unplaced_observers: Vec::new(),
        })
    }

    /// From the AdminServer at `at`: its `voting_view`, its own `configuration`, and the
    /// observers the leader's `/commands/observers` named (those already in the view, which
    /// a voting view never holds, are kept out).
    pub fn from_admin(at: &str, voters: View, conf: &AdminConf, observers: &[u64]) -> Membership {
        let unplaced_observers = observers
            .iter()
            .copied()
            .filter(|sid| voters.server(*sid).is_none())
            .collect();
        Membership {
            route: Route::AdminServer { at: at.to_string() },
            view: voters,
            client_port: conf.client_port,
            data_dir: conf.data_dir.clone(),
            unplaced_observers,
        }
    }

    /// From the config file `path` (and its dynamic file) of the server reached over SSH at
    /// `ssh`: every server line, observers too, and that server's own settings.
    pub fn from_zoo_cfg(ssh: &str, path: &str, dynamic: Option<&str>, cfg: &ZooCfg) -> Membership {
        Membership {
            route: Route::ZooCfg {
                ssh: ssh.to_string(),
                path: path.to_string(),
                dynamic: dynamic.map(str::to_string),
            },
            view: cfg.view.clone(),
            client_port: cfg.client_port,
            data_dir: cfg.snapshot_dir(),
            unplaced_observers: Vec::new(),
        }
    }

    fn said(&self, asked: &str) -> String {
        match &self.route {
            Route::ZooCfg { ssh, path, dynamic } => format!(
                "{path}{} read over SSH at {ssh}, since {asked} allows neither the 4lw conf nor \
                 an AdminServer answer",
                dynamic
                    .as_deref()
                    .map(|d| format!(" and its dynamic file {d}"))
                    .unwrap_or_default()
            ),
            Route::FourLetterConf => format!("{asked}'s conf (4lw)"),
            Route::AdminServer { at } => format!(
                "the AdminServer at {at} (/commands/voting_view: the voters; the leader's \
                 /commands/observers: the observers' ids), since {asked} does not allow the \
                 4lw conf"
            ),
        }
    }
}

/// How ZooKeeper runs on the hosts, which decides each verb's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preset {
    /// A systemd unit `zookeeper` (Debian's package and most distributions).
    Systemd,
    /// The Apache tarball's `bin/zkServer.sh` under this ZooKeeper home (a per-host template).
    ZkServerSh { home: String },
    /// A `zkpilot sandbox` in this directory: its hosts' `zkctl` scripts and SSH files.
    Sandbox { dir: String },
    /// The operator's own table (`--verbs FILE`): each verb's command, a per-host template
    /// whose placeholders are filled with shell-quoted values.
    Custom { verbs: Vec<(String, String)> },
}

/// One `Host NAME / HostName ADDRESS / User USER / Port PORT` block of an SSH client config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHost {
    pub name: String,
    pub address: String,
    pub user: Option<String>,
    /// Its own `Port`, which wins over the one for every host.
    pub port: Option<u16>,
}

/// The `Host` blocks with a `HostName`, and the `Port` for every host: one given before any
/// `Host` line or in a `Host *` block (the sandbox sets it there). A `Port` in a named block is
/// that host's alone. The reading follows ssh_config(5) where it can without a connection:
/// keys are case-insensitive and take `Key=Value` too; a `Host` line names several hosts, each
/// (but a pattern or a negation) an alias of that block; `%h` in a `HostName` is the alias;
/// a `Match` block belongs to no alias (its conditions need a connection to decide); and
/// `Include` reads the files `include` returns for its argument, in place, as ssh does, to a
/// depth of 16.
pub fn parse_ssh_config(
    text: &str,
    include: &dyn Fn(&str) -> Vec<String>,
) -> (Vec<SshHost>, Option<u16>) {
    let mut config = SshConfigReader::default();
    config.read(text, include, 0);
    config.close_block();
    (config.hosts, config.port)
}

/// Where ssh stops following `Include` (`READCONF_MAX_DEPTH` in OpenSSH's readconf.c).
const SSH_INCLUDE_DEPTH: usize = 16;

/// The block being read: the aliases a `Host` line named, or none (a `Match` block, a
/// pattern-only `Host` line) — and whether it applies to every host (`Host *`, or no block yet).
#[derive(Default)]
struct SshConfigReader {
    hosts: Vec<SshHost>,
    port: Option<u16>,
    block: Vec<SshHost>,
    every_host: bool,
    started: bool,
}

impl SshConfigReader {
    fn read(&mut self, text: &str, include: &dyn Fn(&str) -> Vec<String>, depth: usize) {
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let (key, rest) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
                Some((key, rest)) => (
                    key,
                    rest.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
                ),
                None => continue,
            };
            let mut words = rest.split_whitespace();
            let Some(value) = words.next() else {
                continue;
            };
            match key.to_ascii_lowercase().as_str() {
                "host" => {
                    self.close_block();
                    let names: Vec<&str> = std::iter::once(value).chain(words).collect();
                    self.every_host = names.contains(&"*");
                    self.block = names
                        .iter()
                        .filter(|name| !name.contains(['*', '?', '!']))
                        .map(|name| SshHost {
                            name: name.to_string(),
                            address: String::new(),
                            user: None,
                            port: None,
                        })
                        .collect();
                }
                "match" => {
                    self.close_block();
                    self.every_host = false;
                }
                "include" if depth < SSH_INCLUDE_DEPTH => {
                    for pattern in std::iter::once(value).chain(words) {
                        for text in include(pattern) {
                            self.read(&text, include, depth + 1);
                        }
                    }
                }
                "hostname" => {
                    for host in &mut self.block {
                        host.address = value.replace("%h", &host.name).replace("%%", "%");
                    }
                }
                "user" => {
                    for host in &mut self.block {
                        host.user.get_or_insert_with(|| value.to_string());
                    }
                }
                "port" => {
                    let port = value.parse().ok();
                    if !self.started || self.every_host {
                        self.port = self.port.or(port);
                    }
                    for host in &mut self.block {
                        host.port = host.port.or(port);
                    }
                }
                _ => {}
            }
        }
    }

    fn close_block(&mut self) {
        self.started = true;
        self.hosts
            .extend(self.block.drain(..).filter(|h| !h.address.is_empty()));
    }
}

/// Whether `name` matches an ssh_config(5) pattern of `*` (any run of characters) and `?` (any
/// one), as OpenSSH's `match_pattern` and the `glob(7)` its `Include` uses read them.
pub fn ssh_pattern_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), name.chars().collect());
    // Where the last `*` was and the name position it stands for so far: backtracking from
    // there is enough, so the match is linear in practice and never recursive.
    let (mut p, mut n, mut star) = (0, 0, None);
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((at, from)) => {
                    p = at + 1;
                    n = from + 1;
                    star = Some((at, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// What the discovery knows besides the `conf` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery<'a> {
    /// Where `conf` was asked: `host:port`.
    pub asked: &'a str,
    pub preset: Preset,
    /// The SSH user of the hosts (`--ssh-user`, a per-host template); a sandbox's come from its
    /// SSH config.
    pub ssh_user: Option<&'a str>,
    /// The version from `srvr`, e.g. `3.8.0`.
    pub version: Option<String>,
    /// A sandbox's SSH config, parsed.
    pub ssh_hosts: Vec<SshHost>,
    pub ssh_port: Option<u16>,
    /// The inventory's `ssh:` block for real hosts (`--ssh-identity`, `--ssh-known-hosts`,
    /// `--ssh-config`): each key (`identity`, `known_hosts`, `config`) and its path.
    pub ssh_files: Vec<(&'static str, String)>,
    /// What probing each server's AdminServer found, by server id; a server not listed was not
    /// probed.
    pub admins: Vec<(u64, AdminProbe)>,
    /// What the SSH probe read on each host, by server id; a server not listed was not probed.
    pub probes: Vec<(u64, HostProbe)>,
}

/// What probing a server's AdminServer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminProbe {
    /// ZooKeeper's AdminServer answered `/commands/configuration` at this `host:port`, with
    /// that server's own settings unless it is not serving.
    Answered { at: String, conf: Option<AdminConf> },
    /// Nothing there answered as one: why (refused, no answer in time, another HTTP server).
    Silent { at: String, why: String },
}

/// Where a server's AdminServer is probed: the address its peers dial it at, on ZooKeeper's
/// default `admin.serverPort`, since `admin.serverAddress` defaults to every address: both are
/// `JettyAdminServer`'s defaults (`DEFAULT_PORT = 8080`, `DEFAULT_ADDRESS = "0.0.0.0"`, read
/// from `zookeeper.admin.serverPort`/`serverAddress`; 3.5 on). Proven on the sandbox's real
/// servers by `tests/live/session.rs`.
pub fn admin_probe_address(server: &ServerLine) -> String {
    format!(
        "{}:{ADMIN_DEFAULT_PORT}",
        host_part(&server.primary_addr().host)
    )
}

/// The path each server's AdminServer is probed at: its own settings, so each host gets its
/// own client port and data directory rather than the asked server's.
pub const ADMIN_PROBE_PATH: &str = "/commands/configuration";

/// Reads the answer to `GET /commands/configuration` at `at` (its status and body, or why
/// there was none): only an answer ZooKeeper's AdminServer gives counts — port 8080 is a
/// common default of other HTTP servers too. A server without quorum answers with an error in
/// its JSON, and is an AdminServer all the same.
pub fn admin_probe(at: String, answer: Result<(u16, &str), String>) -> AdminProbe {
    match answer {
        Ok((status, body)) => match crate::zk::admin::parse_conf(status, body) {
            Ok(answer) => AdminProbe::Answered {
                at,
                conf: answer.data().cloned(),
            },
            Err(e) => AdminProbe::Silent {
                at,
                why: format!("an HTTP server answered, but not as ZooKeeper's AdminServer: {e}"),
            },
        },
        Err(why) => AdminProbe::Silent { at, why },
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoverError {
    #[error("{asked}: its conf has no clientPort (it serves only TLS clients): write the client addresses by hand")]
    NoClientPort { asked: String },
    #[error("give the SSH user of the hosts with --ssh-user USER")]
    NoSshUser,
}

/// Whether an inventory can be written for `membership` with what `discovery` knows (checked
/// before the SSH probe too, so no host is dialled for nothing): the asked server's
/// `clientPort`, the guess for a server whose own is unknown, and an SSH user for every host
/// its SSH config does not name with one.
pub fn writable(membership: &Membership, discovery: &Discovery) -> Result<u16, DiscoverError> {
    let client_port = membership
        .client_port
        .ok_or_else(|| DiscoverError::NoClientPort {
            asked: discovery.asked.to_string(),
        })?;
    let unnamed = membership.view.servers().iter().any(|server| {
        !discovery.ssh_hosts.iter().any(|h| {
            h.address.eq_ignore_ascii_case(&server.primary_addr().host) && h.user.is_some()
        })
    });
    if discovery.ssh_user.is_none() && unnamed && !sandbox(&discovery.preset) {
        return Err(DiscoverError::NoSshUser);
    }
    Ok(client_port)
}

/// The sandbox's verbs: every `zkctl` verb (see `sandbox::render::VERBS`).
const SANDBOX_VERBS: [&str; 19] = crate::rehearse::sandbox::render::VERBS;

/// The inventory text, YAML with comments where values were guessed.
pub fn inventory(membership: &Membership, discovery: &Discovery) -> Result<String, DiscoverError> {
    let view = &membership.view;
    let client_port = writable(membership, discovery)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n# Check every `# guessed:` value, then `zkpilot inventory check` this file.",
        comment(&format!(
            "Inventory discovered by `zkpilot inventory discover` from {}.",
            membership.said(discovery.asked)
        ))
    );
    for sid in &membership.unplaced_observers {
        let _ = writeln!(
            out,
            "{}",
            comment(&format!(
                "server {sid} is an observer (the leader's /commands/observers) whose address \
                 no AdminServer answer gives: add it from its zoo.cfg, or allow conf in \
                 4lw.commands.whitelist and discover again"
            ))
        );
    }
    let name = match &discovery.preset {
        Preset::Sandbox { dir } => format!("sandbox in {dir}"),
        _ => format!("discovered from {}", discovery.asked),
    };
    let _ = writeln!(out, "name: {}", yaml_str(&name));
    if let Some(version) = &discovery.version {
        let _ = writeln!(out, "zookeeper: {}", yaml_str(version));
    }
    let ssh_files = match &discovery.preset {
        Preset::Sandbox { dir } => vec![
            ("identity", format!("{dir}/ssh/id_ed25519")),
            ("known_hosts", format!("{dir}/ssh/known_hosts")),
            ("config", format!("{dir}/ssh/config")),
        ],
        _ => discovery
            .ssh_files
            .iter()
            .map(|(key, path)| (*key, path.clone()))
            .collect(),
    };
    if !ssh_files.is_empty() {
        out.push_str("ssh:\n");
        for (key, path) in ssh_files {
            let _ = writeln!(out, "  {key}: {}", yaml_str(&path));
        }
    }
    out.push_str("hosts:\n");
    for server in view.servers() {
        host(
            &mut out,
            server,
            client_port,
            membership.data_dir.as_deref(),
            discovery,
        );
    }
    Ok(out)
}

fn sandbox(preset: &Preset) -> bool {
    matches!(preset, Preset::Sandbox { .. })
}

/// One host as the inventory names it and reaches it over SSH.
struct Reach<'a> {
    name: String,
    /// The name came from the SSH config (else it is a guess from the sid).
    named: bool,
    values: HostValues<'a>,
    /// `user@host`.
    destination: String,
    /// From the SSH config or `--ssh-port`; `None`: SSH's default, a guess.
    port: Option<u16>,
}

fn reach<'a>(server: &'a ServerLine, discovery: &Discovery) -> Reach<'a> {
    let address = &server.primary_addr().host;
    let known = discovery.ssh_hosts.iter().find(|h| &h.address == address);
    let name = match known {
        Some(h) => h.name.clone(),
        None => format!("zk{}", server.sid),
    };
    let values = HostValues {
        sid: server.sid,
        name: name.clone(),
        addr: address,
    };
    let user = known
        .and_then(|h| h.user.clone())
        .or_else(|| discovery.ssh_user.map(|user| values.fill(user)))
        .unwrap_or_default();
    Reach {
        destination: format!("{user}@{}", host_part(address)),
        port: known.and_then(|h| h.port).or(discovery.ssh_port),
        named: known.is_some(),
        name,
        values,
    }
}

/// A host for the SSH probe to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub sid: u64,
    pub name: String,
    /// `user@host`.
    pub destination: String,
    pub port: u16,
    /// The programs of its verbs, in the order the probe's answer counts them.
    pub programs: Vec<String>,
}

/// Every server's host as the inventory will reach it, with the programs its verbs run.
pub fn probe_targets(membership: &Membership, discovery: &Discovery) -> Vec<ProbeTarget> {
    membership
        .view
        .servers()
        .iter()
        .map(|server| {
            let reach = reach(server, discovery);
            let (verbs, _, _) = verbs(&discovery.preset, &reach.name, &reach.values);
            ProbeTarget {
                sid: server.sid,
                programs: programs(&verbs),
                name: reach.name,
                destination: reach.destination,
                port: reach.port.unwrap_or(22),
            }
        })
        .collect()
}

/// The distinct programs of `verbs`, in order.
fn programs(verbs: &[(String, String)]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for program in verbs.iter().filter_map(|(_, c)| probe::program(c)) {
        if !found.iter().any(|p| p == program) {
            found.push(program.to_string());
        }
    }
    found
}

fn host(
    out: &mut String,
    server: &ServerLine,
    client_port: u16,
    data_dir: Option<&str>,
    discovery: &Discovery,
) {
    let address = &server.primary_addr().host;
    let reach = reach(server, discovery);
    let name = &reach.name;
    let _ = write!(out, "- name: {}", yaml_str(name));
    if !reach.named {
        out.push_str("  # guessed: from its server id; any unique name will do");
    }
    let role = match server.role {
        PeerRole::Participant => "participant",
        PeerRole::Observer => "observer",
    };
    let _ = writeln!(out, "\n  sid: {}\n  role: {role}", server.sid);
    let probe = discovery
        .admins
        .iter()
        .find(|(sid, _)| *sid == server.sid)
        .map(|(_, probe)| probe);
    // The server's own settings, when its AdminServer gave them (and they are its own).
    let own = match probe {
        Some(AdminProbe::Answered {
            conf: Some(conf), ..
        }) if conf.server_id == server.sid => Some(conf),
        _ => None,
    };
    let read = discovery
        .probes
        .iter()
        .find(|(sid, _)| *sid == server.sid)
        .map(|(_, probe)| probe);
    // Its own config file, when the SSH probe read it.
    let (cfg, why) = match read {
        Some(HostProbe::Read { cfg, .. }) => match cfg.as_ref() {
            Ok(cfg) => (Some(cfg), None),
            Err(why) => (None, Some(format!("its config not read over SSH: {why}"))),
        },
        Some(HostProbe::Failed(why)) => (None, Some(format!("probe over SSH failed: {why}"))),
        None => (None, None),
    };
    if let Some(why) = why {
        let _ = writeln!(out, "  {}", comment(&why));
    }
    let host = host_part(address);
    match (
        &server.client,
        cfg.and_then(|c| c.client_at(&host)),
        own.and_then(|c| c.client_port),
    ) {
        (Some(client), _, _) => {
            let _ = writeln!(
                out,
                "  client: {}",
                yaml_str(&client_address(client, address))
            );
        }
        (None, Some(client), _) => {
            let _ = writeln!(
                out,
                "  client: {}  # probed: its zoo.cfg (clientPort, and clientPortAddress when set)",
                yaml_str(&client)
            );
        }
        (None, None, Some(port)) => {
            let _ = writeln!(
                out,
                "  client: {}  # guessed: its peer host with the clientPort its AdminServer gave",
                yaml_str(&format!("{host}:{port}")),
            );
        }
        (None, None, None) => {
            let _ = writeln!(
                out,
                "  client: {}  {}",
                yaml_str(&format!("{host}:{client_port}")),
                comment(&format!(
                    "guessed: the peer address with {}'s clientPort",
                    discovery.asked
                ))
            );
        }
    }
    let _ = writeln!(
        out,
        "  peer: {}",
        yaml_str(&server.primary_addr().to_string())
    );
    admin_line(out, probe);
    let _ = writeln!(out, "  ssh: {}", yaml_str(&reach.destination));
    let _ = write!(out, "  ssh_port: {}", reach.port.unwrap_or(22));
    if reach.port.is_none() {
        out.push_str("  # guessed: the SSH default");
    }
    out.push('\n');
    let (mut verbs, guessed, lock) = verbs(&discovery.preset, name, &reach.values);
    let programs = programs(&verbs);
    let facts = match read {
        Some(HostProbe::Read { facts, .. }) => Some(facts),
        _ => None,
    };
    // What the probe read is written even where the preset or the verb table has no such verb.
    if let Some(facts) = facts {
        for (verb, found) in [("config", &facts.config_path), ("log", &facts.log_file)] {
            if found.is_some() && !verbs.iter().any(|(v, _)| v == verb) {
                verbs.push((verb.to_string(), String::new()));
            }
        }
    }
    // The server's own data directory (its config's, or its AdminServer's `data_dir`, its
    // `version-2`) needs no guess; the asked server's stands in for it otherwise, and says so.
    let snapshots = cfg.and_then(ZooCfg::snapshot_dir);
    let data_dir = match snapshots
        .as_deref()
        .or(own.and_then(|c| c.data_dir.as_deref()))
    {
        Some(dir) => Some((dir, None)),
        None => data_dir.map(|dir| {
            (
                dir,
                Some(format!("data-empty: {}'s dataDir", discovery.asked)),
            )
        }),
    };
    let mut said = match (facts, read) {
        // The probe checked each program instead.
        (Some(_), _) => None,
        (None, Some(_)) => Some(format!(
            "guessed: the probe could not check them on the host{}",
            guessed.map(|why| format!("; {why}")).unwrap_or_default()
        )),
        (None, None) => guessed.map(|why| format!("guessed: {why}")),
    };
    if let (false, Some((dir, guess))) = (sandbox(&discovery.preset), data_dir) {
        verbs.push((
            "data-empty".into(),
            format!(
                "test -z \"$(ls -A {} 2>/dev/null)\"",
                crate::text::shell::quote(dir)
            ),
        ));
        if let Some(guess) = guess {
            said = Some(match said {
                Some(said) => format!("{said}; {guess}"),
                None => format!("guessed: {guess}"),
            });
        }
    }
    let _ = write!(out, "  commands:");
    if let Some(said) = said {
        let _ = write!(out, "  {}", comment(&said));
    }
    out.push('\n');
    for (verb, command) in verbs {
        let (command, note) = match facts {
            Some(facts) => probed_verb(&verb, command, facts, &programs, discovery),
            None => (command, None),
        };
        let _ = write!(out, "    {verb}: {}", yaml_str(&command));
        if let Some(note) = note {
            let _ = write!(out, "  {}", comment(&note));
        }
        out.push('\n');
    }
    if let Some(lock) = lock {
        let _ = writeln!(out, "  lock: {}", yaml_str(&lock));
    }
}

/// A verb's command and its note once the probe has looked at the host: `config` and `log`
/// read what the running server uses, any other verb is a guess unless its program exists.
fn probed_verb(
    verb: &str,
    command: String,
    facts: &probe::HostFacts,
    programs: &[String],
    discovery: &Discovery,
) -> (String, Option<String>) {
    let quote = crate::text::shell::quote;
    match (verb, &facts.config_path, &facts.log_file) {
        ("config", Some(path), _) => {
            return (
                format!("cat -- {}", quote(path)),
                Some("probed: the config file its running server was started with".into()),
            )
        }
        ("log", _, Some(file)) => {
            return (
                format!("tail -n 40 -- {}", quote(file)),
                Some("probed: the log its running server writes".into()),
            )
        }
        ("data-empty", _, _) => return (command, None),
        _ => {}
    }
    let found = probe::program(&command)
        .and_then(|p| programs.iter().position(|q| q == p))
        .and_then(|i| facts.programs.get(i).copied())
        .unwrap_or(false);
    let systemd = matches!(discovery.preset, Preset::Systemd);
    let note = if !found {
        // What does exist there, when the probe saw it.
        let hint = if facts.systemd_unit && !systemd {
            " (a unit zookeeper.service is: --preset systemd)"
        } else {
            ""
        };
        Some(format!(
            "guessed: {} is not on the host{hint}",
            probe::program(&command).unwrap_or("its program")
        ))
    } else if systemd && !facts.systemd_unit {
        Some("guessed: no systemd unit zookeeper.service on the host".into())
    } else if verb == "config" || verb == "log" {
        Some("guessed: no running server to read it from".into())
    } else {
        None
    };
    (command, note)
}

fn admin_line(out: &mut String, probe: Option<&AdminProbe>) {
    match probe {
        Some(AdminProbe::Answered { at, .. }) => {
            let _ = writeln!(
                out,
                "  admin: {}  # probed: its AdminServer answered {ADMIN_PROBE_PATH} there",
                yaml_str(at)
            );
        }
        Some(AdminProbe::Silent { at, why }) => {
            // A multi-line reason reads better on one line; `comment` escapes the rest.
            let why = why.replace('\n', " ");
            let _ = writeln!(
                out,
                "  {}",
                comment(&format!(
                    "admin: none found: no AdminServer answered {ADMIN_PROBE_PATH} at {at} \
                     ({why}); without admin: zkpilot tries the client host's port 8080 and uses \
                     4lw; if the AdminServer runs elsewhere (admin.serverAddress, \
                     admin.serverPort), write admin: HOST:PORT here"
                ))
            );
        }
        None => {}
    }
}

/// The placeholders a per-host template (`--ssh-user`, `--dir`, a verb of `--verbs`) may hold.
pub const PLACEHOLDERS: [&str; 3] = ["{sid}", "{name}", "{addr}"];

/// One host's values for a template: `{sid}` its server id, `{name}` its inventory name,
/// `{addr}` its peer host.
struct HostValues<'a> {
    sid: u64,
    name: String,
    addr: &'a str,
}

impl HostValues<'_> {
    /// The template with the values as they are (a user name, a directory quoted later whole).
    fn fill(&self, template: &str) -> String {
        self.fill_with(template, str::to_string)
    }

    /// The template with each value as one shell word: a verb is a shell command, and the
    /// address comes from the server, which may put anything in it.
    fn fill_quoted(&self, template: &str) -> String {
        self.fill_with(template, crate::text::shell::quote)
    }

    fn fill_with(&self, template: &str, word: impl Fn(&str) -> String) -> String {
        template
            .replace("{sid}", &word(&self.sid.to_string()))
            .replace("{name}", &word(&self.name))
            .replace("{addr}", &word(self.addr))
    }
}

/// The first `{…}` of a template that is not one of [`PLACEHOLDERS`], so a typo is refused
/// rather than written into every host.
pub fn unknown_placeholder(template: &str) -> Option<&str> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let tail = &rest[start..];
        let end = tail.find('}').map_or(tail.len(), |e| e + 1);
        let word = &tail[..end];
        if !PLACEHOLDERS.contains(&word) {
            return Some(word);
        }
        rest = &tail[end..];
    }
    None
}

/// A `;client` part is `port` or `address:port`.
fn client_address(client: &str, address: &str) -> String {
    if client.contains(':') {
        client.to_string()
    } else {
        format!("{}:{client}", host_part(address))
    }
}

fn host_part(address: &str) -> String {
    if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_string()
    }
}

/// Each verb's command under a preset, why the commands are guesses (if they are), and the
/// lock directory when the preset has a place of its own for it.
/// `values` fills a per-host template.
fn verbs(
    preset: &Preset,
    name: &str,
    values: &HostValues,
) -> (Vec<(String, String)>, Option<String>, Option<String>) {
    let pairs = |list: &[(&str, String)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(v, c)| (v.to_string(), c.clone()))
            .collect()
    };
    match preset {
        Preset::Sandbox { dir } => {
            let host_dir = format!("{dir}/hosts/{name}");
            let zkctl = crate::text::shell::quote(&format!("{host_dir}/zkctl"));
            let verbs = SANDBOX_VERBS
                .iter()
                .map(|verb| (verb.to_string(), format!("{zkctl} {verb}")))
                .collect();
            (verbs, None, Some(format!("{host_dir}/zkpilot.lock")))
        }
        Preset::Systemd => (
            pairs(&[
                ("start", "sudo systemctl start zookeeper".into()),
                ("stop", "sudo systemctl stop zookeeper".into()),
                ("restart", "sudo systemctl restart zookeeper".into()),
                // LSB exit codes: 0 running, 3 stopped.
                (
                    "status",
                    "systemctl status zookeeper --no-pager --lines=0".into(),
                ),
                ("config", "cat /etc/zookeeper/conf/zoo.cfg".into()),
                ("log", "journalctl -u zookeeper -n 40 --no-pager".into()),
            ]),
            Some("a unit named `zookeeper` and Debian's /etc/zookeeper/conf".into()),
            None,
        ),
        Preset::Custom { verbs } => (
            verbs
                .iter()
                .map(|(verb, command)| (verb.clone(), values.fill_quoted(command)))
                .collect(),
            None,
            None,
        ),
        Preset::ZkServerSh { home } => {
            let home = values.fill(home);
            let script = crate::text::shell::quote(&format!("{home}/bin/zkServer.sh"));
            let conf = crate::text::shell::quote(&format!("{home}/conf/zoo.cfg"));
            let logs = crate::text::shell::quote(&format!("{home}/logs"));
            (
                pairs(&[
                    ("start", format!("{script} start")),
                    ("stop", format!("{script} stop")),
                    ("restart", format!("{script} restart")),
                    ("status", format!("{script} status")),
                    ("config", format!("cat {conf}")),
                    ("log", format!("tail -n 40 {logs}/zookeeper-*.out")),
                ]),
                Some(format!(
                    "the Apache tarball's layout under {home} (--dir), run as the SSH user"
                )),
                None,
            )
        }
    }
}

/// A YAML scalar: in single quotes (which escape nothing but `'` itself) when every character
/// is printable, else in double quotes with every control and invisible character escaped, so
/// the file holds no line break, escape or bidi control that the value brought.
fn yaml_str(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return format!("'{}'", text.replace('\'', "''"));
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // YAML 1.2 double-quoted escapes; every such character is in the BMP.
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    crate::inventory::hidden_in_a_field(c)
}

/// A YAML comment of one line: whatever it quotes is escaped by the one escaping routine, so
/// nothing in it ends the comment or reaches the terminal of whoever reads the file. That
/// routine leaves U+2028 and U+2029 alone (a terminal shows them as text), but YAML 1.1 reads
/// them as line breaks, so they are escaped here first.
fn comment(text: &str) -> String {
    let text = text
        .replace('\u{2028}', "\\u{2028}")
        .replace('\u{2029}', "\\u{2029}");
    format!("# {}", sanitize(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{HostRole, Inventory};
    use crate::zk::fourlw::{parse_conf, Answer};
    use std::path::Path;

    const CONF: &str = "clientPort=2181\nsecureClientPort=-1\ndataDir=/tmp/s/hosts/zk1/data/version-2\n\
        serverId=1\nelectionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \n\
        server.1=127.77.3.1:2888:3888:participant\nserver.2=127.77.3.2:2888:3888:participant\n\
        server.3=127.77.3.3:2888:3888:participant\nserver.4=127.77.3.4:2888:3888:observer\nversion=0\n";

    const SSH_CONFIG: &str = "# ssh client config of a zkpilot sandbox\nHost zk1\n  HostName 127.77.3.1\n  User zkpilot-h1\n\
        Host zk2\n  HostName 127.77.3.2\n  User zkpilot-h2\nHost zk3\n  HostName 127.77.3.3\n  User zkpilot-h3\n\
        Host *\n  Port 2222\n  IdentityFile /tmp/s/ssh/id_ed25519\n";

    fn conf() -> Membership {
        match parse_conf(CONF).unwrap() {
            Answer::Data(conf) => Membership::from_conf(&conf).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sandbox_inventory_names_hosts_from_its_ssh_config_and_parses() {
        let (ssh_hosts, ssh_port) = parse_ssh_config(SSH_CONFIG, &|_| Vec::new());
        assert_eq!(ssh_hosts.len(), 3);
        assert_eq!(ssh_port, Some(2222));
        let discovery = Discovery {
            asked: "127.77.3.1:2181",
            preset: Preset::Sandbox {
                dir: "/tmp/s".into(),
            },
            ssh_user: None,
            version: Some("3.8.0".into()),
            ssh_hosts,
            ssh_port,
            ssh_files: Vec::new(),
            admins: Vec::new(),
            probes: Vec::new(),
        };
        let text = inventory(&conf(), &discovery).unwrap();
        let inventory = Inventory::parse(&text, Path::new("d.yaml")).unwrap();
        assert_eq!(inventory.hosts.len(), 4);
        let zk2 = inventory.host("zk2").unwrap();
        assert_eq!(zk2.ssh, "zkpilot-h2@127.77.3.2");
        assert_eq!(zk2.client, "127.77.3.2:2181");
        assert_eq!(zk2.commands["restart"], "/tmp/s/hosts/zk2/zkctl restart");
        assert_eq!(zk2.lock.as_deref(), Some("/tmp/s/hosts/zk2/zkpilot.lock"));
        assert_eq!(inventory.host("zk4").unwrap().role, HostRole::Observer);
        assert_eq!(inventory.zookeeper.as_deref(), Some("3.8.0"));
        // zk4 is not in the SSH config: its name is a guess, and says so.
        assert!(
            text.contains("- name: 'zk4'  # guessed: from its server id"),
            "{text}"
        );
        assert!(
            text.contains("client: '127.77.3.1:2181'  # guessed: the peer address"),
            "{text}"
        );
    }

    #[test]
    fn presets_for_real_hosts_need_a_user_and_mark_their_paths_as_guesses() {
        let discovery = Discovery {
            asked: "10.0.0.1:2181",
            preset: Preset::Systemd,
            ssh_user: None,
            version: None,
            ssh_hosts: Vec::new(),
            ssh_port: None,
            ssh_files: Vec::new(),
            admins: Vec::new(),
            probes: Vec::new(),
        };
        assert_eq!(
            inventory(&conf(), &discovery),
            Err(DiscoverError::NoSshUser)
        );
        let discovery = Discovery {
            ssh_user: Some("zk"),
            preset: Preset::ZkServerSh {
                home: "/opt/zookeeper".into(),
            },
            ..discovery
        };
        let text = inventory(&conf(), &discovery).unwrap();
        let inventory = Inventory::parse(&text, Path::new("d.yaml")).unwrap();
        let zk1 = inventory.host("zk1").unwrap();
        let status = "/opt/zookeeper/bin/zkServer.sh status";
        let got = (zk1.ssh.as_str(), zk1.ssh_port, zk1.command("status"));
        assert_eq!(got, ("zk@127.77.3.1", 22, Some(status)));
        assert!(
            text.contains("commands:  # guessed: the Apache tarball's layout"),
            "{text}"
        );
        let standalone = parse_conf("clientPort=2181\nserverId=0\n").unwrap();
        let Answer::Data(standalone) = standalone else {
            panic!()
        };
        assert_eq!(Membership::from_conf(&standalone), None);
    }

    /// Only ZooKeeper's AdminServer counts (captured answers, a server without quorum
    /// included); another HTTP server on 8080 or none at all leaves a comment saying what was
    /// tried, and the inventory still parses without `admin:` there.
    #[test]
    fn admin_addresses_are_written_where_an_admin_server_answered() {
        let own = include_str!("../../../tests/fixtures/zk4lw/follower.admin.conf.json");
        let looking = include_str!("../../../tests/fixtures/zk4lw/looking.admin.conf.json");
        let at = |sid: u64| format!("127.77.3.{sid}:8080");
        assert_eq!(
            admin_probe(at(1), Ok((200, looking))),
            AdminProbe::Answered {
                at: at(1),
                conf: None
            }
        );
        let other_server = admin_probe(at(3), Ok((200, "<html>Jenkins</html>")));
        assert!(
            matches!(&other_server, AdminProbe::Silent { why, .. } if why.contains("not as ZooKeeper's AdminServer")),
            "{other_server:?}"
        );
        let view = conf().view;
        assert_eq!(admin_probe_address(&view.servers()[1]), "127.77.3.2:8080");
        let discovery = Discovery {
            asked: "127.77.3.1:2181",
            preset: Preset::Systemd,
            ssh_user: Some("zk"),
            version: None,
            ssh_hosts: Vec::new(),
            ssh_port: None,
            ssh_files: Vec::new(),
            probes: Vec::new(),
            admins: vec![
                (1, admin_probe(at(1), Ok((200, own)))),
                (
                    2,
                    admin_probe(at(2), Err("connection refused\nagain".into())),
                ),
                (3, other_server),
            ],
        };
        let text = inventory(&conf(), &discovery).unwrap();
        let parsed = Inventory::parse(&text, Path::new("d.yaml")).unwrap();
        assert_eq!(
            parsed.host("zk1").unwrap().admin.as_deref(),
            Some("127.77.3.1:8080")
        );
        assert!(
            text.contains("admin: '127.77.3.1:8080'  # probed: its AdminServer answered"),
            "{text}"
        );
        for (host, why) in [
            ("zk2", "(connection refused again)"),
            ("zk3", "not as ZooKeeper's AdminServer"),
        ] {
            assert_eq!(parsed.host(host).unwrap().admin, None, "{text}");
            assert!(text.contains(why), "{text}");
        }
        assert!(
            text.contains(
                "# admin: none found: no AdminServer answered /commands/configuration at 127.77.3.2:8080"
            ),
            "{text}"
        );
        // zk1's own data directory (its AdminServer's), the asked server's for the others.
        let zk1 = parsed.host("zk1").unwrap();
        assert_eq!(
            zk1.commands["data-empty"],
            "test -z \"$(ls -A /tmp/zkt/roles/n1/data/version-2 2>/dev/null)\""
        );
        assert_eq!(zk1.client, "127.77.3.1:2181");
        assert!(
            text.contains("client: '127.77.3.1:2181'  # guessed: its peer host with the clientPort its AdminServer gave"),
            "{text}"
        );
        let zk2 = &text[text.find("- name: 'zk2'").unwrap()..];
        assert!(
            zk2.contains("data-empty: 127.77.3.1:2181's dataDir"),
            "{zk2}"
        );
        // zk4 was not probed: nothing is said about its AdminServer.
        let zk4 = &text[text.find("- name: 'zk4'").unwrap()..];
        assert!(!zk4.contains("admin"), "{zk4}");
    }

    /// A stock 3.8 ensemble (the 4lw whitelist at its default, `srvr` alone): the voters from
    /// one AdminServer's `voting_view`, the observer's sid from the leader's `observers`
    /// (captured), per-host templates for the SSH user and the ZooKeeper home, and an
    /// operator's own verbs with the host's values quoted as shell words.
    #[test]
    fn a_stock_ensemble_is_read_through_the_admin_server() {
        let voting =
            include_str!("../../../tests/fixtures/zk4lw/stock3.follower.admin.voting_view.json");
        let own = include_str!("../../../tests/fixtures/zk4lw/stock3.follower.admin.conf.json");
        let observers =
            include_str!("../../../tests/fixtures/zk4lw/stock3.leader.admin.observers.json");
        let leader =
            include_str!("../../../tests/fixtures/zk4lw/stock3.follower.admin.leader.json");
        let Ok(Answer::Data(voters)) = crate::zk::admin::parse_voting_view(200, voting) else {
            panic!("{voting}")
        };
        let Ok(Answer::Data(conf)) = crate::zk::admin::parse_conf(200, own) else {
            panic!("{own}")
        };
        let Ok(Answer::Data(observers)) = crate::zk::admin::parse_observers(200, observers) else {
            panic!("{observers}")
        };
        assert_eq!(
            crate::zk::admin::parse_leader(200, leader),
            Ok(Answer::Data(Some(2)))
        );
        assert_eq!(observers, vec![3]);
        let membership = Membership::from_admin("127.0.23.1:8080", voters, &conf, &observers);
        assert_eq!(membership.unplaced_observers, vec![3]);
        let discovery = Discovery {
            asked: "127.0.23.1:2181",
            preset: Preset::ZkServerSh {
                home: "/home/zk{sid}/zookeeper".into(),
            },
            ssh_user: Some("zk{sid}"),
            version: Some("3.8.0".into()),
            ssh_hosts: Vec::new(),
            ssh_port: Some(2022),
            ssh_files: vec![("known_hosts", "/etc/zk/known_hosts".into())],
            admins: Vec::new(),
            probes: Vec::new(),
        };
        let text = inventory(&membership, &discovery).unwrap();
        let parsed = Inventory::parse(&text, Path::new("d.yaml")).unwrap();
        assert_eq!(parsed.hosts.len(), 2, "{text}");
        let zk2 = parsed.host("zk2").unwrap();
        assert_eq!(zk2.ssh, "zk2@127.0.23.2");
        assert_eq!(zk2.ssh_port, 2022);
        assert_eq!(
            zk2.commands["stop"],
            "/home/zk2/zookeeper/bin/zkServer.sh stop"
        );
        assert_eq!(
            parsed.ssh.as_ref().and_then(|s| s.known_hosts.as_deref()),
            Some("/etc/zk/known_hosts")
        );
        assert!(
            text.contains("from the AdminServer at 127.0.23.1:8080"),
            "{text}"
        );
        assert!(
            text.contains("# server 3 is an observer (the leader's /commands/observers)"),
            "{text}"
        );
        let custom = Discovery {
            preset: Preset::Custom {
                verbs: vec![("stop".into(), "/srv/{name}/ctl stop {addr}".into())],
            },
            ..discovery
        };
        let text = inventory(&membership, &custom).unwrap();
        let parsed = Inventory::parse(&text, Path::new("d.yaml")).unwrap();
        assert_eq!(
            parsed.host("zk1").unwrap().commands["stop"],
            "/srv/zk1/ctl stop 127.0.23.1"
        );
        assert_eq!(unknown_placeholder("zk{sid}-{host}"), Some("{host}"));
        assert_eq!(unknown_placeholder("/home/{name}/{sid}{addr}"), None);
        assert_eq!(unknown_placeholder("a{b"), Some("{b"));
    }

    /// A peer hides carriage returns and escapes in a bracketed host, in its data directory and
    /// in its version. The host is refused where the line is parsed (no server line holds one);
    /// the text written holds none of the others raw (YAML would read a carriage return as a
    /// line break and take the rest as keys), and the loader refuses the escaped values it does
    /// hold.
    #[test]
    fn a_hostile_peer_writes_no_raw_control_character() {
        let host = "x\r  commands: {status: 'touch /tmp/zkpilot-pwned'}\r  #\u{1b}[8m\u{2028}";
        let conf_with = |peer: &str| {
            format!(
                "clientPort=2181\ndataDir=/d\u{1b}[2J\nserverId=1\n\
                 server.1=127.77.3.1:2888:3888:participant\nserver.2={peer}:2888:3888:participant\n\
                 server.3=127.77.3.3:2888:3888:participant\nversion=0\n"
            )
        };
        let hostile = conf_with(&format!("[{host}]"));
        assert!(
            !matches!(parse_conf(&hostile), Ok(Answer::Data(conf)) if conf.view().is_some()),
            "{hostile}"
        );
        let text = conf_with("127.77.3.2");
        let Ok(Answer::Data(conf)) = parse_conf(&text) else {
            panic!("{text}")
        };
        let peer = conf.view().unwrap().servers()[1].clone();
        let discovery = Discovery {
            asked: "127.0.0.1:2181",
            preset: Preset::Systemd,
            ssh_user: Some("zk"),
            version: Some("3.8.0'\r\u{1b}[31m".into()),
            ssh_hosts: Vec::new(),
            ssh_port: None,
            ssh_files: Vec::new(),
            probes: Vec::new(),
            admins: vec![(
                2,
                admin_probe(
                    admin_probe_address(&peer),
                    Err("refused\r\u{1b}]0;x".into()),
                ),
            )],
        };
        let conf = Membership::from_conf(&conf).unwrap();
        let written = inventory(&conf, &discovery).unwrap();
        let raw: Vec<char> = written
            .chars()
            .filter(|&c| c != '\n' && crate::inventory::hidden_in_a_field(c))
            .collect();
        assert!(raw.is_empty(), "{raw:?} in {written}");
        assert!(
            written.contains("zookeeper: \"3.8.0'\\u000d\\u001b[31m\""),
            "{written}"
        );
        let err = Inventory::parse(&written, Path::new("d.yaml")).unwrap_err();
        assert!(
            err.message
                .starts_with("zookeeper holds the character U+000D"),
            "{err}"
        );
        let without_version = inventory(
            &conf,
            &Discovery {
                version: None,
                ..discovery
            },
        )
        .unwrap();
        let err = Inventory::parse(&without_version, Path::new("d.yaml")).unwrap_err();
        assert!(
            err.message.starts_with("hosts.0.commands.data-empty holds"),
            "{err}"
        );
    }

    /// Neither the 4lw `conf` nor an AdminServer answers: the membership from one host's
    /// `zoo.cfg` and its dynamic file, observers included; the SSH probe then fills each host
    /// with what it read and marks what it could not: a verb whose program is missing, a
    /// host it could not reach. Names and users come from the SSH config, so no `--ssh-user`.
    #[test]
    fn a_zoo_cfg_read_over_ssh_and_a_probe_fill_the_inventory() {
        let static_text = "dataDir=/var/lib/zk\nclientPort=2181\ndynamicConfigFile=/etc/zk/dyn\n";
        let dynamic = "server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\n\
            server.3=10.0.0.3:2888:3888:observer\n";
        let cfg = super::super::zoo_cfg::parse(static_text, Some(dynamic)).unwrap();
        let membership =
            Membership::from_zoo_cfg("zk1", "/etc/zk/zoo.cfg", Some("/etc/zk/dyn"), &cfg);
        let (ssh_hosts, ssh_port) = parse_ssh_config(
            "Host zk1\n HostName 10.0.0.1\n User a\nHost zk2\n HostName 10.0.0.2\n User b\n\
             Host zk3\n HostName 10.0.0.3\n User c\nHost *\n Port 2022\n",
            &|_| Vec::new(),
        );
        let mut discovery = Discovery {
            asked: "10.0.0.1:2181",
            preset: Preset::Custom {
                verbs: vec![
                    ("restart".into(), "~/bin/zkctl restart".into()),
                    ("status".into(), "/usr/bin/zkstatus".into()),
                ],
            },
            ssh_user: None,
            version: None,
            ssh_hosts,
            ssh_port,
            ssh_files: vec![("config", "/op/ssh_config".into())],
            admins: Vec::new(),
            probes: Vec::new(),
        };
        let targets = probe_targets(&membership, &discovery);
        assert_eq!(targets.len(), 3);
        assert_eq!(targets[1].destination, "b@10.0.0.2");
        assert_eq!(targets[1].port, 2022);
        assert_eq!(
            targets[1].programs,
            vec!["~/bin/zkctl", "/usr/bin/zkstatus"]
        );
        let own = super::super::zoo_cfg::parse(
            "dataDir=/srv/zk2\nclientPort=2182\nserver.1=10.0.0.1:2888:3888\n",
            None,
        )
        .unwrap();
        let facts = probe::parse(
            "arg org.apache.zookeeper.server.quorum.QuorumPeerMain\narg /etc/zk/zoo.cfg\n\
             stdout /var/log/zk/zk.log\ncwd /\nfound 0\nmissing 1\nunit\n",
            2,
        );
        discovery.probes = vec![
            (
                2,
                HostProbe::Read {
                    facts,
                    cfg: Box::new(Ok(own)),
                },
            ),
            (
                3,
                HostProbe::Failed("zk3: the host key is not in known_hosts".into()),
            ),
        ];
        let text = inventory(&membership, &discovery).unwrap();
        assert!(
            text.contains(
                "from /etc/zk/zoo.cfg and its dynamic file /etc/zk/dyn read over SSH at zk1"
            ),
            "{text}"
        );
        let parsed = Inventory::parse(&text, Path::new("d.yaml")).unwrap();
        assert_eq!(parsed.host("zk3").unwrap().role, HostRole::Observer);
        let zk2 = parsed.host("zk2").unwrap();
        assert_eq!(zk2.ssh, "b@10.0.0.2");
        assert_eq!(zk2.client, "10.0.0.2:2182");
        assert_eq!(zk2.commands["config"], "cat -- /etc/zk/zoo.cfg");
        assert_eq!(zk2.commands["log"], "tail -n 40 -- /var/log/zk/zk.log");
        assert_eq!(
            zk2.commands["data-empty"],
            "test -z \"$(ls -A /srv/zk2/version-2 2>/dev/null)\""
        );
        let block = |name: &str| {
            let start = text.find(&format!("- name: '{name}'")).unwrap();
            let rest = &text[start + 1..];
            rest[..rest.find("- name:").unwrap_or(rest.len())].to_string()
        };
        let zk2 = block("zk2");
        assert!(zk2.contains("restart: '~/bin/zkctl restart'\n"), "{zk2}");
        assert!(
            zk2.contains(
                "status: '/usr/bin/zkstatus'  # guessed: /usr/bin/zkstatus is not on the host \
             (a unit zookeeper.service is: --preset systemd)"
            ),
            "{zk2}"
        );
        assert!(!zk2.contains("ssh_port: 2022  # guessed"), "{zk2}");
        // zk3 could not be probed: why, and its values stay the asked server's.
        let zk3 = block("zk3");
        assert!(
            zk3.contains("# probe over SSH failed: zk3: the host key"),
            "{zk3}"
        );
        assert!(
            zk3.contains(
                "commands:  # guessed: the probe could not check them on the host; \
                 data-empty: 10.0.0.1:2181's dataDir"
            ),
            "{zk3}"
        );
        assert!(zk3.contains("/var/lib/zk/version-2"), "{zk3}");
    }

    /// An SSH config gives one host a port of its own: that host is reached there, the others
    /// at the `Host *` port; a port in another host's block is not everyone's.
    #[test]
    fn a_port_of_one_host_block_is_that_host_s_alone() {
        let (hosts, port) = parse_ssh_config(
            "Host zk1\n HostName 127.77.3.1\n User a\n Port 2200\n\
             Host zk2\n HostName 127.77.3.2\n User b\nHost *\n Port 2022\n\
             Host bastion\n HostName 10.9.9.9\n Port 22022\n",
            &|_| Vec::new(),
        );
        assert_eq!(port, Some(2022));
        let discovery = Discovery {
            asked: "127.77.3.1:2181",
            preset: Preset::Systemd,
            ssh_user: Some("zk"),
            version: None,
            ssh_hosts: hosts,
            ssh_port: port,
            ssh_files: Vec::new(),
            admins: Vec::new(),
            probes: Vec::new(),
        };
        let text = inventory(&conf(), &discovery).unwrap();
        let parsed = Inventory::parse(&text, Path::new("d.yaml")).unwrap();
        assert_eq!(parsed.host("zk1").unwrap().ssh_port, 2200, "{text}");
        assert_eq!(parsed.host("zk2").unwrap().ssh_port, 2022, "{text}");
        assert_eq!(parsed.host("zk3").unwrap().ssh_port, 2022, "{text}");
    }

    /// What ssh_config(5) allows beyond one `Host NAME / HostName` block each: `Key=Value`,
    /// several names on one `Host` line, `%h`, `Include` in place, and a `Match` block that
    /// belongs to no host (before, its `User` went to the block above it).
    #[test]
    fn an_ssh_config_is_read_as_ssh_reads_it_where_no_connection_is_needed() {
        let config = "Port=2022\nHost zk1 zk1.dc1 !zk9 zk*\n  HostName %h.example\n  User a\n\
            Match user root\n  User admin\n  Port 9\nInclude conf.d/*.conf\nHost zk3\n  User first\n\
            \x20 User second\n  HostName 10.0.0.3\n";
        let include = |pattern: &str| match pattern {
            "conf.d/*.conf" => vec!["Host zk2\n HostName 10.0.0.2\n User b\n".to_string()],
            _ => Vec::new(),
        };
        let (hosts, port) = parse_ssh_config(config, &include);
        let seen: Vec<(&str, &str, Option<&str>)> = hosts
            .iter()
            .map(|h| (h.name.as_str(), h.address.as_str(), h.user.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                ("zk1", "zk1.example", Some("a")),
                ("zk1.dc1", "zk1.dc1.example", Some("a")),
                ("zk2", "10.0.0.2", Some("b")),
                ("zk3", "10.0.0.3", Some("first")),
            ]
        );
        assert_eq!(port, Some(2022));
        assert!(hosts.iter().all(|h| h.port.is_none()));
        // An Include that includes itself stops at ssh's depth.
        let looping = |_: &str| vec!["Include again\n".to_string()];
        assert_eq!(
            parse_ssh_config("Include again\n", &looping),
            (Vec::new(), None)
        );
    }

    #[test]
    fn ssh_patterns_match_as_glob_does() {
        for (pattern, name, matches) in [
            ("*.conf", "a.conf", true),
            ("*.conf", "a.conf.bak", false),
            ("zk?", "zk1", true),
            ("zk?", "zk10", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "ab_a", false),
            ("", "", true),
            ("*", "", true),
        ] {
            assert_eq!(
                ssh_pattern_matches(pattern, name),
                matches,
                "{pattern} {name}"
            );
        }
    }
}
