//! The one event loop every screen runs in: keys (first, so they stay responsive while
//! updates flood in), the screen's own actions, a clock tick and a stop signal come in; the
//! screen applies them; the terminal is redrawn only when the screen says something visible
//! changed, once per burst. Generic over ratatui's `Backend`, so tests drive it on a
//! `TestBackend` with keys from a channel.

use std::future::Future;
use std::io;
use std::time::Duration;

use ratatui::backend::Backend;
use ratatui::{Frame, Terminal};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::terminal::{self, RawTerminal, TermEvent};
use crate::console::keys::Key;

/// The shortest time between two draws for news (keys are drawn at once).
const FRAME: Duration = Duration::from_millis(100);

/// A screen as the loop sees it: the model and the adapters that perform its effects.
pub trait Screen {
    type Action;

    /// Applies a key; true when something visible changed.
    fn key(&mut self, key: Key) -> bool;
    /// Applies one of the screen's own actions (a poll report, a command's output …).
    fn action(&mut self, action: Self::Action) -> bool;
    /// The clock ticked.
    fn tick(&mut self) -> bool;
    /// How long until the next tick; `None` while the screen has no use for a clock.
    fn tick_every(&self) -> Option<Duration>;
    /// The terminal's size changed (and once before the first draw).
    fn resize(&mut self, width: u16, height: u16);
    fn draw(&self, frame: &mut Frame);
    /// True once the screen is finished (the operator quit).
    fn done(&self) -> bool;
}

/// Why the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The screen said it was done.
    Done,
    /// A signal or hang-up, in words.
    Signal(&'static str),
}

/// Runs `screen` until it is done, `stop` resolves or the inputs end. An error drawing is
/// returned at once: the caller closes its session either way.
pub async fn run<B: Backend, S: Screen>(
    terminal: &mut Terminal<B>,
    screen: &mut S,
    inputs: &mut mpsc::Receiver<TermEvent>,
    actions: &mut mpsc::Receiver<S::Action>,
    stop: impl Future<Output = &'static str>,
) -> io::Result<Stopped> {
    tokio::pin!(stop);
    let size = terminal.size().map_err(backend_error)?;
    screen.resize(size.width, size.height);
    let mut dirty = true;
    // A key is drawn at once; news waits until `FRAME` has passed since the last draw, so the
    // reports of several nodes arriving a few milliseconds apart cost one draw.
    let mut urgent = true;
    let mut last_draw: Option<Instant> = None;
    let mut next_tick = screen.tick_every().map(|every| Instant::now() + every);
    loop {
        let draw_at = match last_draw {
            Some(at) if dirty && !urgent => Some(at + FRAME),
            _ => None,
        };
        if dirty && draw_at.is_none_or(|at| at <= Instant::now()) {
            terminal
                .draw(|frame| screen.draw(frame))
                .map_err(backend_error)?;
            last_draw = Some(Instant::now());
            dirty = false;
            urgent = false;
        }
        if screen.done() {
            return Ok(Stopped::Done);
        }
        let ticking = next_tick.is_some();
        let tick_at = next_tick.unwrap_or_else(Instant::now);
        let waiting_to_draw = dirty && draw_at.is_some();
        let draw_at = draw_at.unwrap_or_else(Instant::now);
        tokio::select! {
            biased;
            input = inputs.recv() => match input {
                Some(TermEvent::Key(key)) => {
                    if screen.key(key) {
                        dirty = true;
                        urgent = true;
                    }
                }
                Some(TermEvent::Resize) => {
                    let size = terminal.size().map_err(backend_error)?;
                    screen.resize(size.width, size.height);
                    terminal.autoresize().map_err(backend_error)?;
                    dirty = true;
                    urgent = true;
                }
                None => return Ok(Stopped::Signal("the terminal closed")),
            },
            Some(action) = actions.recv() => {
                dirty |= screen.action(action);
                // Collapse a burst of queued actions into one redraw.
                while let Ok(action) = actions.try_recv() {
                    dirty |= screen.action(action);
                }
            }
            _ = tokio::time::sleep_until(tick_at), if ticking => {
                dirty |= screen.tick();
                next_tick = None;
            }
            _ = tokio::time::sleep_until(draw_at), if waiting_to_draw => {}
            reason = &mut stop => return Ok(Stopped::Signal(reason)),
        }
        if next_tick.is_none() {
            next_tick = screen.tick_every().map(|every| Instant::now() + every);
        }
    }
}

/// Runs `screen` on the real terminal: raw mode and the alternate screen for the duration,
/// keys from the terminal, and SIGTERM, SIGHUP and SIGINT as stops. The terminal is restored
/// however the loop ends.
pub async fn run_on_terminal<S: Screen>(
    screen: &mut S,
    actions: &mut mpsc::Receiver<S::Action>,
) -> io::Result<Stopped> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => "terminated by a signal",
            _ = hangup.recv() => "the terminal hung up",
            _ = interrupt.recv() => "interrupted",
        }
    };
    let (mut inputs, reader) = terminal::spawn_reader();
    let mut raw = RawTerminal::enter()?;
    let result = run(&mut raw.screen, screen, &mut inputs, actions, stop).await;
    reader.abort();
    drop(raw);
    result
}

fn backend_error<E: std::fmt::Display>(error: E) -> io::Error {
    io::Error::other(error.to_string())
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::widgets::Paragraph;

    use super::*;

    /// A screen that counts what reached it and how often it was drawn.
    #[derive(Default)]
    struct Counter {
        keys: Vec<Key>,
        actions: u32,
        ticks: u32,
        draws: std::cell::Cell<u32>,
        quit: bool,
    }

    impl Screen for Counter {
        type Action = u32;
        fn key(&mut self, key: Key) -> bool {
            self.quit |= key == Key::Char('q');
            self.keys.push(key);
            true
        }
        fn action(&mut self, action: u32) -> bool {
            self.actions += action;
            // Only even actions change what is shown.
            action.is_multiple_of(2)
        }
        fn tick(&mut self) -> bool {
            self.ticks += 1;
            false
        }
        fn tick_every(&self) -> Option<Duration> {
            Some(Duration::from_millis(500))
        }
        fn resize(&mut self, _: u16, _: u16) {}
        fn draw(&self, frame: &mut Frame) {
            self.draws.set(self.draws.get() + 1);
            frame.render_widget(Paragraph::new(format!("{}", self.actions)), frame.area());
        }
        fn done(&self) -> bool {
            self.quit
        }
    }

    #[tokio::test(start_paused = true)]
    async fn redraws_only_when_something_visible_changed_and_quits_on_its_key() {
        let mut terminal = Terminal::new(TestBackend::new(20, 3)).expect("test backend");
        let (keys_tx, mut keys) = mpsc::channel(8);
        let (actions_tx, mut actions) = mpsc::channel(8);
        let mut screen = Counter::default();
        actions_tx.send(1).await.expect("open");
        actions_tx.send(2).await.expect("open");
        let driver = async {
            // Ten ticks of the clock that change nothing, then the quit key.
            tokio::time::sleep(Duration::from_millis(5_100)).await;
            keys_tx
                .send(TermEvent::Key(Key::Char('q')))
                .await
                .expect("open");
            std::future::pending::<&'static str>().await
        };
        let stopped = run(&mut terminal, &mut screen, &mut keys, &mut actions, driver)
            .await
            .expect("draws");
        assert_eq!(stopped, Stopped::Done);
        assert_eq!(screen.actions, 3, "both queued actions applied");
        assert_eq!(screen.ticks, 10);
        assert_eq!(
            screen.draws.get(),
            3,
            "the first draw, one for the burst of two actions (after a frame), one for the key"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn news_arriving_apart_is_drawn_at_most_once_per_frame_and_keys_at_once() {
        let mut terminal = Terminal::new(TestBackend::new(20, 3)).expect("test backend");
        let (keys_tx, mut keys) = mpsc::channel(8);
        let (actions_tx, mut actions) = mpsc::channel(64);
        let mut screen = Counter::default();
        let driver = async {
            // Thirty visible changes 10 ms apart: 300 ms of news.
            for _ in 0..30 {
                actions_tx.send(2).await.expect("open");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            keys_tx
                .send(TermEvent::Key(Key::Char('x')))
                .await
                .expect("open");
            keys_tx
                .send(TermEvent::Key(Key::Char('q')))
                .await
                .expect("open");
            std::future::pending::<&'static str>().await
        };
        run(&mut terminal, &mut screen, &mut keys, &mut actions, driver)
            .await
            .expect("draws");
        assert_eq!(screen.actions, 60);
        assert_eq!(
            screen.draws.get(),
            6,
            "the first draw, one per 100 ms of the 300 ms of news (not thirty), one per key"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_signal_ends_the_loop_with_its_reason() {
        let mut terminal = Terminal::new(TestBackend::new(20, 3)).expect("test backend");
        let (_keys_tx, mut keys) = mpsc::channel(8);
        let (_actions_tx, mut actions) = mpsc::channel::<u32>(8);
        let mut screen = Counter::default();
        let stop = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "terminated by a signal"
        };
        let stopped = run(&mut terminal, &mut screen, &mut keys, &mut actions, stop)
            .await
            .expect("draws");
        assert_eq!(stopped, Stopped::Signal("terminated by a signal"));
    }
}
