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
        if entry.host.trim().is_empty() || entry.host.contains(['\n', '\r']) {
            return Err(field("host", "a host is a name on one line".into()));
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
    Ok(Target { version, servers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_entry() {
        let text = "zookeeper: 3.8.0\nservers:\n  - {host: zk2}\n  - {host: zk6, sid_of: zk1}\n  - {host: zk7, sid: 7, addr: 'zk7:2888:3888'}\n  - {host: zk8, sid: 8, role: observer}\n";
        let target = load(text, Path::new("t.yaml")).unwrap();
        assert_eq!(target.version, Some(ZkVersion::new(3, 8, 0)));
        assert_eq!(target.servers.len(), 4);
        assert_eq!(target.servers[1].sid_of.as_deref(), Some("zk1"));
        assert_eq!(target.servers[3].role, Some(PeerRole::Observer));
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
