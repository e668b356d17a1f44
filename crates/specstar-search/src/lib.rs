//! The BM25 index of specstar, as pure Rust over tantivy: no PostgreSQL in here.
//!
//! The extension keeps every segment as a row (see `docs/search.md`); this crate turns documents
//! into segment blobs ([`segment`]), opens the visible set of blobs with the visible tombstones
//! applied ([`cache`]), parses user queries ([`query`]) and merges segments. Everything runs on
//! the caller's thread over in-memory directories: nothing here starts a thread, so the backend
//! that calls it stays single-threaded, and nothing here calls back into PostgreSQL.

pub mod cache;
pub mod directory;
pub mod policy;
pub mod query;
pub mod schema;
pub mod segment;

pub use cache::{IndexCache, PendingRow, Tombstone};
pub use query::{QueryError, SearchQuery};
pub use schema::{Config, Language};
pub use segment::{Doc, SegmentBlob};

/// An error of the index itself (not of the user's query): a bug or damaged segment bytes.
#[derive(Debug)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IndexError {}

macro_rules! impl_from {
    ($($t:ty),*) => {$(
        impl From<$t> for IndexError {
            fn from(e: $t) -> Self { IndexError(e.to_string()) }
        }
    )*};
}
impl_from!(
    tantivy::TantivyError,
    std::io::Error,
    serde_json::Error,
    tantivy::directory::error::OpenReadError,
    tantivy::directory::error::OpenWriteError,
    tantivy::directory::error::OpenDirectoryError
);

pub type Result<T> = std::result::Result<T, IndexError>;

/// The 16 bytes of a uuid written with or without hyphens (resource ids, segment ids).
pub fn uuid_bytes(s: &str) -> Result<[u8; 16]> {
    uuid::Uuid::parse_str(s).map(|u| *u.as_bytes()).map_err(|e| IndexError(format!("{s} is not a uuid: {e}")))
}

/// A uuid as PostgreSQL writes it (lowercase, hyphenated).
pub fn uuid_text(bytes: [u8; 16]) -> String {
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}
