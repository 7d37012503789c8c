use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn reference_vector_a1_gmetric_metadata() {
    let bytes = hex(
        "00 00 00 80 00 00 00 05 6e 6f 64 65 31 00 00 00 00 00 00 04 74 65 6d 70 00 00 00 00
         00 00 00 06 75 69 6e 74 33 32 00 00 00 00 00 04 74 65 6d 70 00 00 00 01 43 00 00 00
         00 00 00 03 00 00 00 3c 00 00 00 00 00 00 00 00",
    );
    let msg = decode(&bytes).unwrap();
    let Message::Metadata { id, meta } = &msg else {
        panic!("not metadata: {msg:?}")
    };
    assert_eq!((id.host, id.name, id.spoof), ("node1", "temp", false));
    assert_eq!(
        (meta.metric_type, meta.units, meta.slope, meta.tmax),
        ("uint32", "C", 3, 60)
    );
    let mut out = Vec::new();
    encode(&msg, &mut out);
    assert_eq!(out, bytes);
}

#[test]
fn reference_vector_e1_heartbeat_value() {
    let bytes = hex(
        "00 00 00 84 00 00 00 05 6e 6f 64 65 31 00 00 00 00 00 00 09 68 65 61 72 74 62 65 61
         74 00 00 00 00 00 00 00 00 00 00 02 25 75 00 00 65 53 f1 00",
    );
    let msg = decode(&bytes).unwrap();
    assert_eq!(
        msg,
        Message::Value {
            id: MetricId {
                host: "node1",
                name: "heartbeat",
                spoof: false
            },
            fmt: "%u",
            value: WireValue::UInt(1_700_000_000),
        }
    );
}

#[test]
fn truncation_at_every_length_is_an_error_not_a_panic() {
    let bytes = hex(
        "00 00 00 80 00 00 00 05 6e 6f 64 65 31 00 00 00 00 00 00 04 74 65 6d 70 00 00 00 00
         00 00 00 06 75 69 6e 74 33 32 00 00 00 00 00 04 74 65 6d 70 00 00 00 01 43 00 00 00
         00 00 00 03 00 00 00 3c 00 00 00 00 00 00 00 00",
    );
    for n in 0..bytes.len() {
        let err = decode(&bytes[..n]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Truncated { .. } | DecodeError::StringTooLong { .. }
            ),
            "{n}: {err:?}"
        );
    }
}

#[test]
fn hostile_length_prefixes_are_rejected_without_allocating() {
    // Host string claiming 0xFFFFFFFF bytes.
    let bytes = hex("00 00 00 85 ff ff ff ff 41 41 41 41");
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::StringTooLong {
            offset: 4,
            len: u32::MAX,
            max: 4
        }
    );
    // Extra-data count of 0xFFFFFFFF.
    let mut m = hex("00 00 00 80");
    for s in ["h", "n"] {
        m.extend_from_slice(&hex("00 00 00 01"));
        m.extend_from_slice(&[s.as_bytes()[0], 0, 0, 0]);
    }
    m.extend_from_slice(&hex("00 00 00 00")); // spoof
    m.extend_from_slice(&hex("00 00 00 00 00 00 00 00 00 00 00 00")); // type name units
    m.extend_from_slice(&hex("00 00 00 03 00 00 00 3c 00 00 00 00 ff ff ff ff"));
    assert!(matches!(
        decode(&m).unwrap_err(),
        DecodeError::TooManyExtra {
            count: u32::MAX,
            ..
        }
    ));
    // A configured string limit applies even when the bytes are present.
    let long = hex("00 00 00 88 00 00 00 08 41 41 41 41 41 41 41 41 00 00 00 00 00 00 00 00");
    let limits = Limits {
        max_string: 4,
        max_extra: 8,
    };
    assert!(matches!(
        decode_with(&long, &limits),
        Err(DecodeError::StringTooLong { len: 8, .. })
    ));
}

#[test]
fn unknown_ids_invalid_utf8_and_short_range() {
    assert_eq!(
        decode(&hex("00 00 00 7f")).unwrap_err(),
        DecodeError::UnknownId(127)
    );
    assert_eq!(
        decode(&hex("00 00 00 89")).unwrap_err(),
        DecodeError::UnknownId(137)
    );
    let bad = hex("00 00 00 88 00 00 00 01 ff 00 00 00 00 00 00 00 00 00 00 00");
    assert_eq!(
        decode(&bad).unwrap_err(),
        DecodeError::InvalidUtf8 { offset: 8 }
    );
    let ushort = hex("00 00 00 81 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00");
    assert_eq!(
        decode(&ushort).unwrap_err(),
        DecodeError::ValueOutOfRange { offset: 20 }
    );
    assert_eq!(DecodeError::UnknownId(1).reason(), "unknown_id");
}

#[test]
fn short_values_are_sign_extended_on_the_wire() {
    let msg = Message::Value {
        id: MetricId {
            host: "",
            name: "x",
            spoof: false,
        },
        fmt: "%hd",
        value: WireValue::Short(-2),
    };
    let mut out = Vec::new();
    encode(&msg, &mut out);
    assert_eq!(&out[out.len() - 4..], &[0xff, 0xff, 0xff, 0xfe]);
    assert_eq!(decode(&out).unwrap(), msg);
}

fn arb_str() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ -~\u{e9}\u{263a}]{0,40}").unwrap()
}

#[derive(Debug, Clone)]
enum OwnedMsg {
    Meta(
        String,
        String,
        bool,
        [String; 3],
        u32,
        u32,
        u32,
        Vec<(String, String)>,
    ),
    Val(String, String, bool, String, u8, i64, f64, String),
    Req(String, String, bool),
}

fn arb_msg() -> impl Strategy<Value = OwnedMsg> {
    prop_oneof![
        (
            arb_str(),
            arb_str(),
            any::<bool>(),
            [arb_str(), arb_str(), arb_str()],
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec((arb_str(), arb_str()), 0..6)
        )
            .prop_map(|(h, n, s, t, a, b, c, e)| OwnedMsg::Meta(h, n, s, t, a, b, c, e)),
        (
            arb_str(),
            arb_str(),
            any::<bool>(),
            arb_str(),
            0u8..7,
            any::<i64>(),
            any::<f64>(),
            arb_str()
        )
            .prop_map(|(h, n, s, f, k, i, d, st)| OwnedMsg::Val(h, n, s, f, k, i, d, st)),
        (arb_str(), arb_str(), any::<bool>()).prop_map(|(h, n, s)| OwnedMsg::Req(h, n, s)),
    ]
}

fn borrow(m: &OwnedMsg) -> Message<'_> {
    match m {
        OwnedMsg::Meta(h, n, s, t, slope, tmax, dmax, e) => Message::Metadata {
            id: MetricId {
                host: h,
                name: n,
                spoof: *s,
            },
            meta: Metadata {
                metric_type: &t[0],
                name: &t[1],
                units: &t[2],
                slope: *slope,
                tmax: *tmax,
                dmax: *dmax,
                extra: e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            },
        },
        OwnedMsg::Val(h, n, s, f, kind, i, d, st) => Message::Value {
            id: MetricId {
                host: h,
                name: n,
                spoof: *s,
            },
            fmt: f,
            value: match kind {
                0 => WireValue::UShort(*i as u16),
                1 => WireValue::Short(*i as i16),
                2 => WireValue::Int(*i as i32),
                3 => WireValue::UInt(*i as u32),
                4 => WireValue::Str(st),
                5 => WireValue::Float(*d as f32),
                _ => WireValue::Double(*d),
            },
        },
        OwnedMsg::Req(h, n, s) => Message::MetadataRequest {
            id: MetricId {
                host: h,
                name: n,
                spoof: *s,
            },
        },
    }
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(m in arb_msg()) {
        let msg = borrow(&m);
        let mut out = Vec::new();
        encode(&msg, &mut out);
        prop_assert_eq!(out.len() % 4, 0);
        let back = decode_with(&out, &Limits { max_string: 4096, max_extra: 64 }).unwrap();
        // Compare re-encodings: NaN floats are not equal to themselves but their bits are.
        let mut again = Vec::new();
        encode(&back, &mut again);
        prop_assert_eq!(out, again);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }
}
