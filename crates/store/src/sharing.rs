//! The sharing workflow's tables: applications with their history, grants, objections and demands. Each row keeps
//! its full JSON in `data`; the columns are what queries filter on. Lists are newest first and paged by the key
//! `created_at|id`.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Cols, Conn, LiteTx, Result, bind_numbered};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: String,
    pub consumer_department: String,
    pub provider_department: String,
    pub resource: String,
    pub entry_version: i64,
    pub status: String,
    pub deadline: Option<String>,
    pub deadline_covered: i64,
    pub overdue: i64,
    pub data: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const APP_COLS: &str = "id, consumer_department, provider_department, resource, entry_version, status, deadline, \
                        deadline_covered, overdue, data, created_by, created_at, updated_at";

fn application(r: &impl Cols) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: r.text(0)?,
        consumer_department: r.text(1)?,
        provider_department: r.text(2)?,
        resource: r.text(3)?,
        entry_version: r.int(4)?,
        status: r.text(5)?,
        deadline: r.opt_text(6)?,
        deadline_covered: r.int(7)?,
        overdue: r.int(8)?,
        data: r.text(9)?,
        created_by: r.text(10)?,
        created_at: r.text(11)?,
        updated_at: r.text(12)?,
    })
}

const INSERT_APPLICATION: &str = "INSERT INTO applications (id, consumer_department, provider_department, resource, entry_version, status, \
     deadline, deadline_covered, overdue, data, created_by, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

pub async fn insert_application(c: &mut Conn, a: &ApplicationRow) -> Result<()> {
    sqlx::query(INSERT_APPLICATION)
        .bind(&a.id)
        .bind(&a.consumer_department)
        .bind(&a.provider_department)
        .bind(&a.resource)
        .bind(a.entry_version)
        .bind(&a.status)
        .bind(&a.deadline)
        .bind(a.deadline_covered)
        .bind(a.overdue)
        .bind(&a.data)
        .bind(&a.created_by)
        .bind(&a.created_at)
        .bind(&a.updated_at)
        .execute(c)
        .await?;
    Ok(())
}

/// Rewrites status, overdue flag and data, unless the row left `expected_status` meanwhile (then false).
pub async fn update_application(c: &mut Conn, a: &ApplicationRow, expected_status: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET status = $1, overdue = $2, data = $3, updated_at = $4 WHERE id = $5 AND status = $6",
    )
    .bind(&a.status)
    .bind(a.overdue)
    .bind(&a.data)
    .bind(&a.updated_at)
    .bind(&a.id)
    .bind(expected_status)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

const UPDATE_APPLICATION_IF_CURRENT: &str = "UPDATE applications SET status = $1, overdue = $2, data = $3, updated_at = $4 \
     WHERE id = $5 AND status = $6 AND data = $7 \
     AND EXISTS (SELECT 1 FROM entries WHERE code = $8 AND status = 'published')";

/// [`update_application`] only if the row is still exactly as read (`expected_status`, `expected_data`) and
/// `entry` still has a published version: the re-check, inside the write transaction, of what was decided on a
/// reader. False if either changed meanwhile.
pub async fn update_application_if_current(
    c: &mut Conn,
    a: &ApplicationRow,
    expected_status: &str,
    expected_data: &str,
    entry: &str,
) -> Result<bool> {
    let done = sqlx::query(UPDATE_APPLICATION_IF_CURRENT)
        .bind(&a.status)
        .bind(a.overdue)
        .bind(&a.data)
        .bind(&a.updated_at)
        .bind(&a.id)
        .bind(expected_status)
        .bind(expected_data)
        .bind(entry)
        .execute(c)
        .await?;
    Ok(done.rows_affected() == 1)
}

fn get_application_sql() -> String {
    format!("SELECT {APP_COLS} FROM applications WHERE id = $1")
}

pub async fn get_application(c: &mut Conn, id: &str) -> Result<Option<ApplicationRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(get_application_sql())).bind(id).fetch_optional(c).await?;
    row.as_ref().map(application).transpose()
}

/// Which side of a list the caller looks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side<'a> {
    Consumer(&'a str),
    Provider(&'a str),
    /// Either side.
    Involved(&'a str),
    All,
}

/// A page of a list: filter by side and status, newest first, after the cursor `created_at|id`.
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    pub side: Side<'a>,
    pub status: Option<&'a str>,
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// Builds `WHERE …` for a list of `table` whose side columns are `consumer` and `provider`; returns the SQL tail
/// and the parameters in order.
fn list_sql(q: &ListQuery<'_>, consumer: &str, provider: &str) -> (String, Vec<String>) {
    let mut conds = Vec::new();
    let mut params = Vec::new();
    match q.side {
        Side::Consumer(d) => {
            params.push(d.to_owned());
            conds.push(format!("{consumer} = ${}", params.len()));
        }
        Side::Provider(d) => {
            params.push(d.to_owned());
            conds.push(format!("{provider} = ${}", params.len()));
        }
        Side::Involved(d) => {
            params.push(d.to_owned());
            let n = params.len();
            conds.push(format!("({consumer} = ${n} OR {provider} = ${n})"));
        }
        Side::All => {}
    }
    if let Some(s) = q.status {
        params.push(s.to_owned());
        conds.push(format!("status = ${}", params.len()));
    }
    if let Some((at, id)) = q.after.and_then(|a| a.split_once('|')) {
        params.push(at.to_owned());
        let n = params.len();
        params.push(id.to_owned());
        conds.push(format!("(created_at < ${n} OR (created_at = ${n} AND id < ${}))", n + 1));
    }
    let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (format!("{filter} ORDER BY created_at DESC, id DESC LIMIT {}", q.limit.clamp(1, 1000)), params)
}

async fn fetch_list<T>(
    c: &mut Conn,
    cols: &str,
    table: &str,
    tail: (String, Vec<String>),
    map: fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let sql = format!("SELECT {cols} FROM {table} {}", tail.0);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in &tail.1 {
        query = query.bind(p.clone());
    }
    let rows = query.fetch_all(c).await?;
    rows.iter().map(map).collect()
}

pub async fn list_applications(c: &mut Conn, q: &ListQuery<'_>) -> Result<Vec<ApplicationRow>> {
    let tail = list_sql(q, "consumer_department", "provider_department");
    fetch_list(c, APP_COLS, "applications", tail, application).await
}

/// Applications in `status` of a provider (or of every provider), oldest first.
pub async fn applications_waiting(c: &mut Conn, status: &str, provider: Option<&str>) -> Result<Vec<ApplicationRow>> {
    let rows = match provider {
        Some(d) => {
            let sql = format!(
                "SELECT {APP_COLS} FROM applications WHERE status = $1 AND provider_department = $2 \
                 ORDER BY created_at, id"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status).bind(d).fetch_all(c).await?
        }
        None => {
            let sql = format!("SELECT {APP_COLS} FROM applications WHERE status = $1 ORDER BY created_at, id");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status).fetch_all(c).await?
        }
    };
    rows.iter().map(application).collect()
}

/// Returned applications of a consumer department, oldest first.
pub async fn applications_of_consumer(c: &mut Conn, status: &str, consumer: &str) -> Result<Vec<ApplicationRow>> {
    let sql = format!(
        "SELECT {APP_COLS} FROM applications WHERE status = $1 AND consumer_department = $2 ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status).bind(consumer).fetch_all(c).await?;
    rows.iter().map(application).collect()
}

/// Submitted applications whose deadline (a date) is before `today` and not yet flagged.
pub async fn applications_newly_overdue(c: &mut Conn, today: &str) -> Result<Vec<ApplicationRow>> {
    let sql = format!(
        "SELECT {APP_COLS} FROM applications WHERE status = 'submitted' AND overdue = 0 AND deadline IS NOT NULL \
         AND deadline < $1 ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(today).fetch_all(c).await?;
    rows.iter().map(application).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: String,
    pub application_id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    /// JSON.
    pub detail: String,
}

// The line's id is `<application>/<n>` with n = lines so far + 1, zero-padded to five digits: numbered in the
// same statement (one round trip to the writer instead of a COUNT and an INSERT).
const INSERT_HISTORY: &str = "INSERT INTO application_history (id, application_id, at, actor, action, detail) \
     SELECT $1 || '/' || CASE WHEN COUNT(*) < 99999 \
            THEN substr('0000' || (COUNT(*) + 1), length('0000' || (COUNT(*) + 1)) - 4) \
            ELSE CAST(COUNT(*) + 1 AS TEXT) END, \
            $1, $2, $3, $4, $5 \
     FROM application_history WHERE application_id = $1";

/// Appends a history line; its id orders the lines of an application.
pub async fn insert_history(c: &mut Conn, h: &HistoryRow) -> Result<()> {
    sqlx::query(INSERT_HISTORY)
        .bind(&h.application_id)
        .bind(&h.at)
        .bind(&h.actor)
        .bind(&h.action)
        .bind(&h.detail)
        .execute(c)
        .await?;
    Ok(())
}

const HISTORY: &str = "SELECT id, application_id, at, actor, action, detail FROM application_history \
                       WHERE application_id = $1 ORDER BY id";

fn history_row(r: &impl Cols) -> Result<HistoryRow> {
    Ok(HistoryRow {
        id: r.text(0)?,
        application_id: r.text(1)?,
        at: r.text(2)?,
        actor: r.text(3)?,
        action: r.text(4)?,
        detail: r.text(5)?,
    })
}

pub async fn history(c: &mut Conn, application_id: &str) -> Result<Vec<HistoryRow>> {
    let rows = sqlx::query(HISTORY).bind(application_id).fetch_all(c).await?;
    rows.iter().map(history_row).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub id: String,
    pub application_id: String,
    pub consumer_department: String,
    pub provider_department: String,
    pub resource: String,
    pub status: String,
    pub valid_until: String,
    pub recertify: i64,
    pub last_used_at: Option<String>,
    pub data: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const GRANT_COLS: &str = "id, application_id, consumer_department, provider_department, resource, status, \
                          valid_until, recertify, last_used_at, data, created_at, updated_at";

pub(crate) fn grant(r: &impl Cols) -> Result<GrantRow> {
    Ok(GrantRow {
        id: r.text(0)?,
        application_id: r.text(1)?,
        consumer_department: r.text(2)?,
        provider_department: r.text(3)?,
        resource: r.text(4)?,
        status: r.text(5)?,
        valid_until: r.text(6)?,
        recertify: r.int(7)?,
        last_used_at: r.opt_text(8)?,
        data: r.text(9)?,
        created_at: r.text(10)?,
        updated_at: r.text(11)?,
    })
}

const INSERT_GRANT: &str = "INSERT INTO grants (id, application_id, consumer_department, provider_department, resource, status, \
     valid_until, recertify, last_used_at, data, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub async fn insert_grant(c: &mut Conn, g: &GrantRow) -> Result<()> {
    sqlx::query(INSERT_GRANT)
        .bind(&g.id)
        .bind(&g.application_id)
        .bind(&g.consumer_department)
        .bind(&g.provider_department)
        .bind(&g.resource)
        .bind(&g.status)
        .bind(&g.valid_until)
        .bind(g.recertify)
        .bind(&g.last_used_at)
        .bind(&g.data)
        .bind(&g.created_at)
        .bind(&g.updated_at)
        .execute(c)
        .await?;
    Ok(())
}

/// Rewrites status, recertify flag and data, unless the row left `expected_status` meanwhile (then false).
pub async fn update_grant(c: &mut Conn, g: &GrantRow, expected_status: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE grants SET status = $1, recertify = $2, data = $3, updated_at = $4 WHERE id = $5 AND status = $6",
    )
    .bind(&g.status)
    .bind(g.recertify)
    .bind(&g.data)
    .bind(&g.updated_at)
    .bind(&g.id)
    .bind(expected_status)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get_grant(c: &mut Conn, id: &str) -> Result<Option<GrantRow>> {
    let sql = format!("SELECT {GRANT_COLS} FROM grants WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
    row.as_ref().map(grant).transpose()
}

fn grant_of_application_sql() -> String {
    format!("SELECT {GRANT_COLS} FROM grants WHERE application_id = $1 ORDER BY created_at DESC LIMIT 1")
}

pub async fn grant_of_application(c: &mut Conn, application_id: &str) -> Result<Option<GrantRow>> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(grant_of_application_sql())).bind(application_id).fetch_optional(c).await?;
    row.as_ref().map(grant).transpose()
}

pub async fn list_grants(c: &mut Conn, q: &ListQuery<'_>) -> Result<Vec<GrantRow>> {
    let tail = list_sql(q, "consumer_department", "provider_department");
    fetch_list(c, GRANT_COLS, "grants", tail, grant).await
}

/// Grants of a resource in `status`.
pub async fn grants_of_resource(c: &mut Conn, resource: &str, status: &str) -> Result<Vec<GrantRow>> {
    let sql = format!("SELECT {GRANT_COLS} FROM grants WHERE resource = $1 AND status = $2 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(resource).bind(status).fetch_all(c).await?;
    rows.iter().map(grant).collect()
}

/// Active or suspended grants valid only until before `today` (a date).
pub async fn grants_past_validity(c: &mut Conn, today: &str) -> Result<Vec<GrantRow>> {
    let sql = format!(
        "SELECT {GRANT_COLS} FROM grants WHERE status IN ('active', 'suspended') AND valid_until < $1 \
         ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(today).fetch_all(c).await?;
    rows.iter().map(grant).collect()
}

/// Active grants not flagged yet whose last use (or creation) is before `cutoff` (a timestamp).
pub async fn grants_unused_since(c: &mut Conn, cutoff: &str) -> Result<Vec<GrantRow>> {
    let sql = format!(
        "SELECT {GRANT_COLS} FROM grants WHERE status = 'active' AND recertify = 0 \
         AND COALESCE(last_used_at, created_at) < $1 ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cutoff).fetch_all(c).await?;
    rows.iter().map(grant).collect()
}

/// An objection or a demand: the same shape, with `side_b` the provider (objection) or the routed department
/// (demand), and `deadline`/`overdue` only for objections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: String,
    pub consumer_department: String,
    pub other_department: Option<String>,
    pub resource: Option<String>,
    pub status: String,
    pub deadline: Option<String>,
    pub overdue: i64,
    pub data: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const OBJ_COLS: &str = "id, consumer_department, provider_department, resource, status, deadline, overdue, data, \
                        created_by, created_at, updated_at";
const DEMAND_COLS: &str = "id, consumer_department, routed_to, CAST(NULL AS TEXT), status, CAST(NULL AS TEXT), \
                           CAST(0 AS BIGINT), data, created_by, created_at, updated_at";

fn case(r: &AnyRow) -> Result<CaseRow> {
    Ok(CaseRow {
        id: r.try_get(0)?,
        consumer_department: r.try_get(1)?,
        other_department: r.try_get(2)?,
        resource: r.try_get(3)?,
        status: r.try_get(4)?,
        deadline: r.try_get(5)?,
        overdue: r.try_get(6)?,
        data: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at: r.try_get(9)?,
        updated_at: r.try_get(10)?,
    })
}

pub async fn insert_objection(c: &mut Conn, o: &CaseRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO objections (id, consumer_department, provider_department, resource, status, deadline, overdue, \
         data, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&o.id)
    .bind(&o.consumer_department)
    .bind(o.other_department.as_deref().unwrap_or_default())
    .bind(o.resource.as_deref().unwrap_or_default())
    .bind(&o.status)
    .bind(o.deadline.as_deref().unwrap_or_default())
    .bind(o.overdue)
    .bind(&o.data)
    .bind(&o.created_by)
    .bind(&o.created_at)
    .bind(&o.updated_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn update_objection(c: &mut Conn, o: &CaseRow, expected_status: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE objections SET status = $1, overdue = $2, data = $3, updated_at = $4 WHERE id = $5 AND status = $6",
    )
    .bind(&o.status)
    .bind(o.overdue)
    .bind(&o.data)
    .bind(&o.updated_at)
    .bind(&o.id)
    .bind(expected_status)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get_objection(c: &mut Conn, id: &str) -> Result<Option<CaseRow>> {
    let sql = format!("SELECT {OBJ_COLS} FROM objections WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
    row.as_ref().map(case).transpose()
}

pub async fn list_objections(c: &mut Conn, q: &ListQuery<'_>) -> Result<Vec<CaseRow>> {
    let tail = list_sql(q, "consumer_department", "provider_department");
    fetch_list(c, OBJ_COLS, "objections", tail, case).await
}

/// Submitted objections of a provider, oldest first.
pub async fn objections_waiting(c: &mut Conn, provider: &str) -> Result<Vec<CaseRow>> {
    let sql = format!(
        "SELECT {OBJ_COLS} FROM objections WHERE status = 'submitted' AND provider_department = $1 \
         ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider).fetch_all(c).await?;
    rows.iter().map(case).collect()
}

pub async fn objections_newly_overdue(c: &mut Conn, today: &str) -> Result<Vec<CaseRow>> {
    let sql = format!(
        "SELECT {OBJ_COLS} FROM objections WHERE status = 'submitted' AND overdue = 0 AND deadline < $1 \
         ORDER BY created_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(today).fetch_all(c).await?;
    rows.iter().map(case).collect()
}

pub async fn insert_demand(c: &mut Conn, d: &CaseRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO demands (id, consumer_department, routed_to, status, data, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&d.id)
    .bind(&d.consumer_department)
    .bind(&d.other_department)
    .bind(&d.status)
    .bind(&d.data)
    .bind(&d.created_by)
    .bind(&d.created_at)
    .bind(&d.updated_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn update_demand(c: &mut Conn, d: &CaseRow, expected_status: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE demands SET status = $1, routed_to = $2, data = $3, updated_at = $4 WHERE id = $5 AND status = $6",
    )
    .bind(&d.status)
    .bind(&d.other_department)
    .bind(&d.data)
    .bind(&d.updated_at)
    .bind(&d.id)
    .bind(expected_status)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get_demand(c: &mut Conn, id: &str) -> Result<Option<CaseRow>> {
    let sql = format!("SELECT {DEMAND_COLS} FROM demands WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
    row.as_ref().map(case).transpose()
}

/// Demands: `Consumer(d)` those raised by `d`, `Provider(d)` those routed to `d`.
pub async fn list_demands(c: &mut Conn, q: &ListQuery<'_>) -> Result<Vec<CaseRow>> {
    let tail = list_sql(q, "consumer_department", "routed_to");
    fetch_list(c, DEMAND_COLS, "demands", tail, case).await
}

/// Demands in `status`, optionally only those routed to a department, oldest first.
pub async fn demands_waiting(c: &mut Conn, status: &str, routed_to: Option<&str>) -> Result<Vec<CaseRow>> {
    let rows = match routed_to {
        Some(d) => {
            let sql = format!(
                "SELECT {DEMAND_COLS} FROM demands WHERE status = $1 AND routed_to = $2 ORDER BY created_at, id"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status).bind(d).fetch_all(c).await?
        }
        None => {
            let sql = format!("SELECT {DEMAND_COLS} FROM demands WHERE status = $1 ORDER BY created_at, id");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status).fetch_all(c).await?
        }
    };
    rows.iter().map(case).collect()
}

/// The sharing workflow's statements on the store's synchronous SQLite connection (see [`LiteTx`]): the same SQL
/// and rows as [`insert_application`], [`update_application_if_current`], [`insert_history`], [`insert_grant`],
/// [`get_application`], [`grant_of_application`] and [`history`].
impl LiteTx<'_> {
    fn execute(&mut self, sql: &str, values: &[&dyn rusqlite::ToSql]) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        bind_numbered(&mut stmt, values)?;
        Ok(stmt.raw_execute()?)
    }

    fn fetch<T>(
        &mut self,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
        map: fn(&rusqlite::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        bind_numbered(&mut stmt, values)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(map(r)?);
        }
        Ok(out)
    }

    pub fn insert_application(&mut self, a: &ApplicationRow) -> Result<()> {
        self.execute(
            INSERT_APPLICATION,
            &[
                &a.id,
                &a.consumer_department,
                &a.provider_department,
                &a.resource,
                &a.entry_version,
                &a.status,
                &a.deadline,
                &a.deadline_covered,
                &a.overdue,
                &a.data,
                &a.created_by,
                &a.created_at,
                &a.updated_at,
            ],
        )?;
        Ok(())
    }

    pub fn update_application_if_current(
        &mut self,
        a: &ApplicationRow,
        expected_status: &str,
        expected_data: &str,
        entry: &str,
    ) -> Result<bool> {
        let done = self.execute(
            UPDATE_APPLICATION_IF_CURRENT,
            &[&a.status, &a.overdue, &a.data, &a.updated_at, &a.id, &expected_status, &expected_data, &entry],
        )?;
        Ok(done == 1)
    }

    pub fn insert_history(&mut self, h: &HistoryRow) -> Result<()> {
        self.execute(INSERT_HISTORY, &[&h.application_id, &h.at, &h.actor, &h.action, &h.detail])?;
        Ok(())
    }

    pub fn insert_grant(&mut self, g: &GrantRow) -> Result<()> {
        self.execute(
            INSERT_GRANT,
            &[
                &g.id,
                &g.application_id,
                &g.consumer_department,
                &g.provider_department,
                &g.resource,
                &g.status,
                &g.valid_until,
                &g.recertify,
                &g.last_used_at,
                &g.data,
                &g.created_at,
                &g.updated_at,
            ],
        )?;
        Ok(())
    }

    pub fn get_application(&mut self, id: &str) -> Result<Option<ApplicationRow>> {
        Ok(self.fetch(&get_application_sql(), &[&id], |r| application(r))?.pop())
    }

    pub fn grant_of_application(&mut self, application_id: &str) -> Result<Option<GrantRow>> {
        Ok(self.fetch(&grant_of_application_sql(), &[&application_id], |r| grant(r))?.pop())
    }

    pub fn history(&mut self, application_id: &str) -> Result<Vec<HistoryRow>> {
        self.fetch(HISTORY, &[&application_id], |r| history_row(r))
    }

    /// The version of `code` that is published now, if any (the re-check of an automatic grant).
    pub fn published_version(&mut self, code: &str) -> Result<Option<i64>> {
        let sql = "SELECT version FROM entries WHERE code = $1 AND status = 'published' ORDER BY version DESC LIMIT 1";
        Ok(self.fetch(sql, &[&code], |r| r.int(0))?.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{self, DepartmentRow, RegionRow};

    const AT: &str = "2026-12-04T09:00:00.000000Z";

    async fn store_with_departments() -> (tempfile::TempDir, crate::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(dir.path()).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let region =
            RegionRow { code: "510000".into(), name: "四川省".into(), level: "province".into(), parent: None };
        accounts::insert_region(&mut tx, &region, AT).await.unwrap();
        for (id, code) in [("d1", "11510000000000001A"), ("d2", "11510000000000002B")] {
            let d = DepartmentRow {
                id: id.into(),
                name: format!("部门 {id}"),
                credit_code: code.into(),
                region: "510000".into(),
                parent: None,
                kind: "department".into(),
                created_at: AT.into(),
            };
            accounts::insert_department(&mut tx, &d).await.unwrap();
        }
        tx.commit().await.unwrap();
        (dir, store)
    }

    fn app(id: &str, status: &str, data: &str) -> ApplicationRow {
        ApplicationRow {
            id: id.into(),
            consumer_department: "d1".into(),
            provider_department: "d2".into(),
            resource: "303001/000001".into(),
            entry_version: 1,
            status: status.into(),
            deadline: None,
            deadline_covered: 1,
            overdue: 0,
            data: data.into(),
            created_by: "u1".into(),
            created_at: AT.into(),
            updated_at: AT.into(),
        }
    }

    fn line(app: &str, action: &str) -> HistoryRow {
        HistoryRow {
            id: String::new(),
            application_id: app.into(),
            at: AT.into(),
            actor: "u1".into(),
            action: action.into(),
            detail: "{}".into(),
        }
    }

    #[tokio::test]
    async fn synchronous_statements_write_and_read_the_rows_of_the_pooled_ones() {
        let (_dir, store) = store_with_departments().await;
        let a = app("a1", "submitted", r#"{"v":1}"#);
        let g = GrantRow {
            id: "g1".into(),
            application_id: "a1".into(),
            consumer_department: "d1".into(),
            provider_department: "d2".into(),
            resource: "303001/000001".into(),
            status: "active".into(),
            valid_until: "2027-06-01".into(),
            recertify: 0,
            last_used_at: None,
            data: "{}".into(),
            created_at: AT.into(),
            updated_at: AT.into(),
        };
        let (a2, g2) = (a.clone(), g.clone());
        let read_back = store
            .write_sync(move |tx| -> Result<_> {
                tx.insert_application(&a2)?;
                tx.insert_history(&line("a1", "submit"))?;
                tx.insert_history(&line("a1", "approve"))?;
                tx.insert_grant(&g2)?;
                Ok((tx.get_application("a1")?, tx.grant_of_application("a1")?, tx.history("a1")?))
            })
            .await
            .expect("SQLite has a synchronous connection")
            .unwrap();
        let mut c = store.reader().await.unwrap();
        // What the synchronous statements wrote is what the pooled reads see, and the other way round.
        assert_eq!(get_application(&mut c, "a1").await.unwrap(), Some(a.clone()));
        assert_eq!(grant_of_application(&mut c, "a1").await.unwrap(), Some(g.clone()));
        let lines = history(&mut c, "a1").await.unwrap();
        assert_eq!(lines.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["a1/00001", "a1/00002"]);
        assert_eq!(read_back, (Some(a.clone()), Some(g), lines));
        drop(c);
        // The guarded update: only while the row is as read and the entry published (here: no entry at all).
        let moved = app("a1", "approved", r#"{"v":2}"#);
        let updated = store
            .write_sync(move |tx| tx.update_application_if_current(&moved, "submitted", r#"{"v":1}"#, "303001/000001"))
            .await
            .unwrap()
            .unwrap();
        assert!(!updated, "an unpublished entry must stop the update");
        let mut c = store.reader().await.unwrap();
        assert_eq!(get_application(&mut c, "a1").await.unwrap(), Some(a));
    }

    #[tokio::test]
    async fn a_failed_synchronous_write_leaves_nothing_and_the_others_of_its_batch_commit() {
        let (_dir, store) = store_with_departments().await;
        // Queued together, so that they share batches: every third fails half-way (its second insert repeats the
        // primary key) and must leave nothing; the others must all be there, each with its history line.
        let works: Vec<_> = (0..60)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let id = format!("a{i}");
                    store
                        .write_sync(move |tx| -> Result<()> {
                            tx.insert_application(&app(&id, "submitted", "{}"))?;
                            tx.insert_history(&line(&id, "submit"))?;
                            if i % 3 == 0 {
                                tx.insert_application(&app(&id, "submitted", "{}"))?;
                            }
                            Ok(())
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for (i, w) in works.into_iter().enumerate() {
            let result = w.await.unwrap();
            if i % 3 == 0 {
                assert!(matches!(result, Err(crate::StoreError::Lite(_))), "{i}: {result:?}");
            } else {
                assert!(result.is_ok(), "{i}: {result:?}");
            }
        }
        let mut c = store.reader().await.unwrap();
        for i in 0..60 {
            let id = format!("a{i}");
            let row = get_application(&mut c, &id).await.unwrap();
            let lines = history(&mut c, &id).await.unwrap();
            if i % 3 == 0 {
                assert_eq!((row, lines.len()), (None, 0), "{id} failed and must leave nothing");
            } else {
                assert!(row.is_some(), "{id}");
                assert_eq!(lines.len(), 1, "{id}");
            }
        }
    }

    #[test]
    fn numbered_parameters_bind_by_name_also_when_repeated_or_out_of_order() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("SELECT $2 || '-' || $1 || '-' || $2").unwrap();
        crate::bind_numbered(&mut stmt, &[&"a", &"b"]).unwrap();
        let mut rows = stmt.raw_query();
        let got: String = rows.next().unwrap().unwrap().get(0).unwrap();
        assert_eq!(got, "b-a-b");
        drop(rows);
        let mut stmt = conn.prepare("SELECT $1, $3").unwrap();
        assert!(crate::bind_numbered(&mut stmt, &[&"a", &"b"]).is_err(), "a parameter without a value");
    }
}
