//! `zkpilot replay`: a recorded session on the run screen, or as text with `--print`. A log
//! that does not verify is replayed up to its break, and `--print` then exits 1.

use std::io::Write;

use super::args::ReplayArgs;
use super::{Failure, Kind};
use crate::tui::replay as replay_loop;
use crate::{io::settings, replay};

pub async fn replay(args: ReplayArgs) -> Result<(), Failure> {
    if args.print {
        let player =
            replay_loop::load(&args.file).map_err(|e| Failure::bad_input(e.to_string()))?;
        let text = replay::print::render_text(player.records(), &player.verification);
        std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| Failure::write("the session", e))?;
        // The printed text names the break.
        return match player.verification {
            replay::Verification::Broken(_) => Err(Failure::shown(Kind::Hazard)),
            _ => Ok(()),
        };
    }
    crate::tui::terminal::require("replay").map_err(Failure::environment)?;
    let look = settings::look(args.display.theme.as_deref(), args.display.ascii)
        .map_err(Failure::bad_input)?;
    replay_loop::replay(args.file, look)
        .await
        .map_err(Failure::bad_input)
}
