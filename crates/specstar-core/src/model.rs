//! A spec (JSON Schema + options) checked against specstar's rules and turned into a
//! column plan: one typed column per top-level property.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::document::{draft_schema, DocValidator};
use crate::error::{pointer_segment, SpecError};
use crate::graphql_names;
use crate::json;
use crate::names;
use crate::options::SpecOptions;

/// Scalar SQL types a property can map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scalar {
    Text,
    Timestamptz,
    Date,
    Uuid,
    Bigint,
    Numeric,
    Boolean,
}

impl Scalar {
    pub fn sql(self) -> &'static str {
        match self {
            Scalar::Text => "text",
            Scalar::Timestamptz => "timestamptz",
            Scalar::Date => "date",
            Scalar::Uuid => "uuid",
            Scalar::Bigint => "bigint",
            Scalar::Numeric => "numeric",
            Scalar::Boolean => "boolean",
        }
    }
}

/// The column type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Scalar(Scalar),
    Array(Scalar),
    Jsonb,
}

impl ColumnType {
    pub fn sql(self) -> String {
        match self {
            ColumnType::Scalar(s) => s.sql().to_string(),
            ColumnType::Array(s) => format!("{}[]", s.sql()),
            ColumnType::Jsonb => "jsonb".to_string(),
        }
    }

    /// Text or an array of text: what full-text search can index.
    pub fn is_textual(self) -> bool {
        matches!(self, ColumnType::Scalar(Scalar::Text) | ColumnType::Array(Scalar::Text))
    }
}

impl ColumnType {
    /// The type as a body parsed under the caller's `search_path` must name it (see
    /// `ddl::sql`): `pg_catalog.text`, `pg_catalog.int8[]`.
    pub fn qualified_sql(self) -> String {
        let q = |s: Scalar| match s {
            Scalar::Text => "pg_catalog.text",
            Scalar::Timestamptz => "pg_catalog.timestamptz",
            Scalar::Date => "pg_catalog.date",
            Scalar::Uuid => "pg_catalog.uuid",
            Scalar::Bigint => "pg_catalog.int8",
            Scalar::Numeric => "pg_catalog.numeric",
            Scalar::Boolean => "pg_catalog.bool",
        };
        match self {
            ColumnType::Scalar(s) => q(s).to_string(),
            ColumnType::Array(s) => format!("{}[]", q(s)),
            ColumnType::Jsonb => "pg_catalog.jsonb".to_string(),
        }
    }

    /// Reads [`ColumnType::sql`] back.
    pub fn parse(sql: &str) -> Option<ColumnType> {
        if sql == "jsonb" {
            return Some(ColumnType::Jsonb);
        }
        let scalars = [
            Scalar::Text, Scalar::Timestamptz, Scalar::Date, Scalar::Uuid, Scalar::Bigint, Scalar::Numeric, Scalar::Boolean,
        ];
        let (name, array) = match sql.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (sql, false),
        };
        let s = scalars.into_iter().find(|s| s.sql() == name)?;
        Some(if array { ColumnType::Array(s) } else { ColumnType::Scalar(s) })
    }
}

impl Serialize for ColumnType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.sql())
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ColumnType::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown column type {s}")))
    }
}

/// What happens to a referencing resource when the referenced one is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    Restrict,
    Cascade,
    SetNull,
}

impl OnDelete {
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::Restrict => "RESTRICT",
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
        }
    }
}

/// `x-ref`: a foreign key to another spec's `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub spec: String,
    pub on_delete: OnDelete,
}

/// One property and its column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    pub unique: bool,
    pub index: bool,
    pub search: bool,
    #[serde(skip_serializing_if = "Option::is_none", rename = "ref")]
    pub reference: Option<Reference>,
}

/// What the SQL layer knows that the pure planner needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Context {
    /// API schema when the options name none (GUC `specstar.api_schema`, else `api`).
    pub default_api_schema: Option<String>,
    /// Names of the specs already registered (the spec being registered excluded).
    pub specs: Vec<String>,
    /// Roles granted read access when the options name none (GUC `specstar.read_roles`).
    pub read_roles: Vec<String>,
    /// Roles granted write access when the options name none (GUC `specstar.write_roles`).
    pub write_roles: Vec<String>,
    /// Catalog id of the spec version being created; only needed to generate DDL.
    pub vid: Option<i64>,
    /// The version registered now, when the spec evolves.
    pub current: Option<CurrentVersion>,
    /// Earlier version labels whose stored documents read as they are under the new version
    /// (no migrate function since); documents of other versions pass through the chain.
    pub as_is_versions: Vec<String>,
}

/// The registered version of a spec that is evolving.
#[derive(Debug, Clone, Deserialize)]
pub struct CurrentVersion {
    pub schema: Value,
    pub options: Value,
    /// its descriptor as registered: what was actually granted and indexed then
    #[serde(default)]
    pub descriptor: Option<Value>,
}

/// A checked spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecModel {
    pub name: String,
    pub version: String,
    pub api_schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Properties in column order (alphabetical: jsonb does not keep key order).
    pub properties: Vec<Property>,
    #[serde(skip)]
    pub schema: Value,
    #[serde(skip)]
    pub options: SpecOptions,
    pub read_roles: Vec<String>,
    pub write_roles: Vec<String>,
    /// Row-level access rules (`options.access`), when the spec has them.
    #[serde(skip)]
    pub access: Option<crate::options::AccessRules>,
    /// The job queue settings (`options.job`), when the spec is a job queue.
    #[serde(skip)]
    pub job: Option<crate::jobs::JobConfig>,
    /// Roles that may call the worker functions of a job spec (default: the write roles).
    #[serde(skip)]
    pub work_roles: Vec<String>,
}

/// Property-level keywords specstar understands.
pub const PROPERTY_KEYWORDS: &[&str] = &["x-unique", "x-index", "x-search", "x-ref", "x-on-delete"];

const HINT_SCHEMA: &str = "The spec must be a JSON Schema (2020-12) object schema, e.g. {\"type\": \"object\", \"properties\": {\"title\": {\"type\": \"string\"}}}.";

fn prop_path(name: &str) -> String {
    format!("/properties/{}", pointer_segment(name))
}

/// The `type` keyword as a list of type names without "null".
fn declared_types(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) if t != "null" => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => Vec::new(),
    }
}

fn string_enum(schema: &Map<String, Value>) -> Option<Vec<String>> {
    let values = schema.get("enum")?.as_array()?;
    values.iter().map(|v| v.as_str().map(str::to_string)).collect()
}

/// The scalar a subschema maps to, if it maps to one.
fn scalar_of(schema: &Map<String, Value>) -> Option<Scalar> {
    let types = declared_types(schema);
    let t = match types.as_slice() {
        [t] => *t,
        [] if string_enum(schema).is_some() => "string",
        _ => return None,
    };
    Some(match t {
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => Scalar::Timestamptz,
            Some("date") => Scalar::Date,
            Some("uuid") => Scalar::Uuid,
            _ => Scalar::Text,
        },
        "integer" => Scalar::Bigint,
        "number" => Scalar::Numeric,
        "boolean" => Scalar::Boolean,
        _ => return None,
    })
}

/// DESIGN §2 mapping: scalars, arrays of one scalar type, everything else jsonb.
pub fn column_type(schema: &Value) -> ColumnType {
    let Some(obj) = schema.as_object() else { return ColumnType::Jsonb };
    if let Some(s) = scalar_of(obj) {
        return ColumnType::Scalar(s);
    }
    if declared_types(obj).as_slice() == ["array"] {
        if let Some(items) = obj.get("items").and_then(Value::as_object) {
            if let Some(s) = scalar_of(items) {
                return ColumnType::Array(s);
            }
        }
    }
    ColumnType::Jsonb
}

fn meta_errors(schema: &Value) -> Vec<SpecError> {
    let validator = match jsonschema::meta::validator_for(schema) {
        Ok(v) => v,
        Err(_) => {
            return vec![SpecError::new(
                "/$schema",
                format!("/$schema: unsupported meta-schema {}", schema.get("$schema").unwrap_or(&Value::Null)),
                "Omit \"$schema\" (2020-12 is assumed) or name a JSON Schema draft such as https://json-schema.org/draft/2020-12/schema.",
            )]
        }
    };
    validator
        .iter_errors(schema)
        .map(|e| {
            let path = e.instance_path().as_str().to_string();
            let shown = if path.is_empty() { "/".to_string() } else { path.clone() };
            SpecError::new(path, format!("{shown}: {e}"), HINT_SCHEMA)
        })
        .collect()
}

fn bool_keyword(obj: &Map<String, Value>, key: &str, base: &str, errors: &mut Vec<SpecError>) -> bool {
    match obj.get(key) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            errors.push(SpecError::new(
                format!("{base}/{key}"),
                format!("{base}/{key}: must be true or false, not {}", json::quote(other)),
                format!("Write \"{key}\": true to enable it."),
            ));
            false
        }
    }
}

impl SpecModel {
    /// Check a spec and plan its columns. Every problem found is returned, each with a path.
    pub fn build(name: &str, schema: &Value, options: &Value, ctx: &Context) -> Result<SpecModel, Vec<SpecError>> {
        let mut errors = Vec::new();
        if let Err(e) = names::check_spec_name(name) {
            errors.push(SpecError::new("", e.message, e.hint));
        }
        let options = match SpecOptions::parse(options) {
            Ok(o) => Some(o),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        };
        let Some(root) = schema.as_object() else {
            errors.push(SpecError::new("/", "/: the spec must be a JSON object", HINT_SCHEMA));
            return Err(errors);
        };
        // every check below walks the schema recursively
        if let Err(e) = json::check_depth(schema, json::MAX_DEPTH) {
            errors.push(SpecError::new(
                e.path.clone(),
                format!("the spec is {e}"),
                "Flatten the schema: use \"$defs\" and \"$ref\" for deep structures.",
            ));
            return Err(errors);
        }
        let meta = meta_errors(schema);
        if !meta.is_empty() {
            errors.extend(meta);
            return Err(errors);
        }
        if root.get("type") != Some(&Value::String("object".into())) {
            errors.push(SpecError::new(
                "/type",
                "/type: the top level of a spec must have \"type\": \"object\"",
                HINT_SCHEMA,
            ));
        }
        let props = match root.get("properties").and_then(Value::as_object) {
            Some(p) if !p.is_empty() => p,
            _ => {
                errors.push(SpecError::new(
                    "/properties",
                    "/properties: a spec needs at least one property",
                    HINT_SCHEMA,
                ));
                return Err(errors);
            }
        };
        for key in root.keys().filter(|k| k.starts_with("x-")) {
            errors.push(SpecError::new(
                format!("/{}", pointer_segment(key)),
                format!("/{key}: unsupported keyword at the top level of a spec"),
                format!("specstar understands {} on properties only.", PROPERTY_KEYWORDS.join(", ")),
            ));
        }
        let required: Vec<&str> = root
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (i, r) in required.iter().enumerate() {
            if !props.contains_key(*r) {
                errors.push(SpecError::new(
                    format!("/required/{i}"),
                    format!("/required/{i}: \"{r}\" is required but not declared in properties"),
                    "Every required name needs a property: specstar stores declared properties only.",
                ));
            }
        }
        let api_schema = options
            .as_ref()
            .and_then(|o| o.api_schema.clone())
            .or_else(|| ctx.default_api_schema.clone())
            .unwrap_or_else(|| "api".to_string());
        if options.as_ref().is_some_and(|o| o.api_schema.is_none()) {
            if let Err(e) = names::check_schema_name(&api_schema) {
                errors.push(SpecError::new("/options/api_schema", format!("/options/api_schema: {} (from the GUC specstar.api_schema)", e.message), e.hint));
            }
        }
        // Relation names must not collide with another spec's objects.
        let mine = names::relation_names(name);
        for other in &ctx.specs {
            let theirs = names::relation_names(other);
            if let Some(clash) = mine.iter().find(|n| theirs.contains(n)) {
                errors.push(SpecError::new(
                    "",
                    format!("spec name \"{name}\" clashes with spec \"{other}\": both would create \"{clash}\""),
                    "Choose a name that does not end in _revision or _draft of another spec.",
                ));
            }
        }
        graphql_name_errors(name, &ctx.specs, &mut errors);

        let mut names_sorted: Vec<&String> = props.keys().collect();
        names_sorted.sort();
        let mut properties = Vec::new();
        for pname in names_sorted {
            let sub = &props[pname];
            let base = prop_path(pname);
            if let Err(e) = names::check_property_name(pname) {
                errors.push(SpecError::new(base.clone(), format!("{base}: {}", e.message), e.hint));
                continue;
            }
            if options.as_ref().is_some_and(|o| o.job.is_some()) && crate::jobs::column_names().any(|c| c == pname) {
                errors.push(SpecError::new(
                    base.clone(),
                    format!("{base}: property \"{pname}\" is reserved in job specs: every job has {}", crate::jobs::column_names().collect::<Vec<_>>().join(", ")),
                    "Rename the property: specstar maintains the job columns (docs/jobs.md).",
                ));
                continue;
            }
            if let Some(p) = Self::property(name, pname, sub, required.contains(&pname.as_str()), schema, ctx, &mut errors) {
                properties.push(p);
            }
        }
        property_field_errors(&properties, &mut errors);
        let (read_roles, write_roles) = match options.as_ref().and_then(|o| o.roles.clone()) {
            Some(r) => (r.read, r.write),
            None => (ctx.read_roles.clone(), ctx.write_roles.clone()),
        };
        let access = options.as_ref().and_then(|o| o.access.as_ref()).and_then(|a| match a.rules() {
            Ok(rules) => Some(rules),
            Err(e) => {
                errors.extend(e);
                None
            }
        });
        if let Some(rules) = &access {
            let owner_ok = rules.owner == "created_by"
                || properties.iter().any(|p| p.name == rules.owner && p.column_type == ColumnType::Scalar(Scalar::Text));
            if !owner_ok {
                errors.push(SpecError::new(
                    "/options/access/owner",
                    format!("/options/access/owner: \"{}\" is neither created_by nor a string property of the spec", rules.owner),
                    "Leave owner out (created_by: whoever created the resource) or name a property of type string that holds the owner's id.",
                ));
            }
        }
        let job = options.as_ref().and_then(|o| o.job.as_ref()).and_then(|j| match j.config() {
            Ok(c) => Some(c),
            Err(e) => {
                errors.extend(e);
                None
            }
        });
        if let (Some(_), Some(o)) = (&job, options.as_ref()) {
            // (job transitions run in the job functions, with the spec owner's rights: a hook
            // would run with them too; and an enqueue that meets an idempotency key is no
            // revision, which the change feed would have noted already)
            if o.hooks.as_ref().is_some_and(|h| !h.before_write.is_empty() || !h.after_write.is_empty()) {
                errors.push(SpecError::new(
                    "/options/hooks",
                    "/options/hooks: hooks are not available on job specs: job transitions run with the spec owner's rights, and a hook would run with them",
                    "Leave hooks out of a job spec; a job's history (api.<spec>_revision) records every transition, and workers are woken by NOTIFY specstar_jobs.",
                ));
            }
            if o.events.is_some() {
                errors.push(SpecError::new(
                    "/options/events",
                    "/options/events: the change feed is not available on job specs",
                    "Leave events out of a job spec: workers are woken by NOTIFY specstar_jobs, and every transition is in api.<spec>_revision.",
                ));
            }
        }
        if job.is_some() && access.is_some() {
            // (the enqueue rule's INSERT is checked with the view owner's rights, which row-level
            // security does not apply to, and the job functions run as the owner too)
            errors.push(SpecError::new(
                "/options/access",
                "/options/access: access rules are not available on job specs: enqueues and the job functions write with the spec owner's rights, which row-level security does not restrict",
                "Leave access out of a job spec and decide who may enqueue and work with options.roles (write, work); see docs/jobs.md.",
            ));
        }
        let work_roles = options
            .as_ref()
            .and_then(|o| o.roles.as_ref())
            .and_then(|r| r.work.clone())
            .unwrap_or_else(|| write_roles.clone());
        if errors.is_empty() {
            compile_errors(schema, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let options = options.expect("options parsed when there are no errors");
        Ok(SpecModel {
            name: name.to_string(),
            version: options.version.clone(),
            api_schema,
            title: root.get("title").and_then(Value::as_str).map(str::to_string),
            description: root.get("description").and_then(Value::as_str).map(str::to_string),
            properties,
            schema: schema.clone(),
            options,
            read_roles,
            write_roles,
            access,
            job,
            work_roles,
        })
    }

    fn property(
        spec: &str,
        pname: &str,
        sub: &Value,
        required: bool,
        whole: &Value,
        ctx: &Context,
        errors: &mut Vec<SpecError>,
    ) -> Option<Property> {
        let base = prop_path(pname);
        let empty = Map::new();
        let obj = sub.as_object().unwrap_or(&empty);
        for key in obj.keys().filter(|k| k.starts_with("x-")) {
            if !PROPERTY_KEYWORDS.contains(&key.as_str()) {
                errors.push(SpecError::new(
                    format!("{base}/{}", pointer_segment(key)),
                    format!("{base}/{key}: unsupported keyword"),
                    format!("Supported property keywords: {}.", PROPERTY_KEYWORDS.join(", ")),
                ));
            }
        }
        let unique = bool_keyword(obj, "x-unique", &base, errors);
        let index = bool_keyword(obj, "x-index", &base, errors);
        let search = bool_keyword(obj, "x-search", &base, errors);
        let mut column_type = column_type(sub);
        let mut reference = None;
        match obj.get("x-ref") {
            None => {
                if obj.contains_key("x-on-delete") {
                    errors.push(SpecError::new(
                        format!("{base}/x-on-delete"),
                        format!("{base}/x-on-delete: only meaningful together with x-ref"),
                        "Add \"x-ref\": \"<spec>\" or remove x-on-delete.",
                    ));
                }
            }
            Some(Value::String(target)) => {
                if target != spec && !ctx.specs.contains(target) {
                    errors.push(SpecError::new(
                        format!("{base}/x-ref"),
                        format!("{base}/x-ref: spec \"{target}\" is not registered"),
                        "Register the referenced spec first (or reference this spec itself).",
                    ));
                }
                let is_string = matches!(column_type, ColumnType::Scalar(Scalar::Text | Scalar::Uuid));
                if !is_string {
                    errors.push(SpecError::new(
                        format!("{base}/x-ref"),
                        format!("{base}/x-ref: a reference must be a string property (the referenced id, a uuid)"),
                        "Declare it as {\"type\": \"string\", \"format\": \"uuid\", \"x-ref\": \"<spec>\"}.",
                    ));
                }
                column_type = ColumnType::Scalar(Scalar::Uuid);
                let on_delete = match obj.get("x-on-delete") {
                    None => OnDelete::Restrict,
                    Some(Value::String(s)) if s == "restrict" => OnDelete::Restrict,
                    Some(Value::String(s)) if s == "cascade" => OnDelete::Cascade,
                    Some(Value::String(s)) if s == "set_null" => {
                        if required {
                            errors.push(SpecError::new(
                                format!("{base}/x-on-delete"),
                                format!("{base}/x-on-delete: set_null on a required property would break the spec"),
                                "Use restrict or cascade, or make the property optional.",
                            ));
                        }
                        OnDelete::SetNull
                    }
                    Some(other) => {
                        errors.push(SpecError::new(
                            format!("{base}/x-on-delete"),
                            format!("{base}/x-on-delete: {} is not one of \"restrict\", \"cascade\", \"set_null\"", json::quote(other)),
                            "Use \"restrict\" (default), \"cascade\" or \"set_null\".",
                        ));
                        OnDelete::Restrict
                    }
                };
                reference = Some(Reference { spec: target.clone(), on_delete });
            }
            Some(other) => {
                errors.push(SpecError::new(
                    format!("{base}/x-ref"),
                    format!("{base}/x-ref: must be the name of a spec, not {}", json::quote(other)),
                    "Write \"x-ref\": \"author\" to reference the spec author.",
                ));
            }
        }
        if search && !column_type.is_textual() {
            errors.push(SpecError::new(
                format!("{base}/x-search"),
                format!("{base}/x-search: only strings and arrays of strings can be searched (this property maps to {})", column_type.sql()),
                "Remove x-search from this property.",
            ));
        }
        let default = obj.get("default").cloned();
        if let Some(d) = &default {
            check_default(pname, d, column_type, whole, errors);
        }
        Some(Property {
            name: pname.to_string(),
            column_type,
            required,
            default,
            title: obj.get("title").and_then(Value::as_str).map(str::to_string),
            description: obj.get("description").and_then(Value::as_str).map(str::to_string),
            enum_values: if column_type == ColumnType::Scalar(Scalar::Text) { string_enum(obj) } else { None },
            unique,
            index,
            search,
            reference,
        })
    }

    /// Names of the properties in column order.
    pub fn property_names(&self) -> Vec<&str> {
        self.properties.iter().map(|p| p.name.as_str()).collect()
    }
}

/// The GraphQL types and root fields a spec generates must not be GraphQL's own or another
/// spec's (`page_info` would be `PageInfo`; `blog` and `blog_post` never meet, but a spec
/// could meet a built-in or a name that only differs in underscores).
fn graphql_name_errors(name: &str, others: &[String], errors: &mut Vec<SpecError>) {
    let mine: Vec<String> = graphql_names::type_names(name).into_iter().chain(graphql_names::root_fields(name)).collect();
    if let Some(clash) = mine.iter().find(|n| graphql_names::BUILTIN_TYPES.contains(&n.as_str())) {
        errors.push(SpecError::new(
            "",
            format!("spec name \"{name}\" would make the GraphQL type {clash}, which is GraphQL's own"),
            "Choose another name (docs/graphql.md lists the built-in types).",
        ));
    }
    for other in others {
        let theirs: Vec<String> = graphql_names::type_names(other).into_iter().chain(graphql_names::root_fields(other)).collect();
        if let Some(clash) = mine.iter().find(|n| theirs.contains(n)) {
            errors.push(SpecError::new(
                "",
                format!("spec name \"{name}\" clashes with spec \"{other}\" in GraphQL: both would make {clash}"),
                "Choose a name whose words differ from the other spec's, not only its underscores.",
            ));
        }
    }
}

/// Each property's GraphQL field (its camelCase name) must be its own: not another
/// property's (`view_count` and `viewCount`), a system field, or a reference field.
fn property_field_errors(properties: &[Property], errors: &mut Vec<SpecError>) {
    let fields: Vec<(String, &str)> = properties
        .iter()
        .map(|p| (graphql_names::camel(&p.name), p.name.as_str()))
        .chain(properties.iter().filter(|p| p.reference.is_some()).map(|p| (graphql_names::reference_field(&p.name), p.name.as_str())))
        .collect();
    for p in properties {
        let field = graphql_names::camel(&p.name);
        let base = prop_path(&p.name);
        let clash = if graphql_names::SYSTEM_FIELDS.contains(&field.as_str()) {
            Some("a field every record has".to_string())
        } else {
            fields.iter().find(|(f, owner)| *f == field && *owner != p.name).map(|(_, owner)| format!("the field of property \"{owner}\""))
        };
        if let Some(clash) = clash {
            errors.push(SpecError::new(
                base.clone(),
                format!("{base}: property \"{}\" would be the GraphQL field {field}, which is {clash}", p.name),
                "Rename the property: GraphQL names are the camelCase of property names.",
            ));
        }
    }
}

/// Every write is validated against the spec and every draft against its relaxed form:
/// both must compile now, not fail on the first write (a bad `pattern`, a `$ref` to another
/// document, a number no validator can hold).
fn compile_errors(schema: &Value, errors: &mut Vec<SpecError>) {
    for s in [schema.clone(), draft_schema(schema)] {
        if let Err(e) = DocValidator::compile(&s) {
            errors.push(SpecError::new(
                e.path.clone(),
                format!("{}: {}", if e.path.is_empty() { "/" } else { e.path.as_str() }, e.message),
                "Fix the keyword so that the schema compiles: patterns must be valid regular expressions, $ref may only point inside the spec, numbers must fit in 64 bits.",
            ));
            return;
        }
    }
}

/// A default must be valid against the spec and representable in its column.
fn check_default(pname: &str, value: &Value, ty: ColumnType, whole: &Value, errors: &mut Vec<SpecError>) {
    let path = format!("{}/default", prop_path(pname));
    let doc = Value::Object(Map::from_iter([(pname.to_string(), value.clone())]));
    let prefix = format!("/{}", pointer_segment(pname));
    if let Ok(v) = jsonschema::options().should_validate_formats(true).build(whole) {
        for e in v.iter_errors(&doc) {
            let at = e.instance_path().as_str();
            if at == prefix || at.starts_with(&format!("{prefix}/")) {
                errors.push(SpecError::new(
                    path.clone(),
                    format!("{path}: the default {} does not satisfy the property's schema: {}", json::quote(value), e.masked_with(json::quote(e.instance()))),
                    "Give a default that the property itself accepts.",
                ));
                return;
            }
        }
    }
    if value.is_null() {
        return;
    }
    if let ColumnType::Array(_) = ty {
        if !value.is_array() {
            errors.push(SpecError::new(path, format!("{}: an array property needs an array default", prop_path(pname)), "Give a JSON array."));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        Context { specs: vec!["author".into()], ..Default::default() }
    }

    fn build(schema: Value) -> Result<SpecModel, Vec<SpecError>> {
        SpecModel::build("article", &schema, &json!({}), &ctx())
    }

    fn err_paths(schema: Value) -> Vec<String> {
        build(schema).unwrap_err().into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn type_mapping() {
        let cases = [
            (json!({"type": "string"}), "text"),
            (json!({"type": "string", "format": "date-time"}), "timestamptz"),
            (json!({"type": "string", "format": "date"}), "date"),
            (json!({"type": "string", "format": "uuid"}), "uuid"),
            (json!({"type": "string", "format": "email"}), "text"),
            (json!({"type": "integer"}), "bigint"),
            (json!({"type": "number"}), "numeric"),
            (json!({"type": "boolean"}), "boolean"),
            (json!({"enum": ["a", "b"]}), "text"),
            (json!({"type": ["string", "null"]}), "text"),
            (json!({"type": "array", "items": {"type": "string"}}), "text[]"),
            (json!({"type": "array", "items": {"type": "integer"}}), "bigint[]"),
            (json!({"type": "array", "items": {"type": "string", "format": "date"}}), "date[]"),
            (json!({"type": "array", "items": {"type": "object"}}), "jsonb"),
            (json!({"type": "array"}), "jsonb"),
            (json!({"type": "array", "items": {"type": "array", "items": {"type": "string"}}}), "jsonb"),
            (json!({"type": "object"}), "jsonb"),
            (json!({"type": ["string", "integer"]}), "jsonb"),
            (json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}), "jsonb"),
            (json!({}), "jsonb"),
            (json!(true), "jsonb"),
        ];
        for (schema, sql) in cases {
            assert_eq!(column_type(&schema).sql(), sql, "{schema}");
        }
    }

    #[test]
    fn plan_of_a_spec() {
        let m = build(json!({
            "type": "object",
            "title": "Article",
            "properties": {
                "title": {"type": "string", "description": "Headline", "x-unique": true},
                "status": {"enum": ["draft", "published"], "default": "draft", "x-index": true},
                "author": {"type": "string", "format": "uuid", "x-ref": "author", "x-on-delete": "cascade"},
                "body": {"type": "string", "x-search": true}
            },
            "required": ["title"]
        }))
        .unwrap();
        assert_eq!(m.property_names(), vec!["author", "body", "status", "title"]);
        assert_eq!(m.api_schema, "api");
        assert_eq!(m.version, "1");
        assert_eq!(m.title.as_deref(), Some("Article"));
        let title = &m.properties[3];
        assert!(title.required && title.unique);
        assert_eq!(title.description.as_deref(), Some("Headline"));
        let status = &m.properties[2];
        assert_eq!(status.enum_values.as_deref(), Some(&["draft".to_string(), "published".to_string()][..]));
        assert_eq!(status.default, Some(json!("draft")));
        assert!(status.index && !status.required);
        let author = &m.properties[0];
        assert_eq!(author.reference, Some(Reference { spec: "author".into(), on_delete: OnDelete::Cascade }));
        assert!(m.properties[1].search);
    }

    #[test]
    fn meta_schema_errors_name_the_keyword_path() {
        let e = build(json!({"type": "object", "properties": {"title": {"type": "strin"}}})).unwrap_err();
        assert_eq!(e[0].path, "/properties/title/type");
        assert!(e[0].message.starts_with("/properties/title/type: "), "{}", e[0].message);
        assert_eq!(err_paths(json!({"type": "object", "properties": {"n": {"minimum": "x"}}})), vec!["/properties/n/minimum"]);
    }

    #[test]
    fn top_level_rules() {
        assert_eq!(err_paths(json!({"type": "array", "properties": {"a": {}}})), vec!["/type"]);
        assert_eq!(err_paths(json!({"properties": {"a": {}}})), vec!["/type"]);
        assert_eq!(err_paths(json!({"type": "object"})), vec!["/properties"]);
        assert_eq!(err_paths(json!({"type": "object", "properties": {}})), vec!["/properties"]);
        assert_eq!(err_paths(json!({"type": "object", "properties": {"a": {}}, "x-color": 1})), vec!["/x-color"]);
        assert_eq!(err_paths(json!({"type": "object", "properties": {"a": {}}, "required": ["b"]})), vec!["/required/0"]);
        assert_eq!(build(json!([1])).unwrap_err()[0].path, "/");
    }

    #[test]
    fn reserved_and_bad_property_names() {
        for name in ["id", "revision", "created_at", "created_by", "updated_at", "updated_by", "_x", "xmin", "a-b"] {
            let mut props = Map::new();
            props.insert(name.to_string(), json!({"type": "string"}));
            let e = build(json!({"type": "object", "properties": props})).unwrap_err();
            assert_eq!(e[0].path, format!("/properties/{name}"), "{name}");
        }
    }

    #[test]
    fn extension_keywords() {
        let p = |k: &str, v: Value| {
            let mut prop = Map::from_iter([("type".to_string(), json!("string"))]);
            prop.insert(k.into(), v);
            err_paths(json!({"type": "object", "properties": {"a": prop}}))
        };
        assert_eq!(p("x-colour", json!(1)), vec!["/properties/a/x-colour"]);
        assert_eq!(p("x-unique", json!("yes")), vec!["/properties/a/x-unique"]);
        assert_eq!(p("x-index", json!(1)), vec!["/properties/a/x-index"]);
        assert_eq!(p("x-ref", json!("nobody")), vec!["/properties/a/x-ref"]);
        assert_eq!(p("x-ref", json!(3)), vec!["/properties/a/x-ref"]);
        assert_eq!(p("x-on-delete", json!("cascade")), vec!["/properties/a/x-on-delete"]);
        // x-search on a number
        assert_eq!(
            err_paths(json!({"type": "object", "properties": {"n": {"type": "integer", "x-search": true}}})),
            vec!["/properties/n/x-search"]
        );
        // x-ref on a non-string
        assert_eq!(
            err_paths(json!({"type": "object", "properties": {"n": {"type": "integer", "x-ref": "author"}}})),
            vec!["/properties/n/x-ref"]
        );
        // bad x-on-delete value, and set_null on a required property
        assert_eq!(
            err_paths(json!({"type": "object", "properties": {"a": {"type": "string", "x-ref": "author", "x-on-delete": "explode"}}})),
            vec!["/properties/a/x-on-delete"]
        );
        assert_eq!(
            err_paths(json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "x-ref": "author", "x-on-delete": "set_null"}}})),
            vec!["/properties/a/x-on-delete"]
        );
        // a spec may reference itself
        let m = build(json!({"type": "object", "properties": {"parent": {"type": "string", "x-ref": "article"}}})).unwrap();
        assert_eq!(m.properties[0].column_type, ColumnType::Scalar(Scalar::Uuid));
    }

    #[test]
    fn defaults_must_satisfy_the_property() {
        assert_eq!(
            err_paths(json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "default": -1}}})),
            vec!["/properties/n/default"]
        );
        assert_eq!(
            err_paths(json!({"type": "object", "properties": {"s": {"enum": ["a"], "default": "b"}}})),
            vec!["/properties/s/default"]
        );
        assert!(build(json!({"type": "object", "properties": {"t": {"type": "array", "items": {"type": "string"}, "default": ["x"]}}})).is_ok());
    }

    #[test]
    fn specs_that_cannot_compile_are_refused() {
        let p = |prop: Value| err_paths(json!({"type": "object", "properties": {"a": prop}}));
        assert_eq!(p(json!({"type": "string", "pattern": "(unclosed"})), vec!["/properties/a/pattern"]);
        for remote in ["http://example.com/schema.json", "file:///etc/passwd"] {
            let e = build(json!({"type": "object", "properties": {"a": {"$ref": remote}}})).unwrap_err();
            assert!(e[0].message.contains(remote), "{}", e[0].message);
        }
        let huge: Value = serde_json::from_str(r#"{"type": "string", "maxLength": 1e400}"#).unwrap();
        assert!(!p(huge).is_empty());
        // a $ref inside the spec is fine
        assert!(build(json!({"type": "object", "$defs": {"t": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/t"}}})).is_ok());
        // so is deep nesting up to the limit, and not beyond
        let mut deep = json!({"type": "string"});
        for _ in 0..json::MAX_DEPTH {
            deep = json!({"type": "array", "items": deep});
        }
        let e = build(json!({"type": "object", "properties": {"a": deep}})).unwrap_err();
        assert!(e[0].message.contains("nested deeper than 100 levels"), "{}", e[0].message);
    }

    #[test]
    fn graphql_names_are_checked() {
        let two = |a: &str, b: &str| {
            let mut props = Map::new();
            props.insert(a.to_string(), json!({"type": "string"}));
            props.insert(b.to_string(), json!({"type": "string", "format": "uuid", "x-ref": "author"}));
            build(json!({"type": "object", "properties": props}))
        };
        let e = two("view_count", "viewCount").unwrap_err();
        assert!(e[0].message.contains("would be the GraphQL field viewCount"), "{}", e[0].message);
        let e = two("writer_record", "writer").unwrap_err();
        assert!(e[0].message.contains("writerRecord"), "{}", e[0].message);
        assert!(two("title", "writer").is_ok());
        let s = json!({"type": "object", "properties": {"a": {}}});
        let e = SpecModel::build("page_info", &s, &json!({}), &Context::default()).unwrap_err();
        assert!(e[0].message.contains("GraphQL type PageInfo"), "{}", e[0].message);
        let c = Context { specs: vec!["blog_post".into()], ..Default::default() };
        assert!(SpecModel::build("blog_post_draft_x", &s, &json!({}), &c).is_ok());
        let e = SpecModel::build("blogpost", &s, &json!({}), &Context { specs: vec!["blog_post".into()], ..Default::default() });
        assert!(e.is_ok(), "blogpost and blog_post differ in GraphQL (Blogpost, BlogPost)");
        let e = SpecModel::build("blog__post", &s, &json!({}), &c).unwrap_err();
        assert!(e[0].message.contains("clashes with spec \"blog_post\" in GraphQL"), "{}", e[0].message);
    }

    #[test]
    fn reserved_names_are_named() {
        for name in ["base_revision", "score", "highlights"] {
            let mut props = Map::new();
            props.insert(name.to_string(), json!({"type": "string"}));
            let e = build(json!({"type": "object", "properties": props})).unwrap_err();
            assert!(e[0].message.contains(&format!("\"{name}\" is reserved")), "{}", e[0].message);
        }
    }

    #[test]
    fn name_rules_and_clashes() {
        let s = json!({"type": "object", "properties": {"a": {}}});
        assert_eq!(SpecModel::build("Bad", &s, &json!({}), &ctx()).unwrap_err()[0].path, "");
        let c = Context { specs: vec!["article".into()], ..Default::default() };
        let e = SpecModel::build("article_revision", &s, &json!({}), &c).unwrap_err();
        assert!(e[0].message.contains("clashes"), "{}", e[0].message);
        let c = Context { specs: vec!["article_draft".into()], ..Default::default() };
        assert!(SpecModel::build("article", &s, &json!({}), &c).is_err());
    }

    #[test]
    fn options_and_api_schema() {
        let s = json!({"type": "object", "properties": {"a": {}}});
        let c = Context { default_api_schema: Some("rest".into()), read_roles: vec!["r".into()], ..Default::default() };
        let m = SpecModel::build("x", &s, &json!({}), &c).unwrap();
        assert_eq!(m.api_schema, "rest");
        assert_eq!(m.read_roles, vec!["r"]);
        let m = SpecModel::build("x", &s, &json!({"api_schema": "v2", "roles": {"write": ["w"]}}), &c).unwrap();
        assert_eq!(m.api_schema, "v2");
        assert!(m.read_roles.is_empty());
        assert_eq!(m.write_roles, vec!["w"]);
        let e = SpecModel::build("x", &s, &json!({"nope": 1}), &c).unwrap_err();
        assert_eq!(e[0].path, "/options/nope");
        let c = Context { default_api_schema: Some("pg_x".into()), ..Default::default() };
        assert_eq!(SpecModel::build("x", &s, &json!({}), &c).unwrap_err()[0].path, "/options/api_schema");
    }
}
