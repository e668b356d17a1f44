//! The options of `register_spec`: a serde struct (unknown keys are an error) whose JSON
//! Schema, generated with schemars, is served by `specstar.options_schema()`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SpecError;
use crate::names;

/// Options of a registered spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "specstar spec options")]
pub struct SpecOptions {
    /// Label of this version of the spec. A changed schema needs a new version.
    #[serde(default = "default_version")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"))]
    pub version: String,
    /// Schema that receives the API objects (views and RPC functions). Defaults to the
    /// GUC `specstar.api_schema`, else `api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_schema: Option<String>,
    /// Function `(jsonb) RETURNS jsonb` that rewrites documents of the previous version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate: Option<String>,
    /// Roles granted read or write access to the spec's API objects. Defaults to the GUCs
    /// `specstar.read_roles` and `specstar.write_roles` (comma-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Roles>,
    /// Full-text search settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchOptions>,
}

fn default_version() -> String {
    "1".to_string()
}

/// Roles granted access to a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Roles that may read resources, history and as-of views.
    #[serde(default)]
    pub read: Vec<String>,
    /// Roles that may create, update, delete, roll back, restore and patch (implies read).
    #[serde(default)]
    pub write: Vec<String>,
}

/// Full-text search settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchOptions {
    /// Analyzer of the search index.
    #[serde(default)]
    pub language: Language,
}

/// Analyzers available to the search index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Lower-cased words, no stemming.
    Simple,
    /// Lower-cased words with English stemming.
    #[default]
    English,
}

/// The JSON Schema of [`SpecOptions`].
pub fn options_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(SpecOptions)).expect("options schema serializes")
}

fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("/options");
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { variant } => out.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    out
}

impl SpecOptions {
    /// Parse and check options; errors carry a JSON pointer under `/options`.
    pub fn parse(value: &Value) -> Result<SpecOptions, Vec<SpecError>> {
        let value = match value {
            Value::Null => Value::Object(Default::default()),
            Value::Object(_) => value.clone(),
            other => {
                return Err(vec![SpecError::new(
                    "/options",
                    format!("/options: must be a JSON object, not {}", crate::json::quote(other)),
                    "Pass options such as '{\"version\": \"1\"}' (see SELECT specstar.options_schema()).",
                )])
            }
        };
        let options: SpecOptions = serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.inner().to_string();
            // serde_json appends " at line 1 column 0" for values it did not read from text.
            let inner = inner.split(" at line ").next().unwrap_or(&inner).to_string();
            let path = pointer(e.path());
            vec![SpecError::new(
                path.clone(),
                format!("{path}: {inner}"),
                "See SELECT specstar.options_schema() for the accepted options.",
            )]
        })?;
        let mut errors = Vec::new();
        let version_ok = {
            let mut c = options.version.chars();
            matches!(c.next(), Some(ch) if ch.is_ascii_alphanumeric())
                && c.all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
                && options.version.len() <= 40
        };
        if !version_ok {
            errors.push(SpecError::new(
                "/options/version",
                format!("/options/version: \"{}\" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,39}}$", options.version),
                "Use a short label such as \"1\", \"2\" or \"2024-06\".",
            ));
        }
        if let Some(schema) = &options.api_schema {
            if let Err(e) = names::check_schema_name(schema) {
                errors.push(SpecError::new("/options/api_schema", format!("/options/api_schema: {}", e.message), e.hint));
            }
        }
        if let Some(roles) = &options.roles {
            for (kind, list) in [("read", &roles.read), ("write", &roles.write)] {
                for (i, role) in list.iter().enumerate() {
                    if role.is_empty() || role.len() > 63 {
                        errors.push(SpecError::new(
                            format!("/options/roles/{kind}/{i}"),
                            format!("/options/roles/{kind}/{i}: role name \"{role}\" is empty or longer than 63 bytes"),
                            "Give the names of existing roles.",
                        ));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(options)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults() {
        let o = SpecOptions::parse(&json!({})).unwrap();
        assert_eq!(o.version, "1");
        assert!(o.api_schema.is_none() && o.roles.is_none() && o.search.is_none());
        assert_eq!(SpecOptions::parse(&Value::Null).unwrap(), o);
    }

    #[test]
    fn full() {
        let o = SpecOptions::parse(&json!({
            "version": "2", "api_schema": "tenant", "migrate": "public.up",
            "roles": {"read": ["anon"], "write": ["editor"]}, "search": {"language": "simple"}
        }))
        .unwrap();
        assert_eq!(o.roles.unwrap().write, vec!["editor"]);
        assert_eq!(o.search.unwrap().language, Language::Simple);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let e = SpecOptions::parse(&json!({"colour": 1})).unwrap_err();
        assert_eq!(e[0].path, "/options/colour");
        assert!(e[0].message.contains("unknown field `colour`"), "{}", e[0].message);
        let e = SpecOptions::parse(&json!({"roles": {"read": ["a"], "admin": []}})).unwrap_err();
        assert_eq!(e[0].path, "/options/roles/admin");
        assert!(e[0].message.contains("admin"));
        let e = SpecOptions::parse(&json!({"search": {"language": "klingon"}})).unwrap_err();
        assert_eq!(e[0].path, "/options/search/language");
    }

    #[test]
    fn wrong_types_and_values() {
        let e = SpecOptions::parse(&json!({"version": 2})).unwrap_err();
        assert_eq!(e[0].path, "/options/version");
        let e = SpecOptions::parse(&json!({"version": "a b"})).unwrap_err();
        assert_eq!(e[0].path, "/options/version");
        let e = SpecOptions::parse(&json!({"api_schema": "specstar_data"})).unwrap_err();
        assert_eq!(e[0].path, "/options/api_schema");
        let e = SpecOptions::parse(&json!([1])).unwrap_err();
        assert_eq!(e[0].path, "/options");
    }

    #[test]
    fn schema_lists_every_option_and_forbids_others() {
        let s = options_schema();
        let props = s["properties"].as_object().unwrap();
        for key in ["version", "api_schema", "migrate", "roles", "search"] {
            assert!(props.contains_key(key), "{key}");
        }
        assert_eq!(s["additionalProperties"], json!(false));
    }
}
