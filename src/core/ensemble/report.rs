//! What one poll cycle of a node brought back, each answer read once, where the poller received
//! it ([`answered`] for a four-letter word, [`read_admin`] for the AdminServer): the poller's
//! schedule (`poll::learn`) and the ensemble model (`EnsembleState::apply`) both read these
//! readings, never the text again. Also the one restart detector both of them use ([`started`]).

use std::fmt::Display;

use crate::ensemble::Millis;
use crate::zk::admin::{self, AdminCommand};
use crate::zk::config::View;
use crate::zk::fourlw::{self, Answer, AnswerKind, Command, Conf, Mntr, Srvr};
use crate::zk::zxid::Zxid;

/// Why a poll got no answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum PollFailure {
    Refused,
    Timeout,
    Io(String),
}

/// What one answer says, whichever route it came by.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Srvr(Answer<Srvr>),
    Mntr(Answer<Mntr>),
    /// `conf` (3.5+): the server's id and the view it runs.
    Conf(Answer<Conf>),
    /// The AdminServer's `voting_view`: the voters of the view it runs.
    Voters(Answer<View>),
    /// The AdminServer's `configuration`: the server's own id.
    ServerId(Answer<u64>),
    /// A word the model does not read; only a `fourlw` gate reads its text.
    Unread,
    /// The answer could not be read: why, in words for the operator.
    Unreadable(String),
}

impl Reading {
    pub fn kind(&self) -> AnswerKind {
        match self {
            Reading::Srvr(a) => a.kind(),
            Reading::Mntr(a) => a.kind(),
            Reading::Conf(a) => a.kind(),
            Reading::Voters(a) => a.kind(),
            Reading::ServerId(a) => a.kind(),
            Reading::Unread => AnswerKind::Empty,
            Reading::Unreadable(_) => AnswerKind::Unparsable,
        }
    }
}

/// A four-letter word's answer: its text as received, which a `fourlw` gate reads, and what it
/// says.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    pub text: String,
    pub reading: Reading,
}

fn read<T, E: Display>(
    parsed: Result<Answer<T>, E>,
    into: impl FnOnce(Answer<T>) -> Reading,
) -> Reading {
    parsed.map_or_else(|e| Reading::Unreadable(e.to_string()), into)
}

/// A four-letter word's answer as it goes into a [`PollReport`]: the one place the poll path
/// parses it.
pub fn answered(
    command: Command,
    result: Result<String, PollFailure>,
) -> (Command, Result<Said, PollFailure>) {
    let said = result.map(|text| {
        let reading = match command {
            Command::Srvr => read(fourlw::parse_srvr(&text), Reading::Srvr),
            Command::Mntr => read(fourlw::parse_mntr(&text), Reading::Mntr),
            Command::Conf => read(fourlw::parse_conf(&text), Reading::Conf),
            _ => Reading::Unread,
        };
        Said { text, reading }
    });
    (command, said)
}

/// An AdminServer answer (HTTP status and body) as it goes into a [`PollReport`]: the one
/// place the poll path parses it.
pub fn read_admin(command: AdminCommand, status: u16, body: &str) -> Reading {
    match command {
        AdminCommand::Srvr => read(admin::parse_srvr(status, body), Reading::Srvr),
        AdminCommand::Mntr => read(admin::parse_mntr(status, body), Reading::Mntr),
        AdminCommand::VotingView => read(admin::parse_voting_view(status, body), Reading::Voters),
        AdminCommand::Configuration => {
            read(admin::parse_server_id(status, body), Reading::ServerId)
        }
    }
}

/// One node's answers from one poll cycle, read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollReport {
    pub node: usize,
    pub at: Millis,
    /// Connect-to-EOF time of the `srvr` exchange, in milliseconds.
    pub round_trip_ms: Option<f64>,
    pub answers: Vec<(Command, Result<Said, PollFailure>)>,
    /// What the AdminServer answered, for what the four-letter words refused.
    pub admin: Vec<(AdminCommand, Result<Reading, PollFailure>)>,
    /// The node's client session (`ping::Link`): the zxid a ping read, or why the session
    /// ended (the server closed it: it left its role, or it stopped). `None`: not pinged.
    pub ping: Option<Result<Zxid, PollFailure>>,
    /// A session is open on the node as the cycle ends: until it closes, the node serves in
    /// the mode its last `srvr` showed (`Learner.shutdown` and `Leader.shutdown` close every
    /// client connection of a server leaving its role).
    pub linked: bool,
}

impl PollReport {
    /// Node `node`'s four-letter-word answers at `at`, and nothing else: the report most tests
    /// feed in.
    #[cfg(any(test, feature = "testing"))]
    pub fn fourlw(
        node: usize,
        at: Millis,
        answers: Vec<(Command, Result<Said, PollFailure>)>,
    ) -> PollReport {
        PollReport {
            node,
            at,
            answers,
            ..PollReport::default()
        }
    }

    /// The client port gave no `srvr` answer: a failed HTTP question in the same cycle says the
    /// server is down, not that it has no AdminServer.
    pub fn srvr_failed(&self) -> bool {
        self.answers
            .iter()
            .any(|(c, r)| *c == Command::Srvr && r.is_err())
    }

    /// Down on every route: neither the client port nor the AdminServer answered `srvr`.
    pub fn down(&self) -> bool {
        self.srvr_failed()
            && !self
                .admin
                .iter()
                .any(|(c, r)| *c == AdminCommand::Srvr && r.is_ok())
    }
}

/// A `srvr` outcome, as far as the server's life goes.
#[derive(Debug, Clone, Copy)]
pub enum Heard<'a> {
    /// No answer: down, or not asked yet.
    Nothing,
    /// Up without quorum (LOOKING), or an answer that could not be read.
    NotServing,
    Serving(&'a Srvr),
}

/// Whether the server started between two `srvr` outcomes: the one restart detector of the
/// poller's schedule and the ensemble model. A server that answers after it did not has
/// started, even if it is LOOKING; one that serves after it did not runs a new
/// `ZooKeeperServer` (`QuorumPeer.run` makes one each time the peer starts following, leading
/// or observing); one that served in both may have restarted in between
/// ([`restarted_between`]).
pub fn started(before: Heard, after: Heard) -> bool {
    match (before, after) {
        (_, Heard::Nothing) => false,
        (Heard::Nothing, _) => true,
        (Heard::NotServing, Heard::Serving(_)) => true,
        (Heard::Serving(before), Heard::Serving(after)) => restarted_between(before, after),
        (Heard::NotServing | Heard::Serving(_), Heard::NotServing) => false,
    }
}

/// Whether the server behind two `srvr` answers started again in between, however fast. Its
/// counters live in the `ServerStats` of the `ZooKeeperServer` instance, which
/// `QuorumPeer.run` creates anew each time the peer starts following, leading or observing
/// (`makeFollower`, `makeLeader`, `makeObserver`), so they start from zero after a restart and
/// after a rejoin alike; and every 4lw question is itself a received packet
/// (`NIOServerCnxn.checkFourLetterWord` calls `packetReceived` before answering), so a server polled
/// before shows more than a freshly started one. Measured on 3.8.0: `Received: 12, Sent: 11`
/// before `zkctl restart`, `Received: 1, Sent: 0` at the first answer after it
/// (`tests/fixtures/zk4lw/restart.*.srvr.txt`). The AdminServer's `uptime` (milliseconds since
/// that same instance started; HTTP questions are not counted as packets) says it directly.
pub fn restarted_between(before: &Srvr, after: &Srvr) -> bool {
    let counters_dropped = after.received < before.received || after.sent < before.sent;
    let uptime_dropped = matches!(
        (before.uptime_ms, after.uptime_ms),
        (Some(earlier), Some(later)) if later < earlier
    );
    counters_dropped || uptime_dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_is_read_into_what_it_says_whichever_route_it_came_by() {
        let (_, said) = answered(Command::Srvr, Ok(zk4lw!("follower.srvr.txt").into()));
        let said = said.unwrap();
        assert_eq!(said.text, zk4lw!("follower.srvr.txt"));
        let Reading::Srvr(Answer::Data(by_4lw)) = said.reading else {
            panic!("{said:?}");
        };
        let by_admin = read_admin(AdminCommand::Srvr, 200, zk4lw!("follower.admin.srvr.json"));
        let Reading::Srvr(Answer::Data(by_http)) = by_admin else {
            panic!("{by_admin:?}");
        };
        assert_eq!(by_4lw.mode, by_http.mode);
        let refused = "mntr is not executed because it is not in the whitelist.\n";
        let (_, said) = answered(Command::Mntr, Ok(refused.into()));
        assert_eq!(said.unwrap().reading.kind(), AnswerKind::NotWhitelisted);
        let (_, said) = answered(Command::Srvr, Ok("Zookeeper version: 3.8".into()));
        assert_eq!(said.unwrap().reading.kind(), AnswerKind::Unparsable);
        let (_, said) = answered(Command::Ruok, Ok("imok".into()));
        assert_eq!(said.unwrap().reading, Reading::Unread);
        assert_eq!(
            read_admin(AdminCommand::Mntr, 500, "").kind(),
            AnswerKind::NotServing
        );
        assert_eq!(
            read_admin(
                AdminCommand::Configuration,
                200,
                zk4lw!("follower.admin.conf.json")
            ),
            Reading::ServerId(Answer::Data(1))
        );
    }

    #[test]
    fn a_start_is_an_answer_after_none_serving_after_not_or_counters_from_zero() {
        let srvr = |text: &str| fourlw::parse_srvr(text).unwrap().data().unwrap().clone();
        let before = srvr(zk4lw!("restart.before.srvr.txt"));
        let after = srvr(zk4lw!("restart.after.srvr.txt"));
        use Heard::{NotServing, Nothing, Serving};
        assert!(started(Nothing, NotServing));
        assert!(started(Nothing, Serving(&before)));
        assert!(started(NotServing, Serving(&before)));
        assert!(started(Serving(&before), Serving(&after)));
        assert!(!started(Serving(&before), Serving(&before)));
        assert!(!started(Serving(&before), NotServing));
        assert!(!started(NotServing, NotServing));
        assert!(!started(Serving(&before), Nothing));
    }

    #[test]
    fn the_admin_servers_uptime_tells_a_restart_too() {
        let srvr = |uptime| Srvr {
            uptime_ms: Some(uptime),
            ..fourlw::parse_srvr(include_str!(
                "../../../tests/fixtures/zk4lw/follower.srvr.txt"
            ))
            .unwrap()
            .data()
            .unwrap()
            .clone()
        };
        assert!(!restarted_between(&srvr(5_000), &srvr(6_000)));
        assert!(restarted_between(&srvr(5_000), &srvr(400)));
    }
}
