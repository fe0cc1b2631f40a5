//! Adapters of the rehearsal tools: the sandbox (real ZooKeeper and sshd on loopback) and the
//! election lab's runner. Their pure halves are the core's `rehearse`.

pub mod lab;
pub mod sandbox;
