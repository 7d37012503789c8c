//! Attribute escaping for output and lenient unescaping for input.
//!
//! Output is pure ASCII: markup characters become entities, non-ASCII characters become numeric
//! character references (so the ISO-8859-1 declaration of the 3.7.2 DTD is always truthful),
//! tab/newline/CR become references (they survive attribute-value normalisation), and the other
//! C0 control characters, which XML 1.0 cannot carry at all (not even as `&#1;`: expat, used by
//! gmetad 3.7 and ganglia-web's PHP, rejects the whole document), become '?'. References always
//! have their full decimal digits (3.7.2's gmond wrote only two, so every byte >= 100 came out wrong).

/// Append `s` escaped for use inside a double-quoted attribute.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let needs =
        |c: u8| matches!(c, b'&' | b'<' | b'>' | b'"' | b'\'') || !(0x20..0x7f).contains(&c);
    let Some(first) = b.iter().position(|&c| needs(c)) else {
        out.extend_from_slice(b);
        return;
    };
    out.extend_from_slice(&b[..first]);
    for ch in s[first..].chars() {
        match ch {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&apos;"),
            '\t' => out.extend_from_slice(b"&#9;"),
            '\n' => out.extend_from_slice(b"&#10;"),
            '\r' => out.extend_from_slice(b"&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push(b'?'),
            '\u{7f}' => out.extend_from_slice(b"&#127;"),
            c if c.is_ascii() => out.push(c as u8),
            c => {
                out.extend_from_slice(b"&#");
                super::write::push_u64(out, u64::from(c as u32));
                out.push(b';');
            }
        }
    }
}

/// Unescape an attribute value leniently: the five predefined entities and numeric character
/// references are decoded; anything else (a bare '&', an unknown entity, an invalid reference)
/// is kept as written, since gmetad 3.7.2 re-emits unescaped values such as `a <&> b`.
pub fn unescape(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('&') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest[1..].find(';').filter(|&e| e <= 10).and_then(|e| {
            let ent = &rest[1..1 + e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let n = if let Some(h) =
                        ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X"))
                    {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        ent.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    n.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, e + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        escape_into(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_markup_controls_and_non_ascii() {
        assert_eq!(esc("plain name_1"), "plain name_1");
        assert_eq!(esc("hello <&> world"), "hello &lt;&amp;&gt; world");
        assert_eq!(esc("a\"b'c"), "a&quot;b&apos;c");
        assert_eq!(
            esc("tab\there\nnl\x01\x1f\x7f\r"),
            "tab&#9;here&#10;nl??&#127;&#13;"
        );
        assert_eq!(esc("\u{80}\u{ff}\u{100}"), "&#128;&#255;&#256;");
        assert_eq!(esc("\u{ffff}\u{10ffff}"), "?&#1114111;");
        assert_eq!(esc("café ☺"), "caf&#233; &#9786;");
    }

    #[test]
    fn unescape_is_lenient_and_inverse() {
        for s in [
            "hello <&> world",
            "a\"b'c",
            "tab\there\nx",
            "café ☺",
            "&amp;",
            "& ;",
        ] {
            assert_eq!(unescape(&esc(s)), s.replace('\x01', "?"));
        }
        assert_eq!(unescape("hello <&> world"), "hello <&> world");
        assert_eq!(unescape("a &bogus; &#x41;&#66;"), "a &bogus; AB");
        assert_eq!(unescape("&#xD800;"), "&#xD800;");
    }
}
