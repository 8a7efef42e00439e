//! Text analysis: jieba word segmentation, CJK character n-grams, query analysis and highlighting.
//!
//! Every text field is indexed twice:
//! - with jieba in search mode (words and their dictionary sub-words), for word-level ranking;
//! - with character unigrams + bigrams (CJK) and lowercased alphanumeric words (other scripts), with
//!   positions, so that any query word can be matched as a substring (phrase of bigrams) even
//!   when jieba segments the query differently from the indexed text, and single characters match.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy_jieba::JiebaTokenizer;

/// Tokenizer name of the jieba word fields.
pub(crate) const JIEBA_TOKENIZER: &str = "shuqiao_jieba";
/// Tokenizer name of the n-gram fields.
pub(crate) const NGRAM_TOKENIZER: &str = "shuqiao_ngram";

/// Maximum number of query words taken into account (the rest is ignored).
const MAX_QUERY_WORDS: usize = 16;
/// Maximum number of characters of one query word.
const MAX_WORD_CHARS: usize = 64;

/// A token stream over a precomputed vector of tokens.
pub(crate) struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
    empty: Token,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream { tokens, next: 0, empty: Token::default() }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        match self.next.checked_sub(1) {
            Some(i) => self.tokens.get(i).unwrap_or(&self.empty),
            None => &self.empty,
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.empty,
        }
    }
}

/// Jieba tokenizer that drops punctuation/whitespace tokens and lowercases.
#[derive(Clone)]
pub(crate) struct JiebaWords {
    inner: JiebaTokenizer,
}

impl JiebaWords {
    /// `search_mode`: also emit dictionary sub-words of long words (used for indexing).
    pub(crate) fn new(search_mode: bool) -> Self {
        JiebaWords { inner: JiebaTokenizer::with_search_mode(search_mode) }
    }
}

impl Tokenizer for JiebaWords {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut stream = self.inner.token_stream(text);
        while let Some(tok) = stream.next() {
            if tok.text.chars().any(char::is_alphanumeric) {
                let mut t = tok.clone();
                t.text = t.text.to_lowercase();
                tokens.push(t);
            }
        }
        VecTokenStream::new(tokens)
    }
}

/// Character n-gram tokenizer (see module docs).
#[derive(Clone, Default)]
pub(crate) struct NgramTokenizer;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // kana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xAC00..=0xD7AF    // hangul
        | 0x20000..=0x3134F) // extensions B..G
}

/// One analysis unit: a CJK character or a lowercased alphanumeric word.
#[derive(Debug, Clone, PartialEq)]
enum Unit {
    Cjk {
        ch: char,
        from: usize,
        to: usize,
    },
    Word {
        text: String,
        from: usize,
        to: usize,
    },
    /// Separator between runs (punctuation, whitespace).
    Gap,
}

fn units(text: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut word: Option<(usize, String)> = None;
    let flush = |word: &mut Option<(usize, String)>, end: usize, out: &mut Vec<Unit>| {
        if let Some((from, text)) = word.take() {
            out.push(Unit::Word { text, from, to: end });
        }
    };
    for (i, c) in text.char_indices() {
        if is_cjk(c) {
            flush(&mut word, i, &mut out);
            out.push(Unit::Cjk { ch: c, from: i, to: i + c.len_utf8() });
        } else if c.is_alphanumeric() {
            match &mut word {
                Some((_, w)) => w.extend(c.to_lowercase()),
                None => word = Some((i, c.to_lowercase().collect())),
            }
        } else {
            flush(&mut word, i, &mut out);
            if !matches!(out.last(), Some(Unit::Gap) | None) {
                out.push(Unit::Gap);
            }
        }
    }
    flush(&mut word, text.len(), &mut out);
    out
}

fn token(text: String, from: usize, to: usize, position: usize) -> Token {
    Token { offset_from: from, offset_to: to, position, text, position_length: 1 }
}

impl Tokenizer for NgramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let us = units(text);
        let mut tokens = Vec::with_capacity(us.len() * 2);
        for (pos, u) in us.iter().enumerate() {
            match u {
                Unit::Cjk { ch, from, to } => {
                    tokens.push(token(ch.to_string(), *from, *to, pos));
                    if let Some(Unit::Cjk { ch: next, to: to2, .. }) = us.get(pos + 1) {
                        let mut s = String::with_capacity(8);
                        s.push(*ch);
                        s.push(*next);
                        tokens.push(token(s, *from, *to2, pos));
                    }
                }
                Unit::Word { text, from, to } => tokens.push(token(text.clone(), *from, *to, pos)),
                Unit::Gap => {}
            }
        }
        VecTokenStream::new(tokens)
    }
}

/// One analysed query word.
#[derive(Debug, Clone)]
pub(crate) struct QueryWord {
    /// The word as typed (a run of letters/digits/CJK characters), lowercased.
    pub(crate) surface: String,
    /// N-gram terms with their relative positions: matching all of them at these offsets means the
    /// word occurs as a substring of the field.
    pub(crate) ngrams: Vec<(usize, String)>,
    /// Jieba (default mode) words of the query word.
    pub(crate) jieba: Vec<String>,
}

/// Split user text into query words. Never fails; returns an empty vector when the text has no
/// letters, digits or CJK characters.
pub(crate) fn analyze_query(text: &str) -> Vec<QueryWord> {
    let mut words = Vec::new();
    let mut current: Vec<Unit> = Vec::new();
    let all = units(text);
    for u in all.into_iter().chain(std::iter::once(Unit::Gap)) {
        if u == Unit::Gap {
            if !current.is_empty() {
                if let Some(w) = query_word(text, &current)
                    && !words.iter().any(|x: &QueryWord| x.surface == w.surface)
                {
                    words.push(w);
                }
                current.clear();
            }
            if words.len() >= MAX_QUERY_WORDS {
                break;
            }
        } else if current.len() < MAX_WORD_CHARS {
            current.push(u);
        }
    }
    words
}

fn query_word(text: &str, us: &[Unit]) -> Option<QueryWord> {
    let (first, last) = (us.first()?, us.last()?);
    let from = match first {
        Unit::Cjk { from, .. } | Unit::Word { from, .. } => *from,
        Unit::Gap => return None,
    };
    let to = match last {
        Unit::Cjk { to, .. } | Unit::Word { to, .. } => *to,
        Unit::Gap => return None,
    };
    let raw = text.get(from..to)?;
    let mut ngrams = Vec::new();
    let mut pos = 0;
    while pos < us.len() {
        match &us[pos] {
            Unit::Word { text, .. } => {
                ngrams.push((pos, text.clone()));
                pos += 1;
            }
            Unit::Cjk { .. } => {
                let run: Vec<char> = us[pos..]
                    .iter()
                    .map_while(|u| match u {
                        Unit::Cjk { ch, .. } => Some(*ch),
                        _ => None,
                    })
                    .collect();
                ngrams.extend(cover_bigrams(&run).map(|(i, t)| (pos + i, t)));
                pos += run.len();
            }
            Unit::Gap => pos += 1,
        }
    }
    let mut jieba = Vec::new();
    let mut tok = JiebaWords::new(false);
    let mut stream = tok.token_stream(raw);
    while let Some(t) = stream.next() {
        if !jieba.contains(&t.text) {
            jieba.push(t.text.clone());
        }
    }
    Some(QueryWord { surface: raw.to_lowercase(), ngrams, jieba })
}

/// Terms whose occurrence at their offsets proves that the CJK run occurs: non-overlapping bigrams
/// covering every character (the last one overlapping when the length is odd), or the character
/// itself for a one-character run.
fn cover_bigrams(run: &[char]) -> impl Iterator<Item = (usize, String)> + '_ {
    let n = run.len();
    let mut starts: Vec<usize> = (0..n.saturating_sub(1)).step_by(2).collect();
    if n >= 2 && n % 2 == 1 {
        starts.push(n - 2);
    }
    let single = (n == 1).then_some(0);
    starts
        .into_iter()
        .map(move |i| (i, run[i..i + 2].iter().collect::<String>()))
        .chain(single.map(move |i| (i, run[i].to_string())))
}

/// Escape text for HTML element content and attribute values.
pub(crate) fn html_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// HTML-escape `text`, wrapping every (case-insensitive) occurrence of a query word or one of its
/// jieba words in `<mark>…</mark>`.
pub(crate) fn highlight(text: &str, words: &[QueryWord]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars.iter().map(|c| fold(*c)).collect();
    let mut marked = vec![false; chars.len()];
    let needles = words.iter().flat_map(|w| std::iter::once(&w.surface).chain(w.jieba.iter()));
    for needle in needles {
        let n: Vec<char> = needle.chars().map(fold).collect();
        if n.is_empty() || n.len() > folded.len() {
            continue;
        }
        for start in 0..=(folded.len() - n.len()) {
            if folded[start..start + n.len()] == n[..] {
                marked[start..start + n.len()].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_mark = false;
    let mut buf = [0u8; 4];
    for (c, m) in chars.iter().zip(marked.iter()) {
        if *m && !in_mark {
            out.push_str("<mark>");
            in_mark = true;
        } else if !*m && in_mark {
            out.push_str("</mark>");
            in_mark = false;
        }
        html_escape(c.encode_utf8(&mut buf), &mut out);
    }
    if in_mark {
        out.push_str("</mark>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ngram_texts(text: &str) -> Vec<(usize, String)> {
        let mut t = NgramTokenizer;
        let mut s = t.token_stream(text);
        let mut v = Vec::new();
        while let Some(tok) = s.next() {
            v.push((tok.position, tok.text.clone()));
        }
        v
    }

    #[test]
    fn ngrams_of_mixed_text() {
        let v = ngram_texts("GDP数据，户");
        assert_eq!(
            v,
            vec![
                (0, "gdp".to_string()),
                (1, "数".to_string()),
                (1, "数据".to_string()),
                (2, "据".to_string()),
                (4, "户".to_string()),
            ]
        );
    }

    #[test]
    fn query_words() {
        let w = analyze_query(" 营业执照 (AND) \"x:1\" 户 ");
        let surfaces: Vec<&str> = w.iter().map(|w| w.surface.as_str()).collect();
        assert_eq!(surfaces, vec!["营业执照", "and", "x", "1", "户"]);
        assert_eq!(w[0].ngrams, vec![(0, "营业".to_string()), (2, "执照".to_string())]);
        assert_eq!(w[4].ngrams, vec![(0, "户".to_string())]);
        let w = analyze_query("统一社会信用代码x光");
        assert_eq!(
            w[0].ngrams,
            vec![
                (0, "统一".to_string()),
                (2, "社会".to_string()),
                (4, "信用".to_string()),
                (6, "代码".to_string()),
                (8, "x".to_string()),
                (9, "光".to_string()),
            ]
        );
        let w = analyze_query("社会信用");
        assert_eq!(w[0].ngrams.len(), 2);
        let w = analyze_query("执照信息表");
        assert_eq!(w[0].ngrams, vec![(0, "执照".to_string()), (2, "信息".to_string()), (3, "息表".to_string())]);
        assert!(analyze_query("\"()：:，").is_empty());
    }

    #[test]
    fn highlight_escapes() {
        let w = analyze_query("企业");
        assert_eq!(highlight("<b>企业</b>&", &w), "&lt;b&gt;<mark>企业</mark>&lt;/b&gt;&amp;");
    }
}
