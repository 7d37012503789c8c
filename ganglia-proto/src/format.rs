//! Safe rendering of a sender's printf-style `fmt` (the `VAL` attribute of gmond's XML).
//!
//! C gmond passes the sender's format straight to `apr_snprintf`, so a remote peer controls a
//! printf format string (reference §1.4). Here the format is parsed, never executed: one
//! conversion from the subset Ganglia uses (`%d %i %u %x %X %o %f %F %e %E %g %G %s %c`, with
//! flags `-+ #0`, width, precision and the length modifiers `h hh l ll L q j z t`) is rendered
//! with the value converted to what the conversion expects; literal text and `%%` pass through.
//! Anything else — no conversion, two conversions, `%n`, `%p`, `*` widths, a string value under a
//! numeric conversion — falls back to [`render_default`]. Width and precision are capped at
//! [`MAX_WIDTH`] so `%999999999d` cannot allocate a gigabyte.

use crate::xdr::WireValue;
use std::fmt::Write as _;

/// Largest width or precision honoured; larger ones are clamped.
pub const MAX_WIDTH: usize = 64;

#[derive(Debug, Default, Clone, Copy)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    /// Number of `h` modifiers (1 = short, 2 = char).
    h: u8,
    conv: u8,
}

/// The parsed shape of a format: literal prefix, one conversion, literal suffix.
struct Parsed<'f> {
    prefix: &'f str,
    spec: Spec,
    suffix: &'f str,
}

fn parse_spec(b: &[u8], mut i: usize) -> Option<(Spec, usize)> {
    let mut s = Spec::default();
    while i < b.len() {
        match b[i] {
            b'-' => s.left = true,
            b'+' => s.plus = true,
            b' ' => s.space = true,
            b'#' => s.alt = true,
            b'0' => s.zero = true,
            _ => break,
        }
        i += 1;
    }
    let mut width = 0usize;
    while i < b.len() && b[i].is_ascii_digit() {
        width = width
            .saturating_mul(10)
            .saturating_add(usize::from(b[i] - b'0'));
        i += 1;
    }
    s.width = width.min(MAX_WIDTH);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let mut p = 0usize;
        while i < b.len() && b[i].is_ascii_digit() {
            p = p
                .saturating_mul(10)
                .saturating_add(usize::from(b[i] - b'0'));
            i += 1;
        }
        s.precision = Some(p.min(MAX_WIDTH));
    }
    while i < b.len() && matches!(b[i], b'h' | b'l' | b'L' | b'q' | b'j' | b'z' | b't') {
        if b[i] == b'h' {
            s.h = s.h.saturating_add(1);
        }
        i += 1;
    }
    let conv = *b.get(i)?;
    if !matches!(
        conv,
        b'd' | b'i'
            | b'u'
            | b'x'
            | b'X'
            | b'o'
            | b'f'
            | b'F'
            | b'e'
            | b'E'
            | b'g'
            | b'G'
            | b's'
            | b'c'
    ) {
        return None;
    }
    s.conv = conv;
    Some((s, i + 1))
}

/// Split `fmt` into prefix / exactly one supported conversion / suffix. `%%` stays in the
/// literal parts (unescaped when written).
fn parse(fmt: &str) -> Option<Parsed<'_>> {
    let b = fmt.as_bytes();
    let mut found: Option<(usize, Spec, usize)> = None;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'%') {
            i += 2;
            continue;
        }
        if found.is_some() {
            return None; // a second conversion: C would read past its argument
        }
        let (spec, end) = parse_spec(b, i + 1)?;
        found = Some((i, spec, end));
        i = end;
    }
    let (start, spec, end) = found?;
    Some(Parsed {
        prefix: &fmt[..start],
        spec,
        suffix: &fmt[end..],
    })
}

fn push_literal(out: &mut String, lit: &str) {
    let mut rest = lit;
    while let Some(p) = rest.find("%%") {
        out.push_str(&rest[..=p]);
        rest = &rest[p + 2..];
    }
    out.push_str(rest);
}

fn pad(out: &mut String, spec: &Spec, sign: &str, body: &str, numeric: bool) {
    let len = sign.chars().count() + body.chars().count();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        out.push_str(sign);
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(body);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(sign);
        out.push_str(body);
    }
}

fn sign_of(neg: bool, spec: &Spec) -> &'static str {
    if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn render_int(out: &mut String, spec: &Spec, v: i128) {
    // Length modifiers truncate like C's integer promotions do.
    let v = match spec.h {
        1 if matches!(spec.conv, b'd' | b'i') => i128::from(v as i16),
        1 => i128::from(v as u16),
        2 if matches!(spec.conv, b'd' | b'i') => i128::from(v as i8),
        2 => i128::from(v as u8),
        _ if matches!(spec.conv, b'd' | b'i') => v,
        // %u %x %o of a negative 32-bit value print its two's complement, as C does.
        _ if v < 0 && v >= i128::from(i32::MIN) => i128::from(v as i32 as u32),
        _ if v < 0 => i128::from(v as i64 as u64),
        _ => v,
    };
    let neg = v < 0;
    let mag = v.unsigned_abs();
    let mut digits = match spec.conv {
        b'x' => format!("{mag:x}"),
        b'X' => format!("{mag:X}"),
        b'o' => format!("{mag:o}"),
        _ => mag.to_string(),
    };
    if let Some(p) = spec.precision {
        if digits.len() < p {
            digits.insert_str(0, &"0".repeat(p - digits.len()));
        } else if p == 0 && mag == 0 {
            digits.clear();
        }
    }
    let sign = if matches!(spec.conv, b'd' | b'i') {
        sign_of(neg, spec)
    } else {
        ""
    };
    let prefix = match (spec.alt, spec.conv) {
        (true, b'x') if mag != 0 => "0x",
        (true, b'X') if mag != 0 => "0X",
        (true, b'o') if !digits.starts_with('0') => "0",
        _ => "",
    };
    let sign_and_prefix = format!("{sign}{prefix}");
    let mut spec = *spec;
    if spec.precision.is_some() {
        spec.zero = false; // C ignores 0 when a precision is given for integers
    }
    pad(out, &spec, &sign_and_prefix, &digits, true);
}

/// `%e` body: d.ddde±XX with at least two exponent digits.
fn exp_body(mag: f64, prec: usize, upper: bool, alt: bool) -> String {
    let s = format!("{mag:.prec$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut m = mant.to_string();
    if alt && prec == 0 {
        m.push('.');
    }
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{m}{e}{sign}{:02}", exp.unsigned_abs())
}

fn strip_trailing_zeros(s: &mut String) {
    if let Some(dot) = s.find('.') {
        let end = s[dot..].find(['e', 'E']).map_or(s.len(), |e| dot + e);
        let mut cut = end;
        while cut > dot + 1 && s.as_bytes()[cut - 1] == b'0' {
            cut -= 1;
        }
        if cut == dot + 1 {
            cut = dot;
        }
        s.replace_range(cut..end, "");
    }
}

fn render_float(out: &mut String, spec: &Spec, v: f64) {
    let neg = v.is_sign_negative();
    let mag = v.abs();
    let upper = spec.conv.is_ascii_uppercase();
    if !v.is_finite() {
        let body = match (v.is_nan(), upper) {
            (true, false) => "nan",
            (true, true) => "NAN",
            (false, false) => "inf",
            (false, true) => "INF",
        };
        let mut spec = *spec;
        spec.zero = false;
        pad(out, &spec, sign_of(neg, &spec), body, true);
        return;
    }
    let prec = spec.precision.unwrap_or(6);
    let body = match spec.conv {
        b'f' | b'F' => {
            let mut s = format!("{mag:.prec$}");
            if spec.alt && prec == 0 {
                s.push('.');
            }
            s
        }
        b'e' | b'E' => exp_body(mag, prec, upper, spec.alt),
        _ => {
            // %g: choose %e or %f by the exponent after rounding to P significant digits.
            let p = if prec == 0 { 1 } else { prec };
            let x: i32 = if mag == 0.0 {
                0
            } else {
                let s = format!("{mag:.*e}", p - 1);
                s.split_once('e')
                    .and_then(|(_, e)| e.parse().ok())
                    .unwrap_or(0)
            };
            let mut s = if x < -4 || x >= p as i32 {
                exp_body(mag, p - 1, upper, spec.alt)
            } else {
                let fp = (p as i32 - 1 - x).max(0) as usize;
                format!("{mag:.fp$}")
            };
            if !spec.alt {
                strip_trailing_zeros(&mut s);
            }
            s
        }
    };
    pad(out, spec, sign_of(neg, spec), &body, true);
}

fn render_str(out: &mut String, spec: &Spec, s: &str) {
    let s = match spec.precision {
        Some(p) => match s.char_indices().nth(p) {
            Some((i, _)) => &s[..i],
            None => s,
        },
        None => s,
    };
    pad(out, spec, "", s, false);
}

fn as_int(v: WireValue<'_>) -> Option<i128> {
    Some(match v {
        WireValue::UShort(x) => i128::from(x),
        WireValue::Short(x) => i128::from(x),
        WireValue::Int(x) => i128::from(x),
        WireValue::UInt(x) => i128::from(x),
        // C would reinterpret the double's bits; truncating is the useful, safe choice.
        WireValue::Float(x) if x.is_finite() => x as i128,
        WireValue::Double(x) if x.is_finite() => x as i128,
        _ => return None,
    })
}

fn as_float(v: WireValue<'_>) -> Option<f64> {
    Some(match v {
        WireValue::UShort(x) => f64::from(x),
        WireValue::Short(x) => f64::from(x),
        WireValue::Int(x) => f64::from(x),
        WireValue::UInt(x) => f64::from(x),
        WireValue::Float(x) => f64::from(x),
        WireValue::Double(x) => x,
        WireValue::Str(_) => return None,
    })
}

/// Render `value` with the sender's `fmt`, appending to `out`.
pub fn render_into(out: &mut String, fmt: &str, value: WireValue<'_>) {
    let Some(p) = parse(fmt) else {
        return render_default_into(out, value);
    };
    let mark = out.len();
    push_literal(out, p.prefix);
    let ok = match (p.spec.conv, value) {
        (b's', WireValue::Str(s)) => {
            render_str(out, &p.spec, s);
            true
        }
        (b's', v) => {
            let mut tmp = String::new();
            render_default_into(&mut tmp, v);
            render_str(out, &p.spec, &tmp);
            true
        }
        (b'c', v) => match as_int(v)
            .and_then(|i| u8::try_from(i).ok())
            .filter(u8::is_ascii)
        {
            Some(c) => {
                render_str(out, &p.spec, &char::from(c).to_string());
                true
            }
            None => false,
        },
        (b'd' | b'i' | b'u' | b'x' | b'X' | b'o', v) => match as_int(v) {
            Some(i) => {
                render_int(out, &p.spec, i);
                true
            }
            None => false,
        },
        (_, v) => match as_float(v) {
            Some(f) => {
                render_float(out, &p.spec, f);
                true
            }
            None => false,
        },
    };
    if ok {
        push_literal(out, p.suffix);
    } else {
        out.truncate(mark);
        render_default_into(out, value);
    }
}

/// Render `value` with the sender's `fmt`.
pub fn render(fmt: &str, value: WireValue<'_>) -> String {
    let mut s = String::new();
    render_into(&mut s, fmt, value);
    s
}

/// The fallback rendering: integers in decimal, floats like `%f`, strings as they are.
pub fn render_default_into(out: &mut String, value: WireValue<'_>) {
    match value {
        WireValue::UShort(x) => write!(out, "{x}").unwrap_or(()),
        WireValue::Short(x) => write!(out, "{x}").unwrap_or(()),
        WireValue::Int(x) => write!(out, "{x}").unwrap_or(()),
        WireValue::UInt(x) => write!(out, "{x}").unwrap_or(()),
        WireValue::Str(s) => out.push_str(s),
        WireValue::Float(x) => render_float(
            out,
            &Spec {
                conv: b'f',
                ..Spec::default()
            },
            f64::from(x),
        ),
        WireValue::Double(x) => render_float(
            out,
            &Spec {
                conv: b'f',
                ..Spec::default()
            },
            x,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WireValue::*;
    use proptest::prelude::*;

    #[test]
    fn ganglia_core_formats() {
        assert_eq!(render("%hu", UShort(2)), "2");
        assert_eq!(render("%u", UInt(1_700_000_000)), "1700000000");
        assert_eq!(render("%.1f", Float(97.25)), "97.2"); // binary 97.25 rounds to even like C
        assert_eq!(render("%.2f", Float(0.5)), "0.50");
        assert_eq!(render("%.0f", Float(16_384_000.0)), "16384000");
        assert_eq!(render("%.3f", Double(1234.5678)), "1234.568");
        assert_eq!(render("%s", Str("hello <&> world")), "hello <&> world");
    }

    #[test]
    fn c_compatible_details() {
        assert_eq!(render("%5d|", Int(-42)), "  -42|");
        assert_eq!(render("%-5d|", Int(42)), "42   |");
        assert_eq!(render("%05d", Int(-42)), "-0042");
        assert_eq!(render("%+d", Int(7)), "+7");
        assert_eq!(render("%x", UInt(255)), "ff");
        assert_eq!(render("%#X", UInt(255)), "0XFF");
        assert_eq!(render("%u", Int(-1)), "4294967295");
        assert_eq!(render("%hd", Int(70000)), "4464");
        assert_eq!(render("%e", Double(12345.678)), "1.234568e+04");
        assert_eq!(render("%E", Double(0.000123)), "1.230000E-04");
        assert_eq!(render("%g", Double(0.0001)), "0.0001");
        assert_eq!(render("%g", Double(0.00001)), "1e-05");
        assert_eq!(render("%g", Double(123456.0)), "123456");
        assert_eq!(render("%g", Double(1234567.0)), "1.23457e+06");
        assert_eq!(render("%.3g", Double(1.23456)), "1.23");
        assert_eq!(render("%g", Double(100.0)), "100");
        assert_eq!(render("%f", Double(f64::NAN)), "nan");
        assert_eq!(render("%f", Double(f64::NEG_INFINITY)), "-inf");
        assert_eq!(render("%.2s", Str("abcdef")), "ab");
        assert_eq!(render("load %.2f%%", Float(1.5)), "load 1.50%");
        assert_eq!(render("%c", Int(65)), "A");
    }

    #[test]
    fn hostile_or_mismatched_formats_fall_back() {
        assert_eq!(render("%n", Int(5)), "5");
        assert_eq!(render("%p", UInt(5)), "5");
        assert_eq!(render("%s%s%s%s", Int(5)), "5");
        assert_eq!(render("%*d", Int(5)), "5");
        assert_eq!(render("no conversion", Int(5)), "5");
        assert_eq!(render("", Str("x")), "x");
        assert_eq!(render("%d", Str("12abc")), "12abc");
        assert_eq!(render("%.2f", Str("3.25")), "3.25");
        assert_eq!(render("%f", Float(1.0)), "1.000000");
        assert_eq!(render("%s", Double(2.5)), "2.500000");
        // Widths are clamped, not honoured to the gigabyte.
        assert_eq!(render("%999999999d", Int(1)).len(), MAX_WIDTH);
        assert_eq!(render("%.999999999f", Double(1.0)).len(), 2 + MAX_WIDTH);
    }

    proptest! {
        #[test]
        fn any_format_is_safe(fmt in ".{0,24}", i in any::<i32>(), d in any::<f64>(), s in ".{0,8}") {
            for v in [Int(i), UInt(i as u32), Double(d), Float(d as f32), Str(&s), Short(i as i16)] {
                let r = render(&fmt, v);
                prop_assert!(r.len() <= fmt.len() + 2 * MAX_WIDTH + 400);
            }
        }
    }
}
