//! Journeys: the real watch, run and replay screens driven through `event_loop::run` on a
//! `TestBackend`, as an operator would drive them, with tokio's clock paused. Each step queues
//! keys and actions (poll reports, a command's output and end), lets the loop run for a while
//! of the paused clock and snapshots the screen. The adapters' seams are the test's way in:
//! the screen's action channel (where the poller's reports arrive), `Remote::Handed` (where
//! commands go instead of SSH) and `Clock::Tokio` (the screens' wall clock).

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use super::clock::Clock;
use super::event_loop::{self, Screen, Stopped};
use super::terminal::TermEvent;
use crate::console::keys::Key;
use crate::console::run::{Effect, RunAction};
use crate::ensemble::{inventory_services, inventory_targets, PollReport};
use crate::inventory::Inventory;
use crate::view::run::screen_tests::{bound, poll_all, LAB, NOW, ROLLING_RESTART};
use crate::view::{screen_text, test_look};

/// A screen's terminal and its two inputs, kept across the steps of a journey.
struct Journey<A> {
    terminal: Terminal<TestBackend>,
    keys: mpsc::Sender<TermEvent>,
    keys_in: mpsc::Receiver<TermEvent>,
    actions: mpsc::Sender<A>,
    actions_in: mpsc::Receiver<A>,
}

impl<A> Journey<A> {
    fn new(width: u16, height: u16) -> Journey<A> {
        let (keys, keys_in) = mpsc::channel(16);
        let (actions, actions_in) = mpsc::channel(64);
        Journey {
            terminal: Terminal::new(TestBackend::new(width, height)).expect("a test backend"),
            keys,
            keys_in,
            actions,
            actions_in,
        }
    }

    /// Queues `actions`, then `keys` (the loop takes keys first either way), and runs the loop
    /// for `settle` of the paused clock. Returns how the loop stopped and the screen.
    async fn step<S: Screen<Action = A>>(
        &mut self,
        screen: &mut S,
        actions: Vec<A>,
        keys: &[Key],
        settle: Duration,
    ) -> (Stopped, String) {
        for action in actions {
            self.actions.send(action).await.expect("the loop's actions");
        }
        for key in keys {
            self.keys
                .send(TermEvent::Key(*key))
                .await
                .expect("the loop's keys");
        }
        let stopped = event_loop::run(
            &mut self.terminal,
            screen,
            &mut self.keys_in,
            &mut self.actions_in,
            async move {
                tokio::time::sleep(settle).await;
                "the step is over"
            },
        )
        .await
        .expect("draws on a test backend");
        (stopped, screen_text(self.terminal.backend().buffer()))
    }

    /// A step after which the screen is still open.
    async fn shows<S: Screen<Action = A>>(
        &mut self,
        screen: &mut S,
        actions: Vec<A>,
        keys: &[Key],
    ) -> String {
        let (stopped, text) = self.step(screen, actions, keys, SETTLE).await;
        assert_eq!(stopped, Stopped::Signal("the step is over"), "{text}");
        text
    }
}

/// Long enough for a burst of news to be drawn (a frame is 100 ms) and a tick or two.
const SETTLE: Duration = Duration::from_millis(700);

fn lab() -> Inventory {
    Inventory::parse(LAB, std::path::Path::new("lab.yaml")).expect("the lab inventory")
}

/// One poll of every lab host at `at` (zk3 leads, the spares refuse), as reports.
fn reports(inventory: &Inventory, down: &[usize], at: u64) -> Vec<PollReport> {
    poll_all(inventory, down, at)
        .into_iter()
        .filter_map(|action| match action {
            RunAction::Poll(report) => Some(report),
            _ => None,
        })
        .collect()
}

/// `watch` on the lab: nothing polled yet, the first reports, a node's details, the leader
/// lost and the verdict with it, then `q`.
#[tokio::test(start_paused = true)]
async fn watch_journey() {
    use super::watch::{WatchOptions, WatchScreen};
    use crate::console::watch::{spares_of, Action};

    let inventory = lab();
    let clock = Clock::tokio_from(NOW);
    let mut journey = Journey::new(120, 34);
    let options = WatchOptions {
        title: inventory.name.clone(),
        targets: inventory_targets(&inventory),
        services: inventory_services(&inventory),
        spares: spares_of(&inventory),
        interval: Duration::from_secs(1),
        sessions: crate::poll::Sessions::Kept,
        look: test_look(),
        ssh: None,
    };
    let mut screen = WatchScreen::new(options, None, journey.actions.clone(), clock);
    let polls = |down: &[usize]| -> Vec<Action> {
        reports(&inventory, down, clock.now())
            .into_iter()
            .map(Action::Poll)
            .collect()
    };

    insta::assert_snapshot!(
        "watch_1_not_polled_yet",
        journey.shows(&mut screen, Vec::new(), &[]).await
    );
    let polled = journey.shows(&mut screen, polls(&[]), &[]).await;
    assert!(polled.contains("spares not started: zk4"), "{polled}");
    insta::assert_snapshot!("watch_2_polled", polled);
    let details = journey
        .shows(
            &mut screen,
            Vec::new(),
            &[Key::Right, Key::Right, Key::Enter],
        )
        .await;
    assert!(details.contains("zk3"), "{details}");
    insta::assert_snapshot!("watch_3_leader_details", details);
    let lost = journey.shows(&mut screen, polls(&[2]), &[Key::Esc]).await;
    insta::assert_snapshot!("watch_4_leader_lost", lost);
    let (stopped, _) = journey
        .step(&mut screen, Vec::new(), &[Key::Char('q')], SETTLE)
        .await;
    assert_eq!(stopped, Stopped::Done);
}

/// `run` of the rolling restart on the lab: the first step offered, confirmed, its command's
/// output and end, zk1 seen down and back (the wait met), the next step offered; the log
/// holds what the screen showed.
#[tokio::test(start_paused = true)]
async fn run_journey() {
    use super::run::tests::session_log;
    use super::run::{Performer, RunScreen};
    use crate::audit::record::AuditEvent;
    use crate::net::remote::{OutputLine, Stream};
    use crate::runbook::engine::{Ended, Status};

    let inventory = lab();
    let clock = Clock::tokio_from(NOW);
    let mut journey = Journey::new(100, 40);
    let (writer, log) = session_log("run-journey");
    let (mut performer, mut handed) =
        Performer::handed(writer, None, journey.actions.clone(), clock);
    let (_, mut state) = bound(LAB, ROLLING_RESTART, Some("zk3"));
    performer.start(&mut state);
    let look = test_look();
    let mut screen = RunScreen {
        state: &mut state,
        performer: &mut performer,
        look: &look,
    };
    let polls = |down: &[usize]| poll_all(&inventory, down, clock.now());

    let offered = journey.shows(&mut screen, polls(&[]), &[]).await;
    insta::assert_snapshot!("run_1_first_step_offered", offered);
    let asked = journey
        .shows(&mut screen, Vec::new(), &[Key::Char('r')])
        .await;
    insta::assert_snapshot!("run_2_confirm", asked);
    journey
        .shows(&mut screen, Vec::new(), &[Key::Char('y')])
        .await;
    let Ok(Effect::Execute { intent, host, .. }) = handed.try_recv() else {
        panic!("the confirmed step runs its command");
    };
    assert_eq!(host, 0, "zk1 restarts first");
    let line = |text: &str| RunAction::Output {
        intent,
        line: OutputLine {
            host: "zk1".into(),
            stream: Stream::Stdout,
            text: text.into(),
        },
    };
    let talking = journey
        .shows(
            &mut screen,
            vec![
                line("Stopping zookeeper ... STOPPED"),
                line("Starting zookeeper ... STARTED"),
            ],
            &[],
        )
        .await;
    insta::assert_snapshot!("run_3_command_output", talking);
    let ended = RunAction::Ended {
        intent,
        ended: Ended::Exited {
            code: Some(0),
            duration_ms: 2_300,
        },
        at: clock.now(),
    };
    let waiting = journey.shows(&mut screen, vec![ended], &[]).await;
    insta::assert_snapshot!("run_4_waiting", waiting);
    journey.shows(&mut screen, polls(&[0]), &[]).await;
    let next = journey.shows(&mut screen, polls(&[]), &[]).await;
    assert_eq!(screen.state.engine.status[0], Status::Done, "{next}");
    assert_eq!(screen.state.engine.current(), Some(1), "{next}");
    insta::assert_snapshot!("run_5_wait_met_next_step", next);
    let (stopped, _) = journey
        .step(&mut screen, Vec::new(), &[Key::Char('q')], SETTLE)
        .await;
    assert_eq!(stopped, Stopped::Done);

    let written = crate::audit::read_log(&log).expect("the session's log");
    assert!(written.verification.is_ok(), "{:?}", written.verification);
    assert!(written.records.iter().any(|r| matches!(
        &r.event,
        AuditEvent::Output { text, .. } if text.contains("STARTED")
    )));
    std::fs::remove_dir_all(log.parent().expect("the scratch directory"))
        .expect("the scratch directory");
}

/// `replay` of a recorded rolling restart: opened playing, paused, stepped record by record,
/// then to the next marker and the next step, then `q`.
#[tokio::test(start_paused = true)]
async fn replay_journey() {
    use super::replay::{load, Replaying};

    let dir = crate::io::scratch_dir("run-replay-journey");
    let path = dir.join("session.jsonl");
    std::fs::write(&path, crate::replay::fixtures::recorded_session_bytes())
        .expect("the recorded log");
    let player = load(&path).expect("a readable log");
    let mut journey = Journey::<()>::new(100, 30);
    let mut screen = Replaying::new(player, "session.jsonl".into(), test_look());

    let paused = journey
        .shows(&mut screen, Vec::new(), &[Key::Char(' ')])
        .await;
    insta::assert_snapshot!("replay_1_opened_and_paused", paused);
    let stepped = journey
        .shows(&mut screen, Vec::new(), &[Key::Char('.'), Key::Char('.')])
        .await;
    insta::assert_snapshot!("replay_2_two_records_on", stepped);
    let marker = journey
        .shows(&mut screen, Vec::new(), &[Key::Char('n')])
        .await;
    insta::assert_snapshot!("replay_3_next_marker", marker);
    let step = journey
        .shows(&mut screen, Vec::new(), &[Key::Char('s')])
        .await;
    insta::assert_snapshot!("replay_4_next_step", step);
    let (stopped, _) = journey
        .step(&mut screen, Vec::new(), &[Key::Char('q')], SETTLE)
        .await;
    assert_eq!(stopped, Stopped::Done);
    std::fs::remove_dir_all(&dir).expect("the scratch directory");
}
