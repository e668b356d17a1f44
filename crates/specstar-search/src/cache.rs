//! A backend's copy of one spec's index: the segment blobs it has loaded (segments are immutable
//! and their ids never reused, so a loaded blob never goes stale), the tombstones it has resolved
//! against them, and the searcher over the set of segments the caller's snapshot sees.
//!
//! A tombstone `(key, seq)` hides every document of resource `key` written with a smaller `seq`.
//! Resolving a tombstone against a segment gives doc ids that never change, so each (segment,
//! tombstone) pair is resolved once; the union over the visible tombstones becomes that segment's
//! tantivy delete file, which tantivy's own search and merge code then honour.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tantivy::collector::TopDocs;
use tantivy::directory::{ManagedDirectory, RamDirectory, TerminatingWrite};
use tantivy::fastfield::write_alive_bitset;
use tantivy::index::SegmentId;
use tantivy::query::Query;
use tantivy::schema::IndexRecordOption;
use tantivy::{BitSet, DocId, Index, IndexReader, ReloadPolicy, SegmentReader, Term};
pub use tantivy::Searcher;

use crate::schema::{settings, Config, IndexSchema};
use crate::segment::{pack, SegmentBlob};
use crate::{IndexError, Result};

/// A visible tombstone: its row id (unique, never reused), the resource id and sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub id: i64,
    pub key: String,
    pub seq: u64,
}

struct Loaded {
    docs: u32,
    reader: SegmentReader,
}

/// What a segment looks like in the open searcher.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Deletes {
    killed: Vec<DocId>,
    opstamp: u64,
}

pub struct IndexCache {
    pub config: Config,
    schema: IndexSchema,
    dir: RamDirectory,
    base: Index,
    meta_template: Value,
    loaded: HashMap<String, Loaded>,
    /// per segment: tombstone id -> the docs it kills there (empty: resolved, kills nothing)
    resolved: HashMap<String, HashMap<i64, Vec<DocId>>>,
    deletes: HashMap<String, Deletes>,
    next_opstamp: u64,
    current: Option<(Vec<(String, u64)>, IndexReader, Searcher)>,
}

/// What an open index says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments: usize,
    pub documents: u64,
    pub deleted: u64,
}

impl IndexCache {
    pub fn new(config: Config) -> Result<IndexCache> {
        let schema = config.index_schema();
        let dir = RamDirectory::create();
        let base = Index::create(dir.clone(), schema.schema.clone(), settings())?;
        let meta_template: Value = serde_json::from_slice(&tantivy::Directory::atomic_read(&dir, Path::new("meta.json"))?)?;
        Ok(IndexCache {
            config,
            schema,
            dir,
            base,
            meta_template,
            loaded: HashMap::new(),
            resolved: HashMap::new(),
            deletes: HashMap::new(),
            next_opstamp: 1,
            current: None,
        })
    }

    pub fn schema(&self) -> &IndexSchema {
        &self.schema
    }

    pub fn is_loaded(&self, segment: &str) -> bool {
        self.loaded.contains_key(segment)
    }

    /// Bytes of loaded segments.
    pub fn loaded_segments(&self) -> usize {
        self.loaded.len()
    }

    /// Takes a segment's files into memory.
    pub fn load(&mut self, blob: &SegmentBlob) -> Result<()> {
        if self.loaded.contains_key(&blob.id) {
            return Ok(());
        }
        for (name, off, len) in &blob.files {
            let end = off.checked_add(*len).filter(|e| *e <= blob.data.len());
            let Some(end) = end else {
                return Err(IndexError(format!("segment {}: file {name} lies outside the segment's bytes", blob.id)));
            };
            let path = PathBuf::from(name);
            if tantivy::Directory::exists(&self.dir, &path)? {
                continue;
            }
            let mut w = tantivy::Directory::open_write(&self.dir, &path)?;
            w.write_all(&blob.data[*off..end])?;
            w.terminate()?;
        }
        let id = SegmentId::from_uuid_string(&blob.id).map_err(|e| IndexError(format!("segment id {}: {e:?}", blob.id)))?;
        let segment = self.base.segment(self.base.new_segment_meta(id, blob.docs));
        let reader = SegmentReader::open(&segment)?;
        self.loaded.insert(blob.id.clone(), Loaded { docs: blob.docs, reader });
        Ok(())
    }

    /// Forgets segments that are not in `keep` (no longer visible: merged away or rolled back).
    pub fn evict_except(&mut self, keep: &[String]) -> Result<()> {
        let keep: HashSet<&String> = keep.iter().collect();
        let gone: Vec<String> = self.loaded.keys().filter(|k| !keep.contains(k)).cloned().collect();
        if gone.is_empty() {
            return Ok(());
        }
        self.current = None;
        for id in gone {
            self.loaded.remove(&id);
            self.resolved.remove(&id);
            self.deletes.remove(&id);
            let prefix = format!("{id}.");
            for path in self.files_with_prefix(&prefix)? {
                tantivy::Directory::delete(&self.dir, &path).map_err(|e| IndexError(e.to_string()))?;
            }
        }
        Ok(())
    }

    fn files_with_prefix(&self, prefix: &str) -> Result<Vec<PathBuf>> {
        // RamDirectory has no listing; a segment's files are its components plus delete files.
        let mut out = vec![];
        for ext in ["idx", "pos", "term", "store", "fast", "fieldnorm", "temp"] {
            let p = PathBuf::from(format!("{prefix}{ext}"));
            if tantivy::Directory::exists(&self.dir, &p)? {
                out.push(p);
            }
        }
        for d in self.deletes.values() {
            let p = PathBuf::from(format!("{prefix}{}.del", d.opstamp));
            if tantivy::Directory::exists(&self.dir, &p)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The searcher over `visible` (every one loaded) with `tombstones` applied.
    pub fn open(&mut self, visible: &[String], tombstones: &[Tombstone]) -> Result<Searcher> {
        let mut visible: Vec<String> = visible.to_vec();
        visible.sort();
        visible.dedup();
        for id in &visible {
            if !self.loaded.contains_key(id) {
                return Err(IndexError(format!("segment {id} is not loaded")));
            }
        }
        let mut state = Vec::with_capacity(visible.len());
        for id in &visible {
            let killed = self.killed(id, tombstones)?;
            let opstamp = match self.deletes.get(id) {
                _ if killed.is_empty() => 0,
                Some(d) if d.killed == killed => d.opstamp,
                _ => self.write_deletes(id, killed)?,
            };
            if opstamp == 0 {
                self.deletes.remove(id);
            }
            state.push((id.clone(), opstamp));
        }
        if let Some((s, _, searcher)) = &self.current {
            if *s == state {
                return Ok(searcher.clone());
            }
        }
        let segments: Vec<Value> = state
            .iter()
            .map(|(id, opstamp)| {
                let docs = self.loaded[id].docs;
                let deletes = match self.deletes.get(id) {
                    Some(d) if *opstamp != 0 => json!({"num_deleted_docs": d.killed.len(), "opstamp": opstamp}),
                    _ => Value::Null,
                };
                json!({"segment_id": uuid_hyphenated(id), "max_doc": docs, "deletes": deletes})
            })
            .collect();
        let mut meta = self.meta_template.clone();
        meta["segments"] = Value::Array(segments);
        tantivy::Directory::atomic_write(&self.dir, Path::new("meta.json"), &serde_json::to_vec(&meta)?)?;
        let mut index = Index::open(self.dir.clone())?;
        index.set_tokenizers(self.schema.tokenizers.clone());
        let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        self.current = Some((state, reader, searcher.clone()));
        Ok(searcher)
    }

    /// The sorted docs of `segment` that `tombstones` hide, resolving what is new.
    fn killed(&mut self, segment: &str, tombstones: &[Tombstone]) -> Result<Vec<DocId>> {
        let loaded = &self.loaded[segment];
        let resolved = self.resolved.entry(segment.to_string()).or_default();
        let mut killed = vec![];
        let mut inverted = None;
        for t in tombstones {
            if !resolved.contains_key(&t.id) {
                let inv = match &inverted {
                    Some(i) => i,
                    None => inverted.insert(loaded.reader.inverted_index(self.schema.id)?),
                };
                let seqs = loaded.reader.fast_fields().u64(crate::schema::SEQ_FIELD)?;
                let term = Term::from_field_text(self.schema.id, &t.key);
                let mut hits = vec![];
                if let Some(mut postings) = inv.read_postings(&term, IndexRecordOption::Basic)? {
                    use tantivy::DocSet;
                    let mut doc = postings.doc();
                    while doc != tantivy::TERMINATED {
                        if seqs.first(doc).is_some_and(|s| s < t.seq) {
                            hits.push(doc);
                        }
                        doc = postings.advance();
                    }
                }
                resolved.insert(t.id, hits);
            }
            killed.extend_from_slice(&resolved[&t.id]);
        }
        killed.sort_unstable();
        killed.dedup();
        Ok(killed)
    }

    fn write_deletes(&mut self, segment: &str, killed: Vec<DocId>) -> Result<u64> {
        let docs = self.loaded[segment].docs;
        let opstamp = self.next_opstamp;
        self.next_opstamp += 1;
        let mut alive = BitSet::with_max_value_and_full(docs);
        for d in &killed {
            alive.remove(*d);
        }
        let managed: &ManagedDirectory = self.base.directory();
        let mut w = tantivy::Directory::open_write(managed, Path::new(&format!("{segment}.{opstamp}.del")))?;
        write_alive_bitset(&alive, &mut w)?;
        w.terminate()?;
        if let Some(old) = self.deletes.insert(segment.to_string(), Deletes { killed, opstamp }) {
            let _ = tantivy::Directory::delete(&self.dir, Path::new(&format!("{segment}.{}.del", old.opstamp)));
        }
        Ok(opstamp)
    }

    /// Merges `inputs` (segments of the open searcher) into one new segment without their
    /// deleted documents; `None` when every document of theirs was deleted.
    pub fn merge(&self, inputs: &[String]) -> Result<Option<SegmentBlob>> {
        let Some((_, reader, _)) = &self.current else {
            return Err(IndexError("merge before open".into()));
        };
        let index = reader.searcher().index().clone();
        let segments: Vec<_> = index
            .searchable_segments()?
            .into_iter()
            .filter(|s| inputs.contains(&s.id().uuid_string()))
            .collect();
        if segments.len() != inputs.len() {
            return Err(IndexError("merge inputs are not all in the open index".into()));
        }
        let alive: u64 = segments.iter().map(|s| s.meta().num_docs() as u64).sum();
        if alive == 0 {
            return Ok(None);
        }
        let out = RamDirectory::create();
        let filters = vec![None; segments.len()];
        let merged = tantivy::indexer::merge_filtered_segments(&segments, settings(), filters, out.clone())?;
        pack(&out, &merged)
    }

    /// Ids of the tombstones that hide nothing in any of `visible` (resolved by [`open`]):
    /// after a merge they can go. A document they could still hide would be in a segment
    /// committed before them, hence visible here (see docs/search.md).
    pub fn idle_tombstones(&self, visible: &[String], tombstones: &[Tombstone]) -> Vec<i64> {
        tombstones
            .iter()
            .filter(|t| {
                visible.iter().all(|s| self.resolved.get(s).and_then(|r| r.get(&t.id)).is_none_or(|docs| docs.is_empty()))
            })
            .map(|t| t.id)
            .collect()
    }

    /// Counts of the open searcher.
    pub fn stats(&self) -> Stats {
        let Some((state, _, searcher)) = &self.current else { return Stats::default() };
        Stats {
            segments: state.len(),
            documents: searcher.num_docs(),
            deleted: searcher.segment_readers().iter().map(|r| r.num_deleted_docs() as u64).sum(),
        }
    }
}

fn uuid_hyphenated(simple: &str) -> String {
    if simple.len() != 32 {
        return simple.to_string();
    }
    format!("{}-{}-{}-{}-{}", &simple[0..8], &simple[8..12], &simple[12..16], &simple[16..20], &simple[20..])
}

/// The (id, score) of the best hits, `skip` first ones left out; `top = None` returns all.
pub fn top_hits(
    searcher: &Searcher,
    query: &dyn Query,
    top: Option<usize>,
    skip: usize,
) -> Result<Vec<(String, f32)>> {
    let limit = match top {
        Some(t) => t,
        None => (searcher.num_docs() as usize).max(1),
    };
    if limit == 0 {
        return Ok(vec![]);
    }
    let hits = searcher.search(query, &TopDocs::with_limit(limit).and_offset(skip).order_by_score())?;
    let mut out = Vec::with_capacity(hits.len());
    let mut ids: HashMap<u32, tantivy::columnar::StrColumn> = HashMap::new();
    for (score, addr) in hits {
        let col = match ids.get(&addr.segment_ord) {
            Some(c) => c,
            None => {
                let reader = searcher.segment_reader(addr.segment_ord);
                let col = reader
                    .fast_fields()
                    .str(crate::schema::ID_FIELD)?
                    .ok_or_else(|| IndexError("index has no id column".into()))?;
                ids.entry(addr.segment_ord).or_insert(col)
            }
        };
        let mut id = String::new();
        if let Some(ord) = col.term_ords(addr.doc_id).next() {
            col.ord_to_str(ord, &mut id)?;
        }
        out.push((id, score));
    }
    Ok(out)
}

/// Every live (id, seq) of the open searcher: what `search_verify` compares with the table.
pub fn all_ids(searcher: &Searcher) -> Result<Vec<String>> {
    let mut out = vec![];
    for reader in searcher.segment_readers() {
        let col = reader
            .fast_fields()
            .str(crate::schema::ID_FIELD)?
            .ok_or_else(|| IndexError("index has no id column".into()))?;
        for doc in reader.doc_ids_alive() {
            let mut id = String::new();
            if let Some(ord) = col.term_ords(doc).next() {
                col.ord_to_str(ord, &mut id)?;
            }
            out.push(id);
        }
    }
    Ok(out)
}
