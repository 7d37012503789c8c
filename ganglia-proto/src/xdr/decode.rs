//! XDR decoding with bounded lengths and typed errors.

use super::{ID_METADATA, ID_METADATA_REQUEST, Message, Metadata, MetricId, WireValue};

/// Bounds applied while decoding, on top of "no longer than the bytes present".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted string, in bytes.
    pub max_string: usize,
    /// Most extra-data entries accepted in one metadata message.
    pub max_extra: usize,
}

impl Default for Limits {
    /// 1472-byte strings (gmond's receive buffer) and 64 extra-data entries.
    fn default() -> Self {
        Limits {
            max_string: 1472,
            max_extra: 64,
        }
    }
}

/// Why a datagram was not decoded. Small and `Copy`: malformed packets are normal traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datagram ended inside an item.
    #[error("xdr error: truncated at byte {offset}: needed {needed} more bytes")]
    Truncated {
        /// Offset of the item that did not fit.
        offset: usize,
        /// Bytes that were missing.
        needed: usize,
    },
    /// Not one of 128–136.
    #[error("xdr error: unknown message id {0}")]
    UnknownId(u32),
    /// A string's length prefix exceeds the bytes present or [`Limits::max_string`].
    #[error("xdr error: string at byte {offset} declares {len} bytes (limit {max})")]
    StringTooLong {
        /// Offset of the length prefix.
        offset: usize,
        /// Declared length.
        len: u32,
        /// The limit in force (bytes remaining or the configured maximum).
        max: usize,
    },
    /// The extra-data count exceeds the bytes present or [`Limits::max_extra`].
    #[error("xdr error: extra-data count {count} at byte {offset} exceeds limit {max}")]
    TooManyExtra {
        /// Offset of the count.
        offset: usize,
        /// Declared count.
        count: u32,
        /// The limit in force.
        max: usize,
    },
    /// A string is not valid UTF-8.
    #[error("xdr error: string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Offset of the string's first byte.
        offset: usize,
    },
    /// A 16-bit value does not fit (glibc's xdr_short/xdr_u_short reject these too).
    #[error("xdr error: 16-bit value at byte {offset} out of range")]
    ValueOutOfRange {
        /// Offset of the value.
        offset: usize,
    },
}

impl DecodeError {
    /// A short, stable label for per-reason counters.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::UnknownId(_) => "unknown_id",
            DecodeError::StringTooLong { .. } => "string_too_long",
            DecodeError::TooManyExtra { .. } => "too_many_extra",
            DecodeError::InvalidUtf8 { .. } => "invalid_utf8",
            DecodeError::ValueOutOfRange { .. } => "value_out_of_range",
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: Limits,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let rest = self.buf.len() - self.pos;
        if n > rest {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - rest,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn string(&mut self) -> Result<&'a str, DecodeError> {
        let offset = self.pos;
        let len = self.u32()?;
        let rest = self.buf.len() - self.pos;
        let max = self.limits.max_string.min(rest);
        if len as usize > max {
            return Err(DecodeError::StringTooLong { offset, len, max });
        }
        let len = len as usize;
        let padded = len + (4 - len % 4) % 4;
        let start = self.pos;
        let bytes = self.take(padded).map(|b| &b[..len])?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { offset: start })
    }

    fn metric_id(&mut self) -> Result<MetricId<'a>, DecodeError> {
        let host = self.string()?;
        let name = self.string()?;
        let spoof = self.u32()? != 0;
        Ok(MetricId { host, name, spoof })
    }
}

/// Decode one datagram with the default [`Limits`].
pub fn decode(buf: &[u8]) -> Result<Message<'_>, DecodeError> {
    decode_with(buf, &Limits::default())
}

/// Decode one datagram. Bytes after the message are ignored, as glibc's XDR decoder does.
pub fn decode_with<'a>(buf: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
    let mut r = Reader {
        buf,
        pos: 0,
        limits: *limits,
    };
    let id = r.u32()?;
    match id {
        ID_METADATA => {
            let metric_id = r.metric_id()?;
            let metric_type = r.string()?;
            let name = r.string()?;
            let units = r.string()?;
            let slope = r.u32()?;
            let tmax = r.u32()?;
            let dmax = r.u32()?;
            let offset = r.pos;
            let count = r.u32()?;
            // Each entry takes at least 8 bytes (two empty strings).
            let max = limits.max_extra.min((r.buf.len() - r.pos) / 8);
            if count as usize > max {
                return Err(DecodeError::TooManyExtra { offset, count, max });
            }
            let mut extra = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let k = r.string()?;
                let v = r.string()?;
                extra.push((k, v));
            }
            Ok(Message::Metadata {
                id: metric_id,
                meta: Metadata {
                    metric_type,
                    name,
                    units,
                    slope,
                    tmax,
                    dmax,
                    extra,
                },
            })
        }
        129..=135 => {
            let metric_id = r.metric_id()?;
            let fmt = r.string()?;
            let offset = r.pos;
            let value = match id {
                129 => {
                    let v = r.u32()?;
                    WireValue::UShort(
                        u16::try_from(v).map_err(|_| DecodeError::ValueOutOfRange { offset })?,
                    )
                }
                130 => {
                    let v = r.u32()? as i32;
                    WireValue::Short(
                        i16::try_from(v).map_err(|_| DecodeError::ValueOutOfRange { offset })?,
                    )
                }
                131 => WireValue::Int(r.u32()? as i32),
                132 => WireValue::UInt(r.u32()?),
                133 => WireValue::Str(r.string()?),
                134 => WireValue::Float(f32::from_bits(r.u32()?)),
                _ => WireValue::Double(f64::from_bits(r.u64()?)),
            };
            Ok(Message::Value {
                id: metric_id,
                fmt,
                value,
            })
        }
        ID_METADATA_REQUEST => Ok(Message::MetadataRequest { id: r.metric_id()? }),
        other => Err(DecodeError::UnknownId(other)),
    }
}
