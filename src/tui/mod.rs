//! Adapter: the terminal and the event loops of `watch`, `run` and `replay`/`follow`.

pub mod event_loop;
pub mod replay;
pub mod run;
pub mod ssh_reads;
pub mod terminal;
pub mod watch;
