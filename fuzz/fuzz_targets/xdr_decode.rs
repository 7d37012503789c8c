#![no_main]
//! Any datagram: decode never panics, and whatever decodes re-encodes to a prefix-equal,
//! decodable message.
//! The check itself is `ganglia_fuzz::xdr_decode` (fuzz/src/lib.rs), replayed on the kept corpus by
//! tests/tests/fuzz_regress.rs.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ganglia_fuzz::xdr_decode(data));
