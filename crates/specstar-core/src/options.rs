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
    /// Row-level access rules, enforced by PostgreSQL row-level security (docs/permissions.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// The change feed (docs/events.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Events>,
    /// Functions run inside every writing transaction, before and after each write (docs/events.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// Makes the spec a durable job queue (docs/jobs.md); `{}` gives the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<crate::jobs::JobOptions>,
}

/// Hooks: schema-qualified functions, called in the order listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// `fn(event jsonb) RETURNS jsonb`: before each write; returns the document to write (NULL:
    /// keep it), or raises to refuse the write. Validation runs after them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before_write: Vec<String>,
    /// `fn(event jsonb) RETURNS void`: after each write, in the same transaction; raising undoes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_write: Vec<String>,
}

/// A hook's function name split into its schema and name (plain identifiers only, so that
/// they can be written into generated SQL quoted), or why not.
pub fn hook_name(text: &str) -> Result<(String, String), String> {
    let plain = |s: &str| {
        let mut c = s.chars();
        matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
            && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            && s.len() <= 63
    };
    match text.split_once('.') {
        Some((schema, name)) if plain(schema) && plain(name) => Ok((schema.to_string(), name.to_string())),
        _ => Err(format!("\"{text}\" is not a schema-qualified function name (schema.function, plain identifiers)")),
    }
}

/// What a spec's writes tell the outside world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Events {
    /// Every revision becomes an event of the change feed, in commit order (default false:
    /// the feed serializes the commits of writing transactions, see docs/events.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<bool>,
    /// NOTIFY on channel `specstar_<spec>` at commit, a small payload per event (no document
    /// data), one `bulk` payload past 100 events of the spec in a transaction (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}

impl SpecOptions {
    /// Whether the spec's revisions go to the change feed (`events.feed`, off by default).
    pub fn feed(&self) -> bool {
        self.events.as_ref().and_then(|e| e.feed).unwrap_or(false)
    }

    /// Whether the spec's events are also NOTIFYed (`events.notify`, off by default).
    pub fn notify(&self) -> bool {
        self.events.as_ref().and_then(|e| e.notify).unwrap_or(false)
    }
}

/// Who may read, create, write and delete which resources. A list admits a row if any of
/// its rules does: `all`, `authenticated`, `owner`, `role:<db role>`, `sql:<boolean SQL
/// expression over the row>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// The owner column: `created_by` (the default) or a string property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Rules for reading resources, their history, drafts and search hits (default `["all"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Vec<String>>,
    /// Rules for changing a resource, judged on the row before and after (default `["all"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<Vec<String>>,
    /// Rules for creating a resource, judged on the new row (default: `write`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<Vec<String>>,
    /// Rules for deleting a resource (default: `write`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Vec<String>>,
}

/// One access rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    All,
    Authenticated,
    Owner,
    Role(String),
    Sql(String),
}

impl Rule {
    /// Parses one rule; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Rule, String> {
        match text {
            "all" => Ok(Rule::All),
            "authenticated" => Ok(Rule::Authenticated),
            "owner" => Ok(Rule::Owner),
            _ => {
                if let Some(role) = text.strip_prefix("role:") {
                    if role.is_empty() || role.len() > 63 || role.contains('\0') {
                        return Err(format!("\"{text}\": a role name of 1 to 63 bytes must follow role:"));
                    }
                    Ok(Rule::Role(role.to_string()))
                } else if let Some(expr) = text.strip_prefix("sql:") {
                    if expr.trim().is_empty() || expr.len() > 4000 || expr.contains('\0') {
                        return Err(format!("\"{text}\": a boolean SQL expression of at most 4000 bytes must follow sql:"));
                    }
                    Ok(Rule::Sql(expr.to_string()))
                } else {
                    Err(format!("unknown rule \"{text}\""))
                }
            }
        }
    }
}

/// The access lists of a spec, parsed, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRules {
    /// the owner column
    pub owner: String,
    pub read: Vec<Rule>,
    pub write: Vec<Rule>,
    pub create: Vec<Rule>,
    pub delete: Vec<Rule>,
}

/// The kinds of access rule lists, in the order they are checked and reported.
pub const ACCESS_KINDS: [&str; 4] = ["read", "write", "create", "delete"];

impl Access {
    /// The rule list of a kind as written (defaults applied): `(kind, path, rules)`.
    pub fn lists(&self) -> Vec<(&'static str, String, Vec<String>)> {
        let all = vec!["all".to_string()];
        let write = self.write.clone().unwrap_or_else(|| all.clone());
        let write_path = "/options/access/write".to_string();
        ACCESS_KINDS
            .iter()
            .map(|kind| {
                let (path, list) = match *kind {
                    "read" => ("/options/access/read".to_string(), self.read.clone().unwrap_or_else(|| all.clone())),
                    "write" => (write_path.clone(), write.clone()),
                    "create" => match &self.create {
                        Some(l) => ("/options/access/create".to_string(), l.clone()),
                        None => (write_path.clone(), write.clone()),
                    },
                    _ => match &self.delete {
                        Some(l) => ("/options/access/delete".to_string(), l.clone()),
                        None => (write_path.clone(), write.clone()),
                    },
                };
                (*kind, path, list)
            })
            .collect()
    }

    /// Whether the options list rules of `kind` themselves (not by default).
    pub fn written(&self, kind: &str) -> bool {
        match kind {
            "read" => self.read.is_some(),
            "write" => self.write.is_some(),
            "create" => self.create.is_some(),
            _ => self.delete.is_some(),
        }
    }

    /// Parses every rule; errors name `/options/access/<kind>/<n>`.
    pub fn rules(&self) -> Result<AccessRules, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut parsed: Vec<Vec<Rule>> = Vec::new();
        for (kind, _, list) in self.lists() {
            let written = self.written(kind);
            let mut rules = Vec::new();
            if written && list.is_empty() {
                errors.push(SpecError::new(
                    format!("/options/access/{kind}"),
                    format!("/options/access/{kind}: an empty list admits nobody but the spec's owner"),
                    "List at least one rule, e.g. [\"owner\"] or [\"role:editor\"]; leave the key out for [\"all\"].",
                ));
            }
            for (i, text) in list.iter().enumerate() {
                match Rule::parse(text) {
                    Ok(r) => rules.push(r),
                    Err(e) if written => errors.push(SpecError::new(
                        format!("/options/access/{kind}/{i}"),
                        format!("/options/access/{kind}/{i}: {e}"),
                        "A rule is all, authenticated, owner, role:<database role> or sql:<boolean SQL expression over the row>.",
                    )),
                    Err(_) => {} // (reported under the list it defaults to)
                }
            }
            parsed.push(rules);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut it = parsed.into_iter();
        Ok(AccessRules {
            owner: self.owner.clone().unwrap_or_else(|| "created_by".to_string()),
            read: it.next().unwrap_or_default(),
            write: it.next().unwrap_or_default(),
            create: it.next().unwrap_or_default(),
            delete: it.next().unwrap_or_default(),
        })
    }
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
    /// Job specs: roles that may call the worker functions (default: the write roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<Vec<String>>,
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
        if let Some(hooks) = &options.hooks {
            for (point, list) in [("before_write", &hooks.before_write), ("after_write", &hooks.after_write)] {
                for (i, name) in list.iter().enumerate() {
                    if let Err(e) = hook_name(name) {
                        errors.push(SpecError::new(
                            format!("/options/hooks/{point}/{i}"),
                            format!("/options/hooks/{point}/{i}: {e}"),
                            "Name the function with its schema, e.g. \"app.check_title\" (a function in the API schema would be served by PostgREST).",
                        ));
                    }
                }
            }
        }
        if options.notify() && !options.feed() {
            errors.push(SpecError::new(
                "/options/events/notify",
                "/options/events/notify: notifications come with the change feed, which events.feed turns off",
                "Leave events.feed on (the default) to notify, or turn notify off.",
            ));
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
    fn access_rules_parse_with_defaults_and_paths() {
        let o = SpecOptions::parse(&json!({"access": {"read": ["owner", "role:editor", "sql:shared"], "write": ["owner"]}})).unwrap();
        let a = o.access.unwrap();
        let r = a.rules().unwrap();
        assert_eq!(r.owner, "created_by");
        assert_eq!(r.read, vec![Rule::Owner, Rule::Role("editor".into()), Rule::Sql("shared".into())]);
        // create and delete default to write
        assert_eq!(r.create, vec![Rule::Owner]);
        assert_eq!(r.delete, vec![Rule::Owner]);
        let e = SpecOptions::parse(&json!({"access": {"read": ["all"], "write": ["owner", "nobody", "role:"]}})).unwrap().access.unwrap().rules().unwrap_err();
        assert_eq!(e.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["/options/access/write/1", "/options/access/write/2"]);
        let e = SpecOptions::parse(&json!({"access": {"delete": []}})).unwrap().access.unwrap().rules().unwrap_err();
        assert_eq!(e[0].path, "/options/access/delete");
        assert!(SpecOptions::parse(&json!({"access": {"grant": []}})).unwrap_err()[0].path == "/options/access/grant");
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
