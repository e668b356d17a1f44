//! A backend's copy of one spec's index: the segments it has loaded (segments are immutable
//! and their ids never reused, so a loaded segment never goes stale), what their tombstones
//! hide in one another, and the searcher over the set of segments the caller's snapshot sees.
//!
//! Every segment carries the tombstones of the write that made it. A tombstone `(key, seq)`
//! hides every document of resource `key` written with a smaller `seq`, in any segment.
//! What the tombstones of segment S hide in segment T never changes, so each (T, S) pair is
//! resolved once; the union over the visible S becomes T's tantivy delete file, which
//! tantivy's own search and merge code then honour.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tantivy::collector::TopDocs;
use tantivy::directory::{ManagedDirectory, RamDirectory, TerminatingWrite};
use tantivy::fastfield::write_alive_bitset;
use tantivy::index::SegmentId;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{BitSet, DocId, Index, IndexReader, ReloadPolicy, SegmentReader, Term};
pub use tantivy::Searcher;

use crate::schema::{settings, Config, IndexSchema};
use crate::segment::{pack, SegmentBlob};
use crate::{IndexError, Result};

/// Documents of resource `key` written before write number `seq` are gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub key: String,
    pub seq: u64,
}

struct Loaded {
    docs: u32,
    /// None for a segment that only carries tombstones
    reader: Option<SegmentReader>,
    tombstones: Vec<Tombstone>,
}

/// The delete file a segment has in the open searcher.
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
    /// (target, source) -> (index of a tombstone of source, a doc of target it hides)
    resolved: HashMap<(String, String), Vec<(u32, DocId)>>,
    deletes: HashMap<String, Deletes>,
    next_opstamp: u64,
    /// the sorted visible segments of the open searcher
    current: Option<(Vec<String>, IndexReader, Searcher)>,
}

/// What the open index holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments: usize,
    pub documents: u64,
    pub tombstones: u64,
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

    /// The ids of the loaded segments.
    pub fn loaded_ids(&self) -> Vec<String> {
        self.loaded.keys().cloned().collect()
    }

    pub fn is_loaded(&self, segment: &str) -> bool {
        self.loaded.contains_key(segment)
    }

    /// Takes a segment's files and tombstones into memory.
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
        let reader = if blob.docs > 0 {
            let id = SegmentId::from_uuid_string(&blob.id).map_err(|e| IndexError(format!("segment id {}: {e:?}", blob.id)))?;
            let segment = self.base.segment(self.base.new_segment_meta(id, blob.docs));
            Some(SegmentReader::open(&segment)?)
        } else {
            None
        };
        self.loaded.insert(blob.id.clone(), Loaded { docs: blob.docs, reader, tombstones: blob.tombstones.clone() });
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
        for id in &gone {
            let loaded = self.loaded.remove(id).expect("listed above");
            if loaded.docs > 0 {
                for ext in ["idx", "pos", "term", "store", "fast", "fieldnorm"] {
                    let _ = tantivy::Directory::delete(&self.dir, Path::new(&format!("{id}.{ext}")));
                }
            }
            if let Some(d) = self.deletes.remove(id) {
                let _ = tantivy::Directory::delete(&self.dir, Path::new(&format!("{id}.{}.del", d.opstamp)));
            }
        }
        let gone: HashSet<&String> = gone.iter().collect();
        self.resolved.retain(|(t, s), _| !gone.contains(t) && !gone.contains(s));
        Ok(())
    }

    /// The searcher over `visible` (every one loaded), tombstones applied.
    pub fn open(&mut self, visible: &[String]) -> Result<Searcher> {
        let mut visible: Vec<String> = visible.to_vec();
        visible.sort();
        visible.dedup();
        if let Some((v, _, searcher)) = &self.current {
            if *v == visible {
                return Ok(searcher.clone());
            }
        }
        for id in &visible {
            if !self.loaded.contains_key(id) {
                return Err(IndexError(format!("segment {id} is not loaded")));
            }
        }
        let mut entries = vec![];
        let with_docs: Vec<String> = visible.iter().filter(|id| self.loaded[*id].docs > 0).cloned().collect();
        for id in &with_docs {
            let killed = self.killed(id, &visible)?;
            let id = id.as_str();
            let deletes = if killed.is_empty() {
                if let Some(old) = self.deletes.remove(id) {
                    let _ = tantivy::Directory::delete(&self.dir, Path::new(&format!("{id}.{}.del", old.opstamp)));
                }
                Value::Null
            } else {
                let opstamp = match self.deletes.get(id) {
                    Some(d) if d.killed == killed => d.opstamp,
                    _ => self.write_deletes(id, killed.clone())?,
                };
                json!({"num_deleted_docs": killed.len(), "opstamp": opstamp})
            };
            entries.push(json!({"segment_id": crate::uuid_text(crate::uuid_bytes(id)?), "max_doc": self.loaded[id].docs, "deletes": deletes}));
        }
        let mut meta = self.meta_template.clone();
        meta["segments"] = Value::Array(entries);
        tantivy::Directory::atomic_write(&self.dir, Path::new("meta.json"), &serde_json::to_vec(&meta)?)?;
        let mut index = Index::open(self.dir.clone())?;
        index.set_tokenizers(self.schema.tokenizers.clone());
        let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        self.current = Some((visible, reader, searcher.clone()));
        Ok(searcher)
    }

    /// What the tombstones of `source` hide in `target` (resolved once).
    fn resolve(&mut self, target: &str, source: &str) -> Result<&Vec<(u32, DocId)>> {
        let key = (target.to_string(), source.to_string());
        if !self.resolved.contains_key(&key) {
            let mut hits = vec![];
            let (t, s) = (&self.loaded[target], &self.loaded[source]);
            if let (Some(reader), false) = (&t.reader, s.tombstones.is_empty()) {
                let inverted = reader.inverted_index(self.schema.id)?;
                let seqs = reader.fast_fields().u64(crate::schema::SEQ_FIELD)?;
                for (i, tomb) in s.tombstones.iter().enumerate() {
                    let term = Term::from_field_text(self.schema.id, &tomb.key);
                    if let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::Basic)? {
                        use tantivy::DocSet;
                        let mut doc = postings.doc();
                        while doc != tantivy::TERMINATED {
                            if seqs.first(doc).is_some_and(|seq| seq < tomb.seq) {
                                hits.push((i as u32, doc));
                            }
                            doc = postings.advance();
                        }
                    }
                }
            }
            self.resolved.insert(key.clone(), hits);
        }
        Ok(&self.resolved[&key])
    }

    /// The sorted docs of `target` that the tombstones of `visible` hide.
    fn killed(&mut self, target: &str, visible: &[String]) -> Result<Vec<DocId>> {
        let mut killed = vec![];
        for source in visible {
            killed.extend(self.resolve(target, source)?.iter().map(|(_, d)| *d));
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

    /// Merges `inputs` (segments of the open searcher) into one new segment: their live
    /// documents, and those of their tombstones that still hide something in the other
    /// visible segments. `None` when nothing of them is left.
    pub fn merge(&mut self, inputs: &[String]) -> Result<Option<SegmentBlob>> {
        let Some((visible, reader, _)) = &self.current else {
            return Err(IndexError("merge before open".into()));
        };
        if let Some(missing) = inputs.iter().find(|i| !visible.contains(i)) {
            return Err(IndexError(format!("merge input {missing} is not in the open index")));
        }
        let index = reader.searcher().index().clone();
        let others: Vec<String> = visible.iter().filter(|v| !inputs.contains(v)).cloned().collect();
        let mut tombstones = vec![];
        for source in inputs {
            let mut needed: HashSet<u32> = HashSet::new();
            for target in &others {
                needed.extend(self.resolve(target, source)?.iter().map(|(i, _)| *i));
            }
            let all = &self.loaded[source].tombstones;
            let mut idx: Vec<u32> = needed.into_iter().collect();
            idx.sort_unstable();
            tombstones.extend(idx.into_iter().map(|i| all[i as usize].clone()));
        }
        let segments: Vec<_> = index
            .searchable_segments()?
            .into_iter()
            .filter(|s| inputs.contains(&s.id().uuid_string()))
            .filter(|s| s.meta().num_docs() > 0)
            .collect();
        let mut merged = if segments.is_empty() {
            None
        } else {
            let out = RamDirectory::create();
            let filters = vec![None; segments.len()];
            let index = tantivy::indexer::merge_filtered_segments(&segments, settings(), filters, out.clone())?;
            pack(&out, &index)?
        };
        if merged.is_none() && !tombstones.is_empty() {
            merged = Some(SegmentBlob::tombstones_only(vec![]));
        }
        if let Some(m) = &mut merged {
            m.tombstones = tombstones;
        }
        Ok(merged)
    }

    /// The tombstones `segments` carry.
    pub fn tombstones_in(&self, segments: &[String]) -> u64 {
        segments.iter().filter_map(|s| self.loaded.get(s)).map(|l| l.tombstones.len() as u64).sum()
    }

    /// Counts of the open searcher.
    pub fn stats(&self) -> Stats {
        let Some((visible, _, searcher)) = &self.current else { return Stats::default() };
        Stats {
            segments: visible.len(),
            documents: searcher.num_docs(),
            tombstones: visible.iter().map(|v| self.loaded[v].tombstones.len() as u64).sum(),
        }
    }
}

/// The (id, score) of the best hits, `skip` first ones left out; `top = None` returns all.
/// `query` limited to the documents of the resources `ids`, with the scores it gives them:
/// a search over the rows a caller may read, when those rows are known (a caller who can read
/// only their own resources). BM25 statistics stay those of the whole index.
pub fn within_ids(query: &dyn Query, schema: &IndexSchema, ids: &[String]) -> BooleanQuery {
    let terms = ids.iter().map(|id| Term::from_field_text(schema.id, id));
    // a few ids: one term lookup each (a term set walks the whole id dictionary)
    let filter: Box<dyn Query> = if ids.len() <= WITHIN_BY_TERMS {
        Box::new(BooleanQuery::new(
            terms.map(|t| (Occur::Should, Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>)).collect(),
        ))
    } else {
        Box::new(TermSetQuery::new(terms))
    };
    BooleanQuery::new(vec![(Occur::Must, query.box_clone()), (Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0)))])
}

/// Up to this many ids, [`within_ids`] looks each one up.
const WITHIN_BY_TERMS: usize = 1000;

pub fn top_hits(searcher: &Searcher, query: &dyn Query, top: Option<usize>, skip: usize) -> Result<Vec<(String, f32)>> {
    let limit = match top {
        Some(t) => t,
        None => (searcher.num_docs() as usize).max(1),
    };
    if limit == 0 || searcher.num_docs() == 0 {
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

/// The id of every live document of the open searcher: what `search_verify` compares with
/// the table.
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
