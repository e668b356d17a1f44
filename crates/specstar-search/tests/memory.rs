//! No accepted query makes a search allocate without bound: every query the limits let
//! through — generated ones included — is parsed, run for 1000 hits and highlighted over
//! documents built to make sloppy and prefix matching expensive (2 MB of two or three
//! repeated words), while an allocator that counts bytes records the peak.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use proptest::prelude::*;
use specstar_search::cache::top_hits;
use specstar_search::{segment, Config, Doc, IndexCache, Language, SearchQuery};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one search may take on top of the index it searches.
const BUDGET: usize = 64 << 20;

const TEXTS: [&str; 3] = ["a b c ", "a b b ", "b a a a b "];

thread_local! {
    /// built once: the cases share it
    static INDEX: std::cell::RefCell<Option<(IndexCache, Config, Vec<String>)>> = const { std::cell::RefCell::new(None) };
}

/// One measurement at a time: the byte counters are the whole process's.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` over the shared index, alone.
fn with_index<R>(f: impl FnOnce(&mut IndexCache, &Config, &[String]) -> R) -> R {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    INDEX.with(|i| {
        let mut i = i.borrow_mut();
        let (cache, config, visible) = i.get_or_insert_with(index);
        f(cache, config, visible)
    })
}

fn index() -> (IndexCache, Config, Vec<String>) {
    let config = Config { fields: vec!["body".into()], language: Language::Simple };
    let mut cache = IndexCache::new(config.clone()).unwrap();
    let docs: Vec<Doc> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| Doc { id: format!("00000000-0000-0000-0000-00000000000{i}"), seq: 1, fields: vec![vec![t.repeat((2 << 20) / t.len())]] })
        .collect();
    let blob = segment::build(&config, &docs, vec![]).unwrap().unwrap();
    cache.load(&blob).unwrap();
    (cache, config, vec![blob.id])
}

/// The peak bytes one query allocates (parse, 1000 hits, highlights), or None if refused.
fn peak_of(cache: &mut IndexCache, config: &Config, visible: &[String], q: &str) -> Option<usize> {
    let searcher = cache.open(visible).unwrap();
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let query = SearchQuery::parse(config, cache.schema(), q).ok()?;
    let hits = top_hits(&searcher, &*query.query, Some(1000), 0).unwrap();
    for t in TEXTS {
        let _ = query.highlight(0, &t.repeat(200));
    }
    drop(hits);
    Some(PEAK.load(Relaxed).saturating_sub(base))
}

#[test]
fn adversarial_queries_stay_within_budget() {
    with_index(|cache, config, visible| adversarial(cache, config, visible));
}

fn adversarial(cache: &mut IndexCache, config: &Config, visible: &[String]) {
    let words = |w: &[&str], n: usize| w.iter().cycle().take(n).copied().collect::<Vec<_>>().join(" ");
    let mut accepted = 0;
    for q in [
        "\"c b\"~10".to_string(),
        "\"b a\"~10".to_string(),
        format!("\"{}\"", words(&["c", "b", "a"], 32)),
        format!("\"{}\"", words(&["a"], 32)),
        vec!["\"a b\"~10"; 90].join(" "),
        vec!["\"b a\"~10 OR \"c b\"~10"; 40].join(" OR "),
        "a* b* c*".to_string(),
        "a~2 b~2 c~2 aa~2 bb~2".to_string(),
        format!("\"{}\"*", words(&["a", "b"], 31)),
    ] {
        if let Some(peak) = peak_of(cache, config, visible, &q) {
            accepted += 1;
            assert!(peak < BUDGET, "{q:.80}: {} MB", peak >> 20);
        }
    }
    assert!(accepted >= 8);
    // the kind of query that took gigabytes is refused
    assert_eq!(peak_of(cache, config, visible, &format!("\"{}\"~10", words(&["c", "b", "a"], 8))), None);
}

fn phrase() -> impl Strategy<Value = String> {
    (prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "a*"]), 1..40), 0u32..12, any::<bool>()).prop_map(|(w, slop, star)| {
        let body = w.join(" ");
        match (slop, star) {
            (0, true) => format!("\"{body}\"*"),
            (0, false) => format!("\"{body}\""),
            (s, _) => format!("\"{body}\"~{s}"),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, .. ProptestConfig::default() })]

    #[test]
    fn generated_queries_stay_within_budget(parts in prop::collection::vec(prop_oneof![phrase(), Just("a".to_string()), Just("b~2".to_string()), Just("c*".to_string())], 1..12)) {
        let q = parts.join(" OR ");
        if let Some(peak) = with_index(|cache, config, visible| peak_of(cache, config, visible, &q)) {
            prop_assert!(peak < BUDGET, "{}: {} MB", q, peak >> 20);
        }
    }
}
