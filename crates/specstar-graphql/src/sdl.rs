//! The schema of a catalog as SDL: pg_graphql's conventions (collections, filters,
//! `orderBy`, cursors, `…ByPk`, `insertInto…`/`update…`/`deleteFrom…`), extended with
//! specstar's versioning fields and `x-ref` relationships. Only what the role may do is in it.

use std::fmt::Write;

use specstar_core::graphql_names::{camel, pascal, reference_field, referrers_field};
use specstar_core::model::Property;

use crate::catalog::{Catalog, Kind, SpecAccess};

const PRELUDE: &str = r#"scalar UUID
"A date and time, ISO 8601 (2024-06-01T12:00:00+00:00)."
scalar Datetime
"A date, ISO 8601 (2024-06-01)."
scalar Date
"A 64-bit integer: a string in results; an Int or a String as input."
scalar BigInt
"An exact decimal: a string in results; an Int, a Float or a String as input."
scalar BigFloat
"Any JSON value, as JSON (not a string)."
scalar JSON
"An opaque position in a list: pass a cursor back as after or before."
scalar Cursor

interface Node {
  "Identifies the record across the API: node(nodeId: ...) fetches it."
  nodeId: ID!
}

type PageInfo {
  startCursor: String
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
}

enum OrderByDirection {
  AscNullsFirst
  AscNullsLast
  DescNullsFirst
  DescNullsLast
}

enum FilterIs {
  NULL
  NOT_NULL
}

"What wrote a revision."
enum RevisionOp {
  create
  update
  delete
  restore
  rollback
  publish
  migrate
}

input IDFilter { eq: ID }
input UUIDFilter { eq: UUID neq: UUID in: [UUID!] is: FilterIs }
input BooleanFilter { eq: Boolean is: FilterIs }
input IntFilter { eq: Int neq: Int gt: Int gte: Int lt: Int lte: Int in: [Int!] is: FilterIs }
input BigIntFilter { eq: BigInt neq: BigInt gt: BigInt gte: BigInt lt: BigInt lte: BigInt in: [BigInt!] is: FilterIs }
input BigFloatFilter { eq: BigFloat neq: BigFloat gt: BigFloat gte: BigFloat lt: BigFloat lte: BigFloat in: [BigFloat!] is: FilterIs }
input DateFilter { eq: Date neq: Date gt: Date gte: Date lt: Date lte: Date in: [Date!] is: FilterIs }
input DatetimeFilter { eq: Datetime neq: Datetime gt: Datetime gte: Datetime lt: Datetime lte: Datetime in: [Datetime!] is: FilterIs }
input StringFilter {
  eq: String neq: String gt: String gte: String lt: String lte: String in: [String!] is: FilterIs
  startsWith: String like: String ilike: String regex: String iregex: String
}
input JSONFilter { contains: JSON containedBy: JSON hasKey: String is: FilterIs }
input RevisionOpFilter { eq: RevisionOp neq: RevisionOp in: [RevisionOp!] is: FilterIs }
"#;

/// The list filters (`contains`, `containedBy`, `eq`, `overlaps`, `is`) of the array
/// kinds a catalog uses.
fn list_filter(kind: Kind) -> String {
    let t = kind.graphql();
    format!("input {t}ListFilter {{ contains: [{t}!] containedBy: [{t}!] eq: [{t}!] overlaps: [{t}!] is: FilterIs }}\n")
}

/// A description line (GraphQL strings take JSON's escapes).
fn doc(out: &mut String, indent: &str, text: &str) {
    let _ = writeln!(out, "{indent}{}", serde_json::Value::String(text.to_string()));
}

fn property_doc(p: &Property) -> Option<String> {
    match (&p.title, &p.description) {
        (Some(t), Some(d)) => Some(format!("{t}: {d}")),
        (Some(t), None) => Some(t.clone()),
        (None, Some(d)) => Some(d.clone()),
        (None, None) => None,
    }
}

/// `T`, `[T]`, with `!` when required.
fn field_type(p: &Property, nullable: bool) -> String {
    let (kind, array) = Kind::of(p.column_type);
    let base = if array { format!("[{}]", kind.graphql()) } else { kind.graphql().to_string() };
    if p.required && !nullable {
        format!("{base}!")
    } else {
        base
    }
}

const PAGE_ARGS: &str = "first: Int, last: Int, before: Cursor, after: Cursor";

/// The SDL of a catalog.
pub fn sdl(catalog: &Catalog) -> String {
    let mut out = String::from("schema {\n  query: Query\n");
    let any_mutation = catalog.specs.iter().any(has_mutations);
    if any_mutation {
        out.push_str("  mutation: Mutation\n");
    }
    out.push_str("}\n\n");
    out.push_str(PRELUDE);
    let mut lists: Vec<Kind> = catalog
        .specs
        .iter()
        .flat_map(|s| s.descriptor.properties.iter())
        .filter_map(|p| match Kind::of(p.column_type) {
            (k, true) => Some(k),
            _ => None,
        })
        .collect();
    lists.sort_by_key(|k| k.graphql());
    lists.dedup();
    for k in lists {
        out.push_str(&list_filter(k));
    }
    for spec in &catalog.specs {
        out.push('\n');
        spec_types(&mut out, catalog, spec);
    }
    out.push_str("\ntype Query {\n");
    out.push_str("  \"The record with this nodeId, of any spec.\"\n  node(nodeId: ID!): Node\n");
    for spec in &catalog.specs {
        query_fields(&mut out, spec);
    }
    out.push_str("}\n");
    if any_mutation {
        out.push_str("\ntype Mutation {\n");
        for spec in &catalog.specs {
            mutation_fields(&mut out, spec);
        }
        out.push_str("}\n");
    }
    out
}

fn has_mutations(s: &SpecAccess) -> bool {
    s.insert
        || s.update
        || s.delete
        || s.drafts_write
        || ["patch", "rollback", "restore", "publish", "discard"].iter().any(|v| s.may(v))
}

/// A connection's arguments for a list of `t`.
fn collection_args(t: &str) -> String {
    format!("{PAGE_ARGS}, offset: Int, filter: {t}Filter, orderBy: [{t}OrderBy!]")
}

fn connection(out: &mut String, t: &str) {
    let _ = writeln!(out, "type {t}Connection {{\n  edges: [{t}Edge!]!\n  pageInfo: PageInfo!\n  \"How many records match the filter (counted only when asked for).\"\n  totalCount: Int!\n}}");
    let _ = writeln!(out, "type {t}Edge {{\n  cursor: String!\n  node: {t}!\n}}");
}

fn spec_types(out: &mut String, catalog: &Catalog, spec: &SpecAccess) {
    let d = &spec.descriptor;
    let t = spec.type_name();
    let props = &d.properties;
    // the record
    if let Some(desc) = d.title.as_ref().or(d.description.as_ref()) {
        doc(out, "", desc);
    }
    let _ = writeln!(out, "type {t} implements Node {{");
    out.push_str("  nodeId: ID!\n  id: UUID!\n");
    for p in props {
        if let Some(desc) = property_doc(p) {
            doc(out, "  ", &desc);
        }
        let _ = writeln!(out, "  {}: {}", camel(&p.name), field_type(p, false));
    }
    out.push_str("  revision: Int!\n  createdAt: Datetime!\n  createdBy: String!\n  updatedAt: Datetime!\n  updatedBy: String!\n");
    if spec.revisions {
        let _ = writeln!(out, "  \"History of this record, oldest first.\"\n  {}({PAGE_ARGS}): {t}RevisionConnection!", spec.revisions_field());
    }
    if spec.drafts_read {
        let _ = writeln!(out, "  \"The working copy of this record, if there is one.\"\n  {}: {t}Draft", spec.draft_field());
    }
    for p in props {
        if let Some(target) = p.reference.as_ref().and_then(|r| catalog.spec(&r.spec)) {
            let _ = writeln!(out, "  \"The {} record that {} points at.\"\n  {}: {}", target.name(), p.name, reference_field(&p.name), target.type_name());
        }
    }
    // (a property that happens to take a referrer field's name keeps it)
    for (referrer, p) in catalog.referrers(spec.name()).filter(|(r, p)| !spec.has_property_field(&referrers_field(r.name(), &p.name))) {
        let rt = referrer.type_name();
        let _ = writeln!(
            out,
            "  \"The {} records whose {} points at this one.\"\n  {}({}): {rt}Connection!",
            referrer.name(),
            p.name,
            referrers_field(referrer.name(), &p.name),
            collection_args(&rt)
        );
    }
    out.push_str("}\n");
    connection(out, &t);
    // filter and order
    let _ = writeln!(out, "input {t}Filter {{\n  nodeId: IDFilter\n  id: UUIDFilter");
    for p in props {
        let (kind, array) = Kind::of(p.column_type);
        let _ = writeln!(out, "  {}: {}", camel(&p.name), kind.filter(array));
    }
    out.push_str("  revision: IntFilter\n  createdAt: DatetimeFilter\n  createdBy: StringFilter\n  updatedAt: DatetimeFilter\n  updatedBy: StringFilter\n");
    for p in props {
        if let Some(target) = p.reference.as_ref().and_then(|r| catalog.spec(&r.spec)) {
            let _ = writeln!(out, "  \"Records whose {} matches this filter.\"\n  {}: {}Filter", p.name, reference_field(&p.name), target.type_name());
        }
    }
    let _ = writeln!(out, "  and: [{t}Filter!]\n  or: [{t}Filter!]\n  not: {t}Filter\n}}");
    let _ = writeln!(out, "input {t}OrderBy {{\n  id: OrderByDirection");
    for p in props.iter().filter(|p| {
        let (k, a) = Kind::of(p.column_type);
        k.orderable(a)
    }) {
        let _ = writeln!(out, "  {}: OrderByDirection", camel(&p.name));
    }
    out.push_str("  revision: OrderByDirection\n  createdAt: OrderByDirection\n  createdBy: OrderByDirection\n  updatedAt: OrderByDirection\n  updatedBy: OrderByDirection\n}\n");
    // writes
    if spec.insert || spec.update || spec.drafts_write {
        let _ = writeln!(out, "input {t}InsertInput {{\n  id: UUID");
        for p in props {
            let _ = writeln!(out, "  {}: {}", camel(&p.name), field_type(p, true));
        }
        out.push_str("}\n");
        let _ = writeln!(out, "input {t}UpdateInput {{");
        for p in props {
            let _ = writeln!(out, "  {}: {}", camel(&p.name), field_type(p, true));
        }
        out.push_str("}\n");
    }
    if spec.insert {
        let _ = writeln!(out, "type {t}InsertResponse {{\n  affectedCount: Int!\n  records: [{t}!]!\n}}");
        let _ = writeln!(out, "\"The columns of {}: onConflict names them.\"\nenum {t}Column {{\n  id", spec.name());
        for p in props {
            let _ = writeln!(out, "  {}", camel(&p.name));
        }
        out.push_str("}\n");
        let _ = writeln!(
            out,
            "\"An upsert: on a clash of `on` (id, or an x-unique property), the columns in `update` are written as an update.\"\ninput {t}OnConflict {{\n  on: [{t}Column!]!\n  update: [{t}Column!]!\n}}"
        );
    }
    if spec.update {
        let _ = writeln!(out, "type {t}UpdateResponse {{\n  affectedCount: Int!\n  records: [{t}!]!\n}}");
    }
    if spec.delete {
        let _ = writeln!(out, "type {t}DeleteResponse {{\n  affectedCount: Int!\n  records: [{t}!]!\n}}");
    }
    // revisions
    if spec.revisions {
        let _ = writeln!(
            out,
            "type {t}Revision {{\n  id: UUID!\n  revision: Int!\n  parentRevision: Int\n  op: RevisionOp!\n  data: JSON!\n  schemaVersion: String!\n  validFrom: Datetime!\n  validTo: Datetime\n  changedBy: String!\n  message: String\n}}"
        );
        connection(out, &format!("{t}Revision"));
        let _ = writeln!(
            out,
            "input {t}RevisionFilter {{\n  id: UUIDFilter\n  revision: IntFilter\n  parentRevision: IntFilter\n  op: RevisionOpFilter\n  schemaVersion: StringFilter\n  validFrom: DatetimeFilter\n  validTo: DatetimeFilter\n  changedBy: StringFilter\n  message: StringFilter\n  and: [{t}RevisionFilter!]\n  or: [{t}RevisionFilter!]\n  not: {t}RevisionFilter\n}}"
        );
        let _ = writeln!(
            out,
            "input {t}RevisionOrderBy {{\n  id: OrderByDirection\n  revision: OrderByDirection\n  validFrom: OrderByDirection\n  changedBy: OrderByDirection\n}}"
        );
    }
    // drafts
    if spec.drafts_read || spec.drafts_write {
        let _ = writeln!(out, "type {t}Draft {{\n  id: UUID!");
        for p in props {
            let _ = writeln!(out, "  {}: {}", camel(&p.name), field_type(p, true));
        }
        out.push_str("  \"The live revision the draft started from (none for a new record).\"\n  baseRevision: Int\n  updatedAt: Datetime!\n  updatedBy: String!\n}\n");
    }
    if spec.drafts_read {
        connection(out, &format!("{t}Draft"));
        let _ = writeln!(out, "input {t}DraftFilter {{\n  id: UUIDFilter");
        for p in props {
            let (kind, array) = Kind::of(p.column_type);
            let _ = writeln!(out, "  {}: {}", camel(&p.name), kind.filter(array));
        }
        let _ = writeln!(
            out,
            "  baseRevision: IntFilter\n  updatedAt: DatetimeFilter\n  updatedBy: StringFilter\n  and: [{t}DraftFilter!]\n  or: [{t}DraftFilter!]\n  not: {t}DraftFilter\n}}"
        );
        let _ = writeln!(out, "input {t}DraftOrderBy {{\n  id: OrderByDirection");
        for p in props.iter().filter(|p| {
            let (k, a) = Kind::of(p.column_type);
            k.orderable(a)
        }) {
            let _ = writeln!(out, "  {}: OrderByDirection", camel(&p.name));
        }
        out.push_str("  updatedAt: OrderByDirection\n}\n");
    }
    if spec.searchable() && spec.may("search") {
        let _ = writeln!(out, "type {t}SearchHit {{\n  \"BM25 relevance.\"\n  score: Float!\n  \"Per matching field, its text with the matched words in <b>…</b>.\"\n  highlights: JSON!\n  node: {t}!\n}}");
    }
}

fn query_fields(out: &mut String, spec: &SpecAccess) {
    let (c, t) = (spec.field_prefix(), spec.type_name());
    let _ = writeln!(out, "  {c}Collection({}): {t}Connection!", collection_args(&t));
    let _ = writeln!(out, "  {c}ByPk(id: UUID!): {t}");
    if spec.may("at") {
        let _ = writeln!(out, "  \"The record at a revision, or as it was at a time (give one).\"\n  {c}At(id: UUID!, revision: Int, at: Datetime): {t}");
    }
    if spec.may("as_of") {
        let _ = writeln!(out, "  \"The records as they were at a time.\"\n  {c}AsOf(at: Datetime!, {}): {t}Connection!", collection_args(&t));
    }
    if spec.revisions {
        let _ = writeln!(out, "  \"Every revision of one record (also a deleted one), oldest first.\"\n  {c}Revisions(id: UUID!, {PAGE_ARGS}): {t}RevisionConnection!");
        let _ = writeln!(out, "  {c}RevisionCollection({}): {t}RevisionConnection!", collection_args(&format!("{t}Revision")));
    }
    if spec.may("diff") {
        let _ = writeln!(out, "  \"The RFC 6902 JSON Patch from one revision to another (default: the current one).\"\n  {c}Diff(id: UUID!, fromRevision: Int!, toRevision: Int): JSON");
    }
    if spec.searchable() && spec.may("search") {
        let _ = writeln!(out, "  \"Full-text search (BM25), best first; filter applies before top and skip.\"\n  {c}Search(q: String!, top: Int = 20, skip: Int = 0, filter: {t}Filter): [{t}SearchHit!]!");
    }
    if spec.drafts_read {
        let _ = writeln!(out, "  {c}DraftCollection({}): {t}DraftConnection!", collection_args(&format!("{t}Draft")));
    }
}

fn mutation_fields(out: &mut String, spec: &SpecAccess) {
    let (c, t) = (spec.field_prefix(), spec.type_name());
    let p = pascal(spec.name());
    if spec.insert {
        let _ = writeln!(out, "  insertInto{p}Collection(objects: [{t}InsertInput!]!, onConflict: {t}OnConflict): {t}InsertResponse");
    }
    if spec.update {
        let _ = writeln!(
            out,
            "  \"Every matched record must be at expectedRevision when it is given.\"\n  update{p}Collection(set: {t}UpdateInput!, filter: {t}Filter, atMost: Int! = 1, expectedRevision: Int): {t}UpdateResponse!"
        );
    }
    if spec.delete {
        let _ = writeln!(out, "  deleteFrom{p}Collection(filter: {t}Filter, atMost: Int! = 1, expectedRevision: Int): {t}DeleteResponse!");
    }
    if spec.may("patch") {
        let _ = writeln!(out, "  \"Applies an RFC 6902 JSON Patch as one revision.\"\n  {c}Patch(id: UUID!, patch: JSON!, expectedRevision: Int): {t}!");
    }
    if spec.may("rollback") {
        let _ = writeln!(out, "  \"A new revision with the data of toRevision.\"\n  {c}Rollback(id: UUID!, toRevision: Int!, expectedRevision: Int): {t}!");
    }
    if spec.may("restore") {
        let _ = writeln!(out, "  \"Brings a deleted record back.\"\n  {c}Restore(id: UUID!): {t}!");
    }
    if spec.drafts_write {
        let _ = writeln!(out, "  \"Saves a working copy (without id: of a new record); keys left out keep their values.\"\n  {c}SaveDraft(id: UUID, set: {t}UpdateInput!): {t}Draft!");
    }
    if spec.may("publish") {
        let _ = writeln!(out, "  \"The draft becomes the record's next revision.\"\n  {c}Publish(id: UUID!, force: Boolean = false): {t}!");
    }
    if spec.may("discard") {
        let _ = writeln!(out, "  \"Drops the draft.\"\n  {c}Discard(id: UUID!): Boolean!");
    }
}
