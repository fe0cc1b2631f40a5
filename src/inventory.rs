//! The inventory: the real hosts a runbook is bound to — how to reach each one over SSH, where
//! its ZooKeeper listens, and the command for each operator verb on it. The sandbox writes one;
//! an operator writes one for real hosts in the same shape.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

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
