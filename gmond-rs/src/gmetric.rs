//! gmetric's logic without its I/O: validate the arguments exactly as gmetric 3.7.2 does
//! (`Ganglia_metric_set`) and build the two datagrams it sends per channel (reference §1.6).

use ganglia_proto::xdr::{self, Message, Metadata, MetricId, WireValue};
use ganglia_proto::{MetricType, Slope};

/// gmetric's arguments after command-line parsing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GmetricArgs {
    /// `-n`
    pub name: Option<String>,
    /// `-v`
    pub value: Option<String>,
    /// `-t`
    pub metric_type: Option<String>,
    /// `-u` (default "")
    pub units: String,
    /// `-s` (default "both"; unknown → unspecified)
    pub slope: String,
    /// `-x` (default 60)
    pub tmax: u32,
    /// `-d` (default 0)
    pub dmax: u32,
    /// `-g`
    pub group: Option<String>,
    /// `-C`
    pub cluster: Option<String>,
    /// `-D`
    pub desc: Option<String>,
    /// `-T`
    pub title: Option<String>,
    /// `-S`
    pub spoof: Option<String>,
    /// `-H`
    pub heartbeat: bool,
}

/// Why gmetric refuses to send. `Display` gives gmetric 3.7.2's exact message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GmetricError {
    /// Missing -n, -v or -t.
    #[error("Incorrect options supplied, exiting.")]
    MissingOptions,
    /// A parameter contains '"'.
    #[error("one of your parameters has an invalid character '\"'. exiting.")]
    InvalidCharacter,
    /// `-t` is not one of the nine types.
    #[error("the type parameter \"{0}\" is not a valid type. exiting.")]
    InvalidType(String),
    /// A numeric type with a value strtod cannot read.
    #[error("the value parameter \"{0}\" does not represent a number. exiting.")]
    NotANumber(String),
    /// `-S` without a ':'.
    #[error("Incorrect format for spoof argument. exiting.")]
    BadSpoof,
}

/// Whether C's `strtod` would consume at least one character of `s` (after leading spaces).
fn strtod_accepts(s: &str) -> bool {
    let t = s.trim_start();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("inf") || lower.starts_with("nan") {
        return true;
    }
    let b = t.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        return true;
    }
    b.first() == Some(&b'.') && b.get(1).is_some_and(u8::is_ascii_digit)
}

/// Validate `args` and build the metadata and value datagrams. `hostname` goes into
/// `metric_id.host` when not spoofing; `override_spoof` is the `"ip:host"` string from
/// gmond.conf's override_hostname/override_ip, used when `-S` is absent.
pub fn build(
    args: &GmetricArgs,
    hostname: &str,
    override_spoof: Option<&str>,
) -> Result<[Vec<u8>; 2], GmetricError> {
    let (name, value, ty, units, slope, tmax, dmax) = if args.spoof.is_some() && args.heartbeat {
        ("heartbeat", "0", "uint32", "", Slope::Zero, 0, 0)
    } else {
        let (Some(n), Some(v), Some(t)) = (&args.name, &args.value, &args.metric_type) else {
            return Err(GmetricError::MissingOptions);
        };
        (
            n.as_str(),
            v.as_str(),
            t.as_str(),
            args.units.as_str(),
            Slope::parse(&args.slope),
            args.tmax,
            args.dmax,
        )
    };
    if [name, value, ty, units].iter().any(|s| s.contains('"')) {
        return Err(GmetricError::InvalidCharacter);
    }
    let parsed = MetricType::parse(ty).filter(|t| *t != MetricType::Timestamp);
    let Some(parsed) = parsed else {
        return Err(GmetricError::InvalidType(ty.to_owned()));
    };
    if parsed != MetricType::String && !strtod_accepts(value) {
        return Err(GmetricError::NotANumber(value.to_owned()));
    }
    if args.spoof.as_ref().is_some_and(|s| !s.contains(':')) {
        return Err(GmetricError::BadSpoof);
    }

    let mut extra: Vec<(&str, &str)> = Vec::new();
    let spoof_host = args.spoof.as_deref().or(override_spoof);
    if let Some(s) = spoof_host {
        extra.push(("SPOOF_HOST", s));
    }
    if args.heartbeat {
        extra.push(("SPOOF_HEARTBEAT", "yes"));
    }
    if let Some(c) = &args.cluster {
        extra.push(("CLUSTER", c));
    }
    if let Some(g) = &args.group {
        extra.extend(
            g.split([',', ' '])
                .filter(|t| !t.is_empty())
                .map(|t| ("GROUP", t)),
        );
    }
    if let Some(d) = &args.desc {
        extra.push(("DESC", d));
    }
    if let Some(t) = &args.title {
        extra.push(("TITLE", t));
    }
    let (host, spoof) = match spoof_host {
        Some(s) => (s, true),
        None => (hostname, false),
    };
    let name = if args.heartbeat { "heartbeat" } else { name };
    let spoof = spoof || args.heartbeat;
    let id = MetricId { host, name, spoof };
    let mut meta = Vec::new();
    xdr::encode(
        &Message::Metadata {
            id,
            meta: Metadata {
                metric_type: ty,
                name,
                units,
                slope: slope.to_wire(),
                tmax,
                dmax,
                extra,
            },
        },
        &mut meta,
    );
    let mut val = Vec::new();
    xdr::encode(
        &Message::Value {
            id,
            fmt: "%s",
            value: WireValue::Str(value),
        },
        &mut val,
    );
    Ok([meta, val])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../ganglia-proto/tests/data/xdr")
            .join(name);
        std::fs::read(p).unwrap()
    }

    fn args(n: &str, v: &str, t: &str) -> GmetricArgs {
        GmetricArgs {
            name: Some(n.into()),
            value: Some(v.into()),
            metric_type: Some(t.into()),
            slope: "both".into(),
            tmax: 60,
            ..Default::default()
        }
    }

    #[test]
    fn byte_identical_to_debian_gmetric() {
        // gmetric -n fixture_u8 -v 200 -t uint8 -u things -s positive -x 60 -d 300 -g fixtures
        //   -D "an unsigned 8-bit value" -T "Fixture U8"   (sent from host "vm")
        let a = GmetricArgs {
            units: "things".into(),
            slope: "positive".into(),
            dmax: 300,
            group: Some("fixtures".into()),
            desc: Some("an unsigned 8-bit value".into()),
            title: Some("Fixture U8".into()),
            ..args("fixture_u8", "200", "uint8")
        };
        let [m, v] = build(&a, "vm", None).unwrap();
        assert_eq!(m, fixture("068-128-fixture_u8.bin"));
        assert_eq!(v, fixture("069-133-fixture_u8.bin"));
        // fixture_spoofed 42 uint32 -S 10.1.2.3:spoofhost
        let a = GmetricArgs {
            spoof: Some("10.1.2.3:spoofhost".into()),
            ..args("fixture_spoofed", "42", "uint32")
        };
        let [m, v] = build(&a, "vm", None).unwrap();
        assert_eq!(m, fixture("084-128-fixture_spoofed.bin"));
        assert_eq!(v, fixture("085-133-fixture_spoofed.bin"));
        // relay_bytes_in 1250000.5 double -u bytes/sec -g relay -s both -x 20
        let a = GmetricArgs {
            units: "bytes/sec".into(),
            group: Some("relay".into()),
            tmax: 20,
            ..args("relay_bytes_in", "1250000.5", "double")
        };
        let [m, v] = build(&a, "vm", None).unwrap();
        assert_eq!(m, fixture("087-128-relay_bytes_in.bin"));
        assert_eq!(v, fixture("088-133-relay_bytes_in.bin"));
        // -H -S 10.1.2.3:spoofhost: the value packet matches the capture.
        let a = GmetricArgs {
            spoof: Some("10.1.2.3:spoofhost".into()),
            heartbeat: true,
            ..Default::default()
        };
        let [_, v] = build(&a, "vm", None).unwrap();
        assert_eq!(v, fixture("086-133-heartbeat.bin"));
    }

    #[test]
    fn validation_messages_match_gmetric() {
        let e = |a: &GmetricArgs| build(a, "h", None).unwrap_err().to_string();
        assert_eq!(
            e(&GmetricArgs::default()),
            "Incorrect options supplied, exiting."
        );
        assert_eq!(
            e(&args("a\"b", "1", "int32")),
            "one of your parameters has an invalid character '\"'. exiting."
        );
        assert_eq!(
            e(&args("a", "1", "int64")),
            "the type parameter \"int64\" is not a valid type. exiting."
        );
        assert_eq!(
            e(&args("a", "abc", "float")),
            "the value parameter \"abc\" does not represent a number. exiting."
        );
        assert_eq!(
            e(&GmetricArgs {
                spoof: Some("nocolon".into()),
                ..args("a", "1", "int32")
            }),
            "Incorrect format for spoof argument. exiting."
        );
        // strtod accepts a numeric prefix; strings take anything.
        assert!(build(&args("a", " 12abc", "int32"), "h", None).is_ok());
        assert!(build(&args("a", "-.5", "float"), "h", None).is_ok());
        assert!(build(&args("a", "anything", "string"), "h", None).is_ok());
    }

    #[test]
    fn groups_split_on_comma_and_space_and_override_spoofs() {
        let a = GmetricArgs {
            group: Some("a, b c".into()),
            cluster: Some("lab".into()),
            ..args("m", "1", "int32")
        };
        let [m, _] = build(&a, "h", Some("10.0.0.1:web")).unwrap();
        let Message::Metadata { id, meta } = xdr::decode(&m).unwrap() else {
            panic!()
        };
        assert_eq!((id.host, id.spoof), ("10.0.0.1:web", true));
        let keys: Vec<_> = meta.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            keys,
            [
                "SPOOF_HOST=10.0.0.1:web",
                "CLUSTER=lab",
                "GROUP=a",
                "GROUP=b",
                "GROUP=c"
            ]
        );
    }
}
