pub mod inventory;
pub mod quorum;
pub mod remote;
pub mod sandbox;
pub mod wire;
pub mod yaml;
pub mod zk;
