//! relay-rs: a PalTalk-style media relay that reports its stream statistics as Ganglia
//! metrics through the embedded gmond-rs agent.
//!
//! - [`core`]: the sans-IO relay (rooms, RTP/RTCP validation, forwarding, limits, stats,
//!   tokens);
//! - [`control`]: the JSON-lines control protocol (relay/PROTOCOL.md), sans-IO;
//! - [`server`]: the drivers (media thread with recvmmsg/sendmmsg, tokio control and admin
//!   listeners, stats task, embedded agent);
//! - [`client`]: a blocking control client;
//! - [`load`]: the load client behind `relay-load`.

pub mod client;
pub mod control;
pub mod core;
pub mod load;
pub mod server;
