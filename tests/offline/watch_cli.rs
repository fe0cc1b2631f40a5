//! `zkpilot watch` refusing bad input before it opens a console: exit 2 and a message that
//! names what was wrong.

use crate::common::{text, BIN};

#[test]
fn bad_input_gets_a_clear_error_and_no_console() {
    for (args, says) in [
        (
            &["watch", "--inventory", "/nonexistent/inventory.yaml"][..],
            "/nonexistent/inventory.yaml",
        ),
        (
            &["watch", "127.0.0.1:2181", "--theme", "no-such-theme"][..],
            "no theme named `no-such-theme`",
        ),
        (
            &["watch", "127.0.0.1:2181", "--interval", "fast"][..],
            "bad duration `fast`",
        ),
    ] {
        let out = std::process::Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
