//! Value conversions shared by both formats (C `strtol(.., 0)`-style integers, numbers,
//! booleans), each producing a positioned [`ConfError`] on failure.

use super::{ConfError, ConfErrorKind, Pos, shorten};

/// Parse an integer like C `strtol(s, &end, 0)` with the whole string consumed: optional sign,
/// `0x` hex, leading-`0` octal, else decimal. Surrounding whitespace is ignored.
pub(crate) fn parse_c_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if t.is_empty() || t.starts_with(['+', '-']) {
        return None;
    }
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// Parse a floating-point number like `strtod` with the whole string consumed.
pub(crate) fn parse_c_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(v) = t.parse::<f64>() {
        return Some(v);
    }
    // strtod also takes hex integers ("0x10"); anything integral goes through parse_c_int
    // without the octal reading (strtod reads "010" as 10, which `parse::<f64>` already did).
    parse_c_int(t).map(|v| v as f64)
}

/// libconfuse booleans: yes/no, true/false, on/off (case-insensitive).
pub(crate) fn parse_confuse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    for (w, v) in [
        ("yes", true),
        ("true", true),
        ("on", true),
        ("no", false),
        ("false", false),
        ("off", false),
    ] {
        if t.eq_ignore_ascii_case(w) {
            return Some(v);
        }
    }
    None
}

pub(crate) const EXPECT_INT: &str = "an integer";
pub(crate) const EXPECT_UINT: &str = "a non-negative integer";
pub(crate) const EXPECT_NUM: &str = "a number";
pub(crate) const EXPECT_BOOL: &str = "a boolean (yes/no, true/false, on/off)";
pub(crate) const EXPECT_PORT: &str = "a port number (0-65535)";
pub(crate) const EXPECT_IP: &str = "an IP address";

pub(crate) fn bad(pos: &Pos, option: &str, expected: &'static str, got: &str) -> ConfError {
    ConfError::at(
        pos,
        ConfErrorKind::BadType {
            option: option.to_owned(),
            expected,
            got: shorten(got),
        },
    )
}

pub(crate) fn invalid(pos: &Pos, option: &str, message: impl Into<String>) -> ConfError {
    ConfError::at(
        pos,
        ConfErrorKind::Invalid {
            option: option.to_owned(),
            message: message.into(),
        },
    )
}

pub(crate) fn int(pos: &Pos, option: &str, s: &str) -> Result<i64, ConfError> {
    parse_c_int(s).ok_or_else(|| bad(pos, option, EXPECT_INT, s))
}

pub(crate) fn uint(pos: &Pos, option: &str, s: &str) -> Result<u64, ConfError> {
    parse_c_int(s)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| bad(pos, option, EXPECT_UINT, s))
}

pub(crate) fn u32_(pos: &Pos, option: &str, s: &str) -> Result<u32, ConfError> {
    parse_c_int(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad(pos, option, EXPECT_UINT, s))
}

pub(crate) fn port(pos: &Pos, option: &str, s: &str) -> Result<u16, ConfError> {
    parse_c_int(s)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| bad(pos, option, EXPECT_PORT, s))
}

pub(crate) fn float(pos: &Pos, option: &str, s: &str) -> Result<f64, ConfError> {
    parse_c_float(s).ok_or_else(|| bad(pos, option, EXPECT_NUM, s))
}

pub(crate) fn confuse_bool(pos: &Pos, option: &str, s: &str) -> Result<bool, ConfError> {
    parse_confuse_bool(s).ok_or_else(|| bad(pos, option, EXPECT_BOOL, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_ints() {
        assert_eq!(parse_c_int("8649"), Some(8649));
        assert_eq!(parse_c_int(" -1 "), Some(-1));
        assert_eq!(parse_c_int("+7"), Some(7));
        assert_eq!(parse_c_int("0x1F"), Some(31));
        assert_eq!(parse_c_int("022"), Some(18));
        assert_eq!(parse_c_int("0"), Some(0));
        assert_eq!(parse_c_int("08"), None);
        assert_eq!(parse_c_int("abc"), None);
        assert_eq!(parse_c_int("12abc"), None);
        assert_eq!(parse_c_int(""), None);
        assert_eq!(parse_c_int("--1"), None);
        assert_eq!(parse_c_int("0x"), None);
        assert_eq!(parse_c_int("99999999999999999999999"), None);
    }

    #[test]
    fn floats_and_bools() {
        assert_eq!(parse_c_float("1.0"), Some(1.0));
        assert_eq!(parse_c_float("4096"), Some(4096.0));
        assert_eq!(parse_c_float("1e3"), Some(1000.0));
        assert_eq!(parse_c_float("0x10"), Some(16.0));
        assert_eq!(parse_c_float("x"), None);
        assert_eq!(parse_confuse_bool("YES"), Some(true));
        assert_eq!(parse_confuse_bool("Off"), Some(false));
        assert_eq!(parse_confuse_bool("1"), None);
    }
}
