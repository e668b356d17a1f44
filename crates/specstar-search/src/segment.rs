//! Documents in, one immutable segment out, as a single blob plus a file table: what the
//! extension stores as one row.



use serde_json::Value;
use tantivy::directory::RamDirectory;
use tantivy::{Directory, Index, SegmentMeta, TantivyDocument};

use crate::cache::Tombstone;
use crate::schema::{settings, Config, IndexSchema};
use crate::{IndexError, Result};

/// One resource as the index sees it: its id, the write's sequence number and, per searchable
/// field (in `Config::fields` order), its text values (none, one, or an array's items).
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    pub id: String,
    pub seq: u64,
    pub fields: Vec<Vec<String>>,
}

/// A finished segment: its id (32 hex digits), document count, its files concatenated into
/// `data`, and the tombstones of the write that made it (or that a merge carried over). A
/// segment of a write that only deleted has no documents and no files.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentBlob {
    pub id: String,
    pub docs: u32,
    /// (file name, offset in data, length)
    pub files: Vec<(String, usize, usize)>,
    pub data: Vec<u8>,
    pub tombstones: Vec<Tombstone>,
}

/// A tombstone as stored: the resource id's 16 bytes, then the sequence number (big endian).
const TOMBSTONE_BYTES: usize = 24;

impl SegmentBlob {
    /// A segment that only carries tombstones.
    pub fn tombstones_only(tombstones: Vec<Tombstone>) -> SegmentBlob {
        SegmentBlob {
            id: tantivy::index::SegmentId::generate_random().uuid_string(),
            docs: 0,
            files: vec![],
            data: vec![],
            tombstones,
        }
    }

    /// The tombstones as the extension stores them (24 bytes each).
    pub fn tombstones_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.tombstones.len() * TOMBSTONE_BYTES);
        for t in &self.tombstones {
            out.extend_from_slice(&crate::uuid_bytes(&t.key)?);
            out.extend_from_slice(&t.seq.to_be_bytes());
        }
        Ok(out)
    }

    /// The inverse of [`SegmentBlob::tombstones_bytes`].
    pub fn parse_tombstones(bytes: &[u8]) -> Result<Vec<Tombstone>> {
        if !bytes.len().is_multiple_of(TOMBSTONE_BYTES) {
            return Err(IndexError(format!("damaged tombstones: {} bytes", bytes.len())));
        }
        Ok(bytes
            .chunks(TOMBSTONE_BYTES)
            .map(|c| {
                let key = crate::uuid_text(c[..16].try_into().expect("16 bytes"));
                let seq = u64::from_be_bytes(c[16..].try_into().expect("8 bytes"));
                Tombstone { key, seq }
            })
            .collect())
    }

    /// The file table as JSON (`[[name, offset, length], ...]`), as the extension stores it.
    pub fn files_json(&self) -> Value {
        Value::Array(self.files.iter().map(|(n, o, l)| serde_json::json!([n, o, l])).collect())
    }

    /// The inverse of [`SegmentBlob::files_json`].
    pub fn parse_files(files: &Value) -> Result<Vec<(String, usize, usize)>> {
        let bad = || IndexError(format!("damaged segment file table: {files}"));
        files
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|f| {
                let name = f.get(0).and_then(Value::as_str).ok_or_else(bad)?;
                let off = f.get(1).and_then(Value::as_u64).ok_or_else(bad)? as usize;
                let len = f.get(2).and_then(Value::as_u64).ok_or_else(bad)? as usize;
                Ok((name.to_string(), off, len))
            })
            .collect()
    }
}

/// tantivy sizes its term hash table from the memory budget (up to 512K slots for 64 MB);
/// zeroing a big table would cost a single-row write more than indexing the row.
fn writer_budget(docs: usize) -> usize {
    docs.saturating_mul(2 << 10).clamp(64 << 10, 64 << 20)
}

pub(crate) fn to_tantivy(schema: &IndexSchema, doc: &Doc) -> TantivyDocument {
    let mut d = TantivyDocument::new();
    d.add_text(schema.id, &doc.id);
    d.add_u64(schema.seq, doc.seq);
    for (field, values) in schema.fields.iter().zip(&doc.fields) {
        for v in values {
            d.add_text(*field, v);
        }
    }
    d
}

/// One segment out of several writes (pending rows, each its documents and tombstones): their
/// documents — without those a tombstone of the set hides when `drop_hidden` — and every
/// tombstone (they may hide documents elsewhere). Equivalent to the writes side by side;
/// `None` when there is nothing. Kept, hidden documents count in the BM25 statistics as they
/// did in the separate writes, so that a search scores the same however a backend grouped
/// the pending rows it read.
pub fn fold(config: &Config, writes: &[(Vec<Doc>, Vec<Tombstone>)], drop_hidden: bool) -> Result<Option<SegmentBlob>> {
    let mut newest: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for (_, tombstones) in writes {
        for t in tombstones {
            let seq = newest.entry(t.key.as_str()).or_insert(0);
            *seq = (*seq).max(t.seq);
        }
    }
    let docs: Vec<Doc> = writes
        .iter()
        .flat_map(|(docs, _)| docs.iter())
        .filter(|d| !drop_hidden || newest.get(d.id.as_str()).is_none_or(|seq| d.seq >= *seq))
        .cloned()
        .collect();
    let tombstones: Vec<Tombstone> = writes.iter().flat_map(|(_, t)| t.iter().cloned()).collect();
    build(config, &docs, tombstones)
}

/// Indexes `docs` into one new segment carrying `tombstones`; `None` when there is neither.
pub fn build(config: &Config, docs: &[Doc], tombstones: Vec<Tombstone>) -> Result<Option<SegmentBlob>> {
    if docs.is_empty() {
        return Ok((!tombstones.is_empty()).then(|| SegmentBlob::tombstones_only(tombstones)));
    }
    let schema = config.index_schema();
    let dir = RamDirectory::create();
    let mut writer = Index::builder()
        .schema(schema.schema.clone())
        .settings(settings())
        .tokenizers(schema.tokenizers.clone())
        .single_segment_index_writer(dir.clone(), writer_budget(docs.len()))?;
    for doc in docs {
        writer.add_document(to_tantivy(&schema, doc))?;
    }
    let index = writer.finalize()?;
    let mut blob = pack(&dir, &index)?;
    if let Some(b) = &mut blob {
        b.tombstones = tombstones;
    }
    Ok(blob)
}

/// The single segment of `index` (written into `dir`) as a blob.
pub(crate) fn pack(dir: &RamDirectory, index: &Index) -> Result<Option<SegmentBlob>> {
    let metas: Vec<SegmentMeta> = index.searchable_segment_metas()?;
    let Some(meta) = metas.first() else { return Ok(None) };
    if metas.len() != 1 {
        return Err(IndexError(format!("expected one segment, found {}", metas.len())));
    }
    let mut files = vec![];
    let mut data = vec![];
    let prefix = format!("{}.", meta.id().uuid_string());
    let mut paths: Vec<_> = index
        .directory()
        .list_managed_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().starts_with(&prefix))
        .collect();
    paths.sort();
    for path in paths {
        if !Directory::exists(dir, &path)? {
            continue;
        }
        let bytes = Directory::open_read(dir, &path)?.read_bytes()?;
        files.push((path.to_string_lossy().into_owned(), data.len(), bytes.len()));
        data.extend_from_slice(bytes.as_slice());
    }
    Ok(Some(SegmentBlob { id: meta.id().uuid_string(), docs: meta.max_doc(), files, data, tombstones: vec![] }))
}
