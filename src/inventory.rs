//! The inventory: the real hosts a runbook is bound to — how to reach each one over SSH, where
//! its ZooKeeper listens, and the command for each operator verb on it. The sandbox writes one;
//! an operator writes one for real hosts in the same shape.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::yaml::{self, YamlError};
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
}

impl Inventory {
    /// Parses and checks an inventory: unique host names, and addresses that parse. Errors name
    /// the file, line and column.
    pub fn parse(text: &str, path: &std::path::Path) -> Result<Inventory, YamlError> {
        let inventory: Inventory = yaml::from_str(text, path)?;
        for (index, host) in inventory.hosts.iter().enumerate() {
            let at = |key: &str, message: String| {
                yaml::error_at(text, path, &["hosts", &index.to_string(), key], message)
            };
            if inventory.hosts[..index].iter().any(|h| h.name == host.name) {
                return Err(at("name", format!("host `{}` is listed twice", host.name)));
            }
            if let Err(e) = host.peer_addr() {
                return Err(at("peer", format!("host `{}`: {e}", host.name)));
            }
            if !host.client.contains(':') {
                return Err(at(
                    "client",
                    format!("host `{}`: client must be host:port", host.name),
                ));
            }
        }
        Ok(inventory)
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
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
    /// SSH destination `user@host`.
    pub ssh: String,
    pub ssh_port: u16,
    /// Operator verbs (start, stop, restart, status, config, set-config, set-servers,
    /// wipe-data, ...) and the shell command that performs each on this host.
    pub commands: BTreeMap<String, String>,
}

impl Host {
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
}
