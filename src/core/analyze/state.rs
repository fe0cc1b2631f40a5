//! The state file `zkpilot analyze` reads: a what-if picture of an ensemble mid-migration.
//!
//! ```yaml
//! zookeeper: "3.4.6"          # optional; the rules follow it; default: the newest known
//! views:                      # named views, reusable by nodes
//!   old: [server.1=p:2888:3888, server.2=q:2888:3888, server.3=r:2888:3888]
//! nodes:
//!   - {name: P, sid: 1, addr: "p:2888:3888", up: true, view: old}  # view: a name or a list
//!   - {name: A, sid: 4, addr: "pod-a:2888:3888", services: ["svc-a:2888:3888"], view: k8s}
//!     # services: stable addresses that forward to the node (Kubernetes ClusterIP services)
//!   - {name: B, sid: 5, addr: "b:2888:3888", listen_all: true, view: k8s}
//!     # listen_all: its quorumListenOnAllIPs; absent = unknown (judged both ways)
//! partitions: [[P, Q], [R]]   # optional: nodes talk only within a group
//! ```
//! `up` defaults to true: a state file lists the servers that run unless it says otherwise.

use crate::quorum::{Ensemble, Node, MAX_NODES};
use crate::text::yaml::{self, YamlError};
use crate::zk::config::{PeerAddr, ServerLine, View};
use crate::zk::version::ZkVersion;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

/// A loaded state: the ensemble plus what the report needs to speak in the file's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub ensemble: Ensemble,
    /// False when the file gave no `zookeeper:` and the newest rules apply.
    pub version_from_file: bool,
    /// For each node, the name of the view it uses, or `None` for a list of its own.
    pub view_names: Vec<Option<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    zookeeper: Option<String>,
    #[serde(default)]
    views: NamedViews,
    nodes: Vec<NodeEntry>,
    partitions: Option<Vec<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    name: String,
    sid: u64,
    addr: String,
    #[serde(default = "running")]
    up: bool,
    view: ViewRef,
    #[serde(default)]
    services: Vec<String>,
    /// `quorumListenOnAllIPs`; absent: unknown, judged both ways where it matters.
    listen_all: Option<bool>,
}

fn running() -> bool {
    true
}

/// Named views in file order; a name defined twice is an error at the second definition.
#[derive(Default)]
struct NamedViews(Vec<(String, Vec<String>)>);

enum ViewRef {
    Named(String),
    Lines(Vec<String>),
}

/// Reads a state file's text; every error names `path`, a line and a column.
pub fn load(text: &str, path: &Path) -> Result<State, YamlError> {
    let file: StateFile = yaml::from_str(text, path)?;
    let at = |key_path: &[&str], message: String| yaml::error_at(text, path, key_path, message);

    if file.nodes.len() > MAX_NODES {
        return Err(at(
            &["nodes", &MAX_NODES.to_string()],
            format!(
                "{} nodes: the analyzer accepts at most {MAX_NODES}",
                file.nodes.len()
            ),
        ));
    }

    let version = match &file.zookeeper {
        None => ZkVersion::NEWEST,
        Some(text) => ZkVersion::parse(text).ok_or_else(|| {
            at(
                &["zookeeper"],
                format!(
                    "bad ZooKeeper version `{text}`: expected MAJOR.MINOR[.PATCH], e.g. \"3.4.6\""
                ),
            )
        })?,
    };

    let mut views = Vec::new();
    for (name, lines) in &file.views.0 {
        // The report prints names one per line: a line break in one could forge a line.
        if name.contains(['\n', '\r']) || name.trim() != name {
            return Err(at(
                &["views", name],
                "a view name is one line, with no space at either end".into(),
            ));
        }
        views.push((
            name.as_str(),
            parse_view(lines, &|i, m| at(&["views", name, &i], m))?,
        ));
    }

    let mut nodes = Vec::new();
    let mut view_names = Vec::new();
    let mut seen = HashSet::new();
    for (index, entry) in file.nodes.iter().enumerate() {
        let here = index.to_string();
        let field = |key: &str, message: String| at(&["nodes", &here, key], message);
        if entry.name.trim().is_empty() {
            return Err(field("name", "a node needs a name".into()));
        }
        // A space at either end would shift the block a synthesized explanation opens with it.
        if entry.name.contains(['\n', '\r']) || entry.name.trim() != entry.name {
            return Err(field(
                "name",
                "a node name is one line, with no space at either end".into(),
            ));
        }
        if !seen.insert(entry.name.as_str()) {
            return Err(field(
                "name",
                format!(
                    "node name `{}` is used twice; names must be unique",
                    entry.name
                ),
            ));
        }
        let addr = PeerAddr::parse(&entry.addr).map_err(|err| field("addr", err.to_string()))?;
        let aliases = entry
            .services
            .iter()
            .enumerate()
            .map(|(i, service)| {
                PeerAddr::parse(service).map_err(|err| {
                    at(
                        &["nodes", &here, "services", &i.to_string()],
                        err.to_string(),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (view, view_name) = match &entry.view {
            ViewRef::Named(name) => {
                let view = views
                    .iter()
                    .find(|(known, _)| known == name)
                    .map(|(_, view)| view.clone())
                    .ok_or_else(|| field("view", unknown_view(name, &views)))?;
                (view, Some(name.clone()))
            }
            ViewRef::Lines(lines) => (
                parse_view(lines, &|i, m| at(&["nodes", &here, "view", &i], m))?,
                None,
            ),
        };
        if entry.sid > crate::zk::config::MAX_SID {
            return Err(field("sid", crate::zk::config::SID_TOO_LARGE.into()));
        }
        nodes.push(Node {
            name: entry.name.clone(),
            sid: entry.sid,
            addr,
            aliases,
            up: entry.up,
            view,
            listen_all: entry.listen_all,
        });
        view_names.push(view_name);
    }

    let partitions = match &file.partitions {
        None => None,
        Some(groups) => {
            let mut indices = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                let mut members = Vec::new();
                for (m, name) in group.iter().enumerate() {
                    let index = nodes.iter().position(|n| &n.name == name).ok_or_else(|| {
                        at(
                            &["partitions", &g.to_string(), &m.to_string()],
                            format!("partition names `{name}`, which is not a node in `nodes`"),
                        )
                    })?;
                    members.push(index);
                }
                indices.push(members);
            }
            Some(indices)
        }
    };

    Ok(State {
        ensemble: Ensemble {
            version,
            nodes,
            partitions,
        },
        version_from_file: file.zookeeper.is_some(),
        view_names,
    })
}

fn unknown_view(name: &str, views: &[(&str, View)]) -> String {
    if views.is_empty() {
        format!("unknown view `{name}`: the file defines no `views:`")
    } else {
        let known: Vec<&str> = views.iter().map(|(n, _)| *n).collect();
        format!("unknown view `{name}`; defined views: {}", known.join(", "))
    }
}

/// Parses server lines; `at(i, message)` positions an error at line `i` of the list.
fn parse_view(
    lines: &[String],
    at: &dyn Fn(String, String) -> YamlError,
) -> Result<View, YamlError> {
    let mut servers: Vec<ServerLine> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let server = ServerLine::parse(line).map_err(|err| at(i.to_string(), err.to_string()))?;
        if servers.iter().any(|s| s.sid == server.sid) {
            return Err(at(
                i.to_string(),
                format!(
                    "server.{} is listed twice in this view; ZooKeeper refuses such a config",
                    server.sid
                ),
            ));
        }
        servers.push(server);
    }
    View::new(servers, None).map_err(|err| at(String::new(), err.to_string()))
}

impl<'de> Deserialize<'de> for ViewRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ViewRef, D::Error> {
        deserializer.deserialize_any(ViewRefVisitor)
    }
}

struct ViewRefVisitor;

impl<'de> Visitor<'de> for ViewRefVisitor {
    type Value = ViewRef;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a view name or a list of server lines")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<ViewRef, E> {
        Ok(ViewRef::Named(name.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ViewRef, A::Error> {
        let mut lines = Vec::new();
        while let Some(line) = seq.next_element::<String>()? {
            lines.push(line);
        }
        Ok(ViewRef::Lines(lines))
    }
}

impl<'de> Deserialize<'de> for NamedViews {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NamedViews, D::Error> {
        deserializer.deserialize_map(NamedViewsVisitor)
    }
}

struct NamedViewsVisitor;

impl<'de> Visitor<'de> for NamedViewsVisitor {
    type Value = NamedViews;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map from view names to lists of server lines")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NamedViews, A::Error> {
        let mut views: Vec<(String, Vec<String>)> = Vec::new();
        while let Some(name) = map.next_key_seed(NewName(&views))? {
            let lines = map.next_value()?;
            views.push((name, lines));
        }
        Ok(NamedViews(views))
    }
}

/// A view name not defined before; raising the error while reading the key puts it at the key.
struct NewName<'v>(&'v [(String, Vec<String>)]);

impl<'de> de::DeserializeSeed<'de> for NewName<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NewName<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a view name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<String, E> {
        if self.0.iter().any(|(known, _)| known == name) {
            Err(E::custom(format!("view `{name}` is defined twice")))
        } else {
            Ok(name.to_string())
        }
    }
}
