//! specstar's GraphQL API, as pure Rust (docs/graphql.md): the schema of the specs a role
//! may use ([`sdl`]), and a request — parsed and validated by apollo-compiler — turned
//! into one SQL statement per root field ([`plan`]). The extension runs the statements and
//! puts the answers together ([`response`]); nothing here touches a database.

pub mod catalog;
pub mod entity;
pub mod mutation;
pub mod plan;
pub mod query;
pub mod sdl;
pub mod sql;

pub use catalog::{Catalog, SpecAccess};

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};

/// A catalog's schema, ready to validate documents against.
pub struct ApiSchema {
    pub sdl: String,
    pub schema: Valid<Schema>,
    pub catalog: Catalog,
    /// documents already validated against this schema, by their text
    pub documents: Documents,
}

impl ApiSchema {
    pub fn build(catalog: Catalog) -> Result<ApiSchema, String> {
        let sdl = sdl::sdl(&catalog);
        let schema = Schema::parse_and_validate(sdl.as_str(), "schema.graphql").map_err(|e| format!("the generated schema is invalid: {}", e.errors))?;
        Ok(ApiSchema { sdl, schema, catalog, documents: Documents::default() })
    }
}

/// The last [`Documents::ENTRIES`] valid documents (of at most [`Documents::MAX_BYTES`]
/// each): GraphQL clients send the same documents with other variables, and parsing and
/// validating is half the cost of planning one.
#[derive(Default)]
pub struct Documents {
    entries: RefCell<VecDeque<(String, Rc<Valid<ExecutableDocument>>)>>,
}

impl Documents {
    pub const ENTRIES: usize = 64;
    pub const MAX_BYTES: usize = 16 << 10;

    pub fn get(&self, text: &str) -> Option<Rc<Valid<ExecutableDocument>>> {
        let mut entries = self.entries.borrow_mut();
        let i = entries.iter().position(|(t, _)| t == text)?;
        let entry = entries.remove(i)?;
        let doc = entry.1.clone();
        entries.push_front(entry);
        Some(doc)
    }

    /// Keeps a valid document (a short one) and returns it.
    pub fn put(&self, text: &str, doc: Valid<ExecutableDocument>) -> Rc<Valid<ExecutableDocument>> {
        let doc = Rc::new(doc);
        if text.len() <= Self::MAX_BYTES {
            let mut entries = self.entries.borrow_mut();
            entries.truncate(Self::ENTRIES - 1);
            entries.push_front((text.to_string(), doc.clone()));
        }
        doc
    }

    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use specstar_core::model::{Context, SpecModel};

    /// A catalog of `person` and `blog_post` (author → person), with every privilege.
    pub fn catalog() -> Catalog {
        let person = json!({"type": "object", "properties": {"name": {"type": "string"}, "born": {"type": "string", "format": "date"}}, "required": ["name"]});
        let post = json!({"type": "object", "title": "Blog post", "properties": {
            "title": {"type": "string", "minLength": 1, "description": "Headline"},
            "view_count": {"type": "integer", "default": 0}, "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "object"}, "body": {"type": "string", "x-search": true}, "score_avg": {"type": "number"},
            "published": {"type": "boolean"}, "at": {"type": "string", "format": "date-time"},
            "author": {"type": "string", "format": "uuid", "x-ref": "person"}}, "required": ["title"]});
        let spec = |name: &str, schema: &serde_json::Value, others: Vec<String>| {
            let m = SpecModel::build(name, schema, &json!({}), &Context { specs: others, ..Default::default() }).unwrap();
            let d = specstar_core::descriptor::Descriptor::from_json(&specstar_core::ddl::generate(&m, 1, &[]).descriptor).unwrap();
            SpecAccess {
                descriptor: d,
                insert: true,
                update: true,
                delete: true,
                revisions: true,
                drafts_read: true,
                drafts_write: true,
                functions: ["at", "as_of", "diff", "search", "rollback", "restore", "patch", "publish", "discard"].iter().map(|s| s.to_string()).collect(),
            }
        };
        Catalog { api_schema: "api".into(), specs: vec![spec("person", &person, vec![]), spec("blog_post", &post, vec!["person".into()])] }
    }

    #[test]
    fn the_schema_of_a_catalog_is_valid_graphql() {
        let s = ApiSchema::build(catalog()).unwrap();
        assert!(s.sdl.contains("type BlogPost implements Node {"), "{}", s.sdl);
        assert!(s.sdl.contains("  viewCount: BigInt\n"));
        assert!(s.sdl.contains("  authorRecord: Person\n"));
        assert!(s.sdl.contains("blogPostCollectionByAuthor(first: Int"));
        assert!(s.sdl.contains("input StringListFilter"));
        assert!(s.sdl.contains("insertIntoBlogPostCollection(objects: [BlogPostInsertInput!]!, onConflict: BlogPostOnConflict): BlogPostInsertResponse"));
    }

    #[test]
    fn a_property_may_take_the_name_of_the_history_and_draft_fields() {
        let schema = json!({"type": "object", "properties": {"draft": {"type": "boolean"}, "revisions": {"type": "integer"}}});
        let m = SpecModel::build("page", &schema, &json!({}), &Context::default()).unwrap();
        let d = specstar_core::descriptor::Descriptor::from_json(&specstar_core::ddl::generate(&m, 1, &[]).descriptor).unwrap();
        let mut c = catalog();
        let mut page = c.specs[0].clone();
        page.descriptor = d;
        c.specs = vec![page];
        let s = ApiSchema::build(c).unwrap();
        assert!(s.sdl.contains("  draft: Boolean\n") && s.sdl.contains("  _draft: PageDraft\n"), "{}", s.sdl);
        assert!(s.sdl.contains("  revisions: BigInt\n") && s.sdl.contains("  _revisions(first: Int"), "{}", s.sdl);
    }

    #[test]
    fn valid_documents_are_kept_for_the_next_request_within_bounds() {
        use crate::plan::{plan, Request, Settings};
        let api = ApiSchema::build(catalog()).unwrap();
        let settings = Settings { max_rows: 30, introspection: true };
        let run = |q: &str, v: serde_json::Value| {
            serde_json::to_value(plan(&api, &Request { query: Some(q), variables: Some(&v), operation_name: None, method: None }, settings)).unwrap()
        };
        let q = "query($id: UUID!) { blogPostByPk(id: $id) { title } }";
        let a = run(q, json!({"id": "00000000-0000-0000-0000-000000000001"}));
        assert_eq!(api.documents.len(), 1);
        let b = run(q, json!({"id": "00000000-0000-0000-0000-000000000002"}));
        assert_eq!(api.documents.len(), 1);
        assert_eq!(a["fields"][0]["read"], b["fields"][0]["read"]);
        assert_ne!(a["fields"][0]["params"], b["fields"][0]["params"]);
        // invalid documents are not kept; the cache stays bounded
        run("{ nope }", json!({}));
        for i in 0..200 {
            run(&format!("{{ a{i}: blogPostCollection {{ totalCount }} }}"), json!({}));
        }
        assert_eq!(api.documents.len(), Documents::ENTRIES);
        run(&format!("{{ blogPostCollection {{ totalCount }} }}{}", " ".repeat(Documents::MAX_BYTES)), json!({}));
        assert_eq!(api.documents.len(), Documents::ENTRIES);
        // a kept document answers like a new one, variables checked again
        let c = run(q, json!({"id": null}));
        assert_eq!(c["response"]["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{c}");
    }

    #[test]
    fn the_schema_follows_the_privileges() {
        let mut c = catalog();
        for s in &mut c.specs {
            s.insert = false;
            s.update = false;
            s.delete = false;
            s.drafts_read = false;
            s.drafts_write = false;
            s.functions.retain(|f| ["at", "as_of", "diff", "search"].contains(&f.as_str()));
        }
        let s = ApiSchema::build(c).unwrap();
        assert!(!s.sdl.contains("type Mutation"), "{}", s.sdl);
        assert!(!s.sdl.contains("Draft"));
        assert!(s.sdl.contains("blogPostSearch("));
        let empty = ApiSchema::build(Catalog { api_schema: "api".into(), specs: vec![] }).unwrap();
        assert!(empty.sdl.contains("node(nodeId: ID!): Node"));
    }
}
