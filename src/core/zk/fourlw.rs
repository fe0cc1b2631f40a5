//! Parsers for the four-letter-word answers zkpilot reads (`srvr`, `mntr`, `conf`), as ZooKeeper
//! 3.4 through 3.9 print them. Other words are only ever read as text, by `fourlw` gates.
//!
//! Every parser takes the answer exactly as read from the socket until ZooKeeper closed the
//! connection, without trimming: most answers are written with Java's `println`, so a complete
//! one ends with a newline and a missing final newline is how a cut answer is told apart.
//!
//! Every parser first recognises the answers that carry no data, whichever command was sent:
//! a node without quorum (LOOKING) refuses most commands as "not currently serving requests",
//! 3.4.10+ refuses commands left out of `4lw.commands.whitelist` (since 3.5.3 only `srvr` is in
//! it by default), and unknown words get an empty answer. A caller tells the five outcomes apart
//! with [`AnswerKind::of`].

use std::fmt;
use std::str::FromStr;

use crate::zk::config::{ConfigError, ServerLine, View};
use crate::zk::version::ZkVersion;
use crate::zk::zxid::Zxid;

/// The four-letter words zkpilot sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Srvr,
    Stat,
    Mntr,
    Conf,
    Ruok,
    Isro,
    Envi,
    Cons,
    Wchs,
}

impl Command {
    pub const ALL: [Command; 9] = [
        Command::Srvr,
        Command::Stat,
        Command::Mntr,
        Command::Conf,
        Command::Ruok,
        Command::Isro,
        Command::Envi,
        Command::Cons,
        Command::Wchs,
    ];

    /// The word to send, exactly these 4 bytes: with fewer ZooKeeper waits for the rest until the
    /// client gives up, and an upper-case or unknown word gets an empty answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Srvr => "srvr",
            Command::Stat => "stat",
            Command::Mntr => "mntr",
            Command::Conf => "conf",
            Command::Ruok => "ruok",
            Command::Isro => "isro",
            Command::Envi => "envi",
            Command::Cons => "cons",
            Command::Wchs => "wchs",
        }
    }

    /// Whether ZooKeeper ends a complete answer with a newline. `ruok` and `isro` are written
    /// with `print`, and since 3.5 `conf` ends with the membership's `version=` without one.
    fn ends_with_newline(self) -> bool {
        !matches!(self, Command::Conf | Command::Ruok | Command::Isro)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a node answered to a command.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer<T> {
    Data(T),
    /// "This ZooKeeper instance is not currently serving requests": the node has no quorum
    /// (LOOKING, or an observer whose voters are gone). `isro` says `null` in that state.
    NotServing,
    /// "<cmd> is not executed because it is not in the whitelist.": ask for another command or
    /// use the AdminServer, which ignores the 4lw whitelist.
    NotWhitelisted,
    /// Nothing: ZooKeeper's answer to a word it does not know (or has disabled).
    Empty,
}

impl<T> Answer<T> {
    pub fn kind(&self) -> AnswerKind {
        match self {
            Answer::Data(_) => AnswerKind::Data,
            Answer::NotServing => AnswerKind::NotServing,
            Answer::NotWhitelisted => AnswerKind::NotWhitelisted,
            Answer::Empty => AnswerKind::Empty,
        }
    }

    pub fn data(&self) -> Option<&T> {
        match self {
            Answer::Data(data) => Some(data),
            _ => None,
        }
    }

    /// The data read by `read`, or the same answer without data: how a parser passes "not
    /// serving" and the like through while it reads the data.
    pub fn try_map<U, E>(self, read: impl FnOnce(T) -> Result<U, E>) -> Result<Answer<U>, E> {
        Ok(match self {
            Answer::Data(data) => Answer::Data(read(data)?),
            Answer::NotServing => Answer::NotServing,
            Answer::NotWhitelisted => Answer::NotWhitelisted,
            Answer::Empty => Answer::Empty,
        })
    }
}

/// The outcome of one poll, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    Data,
    NotServing,
    NotWhitelisted,
    Empty,
    Unparsable,
}

impl AnswerKind {
    pub fn of<T>(parsed: &Result<Answer<T>, ParseError>) -> AnswerKind {
        match parsed {
            Ok(answer) => answer.kind(),
            Err(_) => AnswerKind::Unparsable,
        }
    }
}

/// Why an answer could not be read. Messages name the command and the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "the {command} answer stops before its end: it was cut short; read until ZooKeeper \
         closes the connection and check the read timeout"
    )]
    Truncated { command: Command },
    #[error(
        "the {command} answer has no `{field}`: it was cut short or is not a ZooKeeper \
         {command} answer"
    )]
    MissingField {
        command: Command,
        field: &'static str,
    },
    #[error("the {command} answer has `{field}` = `{value}`, expected {expected}")]
    BadField {
        command: Command,
        field: String,
        value: String,
        expected: &'static str,
    },
    #[error("the {command} answer lists `{field}` twice, so zkpilot cannot tell which is right")]
    DuplicateField { command: Command, field: String },
    #[error("line {line} of the {command} answer is not {expected}: `{text}`")]
    UnexpectedLine {
        command: Command,
        line: usize,
        text: String,
        expected: &'static str,
    },
    #[error("the conf answer lists servers zkpilot cannot read: {0}")]
    BadView(ConfigError),
}

const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";
const NOT_WHITELISTED: &str = " is not executed because it is not in the whitelist.";

/// Long enough to recognise a line in an error message, short enough for one screen line.
const EXCERPT_CHARS: usize = 80;

/// The start of `text`, at most `EXCERPT_CHARS` characters, `…` where it was cut: how a
/// server's words are quoted in a message.
pub fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let mut short: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

/// Classifies the answers that carry no data, then hands the rest to `parse_data`.
fn answer<T>(
    command: Command,
    text: &str,
    parse_data: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<Answer<T>, ParseError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Answer::Empty);
    }
    if trimmed == NOT_SERVING {
        return Ok(Answer::NotServing);
    }
    if trimmed
        .strip_suffix(NOT_WHITELISTED)
        .is_some_and(|word| !word.is_empty() && !word.contains(char::is_whitespace))
    {
        return Ok(Answer::NotWhitelisted);
    }
    if command.ends_with_newline() && !text.ends_with('\n') {
        return Err(ParseError::Truncated { command });
    }
    parse_data(text).map(Answer::Data)
}

/// What a server says it is: the `Mode:` of `srvr`/`stat` and `zk_server_state` of `mntr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    #[serde(rename = "leader")]
    Leader,
    #[serde(rename = "follower")]
    Follower,
    #[serde(rename = "observer")]
    Observer,
    /// No `server.N` lines: a single server that is its own quorum.
    #[serde(rename = "standalone")]
    Standalone,
    /// A server with `readonlymode.enabled=true` that lost its quorum and serves reads only.
    #[serde(rename = "read-only")]
    ReadOnly,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            Mode::Standalone => "standalone",
            Mode::ReadOnly => "read-only",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        [
            Mode::Leader,
            Mode::Follower,
            Mode::Observer,
            Mode::Standalone,
            Mode::ReadOnly,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == text.trim())
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request latency in milliseconds. 3.4 prints whole numbers (`0/0/5`), 3.5+ a decimal
/// average (`1/4.0/6`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Latency {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// Sizes in bytes of the leader's proposals (leaders only, 3.6+); -1 until the first proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ProposalSizes {
    pub last: i64,
    pub min: i64,
    pub max: i64,
}

/// The proposal sizes of the captured 3.8.0 leader (`tests/fixtures/zk4lw/leader.srvr.txt`
/// and its AdminServer twin), which the parsers' tests expect.
#[cfg(any(test, feature = "testing"))]
pub const CAPTURED_LEADER_PROPOSALS: ProposalSizes = ProposalSizes {
    last: 95,
    min: 48,
    max: 95,
};

/// The `srvr` answer: the one command every ZooKeeper since 3.5.3 answers by default.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Srvr {
    /// `None` when the version text does not start with a number (a vendor build).
    #[serde(serialize_with = "serialize_version")]
    pub version: Option<ZkVersion>,
    /// As printed, e.g. `3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC`.
    pub version_text: String,
    pub latency: Latency,
    pub received: u64,
    pub sent: u64,
    /// Optional: not every release prints it.
    pub connections: Option<u64>,
    pub outstanding: u64,
    pub zxid: Zxid,
    pub mode: Mode,
    pub node_count: u64,
    pub proposal_sizes: Option<ProposalSizes>,
    /// Milliseconds since this server instance started; only the AdminServer's `srvr` has it.
    pub uptime_ms: Option<u64>,
}

fn serialize_version<S: serde::Serializer>(
    version: &Option<ZkVersion>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match version {
        Some(version) => serializer.collect_str(version),
        None => serializer.serialize_none(),
    }
}

pub fn parse_srvr(text: &str) -> Result<Answer<Srvr>, ParseError> {
    answer(Command::Srvr, text, |text| {
        parse_server_stats(Command::Srvr, text)
    })
}

/// The most `Key: value` lines a `srvr` or `stat` answer may hold (3.8 prints 11).
const MAX_STATS_FIELDS: usize = 64;

/// `Key: value` lines, each key at most once.
struct Fields<'a> {
    command: Command,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn insert(&mut self, key: &'a str, value: &'a str) -> Result<(), ParseError> {
        if self.get(key).is_some() {
            return Err(ParseError::DuplicateField {
                command: self.command,
                field: excerpt(key),
            });
        }
        self.fields.push((key, value));
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, value)| *value)
    }

    fn required(&self, key: &'static str) -> Result<&'a str, ParseError> {
        self.get(key).ok_or(ParseError::MissingField {
            command: self.command,
            field: key,
        })
    }

    fn bad(&self, key: &str, value: &str, expected: &'static str) -> ParseError {
        ParseError::BadField {
            command: self.command,
            field: key.to_string(),
            value: excerpt(value),
            expected,
        }
    }

    fn number<T: FromStr>(&self, key: &str, value: &str) -> Result<T, ParseError> {
        value
            .trim()
            .parse()
            .map_err(|_| self.bad(key, value, "a whole number"))
    }

    fn optional_number<T: FromStr>(&self, key: &'static str) -> Result<Option<T>, ParseError> {
        self.get(key)
            .map(|value| self.number(key, value))
            .transpose()
    }

    fn required_number<T: FromStr>(&self, key: &'static str) -> Result<T, ParseError> {
        self.number(key, self.required(key)?)
    }

    /// `a/b/c`, the form of the latency and proposal size lines.
    fn triple<T>(
        &self,
        key: &str,
        value: &str,
        part: impl Fn(&str) -> Option<T>,
        expected: &'static str,
    ) -> Result<[T; 3], ParseError> {
        let mut parts = value.split('/').map(|p| part(p.trim()));
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Ok([a, b, c]),
            _ => Err(self.bad(key, value, expected)),
        }
    }
}

fn finite(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Parses the `Key: value` body `srvr` prints (`stat` prints the same with its clients).
fn parse_server_stats(command: Command, text: &str) -> Result<Srvr, ParseError> {
    let mut fields = Fields {
        command,
        fields: Vec::new(),
    };
    for (index, line) in text.lines().enumerate() {
        // Indented lines are `stat`'s clients, which `srvr` never prints; other lines carry
        // nothing the fields do not: 3.4's read-only server adds the banner "READ-ONLY mode;
        // serving only read-only clients" next to `Mode: read-only`.
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            // Each key is looked for among those before it: an answer of endless keys would
            // cost the poll minutes, where ZooKeeper prints about a dozen.
            if fields.fields.len() == MAX_STATS_FIELDS {
                return Err(ParseError::UnexpectedLine {
                    command,
                    line: index + 1,
                    text: excerpt(line),
                    expected: "one of the few `Key: value` lines ZooKeeper prints here",
                });
            }
            fields.insert(key.trim(), value.trim())?;
        }
    }

    let version_text = fields.required("Zookeeper version")?;
    const LATENCY: &str = "Latency min/avg/max";
    let [min, avg, max] = fields.triple(
        LATENCY,
        fields.required(LATENCY)?,
        finite,
        "min/avg/max in milliseconds, like 0/6.1/22",
    )?;
    const PROPOSALS: &str = "Proposal sizes last/min/max";
    let proposal_sizes = fields
        .get(PROPOSALS)
        .map(|value| {
            fields.triple(
                PROPOSALS,
                value,
                |p| p.parse::<i64>().ok(),
                "last/min/max in bytes, like 95/48/95",
            )
        })
        .transpose()?
        .map(|[last, min, max]| ProposalSizes { last, min, max });
    let zxid_text = fields.required("Zxid")?;
    let zxid = Zxid::parse(zxid_text)
        .map_err(|_| fields.bad("Zxid", zxid_text, "hexadecimal like 0x10000000b"))?;
    let mode_text = fields.required("Mode")?;
    let mode = Mode::parse(mode_text).ok_or_else(|| {
        fields.bad(
            "Mode",
            mode_text,
            "leader, follower, observer, standalone or read-only",
        )
    })?;

    let srvr = Srvr {
        version: ZkVersion::parse(version_text),
        version_text: version_text.to_string(),
        latency: Latency { min, avg, max },
        received: fields.required_number("Received")?,
        sent: fields.required_number("Sent")?,
        connections: fields.optional_number("Connections")?,
        outstanding: fields.required_number("Outstanding")?,
        zxid,
        mode,
        node_count: fields.required_number("Node count")?,
        proposal_sizes,
        uptime_ms: None,
    };
    Ok(srvr)
}

/// The first value of `key` among `key=value` pairs, as printed.
fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.as_str())
}

/// ZooKeeper's own state of a quorum peer (`QuorumPeer.ServerState`), first half of
/// `zk_peer_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuorumPeerState {
    Looking,
    Following,
    Leading,
    Observing,
}

/// The ZAB phase a peer is in (`QuorumPeer.ZabState`), second half of `zk_peer_state`. Only in
/// `Broadcast` has a follower finished syncing with its leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ZabPhase {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

/// `zk_peer_state` (3.6+), e.g. `leading - broadcast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PeerState {
    pub state: QuorumPeerState,
    pub phase: ZabPhase,
}

impl PeerState {
    pub fn parse(text: &str) -> Option<PeerState> {
        let (state, phase) = text.split_once('-')?;
        let state = match state.trim() {
            "looking" => QuorumPeerState::Looking,
            "following" => QuorumPeerState::Following,
            "leading" => QuorumPeerState::Leading,
            "observing" => QuorumPeerState::Observing,
            _ => return None,
        };
        let phase = match phase.trim() {
            "election" => ZabPhase::Election,
            "discovery" => ZabPhase::Discovery,
            "synchronization" => ZabPhase::Synchronization,
            "broadcast" => ZabPhase::Broadcast,
            _ => return None,
        };
        Some(PeerState { state, phase })
    }
}

/// The `mntr` answer: every `zk_key value` line in order, unknown keys included, with typed
/// accessors for what zkpilot reads. Keys differ between versions and roles (leader-only keys
/// like `zk_synced_followers` are absent elsewhere), so accessors return `None` for an absent
/// key; a present key with a value of the wrong type fails the parse instead.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mntr {
    entries: Vec<(String, String)>,
    server_state: Mode,
    peer_state: Option<PeerState>,
}

/// Keys read as whole numbers; checked when parsing so accessors cannot hide a bad value.
const MNTR_COUNTS: [&str; 9] = [
    "zk_outstanding_requests",
    "zk_znode_count",
    "zk_num_alive_connections",
    "zk_synced_followers",
    "zk_synced_non_voting_followers",
    "zk_pending_syncs",
    "zk_followers",
    "zk_learners",
    "zk_synced_observers",
];

/// Keys read as milliseconds; 3.4 prints whole numbers, 3.6+ a decimal average.
const MNTR_LATENCIES: [&str; 3] = ["zk_avg_latency", "zk_min_latency", "zk_max_latency"];

pub fn parse_mntr(text: &str) -> Result<Answer<Mntr>, ParseError> {
    answer(Command::Mntr, text, |text| {
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            // ZooKeeper separates with a tab; spaces are accepted for answers copied by hand.
            let (key, value) = line
                .split_once('\t')
                .or_else(|| line.split_once(' '))
                .ok_or_else(|| ParseError::UnexpectedLine {
                    command: Command::Mntr,
                    line: index + 1,
                    text: excerpt(line),
                    expected: "a `zk_key<TAB>value` line",
                })?;
            entries.push((key.trim().to_string(), value.trim().to_string()));
        }
        Mntr::from_entries(entries)
    })
}

impl Mntr {
    /// Checks `zk_key`/value pairs, from the 4lw answer or the AdminServer's `monitor` JSON
    /// (whose keys lack the `zk_` prefix).
    pub fn from_entries(entries: Vec<(String, String)>) -> Result<Mntr, ParseError> {
        let command = Command::Mntr;
        for (key, value) in &entries {
            let (key, value) = (key.as_str(), value.as_str());
            let bad = |expected| ParseError::BadField {
                command,
                field: key.to_string(),
                value: excerpt(value),
                expected,
            };
            if MNTR_COUNTS.contains(&key) && value.parse::<u64>().is_err() {
                return Err(bad("a whole number"));
            }
            if MNTR_LATENCIES.contains(&key) && finite(value).is_none() {
                return Err(bad("a number of milliseconds"));
            }
            if key == "zk_peer_state" && PeerState::parse(value).is_none() {
                return Err(bad("a peer state like `leading - broadcast`"));
            }
        }
        let get = |key: &str| lookup(&entries, key);
        if get("zk_version").is_none() {
            return Err(ParseError::MissingField {
                command,
                field: "zk_version",
            });
        }
        let state_text = get("zk_server_state").ok_or(ParseError::MissingField {
            command,
            field: "zk_server_state",
        })?;
        let server_state = Mode::parse(state_text).ok_or_else(|| ParseError::BadField {
            command,
            field: "zk_server_state".to_string(),
            value: excerpt(state_text),
            expected: "leader, follower, observer, standalone or read-only",
        })?;
        let peer_state = get("zk_peer_state").and_then(PeerState::parse);
        Ok(Mntr {
            entries,
            server_state,
            peer_state,
        })
    }
}

impl Mntr {
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The first value of `key`, as printed.
    pub fn get(&self, key: &str) -> Option<&str> {
        lookup(&self.entries, key)
    }

    /// Values of checked keys; `parse_mntr` refused the answer if they did not parse.
    fn checked<T: FromStr>(&self, key: &str) -> Option<T> {
        self.get(key).and_then(|value| value.parse().ok())
    }

    pub fn version_text(&self) -> Option<&str> {
        self.get("zk_version")
    }

    pub fn version(&self) -> Option<ZkVersion> {
        self.version_text().and_then(ZkVersion::parse)
    }

    pub fn server_state(&self) -> Mode {
        self.server_state
    }

    /// 3.6+ only.
    pub fn peer_state(&self) -> Option<PeerState> {
        self.peer_state
    }

    pub fn avg_latency(&self) -> Option<f64> {
        self.checked("zk_avg_latency")
    }

    pub fn min_latency(&self) -> Option<f64> {
        self.checked("zk_min_latency")
    }

    pub fn max_latency(&self) -> Option<f64> {
        self.checked("zk_max_latency")
    }

    pub fn outstanding_requests(&self) -> Option<u64> {
        self.checked("zk_outstanding_requests")
    }

    pub fn znode_count(&self) -> Option<u64> {
        self.checked("zk_znode_count")
    }

    pub fn num_alive_connections(&self) -> Option<u64> {
        self.checked("zk_num_alive_connections")
    }

    /// Leader only. Counts every synced follower, non-voting ones included (see
    /// [`Mntr::synced_voting_followers`]); observers are not counted.
    pub fn synced_followers(&self) -> Option<u64> {
        self.checked("zk_synced_followers")
    }

    /// Leader only, newer releases: followers still connected after a reconfig removed them as
    /// voters.
    pub fn synced_non_voting_followers(&self) -> Option<u64> {
        self.checked("zk_synced_non_voting_followers")
    }

    pub fn synced_observers(&self) -> Option<u64> {
        self.checked("zk_synced_observers")
    }

    /// Leader only: learners still syncing with the leader. A node may be touched only at 0.
    pub fn pending_syncs(&self) -> Option<u64> {
        self.checked("zk_pending_syncs")
    }

    /// Leader only: connected learners, observers included. 3.4 calls it `zk_followers`,
    /// newer releases `zk_learners`.
    pub fn followers(&self) -> Option<u64> {
        self.checked("zk_followers")
            .or_else(|| self.checked("zk_learners"))
    }

    /// Leader only: followers synced that still vote. `zk_synced_followers` counts followers
    /// a reconfig turned into non-voters (measured on 3.8.0: 3 with 1 non-voting after
    /// `reconfig -remove 1`), so a sync gate must subtract them; it should equal the voters
    /// minus one. Releases without `zk_synced_non_voting_followers` are taken to have none,
    /// which holds for 3.4 (no reconfig) but over-counts on an older 3.5 after a
    /// `reconfig -remove`. `None` also when the counts contradict each other.
    pub fn synced_voting_followers(&self) -> Option<u64> {
        let non_voting = self.synced_non_voting_followers().unwrap_or(0);
        self.synced_followers()?.checked_sub(non_voting)
    }
}

/// The `conf` answer: the node's running configuration and, on a quorum member, its view.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conf {
    entries: Vec<(String, String)>,
    server_id: u64,
    client_port: Option<u16>,
    view: Option<View>,
}

pub fn parse_conf(text: &str) -> Result<Answer<Conf>, ParseError> {
    answer(Command::Conf, text, |text| {
        let command = Command::Conf;
        let mut entries = Vec::new();
        let mut in_membership = false;
        let mut membership_version_seen = false;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            // 3.5+ prints the dynamic membership after this line, ending with `version=`.
            if line == "membership:" {
                in_membership = true;
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| ParseError::UnexpectedLine {
                    command,
                    line: index + 1,
                    text: excerpt(line),
                    expected: "a `key=value` line",
                })?;
            let key = key.trim();
            membership_version_seen |= in_membership && key == "version";
            entries.push((key.to_string(), value.trim().to_string()));
        }
        if in_membership && !membership_version_seen {
            return Err(ParseError::Truncated { command });
        }

        let get = |key: &str| lookup(&entries, key);
        let bad = |field: &str, value: &str, expected| ParseError::BadField {
            command,
            field: field.to_string(),
            value: excerpt(value),
            expected,
        };
        let id_text = get("serverId").ok_or(ParseError::MissingField {
            command,
            field: "serverId",
        })?;
        let server_id = id_text
            .parse::<u64>()
            .map_err(|_| bad("serverId", id_text, "a whole number"))?;
        // -1 when the node listens only on `secureClientPort`.
        let client_port = match get("clientPort") {
            None | Some("-1") => None,
            Some(port) => Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("clientPort", port, "a port from 1 to 65535 or -1"))?,
            ),
        };
        let view = if entries.iter().any(|(k, _)| k.starts_with("server.")) {
            Some(View::parse_lines(text.lines()).map_err(ParseError::BadView)?)
        } else {
            None
        };
        Ok(Conf {
            entries,
            server_id,
            client_port,
            view,
        })
    })
}

impl Conf {
    /// Every `key=value` line in order, the view's `server.N` and `version` lines included.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        lookup(&self.entries, key)
    }

    /// The node's `myid`; 0 on a standalone server.
    pub fn server_id(&self) -> u64 {
        self.server_id
    }

    pub fn client_port(&self) -> Option<u16> {
        self.client_port
    }

    /// The client address of the node's own server line (`;host:port`, 3.5+ dynamic form), as
    /// written. `conf` prints no `clientPortAddress`, so older forms have none.
    pub fn client_address(&self) -> Option<&str> {
        self.own_server()?.client.as_deref()
    }

    /// The servers this node counts votes from and dials, from the `server.N` lines (with or
    /// without the 3.5+ `membership:` header; a version only in 3.5+). `None` when the answer
    /// lists no servers: a standalone server, and every 3.4 node, whose `conf` ends at
    /// `peerType=` (`QuorumZooKeeperServer.dumpConf`) — read a 3.4 view from its `zoo.cfg`.
    pub fn view(&self) -> Option<&View> {
        self.view.as_ref()
    }

    /// This node's line in its own view. A server removed by reconfig keeps running and its view
    /// no longer lists it (measured on 3.8.0), so `None` here on a quorum member means exactly
    /// that.
    pub fn own_server(&self) -> Option<&ServerLine> {
        self.view.as_ref()?.server(self.server_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::config::PeerRole;

    /// A 3.4.6 follower, as its `srvr` prints (integer latencies).
    const SRVR_34: &str = "Zookeeper version: 3.4.6-1569965, built on 02/20/2014 09:09 GMT\n\
        Latency min/avg/max: 0/0/5\n\
        Received: 1286\n\
        Sent: 1285\n\
        Connections: 1\n\
        Outstanding: 0\n\
        Zxid: 0x100000004\n\
        Mode: follower\n\
        Node count: 4\n";

    /// A 3.8 leader, which adds the proposal sizes.
    const SRVR_38_LEADER: &str = include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt");

    fn data<T: fmt::Debug>(parsed: Result<Answer<T>, ParseError>) -> T {
        match parsed {
            Ok(Answer::Data(data)) => data,
            other => panic!("expected data, got {other:?}"),
        }
    }

    /// A hostile server's `srvr` of endless distinct keys, under the wire's size cap, is
    /// refused at the first key past the cap, naming its line; before, each key was looked for
    /// among all before it (80 000 keys took 18 s). Real answers still parse, and the keys
    /// they could carry besides stay under the cap.
    #[test]
    fn a_srvr_of_endless_keys_is_refused_at_the_first_past_the_cap() {
        let mut hostile = String::from(SRVR_38_LEADER);
        for k in 0..80_000 {
            hostile.push_str(&format!("k{k}: 1\n"));
        }
        let first_past = SRVR_38_LEADER.lines().count() + MAX_STATS_FIELDS - 10 + 1;
        match parse_srvr(&hostile) {
            Err(ParseError::UnexpectedLine { line, text, .. }) => {
                assert_eq!((line, text.as_str()), (first_past, "k54: 1"));
            }
            other => panic!("{other:?}"),
        }
        assert!(SRVR_38_LEADER.lines().count() * 4 < MAX_STATS_FIELDS);
        data(parse_srvr(SRVR_38_LEADER));
    }

    #[test]
    fn srvr_of_3_4_with_integer_latencies() {
        let srvr = data(parse_srvr(SRVR_34));
        assert_eq!(srvr.version, Some(ZkVersion::new(3, 4, 6)));
        assert_eq!(
            srvr.version_text,
            "3.4.6-1569965, built on 02/20/2014 09:09 GMT"
        );
        let latency = (srvr.latency.min, srvr.latency.avg, srvr.latency.max);
        assert_eq!(latency, (0.0, 0.0, 5.0));
        assert_eq!((srvr.received, srvr.sent), (1286, 1285));
        assert_eq!((srvr.connections, srvr.outstanding), (Some(1), 0));
        assert_eq!(srvr.zxid, Zxid::new(1, 4));
        assert_eq!(srvr.mode, Mode::Follower);
        assert_eq!(srvr.node_count, 4);
        assert_eq!(srvr.proposal_sizes, None);
    }

    #[test]
    fn srvr_from_a_windows_server() {
        // Java's println ends lines with the platform separator.
        let crlf = SRVR_34.replace('\n', "\r\n");
        assert_eq!(data(parse_srvr(&crlf)), data(parse_srvr(SRVR_34)));
    }

    #[test]
    fn srvr_of_a_3_8_leader() {
        let srvr = data(parse_srvr(SRVR_38_LEADER));
        assert_eq!(srvr.version, Some(ZkVersion::new(3, 8, 0)));
        assert_eq!(srvr.latency.avg, 4.0);
        assert_eq!(srvr.mode, Mode::Leader);
        assert_eq!(srvr.zxid.to_string(), "0x10000000b");
        assert_eq!(srvr.proposal_sizes, Some(CAPTURED_LEADER_PROPOSALS));
    }

    #[test]
    fn srvr_without_the_lines_early_releases_lack() {
        let text = SRVR_34.replace("Connections: 1\n", "");
        let srvr = data(parse_srvr(&text));
        assert_eq!(srvr.connections, None);
        let fresh_leader = SRVR_38_LEADER.replace("95/48/95", "-1/-1/-1");
        assert_eq!(
            data(parse_srvr(&fresh_leader)).proposal_sizes,
            Some(ProposalSizes {
                last: -1,
                min: -1,
                max: -1
            })
        );
    }

    #[test]
    fn every_mode_as_zookeeper_spells_it() {
        for (spelling, mode) in [
            ("leader", Mode::Leader),
            ("follower", Mode::Follower),
            ("observer", Mode::Observer),
            ("standalone", Mode::Standalone),
            ("read-only", Mode::ReadOnly),
        ] {
            let text = SRVR_34.replace("Mode: follower", &format!("Mode: {spelling}"));
            assert_eq!(data(parse_srvr(&text)).mode, mode);
            assert_eq!(mode.to_string(), spelling);
        }
        assert_eq!(Mode::parse("Leader"), None);
        assert_eq!(Mode::parse("looking"), None);
    }

    #[test]
    fn a_srvr_cut_short_says_what_is_missing() {
        let cut = &SRVR_34[..SRVR_34.find("Mode:").unwrap()];
        let err = parse_srvr(cut).unwrap_err();
        assert_eq!(
            err,
            ParseError::MissingField {
                command: Command::Srvr,
                field: "Mode"
            }
        );
        assert_eq!(
            err.to_string(),
            "the srvr answer has no `Mode`: it was cut short or is not a ZooKeeper srvr answer"
        );
        // Cut inside the last line: `Node count: 4` could have been 40.
        let mid_line = SRVR_34.trim_end();
        assert_eq!(
            parse_srvr(mid_line),
            Err(ParseError::Truncated {
                command: Command::Srvr
            })
        );
    }

    #[test]
    fn srvr_with_bad_values_names_the_field() {
        let bad_zxid = SRVR_34.replace("0x100000004", "0xnope");
        let err = parse_srvr(&bad_zxid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the srvr answer has `Zxid` = `0xnope`, expected hexadecimal like 0x10000000b"
        );
        let bad_latency = SRVR_34.replace("0/0/5", "0/5");
        assert!(matches!(
            parse_srvr(&bad_latency),
            Err(ParseError::BadField { field, .. }) if field == "Latency min/avg/max"
        ));
        let bad_mode = SRVR_34.replace("Mode: follower", "Mode: boss");
        assert!(matches!(
            parse_srvr(&bad_mode),
            Err(ParseError::BadField { field, .. }) if field == "Mode"
        ));
        let twice = format!("{SRVR_34}Mode: leader\n");
        assert_eq!(
            parse_srvr(&twice),
            Err(ParseError::DuplicateField {
                command: Command::Srvr,
                field: "Mode".into()
            })
        );
    }

    #[test]
    fn answers_without_data_are_recognised_for_every_command() {
        let parse = |command, text: &str| match command {
            Command::Srvr => parse_srvr(text).map(|a| a.kind()),
            Command::Mntr => parse_mntr(text).map(|a| a.kind()),
            _ => parse_conf(text).map(|a| a.kind()),
        };
        for command in [Command::Srvr, Command::Mntr, Command::Conf] {
            let refusal =
                format!("{command} is not executed because it is not in the whitelist.\n");
            assert_eq!(
                parse(command, &refusal),
                Ok(AnswerKind::NotWhitelisted),
                "{command}"
            );
            assert_eq!(
                parse(
                    command,
                    "This ZooKeeper instance is not currently serving requests\n"
                ),
                Ok(AnswerKind::NotServing),
                "{command}"
            );
            assert_eq!(parse(command, ""), Ok(AnswerKind::Empty), "{command}");
            assert_eq!(parse(command, "\n"), Ok(AnswerKind::Empty), "{command}");
            assert!(
                parse(command, "<html>502 Bad Gateway</html>\n").is_err(),
                "{command}"
            );
        }
    }

    #[test]
    fn answer_kinds_for_the_poller() {
        assert_eq!(AnswerKind::of(&parse_srvr(SRVR_34)), AnswerKind::Data);
        assert_eq!(AnswerKind::of(&parse_srvr("")), AnswerKind::Empty);
        assert_eq!(
            AnswerKind::of(&parse_srvr("junk\n")),
            AnswerKind::Unparsable
        );
        assert_eq!(
            AnswerKind::of(&parse_mntr(
                "mntr is not executed because it is not in the whitelist.\n"
            )),
            AnswerKind::NotWhitelisted
        );
        assert!(data(parse_srvr(SRVR_34)).mode == Mode::Follower);
        assert_eq!(parse_srvr("").unwrap().data(), None);
    }

    #[test]
    fn srvr_of_a_3_4_read_only_server() {
        // A 3.4 read-only server adds a banner after the version.
        let text = "Zookeeper version: 3.4.14-4c25d480e66aadd371de8bd2fd8da255ac140bcf, built on 03/06/2019 16:18 GMT\n\
            READ-ONLY mode; serving only read-only clients\n\
            Latency min/avg/max: 0/0/1\n\
            Received: 5\n\
            Sent: 4\n\
            Connections: 2\n\
            Outstanding: 0\n\
            Zxid: 0x300000002\n\
            Mode: read-only\n\
            Node count: 7\n";
        let srvr = data(parse_srvr(text));
        assert_eq!(srvr.mode, Mode::ReadOnly);
        assert_eq!(srvr.version, Some(ZkVersion::new(3, 4, 14)));
    }

    /// A 3.4.6 leader: `zk_followers`, no peer state, whole-number latencies.
    const MNTR_34_LEADER: &str = "zk_version\t3.4.6-1569965, built on 02/20/2014 09:09 GMT\n\
        zk_avg_latency\t0\n\
        zk_max_latency\t5\n\
        zk_min_latency\t0\n\
        zk_packets_received\t1290\n\
        zk_packets_sent\t1289\n\
        zk_num_alive_connections\t1\n\
        zk_outstanding_requests\t0\n\
        zk_server_state\tleader\n\
        zk_znode_count\t4\n\
        zk_watch_count\t0\n\
        zk_ephemerals_count\t0\n\
        zk_approximate_data_size\t27\n\
        zk_open_file_descriptor_count\t28\n\
        zk_max_file_descriptor_count\t4096\n\
        zk_followers\t2\n\
        zk_synced_followers\t2\n\
        zk_pending_syncs\t0\n";

    #[test]
    fn mntr_of_a_3_4_leader() {
        let mntr = data(parse_mntr(MNTR_34_LEADER));
        assert_eq!(mntr.entries().len(), 18);
        assert_eq!(mntr.entries()[4].0, "zk_packets_received");
        assert_eq!(mntr.version(), Some(ZkVersion::new(3, 4, 6)));
        assert_eq!(mntr.server_state(), Mode::Leader);
        assert_eq!(mntr.peer_state(), None);
        assert_eq!(mntr.max_latency(), Some(5.0));
        assert_eq!(mntr.followers(), Some(2));
        assert_eq!(mntr.synced_followers(), Some(2));
        assert_eq!(mntr.synced_non_voting_followers(), None);
        assert_eq!(mntr.synced_voting_followers(), Some(2));
        assert_eq!(mntr.pending_syncs(), Some(0));
        assert_eq!(mntr.get("zk_watch_count"), Some("0"));
    }

    #[test]
    fn mntr_of_a_3_8_leader_after_a_removal() {
        let text = "zk_version\t3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
            zk_server_state\tleader\n\
            zk_peer_state\tleading - broadcast\n\
            zk_avg_latency\t4.0\n\
            zk_synced_followers\t3\n\
            zk_synced_non_voting_followers\t1\n\
            zk_learners\t4\n\
            zk_some_future_key\tsomething new\n";
        let mntr = data(parse_mntr(text));
        let leading = (QuorumPeerState::Leading, ZabPhase::Broadcast);
        assert_eq!(mntr.peer_state().map(|p| (p.state, p.phase)), Some(leading));
        assert_eq!(mntr.avg_latency(), Some(4.0));
        assert_eq!(mntr.synced_voting_followers(), Some(2));
        assert_eq!(mntr.followers(), Some(4));
        assert_eq!(mntr.get("zk_some_future_key"), Some("something new"));
        assert_eq!(mntr.znode_count(), None);
    }

    #[test]
    fn mntr_tolerates_spaces_for_tabs() {
        let spaced = MNTR_34_LEADER.replace('\t', "   ");
        let mntr = data(parse_mntr(&spaced));
        assert_eq!(
            mntr.version_text(),
            data(parse_mntr(MNTR_34_LEADER)).version_text()
        );
        assert_eq!(mntr.znode_count(), Some(4));
        assert_eq!(mntr.num_alive_connections(), Some(1));
        assert_eq!(mntr.outstanding_requests(), Some(0));
        assert_eq!(mntr.min_latency(), Some(0.0));
    }

    #[test]
    fn mntr_refuses_bad_values_of_keys_it_reads() {
        let bad = MNTR_34_LEADER.replace("zk_pending_syncs\t0", "zk_pending_syncs\tmany");
        assert_eq!(
            parse_mntr(&bad).unwrap_err().to_string(),
            "the mntr answer has `zk_pending_syncs` = `many`, expected a whole number"
        );
        let inconsistent = MNTR_34_LEADER.replace(
            "zk_pending_syncs\t0",
            "zk_pending_syncs\t0\nzk_synced_non_voting_followers\t3",
        );
        assert_eq!(
            data(parse_mntr(&inconsistent)).synced_voting_followers(),
            None
        );
        let no_state = MNTR_34_LEADER.replace("zk_server_state\tleader\n", "");
        assert_eq!(
            parse_mntr(&no_state),
            Err(ParseError::MissingField {
                command: Command::Mntr,
                field: "zk_server_state"
            })
        );
        assert!(
            parse_mntr("zk_server_state\tleader\nzk_version\t3.9.1\nzk_peer_state\tleading\n")
                .is_err()
        );
        assert!(parse_mntr("zk_version\t3.9.1\nzk_server_state\tleader\nlonely\n").is_err());
    }

    #[test]
    fn peer_states() {
        assert_eq!(
            PeerState::parse("following - synchronization"),
            Some(PeerState {
                state: QuorumPeerState::Following,
                phase: ZabPhase::Synchronization
            })
        );
        assert_eq!(
            PeerState::parse("observing-broadcast").map(|p| p.state),
            Some(QuorumPeerState::Observing)
        );
        assert_eq!(PeerState::parse("leading"), None);
        assert_eq!(PeerState::parse("boss - broadcast"), None);
    }

    /// A 3.4 quorum member: `QuorumZooKeeperServer.dumpConf` ends at `peerType`, with no
    /// server lines and no `membership:`.
    const CONF_34: &str = "clientPort=2181\n\
        dataDir=/var/lib/zookeeper/version-2\n\
        dataLogDir=/var/lib/zookeeper/version-2\n\
        tickTime=2000\n\
        maxClientCnxns=60\n\
        minSessionTimeout=4000\n\
        maxSessionTimeout=40000\n\
        serverId=2\n\
        initLimit=10\n\
        syncLimit=5\n\
        electionAlg=3\n\
        electionPort=3888\n\
        quorumPort=2888\n\
        peerType=0\n";

    #[test]
    fn conf_of_3_4_has_no_view() {
        let conf = data(parse_conf(CONF_34));
        assert_eq!(conf.server_id(), 2);
        assert_eq!(conf.client_port(), Some(2181));
        assert_eq!(conf.client_address(), None);
        assert_eq!(conf.view(), None);
        assert_eq!(conf.get("peerType"), Some("0"));
        assert_eq!(conf.entries().len(), 14);
        let standalone = "clientPort=2181\ndataDir=/tmp/zk\nserverId=0\n";
        let conf = data(parse_conf(standalone));
        assert_eq!((conf.server_id(), conf.view()), (0, None));
        assert_eq!(conf.own_server(), None);
    }

    #[test]
    fn static_server_lines_without_membership_make_a_view_without_version() {
        let text = format!(
            "{CONF_34}server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n"
        );
        let conf = data(parse_conf(&text));
        let view = conf.view().unwrap();
        assert_eq!(view.version, None);
        assert_eq!(view.participant_count(), 3);
        assert_eq!(conf.own_server().unwrap().primary_addr().host, "zk2");
        assert_eq!(conf.client_address(), None);
    }

    #[test]
    fn conf_of_3_5_with_dynamic_membership() {
        let text = "clientPort=2181\nsecureClientPort=-1\nserverId=3\npeerType=0\nmembership: \n\
            server.1=127.0.0.2:2888:3888:participant;127.0.0.2:2181\n\
            server.2=127.0.0.3:2888:3888:participant;127.0.0.3:2181\n\
            server.3=127.0.0.4:2888:3888:participant;0.0.0.0:2181\n\
            server.4=127.0.0.5:2888:3888:observer;127.0.0.5:2181\n\
            version=100000003";
        let conf = data(parse_conf(text));
        let view = conf.view().unwrap();
        assert_eq!(view.version, Some(0x1_0000_0003));
        assert_eq!(view.participant_count(), 3);
        assert_eq!(view.server(4).unwrap().role, PeerRole::Observer);
        assert_eq!(conf.client_address(), Some("0.0.0.0:2181"));
        assert_eq!(conf.get("secureClientPort"), Some("-1"));
        // Cut inside the membership: the version line that always closes it is missing.
        let cut = &text[..text.find("server.4").unwrap()];
        assert_eq!(
            parse_conf(cut),
            Err(ParseError::Truncated {
                command: Command::Conf
            })
        );
    }

    #[test]
    fn conf_errors_name_the_problem() {
        assert!(matches!(
            parse_conf("clientPort=2181\n"),
            Err(ParseError::MissingField {
                field: "serverId",
                ..
            })
        ));
        assert!(matches!(
            parse_conf("clientPort=99999\nserverId=1\n"),
            Err(ParseError::BadField { field, .. }) if field == "clientPort"
        ));
        assert_eq!(
            data(parse_conf("clientPort=-1\nserverId=1\n")).client_port(),
            None
        );
        assert!(matches!(
            parse_conf("serverId=1\nserver.1=a:1:2\nserver.1=b:1:2\n"),
            Err(ParseError::BadView(ConfigError::DuplicateSid(1)))
        ));
        assert!(matches!(
            parse_conf("serverId=1\nthis is no config\n"),
            Err(ParseError::UnexpectedLine { line: 2, .. })
        ));
    }

    #[test]
    fn error_excerpts_stay_short() {
        let long = SRVR_34.replace("Mode: follower", &format!("Mode: {}", "é".repeat(500)));
        let err = parse_srvr(&long).unwrap_err().to_string();
        assert!(err.chars().count() < 200, "{err}");
        assert!(err.contains('…'));
    }

    #[test]
    fn serialises_for_recording() {
        let srvr = data(parse_srvr(SRVR_34));
        let json = serde_json::to_value(Answer::Data(srvr)).unwrap();
        assert_eq!(json["data"]["version"], "3.4.6");
        assert_eq!(json["data"]["zxid"], "0x100000004");
        assert_eq!(json["data"]["mode"], "follower");
        assert_eq!(
            serde_json::to_value(Answer::<Srvr>::NotServing).unwrap(),
            "not_serving"
        );
        assert_eq!(serde_json::to_value(Mode::ReadOnly).unwrap(), "read-only");
    }
}
