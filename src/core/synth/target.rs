//! The target file `zkpilot synthesize` reads: the ensemble wanted at the end.
//!
//! ```yaml
//! zookeeper: 3.8.0                  # optional: the rules to plan by; default, the state's
//! servers:
//!   - {host: zk2}                   # stays: same sid, same role
//!   - {host: zk6, sid_of: zk1}      # takes over zk1's sid on a new host (empty data dir)
//!   - {host: zk7, sid: 7, addr: "zk7:2888:3888"}  # a new voter with a new sid
//!   - {host: zk8, sid: 8, role: observer}
//!   - {host: zk4, role: participant}  # an observer today, a voter at the end
//!   - {host: zk3, restart: true}    # replaced in place: same address, data and id
//! services:                         # optional: ids named by a stable address at the end
//!   - {serves: zk2, peer: "10.96.0.2:2888:3888"}  # zk2's id, whoever runs it, behind it
//! ```
//! A new host's `addr` defaults to `HOST:Q:E` with the ports of the state's first node: only
//! whether two addresses are equal matters to the analyzer, and a runbook names hosts, whose
//! real addresses come from the inventory it is bound to.

use serde::Deserialize;
use std::path::Path;

use crate::text::yaml::{self, YamlError};
use crate::zk::config::{PeerAddr, PeerRole};
use crate::zk::version::ZkVersion;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The rules to plan by, when the file names them.
    pub version: Option<ZkVersion>,
    pub servers: Vec<TargetServer>,
    /// Stable addresses (Kubernetes ClusterIP services) every view of the end names an id by.
    pub services: Vec<TargetService>,
}

/// A service in front of a server id at the end: every target view names the id of state node
/// `serves` by `peer`, and it forwards to the host that runs that id then (the node itself, or
/// the host that took its id over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetService {
    pub serves: String,
    pub peer: PeerAddr,
    /// Where the entry sits in the file's `services`, for errors found once the state is known.
    pub index: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetServer {
    pub host: String,
    pub sid: Option<u64>,
    /// The state node whose sid this host takes over.
    pub sid_of: Option<String>,
    pub role: Option<PeerRole>,
    pub addr: Option<PeerAddr>,
    /// Restart it at least once even if its view does not change: its instance is replaced
    /// in place (same address, same data, same id — the stateless replacement of seed 003).
    pub restart: bool,
    /// Where the entry sits in the file, for errors found once the state is known.
    pub index: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    zookeeper: Option<String>,
    servers: Vec<ServerEntry>,
    #[serde(default)]
    services: Vec<ServiceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    serves: String,
    peer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerEntry {
    host: String,
    sid: Option<u64>,
    sid_of: Option<String>,
    role: Option<RoleName>,
    addr: Option<String>,
    #[serde(default)]
    restart: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RoleName {
    Participant,
    Observer,
}

/// Reads a target file's text; every error names `path`, a line and a column.
pub fn load(text: &str, path: &Path) -> Result<Target, YamlError> {
    let file: TargetFile = yaml::from_str(text, path)?;
    let at = |keys: &[&str], message: String| yaml::error_at(text, path, keys, message);
    let version = match &file.zookeeper {
        None => None,
        Some(v) => Some(ZkVersion::parse(v).ok_or_else(|| {
            at(
                &["zookeeper"],
                format!(
                    "bad ZooKeeper version `{v}`: expected MAJOR.MINOR[.PATCH], e.g. \"3.4.6\""
                ),
            )
        })?),
    };
    if file.servers.is_empty() {
        return Err(at(
            &["servers"],
            "a target lists at least one server".into(),
        ));
    }
    let mut servers: Vec<TargetServer> = Vec::new();
    for (index, entry) in file.servers.iter().enumerate() {
        let here = index.to_string();
        let field = |key: &str, message: String| at(&["servers", &here, key], message);
        if !crate::text::escape::is_plain_name(&entry.host) {
            return Err(field(
                "host",
                "a host is a name on one line of visible characters, with no space at either end"
                    .into(),
            ));
        }
        if servers.iter().any(|s| s.host == entry.host) {
            return Err(field(
                "host",
                format!("host `{}` is listed twice", entry.host),
            ));
        }
        if entry.sid.is_some() && entry.sid_of.is_some() {
            return Err(field(
                "sid_of",
                "give `sid` (a new id) or `sid_of` (take over a server's id), not both".into(),
            ));
        }
        if entry
            .sid
            .is_some_and(|sid| sid > crate::zk::config::MAX_SID)
        {
            return Err(field("sid", crate::zk::config::SID_TOO_LARGE.into()));
        }
        let addr = entry
            .addr
            .as_deref()
            .map(PeerAddr::parse)
            .transpose()
            .map_err(|e| field("addr", e.to_string()))?;
        servers.push(TargetServer {
            host: entry.host.clone(),
            sid: entry.sid,
            sid_of: entry.sid_of.clone(),
            role: entry.role.map(|r| match r {
                RoleName::Participant => PeerRole::Participant,
                RoleName::Observer => PeerRole::Observer,
            }),
            addr,
            restart: entry.restart,
            index,
        });
    }
    let mut services: Vec<TargetService> = Vec::new();
    for (index, entry) in file.services.iter().enumerate() {
        let here = index.to_string();
        let field = |key: &str, message: String| at(&["services", &here, key], message);
        let peer = PeerAddr::parse(&entry.peer).map_err(|e| field("peer", e.to_string()))?;
        if services.iter().any(|s| s.serves == entry.serves) {
            return Err(field(
                "serves",
                format!("`{}` has a service already", entry.serves),
            ));
        }
        if let Some(other) = services.iter().find(|s| s.peer.host == peer.host) {
            return Err(field(
                "peer",
                format!(
                    "{} is the address of `{}`'s service already",
                    peer.host, other.serves
                ),
            ));
        }
        services.push(TargetService {
            serves: entry.serves.clone(),
            peer,
            index,
        });
    }
    Ok(Target {
        version,
        servers,
        services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_past_a_java_long_is_refused_at_its_line() {
        let text = "servers:\n  - {host: zk2}\n  - {host: zk7, sid: 9223372036854775808}\n";
        let err = load(text, Path::new("t.yaml")).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("at most 9223372036854775807"), "{err}");
    }

    #[test]
    fn reads_every_kind_of_entry() {
        let text = "zookeeper: 3.8.0\nservers:\n  - {host: zk2}\n  - {host: zk6, sid_of: zk1}\n  - {host: zk7, sid: 7, addr: 'zk7:2888:3888'}\n  - {host: zk8, sid: 8, role: observer}\n";
        let target = load(text, Path::new("t.yaml")).unwrap();
        assert_eq!(target.version, Some(ZkVersion::new(3, 8, 0)));
        assert_eq!(target.servers.len(), 4);
        assert_eq!(target.servers[1].sid_of.as_deref(), Some("zk1"));
        assert_eq!(target.servers[3].role, Some(PeerRole::Observer));
        assert!(target.services.is_empty());
    }

    #[test]
    fn reads_services_and_refuses_one_address_for_two() {
        let text = "servers:\n  - {host: zk4, sid_of: zk1}\nservices:\n  - {serves: zk1, peer: 'svc1:2888:3888'}\n";
        let target = load(text, Path::new("t.yaml")).unwrap();
        assert_eq!(target.services[0].serves, "zk1");
        assert_eq!(target.services[0].peer.host, "svc1");
        let twice = format!("{text}  - {{serves: zk2, peer: 'svc1:2890:3890'}}\n");
        let err = load(&twice, Path::new("t.yaml")).unwrap_err();
        assert_eq!(err.line, 5, "{err}");
        assert!(err.message.contains("`zk1`'s service"), "{err}");
        let err = load(
            "servers:\n  - {host: zk2}\nservices:\n  - {serves: zk2, peer: 'svc2'}\n",
            Path::new("t.yaml"),
        )
        .unwrap_err();
        assert_eq!((err.line, err.column > 1), (4, true), "{err}");
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let err = load(
            "servers:\n  - {host: zk2}\n  - {host: zk6, sid: 6, sid_of: zk1}\n",
            Path::new("t.yaml"),
        )
        .unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let err = load(
            "servers:\n  - {host: zk2, colour: red}\n",
            Path::new("t.yaml"),
        )
        .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("colour"), "{err}");
        let err = load(
            "servers:\n  - {host: zk2, addr: 'zk2'}\n",
            Path::new("t.yaml"),
        )
        .unwrap_err();
        assert_eq!(
            (err.line, err.path.as_path()),
            (2, Path::new("t.yaml")),
            "{err}"
        );
    }
}
