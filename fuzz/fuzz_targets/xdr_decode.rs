#![no_main]
//! Any datagram: decode never panics, and whatever decodes re-encodes to a prefix-equal,
//! decodable message.

use ganglia_proto::xdr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = xdr::decode(data) {
        let mut out = Vec::new();
        xdr::encode(&msg, &mut out);
        let again = xdr::decode(&out).expect("re-encoded message decodes");
        let mut out2 = Vec::new();
        xdr::encode(&again, &mut out2);
        assert_eq!(out, out2);
    }
});
