//! A GraphQL request, parsed and validated (apollo-compiler), turned into a plan: the part
//! of the answer that needs no database (introspection, `__typename`), and for every other
//! root field the SQL that computes its whole answer as one jsonb value — one statement per
//! root field, nested selections included. Mutations add a write statement before it.

use apollo_compiler::ast;
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::parser::Parser;
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::response::JsonMap;
use apollo_compiler::validation::Valid;
use apollo_compiler::{introspection, ExecutableDocument, Node};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::ApiSchema;

/// A document longer than this is refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 256 << 10;
/// Nesting the parser accepts (selection sets, lists, objects).
pub const MAX_NESTING: usize = 32;
/// Tokens the parser accepts.
pub const MAX_TOKENS: usize = 50_000;
/// Fields one request may select, fragments expanded: fragments spread inside fragments
/// can multiply a short document's fields.
pub const MAX_FIELDS: usize = 5_000;

/// One request, as `api.graphql` receives it.
pub struct Request<'a> {
    pub query: Option<&'a str>,
    /// an object, null, or (over GET) the object's JSON text
    pub variables: Option<&'a Value>,
    pub operation_name: Option<&'a str>,
    /// the HTTP method PostgREST received (`request.method`), when it did
    pub method: Option<&'a str>,
}

/// Settings of the GraphQL API (GUCs).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// most rows a list returns (`specstar.graphql_max_rows`)
    pub max_rows: i64,
    /// whether `__schema` and `__type` answer (`specstar.graphql_introspection`)
    pub introspection: bool,
}

/// What to do with a request.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// the whole answer: errors, or a request that needs no database
    Response { response: Value },
    Plan(Plan),
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub mutation: bool,
    /// the answers computed here (introspection, `__typename`)
    pub data: Map<String, Value>,
    /// errors found while planning that belong to one field (it answers null)
    pub errors: Vec<Value>,
    pub fields: Vec<Step>,
}

/// The statements of one root field.
#[derive(Debug, Serialize)]
pub struct Step {
    /// its key in `data` (the alias if there is one)
    pub key: String,
    /// whether the field may be null: an error in a non-null one makes all `data` null
    pub nullable: bool,
    /// `$1` of both statements
    pub params: Value,
    /// run first, when there is one: its result is `$2` of `read`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<String>,
    /// the field's answer; without it the answer is what `write` returned
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
    /// SQLSTATEs that make the field null without an error (a `…At` of a missing record)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub null_on: Vec<String>,
    /// most rows `write` may return, else the request fails with code 22000
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_most: Option<AtMost>,
}

#[derive(Debug, Serialize)]
pub struct AtMost {
    pub count: i64,
    pub message: String,
}

/// An error that belongs to one field (it answers null).
#[derive(Debug, Clone)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(code: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> FieldError {
        FieldError::new("22023", message)
    }

    fn to_json(&self, key: &str) -> Value {
        json!({"message": self.message, "path": [key], "extensions": {"code": self.code}})
    }
}

pub type Result<T> = std::result::Result<T, FieldError>;

fn request_error(code: &str, message: impl Into<String>) -> Value {
    json!({"message": message.into(), "extensions": {"code": code}})
}

fn respond_errors(errors: Vec<Value>) -> Outcome {
    Outcome::Response { response: json!({ "errors": errors }) }
}

/// Diagnostics (parse or validation) as GraphQL errors with their locations.
fn diagnostics(list: &apollo_compiler::validation::DiagnosticList, code: &str) -> Vec<Value> {
    list.iter()
        .map(|d| {
            let mut e = serde_json::to_value(d.to_json()).unwrap_or_else(|_| json!({"message": d.to_string()}));
            e["extensions"] = json!({"code": code});
            e
        })
        .collect()
}

/// The fields of a selection set grouped by response key, fragments expanded and
/// `@skip`/`@include` applied (GraphQL's CollectFields).
pub type Collected<'d> = Vec<(String, Vec<&'d Node<Field>>)>;

/// Turns a validated document into SQL: the state of one compilation.
pub struct Compiler<'d> {
    pub api: &'d ApiSchema,
    pub doc: &'d Valid<ExecutableDocument>,
    pub vars: &'d Valid<JsonMap>,
    pub settings: Settings,
    fields_seen: usize,
}

impl<'d> Compiler<'d> {
    /// The fields of `set` for an object of type `object_type`.
    pub fn collect(&mut self, object_type: &str, set: &'d SelectionSet) -> Result<Collected<'d>> {
        let mut out: Collected<'d> = Vec::new();
        self.collect_into(object_type, set, &mut out, 0)?;
        Ok(out)
    }

    /// (`depth`: fragments within fragments, at most MAX_NESTING)
    fn collect_into(&mut self, object_type: &str, set: &'d SelectionSet, out: &mut Collected<'d>, depth: usize) -> Result<()> {
        if depth > MAX_NESTING {
            return Err(FieldError::new("54001", format!("fragments nest more than {MAX_NESTING} levels deep")));
        }
        for selection in &set.selections {
            match selection {
                Selection::Field(f) => {
                    if self.skipped(&f.directives) {
                        continue;
                    }
                    self.fields_seen += 1;
                    if self.fields_seen > MAX_FIELDS {
                        return Err(FieldError::new("54001", format!("the request selects more than {MAX_FIELDS} fields (fragments expanded)")));
                    }
                    let key = f.response_key().to_string();
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, fields)) => fields.push(f),
                        None => out.push((key, vec![f])),
                    }
                }
                Selection::FragmentSpread(s) => {
                    if self.skipped(&s.directives) {
                        continue;
                    }
                    let Some(fragment) = self.doc.fragments.get(&s.fragment_name) else { continue };
                    if self.applies(fragment.type_condition().as_str(), object_type) {
                        self.collect_into(object_type, &fragment.selection_set, out, depth + 1)?;
                    }
                }
                Selection::InlineFragment(i) => {
                    if self.skipped(&i.directives) {
                        continue;
                    }
                    if i.type_condition.as_ref().is_none_or(|t| self.applies(t.as_str(), object_type)) {
                        self.collect_into(object_type, &i.selection_set, out, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a fragment on `condition` applies to an object of `object_type`: the same
    /// type, or an interface it implements.
    fn applies(&self, condition: &str, object_type: &str) -> bool {
        condition == object_type
            || self
                .api
                .schema
                .get_object(object_type)
                .is_some_and(|o| o.implements_interfaces.iter().any(|i| i.name.as_str() == condition))
    }

    fn skipped(&self, directives: &ast::DirectiveList) -> bool {
        let flag = |name: &str| {
            directives.get(name).map(|d| d.arguments.iter().find(|a| a.name == "if").map(|a| self.value(&a.value)) == Some(Value::Bool(true)))
        };
        flag("skip") == Some(true) || flag("include") == Some(false)
    }

    /// An argument value, variables resolved, as JSON (enum values as strings).
    pub fn value(&self, v: &ast::Value) -> Value {
        match v {
            ast::Value::Null => Value::Null,
            ast::Value::Enum(n) => Value::String(n.to_string()),
            ast::Value::Variable(n) => {
                self.vars.get(n.as_str()).and_then(|v| serde_json::to_value(v).ok()).unwrap_or(Value::Null)
            }
            ast::Value::String(s) => Value::String(s.clone()),
            ast::Value::Float(f) => serde_json::from_str(f.as_str()).unwrap_or(Value::Null),
            ast::Value::Int(i) => serde_json::from_str(i.as_str()).unwrap_or(Value::Null),
            ast::Value::Boolean(b) => Value::Bool(*b),
            ast::Value::List(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            ast::Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.to_string(), self.value(v))).collect()),
        }
    }

    /// A field's argument (its default when not given; null when neither).
    pub fn arg(&self, f: &Field, name: &str) -> Value {
        f.argument_by_name(name).map(|v| self.value(v)).unwrap_or(Value::Null)
    }

    /// An Int argument, or None.
    pub fn int_arg(&self, f: &Field, name: &str) -> Result<Option<i64>> {
        match self.arg(f, name) {
            Value::Null => Ok(None),
            v => v.as_i64().map(Some).ok_or_else(|| FieldError::invalid(format!("{name} must be an integer"))),
        }
    }
}

/// Whether the operation a request runs (by name, or the only one) is a mutation.
fn selects_mutation(ast: &ast::Document, name: Option<&str>) -> bool {
    let ops: Vec<&Node<ast::OperationDefinition>> = ast
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::OperationDefinition(op) => Some(op),
            _ => None,
        })
        .collect();
    let op = match name {
        Some(n) => ops.into_iter().find(|o| o.name.as_ref().is_some_and(|x| x.as_str() == n)),
        None if ops.len() == 1 => ops.into_iter().next(),
        None => None,
    };
    op.is_some_and(|o| o.operation_type.is_mutation())
}

/// Plans a request against a schema.
pub fn plan(api: &ApiSchema, request: &Request, settings: Settings) -> Outcome {
    let Some(query) = request.query.filter(|q| !q.trim().is_empty()) else {
        return respond_errors(vec![request_error("GRAPHQL_PARSE_FAILED", "no query: pass the GraphQL document as query")]);
    };
    if query.len() > MAX_DOCUMENT_BYTES {
        return respond_errors(vec![request_error("GRAPHQL_PARSE_FAILED", format!("the document is longer than {} KB", MAX_DOCUMENT_BYTES >> 10))]);
    }
    let doc = match api.documents.get(query) {
        Some(doc) => doc,
        None => {
            let ast = match Parser::new().recursion_limit(MAX_NESTING).token_limit(MAX_TOKENS).parse_ast(query, "query.graphql") {
                Ok(ast) => ast,
                Err(e) => return respond_errors(diagnostics(&e.errors, "GRAPHQL_PARSE_FAILED")),
            };
            match ast.to_executable_validate(&api.schema) {
                Ok(doc) => api.documents.put(query, doc),
                Err(e) => {
                    // a role that may write nothing has no Mutation type: say so, not "unknown type"
                    if api.schema.schema_definition.mutation.is_none() && selects_mutation(&ast, request.operation_name) {
                        return respond_errors(vec![request_error(
                            "42501",
                            format!("permission denied: this role may not change any spec of {}", api.catalog.api_schema),
                        )]);
                    }
                    return respond_errors(diagnostics(&e.errors, "GRAPHQL_VALIDATION_FAILED"));
                }
            }
        }
    };
    let operation = match doc.operations.get(request.operation_name) {
        Ok(op) => op,
        Err(e) => return respond_errors(vec![serde_json::to_value(e.to_graphql_error(&doc.sources)).map(|mut v| {
            v["extensions"] = json!({"code": "GRAPHQL_VALIDATION_FAILED"});
            v
        }).unwrap_or_else(|_| request_error("GRAPHQL_VALIDATION_FAILED", "unknown operation"))]),
    };
    let mutation = operation.operation_type.is_mutation();
    if mutation && request.method.is_some_and(|m| m.eq_ignore_ascii_case("GET")) {
        return respond_errors(vec![request_error("25006", "mutations need POST: a GET request runs read-only")]);
    }
    if operation.operation_type.is_subscription() {
        return respond_errors(vec![request_error("GRAPHQL_VALIDATION_FAILED", "subscriptions are not supported")]);
    }
    // variables: an object, or (GET) its JSON text
    let variables: Value = match request.variables {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(Value::Null) => json!({}),
            _ => return respond_errors(vec![request_error("GRAPHQL_VALIDATION_FAILED", "variables must be a JSON object")]),
        },
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return respond_errors(vec![request_error("GRAPHQL_VALIDATION_FAILED", "variables must be a JSON object")]),
    };
    if specstar_core::json::check_depth(&variables, specstar_core::json::MAX_DEPTH).is_err() {
        return respond_errors(vec![request_error("GRAPHQL_VALIDATION_FAILED", "variables nest too deeply")]);
    }
    let bytes = serde_json_bytes::Value::from(variables);
    let empty = JsonMap::new();
    let vars = match coerce_variable_values(&api.schema, operation, bytes.as_object().unwrap_or(&empty)) {
        Ok(v) => v,
        Err(e) => {
            let mut v = serde_json::to_value(e.to_graphql_error(&doc.sources)).unwrap_or_else(|_| json!({"message": e.message().to_string()}));
            v["extensions"] = json!({"code": "GRAPHQL_VALIDATION_FAILED"});
            return respond_errors(vec![v]);
        }
    };
    let mut c = Compiler { api, doc: &*doc, vars: &vars, settings, fields_seen: 0 };
    let root_type = if mutation { "Mutation" } else { "Query" };
    let roots = match c.collect(root_type, &operation.selection_set) {
        Ok(r) => r,
        Err(e) => return respond_errors(vec![request_error(e.code, e.message)]),
    };
    let mut plan = Plan { mutation, data: Map::new(), errors: vec![], fields: vec![] };
    let introspects = roots.iter().any(|(_, fs)| matches!(fs[0].name.as_str(), "__schema" | "__type"));
    if introspects && !settings.introspection {
        return respond_errors(vec![request_error("GRAPHQL_VALIDATION_FAILED", "introspection is off (specstar.graphql_introspection)")]);
    }
    if introspects || roots.iter().any(|(_, fs)| fs[0].name == "__typename") {
        if let Err(e) = introspection::check_max_depth(&doc, operation) {
            return respond_errors(vec![request_error("GRAPHQL_VALIDATION_FAILED", e.message().to_string())]);
        }
        match introspection::partial_execute(&api.schema, &api.schema.implementers_map(), &doc, operation, &vars) {
            Ok(response) => {
                if let Ok(Value::Object(data)) = serde_json::to_value(&response.data) {
                    plan.data.extend(data);
                }
                plan.errors.extend(response.errors.iter().filter_map(|e| serde_json::to_value(e).ok()));
            }
            Err(e) => return respond_errors(vec![request_error("GRAPHQL_VALIDATION_FAILED", e.message().to_string())]),
        }
    }
    for (key, fields) in &roots {
        let field = fields[0];
        if field.name.starts_with("__") {
            continue;
        }
        let nullable = !field.ty().is_non_null();
        let compiled = if mutation { crate::mutation::root(&mut c, field, fields) } else { crate::query::root(&mut c, field, fields) };
        match compiled {
            Ok(mut step) => {
                step.key = key.clone();
                step.nullable = nullable;
                plan.fields.push(step);
            }
            Err(e) => {
                if mutation {
                    return Outcome::Response { response: json!({"data": null, "errors": [e.to_json(key)]}) };
                }
                plan.errors.push(e.to_json(key));
                if nullable {
                    plan.data.insert(key.clone(), Value::Null);
                } else {
                    return Outcome::Response { response: json!({"data": null, "errors": plan.errors}) };
                }
            }
        }
    }
    if plan.fields.is_empty() {
        let mut response = json!({ "data": plan.data });
        if !plan.errors.is_empty() {
            response["errors"] = Value::Array(plan.errors);
        }
        return Outcome::Response { response };
    }
    Outcome::Plan(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::catalog;

    const SETTINGS: Settings = Settings { max_rows: 30, introspection: true };

    fn run(query: &str, variables: Option<Value>, method: Option<&str>) -> Value {
        let api = ApiSchema::build(catalog()).unwrap();
        let request = Request { query: Some(query), variables: variables.as_ref(), operation_name: None, method };
        serde_json::to_value(plan(&api, &request, SETTINGS)).unwrap()
    }

    fn codes(v: &Value) -> Vec<String> {
        v["response"]["errors"].as_array().into_iter().flatten().map(|e| e["extensions"]["code"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_query_compiles_into_one_statement_per_root_field_with_values_as_parameters() {
        let evil = "x'); DROP TABLE specstar_data.blog_post; --";
        let v = run(
            "query($t: String) { a: blogPostCollection(filter: {title: {eq: $t}}) { totalCount edges { node { title authorRecord { name } revisions(last: 3) { edges { node { revision } } } } } } b: personByPk(id: \"00000000-0000-0000-0000-000000000001\") { name } }",
            Some(json!({"t": evil})),
            None,
        );
        let fields = v["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 2, "{v}");
        assert_eq!(fields[0]["key"], "a");
        assert_eq!(fields[0]["nullable"], false);
        assert_eq!(fields[1]["nullable"], true);
        let sql = fields[0]["read"].as_str().unwrap();
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(fields[0]["params"].as_array().unwrap().contains(&json!(evil)));
        // nested selections are subqueries of the same statement
        assert!(sql.contains("\"api\".\"blog_post_revision\"") && sql.contains("\"api\".\"person\""), "{sql}");
        assert_eq!(sql.matches("LIMIT 31").count(), 1, "the root page fetches max_rows + 1: {sql}");
        assert_eq!(sql.matches("LIMIT 4").count(), 1, "revisions(last: 3) fetches 4: {sql}");
    }

    #[test]
    fn errors_that_need_no_database() {
        let parse = codes(&run("{ blogPostCollection { ", None, None));
        assert!(!parse.is_empty() && parse.iter().all(|c| c == "GRAPHQL_PARSE_FAILED"), "{parse:?}");
        assert_eq!(codes(&run("{ nope }", None, None)), vec!["GRAPHQL_VALIDATION_FAILED"]);
        assert_eq!(codes(&run("mutation { blogPostDiscard(id: \"00000000-0000-0000-0000-000000000001\") }", None, Some("GET"))), vec!["25006"]);
        assert_eq!(codes(&run("query($n: Int) { blogPostCollection(first: $n) { totalCount } }", Some(json!({"n": "x"})), None)), vec!["GRAPHQL_VALIDATION_FAILED"]);
        assert_eq!(codes(&run("query($n: Int) { blogPostCollection(first: $n) { totalCount } }", Some(json!([1])), None)), vec!["GRAPHQL_VALIDATION_FAILED"]);
        // variables as a JSON string (PostgREST over GET)
        let v = run("query($n: Int) { blogPostCollection(first: $n) { totalCount } }", Some(json!("{\"n\": 2}")), Some("GET"));
        assert!(v["fields"][0]["read"].as_str().unwrap().contains("LIMIT 3"), "{v}");
        // a mutation for a role that may write nothing is a permission error
        let mut c = catalog();
        for s in &mut c.specs {
            (s.insert, s.update, s.delete, s.drafts_write) = (false, false, false, false);
            s.functions.retain(|f| ["at", "as_of", "diff", "search"].contains(&f.as_str()));
        }
        let api = ApiSchema::build(c).unwrap();
        let q = "mutation { insertIntoBlogPostCollection(objects: [{title: \"x\"}]) { affectedCount } }";
        let v = serde_json::to_value(plan(&api, &Request { query: Some(q), variables: None, operation_name: None, method: None }, SETTINGS)).unwrap();
        assert_eq!(codes(&v), vec!["42501"]);
    }

    #[test]
    fn limits() {
        let deep = format!("{{ {}id{} }}", "blogPostCollection { edges { node { authorRecord { ".repeat(10), " } } } }".repeat(10));
        let v = run(&deep, None, None);
        assert_eq!(codes(&v)[0], "GRAPHQL_PARSE_FAILED", "{v}");
        let wide = format!("{{ {} }}", "a: __typename ".repeat(60_000));
        assert_eq!(codes(&run(&wide, None, None))[0], "GRAPHQL_PARSE_FAILED");
        let long = format!("{{ __typename }}{}", " ".repeat(MAX_DOCUMENT_BYTES));
        assert_eq!(codes(&run(&long, None, None)), vec!["GRAPHQL_PARSE_FAILED"]);
        // fragments spread in fragments multiply the fields a short document selects
        let mut doc = String::from("{ blogPostCollection { edges { node { ...F9 } } } } fragment F0 on BlogPost { id title }");
        for i in 1..10 {
            doc.push_str(&format!(" fragment F{i} on BlogPost {{ ...F{p} a{i}: title ...F{p} ...F{p} }}", p = i - 1));
        }
        let v = run(&doc, None, None);
        assert!(v["response"]["data"].is_null() && v["response"]["errors"][0]["extensions"]["code"] == "54001", "{v}");
        // a chain of fragments, each spreading the next (apollo-compiler stops long ones first)
        for n in [40, 300, 2500] {
            let mut doc = String::from("{ blogPostCollection { edges { node { ...F0 } } } }");
            for i in 0..n {
                doc.push_str(&format!(" fragment F{i} on BlogPost {{ ...F{} }}", i + 1));
            }
            doc.push_str(&format!(" fragment F{n} on BlogPost {{ id }}"));
            let v = run(&doc, None, None);
            let code = v["response"]["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_string();
            assert!(code == "54001" || code == "GRAPHQL_VALIDATION_FAILED", "{n}: {v}");
        }
        let mut filter = json!({"title": {"eq": "x"}});
        for _ in 0..40 {
            filter = json!({ "not": filter });
        }
        let v = run("query($f: BlogPostFilter) { blogPostCollection(filter: $f) { totalCount } }", Some(json!({ "f": filter })), None);
        assert_eq!(v["response"]["errors"][0]["extensions"]["code"], "22023", "{v}");
    }

    #[test]
    fn introspection_is_answered_here_and_can_be_turned_off() {
        let v = run("{ __schema { queryType { name } } __typename }", None, None);
        assert_eq!(v["response"]["data"]["__schema"]["queryType"]["name"], "Query", "{v}");
        assert_eq!(v["response"]["data"]["__typename"], "Query");
        let api = ApiSchema::build(catalog()).unwrap();
        let off = Settings { introspection: false, ..SETTINGS };
        let r = Request { query: Some("{ __schema { queryType { name } } }"), variables: None, operation_name: None, method: None };
        let v = serde_json::to_value(plan(&api, &r, off)).unwrap();
        assert_eq!(codes(&v), vec!["GRAPHQL_VALIDATION_FAILED"]);
    }
}
