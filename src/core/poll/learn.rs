//! What an answer teaches a node's schedule: a start or a change of mode or epoch (the view and
//! `mntr` are then due at once), which words the 4lw whitelist refuses, whether an AdminServer
//! answers. It reads the answers as the report carries them, read once (`ensemble::Reading`),
//! and learns routes and starts by the ensemble model's own rules (`ensemble::Routes`,
//! `ensemble::started`).

use crate::ensemble::{started, Heard, PollFailure, Reading, Said};
use crate::poll::schedule::Schedule;
use crate::zk::admin::AdminCommand;
use crate::zk::fourlw::{Answer, Command};

/// What the AdminServer's answers of one cycle teach. `down`: the client port did not answer
/// either, so a failed HTTP question says the server is down, not that it has no AdminServer.
pub fn learn_admin(
    schedule: &mut Schedule,
    answers: &[(AdminCommand, Result<Reading, PollFailure>)],
    down: bool,
) {
    if !answers.is_empty() {
        schedule.admin_asked = schedule.cycle;
    }
    schedule.routes.note_admin(answers, down);
    for (_, result) in answers {
        match result {
            Ok(Reading::Srvr(Answer::Data(srvr))) => learn_srvr(schedule, Heard::Serving(srvr)),
            Ok(Reading::Voters(Answer::Data(_))) => {
                schedule.has_view = true;
                schedule.view_due = false;
            }
            Ok(Reading::Mntr(Answer::Data(_))) => schedule.mntr_due = false,
            Ok(Reading::ServerId(Answer::Data(_))) => schedule.sid_due = false,
            _ => {}
        }
    }
}

/// What the schedule last heard of the server, for [`started`].
fn heard(schedule: &Schedule) -> Heard<'_> {
    match (&schedule.last_srvr, &schedule.last_role) {
        (Some(srvr), _) => Heard::Serving(srvr),
        (None, Some(_)) => Heard::NotServing,
        (None, None) => Heard::Nothing,
    }
}

/// Notes a start or a change of mode or epoch: the view is due until it is read again, and
/// `mntr` too for a serving node (a LOOKING one answers it "not serving" until it serves,
/// which is itself a change).
fn learn_srvr(schedule: &mut Schedule, now: Heard) {
    let started = started(heard(schedule), now);
    if started {
        schedule.routes.started();
        schedule.sid_due = true;
    }
    let (role, srvr) = match now {
        Heard::Serving(srvr) => (
            format!("{}@{}", srvr.mode, srvr.zxid.epoch()),
            Some(srvr.clone()),
        ),
        Heard::NotServing | Heard::Nothing => ("not serving".to_string(), None),
    };
    // Due until read: a restarted node may not answer `conf` at once.
    let changed = started || Some(&role) != schedule.last_role.as_ref();
    schedule.view_due |= changed;
    schedule.mntr_due |= changed && srvr.is_some();
    schedule.last_role = Some(role);
    schedule.last_srvr = srvr;
}

/// What the four-letter words' answers of one cycle teach, in the order they were asked.
pub fn learn(schedule: &mut Schedule, answers: &[(Command, Result<Said, PollFailure>)]) {
    for (command, result) in answers {
        let Ok(said) = result else {
            if *command == Command::Srvr {
                // Whatever answers next may be a restarted server on another config.
                schedule.last_role = None;
                schedule.last_srvr = None;
                schedule.srvr_failed = true;
            }
            continue;
        };
        schedule.routes.note_fourlw(*command, &said.reading);
        if *command == Command::Srvr {
            schedule.srvr_failed = false;
        }
        match &said.reading {
            Reading::Srvr(Answer::Data(srvr)) => learn_srvr(schedule, Heard::Serving(srvr)),
            Reading::Srvr(Answer::NotServing) => learn_srvr(schedule, Heard::NotServing),
            Reading::Mntr(Answer::Data(_)) => schedule.mntr_due = false,
            Reading::Conf(Answer::Data(conf)) => {
                schedule.has_view = conf.view().is_some();
                schedule.dynamic = conf.view().and_then(|v| v.version).is_some_and(|v| v != 0);
                schedule.view_due = false;
                schedule.sid_due = false;
            }
            // Refused by the whitelist: the AdminServer's, if any, tells instead.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::{answered, read_admin, AdminRoute, Routes, Support};
    use crate::poll::schedule::{due, due_admin, REFUSED_RETRY_EVERY};

    #[test]
    fn a_server_back_from_a_refusal_is_asked_for_its_view_even_in_the_same_role() {
        let srvr = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt").to_string();
        let mut schedule = Schedule::default();
        learn(&mut schedule, &[answered(Command::Srvr, Ok(srvr.clone()))]);
        learn(&mut schedule, &[answered(Command::Srvr, Ok(srvr.clone()))]);
        assert!(schedule.view_due, "never asked yet");
        learn(&mut schedule, &[answered(Command::Conf, Ok(conf()))]);
        assert!(!schedule.view_due);
        learn(
            &mut schedule,
            &[answered(Command::Srvr, Err(PollFailure::Refused))],
        );
        learn(&mut schedule, &[answered(Command::Srvr, Ok(srvr))]);
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
            routes: Routes::words(Support::Allowed),
            ..Schedule::default()
        };
        learn(
            &mut schedule,
            &[answered(Command::Srvr, Ok(before.clone()))],
        );
        learn(
            &mut schedule,
            &[
                answered(Command::Conf, Ok(conf())),
                answered(Command::Mntr, Ok(mntr())),
            ],
        );
        learn(&mut schedule, &[answered(Command::Srvr, Ok(before))]);
        assert_eq!(due(&schedule), [Command::Srvr], "nothing changed");
        learn(&mut schedule, &[answered(Command::Srvr, Ok(after))]);
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
            routes: Routes::words(Support::Allowed),
            ..Schedule::default()
        };
        learn(&mut schedule, &[answered(Command::Srvr, Ok(follower))]);
        learn(
            &mut schedule,
            &[
                answered(Command::Conf, Ok(conf())),
                answered(Command::Mntr, Ok(mntr())),
            ],
        );
        assert_eq!(due(&schedule), [Command::Srvr]);
        learn(
            &mut schedule,
            &[answered(Command::Srvr, Ok(leader.clone()))],
        );
        assert_eq!(
            due(&schedule),
            [Command::Srvr, Command::Mntr, Command::Conf]
        );
        let not_serving = "This ZooKeeper instance is not currently serving requests\n";
        learn(
            &mut schedule,
            &[answered(Command::Mntr, Ok(not_serving.into()))],
        );
        assert!(
            due(&schedule).contains(&Command::Mntr),
            "still due: no figures yet"
        );
        learn(
            &mut schedule,
            &[
                answered(Command::Conf, Ok(conf())),
                answered(Command::Mntr, Ok(mntr())),
            ],
        );
        learn(&mut schedule, &[answered(Command::Srvr, Ok(leader))]);
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
                answered(Command::Srvr, Ok(srvr)),
                answered(Command::Mntr, Ok(refused.into())),
                answered(Command::Conf, Ok(conf_refused.into())),
            ],
        );
        assert_eq!(
            due_admin(&schedule),
            [
                AdminCommand::Mntr,
                AdminCommand::VotingView,
                AdminCommand::Configuration
            ],
            "probed at once, and the server's own id, which `conf` would have told"
        );
        let view = include_str!("../../../tests/fixtures/zk4lw/follower.admin.voting_view.json");
        let reply = |command, body: &str| (command, Ok(read_admin(command, 200, body)));
        learn_admin(
            &mut schedule,
            &[
                reply(
                    AdminCommand::Mntr,
                    include_str!("../../../tests/fixtures/zk4lw/follower.admin.mntr.json"),
                ),
                reply(AdminCommand::VotingView, view),
                reply(
                    AdminCommand::Configuration,
                    include_str!("../../../tests/fixtures/zk4lw/follower.admin.conf.json"),
                ),
            ],
            false,
        );
        assert_eq!(schedule.routes.admin, AdminRoute::Answers);
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
            routes: Routes {
                srvr: Support::NotWhitelisted,
                mntr: Support::NotWhitelisted,
                conf: Support::NotWhitelisted,
                ..Routes::default()
            },
            ..Schedule::default()
        };
        assert_eq!(due_admin(&schedule).len(), 3);
        learn_admin(
            &mut schedule,
            &[(AdminCommand::Srvr, Err(PollFailure::Refused))],
            false,
        );
        assert_eq!(schedule.routes.admin, AdminRoute::Absent);
        assert!(due_admin(&schedule).is_empty());
        schedule.cycle = REFUSED_RETRY_EVERY;
        assert!(!due_admin(&schedule).is_empty());
    }
}
