//! Every SQLSTATE specstar raises is in its catalogue (`errors::CATALOGUE`) and in the table
//! of docs/errors.md, and every catalogued code is raised somewhere: a new error path cannot
//! go undocumented.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use specstar_core::errors::CATALOGUE;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("rs" | "sql")) {
            out.push(path);
        }
    }
}

/// pgrx's names of the standard codes specstar raises from Rust.
fn standard(name: &str) -> &'static str {
    match name {
        "INVALID_PARAMETER_VALUE" => "22023",
        "INSUFFICIENT_PRIVILEGE" => "42501",
        "UNDEFINED_OBJECT" => "42704",
        "ACTIVE_SQL_TRANSACTION" => "25001",
        "READ_ONLY_SQL_TRANSACTION" => "25006",
        "FEATURE_NOT_SUPPORTED" => "0A000",
        other => panic!("add ERRCODE_{other} to this test's table (and to docs/errors.md)"),
    }
}

fn raised() -> BTreeSet<(String, String)> {
    let root = root();
    let mut paths = vec![];
    for dir in ["src", "sql", "crates/specstar-core/src", "crates/specstar-search/src"] {
        files(&root.join(dir), &mut paths);
    }
    let sql = Regex::new(r"(?:ERRCODE\s*=\s*|SQLSTATE\s+|'code',\s*)'([0-9A-Z]{5})'").unwrap();
    let rust = Regex::new(r#"sqlstate: "([0-9A-Z]{5})""#).unwrap();
    let pgrx = Regex::new(r"PgSqlErrorCode::ERRCODE_([A-Z_]+)").unwrap();
    let mut out = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        // the catalogue itself and this kind of test code do not raise
        let text = text.split("#[cfg(test)]").next().unwrap();
        for c in sql.captures_iter(text).chain(rust.captures_iter(text)) {
            out.insert((c[1].to_string(), name.clone()));
        }
        for c in pgrx.captures_iter(text) {
            out.insert((standard(&c[1]).to_string(), name.clone()));
        }
    }
    out
}

#[test]
fn every_raised_sqlstate_is_catalogued_and_documented() {
    let docs = std::fs::read_to_string(root().join("docs/errors.md")).unwrap();
    let catalogued: BTreeSet<&str> = CATALOGUE.iter().map(|(c, _)| *c).collect();
    let raised = raised();
    assert!(raised.len() > 20, "the scan found too little: {raised:?}");
    for (code, file) in &raised {
        assert!(catalogued.contains(code.as_str()), "{file} raises {code}, which errors::CATALOGUE lacks");
        assert!(docs.contains(&format!("| `{code}` |")), "{file} raises {code}, which docs/errors.md does not list");
    }
    for code in catalogued {
        assert!(raised.iter().any(|(c, _)| c == code), "errors::CATALOGUE lists {code}, which nothing raises");
    }
}
