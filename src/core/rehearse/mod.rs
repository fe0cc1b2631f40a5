//! Pure halves of the rehearsal tools: where a sandbox's things live and every file's text, and the
//! election lab's draws, judgements, fixtures and report.

pub mod lab;
pub mod sandbox;
