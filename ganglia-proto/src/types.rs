//! Shared vocabulary: metric slopes, metric types and typed values.

use std::fmt;

/// A metric's slope (include/ganglia.h). Drives the RRD data-source type in gmetad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Slope {
    /// Value never changes (0).
    Zero,
    /// Counter that only grows (1): RRD COUNTER.
    Positive,
    /// Value that only shrinks (2).
    Negative,
    /// Gauge (3).
    #[default]
    Both,
    /// Not specified (4); also what any unknown value or string maps to.
    Unspecified,
    /// Derivative (5): RRD DERIVE.
    Derivative,
}

impl Slope {
    /// Slope from its wire number; unknown numbers map to [`Slope::Unspecified`] like
    /// Ganglia's `slope_to_cstr`.
    pub fn from_wire(n: u32) -> Slope {
        match n {
            0 => Slope::Zero,
            1 => Slope::Positive,
            2 => Slope::Negative,
            3 => Slope::Both,
            5 => Slope::Derivative,
            _ => Slope::Unspecified,
        }
    }

    /// The wire number of this slope.
    pub fn to_wire(self) -> u32 {
        match self {
            Slope::Zero => 0,
            Slope::Positive => 1,
            Slope::Negative => 2,
            Slope::Both => 3,
            Slope::Unspecified => 4,
            Slope::Derivative => 5,
        }
    }

    /// Parse the text form (`cstr_to_slope`): unknown strings give [`Slope::Unspecified`].
    pub fn parse(s: &str) -> Slope {
        match s {
            "zero" => Slope::Zero,
            "positive" => Slope::Positive,
            "negative" => Slope::Negative,
            "both" => Slope::Both,
            "derivative" => Slope::Derivative,
            _ => Slope::Unspecified,
        }
    }

    /// Text form as written in XML `SLOPE` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Slope::Zero => "zero",
            Slope::Positive => "positive",
            Slope::Negative => "negative",
            Slope::Both => "both",
            Slope::Unspecified => "unspecified",
            Slope::Derivative => "derivative",
        }
    }
}

impl fmt::Display for Slope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric's declared type, as carried in metadata and XML `TYPE` attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `string`
    String,
    /// `int8`
    Int8,
    /// `uint8`
    UInt8,
    /// `int16`
    Int16,
    /// `uint16`
    UInt16,
    /// `int32`
    Int32,
    /// `uint32`
    UInt32,
    /// `float`
    Float,
    /// `double`
    Double,
    /// `timestamp` (in the DTD; no 3.x sender produces it)
    Timestamp,
}

impl MetricType {
    /// Every type, in DTD order.
    pub const ALL: [MetricType; 10] = [
        MetricType::String,
        MetricType::Int8,
        MetricType::UInt8,
        MetricType::Int16,
        MetricType::UInt16,
        MetricType::Int32,
        MetricType::UInt32,
        MetricType::Float,
        MetricType::Double,
        MetricType::Timestamp,
    ];

    /// Parse a type name exactly as gmetric accepts it (plus `timestamp`).
    pub fn parse(s: &str) -> Option<MetricType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The type name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::String => "string",
            MetricType::Int8 => "int8",
            MetricType::UInt8 => "uint8",
            MetricType::Int16 => "int16",
            MetricType::UInt16 => "uint16",
            MetricType::Int32 => "int32",
            MetricType::UInt32 => "uint32",
            MetricType::Float => "float",
            MetricType::Double => "double",
            MetricType::Timestamp => "timestamp",
        }
    }

    /// Whether gmetad stores and summarises this type (type_hash.gperf: not string, not
    /// timestamp).
    pub fn is_numeric(self) -> bool {
        !matches!(self, MetricType::String | MetricType::Timestamp)
    }

    /// Whether summaries format this type's sum with `%.f` (integer types).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            MetricType::Int8
                | MetricType::UInt8
                | MetricType::Int16
                | MetricType::UInt16
                | MetricType::Int32
                | MetricType::UInt32
        )
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric value as carried by a value message (ids 129–135).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// 129 `gmetric_ushort` (4 bytes on the wire).
    UShort(u16),
    /// 130 `gmetric_short` (4 bytes on the wire, sign-extended).
    Short(i16),
    /// 131 `gmetric_int`.
    Int(i32),
    /// 132 `gmetric_uint`.
    UInt(u32),
    /// 133 `gmetric_string`.
    Str(String),
    /// 134 `gmetric_float`.
    Float(f32),
    /// 135 `gmetric_double`.
    Double(f64),
}

impl Value {
    /// The message id that carries this value.
    pub fn message_id(&self) -> u32 {
        match self {
            Value::UShort(_) => 129,
            Value::Short(_) => 130,
            Value::Int(_) => 131,
            Value::UInt(_) => 132,
            Value::Str(_) => 133,
            Value::Float(_) => 134,
            Value::Double(_) => 135,
        }
    }

    /// The value as a float, if numeric. Strings are parsed like C's `strtod` prefix rule is not
    /// needed here: a string that does not parse gives `None`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::UShort(v) => Some(f64::from(*v)),
            Value::Short(v) => Some(f64::from(*v)),
            Value::Int(v) => Some(f64::from(*v)),
            Value::UInt(v) => Some(f64::from(*v)),
            Value::Float(v) => Some(f64::from(*v)),
            Value::Double(v) => Some(*v),
            Value::Str(s) => s.trim().parse().ok(),
        }
    }

    /// The value's natural format when a sender gives none (gmond's module defaults).
    pub fn default_fmt(&self) -> &'static str {
        match self {
            Value::UShort(_) => "%hu",
            Value::Short(_) => "%hd",
            Value::Int(_) => "%d",
            Value::UInt(_) => "%u",
            Value::Str(_) => "%s",
            Value::Float(_) => "%f",
            Value::Double(_) => "%f",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_round_trips_and_unknown_is_unspecified() {
        for n in 0..=5 {
            assert_eq!(Slope::from_wire(n).to_wire(), n);
            assert_eq!(Slope::parse(Slope::from_wire(n).as_str()).to_wire(), n);
        }
        assert_eq!(Slope::from_wire(99), Slope::Unspecified);
        assert_eq!(Slope::parse("sideways"), Slope::Unspecified);
    }

    #[test]
    fn metric_types_parse_exactly() {
        for t in MetricType::ALL {
            assert_eq!(MetricType::parse(t.as_str()), Some(t));
        }
        assert_eq!(MetricType::parse("UINT32"), None);
        assert!(MetricType::Float.is_numeric() && !MetricType::String.is_numeric());
    }
}
