//! Demands (需求): a consumer describes data the catalog lacks; the authority routes it to a department, which
//! answers with a published entry or declines with a reason.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shuqiao_domain::FieldError;
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{self as rules, DemandAction, DemandStatus, Purpose, PurposeInput, PurposeKind};
use shuqiao_store::sharing::{self as store, CaseRow, ListQuery};
use shuqiao_store::{Conn, accounts, ts};

use super::{Party, Person, changed_meanwhile, conflict, from_json, member_of, party, sees, to_json};
use crate::audit::{Actor, AuditEvent, record};
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

/// A purpose as `{kind, text}`, or a plain text (kind `other`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PurposeField {
    Text(String),
    Full(PurposeInput),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandInput {
    pub description: Option<String>,
    pub items: Option<Vec<String>>,
    pub purpose: Option<PurposeField>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteInput {
    pub department: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandAnswerInput {
    pub resource: Option<String>,
    pub decline: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Routing {
    pub comment: Option<String>,
    pub by: Person,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemandAnswer {
    pub resource: Option<String>,
    pub resource_name: Option<String>,
    pub decline: Option<String>,
    pub by: Person,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Demand {
    pub id: String,
    pub status: DemandStatus,
    pub description: String,
    pub items: Vec<String>,
    pub purpose: Purpose,
    pub consumer: Party,
    pub routed_to: Option<Party>,
    pub routing: Option<Routing>,
    pub answer: Option<DemandAnswer>,
    pub created_by: Person,
    pub created_at: String,
    pub updated_at: String,
}

fn not_found() -> AppError {
    AppError::NotFound("需求不存在 (no such demand)".into())
}

fn parse(row: &CaseRow) -> Result<Demand> {
    let mut d: Demand = from_json("demand", &row.data)?;
    d.status = DemandStatus::parse(&row.status).unwrap_or(d.status);
    Ok(d)
}

fn row_of(d: &Demand) -> Result<CaseRow> {
    Ok(CaseRow {
        id: d.id.clone(),
        consumer_department: d.consumer.id.clone(),
        other_department: d.routed_to.as_ref().map(|r| r.id.clone()),
        resource: None,
        status: d.status.as_str().to_owned(),
        deadline: None,
        overdue: 0,
        data: to_json(d)?,
        created_by: d.created_by.id.clone(),
        created_at: d.created_at.clone(),
        updated_at: d.updated_at.clone(),
    })
}

async fn audit(c: &mut Conn, p: &Platform, actor: &Actor, d: &Demand, action: &str, detail: Value) -> Result<()> {
    let mut ev = AuditEvent::new(&format!("demand.{action}"), format!("demand:{}", d.id))
        .detail(json!({"status": d.status.as_str(), "consumer": d.consumer.id, "detail": detail}));
    if let Some(r) = &d.routed_to {
        ev = ev.department(r.id.clone());
    }
    record(c, p, actor, ev).await?;
    Ok(())
}

async fn save(c: &mut Conn, d: &Demand, expected: DemandStatus) -> Result<()> {
    if store::update_demand(c, &row_of(d)?, expected.as_str()).await? { Ok(()) } else { Err(changed_meanwhile()) }
}

/// `POST /demands` (consumer).
pub async fn submit(p: &Platform, who: &Principal, input: &DemandInput) -> Result<Demand> {
    who.require(&[Role::Consumer])?;
    let consumer = who.department()?.to_owned();
    let mut errors = Vec::new();
    let description = rules::required_text("description", input.description.as_deref(), &mut errors);
    let mut items = Vec::new();
    for (i, name) in input.items.iter().flatten().enumerate() {
        match name.trim() {
            "" => errors.push(FieldError::new(format!("items[{i}]"), "信息项名称不能为空 (empty item name)")),
            n if items.iter().any(|x| x == n) => {
                errors.push(FieldError::new(format!("items[{i}]"), "信息项重复 (duplicate item)"))
            }
            n => items.push(n.to_owned()),
        }
    }
    let purpose = match &input.purpose {
        Some(PurposeField::Text(t)) => {
            rules::required_text("purpose", Some(t), &mut errors).map(|text| Purpose { kind: PurposeKind::Other, text })
        }
        Some(PurposeField::Full(f)) => rules::check_purpose("purpose", Some(f), &mut errors),
        None => rules::check_purpose("purpose", None, &mut errors),
    };
    let (Some(description), Some(purpose)) = (description, purpose) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let d = Demand {
        id: uuid::Uuid::new_v4().to_string(),
        status: DemandStatus::Submitted,
        description,
        items,
        purpose,
        consumer: party(&mut tx, &consumer).await?,
        routed_to: None,
        routing: None,
        answer: None,
        created_by: Person::from(who),
        created_at: now.clone(),
        updated_at: now,
    };
    store::insert_demand(&mut tx, &row_of(&d)?).await?;
    audit(&mut tx, p, &Actor::from(who), &d, "submit", json!({"items": d.items})).await?;
    shuqiao_store::commit(tx).await?;
    Ok(d)
}

async fn load(c: &mut Conn, who: &Principal, id: &str) -> Result<Demand> {
    let row = store::get_demand(c, id).await?.ok_or_else(not_found)?;
    if !sees(who, &row.consumer_department, row.other_department.as_deref()) {
        return Err(not_found());
    }
    parse(&row)
}

/// `GET /demands/{id}` (the raising department, the routed department, the authority).
pub async fn get(p: &Platform, who: &Principal, id: &str) -> Result<Demand> {
    let mut c = p.store.reader().await?;
    load(&mut c, who, id).await
}

/// `GET /demands?as=consumer|provider|all&status=`: by default the authority sees all, a department those it
/// raised and those routed to it.
pub async fn list(
    p: &Platform,
    who: &Principal,
    as_: Option<&str>,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Demand>> {
    let names: Vec<&str> = DemandStatus::ALL.iter().map(|s| s.as_str()).collect();
    let default = if who.has(Role::Authority) { "all" } else { "involved" };
    let as_ = match as_ {
        Some("routed") => Some("provider"),
        other => other,
    };
    let q = ListQuery {
        side: super::side(who, as_, default)?,
        status: super::status_filter(status, &names)?,
        after,
        limit,
    };
    let mut c = p.store.reader().await?;
    store::list_demands(&mut c, &q).await?.iter().map(parse).collect()
}

/// `POST /demands/{id}/route` (authority) to a department.
pub async fn route(p: &Platform, who: &Principal, id: &str, input: &RouteInput) -> Result<Demand> {
    who.require(&[Role::Authority])?;
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let mut d = load(&mut tx, who, id).await?;
    let from = d.status;
    d.status = rules::demand_next(from, DemandAction::Route).map_err(conflict)?;
    let mut errors = Vec::new();
    let target = match input.department.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push(FieldError::new("department", "须指定部门 (department is required)"));
            None
        }
        Some(id) => {
            let dept = accounts::get_department(&mut tx, id).await?;
            if dept.is_none() {
                errors.push(FieldError::new("department", format!("部门“{id}”不存在 (no such department)")));
            }
            dept
        }
    };
    let comment = rules::optional_text("comment", input.comment.as_deref(), &mut errors);
    let Some(target) = target.filter(|_| errors.is_empty()) else { return Err(AppError::Validation(errors)) };
    d.routed_to = Some(Party { id: target.id, name: target.name });
    d.routing = Some(Routing { comment, by: Person::from(who), at: now.clone() });
    d.updated_at = now;
    save(&mut tx, &d, from).await?;
    audit(&mut tx, p, &Actor::from(who), &d, "route", json!({"department": d.routed_to})).await?;
    shuqiao_store::commit(tx).await?;
    Ok(d)
}

/// `POST /demands/{id}/answer` (the routed department's catalogers, reviewers or administrators): a published
/// entry of that department, or a reason to decline.
pub async fn answer(p: &Platform, who: &Principal, id: &str, input: &DemandAnswerInput) -> Result<Demand> {
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let mut d = load(&mut tx, who, id).await?;
    let routed = d.routed_to.as_ref().map(|r| r.id.clone());
    let staff = [Role::Cataloger, Role::Reviewer, Role::DepartmentAdmin].iter().any(|r| who.has(*r));
    if !routed.as_deref().is_some_and(|r| member_of(who, r)) || !staff {
        return Err(AppError::Forbidden(
            "只有承办部门的编目、审核人员或部门管理员可以答复需求 (only the routed department answers)".into(),
        ));
    }
    let routed = routed.unwrap_or_default();
    let mut errors = Vec::new();
    let resource = rules::optional_text("resource", input.resource.as_deref(), &mut errors);
    let decline = rules::optional_text("decline", input.decline.as_deref(), &mut errors);
    let action = match (&resource, &decline) {
        (Some(_), None) => DemandAction::Answer,
        (None, Some(_)) => DemandAction::Decline,
        _ => DemandAction::Answer,
    };
    let from = d.status;
    d.status = rules::demand_next(from, action).map_err(conflict)?;
    if resource.is_some() == decline.is_some() {
        errors.push(FieldError::new(
            "resource",
            "须提供 resource（已发布的信息资源）或 decline（不予提供的理由）之一 (give either resource or decline)",
        ));
    }
    let mut resource_name = None;
    if let (Some(code), None) = (&resource, &decline) {
        match super::published_entry(&mut tx, code).await? {
            Some(e) if e.provider.id == routed => resource_name = Some(e.name),
            Some(_) => {
                errors.push(FieldError::new("resource", "须为本部门的信息资源 (must be the department's entry)"))
            }
            None => errors.push(FieldError::new("resource", format!("“{code}”不是已发布的信息资源 (not published)"))),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let resource = resource.and_then(|r| r.parse::<shuqiao_domain::codes::ResourceCode>().ok()).map(|c| c.to_string());
    d.answer = Some(DemandAnswer { resource, resource_name, decline, by: Person::from(who), at: now.clone() });
    d.updated_at = now;
    save(&mut tx, &d, from).await?;
    let name = if action == DemandAction::Answer { "answer" } else { "decline" };
    let detail = json!({"resource": d.answer.as_ref().and_then(|a| a.resource.clone()),
                        "decline": d.answer.as_ref().and_then(|a| a.decline.clone())});
    audit(&mut tx, p, &Actor::from(who), &d, name, detail).await?;
    shuqiao_store::commit(tx).await?;
    Ok(d)
}
