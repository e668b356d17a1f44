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
