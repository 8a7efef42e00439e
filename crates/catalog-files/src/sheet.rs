//! Entries → spreadsheet rows (shared by the xlsx and CSV export): one row per information item, the entry's
//! columns repeated on each; an entry without items gets one row with blank item columns.

use shuqiao_domain::entry::{Entry, Item};

use crate::columns::{ALL, Col};
use crate::values;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Blank,
}

impl Value {
    pub(crate) fn to_text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Blank => String::new(),
        }
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Blank, text)
}

/// The string form of a serde enum (`FormatCategory::Database` → `数据库`).
fn serde_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `YYYY-MM-DD`.
pub(crate) fn date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub(crate) fn headers() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|c| c.header())
}

pub(crate) fn entry_rows(e: &Entry) -> Vec<Vec<Value>> {
    if e.items.is_empty() {
        return vec![ALL.iter().map(|&c| value(e, None, c)).collect()];
    }
    e.items.iter().map(|item| ALL.iter().map(|&c| value(e, Some(item), c)).collect()).collect()
}

fn value(e: &Entry, item: Option<&Item>, col: Col) -> Value {
    match col {
        Col::Lei => Value::Int(e.class.lei.into()),
        Col::Xiang => Value::Int(e.class.xiang.into()),
        Col::Mu => Value::Int(e.class.mu.into()),
        Col::Ximu => e.class.ximu.map_or(Value::Blank, |n| Value::Int(n.into())),
        Col::Code => text(e.code.to_string()),
        Col::Name => text(&e.name),
        Col::Provider => text(&e.provider.name),
        Col::Unit => opt(e.provider.unit.as_deref()),
        Col::CreditCode => text(&e.provider.credit_code),
        Col::Summary => text(&e.summary),
        Col::FormatCategory => text(serde_str(&e.format.category)),
        Col::FormatType => text(&e.format.kind),
        Col::ItemName => opt(item.map(|i| i.name.as_str())),
        Col::DataType => item.map_or(Value::Blank, |i| text(serde_str(&i.data_type))),
        Col::Length => item.map_or(Value::Blank, |i| Value::Int(i.length.into())),
        Col::Basic => item.map_or(Value::Blank, |i| text(values::yes_no_label(i.basic))),
        Col::ShareType => text(values::share_type_label(e.share.kind)),
        Col::ShareCondition => opt(e.share.condition.as_deref()),
        Col::LegalBasis => opt(e.share.legal_basis.as_deref()),
        Col::Channel => {
            if e.share.modes.is_empty() {
                Value::Blank
            } else {
                text("共享平台")
            }
        }
        Col::ModesZh => {
            let mut kinds: Vec<&str> = Vec::new();
            for m in &e.share.modes {
                let k = values::mode_kind_label(*m);
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            text(kinds.join("、"))
        }
        Col::Open => text(values::yes_no_label(e.open.open)),
        Col::OpenCondition => opt(e.open.condition.as_deref()),
        Col::UpdateCycle => text(values::update_cycle_label(e.update_cycle)),
        Col::PublishedOn => e.published_on.map_or(Value::Blank, |d| text(date(d))),
        Col::Related => text(e.related.iter().map(ToString::to_string).collect::<Vec<_>>().join(";")),
        Col::Secret => text(values::secret_label(e.secret)),
        Col::Grade => opt(e.grade.map(values::grade_label)),
        Col::Modes => text(e.share.modes.iter().map(|m| values::mode_name(*m)).collect::<Vec<_>>().join(",")),
        Col::ItemShareType => opt(item.and_then(|i| i.share_type).map(values::share_type_label)),
        Col::ItemGrade => opt(item.and_then(|i| i.grade).map(values::grade_label)),
    }
}
