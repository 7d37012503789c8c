//! libconfuse syntax: a lexer and a schema-free parser into a tree of [`Node`]s, with
//! Ganglia's `include ("glob")` expanded in place. Schema checks live in `gmond.rs`.
//!
//! Grammar (what libconfuse accepts for gmond's schema):
//! ```text
//! body    := { item [';' | ','] }
//! item    := NAME '=' VALUE                 option
//!          | NAME '{' body '}'              section
//!          | NAME VALUE '{' body '}'        titled section (`param NAME { ... }`)
//!          | NAME '(' [VALUE {',' VALUE}] ')'   function; only `include` exists
//! VALUE   := bare word | "double quoted" | 'single quoted'
//! ```
//! Comments: `#` and `//` to end of line, `/* ... */`. Names are case-insensitive (the
//! schema layer lower-cases them).

use super::{ConfError, ConfErrorKind, FileSource, IncludeStack, Pos, expand_include, shorten};
use std::sync::Arc;

/// How deep sections may nest inside one file (gmond's schema needs 4).
const MAX_NESTING: usize = 32;

/// A value as written: its text (escapes resolved) and whether it was quoted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Val {
    pub(crate) text: String,
    pub(crate) quoted: bool,
    pub(crate) pos: Pos,
}

/// One item of a section body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// The name as written (not lower-cased).
    pub(crate) name: String,
    pub(crate) pos: Pos,
    pub(crate) kind: NodeKind,
}

/// What an item is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    /// `name = value`.
    Opt(Val),
    /// `name [title] { body }`.
    Section { title: Option<Val>, body: Vec<Node> },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    LBrace,
    RBrace,
    LParen,
    RParen,
    Eq,
    PlusEq,
    Comma,
    Semi,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("'{}'", shorten(w)),
            Tok::Quoted(w) => format!("string \"{}\"", shorten(w)),
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Eq => "'='".into(),
            Tok::PlusEq => "'+='".into(),
            Tok::Comma => "','".into(),
            Tok::Semi => "';'".into(),
            Tok::Eof => "end of file".into(),
        }
    }
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    col: u32,
    file: Arc<str>,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '=' | '{' | '}' | '(' | ')' | '"' | '\'' | ',' | ';' | '#'
        )
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str, file: Arc<str>) -> Lexer<'a> {
        Lexer {
            chars: text.chars().peekable(),
            line: 1,
            col: 1,
            file,
        }
    }

    fn pos(&self) -> Pos {
        Pos::new(&self.file, self.line, self.col)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.chars.clone();
        it.next();
        it.next()
    }

    /// Skip whitespace and comments.
    fn skip(&mut self) -> Result<(), ConfError> {
        loop {
            match self.chars.peek().copied() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => self.skip_line(),
                Some('/') if self.peek2() == Some('/') => self.skip_line(),
                Some('/') if self.peek2() == Some('*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    let mut prev = '\0';
                    loop {
                        match self.bump() {
                            None => {
                                return Err(ConfError::at(
                                    &start,
                                    ConfErrorKind::UnterminatedComment,
                                ));
                            }
                            Some('/') if prev == '*' => break,
                            Some(c) => prev = c,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(&c) = self.chars.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    fn next(&mut self) -> Result<(Tok, Pos), ConfError> {
        self.skip()?;
        let pos = self.pos();
        let Some(&c) = self.chars.peek() else {
            return Ok((Tok::Eof, pos));
        };
        let simple = match c {
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '=' => Some(Tok::Eq),
            ',' => Some(Tok::Comma),
            ';' => Some(Tok::Semi),
            _ => None,
        };
        if let Some(t) = simple {
            self.bump();
            return Ok((t, pos));
        }
        if c == '+' && self.peek2() == Some('=') {
            self.bump();
            self.bump();
            return Ok((Tok::PlusEq, pos));
        }
        if c == '"' || c == '\'' {
            self.bump();
            let s = self.quoted(c, &pos)?;
            return Ok((Tok::Quoted(s), pos));
        }
        let mut w = String::new();
        while let Some(&c) = self.chars.peek() {
            if !is_word_char(c) {
                break;
            }
            w.push(c);
            self.bump();
        }
        if w.is_empty() {
            // Unreachable with the current character classes; never loop without consuming.
            if let Some(c) = self.bump() {
                w.push(c);
            }
        }
        Ok((Tok::Word(w), pos))
    }

    /// The rest of a quoted string (the opening quote is consumed). Double quotes know the C
    /// escapes (`\n \t \r \b \f \a \" \' \\ \$`, `\xHH`, `\NNN` octal); single quotes only
    /// `\'` and `\\` (libconfuse semantics); any other backslash is kept as is.
    fn quoted(&mut self, q: char, start: &Pos) -> Result<String, ConfError> {
        let mut s = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(ConfError::at(start, ConfErrorKind::UnterminatedString));
            };
            if c == q {
                return Ok(s);
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let Some(&e) = self.chars.peek() else {
                return Err(ConfError::at(start, ConfErrorKind::UnterminatedString));
            };
            if q == '\'' {
                if e == '\'' || e == '\\' {
                    self.bump();
                    s.push(e);
                } else {
                    s.push('\\');
                }
                continue;
            }
            self.bump();
            match e {
                'n' => s.push('\n'),
                't' => s.push('\t'),
                'r' => s.push('\r'),
                'b' => s.push('\u{8}'),
                'f' => s.push('\u{c}'),
                'a' => s.push('\u{7}'),
                'x' => {
                    let mut v = 0u32;
                    let mut n = 0;
                    while n < 2 {
                        match self.chars.peek().and_then(|c| c.to_digit(16)) {
                            Some(d) => {
                                v = v * 16 + d;
                                self.bump();
                                n += 1;
                            }
                            None => break,
                        }
                    }
                    if n == 0 {
                        s.push_str("\\x");
                    } else {
                        s.push(char::from_u32(v).unwrap_or('?'));
                    }
                }
                '0'..='7' => {
                    let mut v = e.to_digit(8).unwrap_or(0);
                    let mut n = 1;
                    while n < 3 {
                        match self.chars.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                self.bump();
                                n += 1;
                            }
                            None => break,
                        }
                    }
                    s.push(char::from_u32(v).unwrap_or('?'));
                }
                other => s.push(other),
            }
        }
    }
}

/// Parser state shared across included files.
pub(crate) struct Parser<'f> {
    fs: &'f dyn FileSource,
    includes: IncludeStack,
    /// Every file read, in order (the top file first).
    pub(crate) files: Vec<String>,
}

impl<'f> Parser<'f> {
    pub(crate) fn new(fs: &'f dyn FileSource) -> Parser<'f> {
        Parser {
            fs,
            includes: IncludeStack::default(),
            files: Vec::new(),
        }
    }

    /// Parse a whole file's text into its top-level items (includes expanded).
    pub(crate) fn parse_file(
        &mut self,
        text: &str,
        name: &str,
        included_at: Option<&Pos>,
    ) -> Result<Vec<Node>, ConfError> {
        self.includes.enter(self.fs, name, included_at)?;
        self.files.push(name.to_owned());
        let mut lx = Lexer::new(text, Arc::from(name));
        let mut out = Vec::new();
        let r = self.body(&mut lx, &mut out, None, 0);
        self.includes.leave();
        r.map(|()| out)
    }

    /// Parse items until `}` (when `open` is the enclosing section) or end of file.
    fn body(
        &mut self,
        lx: &mut Lexer<'_>,
        out: &mut Vec<Node>,
        open: Option<(&str, &Pos)>,
        depth: usize,
    ) -> Result<(), ConfError> {
        if depth > MAX_NESTING {
            return Err(ConfError::at(&lx.pos(), ConfErrorKind::TooDeep));
        }
        loop {
            let (tok, pos) = lx.next()?;
            let name = match tok {
                Tok::Semi | Tok::Comma => continue,
                Tok::Eof => {
                    return match open {
                        None => Ok(()),
                        Some((section, p)) => Err(ConfError::at(
                            &pos,
                            ConfErrorKind::MissingBrace {
                                section: section.to_owned(),
                                line: p.line,
                                col: p.col,
                            },
                        )),
                    };
                }
                Tok::RBrace if open.is_some() => return Ok(()),
                Tok::Word(w) if !w.is_empty() => w,
                other => {
                    return Err(unexpected(&pos, &other, "an option or section name"));
                }
            };
            let (tok, tpos) = lx.next()?;
            match tok {
                Tok::Eq => {
                    let (v, vpos) = lx.next()?;
                    let val = match v {
                        Tok::Word(t) => Val {
                            text: t,
                            quoted: false,
                            pos: vpos,
                        },
                        Tok::Quoted(t) => Val {
                            text: t,
                            quoted: true,
                            pos: vpos,
                        },
                        Tok::LBrace => {
                            return Err(ConfError::at(
                                &vpos,
                                ConfErrorKind::Misuse {
                                    name,
                                    message: "takes a single value, not a list".into(),
                                },
                            ));
                        }
                        other => return Err(unexpected(&vpos, &other, "a value")),
                    };
                    out.push(Node {
                        name,
                        pos,
                        kind: NodeKind::Opt(val),
                    });
                }
                Tok::LBrace => {
                    let mut body = Vec::new();
                    self.body(lx, &mut body, Some((&name, &pos)), depth + 1)?;
                    out.push(Node {
                        name,
                        pos,
                        kind: NodeKind::Section { title: None, body },
                    });
                }
                tok @ (Tok::Word(_) | Tok::Quoted(_)) => {
                    let (text, quoted) = match tok {
                        Tok::Quoted(t) => (t, true),
                        Tok::Word(t) => (t, false),
                        _ => (String::new(), false),
                    };
                    let title = Val {
                        text,
                        quoted,
                        pos: tpos,
                    };
                    let (b, bpos) = lx.next()?;
                    if b != Tok::LBrace {
                        return Err(unexpected(
                            &bpos,
                            &b,
                            &format!("'{{' after '{name} {}'", shorten(&title.text)),
                        ));
                    }
                    let mut body = Vec::new();
                    self.body(lx, &mut body, Some((&name, &pos)), depth + 1)?;
                    out.push(Node {
                        name,
                        pos,
                        kind: NodeKind::Section {
                            title: Some(title),
                            body,
                        },
                    });
                }
                Tok::LParen => {
                    let args = func_args(lx)?;
                    if !name.eq_ignore_ascii_case("include") {
                        return Err(ConfError::at(
                            &pos,
                            ConfErrorKind::UnknownOption {
                                name,
                                section: "functions".into(),
                            },
                        ));
                    }
                    self.include(&args, &pos, out)?;
                }
                other => {
                    return Err(unexpected(
                        &tpos,
                        &other,
                        &format!("'=' or '{{' after '{}'", shorten(&name)),
                    ));
                }
            }
        }
    }

    fn include(&mut self, args: &[Val], pos: &Pos, out: &mut Vec<Node>) -> Result<(), ConfError> {
        let [arg] = args else {
            return Err(ConfError::at(
                pos,
                ConfErrorKind::Invalid {
                    option: "include".into(),
                    message: format!("expects exactly one path, got {} arguments", args.len()),
                },
            ));
        };
        for (path, text) in expand_include(self.fs, &arg.text, &arg.pos)? {
            let nodes = self.parse_file(&text, &path, Some(&arg.pos))?;
            out.extend(nodes);
        }
        Ok(())
    }
}

fn func_args(lx: &mut Lexer<'_>) -> Result<Vec<Val>, ConfError> {
    let mut args = Vec::new();
    loop {
        let (t, p) = lx.next()?;
        match t {
            Tok::RParen if args.is_empty() => return Ok(args),
            Tok::Word(s) => args.push(Val {
                text: s,
                quoted: false,
                pos: p,
            }),
            Tok::Quoted(s) => args.push(Val {
                text: s,
                quoted: true,
                pos: p,
            }),
            other => return Err(unexpected(&p, &other, "a function argument")),
        }
        let (t, p) = lx.next()?;
        match t {
            Tok::RParen => return Ok(args),
            Tok::Comma => {}
            other => return Err(unexpected(&p, &other, "',' or ')'")),
        }
    }
}

fn unexpected(pos: &Pos, tok: &Tok, expected: &str) -> ConfError {
    ConfError::at(
        pos,
        ConfErrorKind::Unexpected {
            found: tok.describe(),
            expected: expected.to_owned(),
        },
    )
}
