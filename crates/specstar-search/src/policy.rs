//! Which segments a write merges: a tiered policy on document counts alone, so that deciding
//! costs nothing but the list of segments.
//!
//! Segments sit at size levels (level = ⌊log₈ docs⌋: 1–7 documents are level 0, 8–63 level 1,
//! …). When a level holds `fan_in` segments, they are merged into one of the next level, so
//! each document is rewritten about once per level and a level never holds more than
//! `fan_in - 1` segments for long. Segments of `max_docs` documents or more are left to the
//! background merger (or `search_merge`), so that no single write pays for rewriting a large
//! index.

/// The level of a segment of `docs` documents.
pub fn level(docs: u32) -> u32 {
    if docs < 8 {
        0
    } else {
        (31 - docs.leading_zeros()) / 3
    }
}

/// The segments (ids) to merge now: the lowest level with at least `fan_in` segments below
/// `max_docs` documents, or none.
pub fn pick(segments: &[(String, u32)], fan_in: usize, max_docs: u32) -> Vec<String> {
    let mut levels: std::collections::BTreeMap<u32, Vec<&String>> = std::collections::BTreeMap::new();
    for (id, docs) in segments {
        if *docs < max_docs {
            levels.entry(level(*docs)).or_default().push(id);
        }
    }
    let mut out: Vec<String> = levels
        .into_values()
        .find(|ids| ids.len() >= fan_in)
        .map(|ids| ids.into_iter().cloned().collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(docs: &[u32]) -> Vec<(String, u32)> {
        docs.iter().enumerate().map(|(i, d)| (format!("s{i:02}"), *d)).collect()
    }

    #[test]
    fn levels_are_powers_of_eight() {
        assert_eq!([1, 7, 8, 63, 64, 511, 512, 1_000_000].map(level), [0, 0, 1, 1, 2, 2, 3, 6]);
    }

    #[test]
    fn a_full_level_merges_alone() {
        // seven single-document segments and a big one: nothing yet
        assert!(pick(&segs(&[1, 1, 1, 1, 1, 1, 1, 100_000]), 8, 32768).is_empty());
        // the eighth: those eight, never the big one
        let p = pick(&segs(&[1, 1, 1, 1, 1, 1, 1, 100_000, 2]), 8, 32768);
        assert_eq!(p, ["s00", "s01", "s02", "s03", "s04", "s05", "s06", "s08"]);
        // a full level 1 beside a half-full level 0
        let p = pick(&segs(&[1, 1, 9, 9, 9, 9, 9, 9, 9, 9]), 8, 32768);
        assert_eq!(p.len(), 8);
        assert!(!p.contains(&"s00".to_string()));
    }

    #[test]
    fn large_segments_are_left_to_search_merge() {
        assert!(pick(&segs(&[40_000; 9]), 8, 32768).is_empty());
    }
}
