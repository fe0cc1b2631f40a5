//! The console: models, pure updates, key bindings, the terminal and the event loops.

pub mod heartbeat;
pub mod inventory;
pub mod keys;
pub mod replay_loop;
pub mod run;
pub mod run_loop;
pub mod session;
pub mod terminal;
pub mod watch;
pub mod watch_loop;
