//! The Ganglia 3.1+ UDP protocol (lib/gm_protocol.x): message ids 128–136 in XDR (RFC 4506).
//!
//! [`decode`] borrows strings from the datagram, so the receive hot path allocates only for
//! extra-data lists; callers copy what they keep. [`encode`] appends to a caller's
//! buffer. Every length prefix is checked against the bytes actually present and against
//! [`Limits`] before anything is allocated.

mod decode;
mod encode;

pub use decode::{DecodeError, Limits, decode, decode_with};
pub use encode::encode;

use crate::types::Value;

/// `gmetadata_full`: a metric's metadata.
pub const ID_METADATA: u32 = 128;
/// `gmetadata_request`: ask the owner of a metric to resend its metadata.
pub const ID_METADATA_REQUEST: u32 = 136;
/// Largest message a Ganglia sender builds (1500 − 28 − 8).
pub const MAX_MESSAGE_LEN: usize = 1464;

/// `Ganglia_metric_id`: who a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricId<'a> {
    /// Sender's hostname (ignored by receivers unless `spoof`), or `"IP:NAME"` when spoofed.
    pub host: &'a str,
    /// Metric name (hash key on the receiver).
    pub name: &'a str,
    /// Whether `host` is a spoof string.
    pub spoof: bool,
}

/// `Ganglia_metadata_message`: type, units, slope, timing and extra data of a metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// Type name (`"uint32"`, `"float"`, ...). Kept as text: the wire does not constrain it.
    pub metric_type: &'a str,
    /// Copy of the metric name.
    pub name: &'a str,
    /// Units, free text.
    pub units: &'a str,
    /// Slope as sent (see [`crate::Slope::from_wire`]).
    pub slope: u32,
    /// Maximum seconds between updates.
    pub tmax: u32,
    /// Seconds after which the metric is deleted (0 = never).
    pub dmax: u32,
    /// Extra data key/value pairs in wire order (GROUP, TITLE, DESC, SPOOF_HOST, ...).
    pub extra: Vec<(&'a str, &'a str)>,
}

impl Metadata<'_> {
    /// First value of an extra-data key.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// A value as it travels: like [`Value`] but borrowing its string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireValue<'a> {
    /// 129
    UShort(u16),
    /// 130
    Short(i16),
    /// 131
    Int(i32),
    /// 132
    UInt(u32),
    /// 133
    Str(&'a str),
    /// 134
    Float(f32),
    /// 135
    Double(f64),
}

impl<'a> WireValue<'a> {
    /// Borrow an owned value.
    pub fn from_value(v: &'a Value) -> WireValue<'a> {
        match v {
            Value::UShort(x) => WireValue::UShort(*x),
            Value::Short(x) => WireValue::Short(*x),
            Value::Int(x) => WireValue::Int(*x),
            Value::UInt(x) => WireValue::UInt(*x),
            Value::Str(s) => WireValue::Str(s),
            Value::Float(x) => WireValue::Float(*x),
            Value::Double(x) => WireValue::Double(*x),
        }
    }

    /// Copy into an owned [`Value`].
    pub fn to_value(self) -> Value {
        match self {
            WireValue::UShort(x) => Value::UShort(x),
            WireValue::Short(x) => Value::Short(x),
            WireValue::Int(x) => Value::Int(x),
            WireValue::UInt(x) => Value::UInt(x),
            WireValue::Str(s) => Value::Str(s.to_owned()),
            WireValue::Float(x) => Value::Float(x),
            WireValue::Double(x) => Value::Double(x),
        }
    }

    /// The message id that carries this value (129–135).
    pub fn message_id(self) -> u32 {
        match self {
            WireValue::UShort(_) => 129,
            WireValue::Short(_) => 130,
            WireValue::Int(_) => 131,
            WireValue::UInt(_) => 132,
            WireValue::Str(_) => 133,
            WireValue::Float(_) => 134,
            WireValue::Double(_) => 135,
        }
    }
}

/// One decoded datagram.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// 128 `gmetadata_full`.
    Metadata {
        /// Metric identity.
        id: MetricId<'a>,
        /// The metadata body.
        meta: Metadata<'a>,
    },
    /// 129–135: a value with the printf-style format the receiver renders it with.
    Value {
        /// Metric identity.
        id: MetricId<'a>,
        /// Sender's printf-style format (render with [`crate::format`]).
        fmt: &'a str,
        /// The value.
        value: WireValue<'a>,
    },
    /// 136 `gmetadata_request`.
    MetadataRequest {
        /// Metric identity whose metadata is wanted.
        id: MetricId<'a>,
    },
}

impl<'a> Message<'a> {
    /// The metric identity every message carries.
    pub fn id(&self) -> &MetricId<'a> {
        match self {
            Message::Metadata { id, .. }
            | Message::Value { id, .. }
            | Message::MetadataRequest { id } => id,
        }
    }

    /// The message id (128–136).
    pub fn message_id(&self) -> u32 {
        match self {
            Message::Metadata { .. } => ID_METADATA,
            Message::Value { value, .. } => value.message_id(),
            Message::MetadataRequest { .. } => ID_METADATA_REQUEST,
        }
    }
}

#[cfg(test)]
mod tests;
