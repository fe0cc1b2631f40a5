//! Pure: a drawn state as the analyzer's `Ensemble` and as a state file `zkpilot analyze`
//! reads, and the regression fixture of a disagreement — that state file with what the servers
//! did recorded in YAML comments, so the file still analyzes as it is and a test can read both.

use std::fmt::Write;
use std::path::Path;

use crate::analyze::{self, State};
use crate::quorum::{Ensemble, Node};
use crate::text::yaml::{self, YamlError};
use crate::zk::config::{ConfigError, PeerAddr, PeerRole, ServerLine, View};
use crate::zk::version::ZkVersion;

use super::draw::{At, Kind, Line, Trial};
use super::judge::{self, Judgement, Role, Sample, Split, Summary};

/// Where the hosts of a trial are: host `i` is `names[i]` listening for peers at `peers[i]`
/// (`host:quorumPort:electionPort`); the service in front of sid `k` is at `services[k - 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressing {
    pub names: Vec<String>,
    pub peers: Vec<String>,
    pub services: Vec<String>,
}

impl Addressing {
    /// The names and peer addresses of a loaded state's nodes, for reporting on it.
    pub fn of(ensemble: &Ensemble) -> Addressing {
        Addressing {
            names: ensemble.nodes.iter().map(|n| n.name.clone()).collect(),
            peers: ensemble.nodes.iter().map(|n| n.addr.to_string()).collect(),
            services: Vec::new(),
        }
    }

    fn name(&self, host: usize) -> &str {
        self.names.get(host).map_or("?", String::as_str)
    }

    fn peer(&self, host: usize) -> &str {
        self.peers.get(host).map_or("?", String::as_str)
    }

    fn service(&self, sid: u64) -> &str {
        let k = usize::try_from(sid).unwrap_or(usize::MAX);
        self.services
            .get(k.wrapping_sub(1))
            .map_or("?", String::as_str)
    }

    /// The address a line names: its host's, or its service's.
    pub fn line_peer(&self, at: At) -> &str {
        match at {
            At::Host(host) => self.peer(host),
            At::Service(sid) => self.service(sid),
        }
    }

    /// `server.N=HOST:2888:3888[:observer]`, as the runner writes it into `zoo.cfg`.
    pub fn server_line(&self, line: &Line) -> String {
        let role = if line.observer { ":observer" } else { "" };
        format!("server.{}={}{role}", line.sid, self.line_peer(line.at))
    }

    /// The service addresses that forward to `host`.
    fn aliases(&self, trial: &Trial, host: usize) -> Vec<&str> {
        trial
            .services
            .iter()
            .filter(|s| s.to == host)
            .map(|s| self.service(s.sid))
            .collect()
    }
}

/// The analyzer's picture of a drawn state: one node per host, named and addressed as the
/// runner places them.
pub fn ensemble(
    trial: &Trial,
    at: &Addressing,
    version: ZkVersion,
) -> Result<Ensemble, ConfigError> {
    let mut nodes = Vec::with_capacity(trial.hosts.len());
    for (index, host) in trial.hosts.iter().enumerate() {
        let mut lines = Vec::with_capacity(host.view.len());
        for line in &host.view {
            lines.push(ServerLine {
                sid: line.sid,
                addrs: vec![PeerAddr::parse(at.line_peer(line.at))?],
                role: if line.observer {
                    PeerRole::Observer
                } else {
                    PeerRole::Participant
                },
                client: None,
            });
        }
        nodes.push(Node {
            name: at.name(index).to_string(),
            sid: host.sid,
            addr: PeerAddr::parse(at.peer(index))?,
            aliases: at
                .aliases(trial, index)
                .into_iter()
                .map(PeerAddr::parse)
                .collect::<Result<_, _>>()?,
            up: host.running,
            view: View::new(lines, None)?,
            listen_all: Some(host.listen_all),
        });
    }
    Ok(Ensemble {
        version,
        nodes,
        partitions: None,
    })
}

/// The state file of a trial, in the format of `analyze::state` (`zkpilot analyze FILE`):
/// distinct views named `v1`, `v2`… in order of first use.
pub fn state_yaml(trial: &Trial, at: &Addressing, version: ZkVersion) -> String {
    let mut views: Vec<&Vec<Line>> = Vec::new();
    for host in &trial.hosts {
        if !views.contains(&&host.view) {
            views.push(&host.view);
        }
    }
    let mut text = String::new();
    let kinds: Vec<&str> = trial.kinds.iter().map(|k| k.as_str()).collect();
    let _ = writeln!(
        text,
        "# zkpilot lab elections --seed {}, trial {}: {}",
        trial.seed,
        trial.index,
        if kinds.is_empty() {
            "one view".to_string()
        } else {
            kinds.join(", ")
        }
    );
    let order: Vec<String> = trial
        .starts
        .iter()
        .map(|s| {
            if s.delay_ms == 0 {
                at.name(s.host).to_string()
            } else {
                format!("+{} ms {}", s.delay_ms, at.name(s.host))
            }
        })
        .collect();
    let _ = writeln!(text, "# started in this order: {}", order.join(", "));
    let _ = writeln!(text, "zookeeper: \"{version}\"");
    text.push_str("views:\n");
    for (k, view) in views.iter().enumerate() {
        let lines: Vec<String> = view.iter().map(|l| at.server_line(l)).collect();
        let _ = writeln!(text, "  v{}: [{}]", k + 1, lines.join(", "));
    }
    text.push_str("nodes:\n");
    for (index, host) in trial.hosts.iter().enumerate() {
        let view = views.iter().position(|v| **v == host.view).unwrap_or(0) + 1;
        let aliases = at.aliases(trial, index);
        let services = if aliases.is_empty() {
            String::new()
        } else {
            format!(" services: [\"{}\"],", aliases.join("\", \""))
        };
        let _ = writeln!(
            text,
            "  - {{name: {}, sid: {}, addr: \"{}\", up: {},{services} listen_all: {}, view: v{view}}}{}",
            at.name(index),
            host.sid,
            at.peer(index),
            host.running,
            host.listen_all,
            if host.running && host.observer() {
                "  # peerType=observer"
            } else {
                ""
            }
        );
    }
    text
}

/// What was observed, in the words of the fixture's comment block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Observed {
    leaders: Vec<String>,
    #[serde(default)]
    splits: Vec<ObservedSplit>,
    #[serde(default)]
    first_leader_ms: Option<u64>,
    /// Servers that exited on their own (records before issue 26 have none).
    #[serde(default)]
    exited: Vec<String>,
    /// No serving leader in the settle window (records before issue 26's stall have none).
    #[serde(default)]
    no_leader_settled: bool,
    /// Servers seen serving (records before `Verdict::cannot_serve` have none: nothing is
    /// held against it there).
    #[serde(default)]
    served: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservedSplit {
    a: String,
    b: String,
    span_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservedBlock {
    observed: Observed,
}

const OBSERVED_MARK: &str = "# observed:";

/// The observation block: YAML behind `# `, so the state file stays a state file.
pub fn observed_comment(seen: &Summary, at: &Addressing) -> String {
    let names = |hosts: &[usize]| -> Vec<String> {
        hosts.iter().map(|&h| at.name(h).to_string()).collect()
    };
    let mut text = format!("{OBSERVED_MARK}\n");
    let _ = writeln!(text, "#   leaders: [{}]", names(&seen.leaders).join(", "));
    if let Some(ms) = seen.first_leader_ms {
        let _ = writeln!(text, "#   first_leader_ms: {ms}");
    }
    let _ = writeln!(text, "#   exited: [{}]", names(&seen.exited).join(", "));
    let _ = writeln!(text, "#   no_leader_settled: {}", seen.no_leader_settled);
    let _ = writeln!(text, "#   served: [{}]", names(&seen.served).join(", "));
    if seen.splits.is_empty() {
        text.push_str("#   splits: []\n");
    } else {
        text.push_str("#   splits:\n");
        for split in &seen.splits {
            let _ = writeln!(
                text,
                "#     - {{a: {}, b: {}, span_ms: {}}}",
                at.name(split.a),
                at.name(split.b),
                split.span_ms
            );
        }
    }
    text
}

/// Each host's roles over time, as comment lines.
pub fn timeline_comment(samples: &[Sample], at: &Addressing) -> String {
    let mut text = String::from("# timeline (ms after the first start):\n");
    for (host, segments) in judge::timeline(samples, at.names.len()).iter().enumerate() {
        let parts: Vec<String> = segments
            .iter()
            .map(|s| format!("{} {}-{}", role_text(s.role), s.from_ms, s.to_ms))
            .collect();
        let _ = writeln!(text, "#   {}: {}", at.name(host), parts.join(", "));
    }
    text
}

pub fn role_text(role: Role) -> String {
    match role {
        Role::Leader {
            epoch,
            synced_followers,
        } => match synced_followers {
            Some(n) => format!("leader@{epoch}({n}f)"),
            None => format!("leader@{epoch}"),
        },
        Role::Follower { epoch } => format!("follower@{epoch}"),
        Role::Observer => "observer".into(),
        Role::Standalone => "standalone".into(),
        Role::NotServing => "not-serving".into(),
        Role::Down => "down".into(),
        Role::NoAnswer => "no-answer".into(),
    }
}

/// The verdict and the disagreements in words, as comment lines.
pub fn judgement_comment(judgement: &Judgement, at: &Addressing) -> String {
    let mut text = format!(
        "# analyzer: quorum possible {}, split brain possible {}, stall named {}; stall seen {}\n",
        judgement.quorum_possible,
        judgement.split_possible,
        judgement.stall_named,
        judgement.stall_seen
    );
    for d in &judgement.disagreements {
        let _ = writeln!(text, "# DISAGREEMENT: {}", disagreement_text(d, at));
    }
    text
}

pub fn disagreement_text(d: &judge::Disagreement, at: &Addressing) -> String {
    match d {
        judge::Disagreement::SplitNotPredicted(Split { a, b, span_ms }) => format!(
            "{} and {} led at once, each with a follower, for {:.1} s; the analyzer said no split brain",
            at.name(*a),
            at.name(*b),
            *span_ms as f64 / 1000.0
        ),
        judge::Disagreement::LeaderWithoutQuorum { leader } => format!(
            "{} led; the analyzer said no quorum can form",
            at.name(*leader)
        ),
        judge::Disagreement::LeaderNotPossible { leader } => format!(
            "{} led; the analyzer did not list it among the possible leaders",
            at.name(*leader)
        ),
        judge::Disagreement::ExitNotPredicted { host } => format!(
            "{} exited at start; the analyzer expected it to run",
            at.name(*host)
        ),
        judge::Disagreement::ExitPredictedNotSeen { host } => format!(
            "{} kept running; the analyzer said it exits at start",
            at.name(*host)
        ),
        judge::Disagreement::ServedThoughItCannot { host } => format!(
            "{} served; the analyzer said it can neither lead nor follow",
            at.name(*host)
        ),
    }
}

/// The record of a trial (the regression fixture when it disagrees): what happened and the
/// verdict in comments, then the state file.
pub fn fixture_text(
    trial: &Trial,
    at: &Addressing,
    version: ZkVersion,
    seen: &Summary,
    samples: &[Sample],
    judgement: &Judgement,
) -> String {
    let header = if judgement.agrees() {
        "# A trial of zkpilot lab elections: what real ZooKeeper did on this state.\n\
         # `zkpilot lab judge FILE` holds the current analyzer to it again.\n"
    } else {
        "# A state on which real ZooKeeper and the analyzer disagreed (zkpilot lab elections).\n\
         # tests/offline/lab_fixtures.rs holds the current analyzer to the observation recorded here.\n"
    };
    format!(
        "{header}{}{}{}{}",
        observed_comment(seen, at),
        judgement_comment(judgement, at),
        timeline_comment(samples, at),
        state_yaml(trial, at, version)
    )
}

/// The kinds a record's first state comment names (`# zkpilot lab elections --seed S, trial
/// T: moved, down`); none for a record without that line.
pub fn kinds_of(text: &str) -> Vec<Kind> {
    let Some(line) = text
        .lines()
        .find(|l| l.starts_with("# zkpilot lab elections --seed "))
    else {
        return Vec::new();
    };
    let Some((_, names)) = line.split_once(": ") else {
        return Vec::new();
    };
    let mut kinds: Vec<Kind> = names
        .split(',')
        .filter_map(|name| Kind::ALL.into_iter().find(|k| k.as_str() == name.trim()))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{path}: no `{OBSERVED_MARK}` comment block")]
    NoObservation { path: String },
    #[error("{path}: the observation names `{name}`, which is not a node of the state")]
    UnknownNode { path: String, name: String },
}

/// Reads a fixture back: the state (as `zkpilot analyze` reads it) and the observation, in the
/// state's node indices.
pub fn parse_fixture(text: &str, path: &Path) -> Result<(State, Summary), FixtureError> {
    let state = analyze::load(text, path)?;
    let Some(mark) = text.lines().position(|l| l.trim_end() == OBSERVED_MARK) else {
        return Err(FixtureError::NoObservation {
            path: path.display().to_string(),
        });
    };
    let mut block = String::from("observed:\n");
    for line in text
        .lines()
        .skip(mark + 1)
        .take_while(|l| l.starts_with("#  "))
    {
        block.push_str(&line[1..]);
        block.push('\n');
    }
    // The block's first line stands for the mark, and each of its lines lost its `#`: an error
    // is put back where the operator sees it in the file.
    let observed: ObservedBlock = yaml::from_str(&block, path).map_err(|mut e| {
        e.line += mark;
        if e.line > mark + 1 {
            e.column += 1;
        }
        e
    })?;
    let index = |name: &str| {
        state
            .ensemble
            .nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| FixtureError::UnknownNode {
                path: path.display().to_string(),
                name: name.to_string(),
            })
    };
    let hosts = |names: &[String]| -> Result<Vec<usize>, FixtureError> {
        let mut hosts = names
            .iter()
            .map(|name| index(name))
            .collect::<Result<Vec<_>, _>>()?;
        hosts.sort_unstable();
        Ok(hosts)
    };
    let leaders = hosts(&observed.observed.leaders)?;
    let exited = hosts(&observed.observed.exited)?;
    let served = hosts(&observed.observed.served)?;
    let mut splits = Vec::new();
    for split in &observed.observed.splits {
        let (a, b) = (index(&split.a)?, index(&split.b)?);
        splits.push(Split {
            a: a.min(b),
            b: a.max(b),
            span_ms: split.span_ms,
        });
    }
    Ok((
        state,
        Summary {
            leaders,
            splits,
            first_leader_ms: observed.observed.first_leader_ms,
            exited,
            no_leader_settled: observed.observed.no_leader_settled,
            served,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rehearse::lab::draw::draw;

    fn addressing(n: usize) -> Addressing {
        Addressing {
            names: (1..=n).map(|i| format!("zk{i}")).collect(),
            peers: (1..=n).map(|i| format!("127.77.9.{i}:2888:3888")).collect(),
            services: (1..=n)
                .map(|i| format!("10.77.100.{i}:2888:3888"))
                .collect(),
        }
    }

    const V38: ZkVersion = ZkVersion::new(3, 8, 0);

    #[test]
    fn the_state_file_analyzes_as_the_drawn_ensemble() {
        let loopback = (0..300).map(|i| draw(4, i, &(4..=7)));
        let netns = (0..300).map(|i| crate::rehearse::lab::draw::draw_netns(4, i, &(4..=7)));
        for trial in loopback.chain(netns) {
            let at = addressing(trial.hosts.len());
            let text = state_yaml(&trial, &at, V38);
            let state =
                analyze::load(&text, Path::new("t.yaml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(
                state.ensemble,
                ensemble(&trial, &at, V38).unwrap(),
                "{text}"
            );
        }
    }

    /// A bad value in the observation block is named at its line and column in the file: it
    /// was named at its place in the block read out of the comments (two lines up, one column
    /// left).
    #[test]
    fn a_bad_observation_is_named_where_it_stands_in_the_file() {
        let trial = draw(1, 3, &(4..=7));
        let at = addressing(trial.hosts.len());
        let text = format!(
            "# a trial\n{OBSERVED_MARK}\n#   leaders: []\n#   served: {{a: 1}}\n{}",
            state_yaml(&trial, &at, V38)
        );
        let e = parse_fixture(&text, Path::new("f.yaml")).unwrap_err();
        let FixtureError::Yaml(e) = e else {
            panic!("{e}");
        };
        assert_eq!((e.line, e.column), (4, 13), "{e}");
        assert_eq!(text.lines().nth(3).map(|l| &l[12..]), Some("{a: 1}"));
    }

    #[test]
    fn a_fixture_reads_back_its_state_and_observation() {
        let trial = draw(1, 3, &(4..=7));
        let at = addressing(trial.hosts.len());
        let lead = Role::Leader {
            epoch: 1,
            synced_followers: Some(1),
        };
        let mut roles = vec![Role::Follower { epoch: 1 }; trial.hosts.len()];
        roles[0] = lead;
        roles[2] = lead;
        let samples: Vec<Sample> = (0..20)
            .map(|i| Sample {
                at_ms: i * 200,
                roles: roles.clone(),
            })
            .collect();
        let ensemble = ensemble(&trial, &at, V38).unwrap();
        let judgement = judge::judge(&ensemble.verdict().unwrap(), &judge::summarize(&samples));
        let text = fixture_text(
            &trial,
            &at,
            V38,
            &judge::summarize(&samples),
            &samples,
            &judgement,
        );
        let (state, seen) = parse_fixture(&text, Path::new("f.yaml")).unwrap();
        assert_eq!(state.ensemble, ensemble);
        assert_eq!(seen, judge::summarize(&samples));
        assert_eq!(seen.leaders, [0, 2]);
        assert_eq!(seen.splits.len(), 1);
        assert!(text.contains("leader@1(1f) 0-3800"), "{text}");
        assert_eq!(kinds_of(&text), trial.kinds);
    }

    #[test]
    fn a_fixture_without_observation_or_with_an_unknown_node_is_refused() {
        let trial = draw(1, 3, &(4..=7));
        let at = addressing(trial.hosts.len());
        let state = state_yaml(&trial, &at, V38);
        assert!(matches!(
            parse_fixture(&state, Path::new("f.yaml")),
            Err(FixtureError::NoObservation { .. })
        ));
        let text = format!("# observed:\n#   leaders: [nobody]\n{state}");
        assert!(matches!(
            parse_fixture(&text, Path::new("f.yaml")),
            Err(FixtureError::UnknownNode { .. })
        ));
    }
}
