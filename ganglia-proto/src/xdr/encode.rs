//! XDR encoding into a caller's buffer.

use super::{ID_METADATA, ID_METADATA_REQUEST, Message, MetricId, WireValue};

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
    let pad = (4 - s.len() % 4) % 4;
    out.extend_from_slice(&[0u8; 3][..pad]);
}

fn put_id(out: &mut Vec<u8>, id: &MetricId<'_>) {
    put_str(out, id.host);
    put_str(out, id.name);
    put_u32(out, u32::from(id.spoof));
}

/// Append the XDR encoding of `msg` to `out`.
///
/// The result can exceed [`super::MAX_MESSAGE_LEN`] for very long strings; senders check
/// the length before transmitting.
pub fn encode(msg: &Message<'_>, out: &mut Vec<u8>) {
    match msg {
        Message::Metadata { id, meta } => {
            put_u32(out, ID_METADATA);
            put_id(out, id);
            put_str(out, meta.metric_type);
            put_str(out, meta.name);
            put_str(out, meta.units);
            put_u32(out, meta.slope);
            put_u32(out, meta.tmax);
            put_u32(out, meta.dmax);
            put_u32(out, meta.extra.len() as u32);
            for (k, v) in &meta.extra {
                put_str(out, k);
                put_str(out, v);
            }
        }
        Message::Value { id, fmt, value } => {
            put_u32(out, value.message_id());
            put_id(out, id);
            put_str(out, fmt);
            match *value {
                WireValue::UShort(v) => put_u32(out, u32::from(v)),
                WireValue::Short(v) => put_u32(out, i32::from(v) as u32),
                WireValue::Int(v) => put_u32(out, v as u32),
                WireValue::UInt(v) => put_u32(out, v),
                WireValue::Str(s) => put_str(out, s),
                WireValue::Float(v) => put_u32(out, v.to_bits()),
                WireValue::Double(v) => out.extend_from_slice(&v.to_bits().to_be_bytes()),
            }
        }
        Message::MetadataRequest { id } => {
            put_u32(out, ID_METADATA_REQUEST);
            put_id(out, id);
        }
    }
}
