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

use crate::directory::CacheDirectory;
use crate::segment::Doc;
use tantivy::fastfield::write_alive_bitset;
use tantivy::index::SegmentId;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{BitSet, DocId, Index, IndexReader, ReloadPolicy, SegmentReader, Term};
pub use tantivy::Searcher;

use crate::schema::{settings, Config, IndexSchema};
use crate::segment::{pack, SegmentBlob};
use crate::{IndexError, Result};

/// Past this many groups of pending rows, [`IndexCache::load_pending`] makes one of them all.
const MAX_GROUPS: usize = 4;

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
    /// the segment's files in the shared directory (none: in memory)
    shared: Vec<String>,
}

/// The delete file a segment has in the open searcher.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Deletes {
    killed: Vec<DocId>,
    opstamp: u64,
}

/// A pending write as stored: documents not yet indexed, and the write's tombstones.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingRow {
    pub id: String,
    pub docs: Vec<Doc>,
    pub tombstones: Vec<Tombstone>,
}

/// The segments the cache works with ("units"): a stored segment stands for itself; pending
/// rows are indexed together, when first seen, into one in-memory segment, their group, that
/// stands for all of them and is used only while every one of them is visible.
pub struct IndexCache {
    pub config: Config,
    schema: IndexSchema,
    dir: CacheDirectory,
    base: Index,
    meta_template: Value,
    loaded: HashMap<String, Loaded>,
    /// pending row -> its group (a unit in `loaded`)
    group_of: HashMap<String, String>,
    /// group -> its pending rows
    members: HashMap<String, Vec<String>>,
    /// the loaded pending rows, kept to index them again with later ones
    pending: HashMap<String, PendingRow>,
    /// (target, source) -> (index of a tombstone of source, a doc of target it hides)
    resolved: HashMap<(String, String), Vec<(u32, DocId)>>,
    deletes: HashMap<String, Deletes>,
    next_opstamp: u64,
    /// the sorted visible rows, their units, and the searcher over them
    current: Option<(Vec<String>, Vec<String>, IndexReader, Searcher)>,
    /// stored segments this large go to the shared directory
    share_min_docs: u32,
}

/// What the open index holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub segments: usize,
    pub documents: u64,
    pub tombstones: u64,
}

impl IndexCache {
    /// A cache holding every segment in memory.
    pub fn new(config: Config) -> Result<IndexCache> {
        Self::with_dir(config, CacheDirectory::in_memory())
    }

    /// A cache that keeps the files of stored segments of `min_docs` documents or more in
    /// `shared` (created if missing), a directory that every process of the server maps the
    /// same files from: one copy of each segment in memory, however many backends search it.
    /// Files are written once, under a temporary name then renamed, so a reader never maps a
    /// partial file. Smaller segments, soon merged away, stay in each backend's memory.
    pub fn with_shared_dir(config: Config, shared: &Path, min_docs: u32) -> Result<IndexCache> {
        let mut cache = Self::with_dir(config, CacheDirectory::shared(shared)?)?;
        cache.share_min_docs = min_docs;
        Ok(cache)
    }

    fn with_dir(config: Config, dir: CacheDirectory) -> Result<IndexCache> {
        let schema = config.index_schema();
        let base = Index::create(dir.clone(), schema.schema.clone(), settings())?;
        let meta_template: Value = serde_json::from_slice(&tantivy::Directory::atomic_read(&dir, Path::new("meta.json"))?)?;
        Ok(IndexCache {
            config,
            schema,
            dir,
            base,
            meta_template,
            loaded: HashMap::new(),
            group_of: HashMap::new(),
            members: HashMap::new(),
            pending: HashMap::new(),
            resolved: HashMap::new(),
            deletes: HashMap::new(),
            next_opstamp: 1,
            current: None,
            share_min_docs: 0,
        })
    }

    pub fn schema(&self) -> &IndexSchema {
        &self.schema
    }

    /// The ids of the loaded stored segments and pending rows.
    pub fn loaded_ids(&self) -> Vec<String> {
        self.loaded.keys().filter(|k| !self.members.contains_key(*k)).chain(self.group_of.keys()).cloned().collect()
    }

    pub fn is_loaded(&self, segment: &str) -> bool {
        (self.loaded.contains_key(segment) && !self.members.contains_key(segment)) || self.group_of.contains_key(segment)
    }

    /// Takes a stored segment's files and tombstones into the cache (the shared directory
    /// when there is one).
    pub fn load(&mut self, blob: &SegmentBlob) -> Result<()> {
        self.load_unit(blob, true)
    }

    /// Loads a stored segment from the shared directory alone, when every one of its files
    /// (`blob.files`; `blob.data` is not needed) is there: true, or false when the segment's
    /// bytes are needed ([`IndexCache::load`]).
    pub fn load_shared(&mut self, blob: &SegmentBlob) -> Result<bool> {
        if self.loaded.contains_key(&blob.id) {
            return Ok(true);
        }
        if blob.docs > 0 && (blob.docs < self.share_min_docs || !self.dir.has_files(&blob.files)) {
            return Ok(false);
        }
        // a file removed in between (its segment merged away in another backend's eyes): the
        // bytes are needed after all
        Ok(self.load_unit(blob, true).is_ok())
    }

    fn load_unit(&mut self, blob: &SegmentBlob, share: bool) -> Result<()> {
        if self.loaded.contains_key(&blob.id) {
            return Ok(());
        }
        let share = share && self.dir.is_shared() && blob.docs >= self.share_min_docs;
        match self.open_unit(blob, share, false) {
            // a shared file removed while we opened it: write the files again, once
            Err(_) if share && !blob.data.is_empty() => self.open_unit(blob, share, true),
            other => other,
        }
    }

    fn open_unit(&mut self, blob: &SegmentBlob, share: bool, rewrite: bool) -> Result<()> {
        let mut shared = vec![];
        for (name, off, len) in &blob.files {
            if share {
                if rewrite || !self.dir.has_files(std::slice::from_ref(&(name.clone(), *off, *len))) {
                    if blob.data.is_empty() {
                        return Err(IndexError(format!("segment {}: file {name} is not in the shared directory", blob.id)));
                    }
                    self.dir.share(name, file_bytes(blob, name, *off, *len)?)?;
                }
                self.dir.map(name);
                shared.push(name.clone());
                continue;
            }
            let path = PathBuf::from(name);
            if tantivy::Directory::exists(&self.dir, &path)? {
                continue;
            }
            let bytes = file_bytes(blob, name, *off, *len)?;
            let mut w = tantivy::Directory::open_write(&self.dir, &path)?;
            w.write_all(bytes)?;
            w.terminate()?;
        }
        let reader = if blob.docs > 0 {
            let id = SegmentId::from_uuid_string(&blob.id).map_err(|e| IndexError(format!("segment id {}: {e:?}", blob.id)));
            let opened = id.and_then(|id| {
                let segment = self.base.segment(self.base.new_segment_meta(id, blob.docs));
                Ok(SegmentReader::open(&segment)?)
            });
            match opened {
                Ok(r) => Some(r),
                Err(e) => {
                    self.dir.unmap(&shared);
                    return Err(e);
                }
            }
        } else {
            None
        };
        self.loaded.insert(blob.id.clone(), Loaded { docs: blob.docs, reader, tombstones: blob.tombstones.clone(), shared });
        Ok(())
    }

    /// Indexes pending rows (those not loaded yet) into one in-memory segment, their group.
    /// Past a few groups, the loaded groups are indexed again together with the new rows, so
    /// that a backend that searches after every write does not end up with a segment per write.
    /// Call it after [`IndexCache::evict_except`]: every loaded group is then visible.
    pub fn load_pending(&mut self, rows: Vec<PendingRow>) -> Result<()> {
        let mut rows: Vec<PendingRow> = rows.into_iter().filter(|r| !self.group_of.contains_key(&r.id)).collect();
        if rows.is_empty() {
            return Ok(());
        }
        if self.members.len() >= MAX_GROUPS {
            let groups: Vec<String> = self.members.keys().cloned().collect();
            for g in groups {
                for m in self.members.remove(&g).unwrap_or_default() {
                    self.group_of.remove(&m);
                    rows.extend(self.pending.remove(&m));
                }
                self.drop_unit(&g);
            }
            self.current = None;
        }
        let writes: Vec<(Vec<Doc>, Vec<Tombstone>)> = rows.iter().map(|r| (r.docs.clone(), r.tombstones.clone())).collect();
        let blob = crate::segment::fold(&self.config, &writes, false)?.unwrap_or_else(|| SegmentBlob::tombstones_only(vec![]));
        self.load_unit(&blob, false)?;
        let mut ids = vec![];
        for row in rows {
            self.group_of.insert(row.id.clone(), blob.id.clone());
            ids.push(row.id.clone());
            self.pending.insert(row.id.clone(), row);
        }
        self.members.insert(blob.id, ids);
        Ok(())
    }

    /// The units standing for the visible rows `visible` (sorted, deduplicated).
    fn units(&self, visible: &[String]) -> Result<Vec<String>> {
        let mut out = vec![];
        for id in visible {
            match self.group_of.get(id) {
                Some(g) => out.push(g.clone()),
                None if self.loaded.contains_key(id) && !self.members.contains_key(id) => out.push(id.clone()),
                None => return Err(IndexError(format!("segment {id} is not loaded"))),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Forgets segments that are not in `keep` (no longer visible: merged away or rolled
    /// back), and the groups of pending rows of which one is not. Returns the pending rows in
    /// `keep` whose group went that way: they have to be loaded again.
    pub fn evict_except(&mut self, keep: &[String]) -> Result<Vec<String>> {
        let keep: HashSet<&String> = keep.iter().collect();
        let broken: Vec<String> =
            self.members.iter().filter(|(_, m)| m.iter().any(|id| !keep.contains(id))).map(|(g, _)| g.clone()).collect();
        let mut orphans = vec![];
        let mut gone: Vec<String> = broken.clone();
        for g in &broken {
            for m in self.members.remove(g).unwrap_or_default() {
                self.group_of.remove(&m);
                self.pending.remove(&m);
                if keep.contains(&m) {
                    orphans.push(m);
                }
            }
        }
        gone.extend(self.loaded.keys().filter(|k| !keep.contains(k) && !self.members.contains_key(*k) && !broken.contains(k)).cloned());
        if gone.is_empty() {
            return Ok(orphans);
        }
        self.current = None;
        for id in &gone {
            self.pending.remove(id);
            self.drop_unit(id);
        }
        Ok(orphans)
    }

    /// Forgets a unit: its files (the shared ones stay in the shared directory, for the
    /// backends that still see it: the sweep removes them later), delete file and resolved
    /// tombstones.
    fn drop_unit(&mut self, id: &str) {
        let Some(loaded) = self.loaded.remove(id) else { return };
        if loaded.docs > 0 {
            for ext in ["idx", "pos", "term", "store", "fast", "fieldnorm"] {
                let _ = tantivy::Directory::delete(&self.dir, Path::new(&format!("{id}.{ext}")));
            }
        }
        self.dir.unmap(&loaded.shared);
        if let Some(d) = self.deletes.remove(id) {
            let _ = tantivy::Directory::delete(&self.dir, Path::new(&format!("{id}.{}.del", d.opstamp)));
        }
        self.resolved.retain(|(t, s), _| t != id && s != id);
    }

    /// The searcher over `visible` (stored segments and pending rows, every one loaded),
    /// tombstones applied.
    pub fn open(&mut self, visible: &[String]) -> Result<Searcher> {
        let mut visible: Vec<String> = visible.to_vec();
        visible.sort();
        visible.dedup();
        if let Some((v, _, _, searcher)) = &self.current {
            if *v == visible {
                return Ok(searcher.clone());
            }
        }
        let units = self.units(&visible)?;
        let mut entries = vec![];
        let with_docs: Vec<String> = units.iter().filter(|id| self.loaded[*id].docs > 0).cloned().collect();
        for id in &with_docs {
            let killed = self.killed(id, &units)?;
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
        self.current = Some((visible, units, reader, searcher.clone()));
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
        let Some((visible, units, reader, _)) = &self.current else {
            return Err(IndexError("merge before open".into()));
        };
        if let Some(missing) = inputs.iter().find(|i| !visible.contains(i)) {
            return Err(IndexError(format!("merge input {missing} is not in the open index")));
        }
        let index = reader.searcher().index().clone();
        let units = units.clone();
        let wanted: HashSet<&String> = inputs.iter().collect();
        let inputs = self.units(inputs)?;
        for g in inputs.iter().filter(|u| self.members.contains_key(*u)) {
            if let Some(m) = self.members[g].iter().find(|m| !wanted.contains(m)) {
                return Err(IndexError(format!("merge input: pending row {m} is left out of its group's merge")));
            }
        }
        let others: Vec<String> = units.iter().filter(|v| !inputs.contains(v)).cloned().collect();
        let mut tombstones = vec![];
        for source in &inputs {
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

    /// The tombstones `segments` (stored segments and pending rows) carry.
    pub fn tombstones_in(&self, segments: &[String]) -> u64 {
        let units = self.units(segments).unwrap_or_default();
        units.iter().filter_map(|s| self.loaded.get(s)).map(|l| l.tombstones.len() as u64).sum()
    }

    /// Counts of the open searcher.
    pub fn stats(&self) -> Stats {
        let Some((visible, units, _, searcher)) = &self.current else { return Stats::default() };
        Stats {
            segments: visible.len(),
            documents: searcher.num_docs(),
            tombstones: units.iter().map(|v| self.loaded[v].tombstones.len() as u64).sum(),
        }
    }
}

/// The bytes of file `name` of a stored segment.
fn file_bytes<'a>(blob: &'a SegmentBlob, name: &str, off: usize, len: usize) -> Result<&'a [u8]> {
    match off.checked_add(len).filter(|e| *e <= blob.data.len()) {
        Some(end) => Ok(&blob.data[off..end]),
        None => Err(IndexError(format!("segment {}: file {name} lies outside the segment's bytes", blob.id))),
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
    // ties are broken by id, not by where a document sits (that depends on how the backend
    // loaded the segments): every backend, a standby's too, answers in the same order
    let hits = searcher.search(query, &TopDocs::with_limit(limit.saturating_add(skip)).order_by_score())?;
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
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out.into_iter().skip(skip).collect())
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
