//! Pure rules that guard a run: whether a log may be continued by this run.

pub mod resume;
