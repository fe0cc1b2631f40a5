//! Adapter: the terminal and the event loops of `watch`, `run` and `replay`/`follow`.

pub mod clock;
pub mod event_loop;
#[cfg(test)]
mod journeys;
pub mod replay;
pub mod run;
pub mod ssh_reads;
pub mod terminal;
pub mod watch;
