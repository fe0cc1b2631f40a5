//! Server lines and config views: what each node believes the ensemble is.
//!
//! A node's *view* is the `server.N=` list it was started with (or last reconfigured to). It
//! decides whose votes the node counts and where it dials its peers, so two nodes with different
//! views can disagree about what a majority is — the root of every split brain zkpilot warns about.

use std::fmt;
use std::sync::Arc;

/// Whether a server votes. Observers follow the leader but never vote or count towards a quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerRole {
    Participant,
    Observer,
}

impl fmt::Display for PeerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRole::Participant => "participant",
            PeerRole::Observer => "observer",
        })
    }
}

/// Where a server listens for its peers: `host:quorumPort:electionPort`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct PeerAddr {
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
}

impl PeerAddr {
    /// Parses `host:quorumPort:electionPort`; an IPv6 host is written in brackets. The host is
    /// kept in lower case.
    pub fn parse(text: &str) -> Result<PeerAddr, ConfigError> {
        let text = text.trim();
        let (host, rest) = split_host(text).ok_or_else(|| ConfigError::BadAddress {
            text: text.to_string(),
            reason: "expected host:quorumPort:electionPort",
        })?;
        // A host travels from a server's answer into other servers' configs and commands: a
        // carriage return in it would start a line of its own in `zoo.cfg` (Java's
        // `Properties` reads it as a line break), so only what names a host gets through.
        if !is_host(host, text.starts_with('[')) {
            return Err(ConfigError::BadAddress {
                text: text.to_string(),
                reason: "a host is at most 253 letters, digits, '.', '-' and '_' (an IPv6 address in brackets)",
            });
        }
        let mut ports = rest.split(':');
        let quorum_port = parse_port(ports.next(), text)?;
        let election_port = parse_port(ports.next(), text)?;
        if ports.next().is_some() {
            return Err(ConfigError::BadAddress {
                text: text.to_string(),
                reason: "expected host:quorumPort:electionPort",
            });
        }
        // Host names are resolved without regard to case (DNS, RFC 4343; the hosts file
        // alike), so `ZK3` is where `zk3` is. Measured on 3.8.0: two servers on 127.0.0.1, one
        // listing the other as `LOCALHOST`, the other as `LocalHost`, elect a leader and a
        // follower, where comparing as written said no quorum can form.
        Ok(PeerAddr {
            host: host.to_ascii_lowercase(),
            quorum_port,
            election_port,
        })
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An IPv6 host is bracketed, as ZooKeeper writes it, so its colons are not the ports'.
        let (open, close) = if self.host.contains(':') {
            ("[", "]")
        } else {
            ("", "")
        };
        let (quorum, election) = (self.quorum_port, self.election_port);
        write!(f, "{open}{}{close}:{quorum}:{election}", self.host)
    }
}

/// Splits `host:rest` or `[v6]:rest` into the host and what follows its colon.
fn split_host(text: &str) -> Option<(&str, &str)> {
    if let Some(stripped) = text.strip_prefix('[') {
        let end = stripped.find(']')?;
        let rest = stripped[end + 1..].strip_prefix(':')?;
        Some((&stripped[..end], rest))
    } else {
        let (host, rest) = text.split_once(':')?;
        (!host.is_empty()).then_some((host, rest))
    }
}

/// A DNS name or IPv4 address, or inside brackets an IPv6 address with its zone.
/// The largest server id ZooKeeper starts with: it reads `myid` and each `server.N` key as a
/// Java `long` (`QuorumPeerConfig.setupMyId`, `QuorumMaj(Properties)`: `Long.parseLong`).
/// Measured on 3.8.0: myid 9223372036854775807 runs and elects; 9223372036854775808 exits with
/// code 2 at start ("Invalid config", `NumberFormatException`).
pub const MAX_SID: u64 = i64::MAX as u64;

/// Why a larger id is refused, in the words every file's error uses.
pub const SID_TOO_LARGE: &str =
    "ZooKeeper reads a server id as a Java long: at most 9223372036854775807";

/// The longest host name DNS allows: no longer one gets through from a server's answer.
const MAX_HOST_BYTES: usize = 253;

/// The most servers one view may list: as many as the analyzer weighs (`quorum::MAX_NODES`).
/// A server's `conf` answer is capped by size alone, and a view of hundreds of thousands of
/// short lines would make every snapshot of the audit log too long to record.
pub const MAX_VIEW_SERVERS: usize = 512;

fn is_host(host: &str, bracketed: bool) -> bool {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || match bracketed {
                true => matches!(c, ':' | '.' | '%'),
                false => matches!(c, '.' | '-' | '_'),
            }
    };
    !host.is_empty() && host.len() <= MAX_HOST_BYTES && host.chars().all(allowed)
}

/// The client address after `;`: `host:port`, `[v6]:port` or a port alone, as a server
/// writes it.
fn is_client_address(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']' | '%'))
}

fn parse_port(part: Option<&str>, whole: &str) -> Result<u16, ConfigError> {
    part.and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p != 0)
        .ok_or_else(|| ConfigError::BadAddress {
            text: whole.to_string(),
            reason: "ports must be numbers from 1 to 65535",
        })
}

/// One `server.N=...` line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerLine {
    pub sid: u64,
    /// ZooKeeper 3.6+ accepts several addresses joined by `|`; a peer is reachable at any of them.
    pub addrs: Vec<PeerAddr>,
    pub role: PeerRole,
    /// The client address after `;` (3.5+ dynamic form), as written.
    pub client: Option<String>,
}

impl ServerLine {
    /// Parses `server.N=host:quorum:election[:participant|:observer][;client]`.
    pub fn parse(line: &str) -> Result<ServerLine, ConfigError> {
        let bad = |reason: &'static str| ConfigError::BadServerLine {
            line: line.to_string(),
            reason,
        };
        let (key, value) = line
            .trim()
            .split_once('=')
            .ok_or_else(|| bad("missing '='"))?;
        let sid = key
            .trim()
            .strip_prefix("server.")
            .ok_or_else(|| bad("the key must be server.N"))?
            .parse::<u64>()
            .map_err(|_| bad("the server id after 'server.' must be a whole number"))?;
        if sid > MAX_SID {
            return Err(bad(SID_TOO_LARGE));
        }
        let (peer, client) = match value.split_once(';') {
            Some((peer, client)) => (peer, Some(client.trim().to_string())),
            None => (value, None),
        };
        if client.as_deref().is_some_and(|c| !is_client_address(c)) {
            return Err(bad(
                "the client address after ';' is host:port, letters, digits and '.-_:[]%' only",
            ));
        }
        let mut addrs = Vec::new();
        let mut role = PeerRole::Participant;
        for (index, part) in peer.split('|').enumerate() {
            let (addr_text, part_role) = split_role(part.trim());
            if let Some(part_role) = part_role {
                if index > 0 && part_role != role {
                    return Err(bad("addresses of one server disagree about its role"));
                }
                role = part_role;
            }
            let addr = PeerAddr::parse(addr_text).map_err(|e| match e {
                ConfigError::BadAddress { reason, .. } => bad(reason),
                other => other,
            })?;
            addrs.push(addr);
        }
        Ok(ServerLine {
            sid,
            addrs,
            role,
            client: client.filter(|c| !c.is_empty()),
        })
    }

    /// The address peers dial first.
    pub fn primary_addr(&self) -> &PeerAddr {
        // `parse` never yields a line without an address.
        &self.addrs[0]
    }

    pub fn has_addr(&self, addr: &PeerAddr) -> bool {
        self.addrs.iter().any(|a| a == addr)
    }
}

/// Splits a trailing `:participant` / `:observer` off an address.
fn split_role(text: &str) -> (&str, Option<PeerRole>) {
    for (suffix, role) in [
        (":participant", PeerRole::Participant),
        (":observer", PeerRole::Observer),
    ] {
        if let Some(addr) = text.strip_suffix(suffix) {
            return (addr, Some(role));
        }
    }
    (text, None)
}

impl fmt::Display for ServerLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server.{}=", self.sid)?;
        for (index, addr) in self.addrs.iter().enumerate() {
            if index > 0 {
                f.write_str("|")?;
            }
            write!(f, "{addr}")?;
        }
        if self.role == PeerRole::Observer {
            f.write_str(":observer")?;
        }
        if let Some(client) = &self.client {
            write!(f, ";{client}")?;
        }
        Ok(())
    }
}

/// A node's view of the ensemble: its server lines, sorted by sid, and the dynamic config
/// version when the node reports one (3.5+). The lines never change once built, and they are
/// shared: the synthesizer copies a view into every ensemble it judges (millions of them), and
/// a copy is a reference count.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct View {
    #[serde(serialize_with = "lines")]
    servers: Arc<[ServerLine]>,
    pub version: Option<u64>,
}

fn lines<S: serde::Serializer>(servers: &Arc<[ServerLine]>, out: S) -> Result<S::Ok, S::Error> {
    out.collect_seq(servers.iter())
}

impl View {
    /// Builds a view; the same sid twice is an error, as ZooKeeper refuses such a config.
    pub fn new(mut servers: Vec<ServerLine>, version: Option<u64>) -> Result<View, ConfigError> {
        if servers.len() > MAX_VIEW_SERVERS {
            return Err(ConfigError::TooManyServers(servers.len()));
        }
        servers.sort_by_key(|s| s.sid);
        if let Some(pair) = servers.windows(2).find(|w| w[0].sid == w[1].sid) {
            return Err(ConfigError::DuplicateSid(pair[0].sid));
        }
        Ok(View {
            servers: servers.into(),
            version,
        })
    }

    /// Parses server lines, ignoring blank lines and everything that is not `server.N=`, so a
    /// whole `zoo.cfg` or a `conf` answer can be passed in.
    pub fn parse_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<View, ConfigError> {
        let mut servers = Vec::new();
        let mut version = None;
        for line in lines {
            let line = line.trim();
            if line.starts_with("server.") {
                if servers.len() == MAX_VIEW_SERVERS {
                    return Err(ConfigError::TooManyServers(MAX_VIEW_SERVERS + 1));
                }
                servers.push(ServerLine::parse(line)?);
            } else if let Some(hex) = line.strip_prefix("version=") {
                version = Some(
                    u64::from_str_radix(hex.trim(), 16)
                        .map_err(|_| ConfigError::BadVersion(hex.trim().to_string()))?,
                );
            }
        }
        View::new(servers, version)
    }

    pub fn servers(&self) -> &[ServerLine] {
        &self.servers
    }

    pub fn server(&self, sid: u64) -> Option<&ServerLine> {
        self.servers
            .binary_search_by_key(&sid, |s| s.sid)
            .ok()
            .map(|i| &self.servers[i])
    }

    /// The voting members: what this node counts votes from.
    pub fn participants(&self) -> impl Iterator<Item = &ServerLine> {
        self.servers
            .iter()
            .filter(|s| s.role == PeerRole::Participant)
    }

    pub fn is_participant(&self, sid: u64) -> bool {
        self.server(sid)
            .is_some_and(|s| s.role == PeerRole::Participant)
    }

    pub fn participant_count(&self) -> usize {
        self.participants().count()
    }

    /// The same view without its observers: what a source that lists only voters can show.
    pub fn voters_only(&self) -> View {
        View {
            servers: self.participants().cloned().collect(),
            version: self.version,
        }
    }

    /// Votes needed for a quorum in this view: a strict majority of its participants.
    pub fn majority(&self) -> usize {
        self.participant_count() / 2 + 1
    }

    /// True when both views list the same servers with the same addresses and roles; the config
    /// version and client addresses do not change who votes or where peers dial.
    pub fn same_membership(&self, other: &View) -> bool {
        self.servers.len() == other.servers.len()
            && self
                .servers
                .iter()
                .zip(other.servers.iter())
                .all(|(a, b)| a.sid == b.sid && a.addrs == b.addrs && a.role == b.role)
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, server) in self.servers.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{server}")?;
        }
        Ok(())
    }
}

/// The dynamic config file a 3.5+ `zoo.cfg` names when its server lines live there instead
/// (`QuorumPeerConfig.parseProperties` reads `dynamicConfigFile`, the last one winning, and
/// takes `server.N` lines from that file): `None` when the text has server lines of its own.
pub fn dynamic_config_file(zoo_cfg: &str) -> Option<&str> {
    let mut file = None;
    for line in zoo_cfg.lines().map(str::trim) {
        if line.starts_with("server.") {
            return None;
        }
        if let Some(path) = line.strip_prefix("dynamicConfigFile=") {
            file = Some(path.trim()).filter(|p| !p.is_empty());
        }
    }
    file
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("bad server line `{line}`: {reason}")]
    BadServerLine { line: String, reason: &'static str },
    #[error("bad peer address `{text}`: {reason}")]
    BadAddress { text: String, reason: &'static str },
    #[error("server.{0} is listed twice")]
    DuplicateSid(u64),
    #[error("bad config version `{0}`: expected hexadecimal")]
    BadVersion(String),
    #[error("{0} or more servers listed: a view lists at most {MAX_VIEW_SERVERS}")]
    TooManyServers(usize),
}

/// `quorumListenOnAllIPs` as a `zoo.cfg` sets it: `QuorumPeerConfig.parseProperties` reads the
/// key with `parseBoolean` (`true`/`false`, any case; anything else refuses to start) and
/// defaults to false when it is absent. `None` for a value ZooKeeper would refuse.
pub fn listen_on_all_ips(zoo_cfg: &str) -> Option<bool> {
    let mut setting = Some(false);
    for line in zoo_cfg.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "quorumListenOnAllIPs" {
            continue;
        }
        // java.util.Properties: the last occurrence of a key wins.
        setting = match value.trim() {
            v if v.eq_ignore_ascii_case("true") => Some(true),
            v if v.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        };
    }
    setting
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's answer is untrusted: a view of more servers than the analyzer weighs, or a
    /// host longer than DNS allows, is refused where it is read. Both got through (a `conf` of
    /// 215 267 short lines made every audit snapshot too long to record, halting `run`).
    #[test]
    fn a_view_of_too_many_servers_too_large_an_id_or_too_long_a_host_is_refused() {
        let line = |sid: usize| format!("server.{sid}=a:1:2");
        let most: Vec<String> = (1..=MAX_VIEW_SERVERS).map(line).collect();
        assert!(View::parse_lines(most.iter().map(String::as_str)).is_ok());
        let more: Vec<String> = (1..=MAX_VIEW_SERVERS * 400).map(line).collect();
        assert_eq!(
            View::parse_lines(more.iter().map(String::as_str)),
            Err(ConfigError::TooManyServers(MAX_VIEW_SERVERS + 1))
        );
        assert!(ServerLine::parse("server.9223372036854775807=a:1:2").is_ok());
        assert!(ServerLine::parse("server.9223372036854775808=a:1:2").is_err());
        let host = |len: usize| format!("{}:2888:3888", "h".repeat(len));
        assert!(PeerAddr::parse(&host(MAX_HOST_BYTES)).is_ok());
        assert!(PeerAddr::parse(&host(MAX_HOST_BYTES + 1)).is_err());
    }

    #[test]
    fn a_dynamic_config_file_is_named_only_when_zoo_cfg_has_no_server_lines() {
        let dynamic = "tickTime=500\ndynamicConfigFile=/a/zoo.cfg.dynamic.100000000\n";
        assert_eq!(
            dynamic_config_file(dynamic),
            Some("/a/zoo.cfg.dynamic.100000000")
        );
        let both = "server.1=a:2888:3888\ndynamicConfigFile=/a/d\n";
        assert_eq!(dynamic_config_file(both), None);
        assert_eq!(dynamic_config_file("tickTime=500\n"), None);
    }

    fn addr(host: &str) -> PeerAddr {
        PeerAddr {
            host: host.into(),
            quorum_port: 2888,
            election_port: 3888,
        }
    }

    #[test]
    fn parses_the_static_3_4_form() {
        let line = ServerLine::parse("server.3=r:2888:3888").unwrap();
        assert_eq!(line.sid, 3);
        assert_eq!(line.addrs, vec![addr("r")]);
        assert_eq!(line.role, PeerRole::Participant);
        assert_eq!(line.client, None);
    }

    #[test]
    fn parses_roles_and_the_dynamic_client_part() {
        let line =
            ServerLine::parse("server.4=127.0.0.5:2888:3888:observer;127.0.0.5:2181").unwrap();
        assert_eq!(line.role, PeerRole::Observer);
        assert_eq!(line.client.as_deref(), Some("127.0.0.5:2181"));
        assert_eq!(
            line.to_string(),
            "server.4=127.0.0.5:2888:3888:observer;127.0.0.5:2181"
        );
    }

    #[test]
    fn parses_ipv6_and_multiple_addresses() {
        let line = ServerLine::parse("server.1=[::1]:2888:3888|h2:2889:3889:participant").unwrap();
        assert_eq!(line.addrs[0].host, "::1");
        assert_eq!(line.addrs[1], PeerAddr::parse("h2:2889:3889").unwrap());
        assert_eq!(line.to_string(), "server.1=[::1]:2888:3888|h2:2889:3889");
    }

    #[test]
    fn rejects_malformed_lines_with_a_reason() {
        for bad in [
            "server.x=h:1:2",
            "srv.1=h:1:2",
            "server.1",
            "server.1=h:1",
            "server.1=h:1:2:3",
            "server.1=h:0:2",
            "server.1=:1:2",
            "server.1=h:99999:2",
            // Hosts that would not survive a round trip, or would break a config line.
            "server.1=[]:2888:3888",
            "server.1=[[a]:2888:3888",
            "server.1=ev\rdataDir=/tmp/pwn\rx:2888:3888",
            "server.1=a b:2888:3888",
            "server.1=a\u{2028}b:2888:3888",
            "server.1=$(id):2888:3888",
            "server.1=[::1\n]:2888:3888",
            "server.1=h:2888:3888;0.0.0.0:2181\rdataDir=/x",
        ] {
            assert!(ServerLine::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn view_from_a_conf_answer() {
        let conf = "serverId=1\nmembership: \nserver.2=b:2888:3888:participant\n\
                    server.1=a:2888:3888:participant\nserver.3=c:2888:3888:observer\nversion=100000003";
        let view = View::parse_lines(conf.lines()).unwrap();
        assert_eq!(view.version, Some(0x1_0000_0003));
        assert_eq!(
            view.servers().iter().map(|s| s.sid).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(view.participant_count(), 2);
        assert_eq!(view.majority(), 2);
        assert!(view.is_participant(2) && !view.is_participant(3) && !view.is_participant(9));
    }

    #[test]
    fn listen_on_all_ips_is_read_as_zookeeper_reads_it() {
        assert_eq!(listen_on_all_ips("server.1=a:1:2\n"), Some(false));
        assert_eq!(
            listen_on_all_ips("quorumListenOnAllIPs=TRUE \nserver.1=a:1:2"),
            Some(true)
        );
        assert_eq!(
            listen_on_all_ips("quorumListenOnAllIPs=true\nquorumListenOnAllIPs=false"),
            Some(false)
        );
        assert_eq!(listen_on_all_ips("quorumListenOnAllIPs=yes"), None);
    }

    #[test]
    fn duplicate_sids_are_refused() {
        let err = View::parse_lines(["server.1=a:1:2", "server.1=b:1:2"]).unwrap_err();
        assert_eq!(err, ConfigError::DuplicateSid(1));
    }

    #[test]
    fn membership_ignores_version_and_client_address() {
        let a = View::parse_lines(["server.1=a:1:2;a:2181", "version=1"]).unwrap();
        let b = View::parse_lines(["server.1=a:1:2", "version=2"]).unwrap();
        let c = View::parse_lines(["server.1=z:1:2"]).unwrap();
        assert!(a.same_membership(&b));
        assert!(!a.same_membership(&c));
    }
}
