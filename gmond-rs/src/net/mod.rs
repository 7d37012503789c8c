//! All of the agent's I/O: UDP channels, the TCP XML server, name resolution.

pub mod resolve;
pub mod udp;
