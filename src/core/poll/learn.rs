//! What an answer teaches a node's schedule: a restart or a change of mode or epoch (the view
//! and `mntr` are then due at once), which words the 4lw whitelist refuses, whether an
//! AdminServer answers.

use crate::ensemble::{admin_support_after, restarted_between, AdminReply, PollFailure, Support};
use crate::poll::schedule::Schedule;
use crate::zk::admin::{self, AdminCommand};
use crate::zk::fourlw::{self, Answer, Command, Srvr};

/// `down`: the client port did not answer either, so a failed HTTP question says the server
/// is down, not that it has no AdminServer.
pub fn learn_admin(
    schedule: &mut Schedule,
    answers: &[(AdminCommand, Result<AdminReply, PollFailure>)],
    down: bool,
) {
    for (command, result) in answers {
        if !(down && result.is_err()) {
            schedule.admin = admin_support_after(schedule.admin, result.as_ref().map(|_| ()));
        }
        let Ok(reply) = result else {
            continue;
        };
        match command {
            AdminCommand::Srvr => {
                if let Ok(Answer::Data(srvr)) = admin::parse_srvr(reply.status, &reply.body) {
                    learn_srvr(schedule, srvr);
                }
            }
            AdminCommand::VotingView => {
                if let Ok(Answer::Data(_)) = admin::parse_voting_view(reply.status, &reply.body) {
                    schedule.has_view = true;
                    schedule.view_due = false;
                }
            }
            AdminCommand::Mntr => {
                if let Ok(Answer::Data(_)) = admin::parse_mntr(reply.status, &reply.body) {
                    schedule.mntr_due = false;
                }
            }
        }
    }
}

/// Notes a restart or a change of mode or epoch: the view is due until it is read again.
fn learn_srvr(schedule: &mut Schedule, srvr: Srvr) {
    let role = Some(format!("{}@{}", srvr.mode, srvr.zxid.epoch()));
    let restarted = schedule
        .last_srvr
        .as_ref()
        .is_some_and(|before| restarted_between(before, &srvr));
    // Due until read: a restarted node may not answer `conf` at once.
    let changed = restarted || role != schedule.last_role;
    schedule.view_due |= changed;
    schedule.mntr_due |= changed;
    schedule.last_role = role;
    schedule.last_srvr = Some(srvr);
}

pub fn learn(schedule: &mut Schedule, answers: &[(Command, Result<String, PollFailure>)]) {
    for (command, result) in answers {
        let Ok(text) = result else {
            if *command == Command::Srvr {
                // Whatever answers next may be a restarted server on another config.
                schedule.last_role = None;
                schedule.last_srvr = None;
                schedule.srvr_failed = true;
            }
            continue;
        };
        match command {
            Command::Srvr => {
                schedule.srvr_failed = false;
                let parsed = fourlw::parse_srvr(text);
                schedule.srvr = support_of(
                    parsed.as_ref().map(Answer::kind).map_err(Clone::clone),
                    schedule.srvr,
                );
                match parsed {
                    Ok(Answer::Data(srvr)) => learn_srvr(schedule, srvr),
                    Ok(Answer::NotServing) => {
                        let role = Some("not serving".to_string());
                        schedule.view_due |= role != schedule.last_role;
                        schedule.last_role = role;
                        schedule.last_srvr = None;
                    }
                    // Refused by the whitelist: the AdminServer's srvr, if any, tells instead.
                    _ => {}
                }
            }
            Command::Mntr => {
                let kind = fourlw::parse_mntr(text).map(|a| a.kind());
                if matches!(kind, Ok(fourlw::AnswerKind::Data)) {
                    schedule.mntr_due = false;
                }
                schedule.mntr = support_of(kind, schedule.mntr)
            }
            Command::Conf => {
                let parsed = fourlw::parse_conf(text);
                if let Ok(Answer::Data(conf)) = &parsed {
                    schedule.has_view = conf.view().is_some();
                    schedule.dynamic = conf.view().and_then(|v| v.version).is_some_and(|v| v != 0);
                    schedule.view_due = false;
                }
                schedule.conf = support_of(parsed.map(|a| a.kind()), schedule.conf);
            }
            _ => {}
        }
    }
}

/// A node without quorum answers "not serving" to everything: that says nothing about the
/// whitelist, so what was known before stays known.
fn support_of(kind: Result<fourlw::AnswerKind, fourlw::ParseError>, before: Support) -> Support {
    match kind {
        Ok(fourlw::AnswerKind::NotWhitelisted) => Support::NotWhitelisted,
        Ok(fourlw::AnswerKind::Data) => Support::Allowed,
        _ => before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::schedule::{due, due_admin, REFUSED_RETRY_EVERY};

    #[test]
    fn a_server_back_from_a_refusal_is_asked_for_its_view_even_in_the_same_role() {
        let srvr = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let mut schedule = Schedule::default();
        learn(&mut schedule, &[(Command::Srvr, Ok(srvr.clone()))]);
        learn(&mut schedule, &[(Command::Srvr, Ok(srvr.clone()))]);
        assert!(schedule.view_due, "never asked yet");
        learn(&mut schedule, &[(Command::Conf, Ok(conf()))]);
        assert!(!schedule.view_due);
        learn(&mut schedule, &[(Command::Srvr, Err(PollFailure::Refused))]);
        learn(&mut schedule, &[(Command::Srvr, Ok(srvr))]);
        assert!(schedule.view_due, "restarted, maybe on another config");
    }

    fn conf() -> String {
        include_str!("../../../tests/fixtures/zk4lw/follower.conf.txt").to_string()
    }

    /// Measured on 3.8.0: a follower restarted between two polls answers in the same mode and
    /// epoch, but its counters start again from zero.
    #[test]
    fn a_restart_faster_than_a_poll_has_the_view_asked_in_the_same_cycle() {
        let before =
            include_str!("../../../tests/fixtures/zk4lw/restart.before.srvr.txt").to_string();
        let after =
            include_str!("../../../tests/fixtures/zk4lw/restart.after.srvr.txt").to_string();
        let mut schedule = Schedule {
            cycle: 7,
            mntr: Support::Allowed,
            conf: Support::Allowed,
            ..Schedule::default()
        };
        learn(&mut schedule, &[(Command::Srvr, Ok(before.clone()))]);
        learn(
            &mut schedule,
            &[(Command::Conf, Ok(conf())), (Command::Mntr, Ok(mntr()))],
        );
        learn(&mut schedule, &[(Command::Srvr, Ok(before))]);
        assert_eq!(due(&schedule), [Command::Srvr], "nothing changed");
        learn(&mut schedule, &[(Command::Srvr, Ok(after))]);
        assert_eq!(
            due(&schedule),
            [Command::Srvr, Command::Mntr, Command::Conf]
        );
    }

    fn mntr() -> String {
        include_str!("../../../tests/fixtures/zk4lw/follower.mntr.txt").to_string()
    }

    /// Measured on 3.8.0 (research notes): a new leader is elected in about a second with the
    /// epoch one higher; its synced followers are what the sync gate waits for, so its `mntr`
    /// is asked in the cycle that shows the new mode, not up to four cycles later.
    #[test]
    fn a_new_mode_or_epoch_asks_for_mntr_in_the_same_cycle_and_once() {
        let follower = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let leader = include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt").to_string();
        let mut schedule = Schedule {
            cycle: 3,
            mntr: Support::Allowed,
            conf: Support::Allowed,
            ..Schedule::default()
        };
        learn(&mut schedule, &[(Command::Srvr, Ok(follower))]);
        learn(
            &mut schedule,
            &[(Command::Conf, Ok(conf())), (Command::Mntr, Ok(mntr()))],
        );
        assert_eq!(due(&schedule), [Command::Srvr]);
        learn(&mut schedule, &[(Command::Srvr, Ok(leader.clone()))]);
        assert_eq!(
            due(&schedule),
            [Command::Srvr, Command::Mntr, Command::Conf]
        );
        let not_serving = "This ZooKeeper instance is not currently serving requests\n";
        learn(&mut schedule, &[(Command::Mntr, Ok(not_serving.into()))]);
        assert!(
            due(&schedule).contains(&Command::Mntr),
            "still due: no figures yet"
        );
        learn(
            &mut schedule,
            &[(Command::Conf, Ok(conf())), (Command::Mntr, Ok(mntr()))],
        );
        learn(&mut schedule, &[(Command::Srvr, Ok(leader))]);
        assert_eq!(
            due(&schedule),
            [Command::Srvr],
            "same mode and epoch: back to the cadence"
        );
    }

    #[test]
    fn what_the_whitelist_refuses_is_asked_of_the_admin_server() {
        let refused = "mntr is not executed because it is not in the whitelist.\n";
        let conf_refused = "conf is not executed because it is not in the whitelist.\n";
        let srvr = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let mut schedule = Schedule {
            cycle: 1,
            ..Schedule::default()
        };
        learn(
            &mut schedule,
            &[
                (Command::Srvr, Ok(srvr)),
                (Command::Mntr, Ok(refused.into())),
                (Command::Conf, Ok(conf_refused.into())),
            ],
        );
        assert_eq!(
            due_admin(&schedule),
            [AdminCommand::Mntr, AdminCommand::VotingView],
            "probed at once"
        );
        let view = include_str!("../../../tests/fixtures/zk4lw/follower.admin.voting_view.json");
        let reply = |body: &str| {
            Ok(AdminReply {
                status: 200,
                body: body.into(),
            })
        };
        learn_admin(
            &mut schedule,
            &[
                (
                    AdminCommand::Mntr,
                    reply(include_str!(
                        "../../../tests/fixtures/zk4lw/follower.admin.mntr.json"
                    )),
                ),
                (AdminCommand::VotingView, reply(view)),
            ],
            false,
        );
        assert_eq!(schedule.admin.0, Support::Allowed);
        assert!(due_admin(&schedule).is_empty(), "cycle 1: nothing due");
        schedule.cycle = 5;
        assert!(
            due_admin(&schedule).is_empty(),
            "a learner's mntr is asked rarely"
        );
        schedule.cycle = 7;
        schedule.view_due = true;
        assert_eq!(due_admin(&schedule), [AdminCommand::VotingView]);
        schedule.mntr_due = true;
        assert_eq!(
            due_admin(&schedule),
            [AdminCommand::Mntr, AdminCommand::VotingView]
        );
    }

    #[test]
    fn without_an_admin_server_it_is_probed_again_only_rarely() {
        let mut schedule = Schedule {
            cycle: 3,
            srvr: Support::NotWhitelisted,
            mntr: Support::NotWhitelisted,
            conf: Support::NotWhitelisted,
            ..Schedule::default()
        };
        assert_eq!(due_admin(&schedule).len(), 3);
        learn_admin(
            &mut schedule,
            &[(AdminCommand::Srvr, Err(PollFailure::Refused))],
            false,
        );
        assert_eq!(schedule.admin.0, Support::NotWhitelisted);
        assert!(due_admin(&schedule).is_empty());
        schedule.cycle = REFUSED_RETRY_EVERY;
        assert!(!due_admin(&schedule).is_empty());
    }
}
