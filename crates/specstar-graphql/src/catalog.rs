//! What the schema is built from: the specs of one API schema that the calling role may
//! read, with what it may do to each. The extension reads the descriptors and the role's
//! privileges; everything after is pure.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use specstar_core::descriptor::Descriptor;
use specstar_core::graphql_names::{camel, pascal, record_field};
use specstar_core::model::{ColumnType, Property, Scalar};

/// One spec as the role may use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecAccess {
    pub descriptor: Descriptor,
    /// INSERT, UPDATE, DELETE on the spec's view
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
    /// SELECT on the revision view
    pub revisions: bool,
    /// SELECT / INSERT (and UPDATE) on the draft view
    pub drafts_read: bool,
    pub drafts_write: bool,
    /// the RPC verbs the role may execute: at, as_of, diff, search, rollback, restore, patch,
    /// publish, discard
    pub functions: BTreeSet<String>,
}

impl SpecAccess {
    pub fn name(&self) -> &str {
        &self.descriptor.name
    }

    pub fn may(&self, verb: &str) -> bool {
        self.functions.contains(verb)
    }

    /// The GraphQL type name (`BlogPost`).
    pub fn type_name(&self) -> String {
        pascal(self.name())
    }

    /// The prefix of its root fields (`blogPost`).
    pub fn field_prefix(&self) -> String {
        camel(self.name())
    }

    pub fn searchable(&self) -> bool {
        self.descriptor.search.is_some()
    }

    /// The record's history field (`revisions`, or `_revisions` beside such a property).
    pub fn revisions_field(&self) -> String {
        record_field(self.descriptor.properties.iter().map(|p| p.name.as_str()), "revisions")
    }

    /// The record's working-copy field (`draft`, or `_draft` beside such a property).
    pub fn draft_field(&self) -> String {
        record_field(self.descriptor.properties.iter().map(|p| p.name.as_str()), "draft")
    }

    /// Whether a property's GraphQL field is `field`.
    pub fn has_property_field(&self, field: &str) -> bool {
        self.descriptor.properties.iter().any(|p| camel(&p.name) == field)
    }

    pub fn property_by_field(&self, field: &str) -> Option<&Property> {
        self.descriptor.properties.iter().find(|p| camel(&p.name) == field)
    }
}

/// The specs of one API schema the role may read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub api_schema: String,
    pub specs: Vec<SpecAccess>,
}

impl Catalog {
    pub fn spec(&self, name: &str) -> Option<&SpecAccess> {
        self.specs.iter().find(|s| s.name() == name)
    }

    pub fn by_type(&self, type_name: &str) -> Option<&SpecAccess> {
        self.specs.iter().find(|s| s.type_name() == type_name)
    }

    /// Every (spec, property) whose property references `target` (an `x-ref`), among the
    /// visible specs.
    pub fn referrers<'a>(&'a self, target: &str) -> impl Iterator<Item = (&'a SpecAccess, &'a Property)> + 'a {
        let target = target.to_string();
        self.specs.iter().flat_map(move |s| {
            let target = target.clone();
            s.descriptor
                .properties
                .iter()
                .filter(move |p| p.reference.as_ref().is_some_and(|r| r.spec == *target))
                .map(move |p| (s, p))
        })
    }
}

/// How a column reads and writes in GraphQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    BigInt,
    BigFloat,
    Boolean,
    Datetime,
    Date,
    Json,
    Int,
}

impl Kind {
    pub fn of(ty: ColumnType) -> (Kind, bool) {
        let scalar = |s: Scalar| match s {
            Scalar::Text => Kind::Text,
            Scalar::Timestamptz => Kind::Datetime,
            Scalar::Date => Kind::Date,
            Scalar::Uuid => Kind::Uuid,
            Scalar::Bigint => Kind::BigInt,
            Scalar::Numeric => Kind::BigFloat,
            Scalar::Boolean => Kind::Boolean,
        };
        match ty {
            ColumnType::Scalar(s) => (scalar(s), false),
            ColumnType::Array(s) => (scalar(s), true),
            ColumnType::Jsonb => (Kind::Json, false),
        }
    }

    /// The GraphQL scalar.
    pub fn graphql(self) -> &'static str {
        match self {
            Kind::Uuid => "UUID",
            Kind::Text => "String",
            Kind::BigInt => "BigInt",
            Kind::BigFloat => "BigFloat",
            Kind::Boolean => "Boolean",
            Kind::Datetime => "Datetime",
            Kind::Date => "Date",
            Kind::Json => "JSON",
            Kind::Int => "Int",
        }
    }

    /// The SQL type values are cast to.
    pub fn sql(self) -> &'static str {
        match self {
            Kind::Uuid => "pg_catalog.uuid",
            Kind::Text => "pg_catalog.text",
            Kind::BigInt => "pg_catalog.int8",
            Kind::BigFloat => "pg_catalog.numeric",
            Kind::Boolean => "pg_catalog.bool",
            Kind::Datetime => "pg_catalog.timestamptz",
            Kind::Date => "pg_catalog.date",
            Kind::Json => "pg_catalog.jsonb",
            Kind::Int => "pg_catalog.int4",
        }
    }

    /// The filter input of a column of this kind.
    pub fn filter(self, array: bool) -> String {
        match (self, array) {
            (Kind::Json, _) => "JSONFilter".into(),
            (k, true) => format!("{}ListFilter", k.graphql()),
            (k, false) => format!("{}Filter", k.graphql()),
        }
    }

    /// Whether rows can be ordered by it.
    pub fn orderable(self, array: bool) -> bool {
        !array && self != Kind::Json
    }
}
