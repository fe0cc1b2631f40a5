//! Adapter: `zkpilot inventory discover`: reads one server's membership by whichever route it
//! allows — its 4lw `conf`, or, when the 4lw whitelist refuses it (the 3.5.3+ default allows
//! only `srvr`), its AdminServer, which ignores that whitelist — probes every server's
//! AdminServer at once, and hands the answers to the pure `discover`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::inventory::discover::{self, AdminProbe, Discovery, Membership, Preset};
use crate::inventory::probe::{self, HostFacts, HostProbe};
use crate::inventory::zoo_cfg::{self, ZooCfg};
use crate::net::remote::{Connections, SshTarget};
use crate::net::wire;
use crate::zk::admin;
use crate::zk::config::View;
use crate::zk::fourlw::{parse_conf, parse_srvr, Answer};

/// How long a server may take to answer each question (a cold Jetty's first answer can take
/// over a second).
const ASK_DEADLINE: Duration = Duration::from_secs(5);
/// How long an SSH connection may take to open (the probe and the SSH route).
const SSH_CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// What the operator said besides the server to ask.
pub struct Options<'a> {
    pub preset: Preset,
    pub ssh_user: Option<&'a str>,
    pub ssh_port: Option<u16>,
    pub ssh_files: Vec<(&'static str, String)>,
    /// The asked server's AdminServer (`--admin`); by default its client host's port 8080.
    pub admin: Option<&'a str>,
    /// A host to read the config file of over SSH when neither the 4lw `conf` nor the
    /// AdminServer answers (`--via-ssh`): `user@host` or a name of the SSH config.
    pub via_ssh: Option<&'a str>,
    /// The config file there (`--zoo-cfg`), when no running server names its own.
    pub zoo_cfg: Option<&'a str>,
    /// Read each host over SSH once the membership is known (`--probe`).
    pub probe: bool,
}

/// The inventory text for the ensemble `asked` (`host:port`) belongs to, and notes for the
/// operator on what could not be read.
pub async fn discover(asked: &str, options: Options<'_>) -> Result<(String, Vec<String>), String> {
    let connections = Arc::new(Connections::new(SSH_CONNECT_DEADLINE, std::env::temp_dir()));
    let found = read_ensemble(asked, &options, &connections).await;
    // Every master connection the SSH route or the probe opened closes, whatever was found.
    connections.close_all().await;
    found
}

async fn read_ensemble(
    asked: &str,
    options: &Options<'_>,
    connections: &Arc<Connections>,
) -> Result<(String, Vec<String>), String> {
    let mut notes = Vec::new();
    let (ssh_hosts, ssh_port) = ssh_hosts(options)?;
    let ssh = |destination: &str, port: u16| SshTarget {
        host: destination.to_string(),
        destination: destination.to_string(),
        port,
        identity: file(&options.ssh_files, "identity"),
        known_hosts: file(&options.ssh_files, "known_hosts"),
        config: file(&options.ssh_files, "config"),
    };
    let membership = match by_four_letters(asked).await {
        Ok(membership) => membership,
        Err(refused) => {
            let at = options
                .admin
                .map(str::to_string)
                .unwrap_or_else(|| default_admin(asked));
            match (by_admin_server(&at, &mut notes).await, options.via_ssh) {
                (Ok(membership), _) => membership,
                (Err(e), None) => {
                    return Err(format!(
                        "{refused}; and through its AdminServer: {e}; give --via-ssh HOST to \
                         read the ensemble from that host's zoo.cfg"
                    ))
                }
                (Err(e), Some(via)) => {
                    notes.push(format!(
                        "{refused}; and through its AdminServer: {e}: reading {via}'s config \
                         over SSH"
                    ));
                    let own = ssh_hosts.iter().find(|h| h.name == via);
                    let port = own.and_then(|h| h.port).or(ssh_port).unwrap_or(22);
                    let target = ssh(via, port);
                    let read = by_ssh(connections, &target, options.zoo_cfg).await;
                    read.map_err(|e| format!("{via}: {e}"))?
                }
            }
        }
    };
    // The version is a help, not a need: a server that hides `srvr` still gets an inventory.
    let version = match wire::ask(asked, "srvr", ASK_DEADLINE)
        .await
        .map(|t| parse_srvr(&t))
    {
        Ok(Ok(Answer::Data(srvr))) => srvr
            .version_text
            .split(['-', ','])
            .next()
            .map(str::to_string),
        _ => None,
    };
    let mut discovery = Discovery {
        asked,
        preset: options.preset.clone(),
        ssh_user: options.ssh_user,
        version,
        ssh_hosts,
        ssh_port,
        ssh_files: options.ssh_files.clone(),
        admins: Vec::new(),
        probes: Vec::new(),
    };
    discover::writable(&membership, &discovery).map_err(|e| e.to_string())?;
    if options.probe {
        let targets = discover::probe_targets(&membership, &discovery);
        discovery.probes = probe_hosts(connections, targets, |t| ssh(&t.destination, t.port)).await;
    }
    discovery.admins = probe_admins(&membership.view, &discovery.probes).await;
    let text = discover::inventory(&membership, &discovery).map_err(|e| e.to_string())?;
    Ok((text, notes))
}

/// The hosts and port of the SSH config: a sandbox's, or `--ssh-config`'s, so each host takes
/// its name and user from it; `--ssh-port` wins over the config's port.
fn ssh_hosts(options: &Options) -> Result<(Vec<discover::SshHost>, Option<u16>), String> {
    let path = match &options.preset {
        Preset::Sandbox { dir } => std::path::Path::new(dir).join("ssh").join("config"),
        _ => match file(&options.ssh_files, "config") {
            Some(path) => path,
            None => return Ok((Vec::new(), options.ssh_port)),
        },
    };
    let config = std::fs::read_to_string(&path).map_err(|e| {
        let hint = match &options.preset {
            Preset::Sandbox { .. } => ": give --dir the directory of `zkpilot sandbox up`",
            _ => "",
        };
        format!("cannot read the SSH config {}: {e}{hint}", path.display())
    })?;
    let (mut hosts, port) = discover::parse_ssh_config(&config, &included);
    if options.ssh_port.is_some() {
        // The flag wins over every port of the config, a host's own too.
        for host in &mut hosts {
            host.port = None;
        }
    }
    Ok((hosts, options.ssh_port.or(port)))
}

/// The texts of the files an SSH config's `Include PATTERN` names, as ssh reads a user's config
/// (ssh_config(5)): `~/` is the home directory, a relative path is under `~/.ssh`, and `*` and
/// `?` in the last part match file names (not hidden ones) in lexical order. A file that cannot
/// be read is passed over: ssh itself says why when it connects.
fn included(pattern: &str) -> Vec<String> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = match pattern.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None if pattern.starts_with('/') => PathBuf::from(pattern),
        None => home.join(".ssh").join(pattern),
    };
    let last = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let files = if last.contains(['*', '?']) {
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.') && discover::ssh_pattern_matches(&last, name))
            .collect();
        names.sort();
        names.into_iter().map(|name| dir.join(name)).collect()
    } else {
        vec![path]
    };
    files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .collect()
}

fn file(files: &[(&'static str, String)], key: &str) -> Option<PathBuf> {
    files
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, path)| PathBuf::from(path))
}

/// Runs the probe script on `target` and reads the config file it found (or `zoo_cfg`).
async fn read_host(
    connections: &Connections,
    target: &SshTarget,
    programs: &[String],
    zoo_cfg: Option<&str>,
) -> Result<(HostFacts, Result<(String, Option<String>, ZooCfg), String>), String> {
    // Fed to `sh -s`: the script is POSIX sh, the user's login shell may be anything.
    let script = probe::script(programs);
    let output = connections.read_fed(target, "sh -s", Some(&script)).await?;
    let facts = probe::parse(&output, programs.len());
    let cfg = match zoo_cfg.map(str::to_string).or(facts.config_path.clone()) {
        None => Err("no ZooKeeper server runs as this user here: give --zoo-cfg PATH".into()),
        Some(path) => read_zoo_cfg(connections, target, &path, facts.cwd.as_deref()).await,
    };
    Ok((facts, cfg))
}

/// A config file and the dynamic file it names, parsed.
async fn read_zoo_cfg(
    connections: &Connections,
    target: &SshTarget,
    path: &str,
    cwd: Option<&str>,
) -> Result<(String, Option<String>, ZooCfg), String> {
    let cat = |path: &str| format!("cat -- {}", crate::text::shell::quote(path));
    let text = connections.read(target, &cat(path)).await?;
    let dynamic = zoo_cfg::dynamic_file(&text).map(|d| probe::resolve(cwd, path, d));
    let dynamic_text = match &dynamic {
        Some(d) => Some(
            connections
                .read(target, &cat(d))
                .await
                .map_err(|e| format!("the dynamic config file {d}: {e}"))?,
        ),
        None => None,
    };
    let cfg = zoo_cfg::parse(&text, dynamic_text.as_deref()).map_err(|e| format!("{path}: {e}"))?;
    Ok((path.to_string(), dynamic, cfg))
}

/// The membership from the config file of the server `target` reaches.
async fn by_ssh(
    connections: &Connections,
    target: &SshTarget,
    zoo_cfg: Option<&str>,
) -> Result<Membership, String> {
    let (_, cfg) = read_host(connections, target, &[], zoo_cfg).await?;
    let (path, dynamic, cfg) = cfg?;
    if cfg.view.servers().is_empty() {
        return Err(format!(
            "{path} lists no server lines (a standalone server)"
        ));
    }
    Ok(Membership::from_zoo_cfg(
        &target.destination,
        &path,
        dynamic.as_deref(),
        &cfg,
    ))
}

/// Probes every host at once: what runs there and its own config.
async fn probe_hosts(
    connections: &Arc<Connections>,
    targets: Vec<discover::ProbeTarget>,
    ssh: impl Fn(&discover::ProbeTarget) -> SshTarget,
) -> Vec<(u64, HostProbe)> {
    let mut reads = tokio::task::JoinSet::new();
    for t in targets {
        let (target, connections) = (ssh(&t), connections.clone());
        reads.spawn(async move {
            let probe = match read_host(&connections, &target, &t.programs, None).await {
                Ok((facts, cfg)) => HostProbe::Read {
                    facts,
                    cfg: Box::new(cfg.map(|(_, _, cfg)| cfg)),
                },
                Err(why) => HostProbe::Failed(why),
            };
            (t.sid, probe)
        });
    }
    let mut found = Vec::new();
    while let Some(read) = reads.join_next().await {
        // A task only panics if the runtime is going down: that host is left unprobed.
        if let Ok(read) = read {
            found.push(read);
        }
    }
    found
}

/// The membership from the 4lw `conf`, or why it cannot be read that way.
async fn by_four_letters(asked: &str) -> Result<Membership, String> {
    let text = wire::ask(asked, "conf", ASK_DEADLINE)
        .await
        .map_err(|e| format!("cannot read the ensemble from {asked}: {e}"))?;
    match parse_conf(&text) {
        Ok(Answer::Data(conf)) => Membership::from_conf(&conf).ok_or_else(|| {
            format!(
                "{asked}: its conf lists no server lines (a standalone server, or 3.4, whose \
                 conf has no view): write the inventory by hand from its zoo.cfg"
            )
        }),
        Ok(Answer::NotWhitelisted) => Err(format!(
            "{asked} does not allow the 4lw `conf` (4lw.commands.whitelist)"
        )),
        Ok(Answer::NotServing) => Err(format!(
            "{asked} is not serving (no quorum), so its conf cannot be read"
        )),
        Ok(other) => Err(format!("{asked} gave no conf: {other:?}")),
        Err(e) => Err(format!("{asked}: {e}")),
    }
}

/// `HOST:8080` for `HOST:PORT`: `admin.serverAddress` defaults to every address, so the client
/// host reaches it (`JettyAdminServer.DEFAULT_PORT`, `DEFAULT_ADDRESS`, 3.5 on).
fn default_admin(asked: &str) -> String {
    let host = asked.rsplit_once(':').map_or(asked, |(host, _)| host);
    format!("{host}:{}", crate::ensemble::ADMIN_DEFAULT_PORT)
}

async fn get(at: &str, path: &str) -> Result<(u16, String), String> {
    wire::http_get(at, path, ASK_DEADLINE)
        .await
        .map(|answer| (answer.status, answer.body))
        .map_err(|e| format!("{at}{path}: {e}"))
}

/// What an AdminServer answer about the membership says, or why it says nothing (`what` names
/// the answer).
fn membership<T>(
    at: &str,
    what: &str,
    read: Result<Answer<T>, admin::AdminError>,
) -> Result<T, String> {
    match read {
        Ok(Answer::Data(data)) => Ok(data),
        Ok(Answer::NotServing) => Err(format!(
            "{at} is not serving (no quorum), so its membership cannot be read"
        )),
        Ok(other) => Err(format!("{at}: no {what} ({:?})", other.kind())),
        Err(e) => Err(format!("{at}: {e}")),
    }
}

/// The membership from the AdminServer at `at`: the voters from its `voting_view`, its own
/// settings from `configuration`, and the observers' ids from the leader's `observers` (the
/// leader named by `leader`, reached at its peer host's port 8080). Observers are a note when
/// the leader's AdminServer does not answer there.
async fn by_admin_server(at: &str, notes: &mut Vec<String>) -> Result<Membership, String> {
    let (status, body) = get(at, "/commands/voting_view").await?;
    let voters = membership(at, "voting view", admin::parse_voting_view(status, &body))?;
    let (status, body) = get(at, "/commands/configuration").await?;
    let conf = membership(at, "configuration", admin::parse_conf(status, &body))?;
    let observers = match observers(at, &voters).await {
        Ok(observers) => observers,
        Err(why) => {
            notes.push(format!(
                "observers not read: {why}; an observer of this ensemble is missing from the \
                 inventory"
            ));
            Vec::new()
        }
    };
    Ok(Membership::from_admin(at, voters, &conf, &observers))
}

async fn observers(at: &str, voters: &View) -> Result<Vec<u64>, String> {
    let (status, body) = get(at, "/commands/leader").await?;
    let leader = match admin::parse_leader(status, &body) {
        Ok(Answer::Data(Some(sid))) => sid,
        Ok(_) => return Err(format!("{at} knows no leader")),
        Err(e) => return Err(format!("{at}: {e}")),
    };
    let line = voters
        .server(leader)
        .ok_or_else(|| format!("the leader, server {leader}, is not in {at}'s voting view"))?;
    let leader_at = discover::admin_probe_address(line);
    let (status, body) = get(&leader_at, "/commands/observers").await?;
    match admin::parse_observers(status, &body) {
        Ok(Answer::Data(sids)) => Ok(sids),
        Ok(other) => Err(format!(
            "{leader_at}: no observers answer ({:?})",
            other.kind()
        )),
        Err(e) => Err(format!("{leader_at}: {e}")),
    }
}

/// Asks every server's AdminServer for its own settings at once, each within [`ASK_DEADLINE`]
/// (a firewall that drops the port costs one deadline, not one per server).
/// A server whose config the SSH probe read is asked where that config puts its AdminServer.
async fn probe_admins(view: &View, read: &[(u64, HostProbe)]) -> Vec<(u64, AdminProbe)> {
    let mut probes = tokio::task::JoinSet::new();
    for server in view.servers() {
        let configured = read.iter().find_map(|(sid, probe)| match probe {
            HostProbe::Read { cfg, .. } if *sid == server.sid => cfg
                .as_ref()
                .as_ref()
                .ok()
                .and_then(|cfg| cfg.admin.as_ref()),
            _ => None,
        });
        let at = match configured {
            Some(admin) => admin.at(&server.primary_addr().host),
            None => discover::admin_probe_address(server),
        };
        let sid = server.sid;
        probes.spawn(async move {
            let probe = match wire::http_get(&at, discover::ADMIN_PROBE_PATH, ASK_DEADLINE).await {
                Ok(answer) => discover::admin_probe(at, Ok((answer.status, &answer.body))),
                Err(e) => discover::admin_probe(at, Err(e.to_string())),
            };
            (sid, probe)
        });
    }
    let mut found = Vec::new();
    while let Some(probe) = probes.join_next().await {
        // A probe task only panics if the runtime is going down: that server is left unprobed.
        if let Ok(probe) = probe {
            found.push(probe);
        }
    }
    found.sort_by_key(|(sid, _)| *sid);
    found
}

#[cfg(test)]
mod tests {
    use super::included;

    #[test]
    fn an_include_pattern_reads_the_matching_files_in_order_and_not_hidden_ones() {
        let dir = std::env::temp_dir().join(format!("zkpilot-include-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("b.conf", "B"),
            ("a.conf", "A"),
            (".c.conf", "hidden"),
            ("d.txt", "other"),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let all = format!("{}/*.conf", dir.display());
        assert_eq!(included(&all), ["A", "B"]);
        let one = format!("{}/d.txt", dir.display());
        assert_eq!(included(&one), ["other"]);
        let none = format!("{}/missing", dir.display());
        assert!(included(&none).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
