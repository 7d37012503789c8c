//! The sans-IO agent core: cluster state, scheduling and counters. No sockets, no clocks.

pub mod hosts;
pub mod packets;
pub mod schedule;
pub mod stats;
