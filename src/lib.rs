pub mod inventory;
pub mod remote;
pub mod sandbox;
pub mod wire;
pub mod zk;
