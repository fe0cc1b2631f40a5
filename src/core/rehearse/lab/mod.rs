//! Pure: the election lab's seeded states, the judgement of what the servers did against the
//! analyzer's verdict, regression fixtures and the table.

pub mod draw;
pub mod fixture;
pub mod judge;
pub mod network;
pub mod own_line;
pub mod report;
