//! The index end to end without PostgreSQL: segments built, loaded, searched, tombstoned, merged.

use specstar_search::cache::{all_ids, top_hits, within_ids};
use specstar_search::{segment, Config, Doc, IndexCache, Language, SearchQuery, Tombstone};

fn config(language: Language) -> Config {
    Config { fields: vec!["title".into(), "body".into()], language }
}

fn doc(id: &str, seq: u64, title: &str, body: &str) -> Doc {
    Doc { id: id.into(), seq, fields: vec![vec![title.into()], vec![body.into()]] }
}

fn ids(cache: &mut IndexCache, visible: &[String], q: &str) -> Vec<String> {
    let searcher = cache.open(visible).unwrap();
    let query = SearchQuery::parse(&cache.config.clone(), cache.schema(), q).unwrap();
    let mut out: Vec<String> = top_hits(&searcher, &*query.query, None, 0).unwrap().into_iter().map(|h| h.0).collect();
    out.sort();
    out
}

fn load_with(cache: &mut IndexCache, docs: &[Doc], tombstones: Vec<Tombstone>) -> String {
    let blob = segment::build(&cache.config.clone(), docs, tombstones).unwrap().unwrap();
    // what the extension stores and reads back
    let files = segment::SegmentBlob::parse_files(&blob.files_json()).unwrap();
    assert_eq!(files, blob.files);
    let tombs = segment::SegmentBlob::parse_tombstones(&blob.tombstones_bytes().unwrap()).unwrap();
    assert_eq!(tombs, blob.tombstones);
    cache.load(&blob).unwrap();
    blob.id
}

fn load(cache: &mut IndexCache, docs: &[Doc]) -> String {
    load_with(cache, docs, vec![])
}

const A: &str = "00000000-0000-0000-0000-00000000000a";
const B: &str = "00000000-0000-0000-0000-00000000000b";

#[test]
fn terms_phrases_prefix_fuzzy_fields() {
    let mut c = IndexCache::new(config(Language::English)).unwrap();
    let s = load(&mut c, &[
        doc("a", 1, "Quick brown fox", "jumps over the lazy dog"),
        doc("b", 1, "Lazy afternoon", "the fox sleeps"),
        doc("c", 1, "Running shoes", "for runners who run"),
    ]);
    let v = vec![s];
    assert_eq!(ids(&mut c, &v, "fox"), ["a", "b"]);
    assert_eq!(ids(&mut c, &v, "fox lazy"), ["a", "b"]);
    assert_eq!(ids(&mut c, &v, "fox AND dog"), ["a"]);
    assert_eq!(ids(&mut c, &v, "dog OR shoes"), ["a", "c"]);
    assert_eq!(ids(&mut c, &v, "fox -dog"), ["b"]);
    assert_eq!(ids(&mut c, &v, "\"lazy dog\""), ["a"]);
    assert_eq!(ids(&mut c, &v, "\"dog lazy\""), Vec::<String>::new());
    assert_eq!(ids(&mut c, &v, "title:lazy"), ["b"]);
    assert_eq!(ids(&mut c, &v, "brow*"), ["a"]);
    assert_eq!(ids(&mut c, &v, "sleps~1"), ["b"]);
    assert_eq!(ids(&mut c, &v, "run"), ["c"], "stemmed: running, runners, run");
    assert_eq!(ids(&mut c, &v, "-fox"), ["c"]);
}

#[test]
fn malformed_queries_name_a_position() {
    let c = IndexCache::new(config(Language::Simple)).unwrap();
    let cfg = c.config.clone();
    let e = SearchQuery::parse(&cfg, c.schema(), "fox AND (dog").err().unwrap();
    assert!(e.message.contains("position"), "{e:?}");
    let e = SearchQuery::parse(&cfg, c.schema(), "author:bob").err().unwrap();
    assert_eq!(e.position, 1);
    assert!(e.message.contains("\"author\" is not a searchable field"), "{e:?}");
    assert!(e.hint.contains("title, body"));
    let e = SearchQuery::parse(&cfg, c.schema(), "fox~5").err().unwrap();
    assert_eq!(e.position, 4);
}

#[test]
fn tombstones_hide_older_versions_only() {
    let mut c = IndexCache::new(config(Language::Simple)).unwrap();
    let s1 = load(&mut c, &[doc(A, 1, "alpha", ""), doc(B, 1, "alpha beta", "")]);
    // A is updated by write 2: its new version and the tombstone (A, 2) in one segment
    let s2 = load_with(&mut c, &[doc(A, 2, "gamma alpha", "")], vec![Tombstone { key: A.into(), seq: 2 }]);
    assert_eq!(ids(&mut c, &[s1.clone()], "alpha"), [A, B], "without s2 both show");
    let v = vec![s1.clone(), s2.clone()];
    assert_eq!(ids(&mut c, &v, "alpha"), [A, B], "the new version of A, once");
    assert_eq!(ids(&mut c, &v, "beta"), [B]);
    assert_eq!(c.stats().documents, 2);
    // B is deleted by write 3: a segment with no documents, only the tombstone
    let s3 = load_with(&mut c, &[], vec![Tombstone { key: B.into(), seq: 3 }]);
    let v = vec![s1.clone(), s2.clone(), s3.clone()];
    assert_eq!(ids(&mut c, &v, "alpha"), [A]);
    // merging s2 and s3 keeps their tombstones, which still hide documents of s1
    c.open(&v).unwrap();
    let m = c.merge(&[s2.clone(), s3.clone()]).unwrap().unwrap();
    assert_eq!((m.docs, m.tombstones.len()), (1, 2));
    c.load(&m).unwrap();
    let v = vec![s1.clone(), m.id.clone()];
    assert_eq!(ids(&mut c, &v, "alpha"), [A]);
    assert_eq!(ids(&mut c, &v, "gamma"), [A]);
    // merging everything applies them: nothing is left to hide
    c.open(&v).unwrap();
    let all = c.merge(&v).unwrap().unwrap();
    assert_eq!((all.docs, all.tombstones.len()), (1, 0));
    c.load(&all).unwrap();
    let v = vec![all.id.clone()];
    assert_eq!(ids(&mut c, &v, "alpha"), [A]);
    let searcher = c.open(&v).unwrap();
    assert_eq!(all_ids(&searcher).unwrap(), [A]);
    c.evict_except(&v).unwrap();
    assert!(!c.is_loaded(&s1) && c.is_loaded(&all.id));
}

#[test]
fn a_merge_of_deleted_documents_only_leaves_nothing() {
    let mut c = IndexCache::new(config(Language::Simple)).unwrap();
    let s1 = load(&mut c, &[doc(A, 1, "alpha", "")]);
    let s2 = load_with(&mut c, &[], vec![Tombstone { key: A.into(), seq: 2 }]);
    let v = vec![s1, s2];
    assert_eq!(ids(&mut c, &v, "alpha"), Vec::<String>::new());
    assert_eq!(c.merge(&v).unwrap(), None);
}

#[test]
fn scores_order_hits_and_skip_pages() {
    let mut c = IndexCache::new(config(Language::Simple)).unwrap();
    let s = load(&mut c, &[doc("one", 1, "x", "fox"), doc("many", 1, "fox fox", "fox fox fox"), doc("none", 1, "y", "z")]);
    let searcher = c.open(&[s]).unwrap();
    let cfg = c.config.clone();
    let q = SearchQuery::parse(&cfg, c.schema(), "fox").unwrap();
    let hits = top_hits(&searcher, &*q.query, Some(10), 0).unwrap();
    assert_eq!(hits.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), ["many", "one"]);
    assert!(hits[0].1 > hits[1].1);
    let page2 = top_hits(&searcher, &*q.query, Some(1), 1).unwrap();
    assert_eq!(page2[0].0, "one");
    assert_eq!(q.highlight(0, "the \"fox\" & friends!").as_deref(), Some("the &quot;<b>fox</b>&quot; &amp; friends!"));
    assert_eq!(q.highlight(0, "nothing here"), None);
}

#[test]
fn a_search_within_ids_keeps_their_scores_and_order() {
    let mut c = IndexCache::new(config(Language::Simple)).unwrap();
    let docs = [doc("one", 1, "x", "fox"), doc("many", 1, "fox fox", "fox fox fox"), doc("two", 1, "fox", "fox"), doc("none", 1, "y", "z")];
    let s = load(&mut c, &docs);
    let searcher = c.open(&[s]).unwrap();
    let cfg = c.config.clone();
    let q = SearchQuery::parse(&cfg, c.schema(), "fox").unwrap();
    let all = top_hits(&searcher, &*q.query, Some(10), 0).unwrap();
    let within = within_ids(&*q.query, c.schema(), &["one".to_string(), "two".to_string(), "none".to_string()]);
    let hits = top_hits(&searcher, &within, Some(10), 0).unwrap();
    // the best hit ("many") is not among the ids: the page holds the others, scored as before
    assert_eq!(hits.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), ["two", "one"]);
    for (id, score) in &hits {
        assert_eq!(Some(score), all.iter().find(|h| &h.0 == id).map(|h| &h.1));
    }
    assert!(top_hits(&searcher, &within_ids(&*q.query, c.schema(), &[]), Some(10), 0).unwrap().is_empty());
}

fn parse(c: &IndexCache, q: &str) -> SearchQuery {
    SearchQuery::parse(&c.config.clone(), c.schema(), q).unwrap()
}

#[test]
fn operators_next_to_plain_words_keep_every_word_required() {
    let mut c = IndexCache::new(Config { fields: vec!["title".into()], language: Language::Simple }).unwrap();
    let t = |id: &str, text: &str| Doc { id: id.into(), seq: 1, fields: vec![vec![text.into()]] };
    let s = load(&mut c, &[t("bf", "brown fox"), t("bb", "brown bread"), t("f", "fox"), t("bfs", "brown fox shoes")]);
    let v = vec![s];
    assert_eq!(ids(&mut c, &v, "fox -shoes AND brown"), ["bf"]);
    assert_eq!(ids(&mut c, &v, "fox brown AND bread"), Vec::<String>::new());
    assert_eq!(ids(&mut c, &v, "brown fox OR bread"), ["bb", "bf", "bfs"]);
    assert_eq!(ids(&mut c, &v, "fox OR bread brown"), ["bb", "bf", "bfs"]);
    assert_eq!(ids(&mut c, &v, "shoes OR bread"), ["bb", "bfs"]);
    for dangling in ["fox AND", "fox OR"] {
        let e = SearchQuery::parse(&c.config.clone(), c.schema(), dangling).err().unwrap();
        assert!(e.message.contains("needs a word on each side"), "{dangling}: {e:?}");
        assert_eq!(e.position, 5);
    }
    assert_eq!(SearchQuery::parse(&c.config.clone(), c.schema(), "fox NOT").err().unwrap().position, 5);
    assert_eq!(ids(&mut c, &v, "\"fox\" \"OR\""), Vec::<String>::new(), "a quoted OR is a word");
}

#[test]
fn highlights_mark_prefix_fuzzy_and_stemmed_words_but_not_excluded_ones() {
    let c = IndexCache::new(Config { fields: vec!["title".into(), "body".into()], language: Language::English }).unwrap();
    assert_eq!(parse(&c, "kiw*").highlight(0, "\"Quoted\" kiwis, really!").as_deref(), Some("&quot;Quoted&quot; <b>kiwis</b>, really!"));
    assert_eq!(parse(&c, "kiwo~1").highlight(0, "a kiwi").as_deref(), Some("a <b>kiwi</b>"));
    assert_eq!(parse(&c, "run").highlight(1, "Running runners ran").as_deref(), Some("<b>Running</b> runners ran"), "runners stems to runner");
    assert_eq!(parse(&c, "title:fox").highlight(1, "fox"), None, "another field");
    assert_eq!(parse(&c, "fox -dog").highlight(0, "fox and dog").as_deref(), Some("<b>fox</b> and dog"));
    let long = format!("{} fox {}", "a ".repeat(600), "b ".repeat(600));
    let h = parse(&c, "fox").highlight(0, &long).unwrap();
    assert!(h.starts_with('…') && h.ends_with('…') && h.contains("<b>fox</b>") && h.chars().count() < 500, "{h}");
}

fn pending(id: &str, docs: Vec<Doc>, tombstones: Vec<Tombstone>) -> specstar_search::PendingRow {
    specstar_search::PendingRow { id: id.into(), docs, tombstones }
}

const P1: &str = "000000000000000000000000000000a1";
const P2: &str = "000000000000000000000000000000a2";
const P3: &str = "000000000000000000000000000000a3";

#[test]
fn pending_rows_search_like_the_segments_they_stand_for() {
    let mut c = IndexCache::new(config(Language::Simple)).unwrap();
    let s1 = load(&mut c, &[doc(A, 1, "alpha", ""), doc(B, 1, "alpha beta", "")]);
    // write 2 updates A, write 3 deletes B, write 4 updates A again: pending rows
    c.load_pending(vec![
        pending(P1, vec![doc(A, 2, "gamma", "")], vec![Tombstone { key: A.into(), seq: 2 }]),
        pending(P2, vec![], vec![Tombstone { key: B.into(), seq: 3 }]),
    ])
    .unwrap();
    c.load_pending(vec![pending(P3, vec![doc(A, 4, "delta", "")], vec![Tombstone { key: A.into(), seq: 4 }])]).unwrap();
    let all = vec![s1.clone(), P1.to_string(), P2.to_string(), P3.to_string()];
    assert_eq!(ids(&mut c, &all, "alpha"), Vec::<String>::new());
    assert_eq!(ids(&mut c, &all, "gamma"), Vec::<String>::new(), "write 4 hides write 2, across groups");
    assert_eq!(ids(&mut c, &all, "delta"), [A]);
    assert_eq!(c.stats(), specstar_search::cache::Stats { segments: 4, documents: 1, tombstones: 3 });
    // before write 3 and 4 committed: P1 alone
    let v = vec![s1.clone(), P1.to_string()];
    assert_eq!(c.evict_except(&v).unwrap(), [P1], "P1's group holds P2, which is gone: P1 is loaded again");
    assert!(!c.is_loaded(P1) && !c.is_loaded(P3));
}

#[test]
fn a_group_with_a_member_gone_is_dropped_and_its_other_members_reloaded() {
    let mut c = IndexCache::new(config(Language::Simple)).unwrap();
    let s1 = load(&mut c, &[doc(A, 1, "alpha", "")]);
    c.load_pending(vec![
        pending(P1, vec![doc(B, 2, "beta", "")], vec![]),
        pending(P2, vec![doc(A, 3, "gamma", "")], vec![Tombstone { key: A.into(), seq: 3 }]),
    ])
    .unwrap();
    assert_eq!(ids(&mut c, &[s1.clone(), P1.into(), P2.into()], "alpha OR beta OR gamma"), [A, B]);
    // a fold took P2 into a stored segment
    let f = segment::fold(&c.config.clone(), &[(vec![doc(A, 3, "gamma", "")], vec![Tombstone { key: A.into(), seq: 3 }])], true).unwrap().unwrap();
    let orphans = c.evict_except(&[s1.clone(), P1.into(), f.id.clone()]).unwrap();
    assert_eq!(orphans, [P1]);
    assert!(!c.is_loaded(P1) && !c.is_loaded(P2) && c.is_loaded(&s1));
    c.load(&f).unwrap();
    c.load_pending(vec![pending(P1, vec![doc(B, 2, "beta", "")], vec![])]).unwrap();
    let v = vec![s1.clone(), P1.into(), f.id.clone()];
    assert_eq!(ids(&mut c, &v, "alpha OR beta OR gamma"), [A, B]);
    assert_eq!(ids(&mut c, &v, "alpha"), Vec::<String>::new());
    // a merge takes a whole group or none of it
    c.load_pending(vec![pending(P2, vec![], vec![]), pending(P3, vec![], vec![])]).unwrap();
    let v = vec![s1.clone(), P1.into(), P2.into(), P3.into(), f.id.clone()];
    c.open(&v).unwrap();
    assert!(c.merge(&[P2.into()]).unwrap_err().to_string().contains("left out of its group"));
    let m = c.merge(&v).unwrap().unwrap();
    assert_eq!((m.docs, m.tombstones.len()), (2, 0));
}

#[test]
fn a_fold_keeps_the_newest_versions_and_every_tombstone() {
    let cfg = config(Language::Simple);
    let writes = [
        (vec![doc(A, 1, "one", ""), doc(B, 1, "bee", "")], vec![]),
        (vec![doc(A, 2, "two", "")], vec![Tombstone { key: A.into(), seq: 2 }]),
        (vec![], vec![Tombstone { key: B.into(), seq: 3 }]),
    ];
    let kept = segment::fold(&cfg, &writes, false).unwrap().unwrap();
    assert_eq!((kept.docs, kept.tombstones.len()), (3, 2), "hidden documents kept, for the statistics");
    let f = segment::fold(&cfg, &writes, true).unwrap().unwrap();
    assert_eq!((f.docs, f.tombstones.len()), (1, 2));
    let mut c = IndexCache::new(cfg).unwrap();
    c.load(&f).unwrap();
    assert_eq!(ids(&mut c, &[f.id.clone()], "one OR two OR bee"), [A]);
    assert_eq!(segment::fold(&c.config.clone(), &[], true).unwrap(), None);
    let mut k = IndexCache::new(c.config.clone()).unwrap();
    k.load(&kept).unwrap();
    assert_eq!(ids(&mut k, &[kept.id.clone()], "one OR two OR bee"), [A], "hidden by the segment's own tombstones");
}

#[test]
fn stored_segments_are_shared_through_a_directory() {
    let dir = std::env::temp_dir().join(format!("specstar-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = config(Language::Simple);
    let blob = segment::build(&cfg, &[doc(A, 1, "alpha", ""), doc(B, 1, "beta", "")], vec![]).unwrap().unwrap();
    let mut first = IndexCache::with_shared_dir(cfg.clone(), &dir, 2).unwrap();
    let meta_only = segment::SegmentBlob { data: vec![], ..blob.clone() };
    assert!(!first.load_shared(&meta_only).unwrap(), "nothing shared yet: the bytes are needed");
    first.load(&blob).unwrap();
    for (name, _, len) in &blob.files {
        assert_eq!(std::fs::metadata(dir.join(name)).unwrap().len(), *len as u64, "{name}");
    }
    assert_eq!(ids(&mut first, &[blob.id.clone()], "alpha OR beta"), [A, B]);
    // a second cache (another backend) maps the files without the bytes
    let mut second = IndexCache::with_shared_dir(cfg.clone(), &dir, 2).unwrap();
    assert!(second.load_shared(&meta_only).unwrap());
    assert_eq!(ids(&mut second, &[blob.id.clone()], "beta"), [B]);
    assert!(second.open(&[blob.id.clone()]).unwrap().index().validate_checksum().unwrap().is_empty());
    // a file of the wrong length is not taken (another inode: the caches above map the first)
    let (name, _, _) = &blob.files[0];
    std::fs::remove_file(dir.join(name)).unwrap();
    std::fs::write(dir.join(name), b"torn").unwrap();
    let mut third = IndexCache::with_shared_dir(cfg.clone(), &dir, 2).unwrap();
    assert!(!third.load_shared(&meta_only).unwrap());
    third.load(&blob).unwrap();
    assert_eq!(ids(&mut third, &[blob.id.clone()], "alpha"), [A]);
    // evicted (merged away in this backend's eyes): the files stay for the other backends
    second.evict_except(&[]).unwrap();
    assert!(blob.files.iter().all(|(n, _, _)| dir.join(n).exists()));
    assert_eq!(ids(&mut first, &[blob.id.clone()], "alpha"), [A]);
    // removed by a sweep while still needed: the bytes are asked for, and the files written again
    for (n, _, _) in &blob.files {
        std::fs::remove_file(dir.join(n)).unwrap();
    }
    assert_eq!(ids(&mut first, &[blob.id.clone()], "alpha"), [A], "the first cache keeps its mapping");
    let mut fifth = IndexCache::with_shared_dir(cfg.clone(), &dir, 2).unwrap();
    assert!(!fifth.load_shared(&meta_only).unwrap());
    fifth.load(&blob).unwrap();
    assert_eq!(ids(&mut fifth, &[blob.id.clone()], "beta"), [B]);
    // a file of the right length that tantivy cannot open (replaced under our feet): without
    // the bytes the segment is not loaded; with them its files are written again
    let (name, _, len) = blob.files.iter().find(|f| f.0.ends_with(".term")).unwrap().clone();
    std::fs::remove_file(dir.join(&name)).unwrap();
    std::fs::write(dir.join(&name), vec![0u8; len]).unwrap();
    let mut sixth = IndexCache::with_shared_dir(cfg.clone(), &dir, 2).unwrap();
    assert!(!sixth.load_shared(&meta_only).unwrap());
    sixth.load(&blob).unwrap();
    assert_eq!(ids(&mut sixth, &[blob.id.clone()], "alpha OR beta"), [A, B]);
    // a segment under min_docs stays in memory
    let small = segment::build(&cfg, &[doc(A, 3, "gamma", "")], vec![]).unwrap().unwrap();
    let mut fourth = IndexCache::with_shared_dir(cfg.clone(), &dir, 2).unwrap();
    assert!(!fourth.load_shared(&segment::SegmentBlob { data: vec![], ..small.clone() }).unwrap());
    fourth.load(&small).unwrap();
    assert!(small.files.iter().all(|(n, _, _)| !dir.join(n).exists()));
    assert_eq!(ids(&mut fourth, &[small.id.clone()], "gamma"), [A]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pending_rows_seen_one_at_a_time_are_regrouped() {
    let mut c = IndexCache::new(config(Language::Simple)).unwrap();
    let mut visible = vec![];
    for i in 0..10u64 {
        let id = format!("{:032x}", 0xb0 + i);
        // resource A rewritten by every write, resource B once per write
        let b = format!("00000000-0000-0000-0000-0000000001{i:02}");
        c.load_pending(vec![pending(&id, vec![doc(A, i + 1, &format!("v{i}"), ""), doc(&b, i + 1, "bee", "")], vec![Tombstone { key: A.into(), seq: i + 1 }])])
            .unwrap();
        visible.push(id);
        assert_eq!(ids(&mut c, &visible, &format!("v{i}")), [A], "write {i}");
        assert_eq!(ids(&mut c, &visible, "bee").len(), i as usize + 1);
        assert!(c.evict_except(&visible).unwrap().is_empty());
    }
    let searcher = c.open(&visible).unwrap();
    assert!(searcher.segment_readers().len() <= 4, "{} segments for 10 pending rows", searcher.segment_readers().len());
    assert_eq!(ids(&mut c, &visible, "v3"), Vec::<String>::new());
}

#[test]
fn equal_scores_come_in_id_order_however_the_segments_were_loaded() {
    let cfg = config(Language::Simple);
    let s1 = segment::build(&cfg, &[doc(B, 1, "heron", "")], vec![]).unwrap().unwrap();
    let s2 = segment::build(&cfg, &[doc(A, 2, "heron", "")], vec![]).unwrap().unwrap();
    for order in [[&s1, &s2], [&s2, &s1]] {
        let mut c = IndexCache::new(cfg.clone()).unwrap();
        for s in order {
            c.load(s).unwrap();
        }
        let searcher = c.open(&[order[0].id.clone(), order[1].id.clone()]).unwrap();
        let q = parse(&c, "heron");
        let hits = top_hits(&searcher, &*q.query, Some(10), 0).unwrap();
        assert_eq!(hits[0].1, hits[1].1);
        assert_eq!(hits.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), [A, B]);
        assert_eq!(top_hits(&searcher, &*q.query, Some(1), 1).unwrap()[0].0, B, "skip counts in that order");
    }
}
