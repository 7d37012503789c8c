//! The checks every fuzz target runs, as plain functions: the cargo-fuzz targets call them on
//! libFuzzer's inputs, and `tests/tests/fuzz_regress.rs` (inside `cargo test`) includes this
//! very file and replays every kept input of `fuzz/corpus-regress/<target>/` through them.
//! Each panics exactly when the property is broken.

use ganglia_proto::conf::{MemFs, gmetad, gmond};
use ganglia_proto::xdr;
use ganglia_proto::xml::read::{ReadLimits, read};
use ganglia_proto::xml::write::{Layout, write_document};

/// Any datagram: decode never panics, and whatever decodes re-encodes to a decodable message
/// that encodes to the same bytes again.
pub fn xdr_decode(data: &[u8]) {
    if let Ok(msg) = xdr::decode(data) {
        let mut out = Vec::new();
        xdr::encode(&msg, &mut out);
        let again = xdr::decode(&out).expect("re-encoded message decodes");
        let mut out2 = Vec::new();
        xdr::encode(&again, &mut out2);
        assert_eq!(out, out2);
    }
}

/// Any bytes: the XML reader returns a document or a typed error, never panics, and whatever
/// it reads survives a write/read round trip complete.
pub fn xml_read(data: &[u8]) {
    let limits = ReadLimits {
        max_bytes: 1 << 20,
        ..ReadLimits::default()
    };
    if let Ok(out) = read(data, &limits) {
        let mut buf = Vec::new();
        write_document(&mut buf, &out.doc, Layout::Gmetad);
        let again = read(&buf, &limits).expect("our own output reads back");
        assert!(again.complete, "{:?}", again.problems);
    }
}

/// Any gmond.conf text: a config or a positioned error, never a panic.
pub fn gmond_conf(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let fs = MemFs::new().with("/inc/a.conf", "globals { mute = yes }");
        let _ = gmond::parse_gmond_str(text, "fuzz.conf", &fs);
    }
}

/// Any gmetad.conf text: a config or a positioned error, never a panic.
pub fn gmetad_conf(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let fs = MemFs::new().with("/inc/a.conf", "gridname \"g\"");
        let _ = gmetad::parse_gmetad_str(text, "fuzz.conf", &fs);
    }
}

/// A fuzz check: panics exactly when its property breaks.
pub type Check = fn(&[u8]);

/// Every target by its cargo-fuzz name.
pub const TARGETS: &[(&str, Check)] = &[
    ("xdr_decode", xdr_decode),
    ("xml_read", xml_read),
    ("gmond_conf", gmond_conf),
    ("gmetad_conf", gmetad_conf),
];
