//! The names a spec takes in the GraphQL schema (docs/graphql.md), decided here so that
//! registration can refuse a spec whose names would clash: pg_graphql's inflection
//! (`blog_post` → types `BlogPost…`, fields `blogPost…`; `view_count` → `viewCount`).

use heck::{ToLowerCamelCase, ToUpperCamelCase};

/// `blog_post` → `BlogPost`.
pub fn pascal(name: &str) -> String {
    name.to_upper_camel_case()
}

/// `view_count` → `viewCount`.
pub fn camel(name: &str) -> String {
    name.to_lower_camel_case()
}

/// Types every schema has (GraphQL's own, the scalars, the shared inputs and enums).
pub const BUILTIN_TYPES: &[&str] = &[
    "Query", "Mutation", "Node", "PageInfo", "OrderByDirection", "FilterIs", "RevisionOp", "ID", "String", "Int",
    "Float", "Boolean", "UUID", "Datetime", "Date", "BigInt", "BigFloat", "JSON", "Cursor", "IDFilter", "UUIDFilter",
    "BooleanFilter", "IntFilter", "BigIntFilter", "BigFloatFilter", "DateFilter", "DatetimeFilter", "StringFilter",
    "JSONFilter", "RevisionOpFilter", "StringListFilter", "UUIDListFilter", "BigIntListFilter", "BigFloatListFilter",
    "BooleanListFilter", "DateListFilter", "DatetimeListFilter",
];

/// Suffixes of the types a spec generates beside its own (`BlogPost`).
pub const TYPE_SUFFIXES: &[&str] = &[
    "", "Connection", "Edge", "Filter", "OrderBy", "InsertInput", "UpdateInput", "InsertResponse", "UpdateResponse",
    "DeleteResponse", "OnConflict", "Column", "Revision", "RevisionConnection", "RevisionEdge", "RevisionFilter",
    "RevisionOrderBy", "Draft", "DraftConnection", "DraftEdge", "DraftFilter", "DraftOrderBy", "SearchHit",
];

/// The GraphQL types a spec generates.
pub fn type_names(spec: &str) -> Vec<String> {
    let p = pascal(spec);
    TYPE_SUFFIXES.iter().map(|s| format!("{p}{s}")).collect()
}

/// The root fields (queries and mutations) a spec generates.
pub fn root_fields(spec: &str) -> Vec<String> {
    let (c, p) = (camel(spec), pascal(spec));
    let mut out: Vec<String> = ["Collection", "ByPk", "At", "AsOf", "Revisions", "RevisionCollection", "Diff", "Search", "DraftCollection",
        "Patch", "Rollback", "Restore", "SaveDraft", "Publish", "Discard"]
        .iter()
        .map(|s| format!("{c}{s}"))
        .collect();
    out.extend([format!("insertInto{p}Collection"), format!("update{p}Collection"), format!("deleteFrom{p}Collection")]);
    out
}

/// Fields of a spec's record type that are not properties, and that no property may take.
pub const SYSTEM_FIELDS: &[&str] = &["nodeId", "id", "revision", "createdAt", "createdBy", "updatedAt", "updatedBy", "baseRevision"];

/// The record's history (`revisions`) and working copy (`draft`) fields: their plain name,
/// or with a leading underscore when a property already takes it (`_draft` beside a
/// boolean property `draft`).
pub fn record_field<'a>(mut property_fields: impl Iterator<Item = &'a str>, field: &str) -> String {
    if property_fields.any(|p| camel(p) == field) {
        format!("_{field}")
    } else {
        field.to_string()
    }
}

/// The field of a record that returns the record a property (`x-ref`) points at: the
/// property's name with `Record` appended (`author` → `authorRecord`).
pub fn reference_field(property: &str) -> String {
    format!("{}Record", camel(property))
}

/// The field of the referenced spec's record listing the records that point at it:
/// `<spec>CollectionBy<Property>` (`blog_post.author` → `blogPostCollectionByAuthor`).
pub fn referrers_field(spec: &str, property: &str) -> String {
    format!("{}CollectionBy{}", camel(spec), pascal(property))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflection() {
        assert_eq!(pascal("blog_post"), "BlogPost");
        assert_eq!(camel("blog_post"), "blogPost");
        assert_eq!(camel("view_count"), "viewCount");
        assert_eq!(camel("viewCount"), "viewCount");
        assert_eq!(camel("a1_b"), "a1B");
        assert_eq!(type_names("blog_post")[0], "BlogPost");
        assert!(root_fields("blog_post").contains(&"insertIntoBlogPostCollection".to_string()));
        assert_eq!(reference_field("author"), "authorRecord");
        assert_eq!(record_field(["title", "draft"].into_iter(), "draft"), "_draft");
        assert_eq!(record_field(["title"].into_iter(), "draft"), "draft");
        assert_eq!(referrers_field("blog_post", "author"), "blogPostCollectionByAuthor");
    }
}
