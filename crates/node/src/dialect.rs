//! SQL text per dialect: identifier quoting, column introspection, and the one `SELECT` a query becomes.
//!
//! Comparisons are typed so that indexes are used: PostgreSQL casts each parameter (bound as text) to the
//! column's own type; MySQL binds numbers for numeric columns (its string-to-number conversion would make
//! `'abc'` equal `0`); SQLite's column affinity converts a text parameter itself.

use serde_json::Value;

use crate::plan::{Category, ColumnInfo, Plan, value_text};

/// MySQL/MariaDB collations that order UTF-8 text by its bytes (code points, no padding).
pub const BYTE_ORDER_COLLATIONS: [&str; 4] =
    ["utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb3_nopad_bin", "utf8_nopad_bin"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Dialect {
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
            Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// `schema.table` names a schema on PostgreSQL and a database on MySQL; SQLite takes the name as it is.
    fn split_table(self, table: &str) -> (Option<&str>, &str) {
        match (self, table.split_once('.')) {
            (Dialect::Postgres | Dialect::MySql, Some((schema, name))) => (Some(schema), name),
            _ => (None, table),
        }
    }

    pub fn quote_table(self, table: &str) -> String {
        match self.split_table(table) {
            (Some(schema), name) => format!("{}.{}", self.quote(schema), self.quote(name)),
            (None, name) => self.quote(name),
        }
    }

    fn param(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => format!("?{n}"),
            Dialect::MySql => "?".to_owned(),
        }
    }

    /// Rows of (name, type, extra…) describing the table's columns, in their order.
    pub fn columns_statement(self, table: &str) -> Statement {
        let (schema, name) = self.split_table(table);
        let mut binds = Vec::new();
        let sql = match self {
            Dialect::Sqlite => {
                binds.push(Bind::Text(name.to_owned()));
                "SELECT name, type FROM pragma_table_info(?1) ORDER BY cid".to_owned()
            }
            Dialect::Postgres => {
                let schema_cond = match schema {
                    Some(s) => {
                        binds.push(Bind::Text(s.to_owned()));
                        "table_schema = $2"
                    }
                    None => "table_schema = current_schema()",
                };
                binds.insert(0, Bind::Text(name.to_owned()));
                // The column's collation, or the database's (libc; `icu` for an ICU default, PostgreSQL 15+).
                format!(
                    "SELECT column_name::text, data_type::text, udt_schema::text, udt_name::text, \
                     COALESCE(collation_name::text, (SELECT CASE WHEN COALESCE(to_jsonb(d) ->> 'datlocprovider', 'c') \
                     = 'c' THEN datcollate::text ELSE 'icu' END FROM pg_database d WHERE datname = current_database())) \
                     FROM information_schema.columns WHERE table_name = $1 AND {schema_cond} ORDER BY ordinal_position"
                )
            }
            Dialect::MySql => {
                binds.push(Bind::Text(name.to_owned()));
                let schema_cond = match schema {
                    Some(s) => {
                        binds.push(Bind::Text(s.to_owned()));
                        "table_schema = ?"
                    }
                    None => "table_schema = DATABASE()",
                };
                format!(
                    "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR), CAST(column_type AS CHAR), \
                     CAST(collation_name AS CHAR) FROM information_schema.columns WHERE table_name = ? AND {schema_cond} ORDER BY ordinal_position"
                )
            }
        };
        Statement { sql, binds }
    }

    /// One row of [`Dialect::columns_statement`]'s result.
    pub fn column_info(self, row: &[Value]) -> Option<ColumnInfo> {
        let text = |i: usize| row.get(i).and_then(Value::as_str).unwrap_or("").to_owned();
        let name = text(0);
        if name.is_empty() {
            return None;
        }
        let data_type = text(1);
        let (category, pg_type) = match self {
            Dialect::Sqlite => (sqlite_category(&data_type), None),
            Dialect::Postgres => (pg_category(&data_type), Some((text(2), text(3)))),
            Dialect::MySql => (mysql_category(&data_type, &text(2)), None),
        };
        // glibc's C.UTF-8 orders by code point, which is UTF-8 byte order; so do MySQL's binary NO PAD collations.
        let byte_ordered = match self {
            Dialect::Postgres => matches!(text(4).as_str(), "C" | "POSIX" | "C.UTF-8" | "C.utf8"),
            Dialect::MySql => BYTE_ORDER_COLLATIONS.contains(&text(3).as_str()),
            Dialect::Sqlite => false,
        };
        Some(ColumnInfo { name, data_type, category, pg_type, byte_ordered })
    }

    /// The statement for a checked plan, or `None` when a filter value cannot match its column at all.
    pub fn select_statement(self, plan: &Plan, known: &[ColumnInfo]) -> Option<Statement> {
        let mut binds = Vec::new();
        let select: Vec<String> = plan.columns.iter().map(|&c| self.select_expr(&known[c])).collect();
        let mut conds = Vec::new();
        for (c, value) in &plan.filters {
            let col = &known[*c];
            let bind = self.filter_bind(col, value)?;
            binds.push(bind);
            conds.push(format!("{} = {}", self.quote(&col.name), self.param_expr(col, binds.len())));
        }
        if let Some(after) = &plan.after
            && !plan.keys.is_empty()
        {
            let mut lhs = Vec::new();
            let mut rhs = Vec::new();
            for (&k, v) in plan.keys.iter().zip(after) {
                let col = &known[k];
                binds.push(self.after_bind(v));
                lhs.push(self.key_expr(col, plan.bytewise));
                rhs.push(self.key_param(col, binds.len(), plan.bytewise));
            }
            conds.push(format!("({}) > ({})", lhs.join(", "), rhs.join(", ")));
        }
        if let Some(from) = &plan.from
            && let Some(&k) = plan.keys.first()
        {
            let col = &known[k];
            binds.push(self.after_bind(from));
            conds.push(format!(
                "{} >= {}",
                self.key_expr(col, plan.bytewise),
                self.key_param(col, binds.len(), plan.bytewise)
            ));
        }
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), self.quote_table(&plan.table));
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        if !plan.keys.is_empty() {
            let order: Vec<String> = plan.keys.iter().map(|&k| self.key_expr(&known[k], plan.bytewise)).collect();
            sql.push_str(" ORDER BY ");
            sql.push_str(&order.join(", "));
        }
        sql.push_str(&format!(" LIMIT {}", plan.limit));
        Some(Statement { sql, binds })
    }

    /// The select list of a plan's columns, each read as [`Dialect::select_statement`] reads it.
    pub fn select_list(self, plan: &Plan, known: &[ColumnInfo]) -> String {
        plan.columns.iter().map(|&c| self.select_expr(&known[c])).collect::<Vec<_>>().join(", ")
    }

    /// `SELECT max(change_column) FROM table`, the value presented like the column's values.
    pub fn watermark_statement(self, table: &str, col: &ColumnInfo) -> Statement {
        let expr = self.value_expr(format!("max({})", self.quote(&col.name)), col);
        Statement { sql: format!("SELECT {expr} FROM {}", self.quote_table(table)), binds: Vec::new() }
    }

    /// A key column as ordered and compared: with `bytewise`, text by its bytes (UTF-8), whatever the column's
    /// collation — PostgreSQL `COLLATE "C"`, MySQL a binary string, SQLite `BINARY`. Only text gets a collation,
    /// so that numeric keys keep using their index.
    fn key_expr(self, col: &ColumnInfo, bytewise: bool) -> String {
        let q = self.quote(&col.name);
        if !bytewise || col.category != Category::Text || col.byte_ordered {
            return q;
        }
        match self {
            Dialect::Postgres => format!("{q} COLLATE \"C\""),
            Dialect::MySql => format!("CAST({q} AS BINARY)"),
            Dialect::Sqlite => format!("{q} COLLATE BINARY"),
        }
    }

    /// The parameter `n` compared with [`Dialect::key_expr`] of `col`.
    fn key_param(self, col: &ColumnInfo, n: usize, bytewise: bool) -> String {
        match self {
            Dialect::MySql if bytewise && col.category == Category::Text && !col.byte_ordered => {
                format!("CAST({} AS BINARY)", self.param(n))
            }
            _ => self.param_expr(col, n),
        }
    }

    fn select_expr(self, col: &ColumnInfo) -> String {
        self.value_expr(self.quote(&col.name), col)
    }

    /// How an expression of a category is read: as the driver decodes it, or as text (ISO dates, exact decimals).
    fn value_expr(self, q: String, col: &ColumnInfo) -> String {
        match (self, col.category) {
            (Dialect::Sqlite, _) => q,
            (Dialect::Postgres, Category::Int | Category::Float | Category::Bool | Category::Text) => q,
            // Plain text output (sources run with DateStyle ISO): the same values as `to_json`, at half its cost
            // on a sync page; `present` puts the `T` into date-times.
            (Dialect::Postgres, Category::Decimal) => format!("CAST({q} AS text)"),
            (Dialect::Postgres, Category::Temporal)
                if matches!(col.data_type.as_str(), "date" | "timestamp without time zone") =>
            {
                format!("CAST({q} AS text)")
            }
            (Dialect::Postgres, _) => format!("to_json({q}) #>> '{{}}'"),
            (Dialect::MySql, Category::Int | Category::UnsignedInt | Category::Float | Category::Text) => q,
            (Dialect::MySql, _) => format!("CAST({q} AS CHAR)"),
        }
    }

    /// The parameter `n` as compared with `col`.
    fn param_expr(self, col: &ColumnInfo, n: usize) -> String {
        let p = self.param(n);
        match (self, &col.pg_type, col.category) {
            (Dialect::Postgres, Some((schema, name)), _) => {
                format!("CAST({p} AS {}.{})", self.quote(schema), self.quote(name))
            }
            (Dialect::MySql, _, Category::Decimal) => format!("CAST({p} AS DECIMAL(65,30))"),
            _ => p,
        }
    }

    fn filter_bind(self, col: &ColumnInfo, value: &str) -> Option<Bind> {
        if self != Dialect::MySql {
            return Some(Bind::Text(value.to_owned()));
        }
        let v = value.trim();
        match col.category {
            Category::Int | Category::UnsignedInt | Category::Bool => {
                let digits = v.strip_prefix('-').unwrap_or(v);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(v.parse::<i64>().map(Bind::Int).unwrap_or_else(|_| Bind::Text(v.to_owned())))
            }
            Category::Float => v.parse::<f64>().ok().filter(|f| f.is_finite()).map(Bind::Float),
            Category::Decimal => v.parse::<f64>().ok().filter(|f| f.is_finite()).map(|_| Bind::Text(v.to_owned())),
            Category::Text | Category::Temporal | Category::Other => Some(Bind::Text(value.to_owned())),
        }
    }

    fn after_bind(self, v: &Value) -> Bind {
        match (self, v) {
            (Dialect::Postgres, _) => Bind::Text(value_text(v)),
            (_, Value::Number(n)) => match n.as_i64() {
                Some(i) => Bind::Int(i),
                None => n.as_f64().map(Bind::Float).unwrap_or_else(|| Bind::Text(n.to_string())),
            },
            (_, Value::Bool(b)) => Bind::Int(i64::from(*b)),
            (_, other) => Bind::Text(value_text(other)),
        }
    }
}

/// SQLite's type affinity rules (https://sqlite.org/datatype3.html §3.1).
fn sqlite_category(declared: &str) -> Category {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Category::Int
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Category::Text
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Category::Float
    } else if t.is_empty() || t.contains("BLOB") {
        Category::Other
    } else {
        Category::Decimal
    }
}

fn pg_category(data_type: &str) -> Category {
    match data_type {
        "smallint" | "integer" | "bigint" => Category::Int,
        "real" | "double precision" => Category::Float,
        "numeric" => Category::Decimal,
        "boolean" => Category::Bool,
        "text" | "character varying" | "character" => Category::Text,
        t if t == "date" || t.starts_with("timestamp") || t.starts_with("time ") || t == "interval" => {
            Category::Temporal
        }
        _ => Category::Other,
    }
}

fn mysql_category(data_type: &str, column_type: &str) -> Category {
    let unsigned = column_type.to_ascii_lowercase().contains("unsigned");
    match data_type.to_ascii_lowercase().as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" if unsigned => Category::UnsignedInt,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Category::Int,
        "float" | "double" | "real" => Category::Float,
        "decimal" | "numeric" => Category::Decimal,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => Category::Text,
        "date" | "datetime" | "timestamp" | "time" | "year" => Category::Temporal,
        _ => Category::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, category: Category) -> ColumnInfo {
        ColumnInfo { name: name.into(), data_type: "x".into(), category, pg_type: None, byte_ordered: false }
    }

    #[test]
    fn quotes_per_dialect() {
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::MySql.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::Postgres.quote_table("s.t"), "\"s\".\"t\"");
        assert_eq!(Dialect::Sqlite.quote_table("s.t"), "\"s.t\"");
    }

    #[test]
    fn builds_keyset_select_with_parameters() {
        let known = vec![col("sfzh", Category::Text), col("age", Category::Int)];
        let plan = Plan {
            table: "residents".into(),
            columns: vec![0, 1],
            keys: vec![0],
            filters: vec![(1, "42".into())],
            after: Some(vec![Value::from("130")]),
            limit: 10,
            bytewise: false,
            from: None,
        };
        let s = Dialect::MySql.select_statement(&plan, &known).unwrap();
        assert_eq!(
            s.sql,
            "SELECT `sfzh`, `age` FROM `residents` WHERE `age` = ? AND (`sfzh`) > (?) ORDER BY `sfzh` LIMIT 10"
        );
        assert_eq!(s.binds, vec![Bind::Int(42), Bind::Text("130".into())]);
        let injected = Plan { filters: vec![(1, "' OR 1=1 --".into())], ..plan };
        assert!(Dialect::MySql.select_statement(&injected, &known).is_none(), "no number: matches nothing");
        let s = Dialect::Sqlite.select_statement(&injected, &known).unwrap();
        assert!(!s.sql.contains("OR 1=1"), "{}", s.sql);
    }

    #[test]
    fn sync_order_is_byte_wise_for_text_keys_only() {
        let mut known = vec![col("code", Category::Text), col("id", Category::Int)];
        let plan = Plan {
            table: "t".into(),
            columns: vec![0, 1],
            keys: vec![0, 1],
            filters: vec![],
            after: Some(vec![Value::from("a"), Value::from(1)]),
            limit: 10,
            bytewise: true,
            from: None,
        };
        let sql = |d: Dialect, known: &[ColumnInfo]| d.select_statement(&plan, known).unwrap().sql;
        assert_eq!(
            sql(Dialect::MySql, &known),
            "SELECT `code`, `id` FROM `t` WHERE (CAST(`code` AS BINARY), `id`) > (CAST(? AS BINARY), ?) \
             ORDER BY CAST(`code` AS BINARY), `id` LIMIT 10"
        );
        assert!(sql(Dialect::Postgres, &known).ends_with("ORDER BY \"code\" COLLATE \"C\", \"id\" LIMIT 10"));
        assert!(sql(Dialect::Sqlite, &known).ends_with("ORDER BY \"code\" COLLATE BINARY, \"id\" LIMIT 10"));
        // A PostgreSQL column already in byte order keeps its index: no COLLATE.
        known[0].byte_ordered = true;
        assert!(sql(Dialect::Postgres, &known).ends_with("ORDER BY \"code\", \"id\" LIMIT 10"));
    }
}
