//! The descriptor: the one typed shape of a registered spec version, as `register_spec`
//! returns it and `specstar.spec_versions.descriptor` keeps it. Everything that needs to
//! know a spec at run time — the revision trigger, search, and the capabilities to come
//! (GraphQL, the admin page, permissions, jobs) — reads this struct, never JSON by key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::Property;
use crate::options::{Language, Roles};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    pub name: String,
    pub version: String,
    pub api_schema: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// the tables behind the spec (schema-qualified, unquoted)
    pub storage: Storage,
    /// what PostgREST serves
    pub api: Api,
    /// the spec's properties, in column order
    pub properties: Vec<Property>,
    /// roles granted read and write access
    pub roles: Roles,
    /// the search index (null without `x-search` properties)
    pub search: Option<SearchIndex>,
    /// the job queue settings of a job spec (docs/jobs.md)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<crate::jobs::JobConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    pub table: String,
    pub history: String,
    pub drafts: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Api {
    pub resource: String,
    pub revisions: String,
    pub drafts: String,
    pub functions: Vec<String>,
}

/// What a spec's search index is built from: a change of it rebuilds the index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SearchIndex {
    /// the searchable properties, in column order (the index's field order)
    pub fields: Vec<String>,
    pub language: Language,
}

impl Descriptor {
    /// Reads a stored descriptor.
    pub fn from_json(value: &Value) -> Result<Descriptor, String> {
        Descriptor::deserialize(value).map_err(|e| format!("unreadable spec descriptor: {e}"))
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a descriptor serializes")
    }

    /// The names of the properties, in column order.
    pub fn property_names(&self) -> impl Iterator<Item = &str> {
        self.properties.iter().map(|p| p.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl;
    use crate::model::{Context, SpecModel};
    use serde_json::json;

    #[test]
    fn a_generated_descriptor_reads_back() {
        let m = SpecModel::build(
            "note",
            &json!({"type": "object", "title": "Note", "properties": {
                "text": {"type": "string", "x-search": true},
                "tags": {"type": "array", "items": {"type": "string"}},
                "n": {"type": "integer", "default": 1},
                "kind": {"enum": ["a", "b"]},
                "parent": {"type": "string", "format": "uuid", "x-ref": "note", "x-on-delete": "cascade"}}}),
            &json!({"search": {"language": "simple"}}),
            &Context { read_roles: vec!["r".into()], ..Default::default() },
        )
        .unwrap();
        let value = ddl::generate(&m, 5, &[]).descriptor;
        let d = Descriptor::from_json(&value).unwrap();
        assert_eq!(d.to_json(), value);
        assert_eq!(d.property_names().collect::<Vec<_>>(), ["kind", "n", "parent", "tags", "text"]);
        assert_eq!(d.search, Some(SearchIndex { fields: vec!["text".into()], language: Language::Simple }));
        assert_eq!(d.roles.read, ["r"]);
        assert_eq!(d.storage.table, "specstar_data.note");
        assert_eq!(value["properties"][3]["type"], "text[]");
        assert!(Descriptor::from_json(&json!({"name": "x"})).is_err());
    }
}
