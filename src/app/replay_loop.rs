//! Adapter: `zkpilot replay` and `zkpilot follow`. Both read the audit log through the
//! verifying reader and feed its records to the pure `Player`; neither performs any effect of
//! the session. `replay` reads the whole log first; `follow` catches up from the start, then
//! polls the file every `FOLLOW_POLL` with the same `AuditTail`, which resumes after the last
//! complete line and never mistakes the writer's line in progress for a record.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::signal::unix::{signal, SignalKind};

use super::terminal::{self, RawTerminal};
use crate::approval::{ApprovalFile, Outbox};
use crate::audit::record::{ChainHead, RecordHash};
use crate::audit::{read_log, AuditError, AuditTail};
use crate::replay::{MarkerKind, Player, Verification};
use crate::runbook::engine::Person;
use crate::view::replay::{draw_replay, Mode, ReplayScreen};
use crate::view::Look;

/// How often `follow` looks for new records.
const FOLLOW_POLL: Duration = Duration::from_millis(200);
/// How often playing advances the timeline.
const FRAME: Duration = Duration::from_millis(50);

/// What a key asks of the adapter beyond moving the player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    None,
    /// `follow` only: approve this step, which is waiting for a second operator.
    Approve(String),
    /// Something the follower typed that cannot be sent, and why.
    Refused(String),
}

/// Pure: one key on the read-only screen. No key here can reach the session: the only
/// request, an approval, is judged and recorded by the running console, not by this process.
pub fn on_key(player: &mut Player, key: KeyEvent, mode: Mode) -> Request {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        player.quit = true;
        return Request::None;
    }
    if let Some(mut text) = player.typing.take() {
        match key.code {
            KeyCode::Enter => {
                // Typing the id is the follower's own confirmation of what they approve.
                if approvable(player).as_deref() == Some(text.trim()) {
                    return Request::Approve(text.trim().to_string());
                }
                return Request::Refused(format!(
                    "`{text}` is not the step waiting for approval: nothing was sent"
                ));
            }
            KeyCode::Esc => return Request::None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !c.is_control() => text.push(c),
            _ => {}
        }
        player.typing = Some(text);
        return Request::None;
    }
    if player.help {
        player.help = !matches!(key.code, KeyCode::Esc | KeyCode::Char('?' | 'q'));
        return Request::None;
    }
    let jump = |player: &mut Player, kind: MarkerKind, forward: bool| {
        player.playing = false;
        player.selected = None;
        if forward {
            player.next_marker(Some(kind))
        } else {
            player.previous_marker(Some(kind))
        }
    };
    match key.code {
        KeyCode::Char('q') | KeyCode::Esc => player.quit = true,
        KeyCode::Char('?') => player.help = true,
        KeyCode::Char(' ') => player.toggle_play(),
        KeyCode::Char('+' | '=') => player.faster(),
        KeyCode::Char('-') => player.slower(),
        KeyCode::Char('.') | KeyCode::Right => {
            player.playing = false;
            player.step_forward();
        }
        KeyCode::Char(',') | KeyCode::Left => {
            player.playing = false;
            player.step_back();
        }
        KeyCode::Char('n') => {
            player.playing = false;
            player.selected = None;
            player.next_marker(None);
        }
        KeyCode::Char('p') => {
            player.playing = false;
            player.selected = None;
            player.previous_marker(None);
        }
        KeyCode::Char(c @ ('s' | 'S' | 'w' | 'W' | 'o' | 'O' | 'f' | 'F')) => {
            let kind = match c.to_ascii_lowercase() {
                's' => MarkerKind::Step,
                'w' => MarkerKind::Warning,
                'o' => MarkerKind::Override,
                _ => MarkerKind::Failure,
            };
            jump(player, kind, c.is_ascii_lowercase());
        }
        KeyCode::Char('g') | KeyCode::Home => {
            player.playing = false;
            player.seek(0);
        }
        KeyCode::Char('G') | KeyCode::End => {
            player.playing = false;
            player.seek(usize::MAX);
        }
        KeyCode::Up | KeyCode::Char('k') => player.select_previous(),
        KeyCode::Down | KeyCode::Char('j') => player.select_next(),
        KeyCode::Char('a') if mode == (Mode::Follow { can_approve: true }) => {
            player.playing = false;
            player.typing = Some(String::new());
        }
        _ => {}
    }
    Request::None
}

/// The step a follower at the live edge may approve: the session is waiting for it.
pub fn approvable(player: &Player) -> Option<String> {
    if !player.at_end() {
        return None;
    }
    player.state.awaiting_approval().map(|s| s.id.clone())
}

/// Reads and verifies the whole log; a broken chain or torn tail is shown, not hidden.
pub fn load(path: &Path) -> Result<Player, AuditError> {
    let log = read_log(path)?;
    let verification = match log.verification {
        Ok(verified) => Verification::Intact(verified),
        Err(problem) => Verification::Broken(problem),
    };
    Ok(Player::new(log.records, verification))
}

pub async fn replay(path: PathBuf, look: Look) -> Result<(), String> {
    let mut player = load(&path).map_err(|e| e.to_string())?;
    player.playing = true;
    let source = path.display().to_string();
    let mut viewer = Viewer::start().map_err(|e| e.to_string())?;
    let mut last = Instant::now();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let result = loop {
        let screen = ReplayScreen {
            player: &player,
            source: &source,
            mode: Mode::Replay,
            message: None,
        };
        if let Err(e) = viewer
            .terminal
            .screen
            .draw(|frame| draw_replay(frame, &screen, &look))
        {
            break Err(e.to_string());
        }
        // Time spent paused is not played when play resumes.
        let was_playing = player.playing;
        tokio::select! {
            biased;
            Some(key) = viewer.keys.recv() => {
                on_key(&mut player, key, Mode::Replay);
            }
            // Only a playing replay changes by itself; a paused one waits for a key.
            _ = frame.tick(), if player.playing => {}
            _ = viewer.terminate.recv() => break Ok(()),
            _ = viewer.hangup.recv() => break Ok(()),
        }
        let now = Instant::now();
        if was_playing {
            player.tick(u64::try_from((now - last).as_millis()).unwrap_or(u64::MAX));
        }
        last = now;
        if player.quit {
            break Ok(());
        }
    };
    viewer.stop();
    result
}

/// How a `follow` ended: the anchor it verified, for the follower to keep.
pub struct FollowEnd {
    pub head: ChainHead,
    pub session_ended: bool,
    pub broken: Option<String>,
}

/// What `follow` works with, all opened before it may have dropped root (see `approval`):
/// the log's tail, the session's approvals inbox if it has one, and who the follower is.
pub struct Following {
    pub path: PathBuf,
    pub tail: AuditTail,
    pub outbox: Option<Outbox>,
    pub me: Person,
}

/// Whether `me` may approve the step waiting now: an operator approving their own step is
/// refused by the console anyway unless the runbook allows it, so the key is not offered.
/// Names are compared here only to decide what to show; the console compares uids.
fn may_approve(player: &Player, me: &Person) -> Result<(), String> {
    let Some(step) = player.state.awaiting_approval() else {
        return Err(String::new());
    };
    let operator = player.state.session.as_ref().map(|s| s.operator.as_str());
    if step.awaiting_approval == Some(false) && operator == Some(me.name.as_str()) {
        return Err(format!(
            "`{}` waits for approval by another person than its operator, and you are {}",
            step.id,
            me.label()
        ));
    }
    Ok(())
}

pub async fn follow(following: Following, look: Look) -> Result<FollowEnd, String> {
    let Following {
        path,
        mut tail,
        outbox,
        me,
    } = following;
    let mut head = ChainHead {
        records: 0,
        hash: RecordHash::GENESIS,
    };
    let mut player = Player::new(Vec::new(), Verification::Growing(head));
    let mut broken = None;
    let source = path.display().to_string();
    let mut message: Option<String> = None;
    read_new(&mut tail, &mut player, &mut head, &mut broken);
    let mut viewer = Viewer::start().map_err(|e| e.to_string())?;
    let mut poll = tokio::time::interval(FOLLOW_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let result = loop {
        let waiting = approvable(&player).is_some();
        let allowed = may_approve(&player, &me);
        let can_approve = waiting && outbox.is_some() && allowed.is_ok();
        let mode = Mode::Follow { can_approve };
        let hint = match (&message, waiting, &allowed, &outbox) {
            (Some(message), ..) => Some(message.clone()),
            (None, true, Err(why), _) => Some(why.clone()),
            (None, true, Ok(()), None) => Some(
                "a step waits for approval, but this follower found no approvals inbox when it started: restart it".into(),
            ),
            _ => None,
        };
        let screen = ReplayScreen {
            player: &player,
            source: &source,
            mode,
            message: hint.as_deref(),
        };
        if let Err(e) = viewer
            .terminal
            .screen
            .draw(|frame| draw_replay(frame, &screen, &look))
        {
            break Err(e.to_string());
        }
        tokio::select! {
            biased;
            Some(key) = viewer.keys.recv() => {
                match on_key(&mut player, key, mode) {
                    Request::Approve(step) => {
                        let approval = ApprovalFile { step: step.clone(), head: head.hash };
                        message = Some(match outbox.as_ref().map(|o| o.drop_approval(&approval)) {
                            Some(Ok(_)) => format!(
                                "approval of `{step}` sent as {}: the console records it if it accepts it",
                                me.label()
                            ),
                            Some(Err(e)) => e,
                            None => "this session has no approvals inbox".into(),
                        });
                    }
                    Request::Refused(why) => message = Some(why),
                    Request::None => {}
                }
            }
            _ = poll.tick() => {
                if broken.is_none() && read_new(&mut tail, &mut player, &mut head, &mut broken) {
                    message = None;
                }
            }
            _ = viewer.terminate.recv() => break Ok(()),
            _ = viewer.hangup.recv() => break Ok(()),
        }
        if player.quit {
            break Ok(());
        }
    };
    viewer.stop();
    result.map(|()| FollowEnd {
        head,
        session_ended: player.state.ended.is_some(),
        broken,
    })
}

/// Everything the log gained since the last call, verified, into the player; true when there
/// was something new.
fn read_new(
    tail: &mut AuditTail,
    player: &mut Player,
    head: &mut ChainHead,
    broken: &mut Option<String>,
) -> bool {
    let before = head.records;
    loop {
        match tail.next_record() {
            Ok(Some(verified)) => {
                *head = ChainHead {
                    records: verified.record.seq + 1,
                    hash: verified.hash,
                };
                player.push(verified.record);
            }
            Ok(None) => break,
            Err(AuditError::ChainBroken { problem, .. }) => {
                *broken = Some(problem.to_string());
                player.verification = Verification::Broken(problem);
                return true;
            }
            Err(other) => {
                *broken = Some(other.to_string());
                return true;
            }
        }
    }
    player.verification = Verification::Growing(*head);
    head.records != before
}

/// The terminal and its inputs, for both screens.
struct Viewer {
    terminal: RawTerminal,
    keys: tokio::sync::mpsc::Receiver<KeyEvent>,
    stop_keys: Arc<AtomicBool>,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Viewer {
    fn start() -> io::Result<Viewer> {
        let terminate = signal(SignalKind::terminate())?;
        let hangup = signal(SignalKind::hangup())?;
        let stop_keys = Arc::new(AtomicBool::new(false));
        let keys = terminal::spawn_key_reader(stop_keys.clone());
        let terminal = RawTerminal::enter()?;
        Ok(Viewer {
            terminal,
            keys,
            stop_keys,
            terminate,
            hangup,
        })
    }

    fn stop(self) {
        self.stop_keys.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::model::tests::recorded_session;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn keys_move_through_the_timeline_and_never_request_anything_in_replay() {
        let log = recorded_session();
        let verified = Verification::Intact(log.verification.clone().unwrap());
        let mut player = Player::new(log.records, verified);
        assert_eq!(on_key(&mut player, key('f'), Mode::Replay), Request::None);
        assert_eq!(
            player.state.steps[1].state,
            Some(crate::audit::StepState::Failed)
        );
        on_key(&mut player, key('S'), Mode::Replay);
        assert_eq!(
            player.last_marker().map(|m| m.label.as_str()),
            Some("step restart-second"),
            "back from the failure to the start of the step that failed"
        );
        on_key(&mut player, key('S'), Mode::Replay);
        assert_eq!(
            player.last_marker().map(|m| m.label.as_str()),
            Some("step restart-first")
        );
        on_key(&mut player, key('G'), Mode::Replay);
        assert!(player.at_end());
        on_key(&mut player, key(','), Mode::Replay);
        assert!(!player.at_end());
        on_key(&mut player, key('+'), Mode::Replay);
        on_key(&mut player, key('+'), Mode::Replay);
        assert_eq!(player.speed, 4);
        on_key(&mut player, key('?'), Mode::Replay);
        on_key(&mut player, key('q'), Mode::Replay);
        assert!(!player.quit, "q closes the help first");
        assert_eq!(on_key(&mut player, key('A'), Mode::Replay), Request::None);
        on_key(&mut player, key('q'), Mode::Replay);
        assert!(player.quit);
    }

    fn waiting_player(same_user: bool) -> Player {
        use crate::audit::record::{AuditEvent, AuditRecord, Timestamp};
        let log = recorded_session();
        let mut player = Player::new(
            Vec::new(),
            Verification::Growing(ChainHead {
                records: 0,
                hash: RecordHash::GENESIS,
            }),
        );
        for record in log.records.into_iter().take(3) {
            player.push(record);
        }
        player.push(AuditRecord {
            seq: 3,
            ts: Timestamp::from_unix_millis(0),
            prev: RecordHash::GENESIS,
            event: AuditEvent::ApprovalRequest {
                step: "restart-leader".into(),
                same_user,
            },
        });
        player
    }

    fn special(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn a_follower_approves_only_by_typing_the_waiting_steps_id() {
        let mut player = waiting_player(false);
        let follow = Mode::Follow { can_approve: true };
        assert_eq!(approvable(&player).as_deref(), Some("restart-leader"));
        assert_eq!(on_key(&mut player, key('a'), Mode::Replay), Request::None);
        assert_eq!(player.typing, None, "replay never approves");
        on_key(&mut player, key('a'), follow);
        for c in "restart-first".chars() {
            on_key(&mut player, key(c), follow);
        }
        let Request::Refused(why) = on_key(&mut player, special(KeyCode::Enter), follow) else {
            panic!("a wrong id is refused")
        };
        assert!(why.contains("nothing was sent"), "{why}");
        on_key(&mut player, key('a'), follow);
        for c in "restart-leaderx".chars() {
            on_key(&mut player, key(c), follow);
        }
        on_key(&mut player, special(KeyCode::Backspace), follow);
        assert_eq!(
            on_key(&mut player, special(KeyCode::Enter), follow),
            Request::Approve("restart-leader".into())
        );
        player.step_back();
        assert_eq!(approvable(&player), None, "only at the live edge");
    }

    #[test]
    fn the_operator_following_their_own_step_is_not_offered_the_key() {
        let alice = Person {
            name: "alice".into(),
            uid: 1000,
        };
        let bob = Person {
            name: "bob".into(),
            uid: 1001,
        };
        let player = waiting_player(false);
        assert!(may_approve(&player, &alice)
            .unwrap_err()
            .contains("another person than its operator"));
        assert_eq!(may_approve(&player, &bob), Ok(()));
        assert_eq!(may_approve(&waiting_player(true), &alice), Ok(()));
    }
}
