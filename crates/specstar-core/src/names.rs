//! Naming rules for specs and properties; the rules keep names portable between SQL,
//! PostgREST URLs and GraphQL. (Quoting is `ddl::sql`'s job.)

/// Column names every spec table already has; a property may not use them.
pub const RESERVED_COLUMNS: &[&str] = &[
    "id",
    "revision",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
];

/// Names the generated API uses beside a spec's properties, with where: a property of the
/// same name would collide with them.
pub const RESERVED_NAMES: &[(&str, &str)] = &[
    ("base_revision", "<spec>_draft has a column base_revision"),
    ("score", "<spec>_search returns a column score"),
    ("highlights", "<spec>_search returns a column highlights"),
];

/// PostgreSQL system columns: a table cannot have a column with these names.
const SYSTEM_COLUMNS: &[&str] = &["oid", "tableoid", "xmin", "xmax", "cmin", "cmax", "ctid"];

/// Suffixes of the relations a spec creates beside its own name.
pub const DERIVED_SUFFIXES: &[&str] = &["_revision", "_draft", "__gone"];

/// Longest spec name: leaves room for suffixes inside PostgreSQL's 63-byte identifiers.
pub const MAX_SPEC_NAME: usize = 40;

/// Schemas a spec may not use as its API schema.
const FORBIDDEN_SCHEMAS: &[&str] = &["specstar", "specstar_data", "pg_catalog", "information_schema", "pg_toast"];

/// A broken naming rule: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    pub message: String,
    pub hint: String,
}

fn err(message: String, hint: &str) -> NameError {
    NameError { message, hint: hint.to_string() }
}

/// `^[a-z][a-z0-9_]{0,39}$`
pub fn check_spec_name(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some('a'..='z'));
    let rest_ok = chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'));
    if !first_ok || !rest_ok || name.len() > MAX_SPEC_NAME {
        return Err(err(
            format!("spec name \"{name}\" does not match ^[a-z][a-z0-9_]{{0,39}}$"),
            "Use a lower-case letter followed by up to 39 lower-case letters, digits or underscores, e.g. 'article'.",
        ));
    }
    Ok(())
}

/// Property names become column names: `^[A-Za-z][A-Za-z0-9_]*$`, at most 63 bytes,
/// not reserved, not a PostgreSQL system column, not starting with `_`.
pub fn check_property_name(name: &str) -> Result<(), NameError> {
    if name.starts_with('_') {
        return Err(err(
            format!("property \"{name}\" starts with '_', which is reserved for specstar"),
            "Rename the property so that it does not start with an underscore.",
        ));
    }
    if RESERVED_COLUMNS.contains(&name) {
        return Err(err(
            format!("property \"{name}\" is reserved: every spec already has {}", RESERVED_COLUMNS.join(", ")),
            "Remove the property (specstar maintains it) or rename it.",
        ));
    }
    if let Some((_, why)) = RESERVED_NAMES.iter().find(|(n, _)| *n == name) {
        return Err(err(format!("property \"{name}\" is reserved: {why}"), "Rename the property."));
    }
    if SYSTEM_COLUMNS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(err(
            format!("property \"{name}\" is a PostgreSQL system column name"),
            "Rename the property.",
        ));
    }
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some('a'..='z' | 'A'..='Z'));
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || !rest_ok || name.len() > 63 {
        return Err(err(
            format!("property name \"{name}\" does not match ^[A-Za-z][A-Za-z0-9_]*$ (at most 63 characters)"),
            "Property names become column names: use letters, digits and underscores, starting with a letter.",
        ));
    }
    Ok(())
}

/// API schema names: a plain lower-case identifier that is not one of specstar's own schemas.
pub fn check_schema_name(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some('a'..='z' | '_'));
    let rest_ok = chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'));
    if !first_ok || !rest_ok || name.len() > 63 {
        return Err(err(
            format!("api_schema \"{name}\" does not match ^[a-z_][a-z0-9_]*$"),
            "Use a lower-case schema name such as 'api'.",
        ));
    }
    if FORBIDDEN_SCHEMAS.contains(&name) || name.starts_with("pg_") {
        return Err(err(
            format!("api_schema \"{name}\" is reserved"),
            "Choose a schema that holds only what PostgREST should serve, such as 'api'.",
        ));
    }
    Ok(())
}

/// The relation names a spec occupies: its own name and the derived ones.
pub fn relation_names(spec: &str) -> Vec<String> {
    std::iter::once(spec.to_string())
        .chain(DERIVED_SUFFIXES.iter().map(|s| format!("{spec}{s}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names() {
        assert!(check_spec_name("article").is_ok());
        assert!(check_spec_name("a1_b").is_ok());
        assert!(check_spec_name(&"a".repeat(40)).is_ok());
        assert!(check_spec_name(&"a".repeat(41)).is_err());
        for bad in ["", "Article", "1abc", "_x", "a-b", "a b", "é"] {
            assert!(check_spec_name(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn property_names() {
        for ok in ["title", "firstName", "a1", "x_y"] {
            assert!(check_property_name(ok).is_ok(), "{ok}");
        }
        for bad in ["id", "revision", "created_at", "updated_by", "_secret", "xmin", "CTID", "1a", "a-b", "a b", "", "base_revision", "score", "highlights"] {
            assert!(check_property_name(bad).is_err(), "{bad} should be refused");
        }
        let e = check_property_name("revision").unwrap_err();
        assert!(e.message.contains("reserved"));
    }

    #[test]
    fn schema_names() {
        assert!(check_schema_name("api").is_ok());
        assert!(check_schema_name("tenant_1").is_ok());
        for bad in ["specstar", "specstar_data", "pg_catalog", "pg_x", "Api", "a-b", ""] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relations() {
        assert_eq!(relation_names("a"), vec!["a", "a_revision", "a_draft", "a__gone"]);
    }
}
