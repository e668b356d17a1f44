//! User query text to a tantivy query. tantivy's grammar does the parsing (with error positions);
//! the conversion is ours so that a lone `term*` is a prefix query and `term~1` a fuzzy one, and
//! so that unknown fields and unsupported forms are errors the user can act on.
//!
//! Grammar: terms (all required by default), `AND`, `OR`, `-term` / `NOT term`, `"phrases"`
//! (`"a b"~2` allows 2 words between), `field:term`, `field:(a OR b)`, prefix `term*` or
//! `"a phrase pref"*`, fuzzy `term~1` (edit distance 1 or 2), boosts `term^2`.

use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery};
use tantivy::query_grammar::{self, Delimiter, UserInputAst, UserInputLeaf, UserInputLiteral};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TokenStream;
use tantivy::{Searcher, Term};

use crate::schema::{Config, IndexSchema};

/// A query the user has to fix: what is wrong, where (1-based character position), and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub message: String,
    pub position: usize,
    pub hint: String,
}

/// A parsed query, ready to run against a searcher of the same config.
pub struct SearchQuery {
    pub query: Box<dyn Query>,
}

fn char_position(q: &str, byte: usize) -> usize {
    q.char_indices().take_while(|(i, _)| *i < byte).count() + 1
}

const SYNTAX_HINT: &str = "Write words (all must match), AND / OR / -word, \"a phrase\", field:word, prefix*, fuzzy~1; \
                           put special characters inside double quotes.";

impl SearchQuery {
    pub fn parse(config: &Config, schema: &IndexSchema, q: &str) -> Result<SearchQuery, QueryError> {
        let (ast, errors) = query_grammar::parse_query_lenient(q);
        if let Some(e) = errors.first() {
            let pos = char_position(q, e.pos.min(q.len()));
            return Err(QueryError {
                message: format!("search query: {} at position {pos}", e.message),
                position: pos,
                hint: SYNTAX_HINT.to_string(),
            });
        }
        let conv = Converter { config, schema, q };
        let query = conv.ast(&ast)?.unwrap_or_else(|| Box::new(EmptyQuery));
        Ok(SearchQuery { query })
    }

    /// Per field of `texts` (index into `Config::fields`, text), the text with the query's terms
    /// marked `<b>…</b>` (HTML-escaped), or nothing when no term of the query is in it.
    pub fn highlights(&self, searcher: &Searcher, schema: &IndexSchema, field: usize, text: &str) -> Option<String> {
        let f = *schema.fields.get(field)?;
        let mut gen = SnippetGenerator::create(searcher, &*self.query, f).ok()?;
        gen.set_max_num_chars(200);
        let snippet = gen.snippet(text);
        (!snippet.highlighted().is_empty()).then(|| snippet.to_html())
    }
}

struct Converter<'a> {
    config: &'a Config,
    schema: &'a IndexSchema,
    q: &'a str,
}

impl Converter<'_> {
    fn error(&self, message: String, needle: &str, hint: String) -> QueryError {
        let position = self.q.find(needle).map_or(1, |b| char_position(self.q, b));
        QueryError { message: format!("search query: {message} at position {position}"), position, hint }
    }

    fn ast(&self, ast: &UserInputAst) -> Result<Option<Box<dyn Query>>, QueryError> {
        match ast {
            UserInputAst::Clause(clauses) => {
                let mut subs: Vec<(Occur, Box<dyn Query>)> = vec![];
                for (occur, sub) in clauses {
                    let occur = match occur {
                        Some(query_grammar::Occur::Should) => Occur::Should,
                        Some(query_grammar::Occur::MustNot) => Occur::MustNot,
                        Some(query_grammar::Occur::Must) | None => Occur::Must,
                    };
                    if let Some(q) = self.ast(sub)? {
                        subs.push((occur, q));
                    }
                }
                if subs.is_empty() {
                    return Ok(None);
                }
                if subs.iter().all(|(o, _)| *o == Occur::MustNot) {
                    subs.push((Occur::Must, Box::new(AllQuery)));
                }
                if subs.len() == 1 && subs[0].0 != Occur::MustNot {
                    return Ok(subs.pop().map(|(_, q)| q));
                }
                Ok(Some(Box::new(BooleanQuery::new(subs))))
            }
            UserInputAst::Boost(sub, boost) => {
                Ok(self.ast(sub)?.map(|q| Box::new(BoostQuery::new(q, boost.0 as f32)) as Box<dyn Query>))
            }
            UserInputAst::Leaf(leaf) => self.leaf(leaf),
        }
    }

    fn leaf(&self, leaf: &UserInputLeaf) -> Result<Option<Box<dyn Query>>, QueryError> {
        match leaf {
            UserInputLeaf::Literal(lit) => self.literal(lit),
            UserInputLeaf::All => Ok(Some(Box::new(AllQuery))),
            UserInputLeaf::Range { field, .. } => Err(self.error(
                "ranges are not supported".into(),
                field.as_deref().unwrap_or("["),
                "Filter ranges with PostgREST or SQL on the results (e.g. &views=gt.10).".into(),
            )),
            UserInputLeaf::Set { field, .. } => Err(self.error(
                "term sets (IN [...]) are not supported".into(),
                field.as_deref().unwrap_or("IN"),
                "Write the alternatives with OR: field:(a OR b).".into(),
            )),
            UserInputLeaf::Exists { field } => Err(self.error(
                format!("{field}:* (exists) is not supported"),
                field,
                "Filter on the column with PostgREST or SQL (e.g. &title=not.is.null).".into(),
            )),
            UserInputLeaf::Regex { field, .. } => Err(self.error(
                "regular expressions are not supported".into(),
                field.as_deref().unwrap_or("/"),
                "Use a prefix (word*) or fuzzy (word~1) term.".into(),
            )),
        }
    }

    fn fields(&self, lit: &UserInputLiteral) -> Result<Vec<Field>, QueryError> {
        match &lit.field_name {
            None => Ok(self.schema.fields.clone()),
            Some(name) => match self.config.fields.iter().position(|f| f == name) {
                Some(i) => Ok(vec![self.schema.fields[i]]),
                None => Err(self.error(
                    format!("\"{name}\" is not a searchable field"),
                    &format!("{name}:"),
                    format!("Searchable fields: {}. Quote the text if the colon is part of a word.", self.config.fields.join(", ")),
                )),
            },
        }
    }

    fn literal(&self, lit: &UserInputLiteral) -> Result<Option<Box<dyn Query>>, QueryError> {
        let fields = self.fields(lit)?;
        // tantivy's grammar reads `word*` and `word~1` as plain words: the suffixes are ours.
        let (mut text, mut prefix, mut slop) = (lit.phrase.as_str(), lit.prefix, lit.slop);
        if lit.delimiter == Delimiter::None {
            if let Some(stem) = text.strip_suffix('*') {
                (text, prefix) = (stem, true);
            } else if let Some((word, n)) = text.rsplit_once('~') {
                match n.parse::<u32>() {
                    Ok(n) if !word.is_empty() => (text, slop) = (word, n),
                    _ => {
                        return Err(self.error(
                            format!("\"{}\" needs an edit distance after ~", lit.phrase),
                            &lit.phrase,
                            "Write word~1 or word~2.".into(),
                        ))
                    }
                }
            }
        }
        let mut analyzer = self.config.language.analyzer();
        let mut tokens: Vec<(usize, String)> = vec![];
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            tokens.push((t.position, t.text.clone()));
        }
        if tokens.is_empty() {
            return Ok(None);
        }
        let fuzzy = tokens.len() == 1 && slop > 0;
        if fuzzy && slop > 2 {
            return Err(self.error(
                format!("fuzzy distance {slop} is too large"),
                &format!("~{slop}"),
                "Use ~1 or ~2.".into(),
            ));
        }
        let mut per_field: Vec<(Occur, Box<dyn Query>)> = vec![];
        for field in fields {
            let term = |text: &str| Term::from_field_text(field, text);
            let q: Box<dyn Query> = if tokens.len() == 1 {
                let t = term(&tokens[0].1);
                if prefix {
                    Box::new(FuzzyTermQuery::new_prefix(t, 0, true))
                } else if fuzzy {
                    Box::new(FuzzyTermQuery::new(t, slop as u8, true))
                } else {
                    Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))
                }
            } else {
                let terms: Vec<(usize, Term)> = tokens.iter().map(|(p, s)| (*p, term(s))).collect();
                if prefix {
                    Box::new(PhrasePrefixQuery::new_with_offset(terms))
                } else {
                    Box::new(PhraseQuery::new_with_offset_and_slop(terms, slop))
                }
            };
            per_field.push((Occur::Should, q));
        }
        if per_field.len() == 1 {
            return Ok(per_field.pop().map(|(_, q)| q));
        }
        Ok(Some(Box::new(BooleanQuery::new(per_field))))
    }
}
