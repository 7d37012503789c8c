#![no_main]
//! Any bytes: the XML reader returns a document or a typed error, never panics, and whatever it
//! reads survives a write/read round trip.
//! The check itself is `ganglia_fuzz::xml_read` (fuzz/src/lib.rs), replayed on the kept corpus by
//! tests/tests/fuzz_regress.rs.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ganglia_fuzz::xml_read(data));
