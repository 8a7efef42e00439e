//! Catalog use cases (SPEC §4): compile, validate, submit, review, publish, version, retire, search.
//! Import and export are in [`crate::catalog_io`].

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use shuqiao_domain::FieldError;
use shuqiao_domain::codes::{ClassCode, ResourceCode};
use shuqiao_domain::entry::{Entry, EntryInput, EntrySpec, Provider, Status};
use shuqiao_domain::lifecycle::{self, Action, Transition};
use shuqiao_domain::roles::Role;
use shuqiao_domain::validate::validate_entry;
use shuqiao_search::{FacetCount, SearchQuery};
use shuqiao_store::accounts::{self, DepartmentRow};
use shuqiao_store::catalog::{self, EntryRow};
use shuqiao_store::{Conn, ts};
use time::{OffsetDateTime, UtcOffset};

use crate::audit::{Actor, AuditEvent, record};
use crate::index::{doc_key, parse_entry};
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

/// An entry as served: the entry JSON of API.md plus what the platform knows about this version.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    #[serde(flatten)]
    pub entry: Entry,
    /// The authority's comment when the version was returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub updated_at: String,
}

fn view(row: &EntryRow) -> Result<EntryView> {
    Ok(EntryView { entry: parse_entry(row)?, comment: row.comment.clone(), updated_at: row.updated_at.clone() })
}

fn not_found() -> AppError {
    AppError::NotFound("信息资源不存在 (no such catalog entry)".into())
}

/// Parses the two path segments of a resource code; anything malformed is simply not found.
pub fn parse_path_code(class: &str, seq: &str) -> Result<ResourceCode> {
    format!("{class}/{seq}").parse().map_err(|_| not_found())
}

/// The date a publication is dated with: the calendar day in China (UTC+8).
pub(crate) fn today_cn(now: OffsetDateTime) -> time::Date {
    now.to_offset(UtcOffset::from_whole_seconds(8 * 3600).unwrap_or(UtcOffset::UTC)).date()
}

fn validate(p: &Platform, input: &EntryInput) -> Result<EntrySpec> {
    validate_entry(input, &p.rules).map_err(AppError::Validation)
}

async fn department_of(c: &mut Conn, id: &str) -> Result<DepartmentRow> {
    accounts::get_department(c, id)
        .await?
        .ok_or_else(|| AppError::Forbidden("此账号所属部门不存在 (the caller's department does not exist)".into()))
}

fn provider_of(d: &DepartmentRow) -> Provider {
    Provider { id: d.id.clone(), name: d.name.clone(), credit_code: d.credit_code.clone(), unit: None }
}

/// Picks the next free sequence number of a classification.
async fn next_code(c: &mut Conn, class: ClassCode, taken: &HashSet<ResourceCode>) -> Result<ResourceCode> {
    let max = catalog::max_code(c, &class.to_string()).await?;
    let mut seq = match max.and_then(|m| m.parse::<ResourceCode>().ok()) {
        Some(code) => code.seq + 1,
        None => 1,
    };
    while taken.contains(&ResourceCode { class, seq }) {
        seq += 1;
    }
    if seq > 999_999 {
        return Err(AppError::Conflict("该分类下顺序码已用尽 (no sequence numbers left in this class)".into()));
    }
    Ok(ResourceCode { class, seq })
}

fn entry_row(entry: &Entry, department: &str, who: &str, now: &str) -> Result<EntryRow> {
    Ok(EntryRow {
        id: uuid::Uuid::new_v4().to_string(),
        code: entry.code.to_string(),
        version: i64::from(entry.version),
        department_id: department.to_owned(),
        status: entry.status.as_str().to_owned(),
        name: entry.name.clone(),
        class_code: entry.code.class.to_string(),
        data: serde_json::to_string(entry).map_err(|e| AppError::Internal(e.into()))?,
        comment: None,
        created_by: who.to_owned(),
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        published_at: None,
    })
}

/// Inserts a new entry (version 1, draft) inside `c`'s transaction. `taken` holds codes already used by the same
/// batch (import), so that assigned sequence numbers do not collide.
pub(crate) async fn insert_new(
    c: &mut Conn,
    spec: EntrySpec,
    department: &DepartmentRow,
    who: &str,
    now: &str,
    taken: &mut HashSet<ResourceCode>,
    published: Option<OffsetDateTime>,
) -> Result<EntryRow> {
    let exists =
        |code: ResourceCode| AppError::Conflict(format!("信息资源代码 {code} 已存在 (resource code already exists)"));
    let code = match spec.code {
        Some(code) if taken.contains(&code) => return Err(exists(code)),
        Some(code) => code,
        None => next_code(c, spec.class, taken).await?,
    };
    taken.insert(code);
    let status = if published.is_some() { Status::Published } else { Status::Draft };
    let mut entry = spec.into_entry(code, provider_of(department), status, 1);
    entry.published_on = published.map(today_cn);
    let mut row = entry_row(&entry, &department.id, who, now)?;
    row.published_at = published.map(ts);
    // The unique index on (code, version) is the check: no look-up before the insert.
    catalog::insert(c, &row).await.map_err(|e| match e {
        shuqiao_store::StoreError::Duplicate(_) => exists(code),
        other => other.into(),
    })?;
    Ok(row)
}

/// `POST /catalog` (cataloger): a new draft of the caller's department.
pub async fn create(p: &Platform, who: &Principal, input: &EntryInput) -> Result<EntryView> {
    who.require(&[Role::Cataloger])?;
    let spec = validate(p, input)?;
    // With only a classification code the platform picks the sequence number; a concurrent create in the same
    // class may take it first (the unique index says so), and then the next free number is picked again.
    let attempts = if spec.code.is_none() { 8 } else { 1 };
    let mut attempt = 1;
    loop {
        match create_once(p, who, spec.clone()).await {
            Err(AppError::Conflict(_)) if attempt < attempts => attempt += 1,
            result => return result,
        }
    }
}

async fn create_once(p: &Platform, who: &Principal, spec: EntrySpec) -> Result<EntryView> {
    let mut tx = p.store.begin().await?;
    let dept = department_of(&mut tx, who.department()?).await?;
    let row = insert_new(&mut tx, spec, &dept, &who.id, &ts(p.now()), &mut HashSet::new(), None).await?;
    let ev = AuditEvent::new("catalog.create", format!("entry:{}", row.code))
        .department(dept.id.clone())
        .resource(row.code.clone())
        .detail(serde_json::json!({"version": row.version, "name": row.name}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    crate::index::apply(p, std::slice::from_ref(&row), &[]).await?;
    view(&row)
}

/// The row a caller sees for a code: for the owning department and the authority the latest version, for others
/// the served one. `None` when the caller may not know the code exists.
async fn visible(c: &mut Conn, who: &Principal, code: &str) -> Result<Option<EntryRow>> {
    let Some(latest) = catalog::latest(c, code).await? else { return Ok(None) };
    if who.sees_drafts_of(&latest.department_id) {
        return Ok(Some(match catalog::working(c, code).await? {
            Some(w) => w,
            None => catalog::served(c, code).await?.unwrap_or(latest),
        }));
    }
    Ok(catalog::served(c, code).await?)
}

/// `GET /catalog/{class}/{seq}` with an optional `version`.
pub async fn get(p: &Platform, who: &Principal, code: ResourceCode, version: Option<u32>) -> Result<EntryView> {
    let mut c = p.store.reader().await?;
    let code = code.to_string();
    let row = match version {
        Some(v) => {
            let row = catalog::version(&mut c, &code, i64::from(v)).await?.ok_or_else(not_found)?;
            let public = Status::parse(&row.status).is_some_and(Status::is_public);
            if !public && !who.sees_drafts_of(&row.department_id) {
                return Err(not_found());
            }
            row
        }
        None => visible(&mut c, who, &code).await?.ok_or_else(not_found)?,
    };
    view(&row)
}

/// `GET /catalog/{class}/{seq}/versions`: every published version, oldest first.
pub async fn versions(p: &Platform, who: &Principal, code: ResourceCode) -> Result<Vec<EntryView>> {
    let mut c = p.store.reader().await?;
    let code = code.to_string();
    if visible(&mut c, who, &code).await?.is_none() {
        return Err(not_found());
    }
    catalog::public_versions(&mut c, &code).await?.iter().map(view).collect()
}

/// Loads the latest row of `code` for a state change by `who`; 404 if the caller may not know it, 403 if it may
/// know it but not act on it.
async fn load_for_change(c: &mut Conn, who: &Principal, code: &str, own_department_only: bool) -> Result<EntryRow> {
    let latest = catalog::latest(c, code).await?.ok_or_else(not_found)?;
    let public = catalog::served(c, code).await?.is_some();
    if !public && !who.sees_drafts_of(&latest.department_id) {
        return Err(not_found());
    }
    if own_department_only && who.department.as_deref() != Some(latest.department_id.as_str()) {
        return Err(AppError::Forbidden(
            "只能修改本部门的信息资源 (only the providing department may change this entry)".into(),
        ));
    }
    Ok(latest)
}

fn state_error(e: lifecycle::StateError) -> AppError {
    AppError::Conflict(e.to_string())
}

fn set_status(row: &mut EntryRow, entry: &mut Entry, status: Status, now: &str) -> Result<()> {
    entry.status = status;
    row.status = status.as_str().to_owned();
    row.name = entry.name.clone();
    row.data = serde_json::to_string(entry).map_err(|e| AppError::Internal(e.into()))?;
    row.updated_at = now.to_owned();
    Ok(())
}

async fn save(c: &mut Conn, row: &EntryRow, expected_status: &str) -> Result<()> {
    if catalog::update(c, row, expected_status).await? {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "信息资源已被他人修改，请刷新后重试 (the entry changed meanwhile; reload and retry)".into(),
        ))
    }
}

/// `PUT /catalog/{class}/{seq}` (cataloger of the providing department): edits the working draft, or opens a new
/// draft version of a published entry while the published one keeps being served.
pub async fn update(p: &Platform, who: &Principal, code: ResourceCode, input: &EntryInput) -> Result<EntryView> {
    who.require(&[Role::Cataloger])?;
    let spec = validate(p, input)?;
    let code_s = code.to_string();
    let mut errors = Vec::new();
    if spec.class != code.class {
        errors.push(FieldError::new("class", "分类不可更改 (the class is part of the code and cannot change)"));
    }
    if spec.code.is_some_and(|c| c != code) {
        errors.push(FieldError::new("code", "信息资源代码不可更改 (the resource code cannot change)"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = ts(p.now());
    let mut tx = p.store.begin().await?;
    let latest = load_for_change(&mut tx, who, &code_s, true).await?;
    let from = Status::parse(&latest.status).ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad status")))?;
    let dept = department_of(&mut tx, &latest.department_id).await?;
    let row = match lifecycle::apply(from, Action::Edit).map_err(state_error)? {
        Transition::To(status) => {
            let mut entry =
                spec.into_entry(code, provider_of(&dept), status, u32::try_from(latest.version).unwrap_or(1));
            let mut row = latest.clone();
            row.comment = None;
            set_status(&mut row, &mut entry, status, &now)?;
            save(&mut tx, &row, &latest.status).await?;
            row
        }
        Transition::NewDraftVersion => {
            let version = u32::try_from(latest.version + 1).unwrap_or(u32::MAX);
            let entry = spec.into_entry(code, provider_of(&dept), Status::Draft, version);
            let row = entry_row(&entry, &dept.id, &who.id, &now)?;
            catalog::insert(&mut tx, &row).await?;
            row
        }
    };
    let ev = AuditEvent::new("catalog.edit", format!("entry:{code_s}"))
        .department(dept.id.clone())
        .resource(code_s.clone())
        .detail(serde_json::json!({"version": row.version, "status": row.status}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    crate::index::apply(p, std::slice::from_ref(&row), &[]).await?;
    view(&row)
}

/// Applies a lifecycle action to the working version (submit, publish, return) or the served one (retire).
async fn transition(
    p: &Platform,
    who: &Principal,
    code: ResourceCode,
    action: Action,
    comment: Option<String>,
) -> Result<EntryView> {
    let code_s = code.to_string();
    let own_only = matches!(action, Action::Submit) || (action == Action::Retire && !who.has(Role::Authority));
    let now_t = p.now();
    let now = ts(now_t);
    let mut tx = p.store.begin().await?;
    let latest = load_for_change(&mut tx, who, &code_s, own_only).await?;
    let target = match action {
        Action::Retire => catalog::served(&mut tx, &code_s).await?.unwrap_or(latest),
        _ => latest,
    };
    let from = Status::parse(&target.status).ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad status")))?;
    let Transition::To(status) = lifecycle::apply(from, action).map_err(state_error)? else {
        return Err(AppError::Conflict("此操作不适用 (action not applicable)".into()));
    };
    let mut row = target.clone();
    let mut entry = parse_entry(&row)?;
    let mut current = Vec::new();
    let mut removed = Vec::new();
    if status == Status::Published {
        // The previously published version, if any, becomes history.
        if let Some(old) = catalog::served(&mut tx, &code_s).await? {
            let mut old_row = old.clone();
            let mut old_entry = parse_entry(&old)?;
            set_status(&mut old_row, &mut old_entry, Status::Superseded, &now)?;
            save(&mut tx, &old_row, &old.status).await?;
        }
        entry.published_on = Some(today_cn(now_t));
        row.published_at = Some(now.clone());
        removed.push(doc_key(&code_s, "draft"));
    }
    row.comment = comment;
    set_status(&mut row, &mut entry, status, &now)?;
    save(&mut tx, &row, &target.status).await?;
    if status == Status::Retired {
        let actor = crate::audit::Actor::from(who);
        crate::sharing::grants::suspend_for_retired_entry(&mut tx, p, &code_s, &actor).await?;
    }
    let action = match action {
        Action::Submit => "catalog.submit",
        Action::Publish => "catalog.publish",
        Action::Return => "catalog.return",
        Action::Retire => "catalog.retire",
        Action::Edit => "catalog.edit",
    };
    let ev = AuditEvent::new(action, format!("entry:{code_s}"))
        .department(row.department_id.clone())
        .resource(code_s.clone())
        .detail(serde_json::json!({"version": row.version, "from": target.status, "to": row.status, "comment": row.comment}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    current.push(row.clone());
    crate::index::apply(p, &current, &removed).await?;
    view(&row)
}

/// `POST …/submit` (cataloger of the providing department): draft or returned → submitted.
pub async fn submit(p: &Platform, who: &Principal, code: ResourceCode) -> Result<EntryView> {
    who.require(&[Role::Cataloger])?;
    transition(p, who, code, Action::Submit, None).await
}

/// `POST …/publish` (authority): submitted → published.
pub async fn publish(p: &Platform, who: &Principal, code: ResourceCode) -> Result<EntryView> {
    who.require(&[Role::Authority])?;
    transition(p, who, code, Action::Publish, None).await
}

/// `POST …/return` (authority) with a comment: submitted → returned.
pub async fn return_entry(p: &Platform, who: &Principal, code: ResourceCode, comment: &str) -> Result<EntryView> {
    who.require(&[Role::Authority])?;
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(AppError::field("comment", "退回时必须填写意见 (a comment is required when returning)"));
    }
    transition(p, who, code, Action::Return, Some(comment.to_owned())).await
}

/// `POST …/retire` (cataloger of the providing department, or authority): published → retired.
pub async fn retire(p: &Platform, who: &Principal, code: ResourceCode) -> Result<EntryView> {
    who.require(&[Role::Cataloger, Role::Authority])?;
    transition(p, who, code, Action::Retire, None).await
}

/// Query of `GET /catalog`.
#[derive(Debug, Clone, Default)]
pub struct CatalogQuery {
    pub q: Option<String>,
    pub provider: Option<String>,
    pub class: Option<String>,
    pub share_type: Option<String>,
    pub open: Option<bool>,
    pub update_cycle: Option<String>,
    pub status: Vec<String>,
    pub region: Option<String>,
    pub offset: usize,
    pub limit: usize,
    pub highlight: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchItem {
    #[serde(flatten)]
    pub entry: EntryView,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_highlight: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub items: Vec<SearchItem>,
    pub total: u64,
    pub facets: BTreeMap<String, Vec<FacetCount>>,
    /// Offset of the next page, if any (the HTTP layer turns it into an opaque cursor).
    #[serde(skip)]
    pub next_offset: Option<usize>,
}

/// `GET /catalog`: full-text search with facets. Non-public versions are visible only to their department and the
/// authority.
pub async fn search(p: &Platform, who: &Principal, q: CatalogQuery) -> Result<SearchPage> {
    let query = SearchQuery {
        text: q.q.filter(|s| !s.trim().is_empty()),
        provider: q.provider,
        class: q.class,
        share_type: q.share_type,
        open: q.open,
        update_cycle: q.update_cycle,
        status: q.status,
        region: q.region,
        viewer_department: who.department.clone(),
        restrict_non_public: !who.has(Role::Authority),
        offset: q.offset,
        limit: q.limit,
        highlight: q.highlight,
    };
    let index = p.index.clone();
    let result = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("search task: {e}")))??;
    let codes: Vec<String> = result.hits.iter().map(|h| h.code.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut c = p.store.reader().await?;
    let rows = catalog::current_by_codes(&mut c, &codes).await?;
    let by_key: HashMap<String, &EntryRow> = rows.iter().map(|r| (doc_key(&r.code, &r.status), r)).collect();
    let mut items = Vec::with_capacity(result.hits.len());
    for hit in &result.hits {
        // A hit whose row changed since it was indexed is skipped rather than shown stale.
        if let Some(row) = by_key.get(&hit.key) {
            items.push(SearchItem { entry: view(row)?, score: hit.score, name_highlight: hit.name_highlight.clone() });
        }
    }
    let end = q.offset + result.hits.len();
    let next_offset = (u64::try_from(end).unwrap_or(u64::MAX) < result.total && !result.hits.is_empty()).then_some(end);
    Ok(SearchPage { items, total: result.total, facets: result.facets, next_offset })
}
