#![no_main]
//! Any gmond.conf text: the parser returns a config or a positioned error, never panics.
//! The check itself is `ganglia_fuzz::gmond_conf` (fuzz/src/lib.rs), replayed on the kept corpus by
//! tests/tests/fuzz_regress.rs.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ganglia_fuzz::gmond_conf(data));
