//! The run console's update driven key by key, as an operator would, without a terminal.

use super::approvals::{ApprovalFile, Dropped};
use super::autopilot::{Autopilot, Next, GATE_PATIENCE_MS};
use super::fixtures::*;
use super::keys::{Key, RunKey};
use super::run::{appended, offered, update, ApprovalWait, Effect, RunAction, RunState};
use crate::audit::record::{AuditEvent, RecordHash};
use crate::ensemble::{answered, PollReport};
use crate::runbook::engine::{Ended, Input, Prompt, Status};
use crate::runbook::fixtures::{engine, live, person, two_person};
use crate::runbook::output::{OutputLine, Stream};

const STOP_ZK1: &str =
    "  - {id: stop-zk1, title: Stop zk1, run: [{host: zk1, verb: stop}], effect: [{stop: {host: zk1}}]}\n";
const CHECKED: &str = "  - {id: a, title: A, gates: [{check: {host: zk1, verb: data-empty}}], run: [{host: zk2, verb: restart}]}\n";

fn type_text(state: &mut RunState, text: &str) {
    for c in text.chars() {
        press(state, Key::Char(c));
    }
}

#[test]
fn quitting_while_a_check_gate_runs_is_refused_until_it_ends() {
    let mut state = state_of(engine(CHECKED), live(&[]));
    let checks = executes(&press(&mut state, Key::Char('r')));
    assert_eq!(checks.len(), 1, "the check gate's command runs");
    assert!(matches!(state.engine.status[0], Status::Pending));
    press(&mut state, Key::Char('q'));
    assert!(!state.quit, "a check is a command on its way");
    assert!(state
        .engine
        .message
        .as_deref()
        .is_some_and(|m| m.contains("a command is running")));
    update(
        &mut state,
        RunAction::Ended {
            intent: checks[0],
            ended: exited(0),
            at: 20_000,
        },
    );
    press(&mut state, Key::Char('n'));
    press(&mut state, Key::Ctrl('c'));
    assert!(state.quit);
}

#[test]
fn an_override_takes_a_typed_reason_then_a_confirmation() {
    let mut state = state_of(engine(STOP_ZK1), live(&[1]));
    press(&mut state, Key::Char('r'));
    assert!(matches!(state.engine.prompt, Some(Prompt::Override { .. })));
    assert!(!offered(&state, RunKey::Confirm), "no y while blocked");
    assert!(executes(&press(&mut state, Key::Char('y'))).is_empty());
    press(&mut state, Key::Char('o'));
    type_text(&mut state, "drained");
    press(&mut state, Key::Backspace);
    type_text(&mut state, "d");
    let effects = press(&mut state, Key::Enter);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record {
            event: AuditEvent::Decision { .. },
            ..
        }
    )));
    assert_eq!(state.engine.prompt, Some(Prompt::Confirm));
    assert_eq!(executes(&press(&mut state, Key::Char('y'))).len(), 1);
}

#[test]
fn retry_runs_the_failed_step_again() {
    let mut state = failed_restart();
    assert!(offered(&state, RunKey::Retry));
    press(&mut state, Key::Char('R'));
    let effects = press(&mut state, Key::Char('y'));
    assert_eq!(executes(&effects).len(), 1, "{effects:?}");
}

#[test]
fn skip_needs_a_reason_and_escape_cancels_the_typing() {
    let mut state = failed_restart();
    press(&mut state, Key::Char('s'));
    press(&mut state, Key::Esc);
    assert_eq!(state.typing, None);
    press(&mut state, Key::Char('s'));
    press(&mut state, Key::Enter);
    assert!(matches!(state.engine.status[0], Status::Failed(_)));
    press(&mut state, Key::Char('s'));
    type_text(&mut state, "done by hand");
    press(&mut state, Key::Enter);
    assert_eq!(
        state.engine.status[0],
        Status::Skipped("done by hand".into())
    );
}

#[test]
fn mark_done_is_offered_only_for_an_unknown_outcome() {
    let mut state = failed_restart();
    assert!(!offered(&state, RunKey::MarkDone));
    press(&mut state, Key::Char('d'));
    assert_eq!(state.typing, None, "a failure is not marked done");

    let mut state = restart_ended(
        Ended::Unknown {
            reason: "the connection broke".into(),
            duration_ms: 9,
        },
        20_000,
    );
    assert!(matches!(state.engine.status[0], Status::OutcomeUnknown(_)));
    assert!(offered(&state, RunKey::MarkDone));
    press(&mut state, Key::Char('d'));
    type_text(&mut state, "zk1 is a follower again");
    press(&mut state, Key::Enter);
    assert!(matches!(state.engine.status[0], Status::Done));
}

#[test]
fn output_is_recorded_and_kept_for_the_screen() {
    let mut state = state_of(engine(RESTART_ZK1), live(&[]));
    let line = OutputLine {
        host: "zk1".into(),
        stream: Stream::Stderr,
        text: "restarting".into(),
    };
    let effects = update(
        &mut state,
        RunAction::Output {
            intent: 7,
            line: line.clone(),
        },
    );
    assert!(matches!(
        &effects[..],
        [Effect::Record { event: AuditEvent::Output { intent: 7, text, .. }, sync: false }] if text == "restarting"
    ));
    assert_eq!(state.output.back(), Some(&(7, line)));
}

#[test]
fn an_unchanged_ensemble_is_not_recorded_again() {
    let mut state = state_of(engine(RESTART_ZK1), live(&[]));
    let snapshots = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::Record {
                        event: AuditEvent::Snapshot { .. },
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(snapshots(&super::run::start(&mut state)), 1);
    let report = |node, at| {
        PollReport::fourlw(
            node,
            at,
            vec![answered(
                crate::zk::fourlw::Command::Srvr,
                Err(crate::ensemble::PollFailure::Refused),
            )],
        )
    };
    assert_eq!(
        snapshots(&update(&mut state, RunAction::Poll(report(0, 21_000)))),
        1,
        "zk1 went down"
    );
    assert_eq!(
        snapshots(&update(&mut state, RunAction::Poll(report(0, 22_000)))),
        0,
        "still down: nothing new"
    );
}

#[test]
fn an_approval_counts_only_when_it_names_a_record_written_since_the_request() {
    let mut state = state_of(two_person("two-person"), live(&[]));
    let effects = press(&mut state, Key::Char('r'));
    let mut hashes = Vec::new();
    for (n, effect) in effects.iter().enumerate() {
        if let Effect::Record { event, .. } = effect {
            let hash = RecordHash::of_line(format!("record {n}").as_bytes());
            appended(&mut state, ApprovalWait::of(event), hash);
            hashes.push((event.clone(), hash));
        }
    }
    let after_request = hashes
        .iter()
        .find(|(event, _)| matches!(event, AuditEvent::ApprovalRequest { .. }))
        .map(|(_, hash)| *hash)
        .expect("an approval request was recorded");
    let bob = person("bob", 1001);
    let stale = Dropped {
        owner: bob.clone(),
        content: Ok(ApprovalFile {
            step: "restart-zk1".into(),
            head: RecordHash::of_line(b"another session"),
        }),
    };
    assert!(update(&mut state, RunAction::Inbox(vec![stale])).is_empty());
    assert!(matches!(state.engine.prompt, Some(Prompt::Approval { .. })));
    let note = update(&mut state, RunAction::Inbox(Vec::new()));
    assert!(
        matches!(&note[..], [Effect::Record { event: AuditEvent::Note { text }, sync: true }] if text.contains("refused")),
        "the burst's one note: {note:?}"
    );
    let good = Dropped {
        owner: bob,
        content: Ok(ApprovalFile {
            step: "restart-zk1".into(),
            head: after_request,
        }),
    };
    update(&mut state, RunAction::Inbox(vec![good]));
    assert_eq!(state.engine.prompt, Some(Prompt::Confirm));
}

#[test]
fn once_the_log_cannot_be_written_nothing_more_runs_but_the_operator_can_quit() {
    let mut state = state_of(engine(RESTART_ZK1), live(&[]));
    update(&mut state, RunAction::LogFailed("disk full".into()));
    assert!(press(&mut state, Key::Char('r')).is_empty());
    assert_eq!(state.engine.prompt, None);
    assert!(update(
        &mut state,
        RunAction::Poll(PollReport::fourlw(0, 30_000, Vec::new()))
    )
    .is_empty());
    press(&mut state, Key::Char('q'));
    assert!(state.quit);
}

#[test]
fn the_autopilot_starts_confirms_only_with_yes_and_stops_where_a_person_is_needed() {
    let mut state = state_of(engine(RESTART_ZK1), live(&[]));
    let mut pilot = Autopilot::new(false);
    assert_eq!(pilot.next(&state, None), Next::Input(Input::Start));
    state.engine.input(Input::Start, &state.watch.ensemble);
    let Next::Stop { finished, reason } = pilot.next(&state, None) else {
        panic!("without --yes a confirmation stops the autopilot")
    };
    assert!(!finished && reason.contains("--yes"), "{reason}");
    assert_eq!(
        Autopilot::new(true).next(&state, None),
        Next::Input(Input::Confirm)
    );

    let state = state_of(engine(STOP_ZK1), live(&[1]));
    let Next::Stop { reason, .. } = Autopilot::new(true).next(&state, None) else {
        panic!("a hazard stops the autopilot")
    };
    assert!(reason.contains("stopped before `stop-zk1`"), "{reason}");
}

#[test]
fn the_autopilot_waits_for_gates_then_gives_up_naming_them() {
    // zk3 leads in this ensemble, so the gate does not hold.
    let gated =
        "  - {id: g, title: G, gates: [{not-leader: {host: zk3}}], run: [{host: zk1, verb: restart}]}\n";
    let mut state = state_of(engine(gated), live(&[]));
    let mut pilot = Autopilot::new(true);
    assert_eq!(pilot.next(&state, None), Next::Wait);
    state.watch.now += GATE_PATIENCE_MS / 2;
    assert_eq!(pilot.next(&state, None), Next::Wait);
    state.watch.now += GATE_PATIENCE_MS;
    let Next::Stop { reason, .. } = pilot.next(&state, None) else {
        panic!("gates unmet past the patience stop the autopilot")
    };
    assert!(reason.contains("gates not met"), "{reason}");
}

/// The wall clock is stepped back an hour while the autopilot waits for a gate: its patience
/// counts from the new time and ends on schedule. It counted 0 for the hour.
#[test]
fn the_autopilot_s_patience_ends_on_schedule_when_the_clock_steps_back() {
    let gated =
        "  - {id: g, title: G, gates: [{not-leader: {host: zk3}}], run: [{host: zk1, verb: restart}]}\n";
    let mut state = state_of(engine(gated), live(&[]));
    state.watch.now = 3_600_000;
    let mut pilot = Autopilot::new(true);
    assert_eq!(pilot.next(&state, None), Next::Wait);
    state.watch.now = 10_000;
    assert_eq!(pilot.next(&state, None), Next::Wait);
    state.watch.now += GATE_PATIENCE_MS + 1;
    assert!(
        matches!(pilot.next(&state, None), Next::Stop { .. }),
        "the patience is over"
    );
}

/// `--resume --autopilot` after a failure: the step the log left failed is retried once its
/// gates hold again; one failed in this session, or one whose gates stay unmet, stops naming
/// the decision and the console's keys for it.
#[test]
fn a_step_failed_before_the_resume_is_retried_when_its_gates_hold_and_otherwise_named() {
    use crate::audit::record::StepState;
    use crate::runbook::engine::Recorded;
    let failed = [AuditEvent::Step {
        step: "restart-zk1".into(),
        state: StepState::Failed,
    }];
    let resumed = |steps: &str| {
        let mut engine = engine(steps);
        engine.resume(&Recorded::of(&failed));
        engine
    };
    let state = state_of(resumed(RESTART_ZK1), live(&[]));
    assert_eq!(state.engine.prompt, Some(Prompt::Recover));
    assert_eq!(
        Autopilot::new(true).next(&state, None),
        Next::Input(Input::Retry)
    );

    // zk1 leads now: its not-leader gate stays unmet past the patience.
    let mut state = state_of(resumed(RESTART_ZK1), live(&[]));
    state.engine.node_of = vec![Some(2), Some(1), Some(0)];
    let mut pilot = Autopilot::new(true);
    assert_eq!(pilot.next(&state, None), Next::Wait);
    state.watch.now += GATE_PATIENCE_MS + 1;
    let Next::Stop { reason, .. } = pilot.next(&state, None) else {
        panic!("unmet gates past the patience stop the autopilot")
    };
    assert!(
        reason.contains("failed before the resume") && reason.contains("gate not met"),
        "{reason}"
    );
    assert!(
        reason.contains("R runs the step again, b runs its rollback, s skips it"),
        "{reason}"
    );

    // Failed in this session: a person decides, told which keys do what.
    let Next::Stop { reason, .. } = Autopilot::new(true).next(&failed_restart(), None) else {
        panic!("a failure stops the autopilot")
    };
    assert!(reason.contains("R runs the step again"), "{reason}");
}

#[test]
fn the_poller_is_told_what_the_current_steps_gates_need_and_when_it_changes() {
    let mut state = state_of(engine(RESTART_ZK1), live(&[]));
    let demand = |effects: &[Effect]| {
        effects.iter().find_map(|e| match e {
            Effect::Demand(needs) => Some(needs.clone()),
            _ => None,
        })
    };
    let first = demand(&super::run::start(&mut state)).expect("the first step's needs");
    assert!(
        first[2].mntr,
        "the sync gate reads the leader's mntr: {first:?}"
    );
    assert!(!first[0].mntr && !first[1].mntr);
    assert_eq!(
        demand(&update(&mut state, RunAction::Tick(21_000))),
        None,
        "told once, not on every action"
    );
    press(&mut state, Key::Char('r'));
    let running = demand(&press(&mut state, Key::Char('y'))).expect("the wait's needs");
    assert_ne!(running, first, "{running:?}");
}

/// A wait counts only answers polled after the step's commands ended, by the clock at which
/// they ended: the last tick or poll before that can be seconds older.
#[test]
fn answers_polled_before_the_command_ended_do_not_end_its_wait() {
    use crate::ensemble::{answered, PollFailure, PollReport};
    use crate::zk::fourlw::Command;
    const FOLLOWER_SRVR: &str = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt");
    let conf = "serverId=1\nmembership: \nserver.1=10.0.0.1:2888:3888:participant\nserver.2=10.0.0.2:2888:3888:participant\nserver.3=10.0.0.3:2888:3888:participant\nversion=0";
    let report = |at, answers| RunAction::Poll(PollReport::fourlw(0, at, answers));
    let restarted_before_the_end = |state: &mut RunState| {
        update(
            state,
            report(
                26_000,
                vec![answered(Command::Srvr, Err(PollFailure::Refused))],
            ),
        );
        update(
            state,
            report(
                27_000,
                vec![
                    answered(Command::Srvr, Ok(FOLLOWER_SRVR.to_string())),
                    answered(Command::Conf, Ok(conf.to_string())),
                ],
            ),
        );
    };
    let mut state = restart_ended(exited(0), 30_000);
    restarted_before_the_end(&mut state);
    assert!(
        matches!(state.engine.status[0], Status::Waiting { .. }),
        "{:?}",
        state.engine.status[0]
    );
}

/// zk2, seen running, is stopped by hand before `stop-zk1`: the step's quorum loss may pass once
/// zk2 runs again (a hand restart), so the autopilot waits within the gates' patience, then
/// stops naming the hazard and the stopped server. A server down from the start stops it at
/// once (the test above).
#[test]
fn a_hazard_of_a_server_stopped_during_the_run_is_waited_for_then_named() {
    let mut state = state_of(engine(STOP_ZK1), live(&[]));
    state.engine.tick(&live(&[]), 20_000);
    state.watch.ensemble = live(&[1]);
    state.engine.tick(&state.watch.ensemble, 21_000);
    let mut pilot = Autopilot::new(true);
    assert_eq!(pilot.next(&state, None), Next::Wait);
    state.watch.now += GATE_PATIENCE_MS + 1;
    let Next::Stop { reason, .. } = pilot.next(&state, None) else {
        panic!("past the patience, the hazard stops the autopilot")
    };
    assert!(
        reason.contains("quorum loss")
            && reason.contains("(while zk2 is stopped outside the runbook)"),
        "{reason}"
    );
}

/// zk2 stopped by hand while zk1's restart runs: the step fails at once and the autopilot
/// stops naming the lost quorum and zk2, while the console stays busy — no quit, retry, roll
/// back or skip — until the restart's command has ended and its result is in.
#[test]
fn a_step_failed_on_a_lost_quorum_stays_busy_until_its_running_command_ends() {
    let mut state = state_of(engine(RESTART_ZK1), live(&[]));
    update(&mut state, RunAction::Tick(20_000));
    press(&mut state, Key::Char('r'));
    let intent = executes(&press(&mut state, Key::Char('y')))[0];
    state.watch.ensemble = crate::runbook::fixtures::live_at(&[0, 1], 21_000);
    update(&mut state, RunAction::Tick(21_000));
    assert!(matches!(state.engine.status[0], Status::Failed(_)));
    let Next::Stop { reason, .. } = Autopilot::new(true).next(&state, None) else {
        panic!("the autopilot stops")
    };
    assert!(
        reason.contains("failed: quorum lost: zk2 stopped outside the runbook"),
        "{reason}"
    );
    assert!(state.busy());
    let waiting = super::heartbeat::waiting_for(&state).map(|(_, what)| what);
    assert_eq!(
        waiting.as_deref(),
        Some("the commands of `restart-zk1` on zk1 to end"),
        "the autopilot's heartbeat while it waits for the command"
    );
    for key in [RunKey::Retry, RunKey::Rollback, RunKey::Skip] {
        assert!(!offered(&state, key), "{key:?} while the command runs");
    }
    press(&mut state, Key::Char('q'));
    assert!(!state.quit, "its command is on its way");
    update(
        &mut state,
        RunAction::Ended {
            intent,
            ended: exited(0),
            at: 23_000,
        },
    );
    assert!(!state.busy());
    assert!(offered(&state, RunKey::Retry));
}

/// `p` is offered only when a pick no longer fits and a server fits it now; while choosing,
/// only the list's keys apply, and cancelling records nothing and binds nothing.
#[test]
fn the_re_bind_list_opens_on_a_misfit_only_and_cancelling_it_changes_nothing() {
    use crate::runbook::fixtures::{picked_engine, zk1_leads};
    const RESTART_F: &str = "  - {id: restart-f, title: R, confirm: none, run: [{host: f, verb: restart}], effect: [{restart: {host: f}}]}\n";
    let engine = picked_engine("[{name: f, pick: follower}]", RESTART_F, "zk3");
    let state = state_of(engine.clone(), live(&[]));
    assert!(!offered(&state, RunKey::Rebind), "zk1 still follows");
    let mut state = state_of(engine, zk1_leads(20_000));
    assert!(offered(&state, RunKey::Rebind));
    press(&mut state, Key::Char('p'));
    let Some((choices, 0)) = &state.choosing else {
        panic!("the list is open")
    };
    assert_eq!(choices.len(), 2);
    for key in [RunKey::Run, RunKey::Rebind, RunKey::Confirm, RunKey::Quit] {
        assert!(!offered(&state, key), "{key:?} while choosing");
    }
    assert!(
        press(&mut state, Key::Char('r')).is_empty(),
        "r runs nothing"
    );
    assert!(press(&mut state, Key::Char('c')).is_empty());
    assert!(state.choosing.is_none());
    assert_eq!(state.engine.procedure.hosts[0].inventory.name, "zk1");
}
