#![no_main]
//! Any gmond.conf text: the parser returns a config or a positioned error, never panics.

use ganglia_proto::conf::{MemFs, gmond};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let fs = MemFs::new().with("/inc/a.conf", "globals { mute = yes }");
        let _ = gmond::parse_gmond_str(text, "fuzz.conf", &fs);
    }
});
