pub mod config;
pub mod version;
pub mod zxid;
