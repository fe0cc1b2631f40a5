//! Pure: a sandbox's layout (addresses, ports, users, directories) and the text of every file it
//! writes.

pub mod layout;
pub mod render;
