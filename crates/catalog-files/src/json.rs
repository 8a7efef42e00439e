//! JSON import: an array of entry objects (as served by the API or the JSON export), `{"entries": [...]}`, or a
//! list answer `{"items": [...], "next_cursor": …}`.

use serde_json::Value;
use shuqiao_domain::entry::{Entry, EntryInput};

use crate::{ExportError, ImportError, Origin, ParsedEntry};

/// The entries as served by the API. `published_on` is written `YYYY-MM-DD` (API.md) whatever the serde
/// representation of the date type.
pub(crate) fn export(entries: &[Entry]) -> Result<Vec<u8>, ExportError> {
    let err = |e: serde_json::Error| ExportError::Json(e.to_string());
    let mut list = Vec::with_capacity(entries.len());
    for e in entries {
        let mut v = serde_json::to_value(e).map_err(err)?;
        if let (Some(obj), Some(d)) = (v.as_object_mut(), e.published_on) {
            obj.insert("published_on".into(), Value::String(crate::sheet::date(d)));
        }
        list.push(v);
    }
    serde_json::to_vec_pretty(&list).map_err(err)
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<ParsedEntry>, Vec<ImportError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![ImportError::new(1, "", "文件为空 (empty file)")]);
    }
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| vec![ImportError::new(0, "", format!("无法读取 JSON (unreadable JSON): {e}"))])?;
    let list = match doc {
        Value::Array(list) => list,
        Value::Object(mut o) => match o.remove("entries") {
            Some(Value::Array(list)) => list,
            _ if o.contains_key("next_cursor") => match o.remove("items") {
                Some(Value::Array(list)) => list,
                _ => return Err(shape()),
            },
            _ => return Err(shape()),
        },
        _ => return Err(shape()),
    };
    if list.is_empty() {
        return Err(vec![ImportError::new(1, "", "文件为空：没有信息资源 (empty file: no entries)")]);
    }
    let mut entries = Vec::with_capacity(list.len());
    let mut errors = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let provider = v.get("provider").cloned();
        match serde_json::from_value::<EntryInput>(v) {
            Ok(input) => {
                let field =
                    |k: &str| provider.as_ref().and_then(|p| p.get(k)).and_then(Value::as_str).map(str::to_owned);
                entries.push(ParsedEntry {
                    input,
                    provider_name: field("name"),
                    provider_credit_code: field("credit_code"),
                    provider_unit: field("unit"),
                    first_row: i + 1,
                    origin: Origin::Json,
                });
            }
            Err(e) => {
                let msg = e.to_string();
                errors.push(ImportError::new(i + 1, column_of(&msg), msg));
            }
        }
    }
    if errors.is_empty() { Ok(entries) } else { Err(errors) }
}

fn shape() -> Vec<ImportError> {
    vec![ImportError::new(
        0,
        "",
        "JSON 应为信息资源数组或 {\"entries\": [...]} (expected an array of entries or {\"entries\": [...]})",
    )]
}

/// The field a serde message names (`unknown field `foo`, expected …`), if any.
fn column_of(msg: &str) -> String {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| msg.split_once(p).and_then(|(_, rest)| rest.split_once('`')).map(|(f, _)| f.to_owned()))
        .unwrap_or_default()
}
