//! How subscribed columns are typed, compared and bound in each target dialect.

use serde_json::Value;

use super::statement::Arg;
use crate::dialect::Dialect;

/// How a subscribed column is typed in the target: from the catalog item's data type (C 字符型, N 数值型, Y 货币型,
/// D 日期型, T 日期时间型, L 逻辑型, M 备注型, G 通用型, B 双精度型, I 整型, F 浮点型) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text(Option<u32>),
    Decimal,
    Integer,
    Double,
    Date,
    DateTime,
    Bool,
}

impl ColumnType {
    /// The type of a catalog data type letter (`None` for an unknown letter).
    pub fn of_catalog(letter: &str, length: Option<u32>) -> Option<ColumnType> {
        Some(match letter {
            "C" => ColumnType::Text(length.filter(|l| (1..=4000).contains(l))),
            "M" | "G" => ColumnType::Text(None),
            "N" | "Y" => ColumnType::Decimal,
            "I" => ColumnType::Integer,
            "B" | "F" => ColumnType::Double,
            "D" => ColumnType::Date,
            "T" => ColumnType::DateTime,
            "L" => ColumnType::Bool,
            _ => return None,
        })
    }

    /// The column's type; text keys in byte order so that a key-range delete uses the primary-key index
    /// (`mysql_bytes`: the server's binary NO PAD collation, if it has one).
    pub(super) fn ddl(self, d: Dialect, key: bool, mysql_bytes: Option<&str>) -> String {
        match (self, d) {
            (ColumnType::Text(Some(n)), Dialect::Postgres) if key => format!("VARCHAR({n}) COLLATE \"C\""),
            (ColumnType::Text(None), Dialect::Postgres) if key => "TEXT COLLATE \"C\"".into(),
            // MySQL cannot index TEXT without a prefix: keys get a bounded VARCHAR.
            (ColumnType::Text(n), Dialect::MySql) if key => {
                let n = n.unwrap_or(255);
                match mysql_bytes {
                    Some(c) => format!("VARCHAR({n}) CHARACTER SET utf8mb4 COLLATE {c}"),
                    None => format!("VARCHAR({n})"),
                }
            }
            (ColumnType::Text(Some(n)), _) => format!("VARCHAR({n})"),
            (ColumnType::Text(None), _) => "TEXT".into(),
            (ColumnType::Decimal, Dialect::MySql) => "DECIMAL(38,10)".into(),
            (ColumnType::Decimal, _) => "NUMERIC".into(),
            (ColumnType::Integer, _) => "BIGINT".into(),
            (ColumnType::Double, Dialect::MySql) => "DOUBLE".into(),
            (ColumnType::Double, _) => "DOUBLE PRECISION".into(),
            (ColumnType::Date, Dialect::Sqlite) => "TEXT".into(),
            (ColumnType::Date, _) => "DATE".into(),
            (ColumnType::DateTime, Dialect::Sqlite) => "TEXT".into(),
            (ColumnType::DateTime, Dialect::Postgres) => "TIMESTAMP".into(),
            (ColumnType::DateTime, Dialect::MySql) => "DATETIME(6)".into(),
            (ColumnType::Bool, Dialect::Sqlite) => "INTEGER".into(),
            (ColumnType::Bool, _) => "BOOLEAN".into(),
        }
    }

    /// The placeholder with the cast PostgreSQL needs for a value bound as text.
    pub(super) fn param(self, d: Dialect, n: usize) -> String {
        match d {
            Dialect::Postgres => {
                let cast = match self {
                    ColumnType::Text(_) => "text",
                    ColumnType::Decimal => "numeric",
                    ColumnType::Integer => "bigint",
                    ColumnType::Double => "double precision",
                    ColumnType::Date => "date",
                    ColumnType::DateTime => "timestamp",
                    ColumnType::Bool => "boolean",
                };
                format!("CAST(${n} AS {cast})")
            }
            Dialect::Sqlite | Dialect::MySql => "?".into(),
        }
    }

    pub(super) fn is_text(self) -> bool {
        matches!(self, ColumnType::Text(_))
    }

    /// A key column as compared in a key range: text byte-wise (`native`: the column's collation is byte order,
    /// which keeps the index usable on MySQL).
    pub(super) fn key_expr(self, d: Dialect, quoted: &str, native: bool) -> String {
        match d {
            _ if !self.is_text() || native => quoted.to_owned(),
            Dialect::Postgres => format!("{quoted} COLLATE \"C\""),
            Dialect::MySql => format!("CAST({quoted} AS BINARY)"),
            Dialect::Sqlite => format!("{quoted} COLLATE BINARY"),
        }
    }

    /// The parameter compared with [`ColumnType::key_expr`].
    pub(super) fn key_param(self, d: Dialect, n: usize, native: bool) -> String {
        match d {
            Dialect::MySql if self.is_text() && !native => "CAST(? AS BINARY)".into(),
            _ => self.param(d, n),
        }
    }

    /// A value as a statement argument: numbers and booleans as themselves where the database takes them, the
    /// rest as text (PostgreSQL casts it, see [`ColumnType::param`]).
    pub(super) fn arg(self, v: &Value, d: Dialect) -> Arg {
        match v {
            Value::Null => Arg::Null,
            Value::Bool(b) if d != Dialect::Postgres => Arg::Int(i64::from(*b)),
            Value::Number(n) if d != Dialect::Postgres => match (self, n.as_i64(), n.as_f64()) {
                (ColumnType::Integer | ColumnType::Bool | ColumnType::Decimal, Some(i), _) => Arg::Int(i),
                (ColumnType::Double | ColumnType::Decimal, _, Some(f)) => Arg::Float(f),
                _ => Arg::Text(n.to_string()),
            },
            Value::String(s) => Arg::Text(s.clone()),
            other => Arg::Text(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    pub column_type: ColumnType,
}
