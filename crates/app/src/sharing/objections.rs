//! Objections (疑义/校核纠错): a consumer reports a record that looks wrong; the provider's reviewer confirms it
//! with a correction, or rejects it with a reason, within the deadline.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shuqiao_domain::FieldError;
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{self as rules, ObjectionStatus};
use shuqiao_store::sharing::{self as store, CaseRow, ListQuery};
use shuqiao_store::{Conn, ts};
use time::Date;

use super::{Party, Person, changed_meanwhile, conflict, from_json, member_of, party, sees, to_json};
use crate::audit::{Actor, AuditEvent, record};
use crate::catalog::today_cn;
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectionInput {
    pub resource: Option<String>,
    pub record_key: Option<String>,
    pub item: Option<String>,
    pub description: Option<String>,
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    pub reason: Option<String>,
    pub correction: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectionAnswer {
    pub reason: Option<String>,
    pub correction: Option<Value>,
    pub by: Person,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Objection {
    pub id: String,
    pub status: ObjectionStatus,
    pub resource: String,
    pub resource_name: String,
    pub record_key: String,
    pub item: Option<String>,
    pub description: String,
    pub evidence: Option<String>,
    pub consumer: Party,
    pub provider: Party,
    pub deadline: Date,
    pub deadline_covered: bool,
    pub overdue: bool,
    pub answer: Option<ObjectionAnswer>,
    pub created_by: Person,
    pub created_at: String,
    pub updated_at: String,
}

fn not_found() -> AppError {
    AppError::NotFound("疑义不存在 (no such objection)".into())
}

fn parse(row: &CaseRow) -> Result<Objection> {
    let mut o: Objection = from_json("objection", &row.data)?;
    o.status = ObjectionStatus::parse(&row.status).unwrap_or(o.status);
    o.overdue = row.overdue != 0;
    Ok(o)
}

fn row_of(o: &Objection) -> Result<CaseRow> {
    Ok(CaseRow {
        id: o.id.clone(),
        consumer_department: o.consumer.id.clone(),
        other_department: Some(o.provider.id.clone()),
        resource: Some(o.resource.clone()),
        status: o.status.as_str().to_owned(),
        deadline: Some(o.deadline.to_string()),
        overdue: i64::from(o.overdue),
        data: to_json(o)?,
        created_by: o.created_by.id.clone(),
        created_at: o.created_at.clone(),
        updated_at: o.updated_at.clone(),
    })
}

async fn audit(c: &mut Conn, p: &Platform, actor: &Actor, o: &Objection, action: &str, detail: Value) -> Result<()> {
    let ev = AuditEvent::new(&format!("objection.{action}"), format!("objection:{}", o.id))
        .department(o.provider.id.clone())
        .resource(o.resource.clone())
        .detail(json!({"status": o.status.as_str(), "consumer": o.consumer.id, "detail": detail}));
    record(c, p, actor, ev).await?;
    Ok(())
}

async fn save(c: &mut Conn, o: &Objection, expected: ObjectionStatus) -> Result<()> {
    if store::update_objection(c, &row_of(o)?, expected.as_str()).await? { Ok(()) } else { Err(changed_meanwhile()) }
}

/// `POST /objections` (consumer).
pub async fn submit(p: &Platform, who: &Principal, input: &ObjectionInput) -> Result<Objection> {
    who.require(&[Role::Consumer])?;
    let consumer = who.department()?.to_owned();
    let now_t = p.now();
    let now = ts(now_t);
    let today = today_cn(now_t);
    let mut tx = p.store.begin().await?;
    let mut errors = Vec::new();
    let entry = match input.resource.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push(FieldError::new("resource", "须指定信息资源代码 (resource is required)"));
            None
        }
        Some(code) => {
            let e = super::published_entry(&mut tx, code).await?;
            if e.is_none() {
                errors
                    .push(FieldError::new("resource", format!("“{code}”不是已发布的信息资源 (not a published entry)")));
            }
            e
        }
    };
    let record_key = rules::required_text("record_key", input.record_key.as_deref(), &mut errors);
    let item = rules::optional_text("item", input.item.as_deref(), &mut errors);
    if let (Some(e), Some(name)) = (&entry, &item)
        && !e.items.iter().any(|i| &i.name == name)
    {
        errors.push(FieldError::new("item", format!("“{name}”不是该资源的信息项 (no such item)")));
    }
    let description = rules::required_text("description", input.description.as_deref(), &mut errors);
    let evidence = rules::optional_text("evidence", input.evidence.as_deref(), &mut errors);
    let (Some(entry), Some(record_key), Some(description)) = (entry, record_key, description) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let deadline = rules::answer_deadline(&p.calendar, today, p.rules.deadlines.objection_answer_working_days);
    let o = Objection {
        id: uuid::Uuid::new_v4().to_string(),
        status: ObjectionStatus::Submitted,
        resource: entry.code.to_string(),
        resource_name: entry.name.clone(),
        record_key,
        item,
        description,
        evidence,
        consumer: party(&mut tx, &consumer).await?,
        provider: party(&mut tx, &entry.provider.id).await?,
        deadline: deadline.deadline,
        deadline_covered: deadline.covered,
        overdue: false,
        answer: None,
        created_by: Person::from(who),
        created_at: now.clone(),
        updated_at: now,
    };
    store::insert_objection(&mut tx, &row_of(&o)?).await?;
    audit(&mut tx, p, &Actor::from(who), &o, "submit", json!({"record_key": o.record_key, "item": o.item})).await?;
    shuqiao_store::commit(tx).await?;
    Ok(o)
}

async fn load(c: &mut Conn, who: &Principal, id: &str) -> Result<Objection> {
    let row = store::get_objection(c, id).await?.ok_or_else(not_found)?;
    if !sees(who, &row.consumer_department, row.other_department.as_deref()) {
        return Err(not_found());
    }
    parse(&row)
}

/// `GET /objections/{id}` (either side, authority).
pub async fn get(p: &Platform, who: &Principal, id: &str) -> Result<Objection> {
    let mut c = p.store.reader().await?;
    load(&mut c, who, id).await
}

/// `GET /objections?as=consumer|provider|all&status=`, newest first.
pub async fn list(
    p: &Platform,
    who: &Principal,
    as_: Option<&str>,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Objection>> {
    let names: Vec<&str> = ObjectionStatus::ALL.iter().map(|s| s.as_str()).collect();
    let q = ListQuery {
        side: super::side(who, as_, "involved")?,
        status: super::status_filter(status, &names)?,
        after,
        limit,
    };
    let mut c = p.store.reader().await?;
    store::list_objections(&mut c, &q).await?.iter().map(parse).collect()
}

/// `POST /objections/{id}/confirm` (with a correction) or `/reject` (with a reason), by the provider's reviewers.
pub async fn answer(p: &Platform, who: &Principal, id: &str, confirm: bool, input: &AnswerInput) -> Result<Objection> {
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let mut o = load(&mut tx, who, id).await?;
    if !member_of(who, &o.provider.id) || !who.has(Role::Reviewer) {
        return Err(AppError::Forbidden(
            "只有提供部门的审核员可以答复疑义 (only the provider's reviewers answer objections)".into(),
        ));
    }
    let from = o.status;
    o.status = rules::objection_next(from, confirm).map_err(conflict)?;
    let mut errors = Vec::new();
    let reason = if confirm {
        rules::optional_text("reason", input.reason.as_deref(), &mut errors)
    } else {
        rules::required_text("reason", input.reason.as_deref(), &mut errors)
    };
    let correction = match (&input.correction, confirm) {
        (None | Some(Value::Null), true) => {
            errors.push(FieldError::new("correction", "确认疑义须提供更正内容 (a correction is required)"));
            None
        }
        (Some(Value::String(s)), true) if s.trim().is_empty() => {
            errors.push(FieldError::new("correction", "确认疑义须提供更正内容 (a correction is required)"));
            None
        }
        (c, _) => c.clone().filter(|v| !v.is_null()),
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    o.answer = Some(ObjectionAnswer { reason, correction, by: Person::from(who), at: now.clone() });
    o.updated_at = now;
    save(&mut tx, &o, from).await?;
    let action = if confirm { "confirm" } else { "reject" };
    // The corrected record flows to the resource's subscribers (SPEC §8), queued with the answer.
    let subscriptions = if confirm {
        crate::exchange::sync::objection_corrected(&mut tx, p, &o.resource, &o.record_key, &o.id).await?
    } else {
        Vec::new()
    };
    let detail = json!({"reason": o.answer.as_ref().and_then(|a| a.reason.clone()), "record_key": o.record_key,
                        "subscriptions": subscriptions});
    audit(&mut tx, p, &Actor::from(who), &o, action, detail).await?;
    shuqiao_store::commit(tx).await?;
    p.sync.wake();
    Ok(o)
}

/// Tick: flags submitted objections past their deadline.
pub(crate) async fn mark_overdue(c: &mut Conn, p: &Platform, today: &str, actor: &Actor) -> Result<u64> {
    let rows = store::objections_newly_overdue(c, today).await?;
    for row in &rows {
        let mut o = parse(row)?;
        o.overdue = true;
        save(c, &o, ObjectionStatus::Submitted).await?;
        audit(c, p, actor, &o, "overdue", json!({"deadline": o.deadline, "today": today})).await?;
    }
    Ok(rows.len() as u64)
}
