//! Building tantivy queries from a [`SearchQuery`] (never through tantivy's query syntax).

use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use crate::SearchQuery;
use crate::analysis::QueryWord;
use crate::schema::{Fields, bool_str};

const NAME_BOOST: f32 = 3.0;
const ITEMS_BOOST: f32 = 2.0;
const SUMMARY_BOOST: f32 = 1.0;
/// Substring (n-gram) matches weigh a bit less than whole-word (jieba) matches.
const NGRAM_FACTOR: f32 = 0.6;

/// Statuses visible to everyone (subject to `restrict_non_public`).
const PUBLIC_STATUSES: [&str; 2] = ["published", "retired"];

fn term_query(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

fn filter(q: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
}

fn any_of(field: Field, values: &[&str]) -> Box<dyn Query> {
    match values {
        [one] => term_query(field, one),
        _ => Box::new(BooleanQuery::new(values.iter().map(|v| (Occur::Should, term_query(field, v))).collect())),
    }
}

/// Matches documents where all n-grams of the word occur in `field` (an n-gram field): at their
/// relative positions when `phrase` (exact substring), anywhere in the field otherwise.
fn ngram_query(field: Field, word: &QueryWord, phrase: bool) -> Option<Box<dyn Query>> {
    let term = |t: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs))
    };
    match word.ngrams.as_slice() {
        [] => None,
        [(_, one)] => Some(term(one)),
        many if phrase => Some(Box::new(PhraseQuery::new_with_offset(
            many.iter().map(|(pos, t)| (*pos, Term::from_field_text(field, t))).collect(),
        ))),
        many => Some(Box::new(BooleanQuery::new(many.iter().map(|(_, t)| (Occur::Must, term(t))).collect()))),
    }
}

fn boosted(q: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(q, boost))
}

/// Query for one word: it must occur in name, item names or summary — as a substring of the name,
/// as all its character n-grams within one item-name or summary field, or as all its jieba words
/// (in any of the three). Name weighs more than item names, which weigh more than the summary.
/// (Positions are checked in the short name field only: phrase matching over long multi-valued
/// fields costs several milliseconds on common words, and the jieba branch is looser anyway.)
fn word_query(f: &Fields, word: &QueryWord) -> Option<Box<dyn Query>> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (field, boost, phrase) in
        [(f.name_ng, NAME_BOOST, true), (f.items_ng, ITEMS_BOOST, false), (f.summary_ng, SUMMARY_BOOST, false)]
    {
        if let Some(q) = ngram_query(field, word, phrase) {
            should.push((Occur::Should, boosted(q, boost * NGRAM_FACTOR)));
        }
    }
    if !word.jieba.is_empty() {
        let must: Vec<(Occur, Box<dyn Query>)> = word
            .jieba
            .iter()
            .map(|t| {
                let per_field: Vec<(Occur, Box<dyn Query>)> =
                    [(f.name, NAME_BOOST), (f.items, ITEMS_BOOST), (f.summary, SUMMARY_BOOST)]
                        .into_iter()
                        .map(|(field, boost)| {
                            let q = TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs);
                            (Occur::Should, boosted(Box::new(q), boost))
                        })
                        .collect();
                (Occur::Must, Box::new(BooleanQuery::new(per_field)) as Box<dyn Query>)
            })
            .collect();
        should.push((Occur::Should, Box::new(BooleanQuery::new(must))));
    }
    if should.is_empty() { None } else { Some(Box::new(BooleanQuery::new(should))) }
}

/// Build the query. `words` is the analysed text (empty: no text condition).
pub(crate) fn build(f: &Fields, q: &SearchQuery, words: &[QueryWord]) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for w in words {
        if let Some(wq) = word_query(f, w) {
            clauses.push((Occur::Must, wq));
        }
    }
    if let Some(p) = &q.provider {
        clauses.push(filter(term_query(f.provider, p)));
    }
    if let Some(c) = &q.class {
        clauses.push(filter(term_query(f.class_prefix, c)));
    }
    if let Some(s) = &q.share_type {
        clauses.push(filter(term_query(f.share_type, s)));
    }
    if let Some(o) = q.open {
        clauses.push(filter(term_query(f.open, bool_str(o))));
    }
    if let Some(u) = &q.update_cycle {
        clauses.push(filter(term_query(f.update_cycle, u)));
    }
    if !q.status.is_empty() {
        let statuses: Vec<&str> = q.status.iter().map(String::as_str).collect();
        clauses.push(filter(any_of(f.status, &statuses)));
    }
    if let Some(r) = &q.region {
        clauses.push(filter(term_query(f.region, r)));
    }
    if q.restrict_non_public
        && let Some(dept) = &q.viewer_department
    {
        let visible = BooleanQuery::new(vec![
            (Occur::Should, any_of(f.status, &PUBLIC_STATUSES)),
            (Occur::Should, term_query(f.provider, dept)),
        ]);
        clauses.push(filter(Box::new(visible)));
    }
    if clauses.is_empty() {
        return Box::new(AllQuery);
    }
    Box::new(BooleanQuery::new(clauses))
}
