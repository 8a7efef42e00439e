//! A `query` request checked against the real columns of its table: every name the platform sent is one of the
//! table's own columns before any source builds a statement from it.

use serde_json::Value;
use shuqiao_exchange::{FailCode, Reply};

/// A failed request: what goes back to the platform as [`Reply::Failed`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fail {
    pub code: FailCode,
    pub message: String,
}

impl Fail {
    pub fn new(code: FailCode, message: impl Into<String>) -> Fail {
        Fail { code, message: message.into() }
    }
    pub fn reply(self) -> Reply {
        Reply::Failed { code: self.code, message: self.message }
    }
}

/// What a source knows about one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// The source's own type name, as reported to the platform.
    pub data_type: String,
    pub category: Category,
    /// PostgreSQL only: the schema and name of the column's type, used to cast parameters to it.
    pub pg_type: Option<(String, String)>,
    /// Text that already compares byte-wise (PostgreSQL collations `C`, `POSIX`, `C.UTF-8`): the sync order needs
    /// no `COLLATE` and keeps using the column's index.
    pub byte_ordered: bool,
}

/// How a column's values are read, compared and returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Int,
    UnsignedInt,
    Float,
    Decimal,
    Text,
    Bool,
    /// Date and time types: returned as ISO 8601 text.
    Temporal,
    Other,
}

/// The parts of a `query` request, as indexes into the table's columns.
#[derive(Debug, Clone)]
pub struct Plan {
    pub table: String,
    pub columns: Vec<usize>,
    pub keys: Vec<usize>,
    pub filters: Vec<(usize, String)>,
    pub after: Option<Vec<Value>>,
    /// `changes` only: an inclusive lower bound on the first key (the change column) instead of `after`.
    pub from: Option<Value>,
    pub limit: u32,
    /// Table sync: text keys ordered and compared byte-wise, the same order on every dialect (a consumer's
    /// target, maybe of another dialect, deletes by key range in that order). Queries keep the column's collation.
    pub bytewise: bool,
}

/// A `query` request as the platform sent it.
#[derive(Debug, Clone, Copy)]
pub struct QueryRequest<'a> {
    pub table: &'a str,
    pub columns: &'a [String],
    pub key_columns: &'a [String],
    pub filters: &'a [shuqiao_exchange::Filter],
    pub after: Option<&'a [Value]>,
    pub limit: u32,
}

impl Plan {
    /// Checks the request against `known` (the table's columns; empty means the table does not exist). An empty
    /// `columns` list asks for every column.
    pub fn check(req: &QueryRequest<'_>, known: &[ColumnInfo], max_rows: u32) -> Result<Plan, Fail> {
        if known.is_empty() {
            return Err(Fail::new(FailCode::UnknownTable, format!("no table or view named \"{}\"", req.table)));
        }
        let find = |name: &str, role: &str| {
            known.iter().position(|c| c.name == name).ok_or_else(|| {
                Fail::new(FailCode::UnknownColumn, format!("{role} \"{name}\" is not a column of \"{}\"", req.table))
            })
        };
        let columns = if req.columns.is_empty() {
            (0..known.len()).collect()
        } else {
            req.columns.iter().map(|c| find(c, "column")).collect::<Result<Vec<_>, _>>()?
        };
        let keys = req.key_columns.iter().map(|c| find(c, "key column")).collect::<Result<Vec<_>, _>>()?;
        let filters = req
            .filters
            .iter()
            .map(|f| Ok((find(&f.column, "filter column")?, f.value.clone())))
            .collect::<Result<Vec<_>, Fail>>()?;
        let after = match req.after {
            None => None,
            Some(values) => {
                if values.len() != keys.len() {
                    return Err(Fail::new(
                        FailCode::BadRequest,
                        format!("`after` has {} values for {} key columns", values.len(), keys.len()),
                    ));
                }
                if let Some(bad) = values.iter().find(|v| !(v.is_string() || v.is_number() || v.is_boolean())) {
                    return Err(Fail::new(
                        FailCode::BadRequest,
                        format!("`after` values must be text, numbers or booleans, not {bad}"),
                    ));
                }
                Some(values.to_vec())
            }
        };
        Ok(Plan {
            table: req.table.to_owned(),
            columns,
            keys,
            filters,
            after,
            limit: req.limit.min(max_rows),
            bytewise: false,
            from: None,
        })
    }

    /// A table-sync read (`scan`, or `changes` when `change_column` is set): every key column must be among the
    /// columns (the platform takes the next position from the last row); `changes` orders by the change column
    /// then the keys and returns the change column again at the end.
    pub fn sync(
        req: &QueryRequest<'_>,
        change_column: Option<&str>,
        known: &[ColumnInfo],
        max_sync_rows: u32,
    ) -> Result<Plan, Fail> {
        if req.key_columns.is_empty() {
            return Err(Fail::new(FailCode::BadRequest, "table sync needs the table's key columns"));
        }
        let all: Vec<String>;
        let columns = if req.columns.is_empty() {
            all = known.iter().map(|c| c.name.clone()).collect();
            &all[..]
        } else {
            req.columns
        };
        if let Some(k) = req.key_columns.iter().find(|k| !columns.contains(k)) {
            return Err(Fail::new(FailCode::BadRequest, format!("the key column \"{k}\" must be among the columns")));
        }
        let (columns, keys): (Vec<String>, Vec<String>) = match change_column {
            None => (columns.to_vec(), req.key_columns.to_vec()),
            Some(change) => (
                columns.iter().cloned().chain([change.to_owned()]).collect(),
                [change.to_owned()].into_iter().chain(req.key_columns.iter().cloned()).collect(),
            ),
        };
        // `changes` from `[change value]` alone: every row whose change value is at least that (the first read after
        // a full pass starts at the high-water mark read before it, inclusive).
        let from = match (change_column, req.after) {
            (Some(_), Some([v])) if keys.len() > 1 => {
                if !(v.is_string() || v.is_number() || v.is_boolean()) {
                    return Err(Fail::new(
                        FailCode::BadRequest,
                        format!("`after` values must be text, numbers or booleans, not {v}"),
                    ));
                }
                Some(v.clone())
            }
            _ => None,
        };
        let after = if from.is_some() { None } else { req.after };
        let req = QueryRequest { columns: &columns, key_columns: &keys, filters: &[], after, ..*req };
        let mut plan = Plan::check(&req, known, max_sync_rows)?;
        plan.bytewise = true;
        plan.from = from;
        Ok(plan)
    }
}

/// The text of an `after` value, for comparison as text.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
