//! `zkpilot follow`: the read-only console of a session in progress. A chain that breaks while
//! followed exits 1; the head printed on exit is the follower's anchor.

use super::args::FollowArgs;
use super::Failure;
use crate::tui::replay as replay_loop;
use crate::{audit, io::settings, session::approval};

pub async fn follow(args: FollowArgs) -> Result<(), Failure> {
    // Through sudo, only the log and its inbox are opened with root's rights, and only a log
    // in root's audit directory; then the follower drops to the person who ran it, so the
    // approvals it drops are theirs, and everything else they named (a theme, the config) is
    // read with their own rights.
    let file = approval::granted_log(&args.file).map_err(Failure::bad_input)?;
    let tail = audit::AuditTail::open(&file).map_err(|e| Failure::bad_input(e.to_string()))?;
    let outbox = approval::Outbox::open(&file).ok();
    let me = approval::drop_to_sudo_user().map_err(Failure::environment)?;
    let look = settings::look(args.display.theme.as_deref(), args.display.ascii)
        .map_err(Failure::bad_input)?;
    let following = replay_loop::Following {
        path: file.clone(),
        tail,
        outbox,
        me,
    };
    // Asked once the log, the inbox and the look are known good, so their errors come first.
    crate::tui::terminal::require("follow").map_err(Failure::environment)?;
    let end = replay_loop::follow(following, look)
        .await
        .map_err(Failure::environment)?;
    crate::say!(
        "followed {}: {} records verified, head {}{}",
        file.display(),
        end.head.records,
        end.head.hash,
        if end.session_ended {
            "; the session ended"
        } else {
            "; the session was still running"
        }
    );
    match end.broken {
        Some(problem) => Err(Failure::hazard(problem)),
        None => Ok(()),
    }
}
