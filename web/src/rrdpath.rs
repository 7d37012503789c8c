//! RRD files for names that were found in gmetad's tree. Paths are built by gmetad's layout
//! rules (reference §3.6; '/' and NUL → '_', "." and ".." refused, like gmetad-rs), never by
//! joining raw request text, and every path is checked to stay under the RRD root.

use std::path::{Path, PathBuf};

/// Name of the summary directories.
pub const SUMMARY_DIR: &str = "__SummaryInfo__";

/// Whose files a graph reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole grid: `<rrds>/__SummaryInfo__` (DS sum and num).
    Meta,
    /// A cluster (or child grid): `<rrds>/<cluster>/__SummaryInfo__` (DS sum and num).
    Cluster(String),
    /// A host: `<rrds>/<cluster>/<host>` (DS sum).
    Host(String, String),
}

impl Scope {
    /// Whether the files are summaries (with a `num` DS).
    pub fn is_summary(&self) -> bool {
        !matches!(self, Scope::Host(..))
    }
}

/// A path component from a tree name, as gmetad's layout makes it.
pub fn component(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some(name.replace(['/', '\0'], "_"))
}

/// The directory of a scope's files, if it exists under `root`. Host directories are looked up
/// as named and lower-cased (gmetad's case_sensitive_hostnames off, Debian's default).
pub fn dir(root: &Path, scope: &Scope) -> Option<PathBuf> {
    let p = match scope {
        Scope::Meta => root.join(SUMMARY_DIR),
        Scope::Cluster(c) => root.join(component(c)?).join(SUMMARY_DIR),
        Scope::Host(c, h) => {
            let base = root.join(component(c)?);
            let exact = base.join(component(h)?);
            if exact.is_dir() {
                exact
            } else {
                base.join(component(&h.to_lowercase())?)
            }
        }
    };
    (p.is_dir() && p.starts_with(root)).then_some(p)
}

/// The file of `metric` in a scope, if it exists.
pub fn file(root: &Path, scope: &Scope, metric: &str) -> Option<PathBuf> {
    let p = dir(root, scope)?.join(format!("{}.rrd", component(metric)?));
    p.is_file().then_some(p)
}

/// The metric names that have files in a scope's directory (names as stored on disk).
pub fn metrics_on_disk(root: &Path, scope: &Scope) -> Vec<String> {
    let Some(d) = dir(root, scope) else {
        return Vec::new();
    };
    let mut v: Vec<String> = std::fs::read_dir(d)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            n.strip_suffix(".rrd").map(str::to_owned)
        })
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_layout_paths_that_exist() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("lab/web1")).unwrap();
        std::fs::create_dir_all(r.join("lab/__SummaryInfo__")).unwrap();
        std::fs::write(r.join("lab/web1/load_one.rrd"), b"x").unwrap();
        std::fs::write(r.join("lab/web1/a_b.rrd"), b"x").unwrap();
        std::fs::write(r.join("secret.rrd"), b"x").unwrap();
        let h = Scope::Host("lab".into(), "WEB1".into());
        assert_eq!(
            file(r, &h, "load_one"),
            Some(r.join("lab/web1/load_one.rrd"))
        );
        assert_eq!(file(r, &h, "a/b"), Some(r.join("lab/web1/a_b.rrd")));
        assert_eq!(file(r, &h, "../../secret"), None);
        assert_eq!(
            file(r, &Scope::Host("..".into(), "..".into()), "secret"),
            None
        );
        assert_eq!(dir(r, &Scope::Cluster("..".into())), None);
        assert_eq!(metrics_on_disk(r, &h), vec!["a_b", "load_one"]);
        assert!(dir(r, &Scope::Cluster("lab".into())).is_some());
        assert_eq!(dir(r, &Scope::Meta), None);
    }
}
