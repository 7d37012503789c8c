//! Configuration errors: every one carries the file, line and column it was found at.

use std::fmt;
use std::sync::Arc;

/// A position in a configuration file (1-based line and column, columns counted in characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pos {
    /// The file name as given to the parser (or as written in the `include`).
    pub file: Arc<str>,
    /// Line, starting at 1.
    pub line: u32,
    /// Column, starting at 1.
    pub col: u32,
}

impl Pos {
    /// A position in `file`.
    pub fn new(file: &Arc<str>, line: u32, col: u32) -> Pos {
        Pos {
            file: Arc::clone(file),
            line,
            col,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A configuration error, displayed as `file:line:col: message` (e.g.
/// `gmond.conf:12:5: option 'port' expects an integer, got "abc"`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfError {
    /// Where the problem is; `None` only for whole-configuration checks (`validate`).
    pub pos: Option<Pos>,
    /// What the problem is.
    pub kind: ConfErrorKind,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(p) => write!(f, "{p}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl ConfError {
    /// An error at `pos`.
    pub fn at(pos: &Pos, kind: ConfErrorKind) -> ConfError {
        ConfError {
            pos: Some(pos.clone()),
            kind,
        }
    }
}

/// The kinds of configuration error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfErrorKind {
    /// A `/*` comment is never closed.
    #[error("unterminated comment")]
    UnterminatedComment,
    /// A quoted string is never closed.
    #[error("unterminated string")]
    UnterminatedString,
    /// A token that does not fit the grammar here.
    #[error("unexpected {found}, expected {expected}")]
    Unexpected {
        /// What was found (already quoted/described).
        found: String,
        /// What the grammar wanted.
        expected: String,
    },
    /// End of file inside a section.
    #[error("missing '}}' closing section '{section}' opened at line {line}, column {col}")]
    MissingBrace {
        /// The unclosed section's name.
        section: String,
        /// Line of the section's name.
        line: u32,
        /// Column of the section's name.
        col: u32,
    },
    /// Sections nested deeper than the parser allows.
    #[error("sections nested too deeply")]
    TooDeep,
    /// An option this section does not have.
    #[error("unknown option '{name}' in {section}")]
    UnknownOption {
        /// The option as written.
        name: String,
        /// `section 'x'` or `top level`.
        section: String,
    },
    /// A section this section does not have.
    #[error("unknown section '{name}' in {section}")]
    UnknownSection {
        /// The section as written.
        name: String,
        /// `section 'x'` or `top level`.
        section: String,
    },
    /// A known name used in the wrong form (an option written as a section, or vice versa).
    #[error("'{name}' {message}")]
    Misuse {
        /// The name as written.
        name: String,
        /// What is wrong (e.g. "is a section: write `name { ... }`").
        message: String,
    },
    /// A value of the wrong type.
    #[error("option '{option}' expects {expected}, got \"{got}\"")]
    BadType {
        /// The option.
        option: String,
        /// "an integer", "a number", "a boolean (yes/no, true/false, on/off)", ...
        expected: &'static str,
        /// The value as written.
        got: String,
    },
    /// A well-typed but unacceptable value, or a conflict between options.
    #[error("option '{option}': {message}")]
    Invalid {
        /// The option.
        option: String,
        /// What is wrong.
        message: String,
    },
    /// A directive given without the argument(s) it needs.
    #[error("option '{option}' needs {needs}")]
    MissingArgument {
        /// The option.
        option: String,
        /// What it needs ("an argument", "a name and at least one address").
        needs: &'static str,
    },
    /// An include path that neither exists nor contains a wildcard.
    #[error("invalid include path \"{0}\"")]
    InvalidIncludePath(String),
    /// A file that (directly or indirectly) includes itself.
    #[error("include cycle: \"{0}\" is already being read")]
    IncludeCycle(String),
    /// Includes nested deeper than [`MAX_INCLUDE_DEPTH`](super::MAX_INCLUDE_DEPTH).
    #[error("includes nested too deeply at \"{0}\"")]
    IncludeDepth(String),
    /// A file that could not be read.
    #[error("cannot read \"{path}\": {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error text.
        message: String,
    },
    /// A whole-configuration check failed (see `GmetadConfig::validate`).
    #[error("{0}")]
    Validation(String),
}
