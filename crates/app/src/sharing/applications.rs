//! Applications (共享申请): submit, answer (approve, refuse, return), dispute and coordination, lists.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shuqiao_domain::entry::{Mode, ShareType, api_str};
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{
    self as rules, AppAction, AppStatus, ApplicationInput, Conditions, ConditionsInput, Decision, Purpose,
};
use shuqiao_store::sharing::{self as store, ApplicationRow, GrantRow, HistoryRow, ListQuery};
use shuqiao_store::{Backend, Conn, LiteTx, ts};
use time::{Date, OffsetDateTime};

use super::grants::{self, GrantView};
use super::{Party, Person, changed_meanwhile, conflict, from_json, member_of, sees, to_json};
use crate::audit::{Actor, AuditEvent, record};
use crate::catalog::today_cn;
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refused {
    pub reason: String,
    pub legal_basis: Option<String>,
    /// Refused by the platform at once (the entry is not shared), by the provider, or by the authority.
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    pub by: Person,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coordination {
    pub decision: String,
    pub reason: String,
    pub by: Person,
    pub at: String,
}

/// An application as stored (`data`) and listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub status: AppStatus,
    /// A coordination decided it; nothing more can happen to it on the platform.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub resource: String,
    pub resource_name: String,
    pub entry_version: u32,
    /// The most restrictive share type of the requested items, which decided how the application is handled.
    pub share_type: ShareType,
    pub items: Vec<String>,
    pub purpose: Purpose,
    pub basis: String,
    pub modes: Vec<Mode>,
    pub valid_until: Date,
    pub expected_volume: Option<Value>,
    pub consumer: Party,
    pub provider: Party,
    pub deadline: Option<Date>,
    pub deadline_covered: bool,
    pub overdue: bool,
    pub refusal: Option<Refused>,
    pub return_comment: Option<Note>,
    pub dispute: Option<Note>,
    pub coordination: Option<Coordination>,
    pub grant_id: Option<String>,
    pub created_by: Person,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryLine {
    pub at: String,
    pub action: String,
    pub actor: Value,
    pub detail: Value,
}

/// `GET /applications/{id}`: the application with its grant and history.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationView {
    #[serde(flatten)]
    pub application: Application,
    pub grant: Option<GrantView>,
    pub history: Vec<HistoryLine>,
}

fn not_found() -> AppError {
    AppError::NotFound("共享申请不存在 (no such application)".into())
}

fn parse(row: &ApplicationRow) -> Result<Application> {
    let mut a: Application = from_json("application", &row.data)?;
    a.status = AppStatus::parse(&row.status).unwrap_or(a.status);
    a.overdue = row.overdue != 0;
    Ok(a)
}

fn purpose_label(p: &Purpose) -> String {
    format!("{}: {}", api_str(&p.kind).unwrap_or_default(), p.text)
}

/// Appends a history line and the audit event of an application change.
async fn log(c: &mut Conn, p: &Platform, actor: &Actor, a: &Application, action: &str, detail: Value) -> Result<()> {
    let ev = history(c, p, actor, a, action, detail).await?;
    record(c, p, actor, ev).await?;
    Ok(())
}

/// Appends the history line of an application change and returns its audit event, for the caller to append.
async fn history(
    c: &mut Conn,
    p: &Platform,
    actor: &Actor,
    a: &Application,
    action: &str,
    detail: Value,
) -> Result<AuditEvent> {
    let (h, ev) = change(p, actor, a, action, detail)?;
    store::insert_history(c, &h).await?;
    Ok(ev)
}

/// The history line of an application change and its audit event.
fn change(
    p: &Platform,
    actor: &Actor,
    a: &Application,
    action: &str,
    detail: Value,
) -> Result<(HistoryRow, AuditEvent)> {
    let line = json!({"actor_name": actor.name, "department": actor.department, "detail": detail});
    let h = HistoryRow {
        id: String::new(),
        application_id: a.id.clone(),
        at: ts(p.now()),
        actor: actor.id.clone(),
        action: action.to_owned(),
        detail: to_json(&line)?,
    };
    let mut ev_detail = json!({"status": a.status.as_str(), "consumer": a.consumer.id});
    if let (Some(obj), Value::Object(extra)) = (ev_detail.as_object_mut(), detail) {
        obj.extend(extra);
    }
    let ev = AuditEvent::new(&format!("application.{action}"), format!("application:{}", a.id))
        .department(a.provider.id.clone())
        .resource(a.resource.clone())
        .purpose(purpose_label(&a.purpose))
        .detail(ev_detail);
    Ok((h, ev))
}

fn row_of(a: &Application, created_by: &str) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: a.id.clone(),
        consumer_department: a.consumer.id.clone(),
        provider_department: a.provider.id.clone(),
        resource: a.resource.clone(),
        entry_version: i64::from(a.entry_version),
        status: a.status.as_str().to_owned(),
        deadline: a.deadline.map(|d| d.to_string()),
        deadline_covered: i64::from(a.deadline_covered),
        overdue: i64::from(a.overdue),
        data: to_json(a)?,
        created_by: created_by.to_owned(),
        created_at: a.created_at.clone(),
        updated_at: a.updated_at.clone(),
    })
}

async fn save(c: &mut Conn, a: &Application, expected: AppStatus) -> Result<()> {
    let row = row_of(a, &a.created_by.id)?;
    if store::update_application(c, &row, expected.as_str()).await? { Ok(()) } else { Err(changed_meanwhile()) }
}

/// `POST /applications` (consumer): checks, decides by share type, and records it; unconditional applications
/// are approved at once with a grant, not_shared ones refused at once with the entry's legal basis.
pub async fn submit(p: &Platform, who: &Principal, input: &ApplicationInput) -> Result<ApplicationView> {
    who.require(&[Role::Consumer])?;
    let consumer_id = who.department()?.to_owned();
    let now_t = p.now();
    let now = ts(now_t);
    let today = today_cn(now_t);
    // The entry and the departments from the caches, outside the write transaction; what they decided is
    // re-checked inside it where it matters (an automatic grant: `Writes::entry_still`).
    let entry = match input.resource.as_deref() {
        Some(code) => super::published_cached(p, code).await?,
        None => None,
    };
    let spec = rules::check_application(input, entry.as_deref(), &consumer_id, today, &p.rules)
        .map_err(AppError::Validation)?;
    let entry = entry.ok_or_else(|| AppError::field("resource", "不是已发布的信息资源 (not a published entry)"))?;
    let deadline = (spec.decision == Decision::Review)
        .then(|| rules::answer_deadline(&p.calendar, today, p.rules.deadlines.application_answer_working_days));
    let (consumer, provider) = super::parties(p, &consumer_id, &entry.provider.id).await?;
    let a = Application {
        id: uuid::Uuid::now_v7().to_string(),
        status: AppStatus::Submitted,
        is_final: false,
        resource: entry.code.to_string(),
        resource_name: entry.name.clone(),
        entry_version: entry.version,
        share_type: spec.share_type,
        items: spec.items,
        purpose: spec.purpose,
        basis: spec.basis,
        modes: spec.modes,
        valid_until: spec.valid_until,
        expected_volume: spec.expected_volume,
        consumer,
        provider,
        deadline: deadline.map(|d| d.deadline),
        deadline_covered: deadline.is_none_or(|d| d.covered),
        overdue: false,
        refusal: None,
        return_comment: None,
        dispute: None,
        coordination: None,
        grant_id: None,
        created_by: Person::from(who),
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let detail = json!({"items": a.items, "share_type": spec.share_type, "deadline": a.deadline, "modes": a.modes});
    let w = submission(p, who, a, spec.decision, detail, entry.share.legal_basis.clone(), now_t)?;
    write(p, who, w).await
}

/// What [`submit`] writes: the application in the state its share type decides, its history and audit events,
/// and for an unconditional entry the grant, created only if the entry read is still the one published.
fn submission(
    p: &Platform,
    who: &Principal,
    mut a: Application,
    decision: Decision,
    detail: Value,
    legal_basis: Option<String>,
    now_t: OffsetDateTime,
) -> Result<Writes> {
    let actor = Actor::from(who);
    let (h, ev) = change(p, &actor, &a, "submit", detail)?;
    let mut w = Writes::new(a.id.clone());
    w.history.push(h);
    w.events.push((actor, ev));
    let system = Actor::system();
    let answer = match decision {
        Decision::Review => None,
        Decision::Grant => {
            // No grant for an entry retired or replaced since it was read.
            w.entry_still = Some((a.resource.clone(), a.entry_version));
            let cond = Conditions {
                items: a.items.clone(),
                valid_until: a.valid_until,
                masking: Default::default(),
                quota: None,
            };
            let (g, row, grant_event) = grants::new_grant(&a, &cond, now_t)?;
            w.grant = Some(row);
            w.events.push((system.clone(), grant_event));
            a.status = AppStatus::Approved;
            a.grant_id = Some(g.id.clone());
            Some(("approve", json!({"automatic": true, "reason": "无条件共享 (unconditional)", "grant": g.id})))
        }
        Decision::Refuse => {
            let reason = "该信息资源不予共享 (the entry is not shared)".to_owned();
            a.status = AppStatus::Refused;
            let at = a.created_at.clone();
            a.refusal = Some(Refused { reason, legal_basis: legal_basis.clone(), by: "platform".into(), at });
            Some(("refuse", json!({"automatic": true, "legal_basis": legal_basis})))
        }
    };
    if let Some((action, detail)) = answer {
        let (h, ev) = change(p, &system, &a, action, detail)?;
        w.history.push(h);
        w.events.push((system, ev));
    }
    // Inserted as it ends up: submitted, or already answered.
    w.insert = Some(row_of(&a, &who.id)?);
    w.answer = Some((a, Vec::new()));
    Ok(w)
}

/// The rows and audit events of one write transaction of the workflow, decided before it starts, so that the same
/// transaction runs through sqlx or on the store's synchronous SQLite connection (see [`write`]).
struct Writes {
    /// The application whose view answers the request.
    id: String,
    /// Checked first: the entry's published version must still be this one (else 409 and nothing is written).
    entry_still: Option<(String, u32)>,
    insert: Option<ApplicationRow>,
    grant: Option<GrantRow>,
    /// An application read on a reader, rewritten only if it is still exactly as read and its entry still
    /// published: `(new row, row as read)`.
    update: Option<(ApplicationRow, ApplicationRow)>,
    history: Vec<HistoryRow>,
    /// Appended together at the end, in the order of the changes.
    events: Vec<(Actor, AuditEvent)>,
    /// The application as the transaction leaves it, with the history lines it had before (read with the row the
    /// guarded update checks, so complete if the update succeeds): the view is made of these and the rows written
    /// instead of reading them back. `None`: read back after the commit.
    answer: Option<(Application, Vec<HistoryRow>)>,
}

impl Writes {
    fn new(id: String) -> Writes {
        Writes {
            id,
            entry_still: None,
            insert: None,
            grant: None,
            update: None,
            history: Vec::new(),
            events: Vec::new(),
            answer: None,
        }
    }

    /// The caches the transaction makes stale: a new grant changes what the gateway's grant cache holds.
    fn changes(&self) -> &'static [shuqiao_store::Kind] {
        if self.grant.is_some() { &[shuqiao_store::Kind::Grants] } else { &[] }
    }
}

/// Runs `w` in one write transaction and answers with the application's view as committed. On SQLite the
/// transaction runs in place on the store's synchronous connection, on its write thread, group-committed with
/// whatever other such work queued up meanwhile (no hand-off to a driver thread per statement while the single
/// writer is held, one flush for many), and the view is made of what was written; on PostgreSQL through sqlx,
/// and the view is read back after the commit.
async fn write(p: &Platform, who: &Principal, mut w: Writes) -> Result<ApplicationView> {
    let kinds = w.changes();
    let id = w.id.clone();
    let p2 = p.clone();
    if p.store.backend() == Backend::Sqlite {
        // The view is made of what is written, after the commit and off the single writer.
        let answer = w.answer.take().map(|(a, mut history)| {
            history.extend(w.history.iter().cloned());
            (a, w.grant.clone(), history)
        });
        p.store
            .write_sync(move |tx| write_lite(tx, &p2, &w))
            .await
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the SQLite store has no synchronous connection")))??;
        shuqiao_store::changed(kinds);
        return match answer {
            Some((a, grant, history)) => view_of(a, grant, history),
            None => get(p, who, &id).await,
        };
    }
    p.store.on_writer(move || async move { write_pooled(&p2, w).await }).await??;
    shuqiao_store::changed(kinds);
    get(p, who, &id).await
}

/// [`write`] on the store's synchronous SQLite connection. Runs again from the start if its batch starts over, so
/// it only writes what was decided before; whatever can stop it is checked before its first write.
fn write_lite(tx: &mut LiteTx<'_>, p: &Platform, w: &Writes) -> Result<()> {
    if let Some((code, version)) = &w.entry_still
        && tx.published_version(code)? != Some(i64::from(*version))
    {
        return Err(changed_meanwhile());
    }
    if let Some((new, old)) = &w.update
        && !tx.update_application_if_current(new, &old.status, &old.data, &new.resource)?
    {
        let published = tx.published_version(&new.resource)?.is_some();
        return Err(if published { changed_meanwhile() } else { no_longer_published() });
    }
    if let Some(row) = &w.insert {
        tx.insert_application(row)?;
    }
    if let Some(g) = &w.grant {
        tx.insert_grant(g)?;
    }
    for h in &w.history {
        tx.insert_history(h)?;
    }
    crate::audit::record_all_lite(tx, p, &w.events)?;
    Ok(())
}

/// [`write`] through sqlx (PostgreSQL).
async fn write_pooled(p: &Platform, w: Writes) -> Result<()> {
    let mut tx = p.store.begin().await?;
    if let Some((code, version)) = &w.entry_still
        && super::published_entry(&mut tx, code).await?.is_none_or(|e| e.version != *version)
    {
        return Err(changed_meanwhile());
    }
    if let Some(row) = &w.insert {
        store::insert_application(&mut tx, row).await?;
    }
    if let Some(g) = &w.grant {
        store::insert_grant(&mut tx, g).await?;
    }
    if let Some((new, old)) = &w.update
        && !store::update_application_if_current(&mut tx, new, &old.status, &old.data, &new.resource).await?
    {
        let published = super::published_entry(&mut tx, &new.resource).await?.is_some();
        return Err(if published { changed_meanwhile() } else { no_longer_published() });
    }
    for h in &w.history {
        store::insert_history(&mut tx, h).await?;
    }
    crate::audit::record_all(&mut tx, p, w.events).await?;
    Ok(shuqiao_store::commit_append(tx).await?)
}

/// Loads an application the caller may see (404 otherwise).
async fn load(c: &mut Conn, who: &Principal, id: &str) -> Result<Application> {
    let row = store::get_application(c, id).await?.ok_or_else(not_found)?;
    if !sees(who, &row.consumer_department, Some(&row.provider_department)) {
        return Err(not_found());
    }
    parse(&row)
}

pub(crate) async fn view(c: &mut Conn, a: Application) -> Result<ApplicationView> {
    let grant = store::grant_of_application(c, &a.id).await?;
    let history = store::history(c, &a.id).await?;
    view_of(a, grant, history)
}

fn view_of(a: Application, grant: Option<GrantRow>, history: Vec<HistoryRow>) -> Result<ApplicationView> {
    let grant = match grant {
        Some(g) => Some(grants::parse(&g)?),
        None => None,
    };
    let history = history
        .into_iter()
        .map(|h| {
            let line: Value = serde_json::from_str(&h.detail).unwrap_or(Value::Null);
            HistoryLine {
                at: h.at,
                action: h.action,
                actor: json!({"id": h.actor, "name": line["actor_name"], "department": line["department"]}),
                detail: line["detail"].clone(),
            }
        })
        .collect();
    Ok(ApplicationView { application: a, grant, history })
}

/// `GET /applications/{id}` (either side, authority).
pub async fn get(p: &Platform, who: &Principal, id: &str) -> Result<ApplicationView> {
    let mut c = p.store.reader().await?;
    let a = load(&mut c, who, id).await?;
    view(&mut c, a).await
}

/// `GET /applications?as=consumer|provider|all&status=`, newest first.
pub async fn list(
    p: &Platform,
    who: &Principal,
    as_: Option<&str>,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Application>> {
    let names: Vec<&str> = AppStatus::ALL.iter().map(|s| s.as_str()).collect();
    let q = ListQuery {
        side: super::side(who, as_, "consumer")?,
        status: super::status_filter(status, &names)?,
        after,
        limit,
    };
    let mut c = p.store.reader().await?;
    store::list_applications(&mut c, &q).await?.iter().map(parse).collect()
}

/// Loads an application for an answer by the provider's reviewer: 404 if the caller may not see it, 403 unless
/// a reviewer of the provider department.
async fn load_for_provider(c: &mut Conn, who: &Principal, id: &str) -> Result<Application> {
    let row = store::get_application(c, id).await?.ok_or_else(not_found)?;
    for_provider(who, &row)
}

/// [`load_for_provider`]'s checks on a row already read.
fn for_provider(who: &Principal, row: &ApplicationRow) -> Result<Application> {
    if !sees(who, &row.consumer_department, Some(&row.provider_department)) {
        return Err(not_found());
    }
    let a = parse(row)?;
    if !member_of(who, &a.provider.id) || !who.has(Role::Reviewer) {
        return Err(AppError::Forbidden(
            "只有提供部门的审核员可以答复申请 (only the provider's reviewers answer applications)".into(),
        ));
    }
    Ok(a)
}

fn no_longer_published() -> AppError {
    AppError::Conflict("信息资源已不再发布，不能授权 (the entry is no longer published; no grant can be given)".into())
}

/// Approves with conditions inside `c`'s transaction: creates the grant and moves the application.
async fn approve_in(
    c: &mut Conn,
    p: &Platform,
    actor: &Actor,
    a: &mut Application,
    input: &ConditionsInput,
    action: AppAction,
    now: OffsetDateTime,
) -> Result<String> {
    let from = a.status;
    let next = rules::application_next(from, a.is_final, action).map_err(conflict)?;
    if super::published_entry(c, &a.resource).await?.is_none() {
        return Err(no_longer_published());
    }
    let cond = rules::check_conditions(input, &a.items, a.valid_until, today_cn(now), &p.rules)
        .map_err(AppError::Validation)?;
    let g = grants::create(c, p, actor, a, &cond, now).await?;
    a.status = next;
    a.grant_id = Some(g.id.clone());
    a.updated_at = ts(now);
    save(c, a, from).await?;
    Ok(g.id)
}

/// `POST /applications/{id}/approve` (provider reviewer). The application is read on a reader and its entry from
/// the cache; the write transaction holds the single SQLite writer only for the writes, and its guarded update
/// re-checks that the application is still as read and the entry still published (else 409, nothing written).
pub async fn approve(p: &Platform, who: &Principal, id: &str, input: &ConditionsInput) -> Result<ApplicationView> {
    let now = p.now();
    let (row, prior) = match p.store.read_sync(|tx| Ok((tx.get_application(id)?, tx.history(id)?))) {
        Some(read) => read?,
        None => {
            let mut c = p.store.reader().await?;
            (store::get_application(&mut c, id).await?, store::history(&mut c, id).await?)
        }
    };
    let row = row.ok_or_else(not_found)?;
    let mut a = for_provider(who, &row)?;
    let next = rules::application_next(a.status, a.is_final, AppAction::Approve).map_err(conflict)?;
    if super::published_cached(p, &a.resource).await?.is_none() {
        return Err(no_longer_published());
    }
    let cond = rules::check_conditions(input, &a.items, a.valid_until, today_cn(now), &p.rules)
        .map_err(AppError::Validation)?;
    let actor = Actor::from(who);
    let (g, grant_row, grant_event) = grants::new_grant(&a, &cond, now)?;
    a.status = next;
    a.grant_id = Some(g.id.clone());
    a.updated_at = ts(now);
    let (h, approve_event) = change(p, &actor, &a, "approve", json!({"grant": g.id}))?;
    let mut w = Writes::new(a.id.clone());
    w.grant = Some(grant_row);
    w.update = Some((row_of(&a, &a.created_by.id)?, row));
    w.history.push(h);
    // Both events at the end, in the order of the changes: grant.create, then application.approve.
    w.events = vec![(actor.clone(), grant_event), (actor, approve_event)];
    w.answer = Some((a, prior));
    write(p, who, w).await
}

/// `POST /applications/{id}/refuse` (provider reviewer) with a reason and, where required, a legal basis.
pub async fn refuse(
    p: &Platform,
    who: &Principal,
    id: &str,
    reason: Option<&str>,
    legal_basis: Option<&str>,
) -> Result<ApplicationView> {
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let mut a = load_for_provider(&mut tx, who, id).await?;
    let from = a.status;
    a.status = rules::application_next(from, a.is_final, AppAction::Refuse).map_err(conflict)?;
    let r = rules::check_refusal(reason, legal_basis, &p.rules).map_err(AppError::Validation)?;
    let detail = json!({"reason": r.reason, "legal_basis": r.legal_basis});
    a.refusal = Some(Refused { reason: r.reason, legal_basis: r.legal_basis, by: "provider".into(), at: now.clone() });
    a.updated_at = now;
    save(&mut tx, &a, from).await?;
    log(&mut tx, p, &Actor::from(who), &a, "refuse", detail).await?;
    shuqiao_store::commit(tx).await?;
    get(p, who, id).await
}

/// `POST /applications/{id}/return` (provider reviewer) with a comment: back to the consumer.
pub async fn return_application(
    p: &Platform,
    who: &Principal,
    id: &str,
    comment: Option<&str>,
) -> Result<ApplicationView> {
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let mut a = load_for_provider(&mut tx, who, id).await?;
    let from = a.status;
    a.status = rules::application_next(from, a.is_final, AppAction::Return).map_err(conflict)?;
    let mut errors = Vec::new();
    let comment = rules::required_text("comment", comment, &mut errors).ok_or(AppError::Validation(errors))?;
    a.return_comment = Some(Note { text: comment.clone(), by: Person::from(who), at: now.clone() });
    a.updated_at = now;
    save(&mut tx, &a, from).await?;
    log(&mut tx, p, &Actor::from(who), &a, "return", json!({"comment": comment})).await?;
    shuqiao_store::commit(tx).await?;
    get(p, who, id).await
}

/// `POST /applications/{id}/dispute` (consumer of the applying department) after a refusal.
pub async fn dispute(p: &Platform, who: &Principal, id: &str, reason: Option<&str>) -> Result<ApplicationView> {
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let mut a = load(&mut tx, who, id).await?;
    if !member_of(who, &a.consumer.id) || !who.has(Role::Consumer) {
        return Err(AppError::Forbidden(
            "只有申请部门的数据使用人可以提出协商 (only the applying department's consumers may dispute)".into(),
        ));
    }
    let from = a.status;
    a.status = rules::application_next(from, a.is_final, AppAction::Dispute).map_err(conflict)?;
    let mut errors = Vec::new();
    let reason = rules::required_text("reason", reason, &mut errors).ok_or(AppError::Validation(errors))?;
    a.dispute = Some(Note { text: reason.clone(), by: Person::from(who), at: now.clone() });
    a.updated_at = now;
    save(&mut tx, &a, from).await?;
    log(&mut tx, p, &Actor::from(who), &a, "dispute", json!({"reason": reason})).await?;
    shuqiao_store::commit(tx).await?;
    get(p, who, id).await
}

/// `POST /applications/{id}/coordinate` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinateInput {
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub items: Option<Vec<String>>,
    pub valid_until: Option<String>,
    pub masking: Option<std::collections::BTreeMap<String, String>>,
    pub quota: Option<rules::QuotaInput>,
}

/// `POST /applications/{id}/coordinate` (authority) on a disputed application: approve with conditions, or
/// confirm the refusal. The decision is final.
pub async fn coordinate(p: &Platform, who: &Principal, id: &str, input: &CoordinateInput) -> Result<ApplicationView> {
    who.require(&[Role::Authority])?;
    let now_t = p.now();
    let now = ts(now_t);
    let mut tx = p.store.begin().await?;
    let mut a = load(&mut tx, who, id).await?;
    let from = a.status;
    if from != AppStatus::Disputed {
        return Err(conflict(rules::StateError { from: from.as_str(), action: "coordinate" }));
    }
    let mut errors = Vec::new();
    let decision = match input.decision.as_deref().map(str::trim) {
        Some("approve") => Some(AppAction::CoordinateApprove),
        Some("refuse") => Some(AppAction::CoordinateRefuse),
        _ => {
            errors.push(shuqiao_domain::FieldError::new("decision", "应为 approve 或 refuse (approve or refuse)"));
            None
        }
    };
    let reason = rules::required_text("reason", input.reason.as_deref(), &mut errors);
    let (Some(decision), Some(reason)) = (decision, reason) else { return Err(AppError::Validation(errors)) };
    let actor = Actor::from(who);
    let mut detail = json!({"decision": input.decision, "reason": reason, "final": true});
    if decision == AppAction::CoordinateApprove {
        let conditions = ConditionsInput {
            items: input.items.clone(),
            valid_until: input.valid_until.clone(),
            masking: input.masking.clone(),
            quota: input.quota.clone(),
        };
        let grant = approve_in(&mut tx, p, &actor, &mut a, &conditions, decision, now_t).await?;
        detail["grant"] = json!(grant);
    } else {
        a.status = rules::application_next(from, a.is_final, decision).map_err(conflict)?;
        let prior = a.refusal.take();
        a.refusal = Some(Refused {
            reason: reason.clone(),
            legal_basis: prior.and_then(|r| r.legal_basis),
            by: "authority".into(),
            at: now.clone(),
        });
        save(&mut tx, &a, from).await?;
    }
    a.is_final = true;
    a.coordination = Some(Coordination {
        decision: input.decision.clone().unwrap_or_default(),
        reason,
        by: Person::from(who),
        at: now.clone(),
    });
    a.updated_at = now;
    save(&mut tx, &a, a.status).await?;
    log(&mut tx, p, &actor, &a, "coordinate", detail).await?;
    shuqiao_store::commit(tx).await?;
    get(p, who, id).await
}

/// Tick: flags submitted applications past their deadline.
pub(crate) async fn mark_overdue(c: &mut Conn, p: &Platform, today: &str, actor: &Actor) -> Result<u64> {
    let rows = store::applications_newly_overdue(c, today).await?;
    for row in &rows {
        let mut a = parse(row)?;
        a.overdue = true;
        save(c, &a, AppStatus::Submitted).await?;
        let detail = json!({"deadline": a.deadline, "today": today});
        log(c, p, actor, &a, "overdue", detail).await?;
    }
    Ok(rows.len() as u64)
}
