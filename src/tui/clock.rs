//! The screens' wall clock. A console reads the system's; a journey test reads tokio's paused
//! clock from a fixed start, so what it snapshots (ages, waits, timeouts) never depends on
//! when or how fast the test ran.

use tokio::time::Instant;

use crate::ensemble::Millis;
use crate::poll;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's clock, as the poller stamps its reports.
    Wall,
    /// `at_start` when created, then advancing with tokio's clock.
    Tokio { at_start: Millis, start: Instant },
}

impl Clock {
    /// Reads `at_start` now and moves on with tokio's clock (paused in tests).
    pub fn tokio_from(at_start: Millis) -> Clock {
        Clock::Tokio {
            at_start,
            start: Instant::now(),
        }
    }

    pub fn now(&self) -> Millis {
        match self {
            Clock::Wall => poll::unix_millis(),
            Clock::Tokio { at_start, start } => at_start
                .saturating_add(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)),
        }
    }
}
