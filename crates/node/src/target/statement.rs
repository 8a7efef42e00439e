//! Statements as data (SQL text and arguments), run on a connection of either target pool: the steps of an apply
//! are written once for SQLite, MySQL (sqlx `Any`) and PostgreSQL (typed, for `COPY`).

use serde_json::Value;
use sqlx::Row;

/// A statement argument.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Arg {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
}

/// A statement with its arguments, run on either kind of connection.
#[derive(Debug, Clone, Default)]
pub(super) struct Stmt {
    pub(super) sql: String,
    pub(super) args: Vec<Arg>,
}

impl Stmt {
    pub(super) fn new(sql: String) -> Stmt {
        Stmt { sql, args: Vec::new() }
    }
}

macro_rules! bound {
    ($stmt:expr) => {{
        let Stmt { sql, args } = $stmt;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in args {
            q = match a {
                Arg::Null => q.bind(None::<String>),
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
                Arg::Float(f) => q.bind(f),
            };
        }
        q
    }};
}

/// A connection (in a transaction) of either pool.
pub(super) enum Conn<'c> {
    Any(&'c mut sqlx::AnyConnection),
    Postgres(&'c mut sqlx::PgConnection),
}

impl Conn<'_> {
    pub(super) async fn execute(&mut self, s: Stmt) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Conn::Any(c) => bound!(s).execute(&mut **c).await?.rows_affected(),
            Conn::Postgres(c) => bound!(s).execute(&mut **c).await?.rows_affected(),
        })
    }

    /// Every row, each value as text (`null` where it is not text).
    pub(super) async fn texts(&mut self, s: Stmt) -> Result<Vec<Vec<Value>>, sqlx::Error> {
        fn cells<R: Row>(r: &R) -> Vec<Value>
        where
            for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            (0..r.len()).map(|i| r.try_get::<String, _>(i).map(Value::String).unwrap_or(Value::Null)).collect()
        }
        Ok(match self {
            Conn::Any(c) => bound!(s).fetch_all(&mut **c).await?.iter().map(cells).collect(),
            Conn::Postgres(c) => bound!(s).fetch_all(&mut **c).await?.iter().map(cells).collect(),
        })
    }

    /// The first column of the first row as an integer, if there is a row.
    pub(super) async fn optional_i64(&mut self, s: Stmt) -> Result<Option<i64>, sqlx::Error> {
        match self {
            Conn::Any(c) => bound!(s).fetch_optional(&mut **c).await?.map(|r| r.try_get(0)).transpose(),
            Conn::Postgres(c) => bound!(s).fetch_optional(&mut **c).await?.map(|r| r.try_get(0)).transpose(),
        }
    }
}
