//! Which routes a node's figures come by, as its answers showed: the 4lw whitelist's verdict on
//! each word, and whether its AdminServer answers. One type learnt by one set of rules
//! ([`Routes::note_fourlw`], [`Routes::note_admin`], [`Routes::started`]), kept by the poller's
//! schedule to decide what to ask and by the ensemble model to say what the card shows.

use crate::ensemble::report::{PollFailure, Reading};
use crate::zk::admin::AdminCommand;
use crate::zk::fourlw::{AnswerKind, Command};

/// Whether a node answers a command or refuses it (4lw whitelist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    #[default]
    Unknown,
    Allowed,
    NotWhitelisted,
}

/// Unanswered probes (timeouts) after which no AdminServer is taken to be there: a firewall
/// that drops port 8080 must not keep the sync gate waiting for a `mntr` that never comes. A
/// cold Jetty's first answer can take over a second, so one timeout is not enough.
pub const ADMIN_PROBES: u32 = 3;

/// What is known of a node's AdminServer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminRoute {
    /// Not asked yet.
    #[default]
    Probing,
    /// Unanswered probes so far, fewer than [`ADMIN_PROBES`].
    Missed { misses: u32 },
    /// It answered the last question.
    Answers,
    /// It answered before and is silent now, `misses` questions in a row: its server may be
    /// restarting (`QuorumPeer.start` binds the client port, then starts Jetty, whose first
    /// answers can time out), or a firewall came up. Asked again with a backoff
    /// (`poll::retry_gap`), never given up for good.
    Silent { misses: u32 },
    /// Never answered: nothing listens there (the connection was refused) or [`ADMIN_PROBES`]
    /// probes timed out. Probed again only rarely.
    Absent,
}

impl AdminRoute {
    /// The route after one more question: any HTTP answer (even an error status) says it
    /// answers.
    pub fn after(self, result: Result<(), &PollFailure>) -> AdminRoute {
        match (self, result) {
            (_, Ok(())) => AdminRoute::Answers,
            (AdminRoute::Answers, Err(_)) => AdminRoute::Silent { misses: 1 },
            (AdminRoute::Silent { misses }, Err(_)) => AdminRoute::Silent {
                misses: misses.saturating_add(1),
            },
            (AdminRoute::Absent, Err(_)) | (_, Err(PollFailure::Refused)) => AdminRoute::Absent,
            (AdminRoute::Probing, Err(_)) => AdminRoute::Missed { misses: 1 }.given_up(),
            (AdminRoute::Missed { misses }, Err(_)) => {
                AdminRoute::Missed { misses: misses + 1 }.given_up()
            }
        }
    }

    fn given_up(self) -> AdminRoute {
        match self {
            AdminRoute::Missed { misses } if misses >= ADMIN_PROBES => AdminRoute::Absent,
            other => other,
        }
    }

    /// Not known to answer yet: the first questions probe it.
    pub fn probing(self) -> bool {
        matches!(self, AdminRoute::Probing | AdminRoute::Missed { .. })
    }

    /// Nothing to wait for from it now: never found, or silent for [`ADMIN_PROBES`] cycles in a
    /// row since its server last started. A gate that would read its `mntr` decides without it
    /// meanwhile; it is still asked, and counts again the moment it answers.
    pub fn gone(self) -> bool {
        match self {
            AdminRoute::Absent => true,
            AdminRoute::Silent { misses } => misses >= ADMIN_PROBES,
            AdminRoute::Probing | AdminRoute::Missed { .. } | AdminRoute::Answers => false,
        }
    }
}

/// Which routes a node's figures come by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Routes {
    pub srvr: Support,
    pub mntr: Support,
    pub conf: Support,
    pub admin: AdminRoute,
}

impl Routes {
    /// `mntr` and `conf` known as `support`, the rest unknown: where the schedule's tests start.
    #[cfg(test)]
    pub fn words(support: Support) -> Routes {
        Routes {
            mntr: support,
            conf: support,
            ..Routes::default()
        }
    }

    /// A four-letter word's answer: a refusal or data is the whitelist's verdict; "not serving"
    /// says nothing of it (a node without quorum answers so to everything), so what was known
    /// stays known.
    pub fn note_fourlw(&mut self, command: Command, reading: &Reading) {
        let support = match command {
            Command::Srvr => &mut self.srvr,
            Command::Mntr => &mut self.mntr,
            Command::Conf => &mut self.conf,
            _ => return,
        };
        match reading.kind() {
            AnswerKind::NotWhitelisted => *support = Support::NotWhitelisted,
            AnswerKind::Data => *support = Support::Allowed,
            _ => {}
        }
    }

    /// The AdminServer's answers of one cycle, counted as one question: any answer says it
    /// answers, and a cycle's several questions to a server whose Jetty is not up yet are one
    /// miss, not several. `down`: the client port did not answer either, so failed HTTP
    /// questions say the server is down, not that it has no AdminServer.
    pub fn note_admin(
        &mut self,
        answers: &[(AdminCommand, Result<Reading, PollFailure>)],
        down: bool,
    ) {
        let outcome = if answers.iter().any(|(_, result)| result.is_ok()) {
            Some(Ok(()))
        } else {
            answers
                .first()
                .map(|(_, result)| result.as_ref().map(|_| ()))
        };
        match outcome {
            Some(Err(_)) if down => {}
            Some(result) => self.admin = self.admin.after(result),
            None => {}
        }
    }

    /// The server started (`report::started`): an AdminServer that went silent while it
    /// restarted is asked again at once, the backoff starting over.
    pub fn started(&mut self) {
        if let AdminRoute::Silent { .. } = self.admin {
            self.admin = AdminRoute::Silent { misses: 0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_server_is_given_up_on_after_a_few_silent_probes_but_found_again() {
        let timeout = PollFailure::Timeout;
        let mut route = AdminRoute::default();
        route = route.after(Err(&timeout));
        route = route.after(Err(&timeout));
        assert!(route.probing(), "a cold Jetty may be slow");
        route = route.after(Err(&timeout));
        assert_eq!(route, AdminRoute::Absent);
        assert_eq!(route.after(Ok(())), AdminRoute::Answers);
        assert_eq!(
            AdminRoute::default().after(Err(&PollFailure::Refused)),
            AdminRoute::Absent,
            "nothing listens"
        );
    }

    /// Found on a rolling restart with `--admin`: Jetty starts after the client port, the
    /// probes of the restarting server failed, and the route was dropped for as long as the
    /// console ran.
    #[test]
    fn a_route_that_answered_before_is_silent_never_absent_and_starts_over_with_its_server() {
        let mut routes = Routes {
            admin: AdminRoute::Answers,
            ..Routes::default()
        };
        let cycle = |failure: PollFailure| {
            [AdminCommand::Mntr, AdminCommand::VotingView].map(|c| (c, Err(failure.clone())))
        };
        for failure in [
            PollFailure::Refused,
            PollFailure::Timeout,
            PollFailure::Refused,
        ] {
            routes.note_admin(&cycle(failure), false);
        }
        assert_eq!(
            routes.admin,
            AdminRoute::Silent { misses: 3 },
            "one miss per cycle, not per question"
        );
        assert!(
            routes.admin.gone(),
            "the sync gate does not wait for it meanwhile"
        );
        routes.note_admin(&cycle(PollFailure::Timeout), true);
        assert_eq!(
            routes.admin,
            AdminRoute::Silent { misses: 3 },
            "a down server says nothing of its AdminServer"
        );
        routes.started();
        assert_eq!(routes.admin, AdminRoute::Silent { misses: 0 });
        assert!(
            !routes.admin.gone(),
            "a started server's Jetty is waited for"
        );
        let answered = [
            (AdminCommand::Mntr, Err(PollFailure::Timeout)),
            (AdminCommand::VotingView, Ok(Reading::Unread)),
        ];
        routes.note_admin(&answered, false);
        assert_eq!(routes.admin, AdminRoute::Answers);
    }

    #[test]
    fn the_whitelist_verdict_comes_from_refusals_and_data_only() {
        let mut routes = Routes::default();
        let refused = Reading::Mntr(crate::zk::fourlw::Answer::NotWhitelisted);
        routes.note_fourlw(Command::Mntr, &refused);
        assert_eq!(routes.mntr, Support::NotWhitelisted);
        let not_serving = Reading::Mntr(crate::zk::fourlw::Answer::NotServing);
        routes.note_fourlw(Command::Mntr, &not_serving);
        assert_eq!(routes.mntr, Support::NotWhitelisted, "says nothing of it");
    }
}
