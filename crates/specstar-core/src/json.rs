//! Limits on the JSON specstar accepts (documents, patches, schemas, options) and how values
//! are quoted in messages.
//!
//! Every walk over user JSON in specstar — serde, jsonschema, json-patch, the document
//! builders — recurses once per level of nesting, and Rust's recursion is invisible to
//! PostgreSQL's `check_stack_depth`. So nesting is checked first, by the iterative walk
//! below, and anything deeper than [`MAX_DEPTH`] is refused before any recursive code sees
//! it (PostgreSQL's own jsonb functions check their stack themselves).

use serde_json::Value;

use crate::error::pointer_segment;

/// The deepest nesting of arrays and objects specstar accepts: `{"a": 1}` has depth 1,
/// `{"a": [1]}` depth 2. Well below serde_json's own limit of 128.
pub const MAX_DEPTH: usize = 100;

/// JSON text longer than this is cut in messages.
pub const QUOTE_CHARS: usize = 80;

/// Where a value first goes deeper than the limit: the JSON pointer of the container that
/// would be level `MAX_DEPTH + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    pub path: String,
    pub limit: usize,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() { "/".to_string() } else { shorten(&self.path, QUOTE_CHARS) };
        write!(f, "nested deeper than {} levels at {at}", self.limit)
    }
}

enum Frame<'a> {
    Object(serde_json::map::Iter<'a>),
    Array(std::iter::Enumerate<std::slice::Iter<'a, Value>>),
}

/// Checks the nesting of `value` without recursion.
pub fn check_depth(value: &Value, limit: usize) -> Result<(), TooDeep> {
    fn frame(v: &Value) -> Option<Frame<'_>> {
        match v {
            Value::Object(o) => Some(Frame::Object(o.iter())),
            Value::Array(a) => Some(Frame::Array(a.iter().enumerate())),
            _ => None,
        }
    }
    let too_deep = |keys: &[String]| TooDeep { path: keys.iter().map(|k| format!("/{k}")).collect(), limit };
    let Some(root) = frame(value) else { return Ok(()) };
    if limit == 0 {
        return Err(too_deep(&[]));
    }
    // frames[i] walks the container at depth i + 1; keys[i] is the key of frames[i + 1]
    let mut frames = vec![root];
    let mut keys: Vec<String> = Vec::new();
    while let Some(top) = frames.last_mut() {
        let next = match top {
            Frame::Object(it) => it.next().map(|(k, v)| (pointer_segment(k), v)),
            Frame::Array(it) => it.next().map(|(i, v)| (i.to_string(), v)),
        };
        let Some((key, child)) = next else {
            frames.pop();
            keys.pop();
            continue;
        };
        let Some(child) = frame(child) else { continue };
        keys.truncate(frames.len() - 1);
        keys.push(key);
        if frames.len() >= limit {
            return Err(too_deep(&keys));
        }
        frames.push(child);
    }
    Ok(())
}

/// The nesting of `value` (a scalar 0, `[1]` 1, `{"a": [1]}` 2), without recursion.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|c| (c, d + 1))),
            _ => {}
        }
        if v.is_array() || v.is_object() {
            deepest = deepest.max(d + 1);
        }
    }
    deepest
}

/// Roughly the size of `value`'s JSON text, without recursion.
pub fn approx_size(value: &Value) -> usize {
    let mut size = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        size += match v {
            Value::String(s) => s.len() + 2,
            Value::Number(n) => n.to_string().len(),
            Value::Array(a) => {
                stack.extend(a.iter());
                2 + a.len()
            }
            Value::Object(o) => {
                stack.extend(o.values());
                2 + o.keys().map(|k| k.len() + 4).sum::<usize>()
            }
            _ => 4,
        };
    }
    size
}

/// `text` cut to about `max` characters, with an ellipsis and the full length.
pub fn shorten(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({n} characters)")
}

/// A JSON value as messages quote it: its JSON text, cut to [`QUOTE_CHARS`].
pub fn quote(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() > QUOTE_CHARS => {
            let head: String = s.chars().take(QUOTE_CHARS).collect();
            format!("{}… ({} characters)", Value::String(head), s.chars().count())
        }
        Value::Array(_) | Value::Object(_) => shorten(&value.to_string(), QUOTE_CHARS),
        other => shorten(&other.to_string(), QUOTE_CHARS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `[[[...]]]` with `n` levels, built and dropped without deep recursion in the test.
    fn nested(n: usize) -> Value {
        let mut v = json!(1);
        for i in 0..n {
            v = if i % 2 == 0 { Value::Array(vec![v]) } else { json!({ "k": v }) };
        }
        v
    }

    #[test]
    fn depth_is_counted_per_container() {
        assert!(check_depth(&json!(1), 0).is_ok());
        assert!(check_depth(&json!({"a": 1}), 1).is_ok());
        assert!(check_depth(&json!({"a": [1]}), 1).is_err());
        assert!(check_depth(&json!({"a": [1], "b": {"c": {}}}), 3).is_ok());
        assert_eq!(check_depth(&json!({"a": [1], "b": {"c": {}}}), 2), Err(TooDeep { path: "/b/c".into(), limit: 2 }));
        assert!(check_depth(&nested(MAX_DEPTH), MAX_DEPTH).is_ok());
        let e = check_depth(&nested(MAX_DEPTH + 1), MAX_DEPTH).unwrap_err();
        assert_eq!(e.path.matches('/').count(), MAX_DEPTH);
        assert!(e.to_string().starts_with("nested deeper than 100 levels at /"), "{e}");
    }

    #[test]
    fn the_path_names_the_offending_branch() {
        let v = json!({"ok": [[1]], "x~/y": [{"z": [[]]}]});
        assert_eq!(check_depth(&v, 3).unwrap_err().path, "/x~0~1y/0/z");
        assert_eq!(check_depth(&v, 4).unwrap_err().path, "/x~0~1y/0/z/0");
        assert_eq!(check_depth(&v, 5), Ok(()));
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([1])), 1);
        assert_eq!(depth(&json!({"a": [1], "b": {"c": {}}})), 3);
        assert_eq!(depth(&nested(150)), 150);
    }

    #[test]
    fn quoted_values_are_short() {
        assert_eq!(quote(&json!("abc")), "\"abc\"");
        let long = quote(&json!("x".repeat(50_000)));
        assert!(long.len() < 120 && long.ends_with("(50000 characters)"), "{long}");
        assert!(quote(&json!({"k": "y".repeat(500)})).len() < 120);
    }
}
