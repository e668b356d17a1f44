//! The HTTP `If-Match` header as specstar reads it: the revisions a client expects the
//! resource to be at (entity tags are revision numbers, e.g. `"3"`), or `*` for "any".

/// A parsed `If-Match` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the resource must exist, at any revision.
    Any,
    /// One of these revisions.
    Revisions(Vec<i64>),
}

/// Parse `If-Match`: `*`, or a comma-separated list of entity tags, each `"n"`, `W/"n"` or
/// a bare `n`. Returns the offending value when it is anything else.
pub fn parse(value: &str) -> Result<IfMatch, String> {
    let value = value.trim();
    if value == "*" {
        return Ok(IfMatch::Any);
    }
    let mut revisions = Vec::new();
    for tag in value.split(',') {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        let tag = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag);
        match tag.parse::<i64>() {
            Ok(n) if n >= 1 => revisions.push(n),
            _ => return Err(value.to_string()),
        }
    }
    Ok(IfMatch::Revisions(revisions))
}

impl IfMatch {
    /// Does a resource at `revision` (None: it does not exist) satisfy the header?
    pub fn accepts(&self, revision: Option<i64>) -> bool {
        match (self, revision) {
            (_, None) => false,
            (IfMatch::Any, Some(_)) => true,
            (IfMatch::Revisions(list), Some(r)) => list.contains(&r),
        }
    }

    /// The revision to name in a conflict message.
    pub fn expected(&self) -> Option<i64> {
        match self {
            IfMatch::Any => None,
            IfMatch::Revisions(list) => list.first().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("\"3\""), Ok(IfMatch::Revisions(vec![3])));
        assert_eq!(parse(" W/\"3\" "), Ok(IfMatch::Revisions(vec![3])));
        assert_eq!(parse("3"), Ok(IfMatch::Revisions(vec![3])));
        assert_eq!(parse("\"1\", \"2\""), Ok(IfMatch::Revisions(vec![1, 2])));
        assert_eq!(parse("*"), Ok(IfMatch::Any));
    }

    #[test]
    fn refused() {
        for bad in ["", "\"abc\"", "\"0\"", "-1", "\"3", "3,", "\"1\" \"2\""] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn matching() {
        let two = parse("\"2\"").unwrap();
        assert!(two.accepts(Some(2)));
        assert!(!two.accepts(Some(3)));
        assert!(!two.accepts(None));
        assert!(IfMatch::Any.accepts(Some(9)));
        assert!(!IfMatch::Any.accepts(None));
        assert_eq!(two.expected(), Some(2));
    }
}
