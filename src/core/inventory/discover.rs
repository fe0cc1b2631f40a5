//! Pure: `zkpilot inventory discover` writes an inventory from one server's `conf` answer —
//! every server line of its view with its sid, role, peer and client address — and the verbs
//! of a preset (how ZooKeeper is run on those hosts). What is read from the server is written
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
use crate::zk::config::{PeerRole, ServerLine};
use crate::zk::fourlw::Conf;

/// How ZooKeeper runs on the hosts, which decides each verb's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preset {
    /// A systemd unit `zookeeper` (Debian's package and most distributions).
    Systemd,
    /// The Apache tarball's `bin/zkServer.sh` under this ZooKeeper home.
    ZkServerSh { home: String },
    /// A `zkpilot sandbox` in this directory: its hosts' `zkctl` scripts and SSH files.
    Sandbox { dir: String },
}

/// One `Host NAME / HostName ADDRESS / User USER` block of an SSH client config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHost {
    pub name: String,
    pub address: String,
    pub user: Option<String>,
}

/// The `Host` blocks with a `HostName`, and the `Port` of any block (the sandbox sets one for
/// `Host *`).
pub fn parse_ssh_config(text: &str) -> (Vec<SshHost>, Option<u16>) {
    let mut hosts: Vec<SshHost> = Vec::new();
    let mut current: Option<SshHost> = None;
    let mut port = None;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(key), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "host" => {
                hosts.extend(current.take().filter(|h| !h.address.is_empty()));
                current = Some(SshHost {
                    name: value.to_string(),
                    address: String::new(),
                    user: None,
                });
            }
            "hostname" => {
                if let Some(host) = &mut current {
                    host.address = value.to_string();
                }
            }
            "user" => {
                if let Some(host) = &mut current {
                    host.user = Some(value.to_string());
                }
            }
            "port" => port = value.parse().ok(),
            _ => {}
        }
    }
    hosts.extend(current.filter(|h| !h.address.is_empty()));
    (hosts, port)
}

/// What the discovery knows besides the `conf` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery<'a> {
    /// Where `conf` was asked: `host:port`.
    pub asked: &'a str,
    pub preset: Preset,
    /// The SSH user for every host (`--ssh-user`); a sandbox's come from its SSH config.
    pub ssh_user: Option<&'a str>,
    /// The version from `srvr`, e.g. `3.8.0`.
    pub version: Option<String>,
    /// A sandbox's SSH config, parsed.
    pub ssh_hosts: Vec<SshHost>,
    pub ssh_port: Option<u16>,
    /// What probing each server's AdminServer found, by server id; a server not listed was not
    /// probed.
    pub admins: Vec<(u64, AdminProbe)>,
}

/// What probing a server's AdminServer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminProbe {
    /// ZooKeeper's AdminServer answered `/commands/srvr` at this `host:port`.
    Answered { at: String },
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

/// Reads the answer to `GET /commands/srvr` at `at` (its status and body, or why there was
/// none): only an answer ZooKeeper's AdminServer gives counts — port 8080 is a common default
/// of other HTTP servers too. A server without quorum answers with an error in its JSON, and
/// is an AdminServer all the same.
pub fn admin_probe(at: String, answer: Result<(u16, &str), String>) -> AdminProbe {
    match answer {
        Ok((status, body)) => match crate::zk::admin::parse_srvr(status, body) {
            Ok(_) => AdminProbe::Answered { at },
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
    #[error("{asked}: its conf lists no server lines (a standalone server, or 3.4, whose conf has no view): write the inventory by hand from its zoo.cfg")]
    NoView { asked: String },
    #[error("{asked}: its conf has no clientPort (it serves only TLS clients): write the client addresses by hand")]
    NoClientPort { asked: String },
    #[error("give the SSH user of the hosts with --ssh-user USER")]
    NoSshUser,
}

/// The sandbox's verbs: every `zkctl` verb (see `sandbox::render::VERBS`).
const SANDBOX_VERBS: [&str; 19] = crate::rehearse::sandbox::render::VERBS;

/// The inventory text, YAML with comments where values were guessed.
pub fn inventory(conf: &Conf, discovery: &Discovery) -> Result<String, DiscoverError> {
    let view = conf.view().ok_or_else(|| DiscoverError::NoView {
        asked: discovery.asked.to_string(),
    })?;
    let client_port = conf
        .client_port()
        .ok_or_else(|| DiscoverError::NoClientPort {
            asked: discovery.asked.to_string(),
        })?;
    if discovery.ssh_user.is_none() && !sandbox(&discovery.preset) {
        return Err(DiscoverError::NoSshUser);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n# Check every `# guessed:` value, then `zkpilot inventory check` this file.",
        comment(&format!(
            "Inventory discovered by `zkpilot inventory discover` from {}'s conf.",
            discovery.asked
        ))
    );
    let name = match &discovery.preset {
        Preset::Sandbox { dir } => format!("sandbox in {dir}"),
        _ => format!("discovered from {}", discovery.asked),
    };
    let _ = writeln!(out, "name: {}", yaml_str(&name));
    if let Some(version) = &discovery.version {
        let _ = writeln!(out, "zookeeper: {}", yaml_str(version));
    }
    if let Preset::Sandbox { dir } = &discovery.preset {
        let _ = writeln!(
            out,
            "ssh:\n  identity: {}\n  known_hosts: {}\n  config: {}",
            yaml_str(&format!("{dir}/ssh/id_ed25519")),
            yaml_str(&format!("{dir}/ssh/known_hosts")),
            yaml_str(&format!("{dir}/ssh/config"))
        );
    }
    out.push_str("hosts:\n");
    for server in view.servers() {
        host(
            &mut out,
            server,
            client_port,
            conf.get("dataDir"),
            discovery,
        );
    }
    Ok(out)
}

fn sandbox(preset: &Preset) -> bool {
    matches!(preset, Preset::Sandbox { .. })
}

fn host(
    out: &mut String,
    server: &ServerLine,
    client_port: u16,
    data_dir: Option<&str>,
    discovery: &Discovery,
) {
    let address = &server.primary_addr().host;
    let known = discovery.ssh_hosts.iter().find(|h| &h.address == address);
    let name = match known {
        Some(h) => h.name.clone(),
        None => format!("zk{}", server.sid),
    };
    let _ = write!(out, "- name: {}", yaml_str(&name));
    if known.is_none() {
        out.push_str("  # guessed: from its server id; any unique name will do");
    }
    let role = match server.role {
        PeerRole::Participant => "participant",
        PeerRole::Observer => "observer",
    };
    let _ = writeln!(out, "\n  sid: {}\n  role: {role}", server.sid);
    match &server.client {
        Some(client) => {
            let _ = writeln!(
                out,
                "  client: {}",
                yaml_str(&client_address(client, address))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  client: {}  {}",
                yaml_str(&format!("{}:{client_port}", host_part(address))),
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
    match discovery
        .admins
        .iter()
        .find(|(sid, _)| *sid == server.sid)
        .map(|(_, probe)| probe)
    {
        Some(AdminProbe::Answered { at }) => {
            let _ = writeln!(
                out,
                "  admin: {}  # probed: its AdminServer answered /commands/srvr there",
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
                    "admin: none found: no AdminServer answered /commands/srvr at {at} ({why}); \
                     without admin: zkpilot tries the client host's port 8080 and uses 4lw; if \
                     the AdminServer runs elsewhere (admin.serverAddress, admin.serverPort), \
                     write admin: HOST:PORT here"
                ))
            );
        }
        None => {}
    }
    let user = known
        .and_then(|h| h.user.clone())
        .or_else(|| discovery.ssh_user.map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  ssh: {}",
        yaml_str(&format!("{user}@{}", host_part(address)))
    );
    let port = discovery.ssh_port.unwrap_or(22);
    let _ = write!(out, "  ssh_port: {port}");
    if discovery.ssh_port.is_none() {
        out.push_str("  # guessed: the SSH default");
    }
    out.push('\n');
    let (mut verbs, guessed, lock) = verbs(&discovery.preset, &name);
    // `conf` names the data directory (its `version-2`), so `data-empty` needs no guess.
    if let (false, Some(dir)) = (sandbox(&discovery.preset), data_dir) {
        verbs.push((
            "data-empty".into(),
            format!(
                "test -z \"$(ls -A {} 2>/dev/null)\"",
                crate::text::shell::quote(dir)
            ),
        ));
    }
    let _ = write!(out, "  commands:");
    if let Some(why) = guessed {
        let mut said = format!("guessed: {why}");
        if data_dir.is_some() {
            let _ = write!(
                said,
                "; data-empty: {}'s dataDir on every host",
                discovery.asked
            );
        }
        let _ = write!(out, "  {}", comment(&said));
    }
    out.push('\n');
    for (verb, command) in verbs {
        let _ = writeln!(out, "    {verb}: {}", yaml_str(&command));
    }
    if let Some(lock) = lock {
        let _ = writeln!(out, "  lock: {}", yaml_str(&lock));
    }
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
fn verbs(preset: &Preset, name: &str) -> (Vec<(String, String)>, Option<String>, Option<String>) {
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
        Preset::ZkServerSh { home } => {
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

    fn conf() -> Conf {
        match parse_conf(CONF).unwrap() {
            Answer::Data(conf) => conf,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sandbox_inventory_names_hosts_from_its_ssh_config_and_parses() {
        let (ssh_hosts, ssh_port) = parse_ssh_config(SSH_CONFIG);
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
            admins: Vec::new(),
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
            admins: Vec::new(),
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
        assert_eq!(zk1.ssh, "zk@127.77.3.1");
        assert_eq!(zk1.ssh_port, 22);
        assert_eq!(
            zk1.commands["status"],
            "/opt/zookeeper/bin/zkServer.sh status"
        );
        assert!(
            text.contains("commands:  # guessed: the Apache tarball's layout"),
            "{text}"
        );
        let standalone = parse_conf("clientPort=2181\nserverId=0\n").unwrap();
        let Answer::Data(standalone) = standalone else {
            panic!()
        };
        assert!(matches!(
            inventory_error(&standalone, &discovery),
            DiscoverError::NoView { .. }
        ));
    }

    /// Only ZooKeeper's AdminServer counts (captured answers, a server without quorum
    /// included); another HTTP server on 8080 or none at all leaves a comment saying what was
    /// tried, and the inventory still parses without `admin:` there.
    #[test]
    fn admin_addresses_are_written_where_an_admin_server_answered() {
        let leader = include_str!("../../../tests/fixtures/zk4lw/leader.admin.srvr.json");
        let looking = include_str!("../../../tests/fixtures/zk4lw/looking.admin.srvr.json");
        let at = |sid: u64| format!("127.77.3.{sid}:8080");
        assert_eq!(
            admin_probe(at(1), Ok((200, looking))),
            AdminProbe::Answered { at: at(1) }
        );
        let other_server = admin_probe(at(3), Ok((200, "<html>Jenkins</html>")));
        assert!(
            matches!(&other_server, AdminProbe::Silent { why, .. } if why.contains("not as ZooKeeper's AdminServer")),
            "{other_server:?}"
        );
        let view = conf().view().cloned().unwrap();
        assert_eq!(admin_probe_address(&view.servers()[1]), "127.77.3.2:8080");
        let discovery = Discovery {
            asked: "127.77.3.1:2181",
            preset: Preset::Systemd,
            ssh_user: Some("zk"),
            version: None,
            ssh_hosts: Vec::new(),
            ssh_port: None,
            admins: vec![
                (1, admin_probe(at(1), Ok((200, leader)))),
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
                "# admin: none found: no AdminServer answered /commands/srvr at 127.77.3.2:8080"
            ),
            "{text}"
        );
        // zk4 was not probed: nothing is said about its AdminServer.
        let zk4 = &text[text.find("- name: 'zk4'").unwrap()..];
        assert!(!zk4.contains("admin"), "{zk4}");
    }

    /// A peer hides carriage returns and escapes in a bracketed host and in its version: the
    /// text written holds none of them raw (YAML would read a carriage return as a line break
    /// and take the rest as keys), and the loader refuses the escaped values it does hold.
    #[test]
    fn a_hostile_peer_writes_no_raw_control_character() {
        let host = "x\r  commands: {status: 'touch /tmp/zkpilot-pwned'}\r  #\u{1b}[8m\u{2028}";
        let text = format!(
            "clientPort=2181\ndataDir=/d\u{1b}[2J\nserverId=1\n\
             server.1=127.77.3.1:2888:3888:participant\nserver.2=[{host}]:2888:3888:participant\n\
             server.3=127.77.3.3:2888:3888:participant\nversion=0\n"
        );
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
            admins: vec![(
                2,
                admin_probe(
                    admin_probe_address(&peer),
                    Err("refused\r\u{1b}]0;x".into()),
                ),
            )],
        };
        let written = inventory(&conf, &discovery).unwrap();
        let raw: Vec<char> = written
            .chars()
            .filter(|&c| c != '\n' && crate::inventory::hidden_in_a_field(c))
            .collect();
        assert!(raw.is_empty(), "{raw:?} in {written}");
        assert!(written.contains("at [x^M  commands:"), "{written}");
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

    fn inventory_error(conf: &Conf, discovery: &Discovery) -> DiscoverError {
        super::inventory(conf, discovery).unwrap_err()
    }
}
