pub mod admin;
pub mod config;
pub mod fourlw;
pub mod jute;
pub mod version;
pub mod zxid;
