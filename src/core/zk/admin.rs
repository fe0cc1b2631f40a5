//! Answers of ZooKeeper's AdminServer (3.5+, Jetty, `http://HOST:8080/commands/<name>`), read
//! into the same types the four-letter words give, so everything downstream is blind to the
//! route. The AdminServer ignores `4lw.commands.whitelist`: on a server whose whitelist is the
//! 3.5.3+ default (`srvr` alone) it is the other way to `mntr` and to the view.
//!
//! What each command answers comes from `org.apache.zookeeper.server.admin.Commands` (3.8.0)
//! and was captured on real servers (`tests/fixtures/zk4lw/*.admin.*.json`):
//! - `srvr` (`SrvrCommand`, answering as `server_stats`): `version`, `server_stats`
//!   (`ServerStats`) and `node_count`, plus `proposal_stats` on a leader;
//! - `conf` (`ConfCommand`) prints `ZooKeeperServer.getConf()`, which in 3.8 holds no server
//!   lines (captured), so the view is read from `voting_view` instead;
//! - `mntr` (`MonitorCommand`): the `mntr` keys without their `zk_` prefix;
//! - `voting_view` (`VotingViewCommand`): `QuorumPeer.getVotingView()`, the voters only;
//! - `configuration` (`ConfCommand`, also `conf`): `ZooKeeperServerConf.toMap`, whose
//!   `server_id` is the server's own id, which neither `srvr` nor `voting_view` tells;
//! - on a server without quorum, `srvr` and `voting_view` answer 200 with an `error` field, and
//!   `mntr` answers HTTP 500 (`MonitorCommand.run` dereferences a null `zkServer`).

use serde_json::{Map, Value};

use crate::zk::config::{ConfigError, View};
use crate::zk::fourlw::{Answer, Latency, Mntr, Mode, ParseError, ProposalSizes, Srvr};
use crate::zk::version::ZkVersion;
use crate::zk::zxid::Zxid;

/// The AdminServer commands zkpilot asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminCommand {
    Srvr,
    Mntr,
    VotingView,
    Configuration,
}

impl AdminCommand {
    /// The request path.
    pub fn path(self) -> &'static str {
        match self {
            AdminCommand::Srvr => "/commands/srvr",
            AdminCommand::Mntr => "/commands/mntr",
            AdminCommand::VotingView => "/commands/voting_view",
            AdminCommand::Configuration => "/commands/configuration",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdminError {
    #[error("the AdminServer answered HTTP {0}")]
    Status(u16),
    #[error("the AdminServer's answer is not JSON: {0}")]
    NotJson(String),
    #[error("the AdminServer's {command} answer has no `{field}`")]
    MissingField {
        command: &'static str,
        field: &'static str,
    },
    #[error("the AdminServer's {command} answer has `{field}` = {value}, expected {expected}")]
    BadField {
        command: &'static str,
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("the AdminServer's {command} answer is an error: {message}")]
    Error {
        command: &'static str,
        message: String,
    },
    #[error(transparent)]
    Mntr(#[from] ParseError),
    #[error("the AdminServer's voting view lists servers zkpilot cannot read: {0}")]
    BadView(ConfigError),
}

const NOT_SERVING: &str = "not currently serving requests";

/// The JSON object of a 200 answer, or `NotServing` when it carries ZooKeeper's error for a
/// server without quorum.
fn object(
    command: &'static str,
    status: u16,
    body: &str,
) -> Result<Answer<Map<String, Value>>, AdminError> {
    if status != 200 {
        return Err(AdminError::Status(status));
    }
    let value: Value =
        serde_json::from_str(body).map_err(|e| AdminError::NotJson(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(AdminError::NotJson("not an object".into()));
    };
    match map.get("error") {
        None | Some(Value::Null) => Ok(Answer::Data(map)),
        Some(Value::String(message)) if message.contains(NOT_SERVING) => Ok(Answer::NotServing),
        Some(other) => Err(AdminError::Error {
            command,
            message: other.to_string(),
        }),
    }
}

/// A field that must be there, read by `read` (`Value::as_str`, …); missing or not of its
/// kind are both "missing".
fn field<'a, T>(
    map: &'a Map<String, Value>,
    command: &'static str,
    field: &'static str,
    read: impl FnOnce(&'a Value) -> Option<T>,
) -> Result<T, AdminError> {
    map.get(field)
        .and_then(read)
        .ok_or(AdminError::MissingField { command, field })
}

/// A number an answer must give: a whole one (`u64`) or a finite one (`f64`).
trait Figure: Sized {
    const EXPECTED: &'static str;
    fn of(value: &Value) -> Option<Self>;
}

impl Figure for u64 {
    const EXPECTED: &'static str = "a whole number";
    fn of(value: &Value) -> Option<u64> {
        value.as_u64()
    }
}

impl Figure for f64 {
    const EXPECTED: &'static str = "a number";
    fn of(value: &Value) -> Option<f64> {
        value.as_f64().filter(|v| v.is_finite())
    }
}

fn number<T: Figure>(
    map: &Map<String, Value>,
    command: &'static str,
    field: &'static str,
) -> Result<T, AdminError> {
    let value = map
        .get(field)
        .ok_or(AdminError::MissingField { command, field })?;
    T::of(value).ok_or_else(|| AdminError::BadField {
        command,
        field,
        value: value.to_string(),
        expected: T::EXPECTED,
    })
}

/// `/commands/srvr` as a [`Srvr`]: the same figures `srvr` prints, and the `uptime` it lacks.
pub fn parse_srvr(status: u16, body: &str) -> Result<Answer<Srvr>, AdminError> {
    const C: &str = "srvr";
    object(C, status, body)?.try_map(|map| {
        let version_text = field(&map, C, "version", Value::as_str)?;
        let stats = field(&map, C, "server_stats", Value::as_object)?;
        let state = field(stats, C, "server_state", Value::as_str)?;
        let mode = Mode::parse(state).ok_or_else(|| AdminError::BadField {
            command: C,
            field: "server_state",
            value: state.to_string(),
            expected: "leader, follower, observer, standalone or read-only",
        })?;
        // A leader's proposal sizes; -1 until its first proposal, as `srvr` prints them.
        let proposal_sizes = map
            .get("proposal_stats")
            .and_then(Value::as_object)
            .and_then(|p| {
                let size = |key: &str| p.get(key).and_then(Value::as_i64);
                Some(ProposalSizes {
                    last: size("last_buffer_size")?,
                    min: size("min_buffer_size")?,
                    max: size("max_buffer_size")?,
                })
            });
        Ok(Srvr {
            version: ZkVersion::parse(version_text),
            version_text: version_text.to_string(),
            latency: Latency {
                min: number(stats, C, "min_latency")?,
                avg: number(stats, C, "avg_latency")?,
                max: number(stats, C, "max_latency")?,
            },
            received: number(stats, C, "packets_received")?,
            sent: number(stats, C, "packets_sent")?,
            connections: stats
                .get("num_alive_client_connections")
                .and_then(Value::as_u64),
            outstanding: number(stats, C, "outstanding_requests")?,
            zxid: Zxid(number(stats, C, "last_processed_zxid")?),
            mode,
            node_count: number(&map, C, "node_count")?,
            proposal_sizes,
            uptime_ms: stats.get("uptime").and_then(Value::as_u64),
        })
    })
}

/// `/commands/mntr` as a [`Mntr`]: each key gets back the `zk_` prefix the 4lw answer has.
/// A server without quorum answers HTTP 500 here, which says "not serving", not "broken".
pub fn parse_mntr(status: u16, body: &str) -> Result<Answer<Mntr>, AdminError> {
    if status == 500 {
        return Ok(Answer::NotServing);
    }
    object("mntr", status, body)?.try_map(|map| {
        let entries = map
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "command" | "error"))
            .filter_map(|(key, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    _ => return None,
                };
                Some((format!("zk_{key}"), text))
            })
            .collect();
        Ok(Mntr::from_entries(entries)?)
    })
}

/// `/commands/configuration`: the server's own id (`server_id`, `ZooKeeperServerConf.toMap`).
/// A server without quorum answers with the "not serving" error.
pub fn parse_server_id(status: u16, body: &str) -> Result<Answer<u64>, AdminError> {
    const C: &str = "configuration";
    object(C, status, body)?.try_map(|map| number(&map, C, "server_id"))
}

/// `/commands/voting_view` as a [`View`] of the voters (observers are not in it).
pub fn parse_voting_view(status: u16, body: &str) -> Result<Answer<View>, AdminError> {
    const C: &str = "voting_view";
    object(C, status, body)?.try_map(|map| {
        let servers = field(&map, C, "current_config", Value::as_object)?;
        let mut lines = Vec::new();
        for (sid, server) in servers {
            let strings = |key: &str| -> Vec<&str> {
                server
                    .get(key)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default()
            };
            let quorum = strings("server_addresses");
            let election = strings("election_addresses");
            if quorum.is_empty() || quorum.len() != election.len() {
                return Err(AdminError::BadField {
                    command: C,
                    field: "server_addresses",
                    value: server.to_string(),
                    expected: "one election address per quorum address",
                });
            }
            // Each quorum address pairs with the election address on the same host, as the
            // `|`-joined addresses of a 3.6+ server line do.
            let addrs: Vec<String> = quorum
                .iter()
                .zip(&election)
                .map(|(q, e)| {
                    let port = e.rsplit_once(':').map_or(*e, |(_, port)| port);
                    format!("{q}:{port}")
                })
                .collect();
            let role = server
                .get("learner_type")
                .and_then(Value::as_str)
                .unwrap_or("participant");
            lines.push(format!("server.{sid}={}:{role}", addrs.join("|")));
        }
        View::parse_lines(lines.iter().map(String::as_str)).map_err(AdminError::BadView)
    })
}

/// `/commands/configuration` (`ConfCommand`, also answering as `conf` and `config`): what
/// `ZooKeeperServer.getConf().toMap()` holds. In 3.8 that is the server's own settings and no
/// server lines (captured: `*.admin.conf.json`), so it says where one server keeps its data
/// and listens for clients, never who its peers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConf {
    pub server_id: u64,
    /// `None` when the server listens only on `secureClientPort` (`client_port` is -1 or 0).
    pub client_port: Option<u16>,
    /// The data directory as the server resolved it (its `version-2` subdirectory).
    pub data_dir: Option<String>,
}

pub fn parse_conf(status: u16, body: &str) -> Result<Answer<AdminConf>, AdminError> {
    const C: &str = "configuration";
    object(C, status, body)?.try_map(|map| {
        let client_port = match map.get("client_port").and_then(Value::as_i64) {
            Some(port) => u16::try_from(port).ok().filter(|p| *p != 0),
            None => {
                return Err(AdminError::MissingField {
                    command: C,
                    field: "client_port",
                })
            }
        };
        Ok(AdminConf {
            server_id: number(&map, C, "server_id")?,
            client_port,
            data_dir: map
                .get("data_dir")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    })
}

/// `/commands/leader` (`LeaderCommand`): the server id this server follows or is, when it knows
/// one (`leader_id`; `QuorumPeer.getLeaderId()` is -1 while none is known).
pub fn parse_leader(status: u16, body: &str) -> Result<Answer<Option<u64>>, AdminError> {
    const C: &str = "leader";
    object(C, status, body)?.try_map(|map| {
        let id = field(&map, C, "leader_id", Value::as_i64)?;
        Ok(u64::try_from(id).ok())
    })
}

/// `/commands/observers` (`SyncedObserverConsCommand`) on the leader: the server ids of the
/// observers connected to it. Their addresses are not in it (`remote_socket_address` is the
/// observer's outgoing socket, e.g. `/127.0.0.1:47614` on loopback, captured), and no
/// AdminServer answer of 3.8 gives an observer's peer address.
pub fn parse_observers(status: u16, body: &str) -> Result<Answer<Vec<u64>>, AdminError> {
    const C: &str = "observers";
    object(C, status, body)?.try_map(|map| {
        let list = field(&map, C, "observers", Value::as_array)?;
        let mut sids = Vec::new();
        for observer in list {
            let sid =
                observer
                    .get("sid")
                    .and_then(Value::as_u64)
                    .ok_or(AdminError::MissingField {
                        command: C,
                        field: "sid",
                    })?;
            sids.push(sid);
        }
        sids.sort_unstable();
        sids.dedup();
        Ok(sids)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::fourlw::CAPTURED_LEADER_PROPOSALS;

    #[test]
    fn the_configuration_tells_the_servers_own_id() {
        assert_eq!(
            parse_server_id(200, zk4lw!("follower.admin.conf.json")),
            Ok(Answer::Data(1))
        );
        assert_eq!(
            parse_server_id(200, zk4lw!("looking.admin.conf.json")),
            Ok(Answer::NotServing)
        );
        assert!(parse_server_id(200, "{\"error\": null}").is_err());
    }

    /// The same figures as the 4lw answer of the same server a few seconds apart.
    #[test]
    fn srvr_reads_the_captured_leader_like_its_4lw_answer() {
        let Answer::Data(srvr) = parse_srvr(200, zk4lw!("leader.admin.srvr.json")).unwrap() else {
            panic!("no data");
        };
        assert_eq!(srvr.mode, Mode::Leader);
        assert_eq!(srvr.zxid, Zxid(0x1_0000_000b));
        assert_eq!(srvr.zxid.epoch(), 1);
        assert_eq!((srvr.received, srvr.sent), (27, 30));
        assert_eq!(srvr.node_count, 11);
        assert_eq!(srvr.uptime_ms, Some(3312));
        assert_eq!(srvr.latency.avg, 4.0);
        assert_eq!(srvr.proposal_sizes, Some(CAPTURED_LEADER_PROPOSALS));
        assert!(srvr.version.is_some());
        let Answer::Data(follower) = parse_srvr(200, zk4lw!("follower.admin.srvr.json")).unwrap()
        else {
            panic!("no data");
        };
        assert_eq!(follower.mode, Mode::Follower);
        assert_eq!(follower.proposal_sizes, None);
    }

    #[test]
    fn a_server_without_quorum_is_not_serving_on_every_route() {
        assert_eq!(
            parse_srvr(200, zk4lw!("looking.admin.srvr.json")).unwrap(),
            Answer::NotServing
        );
        assert_eq!(
            parse_mntr(500, "<html>…</html>").unwrap(),
            Answer::NotServing
        );
    }

    #[test]
    fn mntr_gets_its_zk_prefix_back_and_the_sync_figures_read_as_from_4lw() {
        let Answer::Data(mntr) = parse_mntr(200, zk4lw!("leader.admin.mntr.json")).unwrap() else {
            panic!("no data");
        };
        assert_eq!(mntr.server_state(), Mode::Leader);
        assert_eq!(mntr.synced_followers(), Some(2));
        assert_eq!(mntr.synced_voting_followers(), Some(2));
        assert_eq!(mntr.synced_observers(), Some(1));
        assert_eq!(mntr.pending_syncs(), Some(0));
        assert_eq!(mntr.avg_latency(), Some(4.0));
        assert!(mntr.peer_state().is_some());
        let Answer::Data(standalone) =
            parse_mntr(200, zk4lw!("standalone-whitelist-srvr.admin.mntr.json")).unwrap()
        else {
            panic!("the AdminServer answers mntr whatever the 4lw whitelist says");
        };
        assert_eq!(standalone.server_state(), Mode::Standalone);
    }

    #[test]
    fn voting_view_is_a_view_of_the_voters() {
        let Answer::Data(view) =
            parse_voting_view(200, zk4lw!("follower.admin.voting_view.json")).unwrap()
        else {
            panic!("no data");
        };
        assert_eq!(view.participant_count(), 3);
        let expected = View::parse_lines([
            "server.1=127.77.1.1:2888:3888",
            "server.2=127.77.1.2:2888:3888",
            "server.3=127.77.1.3:2888:3888",
        ])
        .unwrap();
        assert!(view.same_membership(&expected), "{view}");
    }

    #[test]
    fn broken_answers_are_errors_not_panics() {
        assert!(matches!(parse_srvr(404, ""), Err(AdminError::Status(404))));
        assert!(matches!(parse_srvr(200, "{"), Err(AdminError::NotJson(_))));
        assert!(matches!(
            parse_srvr(200, "{\"version\": \"3.8.0\"}"),
            Err(AdminError::MissingField { .. })
        ));
        assert!(parse_voting_view(200, "{\"current_config\": {\"1\": {}}}").is_err());
        let body = zk4lw!("leader.admin.srvr.json");
        for cut in (0..body.len()).step_by(7) {
            let _ = parse_srvr(200, body.get(..cut).unwrap_or_default());
        }
    }
}
