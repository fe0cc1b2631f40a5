pub mod audit;
pub mod inventory;
pub mod sandbox;
pub mod wire;
pub mod zk;
