//! Grants (授权): created by an approval or a coordination; suspended, resumed and revoked by the provider or the
//! authority; suspended when their entry is retired; expired and flagged for re-certification by the tick.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use shuqiao_domain::entry::Mode;
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{self as rules, Conditions, GrantAction, GrantStatus, MaskRule, Purpose, Quota};
use shuqiao_store::sharing::{self as store, GrantRow, ListQuery};
use shuqiao_store::{Conn, ts};
use time::{Date, Duration, OffsetDateTime};

use super::applications::Application;
use super::{Party, Person, changed_meanwhile, conflict, from_json, member_of, sees, to_json};
use crate::audit::{Actor, AuditEvent, record};
use crate::catalog::today_cn;
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

/// The last change of a grant's status, with its reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusChange {
    pub action: String,
    pub reason: String,
    pub by: Person,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantView {
    pub id: String,
    pub application: String,
    pub consumer: Party,
    pub provider: Party,
    pub resource: String,
    pub resource_name: String,
    pub items: Vec<String>,
    pub purpose: Purpose,
    pub modes: Vec<Mode>,
    pub valid_from: Date,
    pub valid_until: Date,
    pub masking: BTreeMap<String, MaskRule>,
    pub quota: Option<Quota>,
    pub status: GrantStatus,
    pub recertify: bool,
    pub last_used_at: Option<String>,
    pub last_change: Option<StatusChange>,
    pub created_at: String,
    pub updated_at: String,
}

fn not_found() -> AppError {
    AppError::NotFound("授权不存在 (no such grant)".into())
}

pub(crate) fn parse(row: &GrantRow) -> Result<GrantView> {
    let mut g: GrantView = from_json("grant", &row.data)?;
    g.status = GrantStatus::parse(&row.status).unwrap_or(g.status);
    g.recertify = row.recertify != 0;
    g.last_used_at = row.last_used_at.clone();
    Ok(g)
}

fn row_of(g: &GrantView) -> Result<GrantRow> {
    Ok(GrantRow {
        id: g.id.clone(),
        application_id: g.application.clone(),
        consumer_department: g.consumer.id.clone(),
        provider_department: g.provider.id.clone(),
        resource: g.resource.clone(),
        status: g.status.as_str().to_owned(),
        valid_until: g.valid_until.to_string(),
        recertify: i64::from(g.recertify),
        last_used_at: g.last_used_at.clone(),
        data: to_json(g)?,
        created_at: g.created_at.clone(),
        updated_at: g.updated_at.clone(),
    })
}

async fn audit(
    c: &mut Conn,
    p: &Platform,
    actor: &Actor,
    g: &GrantView,
    action: &str,
    detail: serde_json::Value,
) -> Result<()> {
    record(c, p, actor, event(g, action, detail)).await?;
    Ok(())
}

/// The audit event of a grant change.
fn event(g: &GrantView, action: &str, detail: serde_json::Value) -> AuditEvent {
    let purpose =
        format!("{}: {}", shuqiao_domain::entry::api_str(&g.purpose.kind).unwrap_or_default(), g.purpose.text);
    let mut d = json!({"status": g.status.as_str(), "consumer": g.consumer.id, "application": g.application});
    if let (Some(obj), serde_json::Value::Object(extra)) = (d.as_object_mut(), detail) {
        obj.extend(extra);
    }
    AuditEvent::new(&format!("grant.{action}"), format!("grant:{}", g.id))
        .department(g.provider.id.clone())
        .resource(g.resource.clone())
        .purpose(purpose)
        .detail(d)
}

/// Creates the grant of an approved application inside `c`'s transaction (audited `grant.create`).
pub(crate) async fn create(
    c: &mut Conn,
    p: &Platform,
    actor: &Actor,
    a: &Application,
    cond: &Conditions,
    now: OffsetDateTime,
) -> Result<GrantView> {
    let (g, ev) = insert_new(c, a, cond, now).await?;
    record(c, p, actor, ev).await?;
    Ok(g)
}

/// [`create`] without appending its `grant.create` event, which is returned for the caller to append (with
/// [`crate::audit::record_all`]) in the same transaction.
pub(crate) async fn insert_new(
    c: &mut Conn,
    a: &Application,
    cond: &Conditions,
    now: OffsetDateTime,
) -> Result<(GrantView, AuditEvent)> {
    let (g, row, ev) = new_grant(a, cond, now)?;
    store::insert_grant(c, &row).await?;
    Ok((g, ev))
}

/// The grant of an approved application, its row and its `grant.create` event, for the caller to write.
pub(crate) fn new_grant(
    a: &Application,
    cond: &Conditions,
    now: OffsetDateTime,
) -> Result<(GrantView, GrantRow, AuditEvent)> {
    let at = ts(now);
    let g = GrantView {
        id: uuid::Uuid::now_v7().to_string(),
        application: a.id.clone(),
        consumer: a.consumer.clone(),
        provider: a.provider.clone(),
        resource: a.resource.clone(),
        resource_name: a.resource_name.clone(),
        items: cond.items.clone(),
        purpose: a.purpose.clone(),
        modes: a.modes.clone(),
        valid_from: today_cn(now),
        valid_until: cond.valid_until,
        masking: cond.masking.clone(),
        quota: cond.quota,
        status: GrantStatus::Active,
        recertify: false,
        last_used_at: None,
        last_change: None,
        created_at: at.clone(),
        updated_at: at,
    };
    let row = row_of(&g)?;
    let detail = json!({"items": g.items, "valid_until": g.valid_until, "masking": g.masking, "quota": g.quota});
    let ev = event(&g, "create", detail);
    Ok((g, row, ev))
}

/// `GET /grants/{id}` (either side, authority).
pub async fn get(p: &Platform, who: &Principal, id: &str) -> Result<GrantView> {
    let mut c = p.store.reader().await?;
    let row = store::get_grant(&mut c, id).await?.ok_or_else(not_found)?;
    if !sees(who, &row.consumer_department, Some(&row.provider_department)) {
        return Err(not_found());
    }
    let mut g = parse(&row)?;
    crate::exchange::usage::overlay(p, &mut g);
    Ok(g)
}

/// `GET /grants?as=consumer|provider|all&status=`, newest first.
pub async fn list(
    p: &Platform,
    who: &Principal,
    as_: Option<&str>,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<GrantView>> {
    let names: Vec<&str> = GrantStatus::ALL.iter().map(|s| s.as_str()).collect();
    let q = ListQuery {
        side: super::side(who, as_, "consumer")?,
        status: super::status_filter(status, &names)?,
        after,
        limit,
    };
    let mut c = p.store.reader().await?;
    let mut grants: Vec<GrantView> = store::list_grants(&mut c, &q).await?.iter().map(parse).collect::<Result<_>>()?;
    for g in &mut grants {
        crate::exchange::usage::overlay(p, g);
    }
    Ok(grants)
}

fn change(g: &mut GrantView, action: GrantAction, reason: String, by: Person, at: &str) -> Result<GrantStatus> {
    let from = g.status;
    g.status = rules::grant_next(from, action).map_err(conflict)?;
    g.last_change = Some(StatusChange { action: action.as_str().to_owned(), reason, by, at: at.to_owned() });
    g.updated_at = at.to_owned();
    Ok(from)
}

async fn save(c: &mut Conn, g: &GrantView, expected: GrantStatus) -> Result<()> {
    if store::update_grant(c, &row_of(g)?, expected.as_str()).await? { Ok(()) } else { Err(changed_meanwhile()) }
}

/// `POST /grants/{id}/suspend|resume|revoke` (the provider's reviewers and administrators, or the authority).
pub async fn act(
    p: &Platform,
    who: &Principal,
    id: &str,
    action: GrantAction,
    reason: Option<&str>,
) -> Result<GrantView> {
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let row = store::get_grant(&mut tx, id).await?.ok_or_else(not_found)?;
    if !sees(who, &row.consumer_department, Some(&row.provider_department)) {
        return Err(not_found());
    }
    let provider_staff =
        member_of(who, &row.provider_department) && (who.has(Role::Reviewer) || who.has(Role::DepartmentAdmin));
    if !provider_staff && !who.has(Role::Authority) {
        return Err(AppError::Forbidden(
            "只有提供部门的审核员、部门管理员或共享主管部门可以变更授权 (only the provider or the authority)".into(),
        ));
    }
    let mut g = parse(&row)?;
    // State first: a second revocation is a conflict whatever its body.
    rules::grant_next(g.status, action).map_err(conflict)?;
    let mut errors = Vec::new();
    let reason = rules::required_text("reason", reason, &mut errors).ok_or(AppError::Validation(errors))?;
    let from = change(&mut g, action, reason.clone(), Person::from(who), &now)?;
    save(&mut tx, &g, from).await?;
    audit(&mut tx, p, &Actor::from(who), &g, action.as_str(), json!({"reason": reason, "from": from.as_str()})).await?;
    let subscriptions = shuqiao_store::sync::live_of_grant(&mut tx, &g.id).await?;
    shuqiao_store::commit(tx).await?;
    // Delivery stops at once: the workers of the grant's subscriptions end now (and start again held, or delivering).
    for s in &subscriptions {
        p.sync.stop(s);
    }
    p.sync.wake();
    Ok(g)
}

/// Retiring an entry suspends its active grants (inside the retirement's transaction); returns how many.
pub async fn suspend_for_retired_entry(c: &mut Conn, p: &Platform, code: &str, actor: &Actor) -> Result<u64> {
    let rows = store::grants_of_resource(c, code, GrantStatus::Active.as_str()).await?;
    let now = ts(p.now());
    let by = Person { id: actor.id.clone(), name: actor.name.clone(), department: actor.department.clone() };
    for row in &rows {
        let mut g = parse(row)?;
        let reason = "信息资源已撤销 (the catalog entry was retired)".to_owned();
        let from = change(&mut g, GrantAction::Suspend, reason.clone(), by.clone(), &now)?;
        save(c, &g, from).await?;
        audit(c, p, actor, &g, "suspend", json!({"reason": reason, "entry_retired": true})).await?;
    }
    Ok(rows.len() as u64)
}

/// Tick: expires grants past their validity and flags unused ones for re-certification.
pub(crate) async fn tick(c: &mut Conn, p: &Platform, now: OffsetDateTime, actor: &Actor) -> Result<(u64, u64)> {
    let today = today_cn(now);
    let at = ts(p.now());
    let by = Person { id: actor.id.clone(), name: actor.name.clone(), department: None };
    let expired = store::grants_past_validity(c, &today.to_string()).await?;
    for row in &expired {
        let mut g = parse(row)?;
        let reason = format!("有效期至 {} 已届满 (validity ended)", g.valid_until);
        let from = change(&mut g, GrantAction::Expire, reason, by.clone(), &at)?;
        save(c, &g, from).await?;
        audit(c, p, actor, &g, "expire", json!({"valid_until": g.valid_until, "as_of": today})).await?;
    }
    let days = p.rules.sharing.recertify_unused_days;
    let cutoff = ts(now - Duration::days(i64::from(days)));
    let unused = store::grants_unused_since(c, &cutoff).await?;
    for row in &unused {
        let mut g = parse(row)?;
        g.recertify = true;
        g.updated_at = at.clone();
        save(c, &g, GrantStatus::Active).await?;
        let since = g.last_used_at.clone().unwrap_or_else(|| g.created_at.clone());
        audit(c, p, actor, &g, "recertify", json!({"unused_since": since, "days": days})).await?;
    }
    Ok((expired.len() as u64, unused.len() as u64))
}
