//! The step engine driven with real 4lw answers and scripted operator input.

use super::fixtures::*;
use std::path::Path;

use super::engine::{Effect, Ended, Engine, Input, Prompt, Recorded, Status, STILL_RUNNING};
use crate::audit::record::{AuditEvent, CommandOutcome, DecisionKind, StepState};
use crate::ensemble::{
    answered, AdminRoute, EnsembleState, Need, PollFailure, PollReport, Support,
};
use crate::zk::fourlw::Command;

/// Node `node`'s `srvr` at `at`, and nothing else.
fn srvr_report(node: usize, at: u64, srvr: Result<String, PollFailure>) -> PollReport {
    PollReport {
        node,
        at,
        answers: vec![answered(Command::Srvr, srvr)],
        ..PollReport::default()
    }
}

/// An engine over the three-server inventory running `steps`, its first step started with
/// every server up.
fn started(steps: &str) -> (Engine, EnsembleState) {
    let mut engine = engine(steps);
    let live = live(&[]);
    engine.input(Input::Start, &live);
    (engine, live)
}

#[test]
fn a_confirmed_step_records_its_intent_before_it_runs_then_waits_until_done() {
    let mut engine = engine(RESTART_ZK1);
    let live = live(&[]);
    let effects = engine.input(Input::Start, &live);
    assert!(
        executes(&effects).is_empty(),
        "nothing runs before confirmation"
    );
    assert_eq!(engine.prompt, Some(Prompt::Confirm));
    let effects = engine.input(Input::Confirm, &live);
    let intent_at = effects
        .iter()
        .position(|e| {
            matches!(
                e,
                Effect::Record {
                    event: AuditEvent::Intent { .. },
                    sync: true
                }
            )
        })
        .unwrap();
    let execute_at = effects
        .iter()
        .position(|e| matches!(e, Effect::Execute { .. }))
        .unwrap();
    assert!(
        intent_at < execute_at,
        "the intent is fsynced before the command is released"
    );
    let intent = executes(&effects)[0];
    engine.ended(intent, exited_after(0, 900), 10_000, &live);
    assert!(matches!(engine.status[0], Status::Waiting { .. }));
    engine.tick(&super::engine_tests::live(&[0]), 11_000);
    assert!(
        matches!(engine.status[0], Status::Waiting { .. }),
        "zk1 is still down"
    );
    waits_on_stale_then_done(
        &mut engine,
        &live,
        12_000,
        30_000,
        "answers from before the restart prove nothing",
    );
    assert!(engine.finished());
}

/// Runs a one-step runbook up to its wait: started and confirmed on `before`, its command
/// ended at 10 s.
fn run_to_wait(steps: &str, before: &EnsembleState) -> Engine {
    wait_on(engine(steps), before)
}

/// `engine`, started, confirmed and its command ended at 10 s.
fn wait_on(mut engine: Engine, before: &EnsembleState) -> Engine {
    engine.input(Input::Start, before);
    let effects = engine.input(Input::Confirm, before);
    let intent = executes(&effects)[0];
    engine.ended(intent, ended_ok(), 10_000, before);
    engine
}

/// A command that exited 0 after 900 ms.
fn ended_ok() -> Ended {
    Ended::Exited {
        code: Some(0),
        duration_ms: 900,
    }
}

/// `live_at`, with zk1 answering `conf` with a view of `members` servers.
fn with_zk1_view(mut state: EnsembleState, members: u64, at: u64) -> EnsembleState {
    state.apply(&PollReport {
        admin: Vec::new(),
        node: 0,
        at,
        round_trip_ms: None,
        answers: vec![answered(Command::Conf, Ok(conf(1, members)))],
        ..PollReport::default()
    });
    state
}

/// A restart that fell between two polls. zk1 answers `follower@1` before and after,
/// but its counters started again, so the step waits for the view it shows after that start.
#[test]
fn a_restart_is_done_only_once_the_restarted_server_reports_the_predicted_view() {
    const NO_WAIT: &str = "  - {id: restart-zk1, title: Restart zk1, run: [{host: zk1, verb: restart}], effect: [{restart: {host: zk1}}]}\n";
    let before = live(&[]);
    let mut engine = run_to_wait(NO_WAIT, &before);
    assert!(
        matches!(engine.status[0], Status::Waiting { .. }),
        "a restart waits for its view even without a `wait:`"
    );
    let mut restarted = before.clone();
    let after = include_str!("../../../tests/fixtures/zk4lw/restart.after.srvr.txt");
    let before_srvr = include_str!("../../../tests/fixtures/zk4lw/restart.before.srvr.txt");
    let srvr = |text: &str, at| PollReport {
        admin: Vec::new(),
        node: 0,
        at,
        round_trip_ms: None,
        answers: vec![answered(Command::Srvr, Ok(text.to_string()))],
        ..PollReport::default()
    };
    restarted.apply(&srvr(before_srvr, 20_500));
    engine.tick(&restarted, 21_000);
    assert!(matches!(engine.status[0], Status::Waiting { .. }));
    restarted.apply(&srvr(after, 21_500));
    engine.tick(&restarted, 22_000);
    assert!(
        matches!(engine.status[0], Status::Waiting { .. }),
        "restarted, but its new view is not known yet"
    );
    let restarted = with_zk1_view(restarted, 3, 22_500);
    engine.tick(&restarted, 23_000);
    assert_eq!(engine.status[0], Status::Done);
}

#[test]
fn a_restart_that_brings_up_another_view_fails_naming_what_the_server_runs() {
    let before = live(&[]);
    let mut engine = run_to_wait(RESTART_ZK1, &before);
    let wrong = with_zk1_view(live_at(&[], 30_000), 2, 30_000);
    engine.tick(&wrong, 30_500);
    let Status::Failed(why) = &engine.status[0] else {
        panic!("{:?}", engine.status[0]);
    };
    assert!(
        why.contains(
            "zk1 runs server.1=10.0.0.1:2888:3888, server.2=10.0.0.2:2888:3888 (its `conf`)"
        ),
        "{why}"
    );
    assert!(why.contains("instead of"), "{why}");
    assert_eq!(engine.prompt, Some(Prompt::Recover));
}

#[test]
fn a_restart_whose_view_is_never_reported_times_out_saying_so() {
    let before = live(&[]);
    let mut engine = run_to_wait(RESTART_ZK1, &before);
    let mut silent = live_at(&[], 30_000);
    silent.nodes[0].view = None;
    engine.tick(&silent, 30_500);
    engine.tick(&silent, 45_000);
    let Status::Failed(why) = &engine.status[0] else {
        panic!("{:?}", engine.status[0]);
    };
    assert!(why.contains("zk1 has not reported its view"), "{why}");
}

#[test]
fn a_step_that_would_lose_quorum_needs_an_override_with_a_reason() {
    let mut engine = engine("  - {id: stop-zk1, title: Stop zk1, run: [{host: zk1, verb: stop}], effect: [{stop: {host: zk1}}]}\n");
    let live = live(&[1]);
    engine.input(Input::Start, &live);
    let Some(Prompt::Override { reasons }) = &engine.prompt else {
        panic!("{:?}", engine.prompt)
    };
    assert!(reasons[0].contains("quorum loss"), "{reasons:?}");
    assert!(executes(&engine.input(Input::Override("  ".into()), &live)).is_empty());
    assert_eq!(
        engine.message.as_deref(),
        Some("an override needs a reason")
    );
    let effects = engine.input(Input::Override("the client tier is drained".into()), &live);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record {
            event: AuditEvent::Decision { .. },
            ..
        }
    )));
    assert_eq!(engine.prompt, Some(Prompt::Confirm));
    assert_eq!(executes(&engine.input(Input::Confirm, &live)).len(), 1);
}

#[test]
fn a_failed_command_offers_recovery_and_skip_needs_a_reason() {
    let (mut engine, live) = started(RESTART_ZK1);
    let intent = executes(&engine.input(Input::Confirm, &live))[0];
    engine.ended(intent, exited_after(1, 5), 1, &live);
    assert!(matches!(engine.status[0], Status::Failed(_)));
    assert_eq!(engine.prompt, Some(Prompt::Recover));
    engine.input(Input::Skip(String::new()), &live);
    assert!(matches!(engine.status[0], Status::Failed(_)));
    engine.input(Input::Skip("done by hand".into()), &live);
    assert_eq!(engine.status[0], Status::Skipped("done by hand".into()));
}

/// The states a step was recorded in, in order.
fn recorded_states(effects: &[Effect]) -> Vec<StepState> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record {
                event: AuditEvent::Step { state, .. },
                ..
            } => Some(*state),
            _ => None,
        })
        .collect()
}

/// A parallel step whose first command fails keeps running until its siblings end: recovery
/// cannot restart hosts still busy, and the failure is recorded once, at the end, as the
/// worst outcome seen.
#[test]
fn a_parallel_step_fails_only_after_every_command_has_ended() {
    let (mut engine, live) = started("  - id: both\n    title: Both\n    parallel: true\n    run: [{host: zk1, verb: restart}, {host: zk2, verb: restart}, {host: zk3, verb: restart}]\n");
    let intents = executes(&engine.input(Input::Confirm, &live));
    assert_eq!(intents.len(), 3);
    let exited = |code| exited_after(code, 5);

    let effects = engine.ended(intents[0], exited(1), 1, &live);
    assert_eq!(engine.status[0], Status::Running);
    assert_eq!(engine.prompt, None);
    assert!(recorded_states(&effects).is_empty());
    assert!(executes(&engine.input(Input::Retry, &live)).is_empty());

    let effects = engine.ended(
        intents[1],
        Ended::Unknown {
            reason: "connection reset".into(),
            duration_ms: 3,
        },
        2,
        &live,
    );
    assert!(recorded_states(&effects).is_empty());

    let effects = engine.ended(intents[2], exited(0), 3, &live);
    assert_eq!(recorded_states(&effects), [StepState::OutcomeUnknown]);
    assert_eq!(
        engine.status[0],
        Status::OutcomeUnknown("connection reset".into())
    );
    assert_eq!(engine.prompt, Some(Prompt::Recover));
}

#[test]
fn a_broken_connection_leaves_the_outcome_unknown_until_checked() {
    let (mut engine, live) = started(RESTART_ZK1);
    let intent = executes(&engine.input(Input::Confirm, &live))[0];
    engine.ended(
        intent,
        Ended::Unknown {
            reason: "connection reset".into(),
            duration_ms: 3,
        },
        1,
        &live,
    );
    assert_eq!(
        engine.status[0],
        Status::OutcomeUnknown("connection reset".into())
    );
    engine.input(
        Input::MarkDone("zk1 restarted, checked its log".into()),
        &live,
    );
    assert_eq!(engine.status[0], Status::Done);
}

#[test]
fn typing_the_wrong_host_runs_nothing() {
    let (mut engine, live) = started(
        "  - {id: wipe, title: Wipe zk1, confirm: type-host, run: [{host: zk1, verb: stop}]}\n",
    );
    assert_eq!(engine.prompt, Some(Prompt::TypeHost("zk1".into())));
    assert!(executes(&engine.input(Input::TypedHost("zk2".into()), &live)).is_empty());
    assert_eq!(
        executes(&engine.input(Input::TypedHost("zk1".into()), &live)).len(),
        1
    );
}

fn step(id: &str, state: StepState) -> AuditEvent {
    AuditEvent::Step {
        step: id.into(),
        state,
    }
}

fn intent(intent: u64, step: &str) -> AuditEvent {
    AuditEvent::Intent {
        intent,
        step: step.into(),
        host: "zk1".into(),
        command: "zkctl restart".into(),
    }
}

fn result(intent: u64) -> AuditEvent {
    AuditEvent::Result {
        intent,
        exit_status: Some(0),
        duration_ms: 900,
        outcome: CommandOutcome::Ok,
    }
}

/// RESTART_ZK1 resumed from a log where its step ran and recorded intent 1, then `events`.
fn resumed_after_intent_1(events: Vec<AuditEvent>) -> Engine {
    let mut log = vec![
        step("restart-zk1", StepState::Running),
        intent(1, "restart-zk1"),
    ];
    log.extend(events);
    resumed(RESTART_ZK1, &log)
}

fn resumed(steps: &str, events: &[AuditEvent]) -> Engine {
    let mut engine = engine(steps);
    engine.resume(&Recorded::of(events));
    engine
}

const TWO: &str = "  - {id: two, title: Two, run: [{host: zk2, verb: restart}]}\n";

#[test]
fn a_resumed_session_keeps_done_steps_and_flags_an_unfinished_intent() {
    let engine = resumed(
        &format!("{RESTART_ZK1}{TWO}"),
        &[
            step("restart-zk1", StepState::Running),
            intent(1, "restart-zk1"),
            result(1),
            step("restart-zk1", StepState::Done),
            step("two", StepState::Running),
            intent(2, "two"),
        ],
    );
    assert_eq!(engine.status[0], Status::Done);
    assert!(matches!(engine.status[1], Status::OutcomeUnknown(_)));
    assert_eq!(engine.prompt, Some(Prompt::Recover));
}

/// A re-bind is a decision, but not one about an unknown outcome: an intent without a result
/// before it still makes its step "outcome unknown".
#[test]
fn a_re_bind_accounts_for_no_command_on_resume() {
    let engine = resumed_after_intent_1(vec![AuditEvent::Decision {
        step: "restart-zk1".into(),
        decision: DecisionKind::Rebind {
            host: "f".into(),
            from: "zk1".into(),
            to: "zk2".into(),
        },
        by: "alice".into(),
    }]);
    assert!(matches!(engine.status[0], Status::OutcomeUnknown(_)));
}

/// The crash test found this: a step killed while it waited came back pending, and the
/// autopilot ran its restart a second time.
#[test]
fn a_step_whose_command_ended_waits_again_and_is_never_run_again() {
    let mut engine = resumed(
        &format!("{RESTART_ZK1}{TWO}"),
        &[
            step("restart-zk1", StepState::Running),
            intent(1, "restart-zk1"),
            result(1),
            step("restart-zk1", StepState::Waiting),
        ],
    );
    assert!(matches!(engine.status[0], Status::Waiting { .. }));
    assert_eq!(engine.prompt, None);
    let before_the_resume = live(&[]);
    assert!(executes(&engine.input(Input::Start, &before_the_resume)).is_empty());
    waits_on_stale_then_done(
        &mut engine,
        &before_the_resume,
        25_000,
        26_000,
        "answers polled before the resume do not end the wait",
    );
    engine.input(Input::Start, &before_the_resume);
    let effects = engine.input(Input::Confirm, &before_the_resume);
    assert_eq!(
        executes(&effects),
        vec![2],
        "intent numbers go on from the log's"
    );
}

#[test]
fn a_failed_step_or_one_of_unknown_outcome_asks_for_recovery_after_a_resume() {
    let engine = resumed_after_intent_1(vec![result(1), step("restart-zk1", StepState::Failed)]);
    assert!(matches!(engine.status[0], Status::Failed(_)));
    assert_eq!(engine.prompt, Some(Prompt::Recover));
    let engine = resumed_after_intent_1(vec![
        AuditEvent::Result {
            intent: 1,
            exit_status: None,
            duration_ms: 30_000,
            outcome: CommandOutcome::Unknown {
                reason: "the connection broke".into(),
            },
        },
        step("restart-zk1", StepState::OutcomeUnknown),
    ]);
    assert!(matches!(engine.status[0], Status::OutcomeUnknown(_)));
    assert_eq!(engine.prompt, Some(Prompt::Recover));
}

#[test]
fn a_step_stopped_between_its_commands_is_of_unknown_outcome_and_one_that_ran_nothing_is_pending() {
    let both =
        "  - {id: both, title: Both, run: [{host: zk1, verb: stop}, {host: zk1, verb: restart}]}\n";
    let engine = resumed(
        both,
        &[
            step("both", StepState::Running),
            intent(1, "both"),
            result(1),
        ],
    );
    assert!(matches!(engine.status[0], Status::OutcomeUnknown(_)));
    let engine = resumed(both, &[step("both", StepState::Running)]);
    assert_eq!(engine.status[0], Status::Pending);
    assert_eq!(engine.prompt, None);
}

#[test]
fn an_unknown_outcome_the_operator_decided_on_is_not_unknown_again() {
    let engine = resumed_after_intent_1(vec![
        AuditEvent::Resume { torn_line: None },
        AuditEvent::Decision {
            step: "restart-zk1".into(),
            decision: DecisionKind::Retry,
            by: "alice".into(),
        },
        step("restart-zk1", StepState::Pending),
        step("restart-zk1", StepState::Running),
        intent(2, "restart-zk1"),
        result(2),
        step("restart-zk1", StepState::Waiting),
    ]);
    assert!(matches!(engine.status[0], Status::Waiting { .. }));
}

#[test]
fn check_commands_run_and_are_recorded_before_the_step_can_be_confirmed() {
    let mut engine = engine("  - {id: a, title: A, gates: [{check: {host: zk1, verb: data-empty}}], run: [{host: zk2, verb: restart}]}\n");
    let live = live(&[]);
    let effects = engine.input(Input::Start, &live);
    let checks = executes(&effects);
    assert_eq!(checks.len(), 1, "the check runs first");
    assert!(effects.iter().any(|e| matches!(e, Effect::Record { event: AuditEvent::Intent { command, .. }, sync: true } if command == "test -d /data")));
    assert_eq!(engine.prompt, None);
    let effects = engine.ended(checks[0], exited_after(1, 4), 1, &live);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Record {
            event: AuditEvent::Result { .. },
            ..
        }
    )));
    let Some(Prompt::Override { reasons }) = &engine.prompt else {
        panic!("{:?}", engine.prompt)
    };
    assert!(
        reasons[0].contains("the check exited with 1"),
        "{reasons:?}"
    );
    engine.input(Input::Cancel, &live);
    let checks = executes(&engine.input(Input::Start, &live));
    engine.ended(checks[0], exited_after(0, 4), 2, &live);
    assert_eq!(
        engine.prompt,
        Some(Prompt::Confirm),
        "a passing check lets the step be confirmed"
    );
}

/// The confirmation prompt was shown on an earlier poll; zk2 stopped since, so restarting
/// zk1 now leaves one voter of three. Confirming judges the step again: nothing runs, the
/// override is asked for, and only a reason given for what blocks now lets it run. It ran.
#[test]
fn a_confirmation_on_a_state_that_turned_hazardous_runs_nothing() {
    let mut engine = engine(RESTART_ZK1);
    engine.input(Input::Start, &live(&[]));
    assert_eq!(engine.prompt, Some(Prompt::Confirm));
    let zk2_down = live_at(&[1], 21_000);
    for confirm in [Input::Confirm, Input::Confirm] {
        let effects = engine.input(confirm, &zk2_down);
        assert!(executes(&effects).is_empty(), "{effects:?}");
        assert!(
            matches!(&engine.prompt, Some(Prompt::Override { reasons }) if reasons[0].contains("no quorum can form")),
            "{:?}",
            engine.prompt
        );
    }
    assert!(engine
        .message
        .as_deref()
        .unwrap_or("")
        .contains("nothing was run"));
    engine.input(
        Input::Override("drill: zk2 is back in a minute".into()),
        &zk2_down,
    );
    assert_eq!(engine.prompt, Some(Prompt::Confirm));
    assert_eq!(executes(&engine.input(Input::Confirm, &zk2_down)).len(), 1);
}

#[test]
fn fourlw_gates_read_the_latest_polled_answer() {
    let engine = engine("  - {id: a, title: A, gates: [{fourlw: {host: zk3, command: srvr, contains: 'Mode: leader'}}, {fourlw: {host: zk1, command: srvr, contains: 'Mode: leader'}}]}\n");
    let live = live(&[]);
    let readiness = engine.readiness(&live).unwrap();
    assert!(readiness.gates[0].1.is_ok(), "{readiness:?}");
    let why = readiness.gates[1].1.clone().unwrap_err();
    assert!(why.contains("does not say `Mode: leader`"), "{why}");
}

/// zk1 answered `Mode: follower`, then stopped answering: a `fourlw` gate on it no longer
/// passes, and a wait on it is not done. Both passed on the answer from before it went down.
#[test]
fn a_fourlw_gate_never_passes_on_a_server_that_stopped_answering() {
    let gated = engine("  - {id: g, title: G, gates: [{fourlw: {host: zk1, command: srvr, contains: 'Mode: follower'}}], run: [{host: zk2, verb: restart}]}\n");
    let mut ensemble = live(&[]);
    assert!(gated.readiness(&ensemble).unwrap().gates[0].1.is_ok());
    ensemble.apply(&srvr_report(0, 21_000, Err(PollFailure::Refused)));
    let why = gated.readiness(&ensemble).unwrap().gates[0]
        .1
        .clone()
        .unwrap_err();
    assert_eq!(why, "no `srvr` answer from zk1 yet");

    const BOUNCE: &str = "  - id: bounce\n    title: Bounce zk1\n    run: [{host: zk1, shell: 'zkctl restart'}]\n    wait: {timeout: 30s, until: [{fourlw: {host: zk1, command: srvr, contains: 'Mode: follower'}}]}\n";
    let before = live(&[]);
    let mut waiting = run_to_wait(BOUNCE, &before);
    let mut after = before.clone();
    for (node, srvr) in [
        (0, Err(PollFailure::Refused)),
        (1, Ok(FOLLOWER_SRVR.to_string())),
        (2, Ok(LEADER_SRVR.to_string())),
    ] {
        after.apply(&srvr_report(node, 11_000, srvr));
    }
    waiting.tick(&after, 11_500);
    assert!(
        matches!(waiting.status[0], Status::Waiting { .. }),
        "{:?}",
        waiting.status[0]
    );
}

/// The reason quotes the answer's first line, cut as every quoted answer is: a server whose
/// first line runs to megabytes gave a reason as long, drawn and printed on every poll.
#[test]
fn a_fourlw_gate_quotes_only_the_start_of_the_answer() {
    let engine = engine("  - {id: a, title: A, gates: [{fourlw: {host: zk1, command: srvr, contains: 'Mode: leader'}}]}\n");
    let mut ensemble = live(&[]);
    let long = FOLLOWER_SRVR.replacen("Zookeeper version: ", &"v".repeat(100_000), 1);
    ensemble.apply(&PollReport {
        node: 0,
        at: 21_000,
        answers: vec![answered(Command::Srvr, Ok(long))],
        ..PollReport::default()
    });
    let why = engine.readiness(&ensemble).unwrap().gates[0]
        .1
        .clone()
        .unwrap_err();
    assert!(
        why.len() < 300 && why.ends_with("…)"),
        "{} bytes",
        why.len()
    );
}

#[test]
fn synced_leaves_out_a_voter_the_runbook_keeps_down_but_no_other() {
    let step = "  - {id: a, title: A, gates: [{synced: {}}]}\n";
    let live = live_of(4, &[3]);
    let planned = engine_of(
        4,
        "views: {four: [zk1, zk2, zk3, zk4]}\ninitial: {up: [zk1, zk2, zk3], default_view: four}\n",
        step,
    );
    let readiness = planned.readiness(&live).unwrap();
    assert!(readiness.gates[0].1.is_ok(), "{readiness:?}");

    let crashed = engine_of(4, "", step);
    let why = crashed.readiness(&live).unwrap().gates[0]
        .1
        .clone()
        .unwrap_err();
    assert_eq!(why, "zk4 is not serving yet");
}

fn recorded(effects: &[Effect]) -> Vec<&AuditEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record { event, .. } => Some(event),
            _ => None,
        })
        .collect()
}

#[test]
fn a_two_person_step_waits_for_another_users_approval_before_it_can_be_confirmed() {
    let mut engine = two_person("two-person");
    let live = live(&[]);
    let effects = engine.input(Input::Start, &live);
    assert!(executes(&effects).is_empty());
    assert_eq!(engine.prompt, Some(Prompt::Approval { same_user: false }));
    assert!(recorded(&effects).contains(&&AuditEvent::ApprovalRequest {
        step: "restart-zk1".into(),
        same_user: false,
    }));
    assert!(
        engine.input(Input::Confirm, &live).is_empty(),
        "no confirmation before the approval"
    );

    let refused = [
        (
            "restart-zk2",
            person("bob", 1001),
            "names step `restart-zk2`",
        ),
        (
            "restart-zk1",
            person("alice", 1000),
            "operator's own Unix user",
        ),
    ];
    for (step, approver, why) in refused {
        let effects = engine.input(
            Input::Approve {
                step: step.into(),
                approver,
            },
            &live,
        );
        let [AuditEvent::Note { text }] = recorded(&effects)[..] else {
            panic!("{effects:?}")
        };
        assert!(text.contains("refused") && text.contains(why), "{text}");
        assert_eq!(engine.prompt, Some(Prompt::Approval { same_user: false }));
    }

    let effects = engine.input(
        Input::Approve {
            step: "restart-zk1".into(),
            approver: person("bob", 1001),
        },
        &live,
    );
    assert!(recorded(&effects).contains(&&AuditEvent::Decision {
        step: "restart-zk1".into(),
        decision: DecisionKind::Approve {
            by: "bob (uid 1001)".into()
        },
        by: "alice".into(),
    }));
    assert!(
        recorded(&effects)
            .iter()
            .any(|e| matches!(e, AuditEvent::Verdict { .. })),
        "the gates and prediction are checked again after the wait"
    );
    assert_eq!(engine.prompt, Some(Prompt::Confirm));
    assert_eq!(executes(&engine.input(Input::Confirm, &live)), [1]);
}

#[test]
fn the_same_user_approves_only_where_the_runbook_allows_it_and_each_attempt_asks_again() {
    let mut engine = two_person("two-person-same-user");
    let live = live(&[]);
    engine.input(Input::Start, &live);
    assert_eq!(engine.prompt, Some(Prompt::Approval { same_user: true }));
    let effects = engine.input(Input::Cancel, &live);
    assert!(recorded(&effects).iter().any(|e| matches!(
        e,
        AuditEvent::Decision {
            decision: DecisionKind::Cancel,
            ..
        }
    )));
    assert_eq!(engine.prompt, None);
    let late = engine.input(
        Input::Approve {
            step: "restart-zk1".into(),
            approver: person("alice", 1000),
        },
        &live,
    );
    assert!(
        matches!(recorded(&late)[..], [AuditEvent::Note { .. }]),
        "a cancelled request takes no approval"
    );
    engine.input(Input::Start, &live);
    engine.input(
        Input::Approve {
            step: "restart-zk1".into(),
            approver: person("alice", 1000),
        },
        &live,
    );
    assert_eq!(engine.prompt, Some(Prompt::Confirm));
}

#[test]
fn approval_kinds_are_strict_in_the_runbook() {
    let text = "name: t\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nsteps:\n  - id: a\n    title: A\n    approval: three-person\n";
    let err =
        crate::text::yaml::from_str::<crate::runbook::model::Runbook>(text, Path::new("rb.yaml"))
            .unwrap_err()
            .to_string();
    assert!(err.starts_with("rb.yaml:8:"), "{err}");
}

/// With `srvr` alone whitelisted and no AdminServer, the sync gate still decides,
/// by zxid over consecutive polls, and says so.
#[test]
fn the_sync_gate_decides_by_zxid_when_no_route_gives_mntr() {
    let engine = engine(RESTART_ZK1);
    let mut state = live(&[]);
    for node in &mut state.nodes {
        node.mntr = None;
        node.routes.mntr = Support::NotWhitelisted;
        node.routes.admin = AdminRoute::Answers;
    }
    let readiness = engine.readiness(&state).unwrap();
    assert!(
        readiness.gates[0]
            .1
            .as_ref()
            .is_err_and(|e| e.contains("asking its AdminServer")),
        "an AdminServer that answered may still give mntr: {:?}",
        readiness.gates[0]
    );
    for node in &mut state.nodes {
        node.routes.admin = AdminRoute::Absent;
    }
    let readiness = engine.readiness(&state).unwrap();
    let (name, result) = &readiness.gates[0];
    assert!(name.ends_with("(by zxid)"), "{name}");
    assert!(
        result.as_ref().is_err_and(|e| e.contains("over 2 polls")),
        "{result:?}"
    );
    for _ in 0..2 {
        for node in 0..3 {
            let text = if node == 2 {
                LEADER_SRVR
            } else {
                FOLLOWER_SRVR
            };
            state.apply(&PollReport {
                node,
                at: 21_000,
                answers: vec![answered(Command::Srvr, Ok(text.to_string()))],
                ..PollReport::default()
            });
        }
    }
    let readiness = engine.readiness(&state).unwrap();
    assert_eq!(readiness.gates[0].1, Ok(()));
}

/// With dynamic reconfig a starting learner takes the leader's committed config (measured in
/// the reconfig-replace rehearsal: N started on "joining" reported the leader's three-server
/// view), so a start is verified against the leader's view there, and only there.
#[test]
fn a_start_under_dynamic_reconfig_may_report_the_leaders_committed_view() {
    let mut before = live(&[]);
    for node in &mut before.nodes {
        if let Some(view) = &mut node.view {
            view.dynamic = true;
        }
    }
    let mut engine = run_to_wait(RESTART_ZK1, &before);
    let mut after = with_zk1_view(live_at(&[], 30_000), 2, 30_000);
    engine.tick(&after, 30_500);
    assert!(
        matches!(engine.status[0], Status::Failed(_)),
        "a static server's other view is a failure"
    );
    let mut engine = run_to_wait(RESTART_ZK1, &before);
    for node in &mut after.nodes {
        if let Some(view) = &mut node.view {
            view.dynamic = true;
            if node.target.name == "zk3" {
                view.view = zkpilot_view(2);
            }
        }
    }
    engine.tick(&after, 30_500);
    assert_eq!(
        engine.status[0],
        Status::Done,
        "the leader's committed view"
    );
}

/// A view changed in place (`reconfig`) is judged only on answers after the change.
#[test]
fn a_reconfig_waits_for_views_seen_after_it_and_fails_on_a_fresh_other_one() {
    const RECONFIG: &str = "  - {id: shrink, title: Shrink, run: [{host: zk1, verb: restart}], effect: [{reconfig: {view: two}}]}\n";
    let head = "views:\n  two: [zk1, zk2]\n";
    let mut engine = engine_of(3, head, RECONFIG);
    let before = live(&[]);
    engine.input(Input::Start, &before);
    let effects = engine.input(Input::Confirm, &before);
    let intent = executes(&effects)[0];
    engine.ended(intent, exited_after(0, 100), 25_000, &before);
    engine.tick(&before, 26_000);
    assert!(
        matches!(engine.status[0], Status::Waiting { .. }),
        "views from before the reconfig say nothing: {:?}",
        engine.status[0]
    );
    let mut after = before.clone();
    for node in 0..3 {
        after.apply(&PollReport {
            node,
            at: 27_000,
            answers: vec![answered(Command::Conf, Ok(conf(node as u64 + 1, 2)))],
            ..PollReport::default()
        });
    }
    engine.tick(&after, 27_500);
    assert_eq!(engine.status[0], Status::Done);
}

fn zkpilot_view(members: u64) -> crate::zk::config::View {
    let lines: Vec<String> = (1..=members)
        .map(|m| format!("server.{m}=10.0.0.{m}:2888:3888"))
        .collect();
    crate::zk::config::View::parse_lines(lines.iter().map(String::as_str)).unwrap()
}

/// Found by the mitosis rehearsal: the server was re-elected (a new start, its old view)
/// between the step's preparation and its own restart. That view, seen before the step's
/// command ended, is no verdict; the view after the restart is.
#[test]
fn another_view_seen_before_the_command_ended_is_no_verdict() {
    let mut engine = engine(RESTART_ZK1);
    let before = live(&[]);
    engine.input(Input::Start, &before);
    let effects = engine.input(Input::Confirm, &before);
    let intent = executes(&effects)[0];
    let reelected = with_zk1_view(live_at(&[], 30_000), 2, 30_000);
    engine.ended(intent, exited_after(0, 1_400), 35_000, &reelected);
    waits_on_stale_then_done(
        &mut engine,
        &reelected,
        36_000,
        40_000,
        "a view seen before the command ended is no verdict",
    );
}

/// The step's wait holds on the answers of `stale` at `at` (`why`), and ends once every server
/// answers afresh at `fresh`.
#[track_caller]
fn waits_on_stale_then_done(
    engine: &mut Engine,
    stale: &EnsembleState,
    at: u64,
    fresh: u64,
    why: &str,
) {
    engine.tick(stale, at);
    assert!(
        matches!(engine.status[0], Status::Waiting { .. }),
        "{why}: {:?}",
        engine.status[0]
    );
    engine.tick(&live_at(&[], fresh), fresh);
    assert_eq!(engine.status[0], Status::Done);
}

/// What is asked for, leaving aside from when on.
fn kinds(needs: Vec<Need>) -> Vec<Need> {
    needs
        .into_iter()
        .map(|need| Need { after: 0, ..need })
        .collect()
}

const MNTR: Need = Need {
    srvr: false,
    mntr: true,
    conf: false,
    after: 0,
};
const CONF: Need = Need {
    srvr: false,
    mntr: false,
    conf: true,
    after: 0,
};
const NOTHING: Need = Need {
    srvr: false,
    mntr: false,
    conf: false,
    after: 0,
};

/// What the poller must ask every cycle follows the step. Before it starts, the sync
/// gate needs the leader's `mntr`; while it waits, the restarted server's view is needed (and
/// nothing for `mode`, which `srvr` tells every cycle anyway).
#[test]
fn the_sync_gate_needs_the_leaders_mntr_and_a_restart_the_restarted_servers_view() {
    let before = live(&[]);
    let engine = engine(RESTART_ZK1);
    assert_eq!(
        kinds(engine.needs(&before)),
        [NOTHING, NOTHING, MNTR],
        "zk3 leads"
    );
    let mut running = engine.clone();
    running.input(Input::Start, &before);
    running.input(Input::Confirm, &before);
    assert_eq!(running.status[0], Status::Running);
    assert_eq!(
        kinds(running.needs(&before)),
        [NOTHING; 3],
        "new once the commands end"
    );
    let engine = run_to_wait(RESTART_ZK1, &before);
    assert!(matches!(engine.status[0], Status::Waiting { .. }));
    assert_eq!(kinds(engine.needs(&before)), [CONF, NOTHING, NOTHING]);
}

#[test]
fn a_wait_for_sync_needs_the_leaders_mntr_until_the_step_is_done() {
    const SYNC_WAIT: &str = "  - id: restart-zk1\n    title: Restart zk1\n    run: [{host: zk1, verb: restart}]\n    effect: [{restart: {host: zk1}}]\n    wait: {timeout: 30s, until: [{synced: {}}]}\n";
    let before = live(&[]);
    let mut engine = run_to_wait(SYNC_WAIT, &before);
    assert_eq!(kinds(engine.needs(&before)), [CONF, NOTHING, MNTR]);
    let back = with_zk1_view(live_at(&[], 30_000), 3, 30_000);
    engine.tick(&back, 30_000);
    assert_eq!(engine.status[0], Status::Done);
    assert_eq!(
        kinds(engine.needs(&back)),
        [NOTHING; 3],
        "nothing left to run"
    );
}

/// A restarted leader's view is not current until it shows it again: the sync gate counts its
/// voters from that view, so the view is needed too.
#[test]
fn a_leader_whose_view_is_not_current_has_it_asked_for_too() {
    let mut state = live(&[]);
    state.apply(&srvr_report(2, 21_000, Err(PollFailure::Refused)));
    state.apply(&srvr_report(2, 22_000, Ok(LEADER_SRVR.to_string())));
    let engine = engine(RESTART_ZK1);
    let both = Need {
        srvr: false,
        mntr: true,
        conf: true,
        after: 0,
    };
    assert_eq!(kinds(engine.needs(&state)), [NOTHING, NOTHING, both]);
}

#[test]
fn fourlw_gates_need_the_word_they_read_and_a_failed_step_needs_nothing() {
    const GATED: &str = "  - id: look\n    title: Look\n    gates: [{fourlw: {host: zk2, command: conf, contains: 'serverId=2'}}, {fourlw: {host: zk1, command: mntr, contains: 'zk_server_state'}}, {fourlw: {host: zk3, command: srvr, contains: 'Mode'}}]\n    run: [{host: zk1, verb: data-empty}]\n";
    let before = live(&[]);
    let srvr = Need {
        srvr: true,
        ..NOTHING
    };
    assert_eq!(engine(GATED).needs(&before), [MNTR, CONF, srvr]);
    let mut engine = engine(RESTART_ZK1);
    engine.input(Input::Start, &before);
    let effects = engine.input(Input::Confirm, &before);
    engine.ended(executes(&effects)[0], exited_after(1, 10), 10_000, &before);
    assert!(matches!(engine.status[0], Status::Failed(_)));
    assert_eq!(kinds(engine.needs(&before)), [NOTHING; 3]);
}

/// A follower seen back makes the leader's `mntr` stale for a wait on the sync gate: the
/// leader's need then asks for an answer from after that start, which polls it early.
#[test]
fn a_server_back_asks_the_leaders_mntr_again_from_after_its_start() {
    const SYNC_WAIT: &str = "  - id: restart-zk1\n    title: Restart zk1\n    run: [{host: zk1, verb: restart}]\n    effect: [{restart: {host: zk1}}]\n    wait: {timeout: 30s, until: [{synced: {}}]}\n";
    let mut state = live(&[]);
    let engine = run_to_wait(SYNC_WAIT, &state);
    let before = engine.needs(&state)[2];
    state.apply(&srvr_report(0, 24_000, Err(PollFailure::Refused)));
    state.apply(&srvr_report(0, 25_000, Ok(FOLLOWER_SRVR.to_string())));
    let after = engine.needs(&state)[2];
    assert_eq!(after.after, 25_000, "{after:?}");
    assert!(after.rose_from(before), "the poller is woken for it");
}

/// The wait counts only answers polled after the commands ended, from every node: each node
/// not polled since is asked at once, not at its cadence, and no longer once it was.
#[test]
fn a_wait_asks_every_node_not_polled_since_the_commands_ended() {
    let mut state = live(&[]);
    let mut engine = engine(RESTART_ZK1);
    engine.input(Input::Start, &state);
    let intent = executes(&engine.input(Input::Confirm, &state))[0];
    engine.ended(intent, exited_after(0, 900), 25_000, &state);
    let needs = engine.needs(&state);
    assert!(needs.iter().all(|n| n.after == 25_000), "{needs:?}");
    state.apply(&srvr_report(1, 26_000, Ok(FOLLOWER_SRVR.to_string())));
    let needs = engine.needs(&state);
    assert_eq!(needs[1].after, 0, "zk2 was polled since: {needs:?}");
    assert_eq!(needs[0].after, 25_000);
}

const ROLLING: &str = "  - {id: r, title: 'Restart ${each}', for-each: {pick: all, order: leader-last}, run: [{host: each, verb: restart}], effect: [{restart: {host: each}}]}\n";

fn step_ids(engine: &Engine) -> Vec<&str> {
    engine
        .procedure
        .steps
        .iter()
        .map(|s| s.id.as_str())
        .collect()
}

/// Bound while no one led (zk1, zk2, zk3 by sid), then zk1 leads: before its step begins, its
/// repetition moves after the others, which keep their order, and the move is recorded. A
/// leader already last moves nothing.
#[test]
fn leader_last_follows_the_live_leader_before_each_step() {
    let mut engine = engine_of(3, "", ROLLING);
    assert_eq!(step_ids(&engine), ["r@zk1", "r@zk2", "r@zk3"]);
    let live = live(&[]);
    // zk3 leads: already last.
    assert!(engine.tick(&live, 20_000).is_empty());
    // The leader moved to zk1's server (node 2 is the one that leads in `live`).
    engine.node_of = vec![Some(2), Some(1), Some(0)];
    let effects = engine.tick(&live, 21_000);
    let [moved, AuditEvent::Note { text }] = recorded(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        moved,
        &AuditEvent::Note {
            text: "zk3 stopped leading; zk1 leads".into()
        }
    );
    assert!(text.contains("zk1 leads now"), "{text}");
    assert!(
        text.ends_with("zk1 last: `r@zk2`, `r@zk3`, `r@zk1`"),
        "{text}"
    );
    assert_eq!(step_ids(&engine), ["r@zk2", "r@zk3", "r@zk1"]);
    assert!(engine.tick(&live, 22_000).is_empty(), "moved once");
    engine.input(Input::Start, &live);
    assert_eq!(engine.prompt, Some(Prompt::Confirm));
    assert_eq!(engine.current(), Some(0));
    assert_eq!(engine.procedure.steps[0].id, "r@zk2");
}

/// Bound while zk1 led (zk2, zk3, zk1); then zk3 leads while zk2's step is current. The
/// pending repetitions go as binding orders them with zk3 leading — zk1 back in its place by
/// id, zk3 last — not only when zk3's turn comes: the run shows the order `plan --live` shows.
#[test]
fn every_pending_repetition_is_ordered_again_as_binding_would_with_the_live_leader() {
    let mut engine = engine_of(3, "", ROLLING);
    engine.node_of = vec![Some(2), Some(1), Some(0)];
    engine.tick(&live(&[]), 20_000);
    assert_eq!(step_ids(&engine), ["r@zk2", "r@zk3", "r@zk1"]);
    engine.node_of = vec![Some(0), Some(1), Some(2)];
    let effects = engine.tick(&live(&[]), 21_000);
    assert!(
        notes(&effects)
            .iter()
            .any(|n| n.ends_with("zk3 last: `r@zk1`, `r@zk2`, `r@zk3`")),
        "{effects:?}"
    );
    assert_eq!(step_ids(&engine), ["r@zk1", "r@zk2", "r@zk3"]);
}

/// A Start that meets a leader moved since the last tick runs nothing: it shows the new next
/// step, for the operator or the autopilot to start.
#[test]
fn a_start_on_the_live_leaders_repetition_moves_it_and_runs_nothing() {
    let mut engine = engine_of(3, "", ROLLING);
    engine.node_of = vec![Some(2), Some(1), Some(0)];
    let effects = engine.input(Input::Start, &live(&[]));
    assert!(executes(&effects).is_empty());
    assert_eq!(engine.prompt, None);
    assert_eq!(step_ids(&engine), ["r@zk2", "r@zk3", "r@zk1"]);
}

/// zk1 restarts (the step); zk2, which the runbook keeps running, stops by hand. The first
/// poll that shows it records "zk2 stopped outside the runbook" once; with zk1 still down
/// that leaves one voter of three, so the wait cannot hold and the step fails at once, naming
/// the quorum and the server, long before its 30 s timeout.
#[test]
fn a_server_stopped_outside_the_runbook_is_named_and_a_lost_quorum_ends_the_wait() {
    let mut engine = run_to_wait(RESTART_ZK1, &live(&[]));
    let effects = engine.tick(&live_at(&[0], 11_000), 11_000);
    assert!(recorded(&effects).is_empty(), "zk1 is the step's own");
    assert!(matches!(engine.status[0], Status::Waiting { .. }));
    let effects = engine.tick(&live_at(&[0, 1], 12_000), 12_000);
    assert_eq!(notes(&effects), ["zk2 stopped outside the runbook"]);
    let Status::Failed(why) = &engine.status[0] else {
        panic!("{:?}", engine.status[0])
    };
    assert!(
        why.starts_with("quorum lost: zk2 stopped outside the runbook, leaving 1 of 3 voters"),
        "{why}"
    );
    assert_eq!(engine.prompt, Some(Prompt::Recover));
}

/// With zk1 back, zk2 stopped by hand leaves a quorum: recorded once, the step not failed.
#[test]
fn a_server_stopped_outside_the_runbook_with_a_quorum_left_is_recorded_once() {
    let mut engine = run_to_wait(RESTART_ZK1, &live(&[]));
    let first = engine.tick(&live_at(&[1], 11_000), 11_000);
    assert!(
        matches!(recorded(&first)[..], [AuditEvent::Note { text }, ..] if text == "zk2 stopped outside the runbook"),
        "{first:?}"
    );
    assert!(!matches!(engine.status[0], Status::Failed(_)));
    let again = engine.tick(&live_at(&[1], 12_000), 12_000);
    assert!(
        !recorded(&again)
            .iter()
            .any(|e| matches!(e, AuditEvent::Note { .. })),
        "{again:?}"
    );
}

/// One live verdict: zk1's restart is under way and zk2 stopped by hand, zk1 and zk3 running.
/// The summary's live verdict says a quorum can form; the step's panel must not forecast
/// "quorum loss" by simulating zk1's restart a second time from the live state.
#[test]
fn a_step_under_way_forecasts_nothing_the_live_verdict_contradicts() {
    let engine = run_to_wait(RESTART_ZK1, &live(&[]));
    let now = live_at(&[1], 11_000);
    assert!(matches!(engine.status[0], Status::Waiting { .. }));
    let verdict = crate::ensemble::live::verdict(&now).unwrap();
    assert!(verdict.quorum_possible);
    let readiness = engine.readiness(&now).unwrap();
    assert!(readiness.hazards.is_empty(), "{:?}", readiness.hazards);
    assert_eq!(readiness.predicted, None);
}

/// zk2, stopped by hand while zk1's restart waits, is started again by hand: the first poll
/// that shows it answering records "zk2 restarted outside the runbook", once, and the console
/// keeps both events to show beside the step.
#[test]
fn a_server_started_again_by_hand_is_recorded_as_restarted_outside_the_runbook() {
    let mut engine = run_to_wait(RESTART_ZK1, &live(&[]));
    engine.tick(&live_at(&[1], 11_000), 11_000);
    let effects = engine.tick(&live_at(&[], 12_000), 12_000);
    assert_eq!(notes(&effects), ["zk2 restarted outside the runbook"]);
    assert!(notes(&engine.tick(&live_at(&[], 13_000), 13_000)).is_empty());
    assert_eq!(
        engine.outside,
        [
            "zk2 stopped outside the runbook",
            "zk2 restarted outside the runbook"
        ]
    );
}

/// The step's own server coming back is the runbook's doing: nothing is recorded.
#[test]
fn the_steps_own_server_coming_back_is_not_outside_the_runbook() {
    let mut engine = run_to_wait(RESTART_ZK1, &live(&[]));
    assert!(notes(&engine.tick(&live_at(&[0], 11_000), 11_000)).is_empty());
    assert!(notes(&engine.tick(&live_at(&[], 12_000), 12_000)).is_empty());
}

/// The leader moves while no step acts on it: recorded once as "zk3 stopped leading; zk1
/// leads". The same move while a step restarts zk3 is the runbook's own: nothing recorded.
#[test]
fn a_leader_change_the_runbook_did_not_make_is_recorded() {
    let mut engine = engine(RESTART_ZK1);
    assert!(notes(&engine.tick(&live(&[]), 20_000)).is_empty());
    let effects = engine.tick(&zk1_leads(21_000), 21_000);
    assert_eq!(notes(&effects), ["zk3 stopped leading; zk1 leads"]);
    assert!(notes(&engine.tick(&zk1_leads(22_000), 22_000)).is_empty());

    let restart_zk3 = RESTART_ZK1
        .replace("    gates: [{synced: {}}, {not-leader: {host: zk1}}]\n", "")
        .replace("host: zk1", "host: zk3")
        .replace("[follower]", "[follower, leader]");
    let mut engine = super::fixtures::engine(&restart_zk3);
    engine.tick(&live(&[]), 5_000);
    let mut engine = wait_on(engine, &live(&[]));
    engine.tick(&live_at(&[2], 10_500), 10_500);
    let effects = engine.tick(&zk1_leads(11_000), 11_000);
    assert!(
        notes(&effects).is_empty(),
        "{:?} {effects:?}",
        engine.status
    );
}

fn notes(effects: &[Effect]) -> Vec<&str> {
    recorded(effects)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Note { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// zk2 stops by hand while zk1's restart command still runs, zk1 down: one voter of three.
/// The step fails the poll the stop is seen, naming zk2, before its command ends; the command
/// is left to finish, nothing is decided on the step until it has, and its result is then
/// recorded under the same step.
#[test]
fn a_quorum_lost_while_the_restart_runs_fails_the_step_at_once_and_its_command_is_left_to_finish() {
    let (mut engine, intent, now, effects) = zk2_stops_while_zk1_restarts();
    let notes = notes(&effects);
    assert_eq!(notes[0], "zk2 stopped outside the runbook");
    assert!(
        notes[1].starts_with("`restart-zk1` failed: quorum lost: zk2 stopped outside the runbook")
            && notes[1].contains("still running, left to finish")
            && notes[1].contains("on zk1"),
        "{notes:?}"
    );
    assert_eq!(recorded_states(&effects), [StepState::Failed]);
    let Status::Failed(why) = &engine.status[0] else {
        panic!("{:?}", engine.status[0])
    };
    assert!(
        why.starts_with("quorum lost: zk2 stopped outside the runbook"),
        "{why}"
    );
    assert!(engine.commands_running(), "its command is not cut short");
    assert_eq!(engine.prompt, Some(Prompt::Recover));
    for input in [Input::Retry, Input::Rollback, Input::Skip("go on".into())] {
        assert!(engine.input(input, &now).is_empty(), "nothing decided yet");
        assert_eq!(engine.message.as_deref(), Some(STILL_RUNNING));
    }
    let effects = engine.ended(intent, ended_ok(), 10_000, &now);
    assert!(
        matches!(recorded(&effects)[..], [AuditEvent::Result { intent: i, .. }] if *i == intent),
        "{effects:?}"
    );
    assert!(matches!(engine.status[0], Status::Failed(_)));
    assert!(!engine.commands_running());
    assert!(
        !engine.input(Input::Retry, &now).is_empty(),
        "now it can be retried"
    );
}

/// zk1's restart confirmed and running (command `intent`), then a poll at 9 s (`now`) sees
/// zk1 down and zk2 stopped outside the runbook; the effects of that poll.
fn zk2_stops_while_zk1_restarts() -> (Engine, u64, EnsembleState, Vec<Effect>) {
    let mut engine = engine(RESTART_ZK1);
    let before = live(&[]);
    engine.tick(&before, 8_000);
    engine.input(Input::Start, &before);
    let intent = executes(&engine.input(Input::Confirm, &before))[0];
    let now = live_at(&[0, 1], 9_000);
    let effects = engine.tick(&now, 9_000);
    (engine, intent, now, effects)
}

/// The command left to finish after a lost quorum ends with its outcome unknown (the
/// connection broke): the step turns "outcome unknown", since the host must be checked.
#[test]
fn a_command_left_to_finish_whose_outcome_is_unknown_makes_its_failed_step_unknown() {
    let (mut engine, intent, now, _) = zk2_stops_while_zk1_restarts();
    let unknown = Ended::Unknown {
        reason: "the connection broke".into(),
        duration_ms: 900,
    };
    let effects = engine.ended(intent, unknown, 10_000, &now);
    assert_eq!(recorded_states(&effects), [StepState::OutcomeUnknown]);
    assert!(matches!(engine.status[0], Status::OutcomeUnknown(_)));
}

/// zk1's restart is back, but zk2 — stopped by hand — leaves the quorum (zk1 and zk3) while
/// the wait needs every voter synced: it cannot come true, so the step fails at once naming
/// zk2, instead of saying "zk2 is not serving yet" until the timeout.
#[test]
fn a_wait_that_needs_a_server_stopped_outside_the_runbook_fails_at_once() {
    let synced = RESTART_ZK1.replace("[{mode: {host: zk1, is: [follower]}}]", "[{synced: {}}]");
    let mut engine = run_to_wait(&synced, &live(&[]));
    engine.tick(&live_at(&[1], 11_000), 11_000);
    let Status::Failed(why) = &engine.status[0] else {
        panic!("{:?}", engine.status[0])
    };
    assert!(
        why.starts_with("the wait cannot hold: zk2 stopped outside the runbook, and it waits for"),
        "{why}"
    );
}

const RESTART_F: &str = "  - {id: restart-f, title: R, confirm: none, run: [{host: f, verb: restart}], effect: [{restart: {host: f}}]}\n";

fn rebinds(effects: &[Effect]) -> Vec<(&str, &str, &str)> {
    recorded(effects)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Decision {
                decision: DecisionKind::Rebind { host, from, to },
                ..
            } => Some((host.as_str(), from.as_str(), to.as_str())),
            _ => None,
        })
        .collect()
}

/// `f` bound by `pick: follower` while zk3 led: zk1. When zk1 leads before `f`'s step, the
/// step is flagged, and the autopilot stops naming the decision and its keys — the re-bind to
/// a server that fits now among them — instead of restarting the leader it was not meant to
/// restart.
#[test]
fn a_picked_follower_that_leads_before_its_step_is_flagged_and_the_autopilot_does_not_guess() {
    use crate::console::autopilot::{Autopilot, Next};
    use crate::console::fixtures::state_of;
    let engine = picked_engine("[{name: f, pick: follower}]", RESTART_F, "zk3");
    assert_eq!(engine.procedure.hosts[0].inventory.name, "zk1");
    assert!(engine.pick_misfits(&live(&[])).is_empty(), "zk1 follows");
    let moved = zk1_leads(20_000);
    assert_eq!(
        engine.pick_misfits(&moved),
        ["`f` was picked as a follower, and zk1 leads now"]
    );
    let state = state_of(engine, moved);
    let Next::Stop { reason, .. } = Autopilot::new(true).next(&state, None) else {
        panic!("the autopilot stops")
    };
    assert!(
        reason.contains("`f` was picked as a follower, and zk1 leads now")
            && reason.contains("p re-binds it to a server that fits now (zk2, zk3, chosen with y)")
            && reason.contains("r runs the step on the server as bound"),
        "{reason}"
    );
}

/// The follower chosen for `f` now, zk2, is recorded and bound: the step runs there, and the
/// pick fits again. The leader is no choice for a follower's pick.
#[test]
fn a_picked_follower_that_leads_is_re_bound_to_a_follower_the_operator_chose() {
    let mut engine = picked_engine("[{name: f, pick: follower}]", RESTART_F, "zk3");
    let moved = zk1_leads(20_000);
    let choices = engine.rebind_choices(&moved);
    let to: Vec<(&str, Option<&str>)> = choices
        .iter()
        .map(|c| (c.to.as_str(), c.swaps.as_deref()))
        .collect();
    assert_eq!(to, [("zk2", None), ("zk3", None)]);
    let refused = Input::Rebind {
        host: "f".into(),
        to: "zk1".into(),
    };
    assert!(engine.input(refused, &moved).is_empty());
    assert_eq!(engine.procedure.hosts[0].inventory.name, "zk1");
    let chosen = Input::Rebind {
        host: "f".into(),
        to: "zk2".into(),
    };
    let effects = engine.input(chosen, &moved);
    assert_eq!(rebinds(&effects), [("f", "zk1", "zk2")]);
    assert_eq!(engine.procedure.hosts[0].inventory.name, "zk2");
    assert_eq!(engine.node_of[0], Some(1));
    assert!(engine.pick_misfits(&moved).is_empty(), "zk2 follows");
    let effects = engine.input(Input::Start, &moved);
    let Some(Effect::Execute { host, .. }) =
        effects.iter().find(|e| matches!(e, Effect::Execute { .. }))
    else {
        panic!("{effects:?}")
    };
    assert_eq!(engine.procedure.hosts[*host].inventory.name, "zk2");
}

/// `p` picked as the leader (zk3), `f` as a follower (zk1); zk1 leads now. zk3, a follower
/// now, fits `f` if `p` takes zk1 in exchange, which fits `p`'s pick: both are recorded.
#[test]
fn a_re_bind_to_a_server_the_runbook_names_exchanges_their_servers() {
    let mut engine = picked_engine(
        "[{name: p, pick: leader}, {name: f, pick: follower}]",
        RESTART_F,
        "zk3",
    );
    let moved = zk1_leads(20_000);
    assert!(engine
        .rebind_choices(&moved)
        .iter()
        .any(|c| c.to == "zk3" && c.swaps.as_deref() == Some("p")));
    let chosen = Input::Rebind {
        host: "f".into(),
        to: "zk3".into(),
    };
    let effects = engine.input(chosen, &moved);
    assert_eq!(
        rebinds(&effects),
        [("f", "zk1", "zk3"), ("p", "zk3", "zk1")]
    );
    let bound: Vec<(&str, &str)> = engine
        .procedure
        .hosts
        .iter()
        .take(2)
        .map(|h| (h.name.as_str(), h.inventory.name.as_str()))
        .collect();
    assert_eq!(bound, [("p", "zk1"), ("f", "zk3")]);
}

/// zk2 is down before the run; stopping zk1 loses the quorum, and the operator overrides that
/// with a reason. While the stop runs the quorum is lost as accepted: the step is not failed.
#[test]
fn a_quorum_loss_gone_past_with_an_override_does_not_fail_the_running_step() {
    let mut engine = engine("  - {id: stop-zk1, title: Stop zk1, run: [{host: zk1, verb: stop}], effect: [{stop: {host: zk1}}]}\n");
    let before = live(&[1]);
    engine.tick(&before, 8_000);
    engine.input(Input::Start, &before);
    engine.input(Input::Override("drill: clients drained".into()), &before);
    let intent = executes(&engine.input(Input::Confirm, &before))[0];
    let now = live_at(&[0, 1], 9_000);
    engine.tick(&now, 9_000);
    assert_eq!(engine.status[0], Status::Running);
    engine.ended(intent, ended_ok(), 10_000, &now);
    assert_eq!(engine.status[0], Status::Done);
}

/// The synthesized promotion after its leader restarted, relabelled so that zk3 leads: zk1
/// (retiring) lists zk3 as an observer, zk2 runs the joint view of four voters, zk3 and zk4 the
/// target. zk2 joins zk3 only in the round that elects it (the analyzer's `Strand`), so the
/// sync gate does not wait for it under zk3; the next step restarts it on the target.
#[test]
fn synced_does_not_wait_for_a_voter_the_live_leader_can_leave_out() {
    let step = "  - {id: a, title: A, gates: [{synced: {}}]}\n";
    let live = live_of(4, &[1]);
    let head = |views: &str| {
        format!(
            "views:\n  old: [zk1, zk2, {{host: zk3, observer: true}}, zk4]\n  joint: [zk1, zk2, zk3, zk4]\n  target: [zk2, zk3, zk4]\ninitial: {{up: [zk1, zk2, zk3, zk4], views: {{{views}}}}}\n"
        )
    };
    let stranded = engine_of(
        4,
        &head("zk1: old, zk2: joint, zk3: target, zk4: target"),
        step,
    );
    let readiness = stranded.readiness(&live).unwrap();
    assert!(readiness.gates[0].1.is_ok(), "{readiness:?}");
    assert_eq!(
        readiness.gates[0].0,
        "every voter synced with the leader (zk2 not waited for: zk3 leads and can leave it out until it restarts)"
    );

    let joinable = engine_of(
        4,
        &head("zk1: joint, zk2: joint, zk3: joint, zk4: joint"),
        step,
    );
    let why = joinable.readiness(&live).unwrap().gates[0]
        .1
        .clone()
        .unwrap_err();
    assert_eq!(why, "zk2 is not serving yet");
}

/// After a step cuts zk4 off from the other three, the expected state names it CANNOT SERVE
/// (analyzer rule 18). The sync gate still waits for it, but says the wait cannot end as
/// things stand: before, it read "not serving yet", as if it would come.
#[test]
fn synced_says_why_a_voter_the_expected_state_names_cannot_serve_will_not_come() {
    let head = "views:\n  all: [zk1, zk2, zk3, zk4]\ninitial: {up: [zk1, zk2, zk3, zk4], default_view: all}\n";
    let steps = "  - {id: cut, title: Cut, run: [{host: zk4, verb: data-empty}], effect: [{partition: [[zk1, zk2, zk3], [zk4]]}]}\n  - {id: look, title: Look, gates: [{synced: {}}]}\n";
    let before = live_of(4, &[]);
    let engine = wait_on(engine_of(4, head, steps), &before);
    assert_eq!(engine.status[0], Status::Done);
    let why = engine.readiness(&live_of(4, &[3])).unwrap().gates[0]
        .1
        .clone()
        .unwrap_err();
    assert_eq!(
        why,
        "zk4 is not serving, and in the state the runbook expects it cannot: it can follow no \
         server that can lead and cannot lead a quorum itself (analyzer rule 18), so this wait \
         ends only if its view or theirs changes"
    );
}

/// A wait that ends without a server the live leader can leave out says so in the log: the
/// step's record alone would read as if every voter had synced.
#[test]
fn a_wait_done_without_a_left_out_voter_records_who_it_did_not_wait_for() {
    let step = "  - id: look\n    title: Look\n    run: [{host: zk1, verb: data-empty}]\n    wait: {timeout: 30s, until: [{synced: {}}]}\n";
    let head = "views:\n  old: [zk1, zk2, {host: zk3, observer: true}, zk4]\n  joint: [zk1, zk2, zk3, zk4]\n  target: [zk2, zk3, zk4]\ninitial: {up: [zk1, zk2, zk3, zk4], views: {zk1: old, zk2: joint, zk3: target, zk4: target}}\n";
    let before = live_of(4, &[1]);
    let mut engine = wait_on(engine_of(4, head, step), &before);
    let effects = engine.tick(&polled(4, &[1], 30_000), 30_000);
    assert_eq!(engine.status[0], Status::Done);
    assert!(
        recorded(&effects).contains(&&AuditEvent::Note {
            text: "`look` done with zk2 not waited for: zk3 leads and can leave it out until it restarts".into()
        }),
        "{effects:?}"
    );
}

/// A parallel restart of zk1 and zk2 on five: zk1's command ends with its outcome unknown,
/// then zk4 is stopped by hand and the quorum is lost before zk2's ends. The step ends
/// OUTCOME UNKNOWN, in the log too, so neither a resume nor the autopilot retries a command
/// nobody checked. The lost quorum turned it into a plain failure, which the autopilot
/// retried after a resume.
#[test]
fn an_unknown_outcome_outweighs_a_quorum_lost_after_it() {
    const PAIR: &str = "  - id: pair\n    title: Pair\n    parallel: true\n    run: [{host: zk1, verb: restart}, {host: zk2, verb: restart}]\n    effect: [{restart: {host: zk1}}, {restart: {host: zk2}}]\n";
    let mut engine = engine_of(5, "", PAIR);
    let all = live_of(5, &[]);
    let mut log: Vec<AuditEvent> = Vec::new();
    let mut keep = |effects: &[Effect]| log.extend(recorded(effects).into_iter().cloned());
    keep(&engine.tick(&all, 20_000));
    keep(&engine.input(Input::Start, &all));
    let confirmed = engine.input(Input::Confirm, &all);
    keep(&confirmed);
    let intents = executes(&confirmed);
    let lost = Ended::Unknown {
        reason: "the ssh connection dropped".into(),
        duration_ms: 5,
    };
    keep(&engine.ended(intents[0], lost, 20_100, &all));
    let quorum_lost = polled(5, &[0, 1, 3], 20_200);
    keep(&engine.tick(&quorum_lost, 20_200));
    keep(&engine.ended(intents[1], ended_ok(), 20_300, &quorum_lost));
    assert!(
        matches!(&engine.status[0], Status::OutcomeUnknown(why) if why.contains("ssh connection dropped") && why.contains("quorum")),
        "{:?}",
        engine.status[0]
    );
    let mut resumed = engine_of(5, "", PAIR);
    resumed.resume(&Recorded::of(&log));
    assert!(
        matches!(resumed.status[0], Status::OutcomeUnknown(_)),
        "{:?}",
        resumed.status[0]
    );
}

/// zk1's and then zk2's restart of a leader-last rolling restart ran; the console was killed
/// with zk2's intent recorded and no result. zk2 leads when the run resumes, so the for-each
/// is bound zk1, zk3, zk2: zk2's repetition, whose outcome is unknown, stays the current step
/// and asks for recovery. The pending zk3 came first, and the autopilot restarted it.
#[test]
fn a_resume_keeps_the_step_of_unknown_outcome_current_whatever_the_new_order() {
    let log = vec![
        step("r@zk1", StepState::Running),
        intent(1, "r@zk1"),
        result(1),
        step("r@zk1", StepState::Done),
        step("r@zk2", StepState::Running),
        intent(2, "r@zk2"),
    ];
    let mut engine = picked_engine("[]", ROLLING, "zk2");
    let order: Vec<&str> = engine
        .procedure
        .steps
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(order, ["r@zk1", "r@zk3", "r@zk2"]);
    engine.resume(&Recorded::of(&log));
    let current = engine.current().expect("a step left");
    assert_eq!(engine.procedure.steps[current].id, "r@zk2");
    assert!(matches!(engine.status[current], Status::OutcomeUnknown(_)));
    assert_eq!(engine.prompt, Some(Prompt::Recover));
    let live = live(&[]);
    assert!(executes(&engine.input(Input::Start, &live)).is_empty());
    assert!(executes(&engine.input(Input::Confirm, &live)).is_empty());
}

/// zk2 is stopped; the next step stops zk1 and starts zk2 in parallel. Should the stop end
/// first, one voter of three runs: the parallel step is judged at that moment too, as the
/// same two commands one after the other are. It was judged only after both, and neither
/// `plan` nor the console warned.
#[test]
fn a_parallel_step_is_judged_with_its_stops_done_before_its_starts() {
    use super::model::Hazard;
    let steps = |parallel: &str| {
        format!("  - {{id: s1, title: S1, confirm: none, run: [{{host: zk2, verb: stop}}], effect: [{{stop: {{host: zk2}}}}]}}\n  - id: s2\n    title: S2\n{parallel}    run: [{{host: zk1, verb: stop}}, {{host: zk2, verb: restart}}]\n    effect: [{{stop: {{host: zk1}}}}, {{start: {{host: zk2}}}}]\n")
    };
    for parallel in ["    parallel: true\n", ""] {
        let engine = engine(&steps(parallel));
        let mut after_stop = engine.expected.clone();
        for effect in &engine.procedure.steps[0].effects {
            after_stop.apply(effect);
        }
        let (found, _, _) = super::plan::assess(
            &engine.procedure,
            &engine.procedure.steps[1],
            &after_stop,
            crate::zk::version::ZkVersion::NEWEST,
        );
        assert!(
            found.iter().any(|f| f.hazard == Hazard::QuorumLoss),
            "{parallel:?}: {found:?}"
        );
    }
}

/// zk1's restart ended at 3 600 s by the wall clock, then the clock was stepped back an hour
/// and zk1 never came back: the 30 s wait starts again from the new time and times out 30 s
/// later. It stayed waiting for the hour the clock was stepped back.
#[test]
fn a_wait_times_out_on_schedule_when_the_clock_steps_back() {
    let before = live_at(&[], 3_600_000);
    let mut engine = engine(RESTART_ZK1);
    engine.input(Input::Start, &before);
    let intent = executes(&engine.input(Input::Confirm, &before))[0];
    engine.ended(intent, ended_ok(), 3_600_000, &before);
    for now in [10_000, 30_000] {
        engine.tick(&live_at(&[0], now), now);
        assert!(matches!(engine.status[0], Status::Waiting { .. }), "{now}");
    }
    engine.tick(&live_at(&[0], 41_000), 41_000);
    assert!(
        matches!(&engine.status[0], Status::Failed(why) if why.starts_with("the wait timed out")),
        "{:?}",
        engine.status[0]
    );
}

/// A failed step's rollback is shown and runs only on `y`; `Esc` goes back to recovering with
/// nothing run. `b` released it at once, the one key that ran commands on a single press.
#[test]
fn a_rollback_is_shown_and_runs_only_when_confirmed() {
    const WIPE: &str = "  - id: wipe\n    title: Wipe zk1\n    confirm: type-host\n    run: [{host: zk1, verb: stop}]\n    rollback: [{host: zk1, verb: restart}]\n";
    let all = live(&[]);
    let mut engine = engine(WIPE);
    engine.input(Input::Start, &all);
    let intent = executes(&engine.input(Input::TypedHost("zk1".into()), &all))[0];
    engine.ended(intent, exited_after(1, 3), 10_000, &all);
    assert_eq!(engine.prompt, Some(Prompt::Recover));
    assert!(executes(&engine.input(Input::Rollback, &all)).is_empty());
    assert_eq!(
        engine.prompt,
        Some(Prompt::ConfirmRollback {
            commands: vec!["`zkctl restart` on zk1".into()]
        })
    );
    assert!(executes(&engine.input(Input::Cancel, &all)).is_empty());
    assert_eq!(engine.prompt, Some(Prompt::Recover));
    engine.input(Input::Rollback, &all);
    let effects = engine.input(Input::Confirm, &all);
    assert_eq!(executes(&effects).len(), 1);
    assert!(recorded(&effects).iter().any(|e| matches!(
        e,
        AuditEvent::Decision {
            decision: DecisionKind::Rollback,
            ..
        }
    )));
}
