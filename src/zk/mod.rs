pub mod admin;
pub mod config;
pub mod fourlw;
pub mod version;
pub mod zxid;
