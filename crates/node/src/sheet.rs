//! CSV and xlsx sources: the file is read into memory (header row = column names, every column `TEXT`) and read
//! again when its modification time changes. A CSV file holds one table named after the file (`residents` for
//! `residents.csv`); an xlsx workbook holds one table per sheet, named after the sheet.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::Value;
use shuqiao_exchange::FailCode;

use crate::plan::{Category, ColumnInfo, Fail, Plan, value_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    Csv,
    Xlsx,
}

#[derive(Debug)]
pub struct Table {
    pub columns: Vec<String>,
    /// An empty cell is `None`.
    pub rows: Vec<Vec<Option<String>>>,
}

type Tables = Arc<BTreeMap<String, Table>>;

#[derive(Debug)]
struct Loaded {
    mtime: Option<SystemTime>,
    tables: Result<Tables, String>,
}

#[derive(Debug)]
pub struct SheetSource {
    path: PathBuf,
    kind: SheetKind,
    loaded: Mutex<Option<Loaded>>,
}

impl SheetSource {
    pub fn new(path: PathBuf, kind: SheetKind) -> SheetSource {
        SheetSource { path, kind, loaded: Mutex::new(None) }
    }

    pub fn kind(&self) -> &'static str {
        match self.kind {
            SheetKind::Csv => "csv",
            SheetKind::Xlsx => "xlsx",
        }
    }

    /// The file's tables, read again if the file changed since the last read.
    pub async fn tables(&self) -> Result<Tables, Fail> {
        let unavailable = |m: String| Fail::new(FailCode::SourceUnavailable, m);
        let mtime = tokio::fs::metadata(&self.path)
            .await
            .and_then(|m| m.modified())
            .map_err(|e| unavailable(format!("cannot read {}: {e}", self.path.display())))?;
        if let Ok(guard) = self.loaded.lock()
            && let Some(l) = guard.as_ref()
            && l.mtime == Some(mtime)
        {
            return l.tables.clone().map_err(unavailable);
        }
        let (path, kind) = (self.path.clone(), self.kind);
        let tables = tokio::task::spawn_blocking(move || load(&path, kind))
            .await
            .map_err(|e| format!("the reader stopped: {e}"))
            .and_then(|r| r)
            .map(Arc::new);
        match &tables {
            Ok(t) => tracing::info!(file = %self.path.display(), tables = t.len(), "source file read"),
            Err(e) => tracing::warn!(file = %self.path.display(), error = %e, "source file unreadable"),
        }
        if let Ok(mut guard) = self.loaded.lock() {
            *guard = Some(Loaded { mtime: Some(mtime), tables: tables.clone() });
        }
        tables.map_err(unavailable)
    }

    pub async fn columns(&self, table: &str) -> Result<Vec<ColumnInfo>, Fail> {
        let tables = self.tables().await?;
        Ok(tables.get(table).map(table_columns).unwrap_or_default())
    }

    pub async fn query(&self, plan: &Plan) -> Result<Vec<Vec<Value>>, Fail> {
        let tables = self.tables().await?;
        let Some(table) = tables.get(&plan.table) else {
            return Err(Fail::new(FailCode::UnknownTable, format!("no table named \"{}\"", plan.table)));
        };
        let after: Option<Vec<String>> = plan.after.as_ref().map(|a| a.iter().map(value_text).collect());
        let keys = &plan.keys;
        let mut hits: Vec<&Vec<Option<String>>> = table
            .rows
            .iter()
            .filter(|row| plan.filters.iter().all(|(c, v)| row.get(*c).and_then(|x| x.as_deref()) == Some(v.as_str())))
            .filter(|row| match &after {
                Some(a) if !plan.keys.is_empty() => {
                    let key = key_of(keys, row);
                    let after_key: Vec<Option<&str>> = a.iter().map(|s| Some(s.as_str())).collect();
                    key.cmp(&after_key) == Ordering::Greater
                }
                _ => true,
            })
            .filter(|row| match (&plan.from, keys.first()) {
                (Some(from), Some(&k)) => {
                    row.get(k).and_then(|v| v.as_deref()).is_some_and(|v| v >= value_text(from).as_str())
                }
                _ => true,
            })
            .collect();
        if !plan.keys.is_empty() {
            hits.sort_by(|a, b| key_of(keys, a).cmp(&key_of(keys, b)));
        }
        Ok(hits
            .into_iter()
            .take(plan.limit as usize)
            .map(|row| {
                plan.columns
                    .iter()
                    .map(|&c| row.get(c).cloned().flatten().map(Value::String).unwrap_or(Value::Null))
                    .collect()
            })
            .collect())
    }
}

fn key_of<'a>(keys: &[usize], row: &'a [Option<String>]) -> Vec<Option<&'a str>> {
    keys.iter().map(|&k| row.get(k).and_then(|c| c.as_deref())).collect()
}

fn table_columns(t: &Table) -> Vec<ColumnInfo> {
    t.columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.clone(),
            data_type: "TEXT".into(),
            category: Category::Text,
            pg_type: None,
            byte_ordered: true,
        })
        .collect()
}

fn load(path: &Path, kind: SheetKind) -> Result<BTreeMap<String, Table>, String> {
    match kind {
        SheetKind::Csv => {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("data").to_owned();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            let mut rows = Vec::new();
            for (i, record) in reader.records().enumerate() {
                let record = record.map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))?;
                rows.push(record.iter().map(|c| Some(c.to_owned()).filter(|c| !c.is_empty())).collect());
            }
            Ok(BTreeMap::from([(name, table_from(rows, path)?)]))
        }
        SheetKind::Xlsx => {
            use calamine::Reader;
            let mut book: calamine::Xlsx<_> =
                calamine::open_workbook(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            let mut tables = BTreeMap::new();
            for name in book.sheet_names() {
                let range = book.worksheet_range(&name).map_err(|e| format!("sheet \"{name}\": {e}"))?;
                let rows = range.rows().map(|r| r.iter().map(cell_text).collect()).collect();
                tables.insert(name, table_from(rows, path)?);
            }
            Ok(tables)
        }
    }
}

/// The first row names the columns (a column without a name is dropped); the rest are the rows.
fn table_from(mut rows: Vec<Vec<Option<String>>>, path: &Path) -> Result<Table, String> {
    if rows.is_empty() {
        return Ok(Table { columns: Vec::new(), rows });
    }
    let header = rows.remove(0);
    let keep: Vec<usize> = (0..header.len()).filter(|&i| header[i].is_some()).collect();
    let columns: Vec<String> = keep.iter().filter_map(|&i| header[i].as_deref()).map(|h| h.trim().to_owned()).collect();
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].contains(c) {
            return Err(format!("{}: the column \"{c}\" appears twice in the header row", path.display()));
        }
    }
    let rows = rows
        .into_iter()
        .filter(|r| r.iter().any(Option::is_some))
        .map(|r| keep.iter().map(|&i| r.get(i).cloned().flatten()).collect())
        .collect();
    Ok(Table { columns, rows })
}

fn cell_text(cell: &calamine::Data) -> Option<String> {
    use calamine::Data;
    match cell {
        Data::Empty => None,
        Data::String(s) if s.is_empty() => None,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        Data::Float(f) => Some(f.to_string()),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(d) => {
            let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
            if d.is_duration() {
                Some(d.as_f64().to_string())
            } else if (h, mi, s, ms) == (0, 0, 0, 0) {
                Some(format!("{y:04}-{mo:02}-{da:02}"))
            } else {
                Some(format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}"))
            }
        }
        Data::Error(e) => Some(format!("#{e:?}")),
    }
}
