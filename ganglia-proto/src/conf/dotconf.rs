//! dotconf syntax (gmetad.conf): one directive per line, `name arg arg ...`.
//!
//! - Names are case-insensitive (the schema layer lower-cases them).
//! - `#` outside quotes starts a comment (at the start of a line or inline).
//! - Arguments are separated by blanks; `"double"` and `'single'` quotes group blanks; quotes
//!   and plain text glue together like in a shell (`a"b c"` is one argument `ab c`).
//! - A backslash takes the next character literally (`\"`, `\#`, `\ `, `\\`), inside or
//!   outside quotes. A backslash ending a line continues the directive on the next line.
//! - Built-ins: `Include "file-or-glob"` (expanded in place, see [`super`]) and
//!   `IncludePath "dir"` (prefix for later relative `Include` paths).
//! - No limit on the number of arguments (dotconf's 16-token cap is not reproduced) nor on
//!   the line length.

use super::{ConfError, ConfErrorKind, FileSource, IncludeStack, Pos, expand_include};
use std::sync::Arc;

/// An argument as written (quotes and escapes resolved) and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arg {
    pub(crate) text: String,
    pub(crate) pos: Pos,
}

/// One directive: its name (as written), position and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) pos: Pos,
    pub(crate) args: Vec<Arg>,
}

/// Reads directives, expanding includes.
pub(crate) struct Reader<'f> {
    fs: &'f dyn FileSource,
    includes: IncludeStack,
    include_path: Option<String>,
    /// Every file read, in order.
    pub(crate) files: Vec<String>,
}

impl<'f> Reader<'f> {
    pub(crate) fn new(fs: &'f dyn FileSource) -> Reader<'f> {
        Reader {
            fs,
            includes: IncludeStack::default(),
            include_path: None,
            files: Vec::new(),
        }
    }

    /// All directives of `text` (named `name`), includes expanded, in order.
    pub(crate) fn read(
        &mut self,
        text: &str,
        name: &str,
        included_at: Option<&Pos>,
        out: &mut Vec<Directive>,
    ) -> Result<(), ConfError> {
        self.includes.enter(self.fs, name, included_at)?;
        self.files.push(name.to_owned());
        let r = self.read_inner(text, name, out);
        self.includes.leave();
        r
    }

    fn read_inner(
        &mut self,
        text: &str,
        name: &str,
        out: &mut Vec<Directive>,
    ) -> Result<(), ConfError> {
        let file: Arc<str> = Arc::from(name);
        for line in logical_lines(text) {
            let Some(d) = tokenize(&line, &file)? else {
                continue;
            };
            if d.name.eq_ignore_ascii_case("include") {
                self.include(&d, out)?;
            } else if d.name.eq_ignore_ascii_case("includepath") {
                let [arg] = d.args.as_slice() else {
                    return Err(one_arg(&d));
                };
                self.include_path = Some(arg.text.clone());
            } else {
                out.push(d);
            }
        }
        Ok(())
    }

    fn include(&mut self, d: &Directive, out: &mut Vec<Directive>) -> Result<(), ConfError> {
        let [arg] = d.args.as_slice() else {
            return Err(one_arg(d));
        };
        let path = match &self.include_path {
            Some(dir) if !arg.text.starts_with('/') => {
                format!("{}/{}", dir.trim_end_matches('/'), arg.text)
            }
            _ => arg.text.clone(),
        };
        for (p, text) in expand_include(self.fs, &path, &arg.pos)? {
            self.read(&text, &p, Some(&arg.pos), out)?;
        }
        Ok(())
    }
}

fn one_arg(d: &Directive) -> ConfError {
    ConfError::at(
        &d.pos,
        ConfErrorKind::Invalid {
            option: d.name.clone(),
            message: format!("takes exactly one argument, got {}", d.args.len()),
        },
    )
}

/// A logical line: characters with their (line, column), continuations joined.
type Line = Vec<(char, u32, u32)>;

fn logical_lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut cur: Line = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (body, cont) = match raw.strip_suffix('\\') {
            // An escaped backslash at the end ("\\") is not a continuation.
            Some(b) if !ends_with_odd_backslashes(b) => (b, true),
            _ => (raw, false),
        };
        let mut col = 1u32;
        for c in body.chars() {
            cur.push((c, lineno, col));
            col = col.saturating_add(1);
        }
        if cont {
            cur.push((' ', lineno, col));
        } else {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Split a logical line into a directive; `None` for blank and comment-only lines.
fn tokenize(line: &Line, file: &Arc<str>) -> Result<Option<Directive>, ConfError> {
    let mut words: Vec<Arg> = Vec::new();
    let mut i = 0;
    let n = line.len();
    'outer: while i < n {
        let (c, l, col) = line[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        let pos = Pos::new(file, l, col);
        let mut w = String::new();
        while i < n {
            let (c, l, col) = line[i];
            match c {
                c if c.is_whitespace() => break,
                '#' => {
                    words.push(Arg {
                        text: std::mem::take(&mut w),
                        pos,
                    });
                    break 'outer;
                }
                '\\' => {
                    i += 1;
                    match line.get(i) {
                        Some(&(e, _, _)) => w.push(e),
                        None => w.push('\\'),
                    }
                    i += 1;
                }
                '"' | '\'' => {
                    let start = Pos::new(file, l, col);
                    i += 1;
                    loop {
                        let Some(&(d, _, _)) = line.get(i) else {
                            return Err(ConfError::at(&start, ConfErrorKind::UnterminatedString));
                        };
                        i += 1;
                        if d == c {
                            break;
                        }
                        if d == '\\' {
                            if let Some(&(e, _, _)) = line.get(i) {
                                w.push(e);
                                i += 1;
                                continue;
                            }
                        }
                        w.push(d);
                    }
                }
                other => {
                    w.push(other);
                    i += 1;
                }
            }
        }
        words.push(Arg { text: w, pos });
    }
    let mut it = words.into_iter();
    Ok(it.next().map(|first| Directive {
        name: first.text,
        pos: first.pos,
        args: it.collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::MemFs;

    fn directives(text: &str) -> Result<Vec<(String, Vec<String>)>, ConfError> {
        let fs = MemFs::new();
        let mut r = Reader::new(&fs);
        let mut out = Vec::new();
        r.read(text, "t.conf", None, &mut out)?;
        Ok(out
            .into_iter()
            .map(|d| (d.name, d.args.into_iter().map(|a| a.text).collect()))
            .collect())
    }

    fn d(name: &str, args: &[&str]) -> (String, Vec<String>) {
        (
            name.to_owned(),
            args.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    #[test]
    fn tokens() {
        let text = "# comment\n\n  gridname \"My Grid\" # inline\nRRAs 'a b' c\\ d e\\#f \"q\\\"x\" a\"b c\"d\n\
                    trusted_hosts 1 \\\n  2 \\\n 3\nx #\ny \"#notcomment\"\r\nz \\\\\nw";
        let got = directives(text).unwrap();
        assert_eq!(
            got,
            vec![
                d("gridname", &["My Grid"]),
                d("RRAs", &["a b", "c d", "e#f", "q\"x", "ab cd"]),
                d("trusted_hosts", &["1", "2", "3"]),
                d("x", &[]),
                d("y", &["#notcomment"]),
                d("z", &["\\"]),
                d("w", &[]),
            ]
        );
    }

    #[test]
    fn positions_and_errors() {
        let fs = MemFs::new();
        let mut r = Reader::new(&fs);
        let mut out = Vec::new();
        r.read("a\n  bb  c\\\n   dd", "f", None, &mut out).unwrap();
        assert_eq!(out[1].pos, Pos::new(&Arc::from("f"), 2, 3));
        assert_eq!(out[1].args[0].pos, Pos::new(&Arc::from("f"), 2, 7));
        assert_eq!(out[1].args[1].pos, Pos::new(&Arc::from("f"), 3, 4));
        let e = directives("ok 1\ngridname \"abc").unwrap_err();
        assert_eq!(e.to_string(), "t.conf:2:10: unterminated string");
        let e = directives("Include").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.conf:1:1: option 'Include': takes exactly one argument, got 0"
        );
    }

    #[test]
    fn include_and_include_path() {
        let fs = MemFs::new()
            .with("/etc/g/conf.d/b.conf", "b 2")
            .with("/etc/g/conf.d/a.conf", "a 1")
            .with("/etc/g/x.conf", "x 0");
        let mut r = Reader::new(&fs);
        let mut out = Vec::new();
        r.read(
            "INCLUDE \"/etc/g/conf.d/*.conf\"\nIncludePath /etc/g\ninclude x.conf\nlast",
            "main",
            None,
            &mut out,
        )
        .unwrap();
        let names: Vec<_> = out.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "x", "last"]);
        assert_eq!(
            r.files,
            [
                "main",
                "/etc/g/conf.d/a.conf",
                "/etc/g/conf.d/b.conf",
                "/etc/g/x.conf"
            ]
        );
        let e = directives("Include /missing.conf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.conf:1:9: invalid include path \"/missing.conf\""
        );
    }
}
