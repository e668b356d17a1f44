//! What a spec's index looks like: one text field per searchable property, the resource id
//! (indexed raw, and a fast field to read hits back) and `_seq`, the write sequence number that
//! tombstones compare against.

use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STRING};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer, TokenizerManager};
use tantivy::IndexSettings;

pub const ID_FIELD: &str = "_id";
pub const SEQ_FIELD: &str = "_seq";

/// Analyzer of a spec's index (`options.search.language`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    /// Split on anything that is not a letter or digit, lowercase.
    Simple,
    /// `Simple`, then the English (Porter 2) stemmer.
    English,
}

impl Language {
    pub fn parse(name: &str) -> Option<Language> {
        match name {
            "simple" => Some(Language::Simple),
            "english" => Some(Language::English),
            _ => None,
        }
    }

    fn tokenizer_name(self) -> &'static str {
        match self {
            Language::Simple => "specstar_simple",
            Language::English => "specstar_english",
        }
    }

    pub fn analyzer(self) -> TextAnalyzer {
        let builder = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(100))
            .filter(LowerCaser);
        match self {
            Language::Simple => builder.build(),
            Language::English => builder.filter(Stemmer::new(tantivy::tokenizer::Language::English)).build(),
        }
    }
}

/// The searchable fields of a spec and their analyzer: two specs (or two versions of one) with
/// equal configs have interchangeable segments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    pub fields: Vec<String>,
    pub language: Language,
}

/// The tantivy side of a [`Config`], built once per cached index.
#[derive(Clone)]
pub struct IndexSchema {
    pub schema: Schema,
    pub id: Field,
    pub seq: Field,
    pub fields: Vec<Field>,
    pub tokenizers: TokenizerManager,
}

impl Config {
    pub fn index_schema(&self) -> IndexSchema {
        let mut builder = Schema::builder();
        let id = builder.add_text_field(ID_FIELD, STRING | FAST);
        let seq = builder.add_u64_field(SEQ_FIELD, FAST);
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(self.language.tokenizer_name())
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let text = TextOptions::default().set_indexing_options(indexing);
        let fields = self.fields.iter().map(|f| builder.add_text_field(f, text.clone())).collect();
        let tokenizers = TokenizerManager::default();
        tokenizers.register(self.language.tokenizer_name(), self.language.analyzer());
        IndexSchema { schema: builder.build(), id, seq, fields, tokenizers }
    }
}

/// Settings of every segment: no docstore work on a dedicated thread (nothing is stored anyway).
pub fn settings() -> IndexSettings {
    IndexSettings { docstore_compress_dedicated_thread: false, ..IndexSettings::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::TokenStream;

    fn tokens(lang: Language, text: &str) -> Vec<String> {
        let mut a = lang.analyzer();
        let mut s = a.token_stream(text);
        let mut out = vec![];
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn simple_lowercases_and_splits_on_punctuation() {
        assert_eq!(tokens(Language::Simple, "Hello, World-wide runners!"), ["hello", "world", "wide", "runners"]);
    }

    #[test]
    fn english_stems() {
        assert_eq!(tokens(Language::English, "Runners running"), ["runner", "run"]);
    }
}
