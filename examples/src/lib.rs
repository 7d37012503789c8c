//! Examples for ganglia-rs. The interesting parts are `src/embed_agent.rs` (run with
//! `cargo run -p ganglia-examples --example embed_agent`), `systemd/` and `conf/`.

/// Directory of the example configuration files.
pub const CONF_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/conf");
