//! Adapter: `zkpilot replay` and `zkpilot follow`. Both read the audit log through the
//! verifying reader and feed its records to the pure `Player`; neither performs any effect of
//! the session. `replay` reads the whole log first; `follow` catches up from the start, then
//! polls the file every `FOLLOW_POLL` with the same `AuditTail`, which resumes after the last
//! complete line and never mistakes the writer's line in progress for a record.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::Frame;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::event_loop::{self, Screen};
use crate::audit::record::{ChainHead, RecordHash};
use crate::audit::{read_log, AuditError, AuditTail};
use crate::console::keys::Key;
use crate::console::replay::{approvable, may_approve, on_key, Mode, Request};
use crate::replay::{Player, Verification};
use crate::runbook::engine::Person;
use crate::session::approval::{ApprovalFile, Outbox};
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
    let player = load(&path).map_err(|e| e.to_string())?;
    let mut screen = Replaying::new(player, path.display().to_string(), look);
    let (_no_actions, mut actions) = mpsc::channel::<()>(1);
    event_loop::run_on_terminal(&mut screen, &mut actions)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `replay`: the player, advanced by the clock while it plays (tokio's, so a test's paused
/// clock plays it as a real one would).
pub(super) struct Replaying {
    player: Player,
    source: String,
    look: Look,
    /// When the player last advanced: time spent paused is not played when play resumes.
    last: Instant,
}

impl Replaying {
    /// The log's player, playing from its start.
    pub(super) fn new(mut player: Player, source: String, look: Look) -> Replaying {
        player.playing = true;
        Replaying {
            player,
            source,
            look,
            last: Instant::now(),
        }
    }
}

impl Screen for Replaying {
    type Action = ();

    fn key(&mut self, key: Key) -> bool {
        let was_playing = self.player.playing;
        on_key(&mut self.player, key, Mode::Replay);
        if !was_playing && self.player.playing {
            self.last = Instant::now();
        }
        true
    }

    fn action(&mut self, (): ()) -> bool {
        false
    }

    fn tick(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = u64::try_from((now - self.last).as_millis()).unwrap_or(u64::MAX);
        self.last = now;
        self.player.tick(elapsed);
        true
    }

    fn tick_every(&self) -> Option<Duration> {
        // Only a playing replay changes by itself; a paused one waits for a key.
        self.player.playing.then_some(FRAME)
    }

    fn resize(&mut self, _: u16, _: u16) {}

    fn draw(&self, frame: &mut Frame) {
        let screen = ReplayScreen {
            player: &self.player,
            source: &self.source,
            mode: Mode::Replay,
            message: None,
        };
        draw_replay(frame, &screen, &self.look);
    }

    fn done(&self) -> bool {
        self.player.quit
    }
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
        tail,
        outbox,
        me,
    } = following;
    let head = ChainHead {
        records: 0,
        hash: RecordHash::GENESIS,
    };
    let mut screen = Tailing {
        player: Player::new(Vec::new(), Verification::Growing(head)),
        tail,
        head,
        broken: None,
        message: None,
        outbox,
        me,
        source: path.display().to_string(),
        look,
    };
    screen.read_new();
    let (_no_actions, mut actions) = mpsc::channel::<()>(1);
    event_loop::run_on_terminal(&mut screen, &mut actions)
        .await
        .map_err(|e| e.to_string())?;
    Ok(FollowEnd {
        head: screen.head,
        session_ended: screen.player.state.ended.is_some(),
        broken: screen.broken,
    })
}

/// `follow`: the player fed by the log's tail, read every `FOLLOW_POLL`.
struct Tailing {
    player: Player,
    tail: AuditTail,
    head: ChainHead,
    broken: Option<String>,
    /// What the last approval attempt came to, until the log moves on.
    message: Option<String>,
    outbox: Option<Outbox>,
    me: Person,
    source: String,
    look: Look,
}

impl Tailing {
    fn mode(&self) -> Mode {
        let waiting = approvable(&self.player).is_some();
        let can_approve =
            waiting && self.outbox.is_some() && may_approve(&self.player, &self.me).is_ok();
        Mode::Follow { can_approve }
    }

    fn read_new(&mut self) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let new = read_new(
            &mut self.tail,
            &mut self.player,
            &mut self.head,
            &mut self.broken,
        );
        if new {
            self.message = None;
        }
        new
    }
}

impl Screen for Tailing {
    type Action = ();

    fn key(&mut self, key: Key) -> bool {
        let mode = self.mode();
        match on_key(&mut self.player, key, mode) {
            Request::Approve(step) => {
                let approval = ApprovalFile {
                    step: step.clone(),
                    head: self.head.hash,
                };
                self.message = Some(
                    match self.outbox.as_ref().map(|o| o.drop_approval(&approval)) {
                        Some(Ok(_)) => format!(
                            "approval of `{step}` sent as {}: the console records it if it accepts it",
                            self.me.label()
                        ),
                        Some(Err(e)) => e,
                        None => "this session has no approvals inbox".into(),
                    },
                );
            }
            Request::Refused(why) => self.message = Some(why),
            Request::None => {}
        }
        true
    }

    fn action(&mut self, (): ()) -> bool {
        false
    }

    fn tick(&mut self) -> bool {
        self.read_new()
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(FOLLOW_POLL)
    }

    fn resize(&mut self, _: u16, _: u16) {}

    fn draw(&self, frame: &mut Frame) {
        let waiting = approvable(&self.player).is_some();
        let allowed = may_approve(&self.player, &self.me);
        let hint = match (&self.message, waiting, &allowed, &self.outbox) {
            (Some(message), ..) => Some(message.clone()),
            (None, true, Err(why), _) => Some(why.clone()),
            (None, true, Ok(()), None) => Some(
                "a step waits for approval, but this follower found no approvals inbox when it started: restart it".into(),
            ),
            _ => None,
        };
        let screen = ReplayScreen {
            player: &self.player,
            source: &self.source,
            mode: self.mode(),
            message: hint.as_deref(),
        };
        draw_replay(frame, &screen, &self.look);
    }

    fn done(&self) -> bool {
        self.player.quit
    }
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
