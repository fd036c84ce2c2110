//! The committed fuzz corpus as regression tests: every file under
//! `fuzz/corpus/<target>/` goes through the same checks the fuzz target
//! runs (`fuzz/src/lib.rs`, included here), on the stable toolchain. This
//! is what CI runs; the fuzzer itself is run by hand (see
//! `docs/security.md`). A crash the fuzzer finds is minimised and added to
//! the corpus, so it stays fixed.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every corpus file of `target`; fails naming each file
/// that panics.
fn replay(target: &str, check: fn(&[u8])) {
    let files = corpus_files(target);
    assert!(
        files.len() >= 8,
        "the {target} corpus has only {} files",
        files.len()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let data = std::fs::read(file).unwrap();
            catch_unwind(AssertUnwindSafe(|| check(&data)))
                .err()
                .map(|panic| {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    format!("{}: {message}", file.display())
                })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{target} corpus failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn policy_parser_corpus() {
    replay("policy_parser", checks::policy_parser);
}

#[test]
fn evaluate_corpus() {
    replay("evaluate", checks::evaluate);
}

#[test]
fn hash_import_corpus() {
    replay("hash_import", checks::hash_import);
}

#[test]
fn corpus_stays_small() {
    // Minimised inputs only: a few dozen small files per target.
    for target in ["policy_parser", "evaluate", "hash_import"] {
        let files = corpus_files(target);
        assert!(
            files.len() <= 80,
            "{target}: {} files; minimise with `cargo fuzz cmin`",
            files.len()
        );
        for f in &files {
            let len = std::fs::metadata(f).unwrap().len();
            assert!(len <= 16 * 1024, "{}: {len} bytes", f.display());
        }
    }
}
