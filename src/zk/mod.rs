pub mod admin;
pub mod config;
pub mod fourlw;
pub mod session;
pub mod version;
pub mod zxid;
