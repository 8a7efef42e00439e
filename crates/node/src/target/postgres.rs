//! PostgreSQL targets: rows go in with `COPY … FROM STDIN` (text format), the fastest way into PostgreSQL.
//!
//! A page of a full pass (a key range, whose rows were just deleted) or a table created by this batch cannot
//! conflict with existing rows, so it is copied straight into the table. If it does conflict after all (an upsert
//! outside its range whose key exists), the copy is rolled back to a savepoint and the batch takes the other path:
//! copied into a temporary table, then `INSERT … SELECT DISTINCT ON (keys) … ON CONFLICT (keys) DO UPDATE` (the
//! last row of a key that the batch has twice).

use std::fmt::Write as _;

use serde_json::Value;
use sqlx::PgConnection;

use super::{Batch, Fail, db, unwritable};
use crate::dialect::Dialect;

const STAGE: &str = "shuqiao_stage";

/// Upserts `b.upserts`; `direct`: no row of the batch can exist in the table (see the module documentation).
pub(super) async fn upsert(c: &mut PgConnection, b: &Batch, direct: bool) -> Result<(), Fail> {
    if b.upserts.is_empty() {
        return Ok(());
    }
    let d = Dialect::Postgres;
    let table = d.quote_table(&b.table);
    let names: Vec<String> = b.columns.iter().map(|col| d.quote(&col.name)).collect();
    let names = names.join(", ");
    let data = copy_text(&b.upserts);
    if direct {
        run(c, "SAVEPOINT shuqiao_copy").await?;
        match copy(c, &format!("COPY {table} ({names}) FROM STDIN"), &data).await {
            Ok(()) => return run(c, "RELEASE SAVEPOINT shuqiao_copy").await,
            Err(_) => {
                // Not logged with the error: its text may quote a key (personal data).
                tracing::debug!(table = %b.table, "a full-pass page cannot be copied straight in; upserting it");
                run(c, "ROLLBACK TO SAVEPOINT shuqiao_copy").await?;
            }
        }
    }
    run(c, &format!("CREATE TEMP TABLE {STAGE} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")).await?;
    copy(c, &format!("COPY {STAGE} ({names}) FROM STDIN"), &data).await.map_err(unwritable(&b.table))?;
    let keys: Vec<String> = b.key_columns.iter().map(|k| d.quote(k)).collect();
    let others: Vec<String> = b
        .columns
        .iter()
        .filter(|col| !b.key_columns.contains(&col.name))
        .map(|col| format!("{q} = excluded.{q}", q = d.quote(&col.name)))
        .collect();
    let action = if others.is_empty() { "NOTHING".to_owned() } else { format!("UPDATE SET {}", others.join(", ")) };
    // A key may come twice in one batch (a page in storage order read in windows, each its own snapshot, can meet a
    // row before and after it moved): the last copied wins — ON CONFLICT cannot touch a row twice in a statement.
    let keys = keys.join(", ");
    let sql = format!(
        "INSERT INTO {table} ({names}) SELECT DISTINCT ON ({keys}) {names} FROM {STAGE} ORDER BY {keys}, ctid DESC \
         ON CONFLICT ({keys}) DO {action}"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *c).await.map_err(unwritable(&b.table))?;
    run(c, &format!("DROP TABLE {STAGE}")).await
}

async fn run(c: &mut PgConnection, sql: &str) -> Result<(), Fail> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *c).await.map_err(db)?;
    Ok(())
}

async fn copy(c: &mut PgConnection, statement: &str, data: &[u8]) -> Result<(), sqlx::Error> {
    let mut sink = c.copy_in_raw(statement).await?;
    if let Err(e) = sink.send(data).await {
        let _ = sink.abort("the batch could not be sent").await;
        return Err(e);
    }
    sink.finish().await.map(|_| ())
}

/// Rows in `COPY`'s text format: tab-separated, `\N` for NULL, backslash, tab, newline and carriage return
/// escaped.
pub(super) fn copy_text(rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = String::with_capacity(rows.len() * rows.first().map_or(1, Vec::len) * 12);
    for row in rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            match v {
                Value::Null => out.push_str("\\N"),
                Value::Bool(true) => out.push('t'),
                Value::Bool(false) => out.push('f'),
                Value::Number(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::String(s) => escape(&mut out, s),
                other => escape(&mut out, &other.to_string()),
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn escape(out: &mut String, s: &str) {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        out.push_str(s);
        return;
    }
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn copy_text_escapes() {
        let rows = vec![vec![json!("a\tb\nc\\d\re"), Value::Null, json!(12), json!(true), json!("\\N"), json!("张三")]];
        assert_eq!(String::from_utf8(copy_text(&rows)).unwrap(), "a\\tb\\nc\\\\d\\re\t\\N\t12\tt\t\\\\N\t张三\n");
    }
}
