//! Building the XDR packets a sender emits: metadata (128), values (129–135), requests (136).
//! Shared by the agent's scheduler and gmetric-rs, so both send exactly what gmond 3.7.2 sends
//! (reference §1.5, §1.6).

use ganglia_proto::xdr::{self, Message, Metadata, MetricId, WireValue};
use ganglia_proto::{MetricType, Slope, Value};

/// Everything a sender says about one metric in its metadata packet.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// Metric name.
    pub name: String,
    /// Declared type (XML TYPE).
    pub metric_type: MetricType,
    /// Units (XML UNITS).
    pub units: String,
    /// Slope.
    pub slope: Slope,
    /// Maximum seconds between updates, sent as TMAX.
    pub tmax: u32,
    /// Seconds after which receivers delete the metric (0 = never).
    pub dmax: u32,
    /// printf-style format receivers render the value with.
    pub fmt: String,
    /// DESC extra data.
    pub desc: String,
    /// GROUP extra data (one entry each).
    pub groups: Vec<String>,
    /// SPOOF_NAME extra data: the wire name becomes `"<spoof_name>:<name>"`.
    pub spoof_name: Option<String>,
}

/// Who the packets say they are from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// `metric_id.host`: our hostname, or `"IP:NAME"` when spoofing.
    pub host: String,
    /// Whether `host` is a spoof string (override_hostname, gmetric -S).
    pub spoof: bool,
}

impl Sender {
    /// A sender identified by its source address (metric_id.host is informational).
    pub fn plain(hostname: &str) -> Sender {
        Sender {
            host: hostname.to_owned(),
            spoof: false,
        }
    }

    /// The identity gmond uses with `override_hostname` (and optionally `override_ip`):
    /// spoofed `"<override_ip|override_hostname>:<override_hostname>"`.
    pub fn overridden(hostname: &str, ip: Option<&str>) -> Sender {
        Sender {
            host: format!("{}:{hostname}", ip.unwrap_or(hostname)),
            spoof: true,
        }
    }
}

fn wire_name(def: &MetricDef) -> (String, bool) {
    match &def.spoof_name {
        Some(s) => (format!("{s}:{}", def.name), true),
        None => (def.name.clone(), false),
    }
}

/// Append a metadata packet for `def` with the given TITLE to `out`. Extra data order is
/// gmond's: TITLE, DESC, then the module's table (SPOOF_HOST, SPOOF_NAME, GROUP...).
pub fn metadata(out: &mut Vec<u8>, sender: &Sender, def: &MetricDef, title: &str) {
    let (name, name_spoof) = wire_name(def);
    let mut extra: Vec<(&str, &str)> = Vec::with_capacity(4 + def.groups.len());
    extra.push(("TITLE", if title.is_empty() { &def.name } else { title }));
    extra.push(("DESC", &def.desc));
    if sender.spoof {
        extra.push(("SPOOF_HOST", &sender.host));
    }
    if let Some(s) = &def.spoof_name {
        extra.push(("SPOOF_NAME", s));
    }
    for g in &def.groups {
        extra.push(("GROUP", g));
    }
    let msg = Message::Metadata {
        id: MetricId {
            host: &sender.host,
            name: &name,
            spoof: sender.spoof || name_spoof,
        },
        meta: Metadata {
            metric_type: def.metric_type.as_str(),
            name: &name,
            units: &def.units,
            slope: def.slope.to_wire(),
            tmax: def.tmax,
            dmax: def.dmax,
            extra,
        },
    };
    xdr::encode(&msg, out);
}

/// Append a value packet for `def` to `out`.
pub fn value(out: &mut Vec<u8>, sender: &Sender, def: &MetricDef, v: &Value) {
    let (name, name_spoof) = wire_name(def);
    let msg = Message::Value {
        id: MetricId {
            host: &sender.host,
            name: &name,
            spoof: sender.spoof || name_spoof,
        },
        fmt: &def.fmt,
        value: WireValue::from_value(v),
    };
    xdr::encode(&msg, out);
}

/// Append a metadata request (136) to `out`.
pub fn request(out: &mut Vec<u8>, host: &str, name: &str, spoof: bool) {
    xdr::encode(
        &Message::MetadataRequest {
            id: MetricId { host, name, spoof },
        },
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn load_one() -> MetricDef {
        MetricDef {
            name: "load_one".into(),
            metric_type: MetricType::Float,
            units: " ".into(),
            slope: Slope::Both,
            tmax: 70,
            dmax: 0,
            fmt: "%.2f".into(),
            desc: "One minute load average".into(),
            groups: vec!["load".into()],
            spoof_name: None,
        }
    }

    #[test]
    fn reference_vectors_c1_c2_d1() {
        let s = Sender::plain("node1");
        let mut out = Vec::new();
        metadata(&mut out, &s, &load_one(), "One Minute Load Average");
        assert_eq!(
            out,
            hex("00 00 00 80 00 00 00 05 6e 6f 64 65 31 00 00 00 00 00 00 08 6c 6f 61 64 5f 6f 6e 65
                 00 00 00 00 00 00 00 05 66 6c 6f 61 74 00 00 00 00 00 00 08 6c 6f 61 64 5f 6f 6e 65
                 00 00 00 01 20 00 00 00 00 00 00 03 00 00 00 46 00 00 00 00 00 00 00 03 00 00 00 05
                 54 49 54 4c 45 00 00 00 00 00 00 17 4f 6e 65 20 4d 69 6e 75 74 65 20 4c 6f 61 64 20
                 41 76 65 72 61 67 65 00 00 00 00 04 44 45 53 43 00 00 00 17 4f 6e 65 20 6d 69 6e 75
                 74 65 20 6c 6f 61 64 20 61 76 65 72 61 67 65 00 00 00 00 05 47 52 4f 55 50 00 00 00
                 00 00 00 04 6c 6f 61 64")
        );
        out.clear();
        value(&mut out, &s, &load_one(), &Value::Float(0.5));
        assert_eq!(
            out,
            hex("00 00 00 86 00 00 00 05 6e 6f 64 65 31 00 00 00 00 00 00 08 6c 6f 61 64 5f 6f 6e 65
                 00 00 00 00 00 00 00 04 25 2e 32 66 3f 00 00 00")
        );
        out.clear();
        request(&mut out, "node1", "temp", false);
        assert_eq!(
            out,
            hex(
                "00 00 00 88 00 00 00 05 6e 6f 64 65 31 00 00 00 00 00 00 04 74 65 6d 70 00 00 00 00"
            )
        );
    }

    #[test]
    fn override_hostname_spoofs_and_adds_spoof_host() {
        let s = Sender::overridden("web1", Some("10.0.0.5"));
        let mut out = Vec::new();
        metadata(&mut out, &s, &load_one(), "");
        let Message::Metadata { id, meta } = xdr::decode(&out).unwrap() else {
            panic!()
        };
        assert_eq!((id.host, id.spoof), ("10.0.0.5:web1", true));
        assert_eq!(meta.extra("TITLE"), Some("load_one"));
        assert_eq!(meta.extra("SPOOF_HOST"), Some("10.0.0.5:web1"));
    }
}
