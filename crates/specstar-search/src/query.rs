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
use tantivy::tokenizer::TokenStream;
use tantivy::Term;

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
    /// What the query looks for, per field (None: any field): for highlighting.
    marks: Vec<(Option<usize>, Mark)>,
    language: crate::schema::Language,
}

/// A token the query matches (after analysis).
#[derive(Clone, Debug, PartialEq)]
enum Mark {
    Exact(String),
    Prefix(String),
    Fuzzy(String, u32),
}

impl Mark {
    fn matches(&self, token: &str) -> bool {
        match self {
            Mark::Exact(t) => t == token,
            Mark::Prefix(p) => token.starts_with(p.as_str()),
            Mark::Fuzzy(t, d) => strsim::osa_distance(t, token) <= *d as usize,
        }
    }
}

/// Texts up to this many characters come back whole from highlighting; longer ones as a
/// window around the first match.
const WHOLE_TEXT_CHARS: usize = 1000;
const WINDOW_CHARS: usize = 400;

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn char_position(q: &str, byte: usize) -> usize {
    q.char_indices().take_while(|(i, _)| *i < byte).count() + 1
}

/// Queries longer than this are refused.
pub const MAX_QUERY_CHARS: usize = 1000;

/// A query may open at most this many parentheses (field groups included) and use at most
/// this many `NOT`s, together: tantivy's grammar and the conversion below recurse once per
/// level of nesting, and Rust's recursion is invisible to PostgreSQL's stack check. Counting
/// them all, wherever they stand (in phrases too), bounds the nesting whatever the grammar
/// makes of quotes and escapes.
pub const MAX_NESTING: usize = 32;

/// The largest slop of a phrase (`"a b"~10`).
pub const MAX_SLOP: u32 = 10;

/// The most words a phrase may have.
pub const MAX_PHRASE_WORDS: usize = 32;

/// The most words a phrase with a slop may have. tantivy's sloppy matching keeps, for each
/// word after the first two, every candidate position with the slop it has spent, without
/// merging duplicates: the memory it needs grows about (slop + 2)-fold per further word (a
/// 12-word phrase with slop 50 took 4 GB on one 2 MB document, 8 words with slop 10 close to
/// 1 GB). Two words need no such buffer at all.
pub const MAX_SLOPPY_PHRASE_WORDS: usize = 2;

fn limit_error(message: String, position: usize, hint: &str) -> QueryError {
    QueryError { message: format!("search query: {message} at position {position}"), position, hint: hint.to_string() }
}

/// Refuses queries that nest too deeply or are too long, before anything recursive reads
/// them (this scan is flat).
fn check_limits(q: &str) -> Result<(), QueryError> {
    let mut openers = 0;
    let mut word_start = true;
    let mut chars = 0;
    // over the text itself, allocating nothing, however long it is
    for (i, c) in q.char_indices() {
        chars += 1;
        let not = word_start && q[i..].starts_with("NOT") && q[i + 3..].chars().next().is_none_or(|n| !n.is_alphanumeric());
        if c == '(' || not {
            openers += 1;
            if openers > MAX_NESTING {
                return Err(limit_error(
                    format!("nested too deeply (at most {MAX_NESTING} parentheses and NOTs in all)"),
                    chars,
                    "Write the query flatter: a OR b OR c needs no parentheses, and NOT NOT a is a.",
                ));
            }
        }
        word_start = !c.is_alphanumeric();
    }
    if chars > MAX_QUERY_CHARS {
        return Err(limit_error(
            format!("longer than {MAX_QUERY_CHARS} characters"),
            MAX_QUERY_CHARS + 1,
            "Search with fewer words; filter the results with PostgREST or SQL instead.",
        ));
    }
    Ok(())
}

const SYNTAX_HINT: &str = "Write words (all must match), AND / OR / -word, \"a phrase\", field:word, prefix*, fuzzy~1; \
                           put special characters inside double quotes.";

impl SearchQuery {
    pub fn parse(config: &Config, schema: &IndexSchema, q: &str) -> Result<SearchQuery, QueryError> {
        check_limits(q)?;
        let (ast, errors) = query_grammar::parse_query_lenient(q);
        if let Some(e) = errors.first() {
            let pos = char_position(q, e.pos.min(q.len()));
            return Err(QueryError {
                message: format!("search query: {} at position {pos}", e.message),
                position: pos,
                hint: SYNTAX_HINT.to_string(),
            });
        }
        let conv = Converter { config, schema, q, marks: std::cell::RefCell::new(vec![]) };
        let query = conv.ast(&ast, false)?.unwrap_or_else(|| Box::new(EmptyQuery));
        Ok(SearchQuery { query, marks: conv.marks.into_inner(), language: config.language })
    }

    /// The text of field `field` (index into `Config::fields`), HTML-escaped, with every word
    /// the query looks for there marked `<b>…</b>`; `None` when there is none. Texts longer
    /// than 1000 characters come back as a window of about 400 around the first mark, `…` at
    /// the cuts.
    pub fn highlight(&self, field: usize, text: &str) -> Option<String> {
        let marks: Vec<&Mark> = self.marks.iter().filter(|(f, _)| f.is_none_or(|f| f == field)).map(|(_, m)| m).collect();
        if marks.is_empty() {
            return None;
        }
        let mut analyzer = self.language.analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut ranges: Vec<(usize, usize)> = vec![];
        while stream.advance() {
            let t = stream.token();
            if marks.iter().any(|m| m.matches(&t.text)) {
                ranges.push((t.offset_from, t.offset_to));
            }
        }
        let first = ranges.first()?.0;
        let (start, end) = if text.chars().count() <= WHOLE_TEXT_CHARS {
            (0, text.len())
        } else {
            let back = text[..first].char_indices().rev().nth(WINDOW_CHARS / 4).map_or(0, |(i, _)| i);
            let end = text[back..].char_indices().nth(WINDOW_CHARS).map_or(text.len(), |(i, _)| back + i);
            (back, end.max(ranges[0].1))
        };
        let mut out = String::with_capacity(end - start + 16 * ranges.len());
        if start > 0 {
            out.push('…');
        }
        let mut at = start;
        for (from, to) in ranges.into_iter().filter(|(f, t)| *f >= start && *t <= end) {
            if from < at {
                continue;
            }
            escape_into(&mut out, &text[at..from]);
            out.push_str("<b>");
            escape_into(&mut out, &text[from..to]);
            out.push_str("</b>");
            at = to;
        }
        escape_into(&mut out, &text[at..end]);
        if end < text.len() {
            out.push('…');
        }
        Some(out)
    }
}

struct Converter<'a> {
    config: &'a Config,
    schema: &'a IndexSchema,
    q: &'a str,
    marks: std::cell::RefCell<Vec<(Option<usize>, Mark)>>,
}

impl Converter<'_> {
    fn error(&self, message: String, needle: &str, hint: String) -> QueryError {
        let position = self.q.find(needle).map_or(1, |b| char_position(self.q, b));
        QueryError { message: format!("search query: {message} at position {position}"), position, hint }
    }

    /// Words are all required by default; `a OR b` binds tighter than the implicit AND, so
    /// the alternatives of a clause (tantivy's `Should`s) are required as one group:
    /// `a OR b c` is (a OR b) AND c. `negated`: under a `-`, so not highlighted.
    fn ast(&self, ast: &UserInputAst, negated: bool) -> Result<Option<Box<dyn Query>>, QueryError> {
        match ast {
            UserInputAst::Clause(clauses) => {
                let mut required: Vec<(Occur, Box<dyn Query>)> = vec![];
                let mut alternatives: Vec<(Occur, Box<dyn Query>)> = vec![];
                for (occur, sub) in clauses {
                    let not = matches!(occur, Some(query_grammar::Occur::MustNot));
                    let Some(q) = self.ast(sub, negated ^ not)? else { continue };
                    match occur {
                        Some(query_grammar::Occur::Should) => alternatives.push((Occur::Should, q)),
                        Some(query_grammar::Occur::MustNot) => required.push((Occur::MustNot, q)),
                        Some(query_grammar::Occur::Must) | None => required.push((Occur::Must, q)),
                    }
                }
                match alternatives.len() {
                    0 => {}
                    1 => required.push((Occur::Must, alternatives.pop().expect("one").1)),
                    _ => required.push((Occur::Must, Box::new(BooleanQuery::new(alternatives)))),
                }
                if required.is_empty() {
                    return Ok(None);
                }
                if required.iter().all(|(o, _)| *o == Occur::MustNot) {
                    required.push((Occur::Must, Box::new(AllQuery)));
                }
                if required.len() == 1 && required[0].0 != Occur::MustNot {
                    return Ok(required.pop().map(|(_, q)| q));
                }
                Ok(Some(Box::new(BooleanQuery::new(required))))
            }
            UserInputAst::Boost(sub, boost) => {
                Ok(self.ast(sub, negated)?.map(|q| Box::new(BoostQuery::new(q, boost.0 as f32)) as Box<dyn Query>))
            }
            UserInputAst::Leaf(leaf) => self.leaf(leaf, negated),
        }
    }

    fn leaf(&self, leaf: &UserInputLeaf, negated: bool) -> Result<Option<Box<dyn Query>>, QueryError> {
        match leaf {
            UserInputLeaf::Literal(lit) => self.literal(lit, negated),
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

    fn fields(&self, lit: &UserInputLiteral) -> Result<(Option<usize>, Vec<Field>), QueryError> {
        match &lit.field_name {
            None => Ok((None, self.schema.fields.clone())),
            Some(name) => match self.config.fields.iter().position(|f| f == name) {
                Some(i) => Ok((Some(i), vec![self.schema.fields[i]])),
                None => Err(self.error(
                    format!("\"{name}\" is not a searchable field"),
                    &format!("{name}:"),
                    format!("Searchable fields: {}. Quote the text if the colon is part of a word.", self.config.fields.join(", ")),
                )),
            },
        }
    }

    fn literal(&self, lit: &UserInputLiteral, negated: bool) -> Result<Option<Box<dyn Query>>, QueryError> {
        if lit.delimiter == Delimiter::None && ["AND", "OR", "NOT"].contains(&lit.phrase.as_str()) {
            return Err(self.error(
                format!("{} needs a word on each side", lit.phrase),
                &lit.phrase,
                format!("Remove the dangling {op}, or quote it to search for the word: \"{op}\".", op = lit.phrase),
            ));
        }
        let (field_index, fields) = self.fields(lit)?;
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
        if tokens.len() > MAX_PHRASE_WORDS {
            return Err(self.error(
                format!("a phrase of {} words is too long (at most {MAX_PHRASE_WORDS})", tokens.len()),
                &lit.phrase,
                "Search for the most distinctive part of the phrase.".into(),
            ));
        }
        if tokens.len() > 1 && slop > MAX_SLOP {
            return Err(self.error(
                format!("phrase slop {slop} is too large (at most {MAX_SLOP})"),
                &format!("~{slop}"),
                format!("Allow at most {MAX_SLOP} words between the phrase's words, or search for the words without quotes."),
            ));
        }
        if tokens.len() > MAX_SLOPPY_PHRASE_WORDS && slop > 0 {
            return Err(self.error(
                format!("a phrase with a slop may have at most {MAX_SLOPPY_PHRASE_WORDS} words, not {}", tokens.len()),
                &format!("~{slop}"),
                "Give the slop to the two words that should be near each other (\"quick fox\"~3), or drop it to match the whole phrase.".into(),
            ));
        }
        let fuzzy = tokens.len() == 1 && slop > 0;
        if fuzzy && slop > 2 {
            return Err(self.error(
                format!("fuzzy distance {slop} is too large"),
                &format!("~{slop}"),
                "Use ~1 or ~2.".into(),
            ));
        }
        if !negated {
            let mut marks = self.marks.borrow_mut();
            for (_, t) in &tokens {
                let mark = if tokens.len() == 1 && prefix {
                    Mark::Prefix(t.clone())
                } else if fuzzy {
                    Mark::Fuzzy(t.clone(), slop)
                } else {
                    Mark::Exact(t.clone())
                };
                marks.push((field_index, mark));
            }
            if tokens.len() > 1 && prefix {
                if let Some(m) = marks.last_mut() {
                    m.1 = Mark::Prefix(tokens[tokens.len() - 1].1.clone());
                }
            }
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
