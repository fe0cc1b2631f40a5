//! Pure helpers for text: the one escaping routine for the terminal, shell words, durations,
//! the YAML door (the one module that touches `serde_yaml`) and the XDG directory rule.

pub mod duration;
pub mod escape;
pub mod shell;
pub mod xdg;
pub mod yaml;
