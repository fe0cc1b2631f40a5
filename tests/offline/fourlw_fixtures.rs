//! The 4lw parsers against real ZooKeeper 3.8.0 answers (`tests/fixtures/zk4lw/`), then against
//! thousands of mutations of them, which may be refused but must never make a parser panic. The
//! words the poller reads (`srvr`, `mntr`, `conf`) are read as the poll path reads them
//! (`ensemble::answered`); the other fixtures are what `fourlw` gates see as text.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use zkpilot::ensemble::answered;
use zkpilot::zk::config::PeerRole;
use zkpilot::zk::fourlw::{
    parse_conf, parse_mntr, parse_srvr, Answer, AnswerKind, Command, Latency, Mode, ParseError,
    PeerState, QuorumPeerState, ZabPhase, CAPTURED_LEADER_PROPOSALS,
};
use zkpilot::zk::version::ZkVersion;
use zkpilot::zk::zxid::{Zxid, ZxidLag};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zk4lw")
}

fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every captured answer, as (file name, text), in a stable order.
fn all_fixtures() -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".txt"))
        .collect();
    names.sort();
    assert!(names.len() >= 70, "fixtures missing: {names:?}");
    names
        .into_iter()
        .map(|name| {
            let text = fixture(&name);
            (name, text)
        })
        .collect()
}

/// The words the poller asks and reads.
const READ: [Command; 3] = [Command::Srvr, Command::Mntr, Command::Conf];

/// The word the poller read that a fixture answers, from its `<role>.<command>.txt` name.
fn command_of(name: &str) -> Option<Command> {
    let word = name.strip_suffix(".txt")?.rsplit('.').next()?;
    READ.into_iter().find(|c| c.as_str() == word)
}

/// What the poll path makes of `text` as the answer to `command`.
fn kind(command: Command, text: &str) -> AnswerKind {
    let (_, said) = answered(command, Ok(text.to_string()));
    said.expect("an answer").reading.kind()
}

fn data<T: Debug>(parsed: Result<Answer<T>, ParseError>) -> T {
    match parsed {
        Ok(Answer::Data(data)) => data,
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn every_fixture_is_understood() {
    for (name, text) in all_fixtures() {
        let Some(command) = command_of(&name) else {
            continue;
        };
        let kind = kind(command, &text);
        let expected = if name.starts_with("looking.") || name.starts_with("observer-no-leader.") {
            AnswerKind::NotServing
        } else if name.starts_with("standalone-whitelist-srvr.") && command != Command::Srvr {
            AnswerKind::NotWhitelisted
        } else {
            AnswerKind::Data
        };
        assert_eq!(kind, expected, "{name}");
    }
}

#[test]
fn leader_srvr() {
    let srvr = data(parse_srvr(&fixture("leader.srvr.txt")));
    assert_eq!(srvr.version, Some(ZkVersion::new(3, 8, 0)));
    assert_eq!(
        srvr.version_text,
        "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"
    );
    assert_eq!(srvr.mode, Mode::Leader);
    assert_eq!(srvr.zxid, Zxid(0x1_0000_000b));
    assert_eq!(srvr.zxid.epoch_counter().to_string(), "1:11");
    assert_eq!(
        srvr.latency,
        Latency {
            min: 1.0,
            avg: 4.0,
            max: 6.0
        }
    );
    assert_eq!((srvr.received, srvr.sent), (18, 18));
    assert_eq!((srvr.connections, srvr.outstanding), (Some(2), 0));
    assert_eq!(srvr.node_count, 11);
    assert_eq!(srvr.proposal_sizes, Some(CAPTURED_LEADER_PROPOSALS));
}

#[test]
fn follower_observer_and_standalone_srvr() {
    let leader = data(parse_srvr(&fixture("leader.srvr.txt")));
    let follower = data(parse_srvr(&fixture("follower.srvr.txt")));
    assert_eq!(follower.mode, Mode::Follower);
    assert_eq!(follower.latency.avg, 6.1);
    assert_eq!(follower.proposal_sizes, None);
    assert_eq!(
        follower.zxid.lag_behind(leader.zxid),
        ZxidLag::Transactions(0)
    );

    let observer = data(parse_srvr(&fixture("observer.srvr.txt")));
    assert_eq!(observer.mode, Mode::Observer);
    assert_eq!(observer.latency.avg, 8.75);
    assert_eq!((observer.received, observer.sent), (7, 6));

    for name in ["standalone.srvr.txt", "standalone-whitelist-srvr.srvr.txt"] {
        let standalone = data(parse_srvr(&fixture(name)));
        assert_eq!(standalone.mode, Mode::Standalone, "{name}");
        assert_eq!(standalone.zxid, Zxid(0), "{name}");
        assert_eq!(standalone.node_count, 5, "{name}");
    }
}

#[test]
fn leader_mntr() {
    let text = fixture("leader.mntr.txt");
    let mntr = data(parse_mntr(&text));
    assert_eq!(mntr.entries().len(), text.lines().count());
    assert_eq!(mntr.entries()[0].0, "zk_version");
    assert_eq!(mntr.entries()[2].0, "zk_peer_state");
    assert_eq!(
        mntr.entries().last().map(|(k, v)| (k.as_str(), v.as_str())),
        Some(("zk_p999_4_learner_handler_qp_time_ms", "0"))
    );
    assert_eq!(mntr.version(), Some(ZkVersion::new(3, 8, 0)));
    assert_eq!(mntr.server_state(), Mode::Leader);
    assert_eq!(
        mntr.peer_state(),
        Some(PeerState {
            state: QuorumPeerState::Leading,
            phase: ZabPhase::Broadcast
        })
    );
    assert_eq!(mntr.avg_latency(), Some(4.0));
    assert_eq!(mntr.min_latency(), Some(1.0));
    assert_eq!(mntr.max_latency(), Some(6.0));
    assert_eq!(mntr.outstanding_requests(), Some(0));
    assert_eq!(mntr.znode_count(), Some(11));
    assert_eq!(mntr.num_alive_connections(), Some(2));
    assert_eq!(mntr.synced_followers(), Some(2));
    assert_eq!(mntr.synced_non_voting_followers(), Some(0));
    assert_eq!(mntr.synced_voting_followers(), Some(2));
    assert_eq!(mntr.synced_observers(), Some(1));
    assert_eq!(mntr.pending_syncs(), Some(0));
    // 3.8 has no zk_followers; zk_learners counts the two followers and the observer.
    assert_eq!(mntr.get("zk_followers"), None);
    assert_eq!(mntr.followers(), Some(3));
    assert_eq!(mntr.get("zk_quorum_size"), Some("3"));
}

#[test]
fn follower_observer_and_standalone_mntr() {
    let follower = data(parse_mntr(&fixture("follower.mntr.txt")));
    assert_eq!(follower.server_state(), Mode::Follower);
    assert_eq!(
        follower.peer_state(),
        Some(PeerState {
            state: QuorumPeerState::Following,
            phase: ZabPhase::Broadcast
        })
    );
    assert_eq!(follower.synced_followers(), None);
    assert_eq!(follower.synced_voting_followers(), None);
    assert_eq!(follower.pending_syncs(), None);
    assert_eq!(follower.avg_latency(), Some(6.1));

    let observer = data(parse_mntr(&fixture("observer.mntr.txt")));
    assert_eq!(observer.server_state(), Mode::Observer);
    assert_eq!(
        observer.peer_state().map(|p| p.state),
        Some(QuorumPeerState::Observing)
    );
    assert_eq!(observer.get("zk_observer_master_id"), Some("3"));

    let standalone = data(parse_mntr(&fixture("standalone.mntr.txt")));
    assert_eq!(standalone.server_state(), Mode::Standalone);
    assert_eq!(standalone.peer_state(), None);
    assert_eq!(standalone.znode_count(), Some(5));
}

#[test]
fn conf_of_the_ensemble_members() {
    let leader = data(parse_conf(&fixture("leader.conf.txt")));
    assert_eq!(leader.server_id(), 3);
    assert_eq!(leader.client_port(), Some(2181));
    assert_eq!(leader.get("tickTime"), Some("2000"));
    assert_eq!(leader.get("peerType"), Some("0"));
    let view = leader.view().unwrap();
    assert_eq!(view.version, Some(0));
    assert_eq!(
        view.servers().iter().map(|s| s.sid).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(view.participant_count(), 3);
    let observer = view.server(4).unwrap();
    assert_eq!(observer.role, PeerRole::Observer);
    assert_eq!(observer.primary_addr().host, "127.0.0.5");
    let own = leader.own_server().unwrap();
    assert_eq!((own.sid, own.role), (3, PeerRole::Participant));
    // Static server lines carry no client address.
    assert_eq!(leader.client_address(), None);

    let follower = data(parse_conf(&fixture("follower.conf.txt")));
    assert_eq!(follower.server_id(), 1);
    assert!(follower.view().unwrap().same_membership(view));
    let observer_conf = data(parse_conf(&fixture("observer.conf.txt")));
    assert_eq!(observer_conf.server_id(), 4);
    assert_eq!(observer_conf.get("peerType"), Some("1"));
    assert_eq!(observer_conf.own_server().unwrap().role, PeerRole::Observer);
}

#[test]
fn conf_of_a_standalone_has_no_view() {
    let conf = data(parse_conf(&fixture("standalone.conf.txt")));
    assert_eq!(conf.server_id(), 0);
    assert_eq!(conf.client_port(), Some(12181));
    assert_eq!(conf.view(), None);
    assert_eq!(conf.entries().len(), 12);
}

#[test]
fn conf_views_through_a_reconfig() {
    let before = data(parse_conf(&fixture("reconfig.before.conf.txt")));
    let view = before.view().unwrap();
    assert_eq!(view.version, Some(0x1_0000_0000));
    assert_eq!(view.server(4).unwrap().role, PeerRole::Observer);
    assert_eq!(view.participant_count(), 3);
    assert_eq!(before.client_address(), Some("127.0.0.2:2181"));

    let after_add = data(parse_conf(&fixture("reconfig.after-add.conf.txt")));
    let view = after_add.view().unwrap();
    assert_eq!(view.version, Some(0x1_0000_0003));
    assert_eq!(view.participant_count(), 4);
    assert_eq!(view.server(4).unwrap().role, PeerRole::Participant);
    let node4 = data(parse_srvr(&fixture("reconfig.after-add.node4.srvr.txt")));
    assert_eq!(node4.mode, Mode::Follower);
    assert_eq!(node4.zxid, Zxid(0x1_0000_0003));

    let after_remove = data(parse_conf(&fixture("reconfig.after-remove1.conf.txt")));
    let view = after_remove.view().unwrap();
    assert_eq!(view.version, Some(0x1_0000_0005));
    assert_eq!(
        view.servers().iter().map(|s| s.sid).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(after_remove.server_id(), 2);

    // The removed server keeps serving as a follower, with a view that no longer lists it.
    let removed = data(parse_conf(&fixture("reconfig.removed-node1.conf.txt")));
    assert_eq!(removed.server_id(), 1);
    assert_eq!(removed.own_server(), None);
    assert_eq!(removed.client_address(), None);
    assert!(removed.view().unwrap().same_membership(view));
    assert_eq!(removed.view().unwrap().version, Some(0x1_0000_0005));
    let removed_srvr = data(parse_srvr(&fixture("reconfig.removed-node1.srvr.txt")));
    assert_eq!(removed_srvr.mode, Mode::Follower);
    assert_eq!(removed_srvr.zxid, Zxid(0x1_0000_0005));
}

#[test]
fn a_node_without_quorum() {
    for role in ["looking", "observer-no-leader"] {
        let read = |command: &str| fixture(&format!("{role}.{command}.txt"));
        assert_eq!(parse_srvr(&read("srvr")), Ok(Answer::NotServing), "{role}");
        assert_eq!(parse_mntr(&read("mntr")), Ok(Answer::NotServing), "{role}");
        assert_eq!(parse_conf(&read("conf")), Ok(Answer::NotServing), "{role}");
    }
}

#[test]
fn a_srvr_only_whitelist() {
    for command in READ {
        let text = fixture(&format!("standalone-whitelist-srvr.{command}.txt"));
        let parsed = kind(command, &text);
        if command == Command::Srvr {
            assert_eq!(parsed, AnswerKind::Data);
        } else {
            assert_eq!(parsed, AnswerKind::NotWhitelisted, "{command}");
        }
    }
}

/// The last line of `srvr` is `Node count` on anything but a leader, so on those every cut is
/// caught: by a missing field, or by the missing final newline when the cut is inside a line.
#[test]
fn every_cut_srvr_is_refused() {
    for name in [
        "follower.srvr.txt",
        "observer.srvr.txt",
        "standalone.srvr.txt",
        "reconfig.removed-node1.srvr.txt",
    ] {
        let text = fixture(name);
        for end in 1..text.len() {
            let cut = &text[..end];
            assert!(parse_srvr(cut).is_err(), "{name} cut at {end}: {cut:?}");
        }
    }
}

/// A small deterministic PRNG (xorshift64), so a failure replays exactly.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces that steer mutations towards the parsers' separators and special values.
const JUNK: &[&str] = &[
    "\n",
    "\r\n",
    "\t",
    " ",
    ":",
    "=",
    "/",
    "(",
    ")",
    "[",
    "]",
    ",",
    "-",
    ";",
    "|",
    "0x",
    "0",
    "9",
    "-1",
    "ffffffffffffffffffff",
    "99999999999999999999999",
    "NaN",
    "inf",
    "é",
    "字",
    "🦀",
    "\u{0}",
    "\u{feff}",
    "membership: \n",
    "server.1=",
    "server.1=h:1:2\n",
    "version=",
    "Mode: ",
    "Zxid: 0x",
    "Latency min/avg/max: ",
    "zk_",
    "zk_server_state\t",
    "zk_peer_state\t",
    " - ",
    "Total watches:",
    "Environment:\n",
    " /127.0.0.1:1[",
    " connections watching ",
    "This ZooKeeper instance is not currently serving requests",
    " is not executed because it is not in the whitelist.",
];

/// Byte offsets where `text` may be cut: every char boundary, both ends included.
fn boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

fn mutate(rng: &mut XorShift, text: &str) -> String {
    let mut text = text.to_string();
    for _ in 0..=rng.below(3) {
        let cuts = boundaries(&text);
        let at = cuts[rng.below(cuts.len())];
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        text = match rng.below(7) {
            0 => text[..at].to_string(),
            1 => format!("{}{}{}", &text[..at], rng.pick(JUNK), &text[at..]),
            2 => {
                let random = char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}');
                let next = cuts.iter().find(|&&c| c > at).copied().unwrap_or(at);
                format!("{}{random}{}", &text[..at], &text[next..])
            }
            3 if !lines.is_empty() => {
                let line = rng.below(lines.len());
                let mut out: Vec<&str> = lines.clone();
                out.insert(line, lines[line]);
                out.concat()
            }
            4 if !lines.is_empty() => {
                let mut out = lines.clone();
                out.remove(rng.below(lines.len()));
                out.concat()
            }
            5 if lines.len() > 1 => {
                let mut out = lines.clone();
                let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                out.swap(a, b);
                out.concat()
            }
            _ => {
                let end = cuts[rng.below(cuts.len())].max(at);
                format!("{}{}", &text[..at], &text[end..])
            }
        };
    }
    text
}

/// Reads `text` as the answer to every word the poller reads; returns how many read as data.
fn feed_every_parser(text: &str) -> usize {
    READ.into_iter()
        .filter(|&command| kind(command, text) == AnswerKind::Data)
        .count()
}

/// Above this size (the 17 KB `mntr` answers) cutting at every byte costs quadratic time for
/// nothing new: the middle of `mntr` is hundreds of lines of the same shape.
const CUT_EVERYWHERE_UP_TO: usize = 4096;

/// Where to cut a fixture: every char boundary of a small one; for a large one every boundary
/// near either end plus both sides of every newline.
fn cut_points(text: &str) -> Vec<usize> {
    if text.len() <= CUT_EVERYWHERE_UP_TO {
        return boundaries(text);
    }
    let edge = CUT_EVERYWHERE_UP_TO / 2;
    boundaries(text)
        .into_iter()
        .filter(|&at| {
            at < edge
                || at > text.len() - edge
                || text[..at].ends_with('\n')
                || text[at..].starts_with('\n')
        })
        .collect()
}

/// Cuts of each fixture and random mutations of it; the assertion is only that nothing
/// panics. Fewer mutations of the large `mntr` answers keep the test quick on a shared machine.
#[test]
fn no_input_makes_a_parser_panic() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let (mut fed, mut understood) = (0usize, 0usize);
    for (_, text) in all_fixtures() {
        for end in cut_points(&text) {
            understood += feed_every_parser(&text[..end]);
            fed += 1;
        }
        let rounds = if text.len() > CUT_EVERYWHERE_UP_TO {
            100
        } else {
            500
        };
        for _ in 0..rounds {
            understood += feed_every_parser(&mutate(&mut rng, &text));
            fed += 1;
        }
    }
    for _ in 0..5000 {
        let len = rng.below(64);
        let junk: String = (0..len).map(|_| rng.pick(JUNK)).collect();
        understood += feed_every_parser(&junk);
        fed += 1;
    }
    assert!(fed > 60_000, "only {fed} inputs");
    // Mutations must still reach the parsers' data paths, not only their first refusal (the
    // three words the poller reads take about 6,000 of them as data).
    assert!(
        understood > 5_000,
        "only {understood} inputs parsed as data"
    );
}
