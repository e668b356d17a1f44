//! The history row, defined once: its columns in table order, used by the table's DDL, the
//! revision view, the migrations that copy revisions into it, and the revision trigger that
//! writes it (which also checks at run time that the table still has exactly these columns).

/// Name and SQL type of each history column, in table order.
pub const COLUMNS: [(&str, &str); 12] = [
    ("id", "uuid"),
    ("revision", "integer"),
    ("parent_revision", "integer"),
    ("op", "text"),
    ("data", "jsonb"),
    ("schema_version", "text"),
    ("valid_from", "timestamptz"),
    ("valid_to", "timestamptz"),
    ("changed_by", "text"),
    ("message", "text"),
    ("created_at", "timestamptz"),
    ("created_by", "text"),
];

/// Positions in [`COLUMNS`].
pub mod col {
    pub const ID: usize = 0;
    pub const REVISION: usize = 1;
    pub const PARENT_REVISION: usize = 2;
    pub const OP: usize = 3;
    pub const DATA: usize = 4;
    pub const SCHEMA_VERSION: usize = 5;
    pub const VALID_FROM: usize = 6;
    pub const VALID_TO: usize = 7;
    pub const CHANGED_BY: usize = 8;
    pub const MESSAGE: usize = 9;
    pub const CREATED_AT: usize = 10;
    pub const CREATED_BY: usize = 11;
}

/// Columns that may be NULL: the first revision has no parent, the current one no end, and
/// a revision need not carry a message.
const NULLABLE: &[&str] = &["parent_revision", "valid_to", "message"];

/// `id, revision, ...`: the column list of an INSERT.
pub fn column_list() -> String {
    COLUMNS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// The column definitions of `CREATE TABLE`, with the primary key.
pub fn table_body() -> String {
    let mut lines: Vec<String> = COLUMNS
        .iter()
        .map(|(n, t)| if NULLABLE.contains(n) { format!("{n} {t}") } else { format!("{n} {t} NOT NULL") })
        .collect();
    lines.push("PRIMARY KEY (id, revision)".to_string());
    lines.join(",\n  ")
}

/// The history row that supersedes a live row (alias `live`): what the revision trigger
/// writes for it, as a SELECT list in [`COLUMNS`] order. `data` and `valid_to` are SQL
/// expressions.
pub fn superseded(live: &str, data: &str, valid_to: &str) -> String {
    COLUMNS
        .iter()
        .map(|(name, _)| match *name {
            "parent_revision" => format!("{live}._parent"),
            "op" => format!("{live}._op"),
            "data" => data.to_string(),
            "schema_version" => format!("{live}._version"),
            "valid_from" => format!("{live}.updated_at"),
            "valid_to" => valid_to.to_string(),
            "changed_by" => format!("{live}.updated_by"),
            "message" => format!("{live}._message"),
            same => format!("{live}.{same}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_the_columns() {
        let at = |i: usize| COLUMNS[i].0;
        assert_eq!(at(col::ID), "id");
        assert_eq!(at(col::REVISION), "revision");
        assert_eq!(at(col::PARENT_REVISION), "parent_revision");
        assert_eq!(at(col::OP), "op");
        assert_eq!(at(col::DATA), "data");
        assert_eq!(at(col::SCHEMA_VERSION), "schema_version");
        assert_eq!(at(col::VALID_FROM), "valid_from");
        assert_eq!(at(col::VALID_TO), "valid_to");
        assert_eq!(at(col::CHANGED_BY), "changed_by");
        assert_eq!(at(col::MESSAGE), "message");
        assert_eq!(at(col::CREATED_AT), "created_at");
        assert_eq!(at(col::CREATED_BY), "created_by");
        assert!(table_body().contains("parent_revision integer,\n"));
        assert!(table_body().contains("data jsonb NOT NULL,\n"));
        assert!(column_list().starts_with("id, revision, parent_revision, op, data"));
        assert_eq!(
            superseded("m", "m.old", "now()"),
            "m.id, m.revision, m._parent, m._op, m.old, m._version, m.updated_at, now(), m.updated_by, m._message, m.created_at, m.created_by"
        );
    }
}
