//! RRD storage: the 3.7.2 layout ([`layout`]), the writer (librrd or rrdcached, [`writer`],
//! [`rrdcached`]) and the service thread that keeps RRD I/O off the polling path ([`service`]).

pub mod layout;
pub mod rrdcached;
pub mod service;
pub mod writer;
