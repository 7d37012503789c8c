//! Configuration file parsers: gmond.conf (libconfuse syntax) and gmetad.conf (dotconf syntax).
//!
//! Both parsers are pure: every file access goes through a [`FileSource`], so they can be
//! driven from memory ([`MemFs`]) in tests and fuzzers, and from the real file system
//! ([`StdFs`]) in the daemons. No input makes them panic; every error is a [`ConfError`]
//! carrying `file:line:column`.
//!
//! - [`gmond`]: [`gmond::GmondConfig`], [`gmond::parse_gmond_str`], [`gmond::parse_gmond_file`],
//!   and the ACL type [`gmond::Acl`].
//! - [`gmetad`]: [`gmetad::GmetadConfig`], [`gmetad::parse_gmetad_str`],
//!   [`gmetad::parse_gmetad_file`].
//!
//! ```
//! use ganglia_proto::conf::{gmetad, gmond, MemFs};
//! let fs = MemFs::new().with("/etc/ganglia/conf.d/a.conf", "cluster { name = \"lab\" }");
//! let c = gmond::parse_gmond_str(
//!     "udp_recv_channel { port = 8649 }\ninclude ('/etc/ganglia/conf.d/*.conf')",
//!     "gmond.conf",
//!     &fs,
//! )?;
//! assert_eq!(c.cluster.name, "lab");
//! assert_eq!(c.udp_recv_channels[0].port, Some(8649));
//!
//! let g = gmetad::parse_gmetad_str("data_source \"lab\" 20 [::1]:8649 node2", "gmetad.conf", &fs)?;
//! g.validate()?;
//! assert_eq!(g.data_sources[0].step, 20);
//! assert_eq!(g.data_sources[0].addresses[1].to_string(), "node2:8649");
//! let err = gmond::parse_gmond_str("globals {\n  port = 1\n}", "gmond.conf", &fs).unwrap_err();
//! assert_eq!(err.to_string(), "gmond.conf:2:3: unknown option 'port' in section 'globals'");
//! # Ok::<(), ganglia_proto::conf::ConfError>(())
//! ```
//!
//! ## Includes
//! Both formats resolve `include` paths the same way Ganglia's gmond does: a path that exists
//! is read; a path containing a wildcard (`*`, `?`, `[..]`) includes every matching file in
//! sorted order (none is fine); anything else is the error "invalid include path". Relative
//! paths are passed to the [`FileSource`] as written (the real daemons resolve them against
//! the current directory, as Ganglia does). A file that includes itself, directly or not, is an
//! error, and includes nest at most [`MAX_INCLUDE_DEPTH`] deep.

mod acl;
mod confuse;
mod dotconf;
mod error;
pub mod gmetad;
pub mod gmond;
mod values;

pub use error::{ConfError, ConfErrorKind, Pos};

use std::collections::BTreeMap;
use std::io;

/// How deep includes may nest (the top file is depth 0).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// File access for the parsers, so they stay pure and testable.
pub trait FileSource {
    /// The whole text of `path`. A missing file must give [`io::ErrorKind::NotFound`].
    fn read(&self, path: &str) -> io::Result<String>;
    /// The regular files matching the shell pattern `pattern` (`*`, `?`, `[..]` in the last
    /// component; `*` does not match `/` nor a leading `.`). Order does not matter: the
    /// parsers sort. No match is `Ok(vec![])`.
    fn glob(&self, pattern: &str) -> io::Result<Vec<String>>;
    /// A canonical name for `path`, used only to detect include cycles. The default is the
    /// path itself.
    fn canonical(&self, path: &str) -> String {
        path.to_owned()
    }
}

/// `true` if an include path has shell wildcards.
pub(crate) fn has_wildcard(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

fn glob_options() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    }
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFs;

impl FileSource for StdFs {
    fn read(&self, path: &str) -> io::Result<String> {
        let bytes = std::fs::read(path)?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn glob(&self, pattern: &str) -> io::Result<Vec<String>> {
        let paths = glob::glob_with(pattern, glob_options())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut out = Vec::new();
        for p in paths.flatten() {
            if p.is_file() {
                out.push(p.to_string_lossy().into_owned());
            }
        }
        Ok(out)
    }

    fn canonical(&self, path: &str) -> String {
        std::fs::canonicalize(path)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.to_owned())
    }
}

/// An in-memory file system: a map from path to contents. For tests, fuzzing and embedders
/// that build configuration in code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemFs {
    files: BTreeMap<String, String>,
}

impl MemFs {
    /// An empty file system.
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// Add (or replace) a file; returns `self` for chaining.
    pub fn with(mut self, path: &str, text: &str) -> MemFs {
        self.insert(path, text);
        self
    }

    /// Add (or replace) a file.
    pub fn insert(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_owned(), text.to_owned());
    }
}

impl FileSource for MemFs {
    fn read(&self, path: &str) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn glob(&self, pattern: &str) -> io::Result<Vec<String>> {
        let pat = glob::Pattern::new(pattern)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let opts = glob_options();
        Ok(self
            .files
            .keys()
            .filter(|k| pat.matches_with(k, opts))
            .cloned()
            .collect())
    }
}

/// Expand one include argument into the files to read, in order (shared by both formats).
///
/// `Ok(vec![path])` if `path` exists; the sorted matches if it has wildcards; else the
/// "invalid include path" error (positioned at `pos`).
pub(crate) fn expand_include(
    fs: &dyn FileSource,
    path: &str,
    pos: &Pos,
) -> Result<Vec<(String, String)>, ConfError> {
    match fs.read(path) {
        Ok(text) => return Ok(vec![(path.to_owned(), text)]),
        Err(e) if e.kind() != io::ErrorKind::NotFound || !has_wildcard(path) => {
            if e.kind() == io::ErrorKind::NotFound {
                return Err(ConfError::at(
                    pos,
                    ConfErrorKind::InvalidIncludePath(path.to_owned()),
                ));
            }
            return Err(ConfError::at(
                pos,
                ConfErrorKind::Io {
                    path: path.to_owned(),
                    message: e.to_string(),
                },
            ));
        }
        Err(_) => {}
    }
    let mut matches = fs.glob(path).map_err(|e| {
        ConfError::at(
            pos,
            ConfErrorKind::Io {
                path: path.to_owned(),
                message: e.to_string(),
            },
        )
    })?;
    matches.sort();
    matches.dedup();
    let mut out = Vec::with_capacity(matches.len());
    for m in matches {
        let text = fs.read(&m).map_err(|e| {
            ConfError::at(
                pos,
                ConfErrorKind::Io {
                    path: m.clone(),
                    message: e.to_string(),
                },
            )
        })?;
        out.push((m, text));
    }
    Ok(out)
}

/// Include bookkeeping shared by both parsers: the stack of files being read.
#[derive(Debug, Default)]
pub(crate) struct IncludeStack {
    stack: Vec<String>,
}

impl IncludeStack {
    /// Enter `path` (canonicalised by `fs`); fails on a cycle or too much depth.
    pub(crate) fn enter(
        &mut self,
        fs: &dyn FileSource,
        path: &str,
        pos: Option<&Pos>,
    ) -> Result<(), ConfError> {
        let canon = fs.canonical(path);
        let err = |kind| ConfError {
            pos: pos.cloned(),
            kind,
        };
        if self.stack.contains(&canon) {
            return Err(err(ConfErrorKind::IncludeCycle(path.to_owned())));
        }
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(err(ConfErrorKind::IncludeDepth(path.to_owned())));
        }
        self.stack.push(canon);
        Ok(())
    }

    /// Leave the innermost file.
    pub(crate) fn leave(&mut self) {
        self.stack.pop();
    }
}

/// A short, printable description of a value for error messages (at most 64 characters).
pub(crate) fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if s.chars().nth(64).is_some() {
        out.push_str("...");
    }
    out
}
