//! The `replay` and `follow` screens' keys: pure, so every key is testable without a
//! terminal; the adapter in `tui::replay` reads the log and draws.

use super::keys::{self, Key, ReplayKey, REPLAY_KEYS};
use crate::replay::{MarkerKind, Player};
use crate::runbook::engine::Person;

/// What differs between `replay` and `follow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Replay,
    /// `can_approve`: a step waits for approval and this follower may give it.
    Follow {
        can_approve: bool,
    },
}

/// What a key asks of the adapter beyond moving the player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    None,
    /// `follow` only: approve this step, which is waiting for a second operator.
    Approve(String),
    /// Something the follower typed that cannot be sent, and why.
    Refused(String),
}

/// One key on the read-only screen. No key here can reach the session: the only request,
/// an approval, is judged and recorded by the running console, not by this process.
pub fn on_key(player: &mut Player, key: Key, mode: Mode) -> Request {
    if let Some(mut text) = player.typing.take() {
        match key {
            Key::Ctrl('c') => player.quit = true,
            Key::Enter => {
                // Typing the id is the follower's own confirmation of what they approve.
                if approvable(player).as_deref() == Some(text.trim()) {
                    return Request::Approve(text.trim().to_string());
                }
                return Request::Refused(format!(
                    "`{text}` is not the step waiting for approval: nothing was sent"
                ));
            }
            Key::Esc => return Request::None,
            Key::Backspace => {
                text.pop();
            }
            Key::Char(c) if !c.is_control() => text.push(c),
            _ => {}
        }
        if !player.quit {
            player.typing = Some(text);
        }
        return Request::None;
    }
    let Some(action) = keys::lookup(REPLAY_KEYS, key) else {
        return Request::None;
    };
    if player.help {
        match action {
            ReplayKey::Quit if key == Key::Ctrl('c') => player.quit = true,
            ReplayKey::Quit | ReplayKey::Help => player.help = false,
            _ => {}
        }
        return Request::None;
    }
    if !offered(action, mode) {
        return Request::None;
    }
    let jump = |player: &mut Player, kind: Option<MarkerKind>, forward: bool| {
        player.playing = false;
        player.selected = None;
        if forward {
            player.next_marker(kind);
        } else {
            player.previous_marker(kind);
        }
    };
    match action {
        ReplayKey::Quit => player.quit = true,
        ReplayKey::Help => player.help = true,
        ReplayKey::PlayPause => player.toggle_play(),
        ReplayKey::Faster => player.faster(),
        ReplayKey::Slower => player.slower(),
        ReplayKey::Forward => {
            player.playing = false;
            player.step_forward();
        }
        ReplayKey::Back => {
            player.playing = false;
            player.step_back();
        }
        ReplayKey::NextMarker => jump(player, None, true),
        ReplayKey::PreviousMarker => jump(player, None, false),
        ReplayKey::NextStep => jump(player, Some(MarkerKind::Step), true),
        ReplayKey::PreviousStep => jump(player, Some(MarkerKind::Step), false),
        ReplayKey::NextWarning => jump(player, Some(MarkerKind::Warning), true),
        ReplayKey::PreviousWarning => jump(player, Some(MarkerKind::Warning), false),
        ReplayKey::NextOverride => jump(player, Some(MarkerKind::Override), true),
        ReplayKey::PreviousOverride => jump(player, Some(MarkerKind::Override), false),
        ReplayKey::NextFailure => jump(player, Some(MarkerKind::Failure), true),
        ReplayKey::PreviousFailure => jump(player, Some(MarkerKind::Failure), false),
        ReplayKey::Start => {
            player.playing = false;
            player.seek(0);
        }
        ReplayKey::End => {
            player.playing = false;
            player.seek(usize::MAX);
        }
        ReplayKey::Up => player.select_previous(),
        ReplayKey::Down => player.select_next(),
        ReplayKey::Approve => {
            player.playing = false;
            player.typing = Some(String::new());
        }
    }
    Request::None
}

/// Whether a key's action applies on this screen: the key bar and help show exactly these.
pub fn offered(action: ReplayKey, mode: Mode) -> bool {
    action != ReplayKey::Approve || mode == (Mode::Follow { can_approve: true })
}

/// The step a follower at the live edge may approve: the session is waiting for it.
pub fn approvable(player: &Player) -> Option<String> {
    if !player.at_end() {
        return None;
    }
    player.state.awaiting_approval().map(|s| s.id.clone())
}

/// Whether `me` may approve the step waiting now: an operator approving their own step is
/// refused by the console anyway unless the runbook allows it, so the key is not offered.
/// Names are compared here only to decide what to show; the console compares uids.
pub fn may_approve(player: &Player, me: &Person) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{ChainHead, RecordHash};
    use crate::replay::fixtures::recorded_session;
    use crate::replay::Verification;

    fn key(c: char) -> Key {
        Key::Char(c)
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
        let Request::Refused(why) = on_key(&mut player, Key::Enter, follow) else {
            panic!("a wrong id is refused")
        };
        assert!(why.contains("nothing was sent"), "{why}");
        on_key(&mut player, key('a'), follow);
        for c in "restart-leaderx".chars() {
            on_key(&mut player, key(c), follow);
        }
        on_key(&mut player, Key::Backspace, follow);
        assert_eq!(
            on_key(&mut player, Key::Enter, follow),
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
