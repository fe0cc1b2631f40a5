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

use tokio::signal::unix::{signal, SignalKind};

use super::terminal::{self, RawTerminal};
use crate::approval::{ApprovalFile, Outbox};
use crate::audit::record::{ChainHead, RecordHash};
use crate::audit::{read_log, AuditError, AuditTail};
use crate::console::keys::Key;
use crate::console::replay::{approvable, may_approve, on_key, Mode, Request};
use crate::replay::{Player, Verification};
use crate::runbook::engine::Person;
use crate::view::replay::{draw_replay, ReplayScreen};
use crate::view::Look;

/// How often `follow` looks for new records.
const FOLLOW_POLL: Duration = Duration::from_millis(200);
/// How often playing advances the timeline.
const FRAME: Duration = Duration::from_millis(50);

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
    keys: tokio::sync::mpsc::Receiver<Key>,
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
