//! The inventory: the real hosts a runbook is bound to — how to reach each one over SSH, where
//! its ZooKeeper listens, and the command for each operator verb on it. The sandbox writes one;
//! an operator writes one for real hosts in the same shape.

pub mod discover;
pub mod probe;
pub mod zoo_cfg;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::yaml::{self, YamlError};
use crate::zk::config::PeerAddr;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub name: String,
    /// The ZooKeeper version the hosts run, when known ahead of the first poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshDefaults>,
    pub hosts: Vec<Host>,
    /// Stable addresses in front of servers (Kubernetes ClusterIP services), when the
    /// procedure moves servers behind them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
}

impl Inventory {
    /// Parses and checks an inventory: unique host names, and addresses that parse. Errors name
    /// the file, line and column.
    pub fn parse(text: &str, path: &std::path::Path) -> Result<Inventory, YamlError> {
        if let Some(error) = hidden_line_break(text, path) {
            return Err(error);
        }
        let inventory: Inventory = yaml::from_str(text, path)?;
        if let Some((key_path, why)) = inventory.hidden_character() {
            let key_path: Vec<&str> = key_path.iter().map(String::as_str).collect();
            return Err(yaml::error_at(text, path, &key_path, why));
        }
        for (index, host) in inventory.hosts.iter().enumerate() {
            let at = |key: &str, message: String| {
                yaml::error_at(text, path, &["hosts", &index.to_string(), key], message)
            };
            // ssh and the commands take a word starting with `-` for an option: a destination
            // `-oProxyCommand=…` runs a command of the inventory writer's choosing locally.
            for (key, value) in [
                ("name", &host.name),
                ("ssh", &host.ssh),
                ("client", &host.client),
                ("peer", &host.peer),
            ] {
                if value.starts_with('-') || value.is_empty() {
                    return Err(at(
                        key,
                        format!(
                            "host `{}`: {key} must not be empty or start with `-`",
                            host.name
                        ),
                    ));
                }
            }
            if inventory.hosts[..index].iter().any(|h| h.name == host.name) {
                return Err(at("name", format!("host `{}` is listed twice", host.name)));
            }
            if let Err(e) = host.peer_addr() {
                return Err(at("peer", format!("host `{}`: {e}", host.name)));
            }
            if !is_client_address(&host.client) {
                return Err(at("client", format!("host `{}`: {CLIENT_FORM}", host.name)));
            }
            if host.sid > crate::zk::config::MAX_SID {
                return Err(at(
                    "sid",
                    format!("host `{}`: {}", host.name, crate::zk::config::SID_TOO_LARGE),
                ));
            }
        }
        for (index, service) in inventory.services.iter().enumerate() {
            let at = |key: &str, message: String| {
                yaml::error_at(text, path, &["services", &index.to_string(), key], message)
            };
            let name = &service.name;
            if inventory.services[..index].iter().any(|s| &s.name == name) {
                return Err(at("name", format!("service `{name}` is listed twice")));
            }
            if inventory.host(&service.serves).is_none() {
                return Err(at(
                    "serves",
                    format!("service `{name}`: no host `{}`", service.serves),
                ));
            }
            if inventory.services[..index]
                .iter()
                .any(|s| s.serves == service.serves)
            {
                return Err(at(
                    "serves",
                    format!(
                        "service `{name}`: `{}` has a service already",
                        service.serves
                    ),
                ));
            }
            if let Some(to) = &service.to {
                if inventory.host(to).is_none() {
                    return Err(at("to", format!("service `{name}`: no host `{to}`")));
                }
            }
            if let Err(e) = service.peer_addr() {
                return Err(at("peer", format!("service `{name}`: {e}")));
            }
            if !is_client_address(&service.client) {
                return Err(at("client", format!("service `{name}`: {CLIENT_FORM}")));
            }
        }
        Ok(inventory)
    }

    /// The first field holding a character that is no text of its own (a control, bidi or
    /// zero-width character, a line separator), by its key path, and why it is refused. Every
    /// value of an inventory ends up in a command line, a lock file or on a screen; a server
    /// that put an escape or a line break into its address must not get it there. A command
    /// alone may span lines and hold tabs: it is a shell script.
    fn hidden_character(&self) -> Option<(Vec<String>, String)> {
        // Walking the serialized form rather than the fields by name: a field added later is
        // checked without anyone remembering to list it here.
        let value = match serde_yaml::to_value(self) {
            Ok(value) => value,
            Err(error) => return Some((Vec::new(), format!("cannot be read back: {error}"))),
        };
        let (key_path, bad) = first_hidden(&value, &mut Vec::new())?;
        let why = format!(
            "{} holds the character U+{:04X}, which no value of an inventory may hold (a line \
             break or an escape hides text from whoever reads it)",
            key_path.join("."),
            u32::from(bad)
        );
        Some((key_path, why))
    }

    /// The service made for `host`'s server, if any.
    pub fn service_for(&self, host: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.serves == host)
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// Whether `c` is refused inside an inventory value: control characters and every character the
/// escaping routine makes visible because it shows nothing of its own (bidi, zero-width, and the
/// Unicode line and paragraph separators, which YAML 1.1 reads as line breaks).
pub fn hidden_in_a_field(c: char) -> bool {
    c.is_control() || crate::text::escape::is_invisible(c)
}

/// The first key or text under `value` that holds a hidden character: its key path and the
/// character. A command (any text under a host's `commands`) may span lines and hold tabs.
fn first_hidden(value: &serde_yaml::Value, at: &mut Vec<String>) -> Option<(Vec<String>, char)> {
    use serde_yaml::Value;
    let script = at.iter().any(|key| key == "commands");
    let hidden = |text: &str, script: bool| {
        text.chars()
            .find(|&c| hidden_in_a_field(c) && !(script && matches!(c, '\n' | '\t')))
    };
    match value {
        Value::String(text) => hidden(text, script).map(|c| (at.clone(), c)),
        Value::Sequence(items) => items.iter().enumerate().find_map(|(index, item)| {
            at.push(index.to_string());
            let found = first_hidden(item, at);
            at.pop();
            found
        }),
        Value::Mapping(map) => map.iter().find_map(|(key, item)| {
            let key = key.as_str().unwrap_or_default();
            at.push(key.to_string());
            let found = match hidden(key, false) {
                Some(c) => Some((at.clone(), c)),
                None => first_hidden(item, at),
            };
            at.pop();
            found
        }),
        _ => None,
    }
}

/// A line break a terminal does not show: a carriage return not followed by a line feed, NEL,
/// or a Unicode line separator. YAML breaks the line there while `cat` shows one line, so text
/// after it (a key, a whole host) would be read without anyone seeing it.
fn hidden_line_break(text: &str, path: &std::path::Path) -> Option<YamlError> {
    let mut chars = text.chars().peekable();
    let (mut line, mut column) = (1, 1);
    while let Some(c) = chars.next() {
        let hidden = match c {
            '\r' => chars.peek() != Some(&'\n'),
            '\u{85}' | '\u{2028}' | '\u{2029}' => true,
            _ => false,
        };
        if hidden {
            return Some(YamlError {
                path: path.to_path_buf(),
                line,
                column,
                message: format!(
                    "a line break a terminal does not show (U+{:04X}): an inventory breaks \
                     lines with a line feed only (or CR LF)",
                    u32::from(c)
                ),
            });
        }
        if c == '\n' {
            (line, column) = (line + 1, 1);
        } else {
            column += 1;
        }
    }
    None
}

/// Settings shared by every host's SSH connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub name: String,
    pub sid: u64,
    pub role: HostRole,
    /// Where clients and the 4lw poller connect: `host:port`.
    pub client: String,
    /// Quorum and election address: `host:quorumPort:electionPort`.
    pub peer: String,
    /// The AdminServer's `host:port` (ZooKeeper 3.5+, `admin.serverAddress` and
    /// `admin.serverPort`); without it the client host's port 8080 is probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// SSH destination `user@host`.
    pub ssh: String,
    pub ssh_port: u16,
    /// Operator verbs (start, stop, restart, status, config, set-config, set-servers,
    /// wipe-data, ...) and the shell command that performs each on this host.
    pub commands: BTreeMap<String, VerbCommand>,
    /// Where zkpilot's ensemble lock lives on this host: a directory the SSH user can create
    /// (default `/var/tmp/zkpilot-lock-<client address>`, see `lock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
}

/// The verbs a `check` gate may run without asking anyone: gates run before the operator
/// confirms a step, so they must only look. Others are read-only when the inventory says so.
pub const READ_ONLY_VERBS: [&str; 4] = ["status", "config", "data-empty", "log"];

/// The shell command for a verb: its text alone (`restart: zkctl restart`), or with a mark
/// that it only reads (`probe: {command: zkctl probe, read-only: true}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VerbCommand {
    Text(String),
    Marked(MarkedCommand),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MarkedCommand {
    pub command: String,
    #[serde(default)]
    pub read_only: bool,
}

impl VerbCommand {
    pub fn text(&self) -> &str {
        match self {
            VerbCommand::Text(text) => text,
            VerbCommand::Marked(marked) => &marked.command,
        }
    }
}

impl From<String> for VerbCommand {
    fn from(text: String) -> Self {
        VerbCommand::Text(text)
    }
}

impl PartialEq<&str> for VerbCommand {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}

impl Host {
    /// The shell command for `verb` on this host.
    pub fn command(&self, verb: &str) -> Option<&str> {
        self.commands.get(verb).map(VerbCommand::text)
    }

    /// Whether `verb` only reads, by its well-known name or by the inventory's mark.
    pub fn is_read_only(&self, verb: &str) -> bool {
        match self.commands.get(verb) {
            Some(VerbCommand::Marked(marked)) => marked.read_only,
            Some(VerbCommand::Text(_)) => READ_ONLY_VERBS.contains(&verb),
            None => false,
        }
    }

    pub fn peer_addr(&self) -> Result<PeerAddr, crate::zk::config::ConfigError> {
        PeerAddr::parse(&self.peer)
    }
}

/// A stable address that forwards to one server whichever host runs it: a Kubernetes ClusterIP
/// service with one endpoint, so a server can move to a pod without its peers' configs
/// changing (seed 000).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// The host whose server the service was made for: views name the service in its place.
    pub serves: String,
    /// Where clients connect through it: `address:port`.
    pub client: String,
    /// Quorum and election address through it: `address:quorumPort:electionPort`.
    pub peer: String,
    /// The host it forwards to now; none while it is not created yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl Service {
    pub fn peer_addr(&self) -> Result<PeerAddr, crate::zk::config::ConfigError> {
        PeerAddr::parse(&self.peer)
    }
}

/// What a host is for at the start of a procedure. A spare is prepared (address, data dir, SSH)
/// but runs no server: it is a destination or replacement waiting to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostRole {
    Participant,
    Observer,
    Spare,
}

impl fmt::Display for HostRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostRole::Participant => "participant",
            HostRole::Observer => "observer",
            HostRole::Spare => "spare",
        })
    }
}

const CLIENT_FORM: &str = "client must be host:port, with a port from 1 to 65535";

/// `host:port` (`[v6]:port`) with a port a connection can be made to: a bad one was only
/// found when the poller failed to connect, and it names the default lock path.
fn is_client_address(text: &str) -> bool {
    text.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && host.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']' | '%')
            })
            && port.parse::<u16>().is_ok_and(|p| p != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TWO_HOSTS: &str = "name: lab\nhosts:\n  - name: a\n    sid: 1\n    role: participant\n    client: 10.0.0.1:2181\n    peer: 10.0.0.1:2888:3888\n    ssh: zk@10.0.0.1\n    ssh_port: 22\n    commands: {restart: sudo systemctl restart zookeeper}\n  - name: b\n    sid: 2\n    role: spare\n    client: 10.0.0.2:2181\n    peer: 10.0.0.2:2888:3888\n    ssh: zk@10.0.0.2\n    ssh_port: 22\n    commands: {}\n";

    #[test]
    fn parses_an_inventory_of_real_hosts() {
        let inventory = Inventory::parse(TWO_HOSTS, Path::new("inv.yaml")).unwrap();
        assert_eq!(inventory.hosts.len(), 2);
        assert_eq!(inventory.host("b").unwrap().role, HostRole::Spare);
        assert_eq!(
            inventory.hosts[0].commands["restart"],
            "sudo systemctl restart zookeeper"
        );
    }

    #[test]
    fn errors_point_at_the_offending_value() {
        let duplicate = TWO_HOSTS.replace("name: b", "name: a");
        let err = Inventory::parse(&duplicate, Path::new("inv.yaml")).unwrap_err();
        assert_eq!(err.line, 11, "{err}");
        assert!(err.message.contains("listed twice"), "{err}");

        let bad_peer = TWO_HOSTS.replace("10.0.0.2:2888:3888", "10.0.0.2:2888");
        let err = Inventory::parse(&bad_peer, Path::new("inv.yaml")).unwrap_err();
        assert_eq!((err.line, err.column), (15, 11), "{err}");

        let unknown = TWO_HOSTS.replace(
            "ssh_port: 22\n    commands: {}",
            "ssh_port: 22\n    comands: {}",
        );
        let err = Inventory::parse(&unknown, Path::new("inv.yaml")).unwrap_err();
        assert!(err.to_string().starts_with("inv.yaml:18:"), "{err}");
    }

    #[test]
    fn a_value_that_reads_as_an_option_is_refused() {
        let text = TWO_HOSTS.replace("ssh: zk@10.0.0.2", "ssh: '-oProxyCommand=touch /tmp/x'");
        let err = Inventory::parse(&text, Path::new("inv.yaml")).unwrap_err();
        assert_eq!((err.line, err.column), (16, 10), "{err}");
        assert!(
            err.message
                .contains("ssh must not be empty or start with `-`"),
            "{err}"
        );
        let text = TWO_HOSTS.replace("name: b", "name: -b");
        let err = Inventory::parse(&text, Path::new("inv.yaml")).unwrap_err();
        assert_eq!(err.line, 11, "{err}");
    }

    /// What a hostile server can get into a discovered inventory: a carriage return YAML reads
    /// as a line break (adding a `status` command), or an escape inside a value.
    #[test]
    fn hidden_line_breaks_and_escapes_are_refused_in_any_field() {
        let injected = TWO_HOSTS.replace(
            "    ssh_port: 22\n    commands: {}",
            "    # admin: none at x\r    commands: {status: touch /tmp/p}\r  #\n    ssh_port: 22",
        );
        let err = Inventory::parse(&injected, Path::new("inv.yaml")).unwrap_err();
        assert_eq!((err.line, err.column), (17, 23), "{err}");
        assert!(err.message.contains("U+000D"), "{err}");
        // CR LF files are fine.
        let crlf = TWO_HOSTS.replace('\n', "\r\n");
        assert!(Inventory::parse(&crlf, Path::new("inv.yaml")).is_ok());
        for (from, to, key) in [
            ("name: b", "name: \"b\\e[2J\"", "hosts.1.name"),
            ("zk@10.0.0.2", "\"zk@10.0.0.2\\u202e\"", "hosts.1.ssh"),
            (
                "name: lab",
                "name: lab\nzookeeper: \"3.8.0\\r\"",
                "zookeeper",
            ),
            (
                "{restart: sudo systemctl restart zookeeper}",
                "{restart: \"a\\rb\"}",
                "hosts.0.commands.restart",
            ),
            (
                "{restart: sudo systemctl restart zookeeper}",
                "{restart: {command: \"a\\u202eb\", read-only: false}}",
                "hosts.0.commands.restart.command",
            ),
            (
                "name: lab",
                "name: lab\nssh: {config: \"a\\u2028\"}",
                "ssh.config",
            ),
            (
                "    commands: {}\n",
                "    commands: {}\nservices:\n  - {name: s, serves: a, client: '10.96.0.1:2181', \
                 peer: '10.96.0.1:2888:3888', to: \"a\\u200b\"}\n",
                "services.0.to",
            ),
        ] {
            let err =
                Inventory::parse(&TWO_HOSTS.replace(from, to), Path::new("inv.yaml")).unwrap_err();
            assert!(err.message.starts_with(key), "{key}: {err}");
        }
        // A command is a script: it may span lines.
        let script = TWO_HOSTS.replace(
            "{restart: sudo systemctl restart zookeeper}",
            "{restart: \"a\\n\\tb\"}",
        );
        assert!(Inventory::parse(&script, Path::new("inv.yaml")).is_ok());
    }

    #[test]
    fn an_id_past_a_java_long_is_refused_at_its_line() {
        let text = TWO_HOSTS.replacen("sid: 1", "sid: 9223372036854775808", 1);
        let err = Inventory::parse(&text, Path::new("inv.yaml")).unwrap_err();
        assert_eq!((err.line, err.column), (4, 10), "{err}");
        assert!(err.message.contains("at most 9223372036854775807"), "{err}");
        let most = TWO_HOSTS.replacen("sid: 1", "sid: 9223372036854775807", 1);
        assert!(Inventory::parse(&most, Path::new("inv.yaml")).is_ok());
    }

    /// A client address whose port no connection can reach is refused at its line and
    /// column: it got through, to fail only when the poller connected.
    #[test]
    fn a_client_port_out_of_range_is_refused_where_it_stands() {
        for (client, ok) in [
            ("10.0.0.1:2181", true),
            ("'[::1]:2181'", true),
            ("10.0.0.1:99999", false),
            ("10.0.0.1:0", false),
            ("'10.0.0.1:'", false),
            ("':2181'", false),
            ("'a b:2181'", false),
        ] {
            let text = TWO_HOSTS.replacen("client: 10.0.0.1:2181", &format!("client: {client}"), 1);
            match Inventory::parse(&text, Path::new("inv.yaml")) {
                Ok(_) => assert!(ok, "{client} accepted"),
                Err(err) => {
                    assert!(!ok, "{client}: {err}");
                    assert_eq!((err.line, err.column), (6, 13), "{client}: {err}");
                    assert!(err.message.contains("a port from 1 to 65535"), "{err}");
                }
            }
        }
    }

    #[test]
    fn services_stand_in_front_of_hosts() {
        let with = |service: &str| format!("{TWO_HOSTS}services:\n{service}");
        let good = with("  - {name: a-svc, serves: a, client: '10.96.0.1:2181', peer: '10.96.0.1:2888:3888', to: a}\n");
        let inventory = Inventory::parse(&good, Path::new("inv.yaml")).unwrap();
        assert_eq!(inventory.service_for("a").unwrap().name, "a-svc");
        assert!(inventory.service_for("b").is_none());

        let unknown = with(
            "  - {name: a-svc, serves: z, client: '10.96.0.1:2181', peer: '10.96.0.1:2888:3888'}\n",
        );
        let err = Inventory::parse(&unknown, Path::new("inv.yaml")).unwrap_err();
        assert_eq!(err.line, 20, "{err}");
        assert!(err.message.contains("no host `z`"), "{err}");

        let bad_client = with(
            "  - {name: a-svc, serves: a, client: '10.96.0.1:99999', peer: '10.96.0.1:2888:3888'}\n",
        );
        let err = Inventory::parse(&bad_client, Path::new("inv.yaml")).unwrap_err();
        assert_eq!((err.line, err.column), (20, 38), "{err}");
        assert!(err.message.contains("a port from 1 to 65535"), "{err}");

        let bad_peer =
            with("  - {name: a-svc, serves: a, client: '10.96.0.1:2181', peer: '10.96.0.1'}\n");
        let err = Inventory::parse(&bad_peer, Path::new("inv.yaml")).unwrap_err();
        assert!(err.message.contains("service `a-svc`"), "{err}");
    }
}
