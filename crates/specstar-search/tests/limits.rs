//! No query can crash a backend or make it allocate without bound: whatever the text, parsing
//! and searching return a result or a `QueryError`, on a stack a fraction of a backend's.

use proptest::prelude::*;
use specstar_search::cache::top_hits;
use specstar_search::query::{MAX_NESTING, MAX_PHRASE_WORDS, MAX_QUERY_CHARS, MAX_SLOP, MAX_SLOPPY_PHRASE_WORDS};
use specstar_search::{segment, Config, Doc, IndexCache, Language, QueryError, SearchQuery};

/// A backend runs on an 8 MB stack; these tests give parsing and searching (in a debug
/// build, whose frames are several times larger) far less.
const STACK: usize = 2 << 20;

fn config() -> Config {
    Config { fields: vec!["title".into(), "body".into()], language: Language::English }
}

const LOREM: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ";

fn index() -> (IndexCache, String) {
    let mut c = IndexCache::new(config()).unwrap();
    let docs = vec![
        Doc { id: "00000000-0000-0000-0000-00000000000a".into(), seq: 1, fields: vec![vec!["Quick brown fox".into()], vec![LOREM.repeat(2000)]] },
        Doc { id: "00000000-0000-0000-0000-00000000000b".into(), seq: 1, fields: vec![vec!["lazy dog".into()], vec!["the fox sleeps".into()]] },
    ];
    let blob = segment::build(&config(), &docs, vec![]).unwrap().unwrap();
    c.load(&blob).unwrap();
    (c, blob.id)
}

/// Parses and, when the query is valid, searches (top 10, with highlights), on a small stack.
fn run(q: String) -> Result<usize, QueryError> {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let (mut c, id) = index();
            let searcher = c.open(&[id]).unwrap();
            let query = SearchQuery::parse(&config(), c.schema(), &q)?;
            let hits = top_hits(&searcher, &*query.query, Some(10), 0).unwrap();
            for i in 0..2 {
                let _ = query.highlight(i, LOREM);
            }
            Ok(hits.len())
        })
        .unwrap()
        .join()
        .expect("no panic, no stack overflow")
}

fn refused(q: String, needle: &str) {
    let e = run(q.clone()).expect_err(&q[..q.len().min(80)]);
    assert!(e.message.contains(needle), "{}", e.message);
    assert!(e.message.starts_with("search query: "), "{}", e.message);
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    refused(format!("{}a{}", "(".repeat(3000), ")".repeat(3000)), "nested too deeply");
    refused(format!("{}a", "NOT ".repeat(20_000)), "nested too deeply");
    refused(format!("{}a{}", "title:(".repeat(3000), ")".repeat(3000)), "nested too deeply");
    refused(format!("{}a{}", "(".repeat(MAX_NESTING + 1), ")".repeat(MAX_NESTING + 1)), "at position 33");
    // quotes and escapes do not hide parentheses from the count
    refused(format!("\"{}\" {}a", ")".repeat(40), "(".repeat(40)), "nested too deeply");
    refused(format!("\\\" {}a", "(".repeat(40)), "nested too deeply");
    // right at the limit parses, and searches
    assert!(run(format!("{}fox{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING))).is_ok());
    assert!(run(format!("{}fox", "NOT ".repeat(MAX_NESTING))).is_ok());
}

#[test]
fn long_queries_are_refused() {
    refused("fox ".repeat(MAX_QUERY_CHARS / 4 + 1), "longer than 1000 characters");
    // (a word that long is dropped by the analyzer: the query is fox)
    assert_eq!(run(format!("{} fox", "a".repeat(MAX_QUERY_CHARS - 4))), Ok(2));
}

#[test]
fn sloppy_phrases_are_bounded() {
    // this query grew a backend to 24 GB before the limits
    refused(format!("\"{}\"~100000", LOREM.trim()), "phrase slop 100000 is too large");
    refused("\"lorem ipsum\"~11".into(), "phrase slop 11 is too large (at most 10)");
    let long: Vec<&str> = LOREM.split_whitespace().cycle().take(MAX_PHRASE_WORDS + 1).collect();
    refused(format!("\"{}\"", long.join(" ")), "a phrase of 33 words is too long");
    let most: Vec<&str> = LOREM.split_whitespace().cycle().take(MAX_PHRASE_WORDS).collect();
    assert_eq!(run(format!("\"{}\"", most.join(" "))), Ok(1));
    // a slop only for two words: beyond, tantivy's buffers grow with every further word
    refused("\"lorem ipsum dolor\"~1".into(), "a phrase with a slop may have at most 2 words, not 3");
    assert_eq!(run(format!("\"lorem dolor\"~{MAX_SLOP}")), Ok(1));
    assert_eq!(MAX_SLOPPY_PHRASE_WORDS, 2);
    // fuzzy terms keep their own limit (~2); a lone word's ~n is an edit distance
    assert_eq!(run("sleps~1".into()), Ok(1));
    refused("sleps~3".into(), "fuzzy distance 3 is too large");
}

fn query_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "(", ")", "\"", "'", "\\", "NOT ", "AND ", "OR ", "-", "+", "*", "~", "~1", "~11", "^2", ":", "title:", "body:",
        "[", "]", "{", "}", " TO ", "IN ", "fox", "lorem", "ipsum", "dolor", " ", "  ", "é", "\u{1F98A}", "\u{0}", "1e400",
    ]);
    prop::collection::vec(pieces, 0..400).prop_map(|v| v.concat())
}

#[test]
fn a_phrase_under_not_is_answered() {
    // (found by the property test below: tantivy's own debug assertion, see Cargo.toml)
    for q in ["NOT fox🦊lorem", "lazy NOT \"fox sleeps\"", "NOT \"quick brown\""] {
        assert!(run(q.to_string()).is_ok(), "{q}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn any_query_is_answered_or_refused(q in query_text()) {
        match run(q.clone()) {
            Ok(n) => prop_assert!(n <= 2),
            Err(e) => prop_assert!(e.message.starts_with("search query: ") && e.position >= 1, "{:?}", e),
        }
    }

    #[test]
    fn any_unicode_is_answered_or_refused(q in "\\PC{0,1200}") {
        let _ = run(q);
    }
}
