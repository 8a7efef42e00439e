//! The node's sources by name, and the answer to a `columns` or `query` request on one of them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use shuqiao_exchange::{Column, FailCode, POSITION_COLUMN, Reply, SourceHealth};

use crate::config::{Limits, SourceConfig, redact_url};
use crate::plan::{ColumnInfo, Fail, Plan, QueryRequest};
use crate::sheet::{SheetKind, SheetSource};
use crate::sql::SqlSource;

/// How long a table's column list is reused by `query` requests (a `columns` request always reads it afresh).
const COLUMNS_TTL: Duration = Duration::from_secs(10);

#[derive(Debug)]
enum Kind {
    Sql(SqlSource),
    Sheet(SheetSource),
    /// A source whose URL could not be used: every request gets this message.
    Broken(String),
}

#[derive(Debug)]
pub struct Source {
    pub name: String,
    /// The URL without credentials, for logs.
    pub display_url: String,
    kind: Kind,
    columns: Mutex<BTreeMap<String, (Instant, Vec<ColumnInfo>)>>,
}

impl Source {
    pub fn open(cfg: &SourceConfig, base: &Path, limits: &Limits) -> Source {
        let file = |prefix: &str| cfg.url.strip_prefix(prefix).map(|p| base.join(p.split('?').next().unwrap_or(p)));
        let kind = if let Some(path) = file("csv://") {
            Kind::Sheet(SheetSource::new(path, SheetKind::Csv))
        } else if let Some(path) = file("xlsx://") {
            Kind::Sheet(SheetSource::new(path, SheetKind::Xlsx))
        } else {
            match SqlSource::open(&cfg.url, base, limits.max_connections, limits.query_timeout) {
                Ok(s) => Kind::Sql(s),
                Err(e) => Kind::Broken(e),
            }
        };
        Source { name: cfg.name.clone(), display_url: redact_url(&cfg.url), kind, columns: Mutex::default() }
    }

    pub fn kind(&self) -> &'static str {
        match &self.kind {
            Kind::Sql(s) => s.kind(),
            Kind::Sheet(s) => s.kind(),
            Kind::Broken(_) => "unknown",
        }
    }

    pub async fn health(&self) -> SourceHealth {
        let result = match &self.kind {
            Kind::Sql(s) => s.check().await,
            Kind::Sheet(s) => s.tables().await.map(|_| ()).map_err(|f| f.message),
            Kind::Broken(e) => Err(e.clone()),
        };
        SourceHealth {
            name: self.name.clone(),
            kind: self.kind().to_owned(),
            ok: result.is_ok(),
            message: result.err(),
        }
    }

    async fn read_columns(&self, table: &str) -> Result<Vec<ColumnInfo>, Fail> {
        let cols = match &self.kind {
            Kind::Sql(s) => s.columns(table).await?,
            Kind::Sheet(s) => s.columns(table).await?,
            Kind::Broken(e) => return Err(Fail::new(FailCode::SourceUnavailable, e.clone())),
        };
        if let Ok(mut cache) = self.columns.lock() {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(table.to_owned(), (Instant::now(), cols.clone()));
        }
        Ok(cols)
    }

    async fn cached_columns(&self, table: &str) -> Result<Vec<ColumnInfo>, Fail> {
        if let Ok(cache) = self.columns.lock()
            && let Some((at, cols)) = cache.get(table)
            && at.elapsed() < COLUMNS_TTL
            && !cols.is_empty()
        {
            return Ok(cols.clone());
        }
        self.read_columns(table).await
    }

    /// The table's columns and their types.
    pub async fn columns(&self, table: &str) -> Result<Vec<Column>, Fail> {
        let cols = self.read_columns(table).await?;
        if cols.is_empty() {
            return Err(Fail::new(FailCode::UnknownTable, format!("no table or view named \"{table}\"")));
        }
        Ok(cols.into_iter().map(|c| Column { name: c.name, data_type: c.data_type }).collect())
    }

    /// Rows of a table, every name checked against the table's real columns first.
    pub async fn query(&self, req: &QueryRequest<'_>, max_rows: u32) -> Result<(Vec<String>, Vec<Vec<Value>>), Fail> {
        let known = self.cached_columns(req.table).await?;
        let plan = Plan::check(req, &known, max_rows)?;
        self.read(&plan, &known).await
    }

    /// A page of a table-sync read: `scan` (no `change_column`) or `changes`; see [`Plan::sync`].
    pub async fn sync_read(
        &self,
        req: &QueryRequest<'_>,
        change_column: Option<&str>,
        max_sync_rows: u32,
    ) -> Result<(Vec<String>, Vec<Vec<Value>>), Fail> {
        let known = self.cached_columns(req.table).await?;
        let plan = Plan::sync(req, change_column, &known, max_sync_rows)?;
        self.read(&plan, &known).await
    }

    /// A page of a first full pass in the table's storage order (`scan_stored`): the columns, then each row's
    /// position.
    pub async fn scan_stored(
        &self,
        req: &QueryRequest<'_>,
        after: Option<&str>,
        max_sync_rows: u32,
    ) -> Result<(Vec<String>, Vec<Vec<Value>>), Fail> {
        let known = self.cached_columns(req.table).await?;
        let plan = Plan::check(req, &known, max_sync_rows)?;
        let rows = match &self.kind {
            Kind::Sql(s) => s.scan_stored(&plan, &known, after).await?,
            Kind::Sheet(_) => {
                return Err(Fail::new(FailCode::Unsupported, "a spreadsheet source is read in key order"));
            }
            Kind::Broken(e) => return Err(Fail::new(FailCode::SourceUnavailable, e.clone())),
        };
        let mut names: Vec<String> = plan.columns.iter().map(|&c| known[c].name.clone()).collect();
        names.push(POSITION_COLUMN.to_owned());
        Ok((names, rows))
    }

    async fn read(&self, plan: &Plan, known: &[ColumnInfo]) -> Result<(Vec<String>, Vec<Vec<Value>>), Fail> {
        let rows = match &self.kind {
            Kind::Sql(s) => s.query(plan, known).await?,
            Kind::Sheet(s) => s.query(plan).await?,
            Kind::Broken(e) => return Err(Fail::new(FailCode::SourceUnavailable, e.clone())),
        };
        let names = plan.columns.iter().map(|&c| known[c].name.clone()).collect();
        Ok((names, rows))
    }

    /// The largest value of `change_column` (`null` for an empty table).
    pub async fn watermark(&self, table: &str, change_column: &str) -> Result<Value, Fail> {
        let known = self.cached_columns(table).await?;
        if known.is_empty() {
            return Err(Fail::new(FailCode::UnknownTable, format!("no table or view named \"{table}\"")));
        }
        let Some(col) = known.iter().find(|c| c.name == change_column) else {
            return Err(Fail::new(
                FailCode::UnknownColumn,
                format!("change column \"{change_column}\" is not a column of \"{table}\""),
            ));
        };
        match &self.kind {
            Kind::Sql(s) => s.watermark(table, col).await,
            Kind::Sheet(s) => {
                let names = [change_column.to_owned()];
                let req = QueryRequest {
                    table,
                    columns: &names,
                    key_columns: &names,
                    filters: &[],
                    after: None,
                    limit: u32::MAX,
                };
                let plan = Plan::check(&req, &known, u32::MAX)?;
                let rows = s.query(&plan).await?;
                // Ordered by the column: the last non-null value is the largest.
                Ok(rows
                    .into_iter()
                    .rev()
                    .filter_map(|r| r.into_iter().next())
                    .find(|v| !v.is_null())
                    .unwrap_or_default())
            }
            Kind::Broken(e) => Err(Fail::new(FailCode::SourceUnavailable, e.clone())),
        }
    }
}

/// All the node's sources.
#[derive(Debug, Default)]
pub struct Sources {
    by_name: BTreeMap<String, Source>,
    max_rows: u32,
    max_sync_rows: u32,
}

impl Sources {
    pub fn open(sources: &[SourceConfig], base: &Path, limits: &Limits) -> Sources {
        let by_name = sources.iter().map(|s| (s.name.clone(), Source::open(s, base, limits))).collect();
        Sources { by_name, max_rows: limits.max_rows, max_sync_rows: limits.max_sync_rows }
    }

    pub fn get(&self, name: &str) -> Option<&Source> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Source> {
        self.by_name.values()
    }

    pub async fn health(&self) -> Vec<SourceHealth> {
        let mut out = Vec::with_capacity(self.by_name.len());
        for s in self.by_name.values() {
            out.push(s.health().await);
        }
        out
    }

    fn source(&self, name: &str) -> Result<&Source, Fail> {
        self.get(name).ok_or_else(|| Fail::new(FailCode::UnknownSource, format!("this node has no source \"{name}\"")))
    }

    pub async fn columns(&self, source: &str, table: &str) -> Reply {
        match self.source(source) {
            Ok(s) => match s.columns(table).await {
                Ok(columns) => Reply::Columns { columns },
                Err(f) => f.reply(),
            },
            Err(f) => f.reply(),
        }
    }

    /// `scan` (no `change_column`) or `changes`.
    pub async fn sync_read(&self, source: &str, req: &QueryRequest<'_>, change_column: Option<&str>) -> Reply {
        let read = async { self.source(source)?.sync_read(req, change_column, self.max_sync_rows).await };
        match read.await {
            Ok((columns, rows)) => Reply::Rows { columns, rows },
            Err(f) => f.reply(),
        }
    }

    /// `scan_stored`: a page in storage order.
    pub async fn scan_stored(&self, source: &str, req: &QueryRequest<'_>, after: Option<&str>) -> Reply {
        let read = async { self.source(source)?.scan_stored(req, after, self.max_sync_rows).await };
        match read.await {
            Ok((columns, rows)) => Reply::Rows { columns, rows },
            Err(f) => f.reply(),
        }
    }

    pub async fn watermark(&self, source: &str, table: &str, change_column: &str) -> Reply {
        match async { self.source(source)?.watermark(table, change_column).await }.await {
            Ok(v) => Reply::Rows { columns: vec![change_column.to_owned()], rows: vec![vec![v]] },
            Err(f) => f.reply(),
        }
    }

    pub async fn query(&self, source: &str, req: &QueryRequest<'_>) -> Reply {
        match self.source(source) {
            Ok(s) => match s.query(req, self.max_rows).await {
                Ok((columns, rows)) => Reply::Rows { columns, rows },
                Err(f) => f.reply(),
            },
            Err(f) => f.reply(),
        }
    }
}
