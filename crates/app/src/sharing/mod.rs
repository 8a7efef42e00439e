//! Sharing use cases (SPEC §6, §8): applications, grants, disputes, objections, demands, the inbox, and the
//! periodic tick that flags overdue answers, expires grants and asks for re-certification.
//!
//! Department isolation: an object is visible to its two departments and the authority; anyone else gets 404.
//! Someone who may see an object but not act on it gets 403. Every change writes its audit event in the same
//! transaction.

pub mod applications;
pub mod demands;
pub mod grants;
pub mod inbox;
pub mod objections;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shuqiao_domain::entry::{Entry, Status};
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::StateError;
use shuqiao_store::accounts;
use shuqiao_store::sharing::Side;
use shuqiao_store::{Conn, catalog, ts};
use time::OffsetDateTime;

use crate::audit::{Actor, AuditEvent, record};
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

/// A department as shown in sharing objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: String,
    pub name: String,
}

/// A user as shown in answers and history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub department: Option<String>,
}

impl From<&Principal> for Person {
    fn from(p: &Principal) -> Person {
        Person { id: p.id.clone(), name: p.name.clone(), department: p.department.clone() }
    }
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| AppError::Internal(e.into()))
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| AppError::Internal(anyhow::anyhow!("{what} is corrupt: {e}")))
}

pub(crate) fn conflict(e: StateError) -> AppError {
    AppError::Conflict(e.to_string())
}

pub(crate) fn changed_meanwhile() -> AppError {
    AppError::Conflict("记录已被他人处理，请刷新后重试 (the record changed meanwhile; reload and retry)".into())
}

pub(crate) async fn party(c: &mut Conn, id: &str) -> Result<Party> {
    let d = accounts::get_department(c, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("department {id} does not exist")))?;
    Ok(Party { id: d.id, name: d.name })
}

/// The parties of departments `a` and `b` (from the cache of departments; read on a reader when missing).
pub(crate) async fn parties(p: &Platform, a: &str, b: &str) -> Result<(Party, Party)> {
    Ok((cached_party(p, a).await?, cached_party(p, b).await?))
}

async fn cached_party(p: &Platform, id: &str) -> Result<Party> {
    let found = p
        .hot
        .departments
        .get_or_load(id, || async {
            let mut c = p.store.reader().await?;
            Ok(accounts::get_department(&mut c, id).await?.map(|d| Party { id: d.id, name: d.name }))
        })
        .await?;
    found.ok_or_else(|| AppError::Internal(anyhow::anyhow!("department {id} does not exist")))
}

/// [`published_entry`] from the cache of entries (read on a reader when missing): for decisions that a write
/// transaction re-checks, and for the data path.
pub(crate) async fn published_cached(p: &Platform, code: &str) -> Result<Option<std::sync::Arc<Entry>>> {
    p.hot
        .entries
        .get_or_load(code, || async {
            let mut c = p.store.reader().await?;
            Ok(published_entry(&mut c, code).await?.map(std::sync::Arc::new))
        })
        .await
}

/// Whether the caller may see an object between departments `a` and `b`.
pub(crate) fn sees(who: &Principal, a: &str, b: Option<&str>) -> bool {
    who.has(Role::Authority) || who.department.as_deref().is_some_and(|d| d == a || Some(d) == b)
}

/// Whether the caller belongs to department `d`.
pub(crate) fn member_of(who: &Principal, d: &str) -> bool {
    who.department.as_deref() == Some(d)
}

/// The published entry `code` (`None` if the code is malformed, unknown, or not published).
pub(crate) async fn published_entry(c: &mut Conn, code: &str) -> Result<Option<Entry>> {
    let Ok(code) = code.trim().parse::<shuqiao_domain::codes::ResourceCode>() else { return Ok(None) };
    match catalog::served(c, &code.to_string()).await? {
        Some(row) if Status::parse(&row.status) == Some(Status::Published) => {
            Ok(Some(crate::index::parse_entry(&row)?))
        }
        _ => Ok(None),
    }
}

/// `?as=` of a list: `consumer`, `provider`, `all` (authority only), or the default.
pub(crate) fn side<'a>(who: &'a Principal, as_: Option<&str>, default: &str) -> Result<Side<'a>> {
    match as_.filter(|s| !s.is_empty()).unwrap_or(default) {
        "consumer" => Ok(Side::Consumer(who.department()?)),
        "provider" => Ok(Side::Provider(who.department()?)),
        "involved" => match who.department.as_deref() {
            Some(d) => Ok(Side::Involved(d)),
            None if who.has(Role::Authority) => Ok(Side::All),
            None => Err(AppError::Forbidden("此账号不属于任何部门 (this account belongs to no department)".into())),
        },
        "all" => {
            who.require(&[Role::Authority])?;
            Ok(Side::All)
        }
        other => Err(AppError::field(
            "as",
            format!("as 应为 consumer、provider 或 all (as must be consumer, provider or all; got `{other}`)"),
        )),
    }
}

/// Checks `?status=` against the names of a state machine.
pub(crate) fn status_filter<'a>(status: Option<&'a str>, names: &[&str]) -> Result<Option<&'a str>> {
    match status.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if names.contains(&s) => Ok(Some(s)),
        Some(s) => Err(AppError::field("status", format!("未知状态 `{s}` (one of: {})", names.join(", ")))),
    }
}

/// What the tick changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    pub applications_overdue: u64,
    pub objections_overdue: u64,
    pub grants_expired: u64,
    pub grants_recertify: u64,
}

/// Flags overdue applications and objections, expires grants past their validity and flags grants unused for
/// the rule set's re-certification period; every change audited (actor: the platform). Runs at `p.now()`.
pub async fn tick(p: &Platform) -> Result<TickReport> {
    tick_at(p, p.now()).await
}

/// [`tick`] as if it were `now`.
pub async fn tick_at(p: &Platform, now: OffsetDateTime) -> Result<TickReport> {
    let today = crate::catalog::today_cn(now).to_string();
    let system = Actor::system();
    let mut report = TickReport::default();
    let mut tx = p.store.begin().await?;
    report.applications_overdue = applications::mark_overdue(&mut tx, p, &today, &system).await?;
    report.objections_overdue = objections::mark_overdue(&mut tx, p, &today, &system).await?;
    let (expired, recertify) = grants::tick(&mut tx, p, now, &system).await?;
    report.grants_expired = expired;
    report.grants_recertify = recertify;
    shuqiao_store::commit(tx).await?;
    Ok(report)
}

/// `POST /admin/tick` (platform administrator): runs the tick now, or at the given time (for tests and drills).
pub async fn admin_tick(p: &Platform, who: &Principal, now: Option<OffsetDateTime>) -> Result<TickReport> {
    who.require(&[Role::PlatformAdmin])?;
    let report = tick_at(p, now.unwrap_or_else(|| p.now())).await?;
    let mut tx = p.store.begin().await?;
    let ev = AuditEvent::new("sharing.tick", "platform:tick").detail(serde_json::json!({
        "as_of": now.map(ts),
        "report": report,
    }));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(report)
}
