//! Every packet captured from Debian's gmond/gmetric 3.7.2 decodes and re-encodes byte-identical.

use ganglia_proto::xdr::{self, Message, WireValue};
use std::path::Path;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/xdr");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_fixture_round_trips_byte_identical() {
    let all = fixtures();
    assert!(all.len() >= 90, "fixtures missing: {}", all.len());
    for (name, bytes) in &all {
        let msg = xdr::decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The file name carries the message id: NNN-<id>-<metric>.bin or req-136-N.bin.
        let id: u32 = name.split('-').nth(1).unwrap().parse().unwrap();
        assert_eq!(msg.message_id(), id, "{name}");
        let mut out = Vec::new();
        xdr::encode(&msg, &mut out);
        assert_eq!(&out, bytes, "{name} re-encodes differently");
    }
}

#[test]
fn fixture_contents_match_what_was_sent() {
    let all = fixtures();
    let get = |n: &str| {
        &all.iter()
            .find(|(f, _)| f == n)
            .unwrap_or_else(|| panic!("{n}"))
            .1
    };
    // gmetric -n fixture_u8 -v 200 -t uint8 -u things -s positive -x 60 -d 300 -g fixtures ...
    let Message::Metadata { id, meta } = xdr::decode(get("068-128-fixture_u8.bin")).unwrap() else {
        panic!()
    };
    assert_eq!((id.name, id.spoof), ("fixture_u8", false));
    assert_eq!(
        (
            meta.metric_type,
            meta.units,
            meta.slope,
            meta.tmax,
            meta.dmax
        ),
        ("uint8", "things", 1, 60, 300)
    );
    assert_eq!(meta.extra("GROUP"), Some("fixtures"));
    assert_eq!(meta.extra("DESC"), Some("an unsigned 8-bit value"));
    assert_eq!(meta.extra("TITLE"), Some("Fixture U8"));
    // gmetric always sends values as strings with fmt "%s".
    let Message::Value { fmt, value, .. } = xdr::decode(get("081-133-fixture_float.bin")).unwrap()
    else {
        panic!()
    };
    assert_eq!((fmt, value), ("%s", WireValue::Str("3.25")));
    // Spoofed: host carries "IP:name", spoof flag set.
    let msg = xdr::decode(get("085-133-fixture_spoofed.bin")).unwrap();
    assert_eq!(
        (msg.id().host, msg.id().spoof),
        ("10.1.2.3:spoofhost", true)
    );
    // gmond core: load_one is a float with fmt %.2f.
    let Message::Value { fmt, value, .. } = xdr::decode(get("035-134-load_one.bin")).unwrap()
    else {
        panic!()
    };
    assert_eq!(fmt, "%.2f");
    assert!(matches!(value, WireValue::Float(_)));
    // Metadata request from a spoofed host.
    let msg = xdr::decode(get("req-136-1.bin")).unwrap();
    assert_eq!((msg.id().host, msg.id().spoof), ("10.9.9.9:ghost", true));
}
