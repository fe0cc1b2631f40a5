//! Adapter: the terminal. Raw mode and the alternate screen are entered once and always left
//! again — on quit, on error and on panic — so the operator's shell is never left broken.

use std::io::{self, Stdout, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_core::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::console::keys::Key;

pub type Screen = Terminal<CrosstermBackend<Tty>>;

/// Standard output as the screen writes to it. Once the terminal is being left, a write it
/// refuses (it hung up: the operator's SSH connection dropped) is dropped, not reported:
/// ratatui's own `Drop` prints such an error to that same dead terminal, and printing there
/// panics, which skipped what a console does after its screen: the audit log's
/// `session_stop`, the lock's release, the sessions' close.
pub struct Tty {
    out: Stdout,
    leaving: Arc<AtomicBool>,
}

impl Tty {
    fn dropped_when_leaving<T>(&self, result: io::Result<T>, instead: T) -> io::Result<T> {
        match result {
            Err(_) if self.leaving.load(Ordering::Relaxed) => Ok(instead),
            result => result,
        }
    }
}

impl Write for Tty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.out.write(buf);
        self.dropped_when_leaving(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.out.flush();
        self.dropped_when_leaving(result, ())
    }
}

/// The terminal in raw mode; dropping it restores the terminal.
pub struct RawTerminal {
    pub screen: Screen,
    /// Set as the terminal is left: see [`Tty`].
    leaving: Arc<AtomicBool>,
}

impl RawTerminal {
    pub fn enter() -> io::Result<RawTerminal> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen) {
            restore();
            return Err(e);
        }
        let leaving = Arc::new(AtomicBool::new(false));
        let tty = Tty {
            out: stdout,
            leaving: leaving.clone(),
        };
        match Terminal::new(CrosstermBackend::new(tty)) {
            Ok(screen) => Ok(RawTerminal { screen, leaving }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        restore();
        self.leaving.store(true, Ordering::Relaxed);
        let _ = self.screen.show_cursor();
    }
}

/// Leaves raw mode and the alternate screen; harmless when they were never entered.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen);
}

/// Restores the terminal before the panic message is printed, or the message would be lost
/// in the alternate screen and the shell left in raw mode.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// What the terminal tells the event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermEvent {
    Key(Key),
    /// The window changed size: the screen lays itself out again.
    Resize,
}

/// Whether this process has a terminal to draw on and read keys from: its stdin, or its
/// controlling terminal (`/dev/tty`, where crossterm reads keys when stdin is not one). Without
/// either (`setsid … </dev/null`, a cron job) crossterm's reader panics, so the screens ask
/// first and `command` says what to run instead.
pub fn require(command: &str) -> Result<(), String> {
    use std::io::IsTerminal;
    use std::os::unix::fs::OpenOptionsExt;
    let controlling = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/tty");
    if io::stdin().is_terminal() || controlling.is_ok() {
        return Ok(());
    }
    Err(format!(
        "`zkpilot {command}` draws on a terminal and reads keys from it, and this process has \
         none (stdin is not a terminal and there is no controlling terminal): run it in a \
         terminal (`run --autopilot` and `replay --print` need none)"
    ))
}

/// Reads the terminal's events as they come: crossterm's `EventStream` waits on the terminal
/// without a timeout, so an idle console is not woken ten times a second to look for keys.
/// Aborting the task drops the stream, which wakes and ends crossterm's waiting thread.
pub fn spawn_reader() -> (mpsc::Receiver<TermEvent>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        let mut events = EventStream::new();
        loop {
            let next = std::future::poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await;
            let event = match next {
                Some(Ok(Event::Key(event))) => key_of(&event).map(TermEvent::Key),
                Some(Ok(Event::Resize(..))) => Some(TermEvent::Resize),
                Some(Ok(_)) => None,
                Some(Err(_)) | None => return,
            };
            if let Some(event) = event {
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        }
    });
    (rx, task)
}

/// The console's key for a terminal key event; releases and keys no screen binds are dropped.
pub fn key_of(event: &KeyEvent) -> Option<Key> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if event.modifiers.contains(KeyModifiers::CONTROL) {
        return match event.code {
            KeyCode::Char(c) => Some(Key::Ctrl(c.to_ascii_lowercase())),
            _ => None,
        };
    }
    Some(match event.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_is_its_own_key_and_releases_are_dropped() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(key_of(&ctrl_c), Some(Key::Ctrl('c')));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(key_of(&c), Some(Key::Char('c')));
        let mut release = c;
        release.kind = KeyEventKind::Release;
        assert_eq!(key_of(&release), None);
        let shifted = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(key_of(&shifted), Some(Key::Char('R')));
    }
}
