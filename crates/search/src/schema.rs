//! Index schema and document conversion.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::IndexDoc;
use crate::analysis::{JIEBA_TOKENIZER, NGRAM_TOKENIZER};

/// Facet dimensions: (facet key in [`crate::SearchResult::facets`], fast field name).
pub(crate) const FACETS: [(&str, &str); 7] = [
    ("provider", "provider"),
    ("class", "class3"),
    ("share_type", "share_type"),
    ("open", "open"),
    ("update_cycle", "update_cycle"),
    ("status", "status"),
    ("region", "region"),
];

pub(crate) const UPDATED_AT: &str = "updated_at";
pub(crate) const CODE: &str = "code";
pub(crate) const KEY: &str = "key";

/// Handles of every field of the schema.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) key: Field,
    pub(crate) code: Field,
    pub(crate) name: Field,
    pub(crate) name_ng: Field,
    pub(crate) items: Field,
    pub(crate) items_ng: Field,
    pub(crate) summary: Field,
    pub(crate) summary_ng: Field,
    pub(crate) provider: Field,
    pub(crate) class_prefix: Field,
    pub(crate) class3: Field,
    pub(crate) lei: Field,
    pub(crate) share_type: Field,
    pub(crate) open: Field,
    pub(crate) update_cycle: Field,
    pub(crate) status: Field,
    pub(crate) region: Field,
    pub(crate) updated_at: Field,
}

fn text(tokenizer: &str, record: IndexRecordOption) -> TextOptions {
    TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_tokenizer(tokenizer).set_index_option(record))
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let jieba = text(JIEBA_TOKENIZER, IndexRecordOption::WithFreqs);
    // Positions only where phrase queries are run (the name).
    let ngram_pos = text(NGRAM_TOKENIZER, IndexRecordOption::WithFreqsAndPositions);
    let ngram = text(NGRAM_TOKENIZER, IndexRecordOption::WithFreqs);
    let keyword = STRING | FAST;
    let fields = Fields {
        key: b.add_text_field(KEY, STRING | STORED | FAST),
        code: b.add_text_field(CODE, STRING | STORED | FAST),
        name: b.add_text_field("name", jieba.clone().set_stored()),
        name_ng: b.add_text_field("name_ng", ngram_pos),
        items: b.add_text_field("items", jieba.clone()),
        items_ng: b.add_text_field("items_ng", ngram.clone()),
        summary: b.add_text_field("summary", jieba),
        summary_ng: b.add_text_field("summary_ng", ngram),
        provider: b.add_text_field("provider", keyword.clone()),
        class_prefix: b.add_text_field("class_prefix", STRING),
        class3: b.add_text_field("class3", FAST),
        lei: b.add_u64_field("lei", INDEXED | FAST),
        share_type: b.add_text_field("share_type", keyword.clone()),
        open: b.add_text_field("open", keyword.clone()),
        update_cycle: b.add_text_field("update_cycle", keyword.clone()),
        status: b.add_text_field("status", keyword.clone()),
        region: b.add_text_field("region", keyword),
        updated_at: b.add_i64_field(UPDATED_AT, FAST),
    };
    (b.build(), fields)
}

pub(crate) fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Prefixes of a classification code: "101001" → "1", "10", "101", …, "101001".
fn class_prefixes(code: &str) -> impl Iterator<Item = &str> {
    code.char_indices().map(|(i, c)| i + c.len_utf8()).filter_map(move |end| code.get(..end))
}

fn class3(code: &str) -> &str {
    match code.char_indices().nth(3) {
        Some((i, _)) => code.get(..i).unwrap_or(code),
        None => code,
    }
}

pub(crate) fn to_document(f: &Fields, d: &IndexDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.key, &d.key);
    doc.add_text(f.code, &d.code);
    doc.add_text(f.name, &d.name);
    doc.add_text(f.name_ng, &d.name);
    for item in &d.item_names {
        doc.add_text(f.items, item);
        doc.add_text(f.items_ng, item);
    }
    doc.add_text(f.summary, &d.summary);
    doc.add_text(f.summary_ng, &d.summary);
    doc.add_text(f.provider, &d.provider_id);
    for p in class_prefixes(&d.class_code) {
        doc.add_text(f.class_prefix, p);
    }
    doc.add_text(f.class3, class3(&d.class_code));
    doc.add_u64(f.lei, u64::from(d.lei));
    doc.add_text(f.share_type, &d.share_type);
    doc.add_text(f.open, bool_str(d.open));
    doc.add_text(f.update_cycle, &d.update_cycle);
    doc.add_text(f.status, &d.status);
    doc.add_text(f.region, &d.region);
    doc.add_i64(f.updated_at, d.updated_at);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(class_prefixes("101001").collect::<Vec<_>>(), vec!["1", "10", "101", "1010", "10100", "101001"]);
        assert_eq!(class3("101001"), "101");
        assert_eq!(class3("10"), "10");
    }
}
