#![no_main]
//! Any bytes: the XML reader returns a document or a typed error, never panics, and whatever it
//! reads survives a write/read round trip.

use ganglia_proto::xml::read::{ReadLimits, read};
use ganglia_proto::xml::write::{Layout, write_document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ReadLimits { max_bytes: 1 << 20, ..ReadLimits::default() };
    if let Ok(out) = read(data, &limits) {
        let mut buf = Vec::new();
        write_document(&mut buf, &out.doc, Layout::Gmetad);
        let again = read(&buf, &limits).expect("our own output reads back");
        assert!(again.complete, "{:?}", again.problems);
    }
});
