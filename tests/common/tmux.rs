//! Driving the real binary in tmux as an operator would: send keys, read the screen.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{Sandbox, BIN};

/// `zkpilot run` as the operator starts it, in a 180×50 terminal; the sudo variables are
/// cleared so the operator is whoever runs the test, not someone a surrounding sudo names.
pub fn console(sandbox: &Sandbox, runbook: &str, audit: &Path) -> Tmux {
    console_on(sandbox, runbook, "--audit", audit)
}

/// [`console`] going on with the session logged in `audit` (`--resume`).
pub fn resumed_console(sandbox: &Sandbox, runbook: &str, audit: &Path) -> Tmux {
    console_on(sandbox, runbook, "--resume", audit)
}

fn console_on(sandbox: &Sandbox, runbook: &str, log_flag: &str, audit: &Path) -> Tmux {
    let runbook = Path::new(env!("CARGO_MANIFEST_DIR")).join(runbook);
    let command = format!(
        "env -u SUDO_UID -u SUDO_GID -u SUDO_USER {BIN} run {} --inventory {} --interval 500ms {log_flag} {}",
        runbook.display(),
        sandbox.inventory_path().display(),
        audit.display()
    );
    Tmux::start(&command, 180, 50)
}

/// `zkpilot watch` on the sandbox's inventory with `options`, in a `width`×`height` terminal.
pub fn watch(sandbox: &Sandbox, options: &str, (width, height): (u16, u16)) -> Tmux {
    let command = format!(
        "{BIN} watch --inventory {} {options}",
        sandbox.inventory_path().display()
    );
    Tmux::start(&command, width, height)
}

/// [`console`] on the three-node rolling restart, its audit log in the sandbox directory.
pub fn rolling_restart_console(sandbox: &Sandbox) -> (Tmux, std::path::PathBuf) {
    let audit = sandbox.dir.join("audit.jsonl");
    let tmux = console(
        sandbox,
        "tests/fixtures/runbooks/rolling-restart-three.yaml",
        &audit,
    );
    (tmux, audit)
}

/// A tmux server of the test's own (its own socket), killed when dropped.
pub struct Tmux {
    socket: String,
    pub session: String,
}

impl Tmux {
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        let socket = super::test_name(unique());
        let tmux = Tmux {
            socket,
            session: "console".into(),
        };
        let ok = tmux
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                &tmux.session,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                command,
            ])
            .status
            .success();
        assert!(ok, "tmux could not start `{command}`");
        tmux.cmd(&["set-option", "-t", &tmux.session, "remain-on-exit", "on"]);
        tmux
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    pub fn send(&self, keys: &str) {
        self.cmd(&["send-keys", "-t", &self.session, keys]);
    }

    pub fn query(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["display-message", "-p", "-t", &self.session, format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    /// Polls the screen until `done` holds, or panics with the last screen at the deadline.
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs `step` of a run console as an operator does: waits until it is offered with every
    /// gate green, confirms it (r, then y) and waits until its line says done. Returns the
    /// screen that offered it.
    pub fn run_step(&self, step: &str) -> String {
        let ready = self.wait_for(
            &format!("{step} ready with every gate green"),
            Duration::from_secs(60),
            |s| {
                s.contains("r run the current step")
                    && !s.contains('✗')
                    && s.contains(&format!("step {step}"))
            },
        );
        self.send("r");
        self.wait_for("the confirmation prompt", Duration::from_secs(10), |s| {
            s.contains("y run this step now")
        });
        self.send("y");
        self.wait_for(&format!("{step} done"), Duration::from_secs(90), |s| {
            step_line_says(s, step, "done")
        });
        ready
    }

    /// The process the pane runs.
    pub fn pane_pid(&self) -> i32 {
        self.query("#{pane_pid}").parse().expect("a pane pid")
    }

    /// The terminal goes away as when the operator's SSH connection drops: tmux closes the
    /// pane's terminal and sends its process SIGHUP.
    pub fn hang_up(&self) {
        self.cmd(&["kill-session", "-t", &self.session]);
    }

    pub fn wait_until_exited(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.query("#{pane_dead}") != "1" {
            assert!(
                Instant::now() < deadline,
                "the console did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// Whether the step list's line of `step` says `word` (done, running…).
pub fn step_line_says(screen: &str, step: &str, word: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(&format!(" {step} ")) && l.contains(&format!(" {word}")))
}
