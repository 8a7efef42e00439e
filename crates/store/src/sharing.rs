//! The sharing workflow's tables: applications with their history, grants, objections and demands. Each row keeps
//! its full JSON in `data`; the columns are what queries filter on. Lists are newest first and paged by the key
//! `created_at|id`.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Conn, Result};

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

fn application(r: &AnyRow) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: r.try_get(0)?,
        consumer_department: r.try_get(1)?,
        provider_department: r.try_get(2)?,
        resource: r.try_get(3)?,
        entry_version: r.try_get(4)?,
        status: r.try_get(5)?,
        deadline: r.try_get(6)?,
        deadline_covered: r.try_get(7)?,
        overdue: r.try_get(8)?,
        data: r.try_get(9)?,
        created_by: r.try_get(10)?,
        created_at: r.try_get(11)?,
        updated_at: r.try_get(12)?,
    })
}

pub async fn insert_application(c: &mut Conn, a: &ApplicationRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO applications (id, consumer_department, provider_department, resource, entry_version, status, \
         deadline, deadline_covered, overdue, data, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
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
    let done = sqlx::query(
        "UPDATE applications SET status = $1, overdue = $2, data = $3, updated_at = $4 \
         WHERE id = $5 AND status = $6 AND data = $7 \
         AND EXISTS (SELECT 1 FROM entries WHERE code = $8 AND status = 'published')",
    )
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

pub async fn get_application(c: &mut Conn, id: &str) -> Result<Option<ApplicationRow>> {
    let sql = format!("SELECT {APP_COLS} FROM applications WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?;
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

/// Appends a history line; its id orders the lines of an application.
pub async fn insert_history(c: &mut Conn, h: &HistoryRow) -> Result<()> {
    // The line's id is `<application>/<n>` with n = lines so far + 1, zero-padded to five digits: numbered in the
    // same statement (one round trip to the writer instead of a COUNT and an INSERT).
    sqlx::query(
        "INSERT INTO application_history (id, application_id, at, actor, action, detail) \
         SELECT $1 || '/' || CASE WHEN COUNT(*) < 99999 \
                THEN substr('0000' || (COUNT(*) + 1), length('0000' || (COUNT(*) + 1)) - 4) \
                ELSE CAST(COUNT(*) + 1 AS TEXT) END, \
                $1, $2, $3, $4, $5 \
         FROM application_history WHERE application_id = $1",
    )
    .bind(&h.application_id)
    .bind(&h.at)
    .bind(&h.actor)
    .bind(&h.action)
    .bind(&h.detail)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn history(c: &mut Conn, application_id: &str) -> Result<Vec<HistoryRow>> {
    let rows = sqlx::query(
        "SELECT id, application_id, at, actor, action, detail FROM application_history WHERE application_id = $1 \
         ORDER BY id",
    )
    .bind(application_id)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryRow {
                id: r.try_get(0)?,
                application_id: r.try_get(1)?,
                at: r.try_get(2)?,
                actor: r.try_get(3)?,
                action: r.try_get(4)?,
                detail: r.try_get(5)?,
            })
        })
        .collect()
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

pub(crate) fn grant(r: &AnyRow) -> Result<GrantRow> {
    Ok(GrantRow {
        id: r.try_get(0)?,
        application_id: r.try_get(1)?,
        consumer_department: r.try_get(2)?,
        provider_department: r.try_get(3)?,
        resource: r.try_get(4)?,
        status: r.try_get(5)?,
        valid_until: r.try_get(6)?,
        recertify: r.try_get(7)?,
        last_used_at: r.try_get(8)?,
        data: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
    })
}

pub async fn insert_grant(c: &mut Conn, g: &GrantRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO grants (id, application_id, consumer_department, provider_department, resource, status, \
         valid_until, recertify, last_used_at, data, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
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

pub async fn grant_of_application(c: &mut Conn, application_id: &str) -> Result<Option<GrantRow>> {
    let sql = format!("SELECT {GRANT_COLS} FROM grants WHERE application_id = $1 ORDER BY created_at DESC LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(application_id).fetch_optional(c).await?;
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
