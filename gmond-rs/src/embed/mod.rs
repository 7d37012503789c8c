//! The embedding API: run an agent inside any Rust program and report its own metrics.

pub mod registry;
pub mod relay;
