//! Pure: a session rebuilt from its audit log, one record at a time, for `replay`, `follow`
//! and `audit export --format asciicast`. Nothing here reads a file or a clock: the records
//! and the time that passed are handed in, so the same log always replays the same way.
//!
//! `model` is what the operator saw after each record, `player` moves through the records
//! (play, speed, steps and markers), `print` writes a session as plain text.

pub mod model;
pub mod player;
pub mod print;

pub use model::{CommandShown, DecisionShown, GateShown, NodeShown, ReplayState, StepShown};
pub use player::{Marker, MarkerKind, Player, Verification};

#[cfg(test)]
mod purity {
    #[test]
    fn the_replay_core_touches_no_file_socket_or_clock() {
        let forbidden = [
            "std::fs",
            "std::io",
            "std::net",
            "tokio",
            "::now(",
            "Instant",
            "ratatui",
            "crossterm",
            "openssh",
            "libc",
        ];
        for (name, source) in [
            ("mod.rs", include_str!("mod.rs")),
            ("model.rs", include_str!("model.rs")),
            ("player.rs", include_str!("player.rs")),
            ("print.rs", include_str!("print.rs")),
        ] {
            for word in forbidden {
                let hits = source.matches(word).count();
                let listed = if name == "mod.rs" { 1 } else { 0 };
                assert!(hits <= listed, "{name} uses {word}");
            }
        }
    }
}
