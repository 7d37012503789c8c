//! Every kept fuzz input (fuzz/corpus-regress/<target>/: the minimised corpus of earlier runs,
//! seeds from the captured Debian fixtures, and any crash reproducer) replayed through the very
//! functions the cargo-fuzz targets call (fuzz/src/lib.rs, included here), inside `cargo test`.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus-regress")
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn replay(target: &str) {
    let (_, check) = checks::TARGETS
        .iter()
        .find(|(n, _)| *n == target)
        .expect("known target");
    let files = corpus(target);
    assert!(
        files.len() >= 10,
        "{target}: only {} kept inputs",
        files.len()
    );
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} kept inputs fail: {failed:?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn every_target_has_a_kept_corpus() {
    let names: Vec<&str> = checks::TARGETS.iter().map(|(n, _)| *n).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            names.contains(&stem.as_str()),
            "fuzz target {stem} has no replayed check"
        );
    }
}

#[test]
fn xdr_decode_corpus() {
    replay("xdr_decode");
}

#[test]
fn xml_read_corpus() {
    replay("xml_read");
}

#[test]
fn gmond_conf_corpus() {
    replay("gmond_conf");
}

#[test]
fn gmetad_conf_corpus() {
    replay("gmetad_conf");
}
