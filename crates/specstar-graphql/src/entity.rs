//! The three kinds of rows a spec has in the API — its records (`api.<spec>`), their
//! revisions (`api.<spec>_revision`) and drafts (`api.<spec>_draft`) — and the columns each
//! exposes to GraphQL: the field name, the column, how it reads and writes.

use specstar_core::ddl::sql::QualifiedName;
use specstar_core::graphql_names::camel;

use crate::catalog::{Kind, SpecAccess};

#[derive(Clone, Copy)]
pub enum Entity<'a> {
    Record(&'a SpecAccess),
    Revision(&'a SpecAccess),
    Draft(&'a SpecAccess),
}

/// One column as a GraphQL field.
#[derive(Clone, Debug)]
pub struct Column {
    pub field: String,
    pub column: String,
    pub kind: Kind,
    pub array: bool,
}

fn c(field: &str, column: &str, kind: Kind) -> Column {
    Column { field: field.into(), column: column.into(), kind, array: false }
}

impl<'a> Entity<'a> {
    pub fn spec(&self) -> &'a SpecAccess {
        match self {
            Entity::Record(s) | Entity::Revision(s) | Entity::Draft(s) => s,
        }
    }

    /// The view its rows come from.
    pub fn relation(&self, api: &str) -> QualifiedName {
        let name = self.spec().name();
        match self {
            Entity::Record(_) => QualifiedName::new(api, name),
            Entity::Revision(_) => QualifiedName::new(api, &format!("{name}_revision")),
            Entity::Draft(_) => QualifiedName::new(api, &format!("{name}_draft")),
        }
    }

    /// The GraphQL type of a row.
    pub fn type_name(&self) -> String {
        let t = self.spec().type_name();
        match self {
            Entity::Record(_) => t,
            Entity::Revision(_) => format!("{t}Revision"),
            Entity::Draft(_) => format!("{t}Draft"),
        }
    }

    fn properties(&self) -> Vec<Column> {
        self.spec()
            .descriptor
            .properties
            .iter()
            .map(|p| {
                let (kind, array) = Kind::of(p.column_type);
                Column { field: camel(&p.name), column: p.name.clone(), kind, array }
            })
            .collect()
    }

    /// Every column it exposes.
    pub fn columns(&self) -> Vec<Column> {
        let mut out = vec![c("id", "id", Kind::Uuid)];
        match self {
            Entity::Record(_) => {
                out.extend(self.properties());
                out.extend([
                    c("revision", "revision", Kind::Int),
                    c("createdAt", "created_at", Kind::Datetime),
                    c("createdBy", "created_by", Kind::Text),
                    c("updatedAt", "updated_at", Kind::Datetime),
                    c("updatedBy", "updated_by", Kind::Text),
                ]);
            }
            Entity::Revision(_) => out.extend([
                c("revision", "revision", Kind::Int),
                c("parentRevision", "parent_revision", Kind::Int),
                c("op", "op", Kind::Text),
                c("data", "data", Kind::Json),
                c("schemaVersion", "schema_version", Kind::Text),
                c("validFrom", "valid_from", Kind::Datetime),
                c("validTo", "valid_to", Kind::Datetime),
                c("changedBy", "changed_by", Kind::Text),
                c("message", "message", Kind::Text),
            ]),
            Entity::Draft(_) => {
                out.extend(self.properties());
                out.extend([
                    c("baseRevision", "base_revision", Kind::Int),
                    c("updatedAt", "updated_at", Kind::Datetime),
                    c("updatedBy", "updated_by", Kind::Text),
                ]);
            }
        }
        out
    }

    pub fn column(&self, field: &str) -> Option<Column> {
        self.columns().into_iter().find(|c| c.field == field)
    }

    /// The columns that identify a row: the tiebreaker of every order.
    pub fn key(&self) -> Vec<Column> {
        match self {
            Entity::Revision(_) => vec![c("id", "id", Kind::Uuid), c("revision", "revision", Kind::Int)],
            _ => vec![c("id", "id", Kind::Uuid)],
        }
    }
}
