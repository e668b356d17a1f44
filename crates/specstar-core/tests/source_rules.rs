//! Rules about rights that hold for the whole source, not one example (docs/security.md):
//! Rust code switches users only through `src/owner.rs`, which pins `search_path`; every
//! security-definer function, hand-written or generated, pins search_path in its own header.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, exts, out);
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e)) {
            out.push(path);
        }
    }
}

#[test]
fn only_owner_rs_switches_users() {
    let mut paths = vec![];
    files(&root().join("src"), &["rs"], &mut paths);
    assert!(paths.len() > 10);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let switches = text.matches("SetUserIdAndSecContext(").count();
        if path.ends_with("src/owner.rs") {
            assert!(switches >= 2, "owner.rs switches and restores");
            assert!(text.contains("set_config_option(") && text.contains("AtEOXact_GUC("), "owner.rs pins search_path");
        } else {
            assert_eq!(switches, 0, "{} switches users itself: use owner::as_owner", path.display());
        }
    }
}

/// The keyword looked for (every function that has it must pin search_path).
const DEFINER: &str = "SECURITY DEFINER";

#[test]
fn every_security_definer_function_pins_its_search_path() {
    let mut paths = vec![];
    for dir in ["sql", "crates/specstar-core/src/ddl/templates"] {
        files(&root().join(dir), &["sql"], &mut paths);
    }
    let mut seen = 0;
    for path in paths {
        let raw = std::fs::read_to_string(&path).unwrap();
        // comments out (a comment may mention the keyword); the rest is code
        let text: String = raw.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        for (at, _) in text.match_indices(DEFINER) {
            // the function's header: from its CREATE FUNCTION to the body's opening quote
            let start = text[..at].rfind("CREATE FUNCTION").expect("the keyword outside a CREATE FUNCTION");
            let end = at + text[at..].find(" AS $").expect("a body follows");
            let header = &text[start..end];
            seen += 1;
            assert!(
                header.contains("SET search_path = pg_catalog, pg_temp"),
                "{}: SECURITY DEFINER without a pinned search_path:\n{header}",
                path.display()
            );
        }
    }
    assert!(seen >= 5, "found only {seen} security-definer functions");
}
