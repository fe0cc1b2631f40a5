pub mod analyze;
pub mod quorum;
pub mod yaml;
pub mod zk;
