//! Table sync (库表交换, SPEC §7): subscriptions and their delivery.
//!
//! A consumer department subscribes a table of its own node to a grant with the `sync` mode
//! (`POST /subscriptions {grant, node, target_table}`). Each active subscription has a worker with two halves
//! joined by the bus (stream `subscription:<id>`):
//!
//! - the **producer** reads the provider's table through the provider's node — a full pass in key order first
//!   (after reading the change column's high-water mark), each page a batch that also carries its key range so
//!   that rows the source no longer has are deleted; then the changes after the position by the mount's change
//!   column; and a full pass again every `sync_full_pass_every` (deletes where the source cannot tell them,
//!   repairs of anything a change column missed). Only granted items are read; they are masked per the grant
//!   before the batch is published, with the keyed hashes of the subjects it touches;
//! - the **deliverer** takes the unacknowledged batches in order, writes the audit event of each before it leaves,
//!   sends it to the consumer's node, which applies batch and checkpoint in one transaction of the target
//!   database, and then acknowledges it on the bus.
//!
//! A crash anywhere repeats at most the batches after the consumer's checkpoint, which the node's checkpoint makes
//! idempotent; a producer that loses its position reads the same rows again, which upserts and key-range deletes
//! absorb. Delivery stops at once when the grant is suspended, revoked or expired, or the subscription paused;
//! items no longer granted are dropped from the target.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shuqiao_domain::FieldError;
use shuqiao_domain::codes::ResourceCode;
use shuqiao_domain::entry::{Entry, Mode};
use shuqiao_domain::masking::{SubjectHasher, SubjectKind, mask_value, subject_kind_of_item};
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{GrantStatus, MaskRule};
use shuqiao_exchange::{FailCode, Filter, KeyRange, POSITION_COLUMN, Reply, Request, SyncColumn};
use shuqiao_store::sync::{self as store, BatchRow, SubscriptionRow};
use shuqiao_store::ts;

use super::mounts::{Mount, Serving, serving_state};
use super::registry::{NodeError, Pending};
use crate::audit::{Actor, AuditEvent, record};
use crate::platform::Principal;
use crate::sharing::grants::GrantView;
use crate::sharing::{member_of, sees};
use crate::{AppError, Platform, Result};

pub const ACTIVE: &str = "active";
pub const PAUSED: &str = "paused";
pub const CANCELLED: &str = "cancelled";

/// Batches published and not yet applied before the producer waits for the consumer.
const MAX_PENDING: u64 = 5;
/// Batches sent to the consumer's node and not yet answered, at most (it applies them in order).
const WINDOW: usize = 2;
/// Batches whose audit events are appended ahead of their delivery, at most.
const AUDIT_AHEAD: u64 = 2;

/// Audit appends started ahead, by batch.
type Audits = BTreeMap<u64, tokio::task::JoinHandle<Result<i64>>>;
/// How long a consumer's node may take to apply one batch.
const APPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// `POST /subscriptions` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    pub grant: Option<String>,
    pub node: Option<String>,
    pub target_table: Option<String>,
}

/// One subscribed item: the target column is the item's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncItem {
    pub item: String,
    /// The provider's source column.
    pub column: String,
    pub data_type: String,
    pub length: Option<u32>,
    pub mask: MaskRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the whole table: in key order, or (the first pass, see [`Progress::stored`]) in storage order.
    #[default]
    Full,
    /// Reading the rows changed after a position.
    Changes,
}

/// Where the producer stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub phase: Phase,
    /// Full passes finished.
    pub passes: u64,
    /// Full pass: the last key read (`None`: the pass starts at the beginning).
    pub after: Option<Vec<Value>>,
    /// Full pass: the change column's high-water mark read before the pass began (`None` until read).
    pub watermark: Option<Value>,
    /// Full pass in the source table's storage order (`scan_stored`) rather than key order: the first pass of a
    /// subscription with a change column (the rows changed while it ran — some of which it cannot see, or sees
    /// twice — are read again from the high-water mark on). Its first page empties the target; deletes are
    /// reconciled by the later passes, in key order.
    #[serde(default)]
    pub stored: bool,
    /// Full pass in storage order: the position of the last row read (`None`: the pass starts at the beginning).
    #[serde(default)]
    pub position: Option<String>,
    /// The provider's node cannot read this table in storage order: every pass is in key order.
    #[serde(default)]
    pub key_order: bool,
    pub pass_started_at: Option<String>,
    /// Changes: the last position read, `[change value, key values…]` (or `[change value]`: from that value on).
    pub change_after: Option<Vec<Value>>,
    pub last_full_at: Option<String>,
    /// When the producer last found nothing newer at the provider.
    pub caught_up_at: Option<String>,
}

/// What a subscription keeps besides its indexed columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Data {
    pub items: Vec<SyncItem>,
    /// The key items (the mount's key columns), in key order.
    pub key_items: Vec<String>,
    pub change_column: Option<String>,
    pub progress: Progress,
    /// Items dropped from the target since the last batch (sent with the next one).
    #[serde(default)]
    pub dropped: Vec<String>,
    pub applied_seq: u64,
    pub applied_at: Option<String>,
    pub rows_upserted: u64,
    pub rows_deleted: u64,
    /// Why delivery is held (grant not usable, mount not ready), if it is.
    pub held: Option<String>,
    /// Recalls and corrections not yet sent.
    #[serde(default)]
    pub corrections: Vec<Correction>,
}

/// Records to read again and send (a recall, or a confirmed objection's correction), queued durably.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// `recall` or `correction`.
    pub kind: String,
    /// Key values, in key order.
    pub keys: Vec<Vec<Value>>,
    pub reason: String,
}

/// A batch as published on the bus (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// `full`, `changes`, `recall` or `schema`.
    pub kind: String,
    /// Item names, the target's columns.
    pub columns: Vec<String>,
    pub upserts: Vec<Vec<Value>>,
    pub deletes: Vec<Vec<Value>>,
    pub range: Option<KeyRange>,
    /// The rows are expected to be new to the target (a page of a pass in storage order after its first).
    #[serde(default)]
    pub fresh: bool,
    pub drop_columns: Vec<String>,
    pub subjects: Vec<String>,
    pub read_at: String,
    /// Recall: the provider's reason.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lag {
    /// Rows read from the provider and not yet applied by the consumer.
    pub rows: i64,
    /// Age of the oldest such row's batch, or time since the provider was last found caught up.
    pub seconds: i64,
    pub batches: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionView {
    pub id: String,
    pub grant: String,
    pub consumer: String,
    pub provider: String,
    pub resource: String,
    pub node: String,
    pub target_table: String,
    pub state: String,
    pub items: Vec<String>,
    pub key_items: Vec<String>,
    pub phase: Phase,
    pub full_passes: u64,
    /// The last batch the consumer's node applied.
    pub checkpoint: u64,
    /// The last batch published.
    pub published: u64,
    pub lag: Lag,
    pub rows_upserted: u64,
    pub rows_deleted: u64,
    pub last_applied_at: Option<String>,
    pub caught_up_at: Option<String>,
    pub last_full_pass_at: Option<String>,
    /// Why delivery is held, if it is (e.g. the grant is suspended).
    pub held: Option<String>,
    pub last_error: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchView {
    pub seq: i64,
    pub kind: String,
    pub upserts: i64,
    pub deletes: i64,
    pub checksum: String,
    /// Provenance: read from the provider's node, published on the platform's bus, applied by the consumer's node.
    pub provider: String,
    pub consumer: String,
    pub read_at: String,
    pub published_at: String,
    pub applied_at: Option<String>,
}

fn not_found() -> AppError {
    AppError::NotFound("订阅不存在 (no such subscription)".into())
}

pub fn stream(id: &str) -> String {
    format!("subscription:{id}")
}

fn parse(row: &SubscriptionRow) -> Result<Data> {
    crate::sharing::from_json("subscription", &row.data)
}

fn to_text(d: &Data) -> Result<String> {
    serde_json::to_string(d).map_err(|e| AppError::Internal(e.into()))
}

async fn view(p: &Platform, row: SubscriptionRow) -> Result<SubscriptionView> {
    let d = parse(&row)?;
    let state = p.bus.state(&stream(&row.id)).await?;
    let (rows, oldest) = {
        let mut c = p.store.reader().await?;
        store::unapplied(&mut c, &row.id).await?
    };
    let now = p.now();
    let age = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
            .map(|t| (now - t).whole_seconds().max(0))
    };
    // Seconds since the oldest row not yet applied was read; before the first batch, since the subscription began.
    let seconds = match age(&oldest) {
        Some(s) if rows > 0 => s,
        _ if d.applied_seq == 0 && row.state == ACTIVE => age(&Some(row.created_at.clone())).unwrap_or(0),
        _ => 0,
    };
    Ok(SubscriptionView {
        id: row.id,
        grant: row.grant_id,
        consumer: row.consumer,
        provider: row.provider,
        resource: row.resource,
        node: row.node,
        target_table: row.target_table,
        state: row.state,
        items: d.items.iter().map(|i| i.item.clone()).collect(),
        key_items: d.key_items.clone(),
        phase: d.progress.phase,
        full_passes: d.progress.passes,
        checkpoint: d.applied_seq,
        published: state.last,
        lag: Lag { rows, seconds, batches: state.last.saturating_sub(d.applied_seq) },
        rows_upserted: d.rows_upserted,
        rows_deleted: d.rows_deleted,
        last_applied_at: d.applied_at,
        caught_up_at: d.progress.caught_up_at,
        last_full_pass_at: d.progress.last_full_at,
        held: d.held,
        last_error: row.last_error,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// `[schema.]table`: letters, digits and underscores, not starting with a digit, at most 63 characters each.
fn valid_table(name: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !s.as_bytes()[0].is_ascii_digit()
    };
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2 && parts.iter().all(|p| part(p)) && !name.to_ascii_lowercase().starts_with("shuqiao_")
}

fn usable(g: &GrantView, today: time::Date) -> std::result::Result<(), String> {
    if g.status != GrantStatus::Active {
        return Err(format!(
            "授权状态为 {}，暂停交付 (the grant is {}; delivery is held)",
            g.status.as_str(),
            g.status.as_str()
        ));
    }
    if g.valid_until < today {
        return Err(format!(
            "授权已于 {} 到期，暂停交付 (the grant expired on {}; delivery is held)",
            g.valid_until, g.valid_until
        ));
    }
    if !g.modes.contains(&Mode::Sync) {
        return Err("授权不包含 sync 方式 (the grant does not allow the `sync` mode)".into());
    }
    Ok(())
}

async fn grant_of(p: &Platform, id: &str) -> Result<Option<GrantView>> {
    let mut c = p.store.reader().await?;
    match shuqiao_store::sharing::get_grant(&mut c, id).await? {
        Some(row) => Ok(Some(crate::sharing::grants::parse(&row)?)),
        None => Ok(None),
    }
}

/// The subscribed items of a grant on a mount: granted, mapped by the mount; the key items first checked.
fn items_of(entry: &Entry, g: &GrantView, mount: &Mount) -> Result<(Vec<SyncItem>, Vec<String>)> {
    let mut errors = Vec::new();
    let by_column: BTreeMap<&str, &str> = mount.column_map.iter().map(|(i, c)| (c.as_str(), i.as_str())).collect();
    let mut key_items = Vec::new();
    for k in &mount.key_columns {
        match by_column.get(k.as_str()) {
            Some(item) if g.items.iter().any(|i| i == item) => {
                let rule = g.masking.get(*item).copied().unwrap_or(MaskRule::None);
                if rule != MaskRule::None {
                    errors.push(FieldError::new(
                        "grant",
                        format!(
                            "主键信息项“{item}”被脱敏，无法按主键同步 (the key item “{item}” is masked; a synced table is keyed by unmasked key items)"
                        ),
                    ));
                }
                key_items.push((*item).to_owned());
            }
            Some(item) => errors.push(FieldError::new(
                "grant",
                format!("授权不包含主键信息项“{item}”，无法按主键同步 (the grant lacks the key item “{item}”)"),
            )),
            None => errors.push(FieldError::new(
                "grant",
                format!("挂接的主键列 {k} 未对应信息项 (the mount's key column {k} maps to no item)"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut items = Vec::new();
    for it in &entry.items {
        if !g.items.contains(&it.name) {
            continue;
        }
        let Some(column) = mount.column_map.get(&it.name) else { continue };
        let data_type = serde_json::to_value(it.data_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "C".to_owned());
        items.push(SyncItem {
            item: it.name.clone(),
            column: column.clone(),
            data_type,
            length: (it.length > 0).then_some(it.length),
            mask: g.masking.get(&it.name).copied().unwrap_or(MaskRule::None),
        });
    }
    Ok((items, key_items))
}

/// `POST /subscriptions` (the consumer department's staff).
pub async fn create(p: &Platform, who: &Principal, input: SubscriptionInput) -> Result<SubscriptionView> {
    who.require(&[Role::Consumer, Role::DepartmentAdmin])?;
    let department = who.department()?.to_owned();
    let mut errors = Vec::new();
    let grant_id = input.grant.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if grant_id.is_empty() {
        errors.push(FieldError::new("grant", "请指定授权 (grant is required)"));
    }
    let node_id = input.node.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if node_id.is_empty() {
        errors.push(FieldError::new("node", "请指定本部门的前置节点 (node is required)"));
    }
    let target = input.target_table.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if !valid_table(&target) {
        errors.push(FieldError::new(
            "target_table",
            "目标表名应为字母、数字、下划线（可带模式名），不以数字或 shuqiao_ 开头 (target_table: [schema.]name of letters, digits and underscores, not starting with a digit or shuqiao_)",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = p.now();
    let mut tx = p.store.begin().await?;
    let grant_row = shuqiao_store::sharing::get_grant(&mut tx, &grant_id).await?;
    let g = match grant_row {
        Some(row) if row.consumer_department == department => crate::sharing::grants::parse(&row)?,
        _ => {
            return Err(AppError::Validation(vec![FieldError::new(
                "grant",
                "授权不存在或不属于本部门 (no such grant of your department)",
            )]));
        }
    };
    if let Err(why) = usable(&g, crate::catalog::today_cn(now)) {
        return Err(AppError::Conflict(why));
    }
    let node = shuqiao_store::exchange::get_node(&mut tx, &node_id).await?;
    match node {
        Some(n) if n.department == department && n.status == super::nodes::ACTIVE => {}
        _ => {
            return Err(AppError::Validation(vec![FieldError::new(
                "node",
                "前置节点不存在、已吊销或不属于本部门 (no such active node of your department)",
            )]));
        }
    }
    let entry = crate::sharing::published_entry(&mut tx, &g.resource)
        .await?
        .ok_or_else(|| AppError::Conflict("信息资源已不再发布 (the entry is no longer published)".into()))?;
    let mount = match serving_state(&mut tx, &g.resource).await? {
        Serving::Ready(m) if m.kind == "table" => m,
        Serving::Ready(_) => {
            return Err(AppError::Conflict(
                "该信息资源挂接的不是库表，不能订阅 (the entry's mount is not a table; nothing to subscribe)".into(),
            ));
        }
        other => return Err(other.refusal()),
    };
    let (items, key_items) = items_of(&entry, &g, &mount)?;
    if let Some(other) = store::live_on_target(&mut tx, &node_id, &target).await? {
        return Err(AppError::Conflict(format!(
            "该节点的目标表已有订阅 {other} 在写入 (subscription {other} already writes this table on this node)"
        )));
    }
    let data = Data { items, key_items, change_column: mount.change_column.clone(), ..Data::default() };
    let at = ts(now);
    let row = SubscriptionRow {
        id: uuid::Uuid::new_v4().to_string(),
        grant_id: g.id.clone(),
        consumer: department.clone(),
        provider: g.provider.id.clone(),
        resource: g.resource.clone(),
        node: node_id,
        target_table: target,
        state: ACTIVE.into(),
        data: to_text(&data)?,
        last_error: None,
        created_by: who.id.clone(),
        created_at: at.clone(),
        updated_at: at,
    };
    store::insert(&mut tx, &row).await?;
    let ev = AuditEvent::new("sync.subscribe", format!("subscription:{}", row.id))
        .department(department)
        .resource(row.resource.clone())
        .purpose(format!("{}: {}", shuqiao_domain::entry::api_str(&g.purpose.kind).unwrap_or_default(), g.purpose.text))
        .detail(json!({"grant": g.id, "node": row.node, "target_table": row.target_table,
                       "items": data.items.iter().map(|i| &i.item).collect::<Vec<_>>()}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    p.sync.wake();
    view(p, row).await
}

async fn visible(p: &Platform, who: &Principal, id: &str) -> Result<SubscriptionRow> {
    let mut c = p.store.reader().await?;
    let row = store::get(&mut c, id).await?.ok_or_else(not_found)?;
    if !sees(who, &row.consumer, Some(&row.provider)) {
        return Err(not_found());
    }
    Ok(row)
}

/// `GET /subscriptions/{id}`: the consumer, the provider and the authority.
pub async fn get(p: &Platform, who: &Principal, id: &str) -> Result<SubscriptionView> {
    let row = visible(p, who, id).await?;
    view(p, row).await
}

/// `GET /subscriptions`: the caller's department's (as consumer or provider); every one for the authority.
pub async fn list(p: &Platform, who: &Principal, after: Option<&str>, limit: i64) -> Result<Vec<SubscriptionView>> {
    let department = if who.has(Role::Authority) { None } else { Some(who.department()?) };
    let rows = {
        let mut c = p.store.reader().await?;
        store::list(&mut c, department, after, limit).await?
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(view(p, r).await?);
    }
    Ok(out)
}

/// `GET /subscriptions/{id}/batches`: provenance of each batch.
pub async fn batches(p: &Platform, who: &Principal, id: &str, after: i64, limit: i64) -> Result<Vec<BatchView>> {
    let row = visible(p, who, id).await?;
    let mut c = p.store.reader().await?;
    let rows = store::batches(&mut c, id, after, limit.clamp(1, 1000)).await?;
    Ok(rows
        .into_iter()
        .map(|b| BatchView {
            seq: b.seq,
            kind: b.kind,
            upserts: b.upserts,
            deletes: b.deletes,
            checksum: b.checksum,
            provider: row.provider.clone(),
            consumer: row.consumer.clone(),
            read_at: b.read_at,
            published_at: b.published_at,
            applied_at: b.applied_at,
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    Cancel,
}

/// `POST /subscriptions/{id}/pause|resume|cancel` (the consumer's staff; the authority).
pub async fn act(p: &Platform, who: &Principal, id: &str, action: Action) -> Result<SubscriptionView> {
    let mut tx = p.store.begin().await?;
    let row = store::get_for_update(&mut tx, id).await?.ok_or_else(not_found)?;
    if !sees(who, &row.consumer, Some(&row.provider)) {
        return Err(not_found());
    }
    let staff = member_of(who, &row.consumer) && (who.has(Role::Consumer) || who.has(Role::DepartmentAdmin));
    if !staff && !who.has(Role::Authority) {
        return Err(AppError::Forbidden(
            "只有订阅部门的人员或共享主管部门可以变更订阅 (only the subscribing department or the authority)".into(),
        ));
    }
    let next = match (action, row.state.as_str()) {
        (Action::Pause, ACTIVE) => PAUSED,
        (Action::Resume, PAUSED) => ACTIVE,
        (Action::Cancel, ACTIVE | PAUSED) => CANCELLED,
        (_, from) => {
            return Err(AppError::Conflict(format!("订阅状态为 {from}，不能执行该操作 (the subscription is {from})")));
        }
    };
    let at = ts(p.now());
    store::set_state(&mut tx, id, next, &at).await?;
    let name = match action {
        Action::Pause => "sync.pause",
        Action::Resume => "sync.resume",
        Action::Cancel => "sync.cancel",
    };
    let ev = AuditEvent::new(name, format!("subscription:{id}"))
        .department(row.consumer.clone())
        .resource(row.resource.clone())
        .detail(json!({"from": row.state, "to": next}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    if next != ACTIVE {
        p.sync.stop(id);
    }
    if next == CANCELLED {
        // Undelivered batches of a cancelled subscription are never sent: drop them.
        p.bus.delete(&stream(id)).await?;
    }
    p.sync.wake();
    get(p, who, id).await
}

/// `POST /catalog/{class}/{seq}/recall` as sent: the keys of the erroneous records (key item → value, one map per
/// record), or none to withdraw everything delivered (a full pass is sent again).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecallInput {
    pub keys: Option<Vec<BTreeMap<String, Value>>>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecallView {
    pub resource: String,
    pub subscriptions: Vec<String>,
    pub records: usize,
    pub reason: String,
}

/// `POST /catalog/{class}/{seq}/recall` (召回, the provider's reviewers and administrators): the named records
/// are read again from the source and sent to every live subscription of the resource as a correction (rows the
/// source no longer has are deleted); without keys, every subscription reads the whole table again. The recall is
/// queued on each subscription in the transaction that audits it, so that it reaches every subscriber even when
/// a node is offline now.
pub async fn recall(p: &Platform, who: &Principal, code: ResourceCode, input: RecallInput) -> Result<RecallView> {
    who.require(&[Role::Reviewer, Role::DepartmentAdmin])?;
    let department = who.department()?.to_owned();
    let resource = code.to_string();
    let mut errors = Vec::new();
    let reason = input.reason.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if reason.is_empty() {
        errors.push(FieldError::new("reason", "请说明召回原因 (reason is required)"));
    }
    let keys = input.keys.unwrap_or_default();
    if keys.len() > 1000 {
        errors.push(FieldError::new("keys", "一次最多召回1000条记录 (at most 1000 records per recall)"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = p.store.begin().await?;
    crate::sharing::published_entry(&mut tx, &resource).await?.filter(|e| e.provider.id == department).ok_or_else(
        || AppError::NotFound("信息资源不存在或不由本部门提供 (no such entry of your department)".into()),
    )?;
    let mount = match serving_state(&mut tx, &resource).await? {
        Serving::Ready(m) if m.kind == "table" => m,
        _ => {
            return Err(AppError::Conflict("该信息资源没有可用的库表挂接 (the entry has no ready table mount)".into()));
        }
    };
    let key_items = key_items_of(&mount);
    let mut key_values = Vec::with_capacity(keys.len());
    for (n, k) in keys.iter().enumerate() {
        if k.len() != key_items.len() || key_items.iter().any(|i| !k.contains_key(i)) {
            errors.push(FieldError::new(
                format!("keys[{n}]"),
                format!("每条记录应给出且只给出主键信息项：{} (name exactly the key items)", key_items.join("、")),
            ));
            continue;
        }
        key_values.push(key_items.iter().map(|i| k.get(i).cloned().unwrap_or(Value::Null)).collect::<Vec<_>>());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let correction = Correction { kind: "recall".into(), keys: key_values, reason: reason.clone() };
    let done = queue_correction(&mut tx, p, &resource, &correction, keys.is_empty()).await?;
    let ev = AuditEvent::new("sync.recall", format!("entry:{resource}"))
        .department(department)
        .resource(resource.clone())
        .detail(json!({"reason": reason, "records": keys.len(), "whole": keys.is_empty(), "subscriptions": done}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    p.sync.wake();
    Ok(RecallView { resource, subscriptions: done, records: keys.len(), reason })
}

/// The items of a mount's key columns, in key order.
fn key_items_of(mount: &Mount) -> Vec<String> {
    mount
        .key_columns
        .iter()
        .filter_map(|k| mount.column_map.iter().find(|(_, col)| *col == k).map(|(i, _)| i.clone()))
        .collect()
}

/// Queues a correction on every live subscription of `resource` (inside the caller's transaction); `whole`: a
/// new full pass instead. Returns the subscriptions.
async fn queue_correction(
    c: &mut shuqiao_store::Conn,
    p: &Platform,
    resource: &str,
    correction: &Correction,
    whole: bool,
) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let at = ts(p.now());
    for id in store::live_of_resource(c, resource).await? {
        let Some(row) = store::get_for_update(c, &id).await? else { continue };
        let mut d = parse(&row)?;
        if whole {
            d.progress.phase = Phase::Full;
            d.progress.after = None;
            d.progress.watermark = None;
            d.progress.pass_started_at = None;
            d.progress.stored = false;
            d.progress.position = None;
        } else {
            d.corrections.push(correction.clone());
        }
        store::set_data(c, &id, &to_text(&d)?, row.last_error.as_deref(), &at).await?;
        done.push(id);
    }
    Ok(done)
}

/// A confirmed objection (校核纠错) about the record `record_key` of `resource`: its corrected row flows to every
/// live subscription like a recall (single-column keys; called inside the answer's transaction).
pub(crate) async fn objection_corrected(
    c: &mut shuqiao_store::Conn,
    p: &Platform,
    resource: &str,
    record_key: &str,
    objection: &str,
) -> Result<Vec<String>> {
    if !matches!(serving_state(c, resource).await?, Serving::Ready(m) if m.kind == "table" && m.key_columns.len() == 1)
    {
        return Ok(Vec::new());
    }
    let correction = Correction {
        kind: "correction".into(),
        keys: vec![vec![Value::String(record_key.trim().to_owned())]],
        reason: format!("objection:{objection}"),
    };
    queue_correction(c, p, resource, &correction, false).await
}

/// The named records as the source has them now: upserts for those it has, deletes for the rest.
async fn correction_batch(p: &Platform, mount: &Mount, d: &Data, corr: &Correction) -> Result<Batch> {
    let (source, table) = mount.table();
    let asked: Vec<String> = d.items.iter().map(|i| i.column.clone()).collect();
    let key_cols: Vec<String> =
        d.key_items.iter().filter_map(|k| d.items.iter().find(|i| &i.item == k).map(|i| i.column.clone())).collect();
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    let mut subjects = BTreeSet::new();
    let key = p.subject_key.bytes();
    for k in &corr.keys {
        let filters: Vec<Filter> = key_cols
            .iter()
            .zip(k)
            .map(|(col, v)| Filter { column: col.clone(), value: shuqiao_domain::masking::value_text(v) })
            .collect();
        let req = Request::Query {
            source: source.clone(),
            table: table.clone(),
            columns: asked.clone(),
            key_columns: mount.key_columns.clone(),
            filters,
            after: None,
            limit: 2,
        };
        let reply = ask(p, &mount.node, req, p.config.node_timeout).await?;
        let rows = checked_rows(reply, &asked, 2, false)?;
        match rows.into_iter().next() {
            Some(row) => upserts.push(mask_row(d, &item_kinds(d), key, &SubjectHasher::new(key), row, &mut subjects)),
            None => deletes.push(k.clone()),
        }
    }
    Ok(Batch {
        kind: corr.kind.clone(),
        columns: d.items.iter().map(|i| i.item.clone()).collect(),
        upserts,
        deletes,
        range: None,
        fresh: false,
        drop_columns: Vec::new(),
        subjects: subjects.into_iter().collect(),
        read_at: ts(p.now()),
        reason: Some(corr.reason.clone()),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Delivery

/// The running workers, one per active subscription.
#[derive(Default)]
pub struct Workers {
    running: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
    wake: tokio::sync::Notify,
}

impl Workers {
    /// Asks the supervisor to look at the subscriptions now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops a subscription's worker at once (paused, cancelled, grant withdrawn).
    pub fn stop(&self, id: &str) {
        if let Ok(mut r) = self.running.lock()
            && let Some(h) = r.remove(id)
        {
            h.abort();
        }
    }

    pub fn stop_all(&self) {
        if let Ok(mut r) = self.running.lock() {
            for (_, h) in r.drain() {
                h.abort();
            }
        }
    }
}

/// Starts a worker for every active subscription that has none; runs until `stop` completes.
pub async fn supervise(p: Platform, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        if let Err(e) = start_workers(&p).await {
            tracing::warn!(error = %e, "could not look at the subscriptions");
        }
        tokio::select! {
            () = &mut stop => break,
            () = p.sync.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
    p.sync.stop_all();
}

async fn start_workers(p: &Platform) -> Result<()> {
    let ids = {
        let mut c = p.store.reader().await?;
        store::ids_in_state(&mut c, ACTIVE).await?
    };
    let Ok(mut running) = p.sync.running.lock() else { return Ok(()) };
    running.retain(|id, h| {
        let keep = !h.is_finished() && ids.contains(id);
        if !keep {
            h.abort();
        }
        keep
    });
    for id in ids {
        if !running.contains_key(&id) {
            let (pp, sid) = (p.clone(), id.clone());
            running.insert(id, tokio::spawn(async move { worker(pp, sid).await }));
        }
    }
    Ok(())
}

/// Batches the producer published, handed to the deliverer in memory (by sequence number) so that it need not
/// read and parse them back from the bus; after a restart, or when one is missing, the bus is read.
#[derive(Default)]
struct Handoff(Mutex<BTreeMap<u64, (Batch, String)>>);

impl Handoff {
    fn put(&self, seq: u64, batch: Batch, checksum: String) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(seq, (batch, checksum));
        }
    }
    /// `f` of the batch `seq` (and its checksum), if it is here.
    fn peek<T>(&self, seq: u64, f: impl FnOnce(&Batch, &str) -> T) -> Option<T> {
        let m = self.0.lock().ok()?;
        m.get(&seq).map(|(b, sum)| f(b, sum))
    }

    /// The batch `seq`, forgetting it and every earlier one.
    fn take(&self, seq: u64) -> Option<(Batch, String)> {
        let mut m = self.0.lock().ok()?;
        let found = m.remove(&seq);
        m.retain(|k, _| *k > seq);
        found
    }
}

/// The producer's read of the next page of a full pass, started before the current page is published; used
/// only if the next step asks exactly that (else dropped).
#[derive(Default)]
struct Prefetch(Mutex<Option<(Request, tokio::task::JoinHandle<Result<Reply>>)>>);

impl Prefetch {
    fn put(&self, req: Request, h: tokio::task::JoinHandle<Result<Reply>>) {
        if let Ok(mut slot) = self.0.lock()
            && let Some((_, old)) = slot.replace((req, h))
        {
            old.abort();
        }
    }
    fn take(&self, req: &Request) -> Option<tokio::task::JoinHandle<Result<Reply>>> {
        let (asked, h) = self.0.lock().ok()?.take()?;
        if &asked == req {
            Some(h)
        } else {
            h.abort();
            None
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.0.lock()
            && let Some((_, h)) = slot.take()
        {
            h.abort();
        }
    }
}

/// Why a step did not run.
enum Hold {
    /// The subscription is no longer active: the worker ends.
    Stop,
    /// Nothing to do now.
    Idle,
}

async fn worker(p: Platform, id: String) {
    tracing::info!(subscription = %id, "sync worker started");
    // Each half wakes the other: a published batch wakes the deliverer, an applied one the producer.
    let (to_deliver, to_produce) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
    let handoff = Handoff::default();
    let produce = half(&p, &id, &to_produce, &to_deliver, &handoff, Half::Produce);
    let deliver = half(&p, &id, &to_deliver, &to_produce, &handoff, Half::Deliver);
    tokio::join!(produce, deliver);
    tracing::info!(subscription = %id, "sync worker stopped");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Produce,
    Deliver,
}

async fn half(
    p: &Platform,
    id: &str,
    mine: &tokio::sync::Notify,
    other: &tokio::sync::Notify,
    handoff: &Handoff,
    which: Half,
) {
    let mut failures: u32 = 0;
    let mut delivery = Delivery::default();
    let prefetch = Prefetch::default();
    loop {
        let step = match which {
            Half::Produce => produce(p, id, handoff, &prefetch).await,
            Half::Deliver => deliver(p, id, &mut delivery, handoff).await,
        };
        match step {
            Ok(None) => {
                failures = 0;
                other.notify_one();
            }
            Ok(Some(Hold::Stop)) => {
                other.notify_one();
                return;
            }
            Ok(Some(Hold::Idle)) => {
                failures = 0;
                tokio::select! {
                    () = mine.notified() => {}
                    () = tokio::time::sleep(p.config.sync_poll) => {}
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let message = e.to_string();
                tracing::warn!(subscription = %id, half = ?which, error = %message, "sync step failed");
                if let Ok(mut tx) = p.store.begin().await
                    && store::set_error(&mut tx, id, Some(&message)).await.is_ok()
                {
                    let _ = shuqiao_store::commit_append(tx).await;
                }
                let backoff = Duration::from_millis(200u64.saturating_mul(1 << failures.min(5)));
                tokio::time::sleep(backoff.min(Duration::from_secs(5))).await;
            }
        }
    }
}

/// The subscription if it is active, with its data.
async fn load(p: &Platform, id: &str) -> Result<Option<(SubscriptionRow, Data)>> {
    let mut c = p.store.reader().await?;
    match store::get(&mut c, id).await? {
        Some(row) if row.state == ACTIVE => {
            let d = parse(&row)?;
            Ok(Some((row, d)))
        }
        _ => Ok(None),
    }
}

/// Checks the grant and the mount; records why delivery is held when it is. `Ok(None)`: held.
async fn ready(p: &Platform, row: &SubscriptionRow, d: &Data) -> Result<Option<(GrantView, Arc<Mount>)>> {
    let today = crate::catalog::today_cn(p.now());
    let held = match grant_of(p, &row.grant_id).await? {
        None => Err("授权不存在 (the grant no longer exists)".to_owned()),
        Some(g) => match usable(&g, today) {
            Err(why) => Err(why),
            Ok(()) => {
                let mut c = p.store.reader().await?;
                match serving_state(&mut c, &row.resource).await? {
                    Serving::Ready(m) if m.kind == "table" => Ok((g, m)),
                    other => Err(other.refusal().to_string()),
                }
            }
        },
    };
    let why = held.as_ref().err().cloned();
    if why != d.held {
        let mut fresh = d.clone();
        fresh.held = why;
        let mut tx = p.store.begin().await?;
        // Re-read inside the transaction: the other half may have moved on.
        if let Some(cur) = store::get_for_update(&mut tx, &row.id).await? {
            let mut cur_d = parse(&cur)?;
            cur_d.held = fresh.held.clone();
            store::set_data(&mut tx, &row.id, &to_text(&cur_d)?, cur.last_error.as_deref(), &ts(p.now())).await?;
        }
        shuqiao_store::commit(tx).await?;
    }
    Ok(held.ok())
}

/// Applies `f` to the subscription's data in one transaction (the two halves write different parts).
async fn update(p: &Platform, id: &str, clear_error: bool, f: impl FnOnce(&mut Data)) -> Result<()> {
    let mut tx = p.store.begin().await?;
    let Some(cur) = store::get_for_update(&mut tx, id).await? else { return Ok(()) };
    let mut d = parse(&cur)?;
    f(&mut d);
    let err = if clear_error { None } else { cur.last_error.clone() };
    store::set_data(&mut tx, id, &to_text(&d)?, err.as_deref(), &ts(p.now())).await?;
    shuqiao_store::commit_append(tx).await?;
    Ok(())
}

async fn ask(p: &Platform, node: &str, req: Request, timeout: Duration) -> Result<Reply> {
    refusal(p.nodes.request(node, req, timeout).await)
}

/// A provider's reply, its failure as an error.
fn refusal(reply: std::result::Result<Reply, NodeError>) -> Result<Reply> {
    match reply {
        Ok(Reply::Failed { code, message }) => {
            let code_s = shuqiao_domain::entry::api_str(&code).unwrap_or_default();
            Err(match code {
                FailCode::BadRequest | FailCode::UnknownColumn | FailCode::UnknownTable => {
                    AppError::BadGateway(format!("节点拒绝了请求 (the node refused: {code_s}: {message})"))
                }
                _ => AppError::BadGateway(format!("节点无法完成请求 (the node failed: {code_s}: {message})")),
            })
        }
        Ok(reply) => Ok(reply),
        Err(e) => Err(super::mounts::node_error(e)),
    }
}

/// A reply of the consumer's node: its absence or silence named as the consumer's.
fn consumer_reply(reply: std::result::Result<Reply, NodeError>) -> Result<Reply> {
    match reply {
        Err(NodeError::Offline) => Err(AppError::Unavailable(
            "订阅部门的前置节点未连接 (the consumer's node is offline; delivery resumes when it reconnects)".into(),
        )),
        Err(NodeError::Timeout) => {
            Err(AppError::GatewayTimeout("订阅部门的前置节点未及时应答 (the consumer's node timed out)".into()))
        }
        Ok(Reply::Failed { code, message }) => {
            let code = shuqiao_domain::entry::api_str(&code).unwrap_or_default();
            Err(AppError::BadGateway(format!(
                "订阅部门的前置节点未能应用批次 (the consumer's node failed: {code}: {message})"
            )))
        }
        Ok(reply) => Ok(reply),
        Err(e) => Err(super::mounts::node_error(e)),
    }
}

/// Rows of a reply: exactly the asked columns (plus the change column when `change`), at most `limit`, none ragged.
fn checked_rows(reply: Reply, asked: &[String], limit: u32, change: bool) -> Result<Vec<Vec<Value>>> {
    let Reply::Rows { columns, rows } = reply else {
        return Err(AppError::BadGateway("节点应答类型错误 (the node answered something else than rows)".into()));
    };
    let want = asked.len() + usize::from(change);
    if columns.len() != want || columns.iter().zip(asked).any(|(a, b)| a != b) {
        tracing::warn!(?columns, ?asked, "a node answered other columns than asked for");
        return Err(AppError::BadGateway(
            "节点返回的列与请求不符，已拒绝 (the node answered other columns than asked for; refused)".into(),
        ));
    }
    if rows.len() > limit as usize {
        return Err(AppError::BadGateway(format!(
            "节点返回的行数超过请求的上限，已拒绝 (the node answered {} rows where at most {limit} were asked for; refused)",
            rows.len()
        )));
    }
    if rows.iter().any(|r| r.len() != want) {
        return Err(AppError::BadGateway("节点应答的行列数不一致 (ragged rows; refused)".into()));
    }
    Ok(rows)
}

/// A source row (the items' columns in `d.items` order, taken by value) masked per the grant; subjects collected.
fn mask_row(
    d: &Data,
    kinds: &[Option<SubjectKind>],
    key: &[u8],
    hasher: &SubjectHasher,
    row: Vec<Value>,
    subjects: &mut BTreeSet<String>,
) -> Vec<Value> {
    d.items
        .iter()
        .zip(kinds)
        .zip(row)
        .map(|((it, kind), v)| {
            if let Some(h) = hasher.of_kind(*kind, &v) {
                subjects.insert(h);
            }
            match it.mask {
                MaskRule::None => v,
                rule => mask_value(rule, key, &v),
            }
        })
        .collect()
}

/// The subject kind of each item by its name, for [`mask_row`].
fn item_kinds(d: &Data) -> Vec<Option<SubjectKind>> {
    d.items.iter().map(|i| subject_kind_of_item(&i.item)).collect()
}

fn key_of(d: &Data, row: &[Value]) -> Vec<Value> {
    d.key_items
        .iter()
        .map(|k| d.items.iter().position(|i| &i.item == k).and_then(|i| row.get(i)).cloned().unwrap_or(Value::Null))
        .collect()
}

/// Publishes a batch as the stream's next message, then records its provenance and applies `then` to the
/// subscription's data (the producer's progress) in one transaction; `clear_error`: the step succeeded.
async fn publish(
    p: &Platform,
    row: &SubscriptionRow,
    batch: Batch,
    handoff: &Handoff,
    clear_error: bool,
    then: impl FnOnce(&mut Data),
) -> Result<u64> {
    let bus = &*p.bus;
    let name = stream(&row.id);
    let json = serde_json::to_vec(&batch).map_err(|e| AppError::Internal(e.into()))?;
    let checksum = hex::encode(Sha256::digest(&json));
    let payload = zstd::bulk::compress(&json, 1).map_err(|e| AppError::Internal(e.into()))?;
    drop(json);
    let seq = bus.state(&name).await?.last + 1;
    bus.publish(&name, seq, &payload).await?;
    drop(payload);
    let at = ts(p.now());
    let mut tx = p.store.begin().await?;
    store::insert_batch(
        &mut tx,
        &BatchRow {
            subscription: row.id.clone(),
            seq: i64::try_from(seq).unwrap_or(i64::MAX),
            kind: batch.kind.clone(),
            upserts: i64::try_from(batch.upserts.len()).unwrap_or(i64::MAX),
            deletes: i64::try_from(batch.deletes.len()).unwrap_or(i64::MAX),
            checksum: checksum.clone(),
            read_at: batch.read_at.clone(),
            published_at: at.clone(),
            applied_at: None,
        },
    )
    .await?;
    if let Some(cur) = store::get_for_update(&mut tx, &row.id).await? {
        let mut d = parse(&cur)?;
        then(&mut d);
        let err = if clear_error { None } else { cur.last_error.clone() };
        store::set_data(&mut tx, &row.id, &to_text(&d)?, err.as_deref(), &at).await?;
    }
    shuqiao_store::commit_append(tx).await?;
    handoff.put(seq, batch, checksum);
    Ok(seq)
}

/// A batch's JSON from its bus payload: zstd-compressed (its magic number first), or plain JSON.
fn decompress(payload: &[u8]) -> std::io::Result<Vec<u8>> {
    if payload.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        zstd::stream::decode_all(payload)
    } else {
        Ok(payload.to_vec())
    }
}

/// One producer step: read one page from the provider and publish it.
async fn produce(p: &Platform, id: &str, handoff: &Handoff, prefetch: &Prefetch) -> Result<Option<Hold>> {
    let Some((row, mut d)) = load(p, id).await? else { return Ok(Some(Hold::Stop)) };
    let Some((g, mount)) = ready(p, &row, &d).await? else { return Ok(Some(Hold::Idle)) };
    let bus = &*p.bus;
    if bus.state(&stream(id)).await?.pending() >= MAX_PENDING {
        return Ok(Some(Hold::Idle));
    }
    // Items no longer granted (or no longer mapped) leave the subscription and the target.
    let gone: Vec<String> = d
        .items
        .iter()
        .filter(|i| !g.items.contains(&i.item) || mount.column_map.get(&i.item) != Some(&i.column))
        .map(|i| i.item.clone())
        .collect();
    if !gone.is_empty() {
        if gone.iter().any(|i| d.key_items.contains(i)) {
            return Err(AppError::Conflict(
                "授权或挂接已不包含主键信息项，无法继续同步 (the grant or mount no longer has the key items)".into(),
            ));
        }
        d.items.retain(|i| !gone.contains(&i.item));
        let batch = Batch {
            kind: "schema".into(),
            columns: d.items.iter().map(|i| i.item.clone()).collect(),
            upserts: Vec::new(),
            deletes: Vec::new(),
            range: None,
            fresh: false,
            drop_columns: gone.clone(),
            subjects: Vec::new(),
            read_at: ts(p.now()),
            reason: None,
        };
        let items = d.items.clone();
        publish(p, &row, batch, handoff, false, |cur| cur.items = items).await?;
        return Ok(None);
    }
    if let Some(corr) = d.corrections.first().cloned() {
        let batch = correction_batch(p, &mount, &d, &corr).await?;
        publish(p, &row, batch, handoff, true, |cur| {
            if cur.corrections.first() == Some(&corr) {
                cur.corrections.remove(0);
            }
        })
        .await?;
        return Ok(None);
    }
    let (source, table) = mount.table();
    let asked: Vec<String> = d.items.iter().map(|i| i.column.clone()).collect();
    let limit = p.config.sync_batch_rows.max(1);
    let now = p.now();
    let start = d.progress.clone();
    let mut prog = d.progress.clone();
    let timeout = p.config.node_timeout.max(Duration::from_secs(30));
    match prog.phase {
        Phase::Full => {
            if prog.after.is_none() && prog.pass_started_at.is_none() {
                if prog.passes > 0 && d.change_column.is_none() && !due(&prog, p, now) {
                    return Ok(Some(Hold::Idle));
                }
                if let Some(cc) = &d.change_column {
                    let req =
                        Request::Watermark { source: source.clone(), table: table.clone(), change_column: cc.clone() };
                    let reply = ask(p, &mount.node, req, timeout).await?;
                    let rows = checked_rows(reply, std::slice::from_ref(cc), 1, false)?;
                    prog.watermark = rows.into_iter().next().and_then(|r| r.into_iter().next());
                }
                prog.pass_started_at = Some(ts(now));
                prog.stored = prog.passes == 0 && d.change_column.is_some() && !prog.key_order;
                prog.position = None;
            }
            if prog.stored {
                let page = StoredPage { asked: &asked, limit, timeout, now };
                return produce_stored(p, &row, &d, &mount, page, handoff, prefetch, start, prog).await;
            }
            let scan = |after: Option<Vec<Value>>| Request::Scan {
                source: source.clone(),
                table: table.clone(),
                columns: asked.clone(),
                key_columns: mount.key_columns.clone(),
                after,
                limit,
            };
            let t0 = std::time::Instant::now();
            let reply = match prefetch.take(&scan(prog.after.clone())) {
                Some(ahead) => ahead.await.map_err(|e| AppError::Internal(e.into()))??,
                None => ask(p, &mount.node, scan(prog.after.clone()), timeout).await?,
            };
            let t_scan = t0.elapsed();
            let rows = match checked_rows(reply, &asked, limit, false) {
                Ok(r) => r,
                Err(e) => return Err(refused_reply(p, &row, e).await),
            };
            let last_page = rows.len() < limit as usize;
            let upto = if last_page { None } else { rows.last().map(|r| key_of(&d, r)) };
            // The next page is read while this one is masked and published.
            if let Some(next) = &upto {
                let (pp, node, req) = (p.clone(), mount.node.clone(), scan(Some(next.clone())));
                let key = req.clone();
                prefetch.put(key, tokio::spawn(async move { ask(&pp, &node, req, timeout).await }));
            }
            let range = KeyRange { after: prog.after.clone(), upto: upto.clone() };
            let batch = full_page(p, &d, rows, Some(range), false, now);
            if last_page {
                end_pass(&mut prog, &d, now);
            } else {
                prog.after = upto;
            }
            publish(p, &row, batch, handoff, true, progress_from(start, prog)).await?;
            tracing::debug!(subscription = %id, scan = ?t_scan, rest = ?(t0.elapsed() - t_scan), "published a page");
            Ok(None)
        }
        Phase::Changes => {
            let Some(cc) = d.change_column.clone() else {
                prog.phase = Phase::Full;
                set_progress(p, id, false, &start, prog).await?;
                return Ok(None);
            };
            if due(&prog, p, now) {
                prog.phase = Phase::Full;
                prog.after = None;
                prog.pass_started_at = None;
                set_progress(p, id, false, &start, prog).await?;
                return Ok(None);
            }
            let req = Request::Changes {
                source,
                table,
                columns: asked.clone(),
                key_columns: mount.key_columns.clone(),
                change_column: cc,
                after: prog.change_after.clone(),
                limit,
            };
            let reply = ask(p, &mount.node, req, timeout).await?;
            let rows = match checked_rows(reply, &asked, limit, true) {
                Ok(r) => r,
                Err(e) => return Err(refused_reply(p, &row, e).await),
            };
            if rows.is_empty() {
                prog.caught_up_at = Some(ts(now));
                set_progress(p, id, true, &start, prog).await?;
                return Ok(Some(Hold::Idle));
            }
            let key = p.subject_key.bytes();
            let hasher = SubjectHasher::new(key);
            let mut subjects = BTreeSet::new();
            let mut position = None;
            let mut upserts = Vec::with_capacity(rows.len());
            let caught_up = rows.len() < limit as usize;
            let kinds = item_kinds(&d);
            for mut r in rows {
                let change = r.split_off(asked.len());
                let mut pos = vec![change.into_iter().next().unwrap_or(Value::Null)];
                pos.extend(key_of(&d, &r));
                position = Some(pos);
                upserts.push(mask_row(&d, &kinds, key, &hasher, r, &mut subjects));
            }
            let batch = Batch {
                kind: "changes".into(),
                columns: d.items.iter().map(|i| i.item.clone()).collect(),
                upserts,
                deletes: Vec::new(),
                range: None,
                fresh: false,
                drop_columns: Vec::new(),
                subjects: subjects.into_iter().collect(),
                read_at: ts(now),
                reason: None,
            };
            prog.change_after = position;
            if caught_up {
                prog.caught_up_at = Some(ts(now));
            }
            publish(p, &row, batch, handoff, true, progress_from(start, prog)).await?;
            Ok(if caught_up { Some(Hold::Idle) } else { None })
        }
    }
}

/// What a page of a pass in storage order is read with.
struct StoredPage<'a> {
    asked: &'a [String],
    limit: u32,
    timeout: Duration,
    now: time::OffsetDateTime,
}

/// A page of a full pass in storage order ([`Progress::stored`]): read (the next one while this one is
/// published), masked and published like a page in key order; its first page empties the target (a key range
/// open at both ends), the others are copied straight in where the target can. A provider that cannot read the
/// table so makes the pass start again in key order.
#[allow(clippy::too_many_arguments)]
async fn produce_stored(
    p: &Platform,
    row: &SubscriptionRow,
    d: &Data,
    mount: &Mount,
    page: StoredPage<'_>,
    handoff: &Handoff,
    prefetch: &Prefetch,
    start: Progress,
    mut prog: Progress,
) -> Result<Option<Hold>> {
    let StoredPage { asked, limit, timeout, now } = page;
    let (source, table) = mount.table();
    let scan = |after: Option<String>| Request::ScanStored {
        source: source.clone(),
        table: table.clone(),
        columns: asked.to_vec(),
        after,
        limit,
    };
    let req = scan(prog.position.clone());
    let reply = match prefetch.take(&req) {
        Some(ahead) => ahead.await.map_err(|e| AppError::Internal(e.into()))??,
        None => p.nodes.request(&mount.node, req, timeout).await.map_err(super::mounts::node_error)?,
    };
    // `bad_request` to the first page: a node from before `scan_stored` (it answers requests it does not
    // understand so); key order is what it knows.
    if let Reply::Failed { code, message } = &reply
        && (*code == FailCode::Unsupported || (*code == FailCode::BadRequest && prog.position.is_none()))
    {
        tracing::info!(subscription = %row.id, %message, "the provider's table is read in key order");
        prog.stored = false;
        prog.position = None;
        prog.after = None;
        prog.key_order = true;
        set_progress(p, &row.id, false, &start, prog).await?;
        return Ok(None);
    }
    let reply = refusal(Ok(reply))?;
    if let Reply::Rows { columns, .. } = &reply
        && columns.last().map(String::as_str) != Some(POSITION_COLUMN)
    {
        let e = AppError::BadGateway(
            "节点返回的列与请求不符，已拒绝 (the node answered other columns than asked for; refused)".into(),
        );
        return Err(refused_reply(p, row, e).await);
    }
    let mut rows = match checked_rows(reply, asked, limit, true) {
        Ok(r) => r,
        Err(e) => return Err(refused_reply(p, row, e).await),
    };
    let last_page = rows.len() < limit as usize;
    let mut position = None;
    for r in &mut rows {
        match r.pop() {
            // `(block,offset)` or a rowid: nothing else is kept as a position (nor sent back).
            Some(Value::String(at))
                if at.len() <= 32 && at.bytes().all(|c| c.is_ascii_digit() || b"(),-".contains(&c)) =>
            {
                position = Some(at)
            }
            _ => {
                let e = AppError::BadGateway(
                    "节点返回的行位置无效，已拒绝 (a row without a valid position; refused)".into(),
                );
                return Err(refused_reply(p, row, e).await);
            }
        }
    }
    if !last_page {
        let (pp, node, req) = (p.clone(), mount.node.clone(), scan(position.clone()));
        let h =
            tokio::spawn(async move { pp.nodes.request(&node, req, timeout).await.map_err(super::mounts::node_error) });
        prefetch.put(scan(position.clone()), h);
    }
    let first = prog.position.is_none();
    let batch = full_page(p, d, rows, first.then_some(KeyRange { after: None, upto: None }), !first, now);
    if last_page {
        end_pass(&mut prog, d, now);
    } else {
        prog.position = position;
    }
    publish(p, row, batch, handoff, true, progress_from(start, prog)).await?;
    Ok(None)
}

/// A page of a full pass: the source rows masked per the grant, with the subjects (keyed hashes) they name.
fn full_page(
    p: &Platform,
    d: &Data,
    rows: Vec<Vec<Value>>,
    range: Option<KeyRange>,
    fresh: bool,
    now: time::OffsetDateTime,
) -> Batch {
    let mut subjects = BTreeSet::new();
    let key = p.subject_key.bytes();
    let hasher = SubjectHasher::new(key);
    let kinds = item_kinds(d);
    let upserts = rows.into_iter().map(|r| mask_row(d, &kinds, key, &hasher, r, &mut subjects)).collect();
    Batch {
        kind: "full".into(),
        columns: d.items.iter().map(|i| i.item.clone()).collect(),
        upserts,
        deletes: Vec::new(),
        range,
        fresh,
        drop_columns: Vec::new(),
        subjects: subjects.into_iter().collect(),
        read_at: ts(now),
        reason: None,
    }
}

/// The progress after a full pass's last page (in either order): the changes follow, from the high-water mark on
/// (inclusive: rows changed during the pass are read again), if the table has a change column.
fn end_pass(prog: &mut Progress, d: &Data, now: time::OffsetDateTime) {
    prog.passes += 1;
    prog.stored = false;
    prog.position = None;
    prog.after = None;
    prog.pass_started_at = None;
    prog.last_full_at = Some(ts(now));
    prog.caught_up_at = Some(ts(now));
    if d.change_column.is_some() {
        prog.phase = Phase::Changes;
        prog.change_after = prog.watermark.take().filter(|v| !v.is_null()).map(|v| vec![v]);
    }
}

/// A provider's reply refused (columns not asked for, ragged rows, too many rows): audited, then the error.
async fn refused_reply(p: &Platform, row: &SubscriptionRow, e: AppError) -> AppError {
    let ev = AuditEvent::new("data.sync", format!("subscription:{}", row.id))
        .department(row.provider.clone())
        .resource(row.resource.clone())
        .result("refused")
        .detail(json!({"grant": row.grant_id, "consumer": row.consumer, "reason": e.to_string()}));
    if let Err(w) = p.audit_writer.append(Actor::system(), ev).await {
        tracing::warn!(error = %w, "could not audit a refused node reply");
    }
    e
}

/// Stores the producer's new position unless someone else moved it meanwhile (a recall restarting the full pass):
/// then that change stands, and the page just published is read again later (absorbed by the idempotent apply).
async fn set_progress(p: &Platform, id: &str, clear_error: bool, start: &Progress, prog: Progress) -> Result<()> {
    update(p, id, clear_error, progress_from(start.clone(), prog)).await
}

/// The producer's progress moved from `start` to `prog`, unless someone else moved it meanwhile.
fn progress_from(start: Progress, prog: Progress) -> impl FnOnce(&mut Data) {
    move |cur| {
        if cur.progress == start {
            cur.progress = prog;
        }
    }
}

/// Whether the next full pass is due.
fn due(prog: &Progress, p: &Platform, now: time::OffsetDateTime) -> bool {
    let Some(last) = prog
        .last_full_at
        .as_deref()
        .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
    else {
        return true;
    };
    let every = time::Duration::try_from(p.config.sync_full_pass_every).unwrap_or(time::Duration::HOUR);
    now - last >= every
}

/// What the deliverer knows between steps.
#[derive(Default)]
struct Delivery {
    /// The last batch the consumer's node is known to have applied (`None`: ask it).
    confirmed: Option<u64>,
    /// Batches at the consumer's node, oldest first.
    flights: VecDeque<Flight>,
    /// Audit appends started ahead, by batch.
    audits: Audits,
}

/// A batch sent to the consumer's node, its answer awaited.
struct Flight {
    seq: u64,
    upserts: u64,
    deletes: u64,
    checksum: String,
    pending: Pending,
}

/// One deliverer step: fill the window of batches at the consumer's node (each audited durably before it leaves),
/// then settle the oldest one's answer. The node applies a subscription's batches in the order they came, so the
/// next batch travels and waits there while one is applied.
async fn deliver(p: &Platform, id: &str, st: &mut Delivery, handoff: &Handoff) -> Result<Option<Hold>> {
    match deliver_step(p, id, st, handoff).await {
        Ok(hold) => Ok(hold),
        Err(e) => {
            // Where the consumer stands is asked again before the next batch.
            st.confirmed = None;
            // Audits started ahead finish on their own; a batch sent again is audited again.
            st.audits.clear();
            // The batches sent after the failed one: their answers come at once (the node refuses a batch after a
            // gap), or with the connection's end. Those applied all the same are settled; the rest is sent again.
            while let Some(f) = st.flights.pop_front() {
                let seq = f.seq;
                if let Ok(already) = applied(seq, consumer_reply(f.pending.wait(APPLY_TIMEOUT).await)) {
                    let (ups, dels) = (f.upserts, f.deletes);
                    if let Err(e) = settle(p, id, seq, ups, dels, already).await {
                        tracing::warn!(subscription = %id, seq, error = %e, "could not record an applied batch");
                    }
                }
            }
            Err(e)
        }
    }
}

async fn deliver_step(p: &Platform, id: &str, st: &mut Delivery, handoff: &Handoff) -> Result<Option<Hold>> {
    let Delivery { confirmed, flights, audits } = st;
    let Some((row, d)) = load(p, id).await? else { return Ok(Some(Hold::Stop)) };
    let Some((g, _mount)) = ready(p, &row, &d).await? else { return Ok(Some(Hold::Idle)) };
    let bus = &*p.bus;
    let name = stream(id);
    let done = match *confirmed {
        Some(c) => c,
        None => {
            let state = bus.state(&name).await?;
            // Where the consumer's node stands decides what comes next (after a restart or a lost connection).
            let reply = consumer_reply(
                p.nodes
                    .request(&row.node, Request::Checkpoint { subscription: row.id.clone() }, p.config.node_timeout)
                    .await,
            )?;
            let Reply::Checkpoint { seq } = reply else {
                return Err(AppError::BadGateway(
                    "节点应答类型错误 (the node answered something else than a checkpoint)".into(),
                ));
            };
            if seq > state.last {
                return Err(AppError::Conflict(format!(
                    "订阅方节点的检查点 {seq} 超过平台已发布的批次 {} (the consumer's node reports batch {seq}, the platform published {}; refusing to continue)",
                    state.last, state.last
                )));
            }
            if seq < state.acked {
                // Batches up to `acked` were applied once and are gone from the bus: the target was restored or
                // recreated behind them. Nothing can be resent in order; say so instead of sending what it refuses.
                return Err(AppError::Conflict(format!(
                    "订阅方目标库的检查点 {seq} 落后于已确认的批次 {}（目标库可能被恢复或重建），请取消后重新订阅 (the consumer's target is at batch {seq}, behind batch {} it had acknowledged — restored or recreated? cancel and subscribe again)",
                    state.acked, state.acked
                )));
            }
            if seq > state.acked {
                bus.ack(&name, seq).await?;
            }
            let c = seq.max(state.acked);
            if c > d.applied_seq {
                update(p, id, false, |cur| cur.applied_seq = cur.applied_seq.max(c)).await?;
            }
            *confirmed = Some(c);
            c
        }
    };
    audit_ahead(p, &row, &g, flights.back().map_or(done, |f| f.seq), handoff, audits);
    while flights.len() < WINDOW {
        let next = flights.back().map_or(done, |f| f.seq) + 1;
        let Some(flight) = send_batch(p, &row, &d, &g, next, handoff, audits).await? else { break };
        flights.push_back(flight);
    }
    let Some(front) = flights.pop_front() else { return Ok(Some(Hold::Idle)) };
    let t0 = std::time::Instant::now();
    let seq = front.seq;
    match applied(seq, consumer_reply(front.pending.wait(APPLY_TIMEOUT).await)) {
        Ok(already) => {
            let waited = t0.elapsed();
            settle(p, id, seq, front.upserts, front.deletes, already).await?;
            *confirmed = Some(seq);
            tracing::debug!(subscription = %id, seq, waited = ?waited, settle = ?(t0.elapsed() - waited), "delivered");
            Ok(None)
        }
        Err(e) => {
            // The failed delivery is on the record too (the batch stays on the bus and is sent again).
            let ev = AuditEvent::new("data.sync", format!("subscription:{id}"))
                .department(row.provider.clone())
                .resource(row.resource.clone())
                .result("failed")
                .detail(json!({"grant": g.id, "consumer": row.consumer, "node": row.node, "seq": seq,
                               "checksum": front.checksum, "reason": e.to_string()}));
            p.audit_writer.append(Actor::system(), ev).await?;
            Err(e)
        }
    }
}

/// Sends batch `seq` to the consumer's node if it is published (`None` if not yet): only what is granted now
/// leaves, whatever was granted when it was read, and its audit event is durable before it does.
async fn send_batch(
    p: &Platform,
    row: &SubscriptionRow,
    d: &Data,
    g: &GrantView,
    seq: u64,
    handoff: &Handoff,
    audits: &mut Audits,
) -> Result<Option<Flight>> {
    let name = stream(&row.id);
    let (mut batch, checksum) = match handoff.take(seq) {
        Some(b) => b,
        None => {
            let Some(msg) = p.bus.fetch(&name, seq - 1, 1).await?.into_iter().next() else { return Ok(None) };
            if msg.seq != seq {
                return Err(AppError::Conflict(format!(
                    "批次 {} 之后缺少批次 (the bus skips from {} to {})",
                    seq - 1,
                    seq - 1,
                    msg.seq
                )));
            }
            let unreadable = |e: &dyn std::fmt::Display| {
                AppError::Internal(anyhow::anyhow!("batch {} of {} is unreadable: {e}", msg.seq, row.id))
            };
            let json = decompress(&msg.payload).map_err(|e| unreadable(&e))?;
            let batch: Batch = serde_json::from_slice(&json).map_err(|e| unreadable(&e))?;
            (batch, hex::encode(Sha256::digest(&json)))
        }
    };
    let keep: Vec<usize> = (0..batch.columns.len()).filter(|&i| g.items.contains(&batch.columns[i])).collect();
    if keep.len() != batch.columns.len() {
        let dropped: Vec<String> = batch.columns.iter().filter(|c| !g.items.contains(c)).cloned().collect();
        batch.columns = keep.iter().map(|&i| batch.columns[i].clone()).collect();
        for r in &mut batch.upserts {
            *r = keep.iter().map(|&i| r.get(i).cloned().unwrap_or(Value::Null)).collect();
        }
        batch.drop_columns.extend(dropped);
    }
    let columns: Vec<SyncColumn> = batch
        .columns
        .iter()
        .map(|c| {
            let it = d.items.iter().find(|i| &i.item == c);
            SyncColumn {
                name: c.clone(),
                data_type: it.map_or_else(|| "C".to_owned(), |i| i.data_type.clone()),
                length: it.and_then(|i| i.length),
            }
        })
        .collect();
    let actor = sync_actor(row);
    match audits.remove(&seq) {
        Some(ahead) => {
            ahead.await.map_err(|e| AppError::Internal(e.into()))??;
        }
        None => {
            p.audit_writer.append(actor, sync_event(g, row, seq, &batch, &checksum)).await?;
        }
    }
    let (upserts, deletes) = (batch.upserts.len() as u64, batch.deletes.len() as u64);
    let req = Request::Apply {
        subscription: row.id.clone(),
        seq,
        table: row.target_table.clone(),
        columns,
        key_columns: d.key_items.clone(),
        upserts: batch.upserts,
        deletes: batch.deletes,
        range: batch.range,
        drop_columns: batch.drop_columns,
        fresh: batch.fresh,
    };
    let pending = p.nodes.send(&row.node, req, APPLY_TIMEOUT).await.map_err(|e| match consumer_reply(Err(e)) {
        Err(e) => e,
        Ok(_) => AppError::Unavailable("订阅部门的前置节点未连接 (the consumer's node is offline)".into()),
    })?;
    Ok(Some(Flight { seq, upserts, deletes, checksum, pending }))
}

/// Who a delivered batch's audit event names: the consumer's node, on the consumer's behalf (the subject look-up
/// names the department that received the rows).
fn sync_actor(row: &SubscriptionRow) -> Actor {
    super::registry::node_actor(&row.node, &format!("库表订阅 {}", row.target_table), &row.consumer)
}

/// Starts the audit events of the batches after `last` (up to [`AUDIT_AHEAD`] of them) that the producer handed
/// over, so that their appends (a flush each, or one for several) overlap the delivery of the ones before.
fn audit_ahead(p: &Platform, row: &SubscriptionRow, g: &GrantView, last: u64, handoff: &Handoff, audits: &mut Audits) {
    for seq in last + 1..=last + AUDIT_AHEAD {
        if audits.contains_key(&seq) {
            continue;
        }
        let Some(ev) = handoff.peek(seq, |b, sum| sync_event(g, row, seq, b, sum)) else { break };
        let (writer, actor) = (p.audit_writer.clone(), sync_actor(row));
        audits.insert(seq, tokio::spawn(async move { writer.append(actor, ev).await }));
    }
}

/// The consumer's answer to `apply` of batch `seq`: `Ok(already)`.
fn applied(seq: u64, reply: Result<Reply>) -> Result<bool> {
    match reply? {
        Reply::Applied { seq: s, already } if s == seq => Ok(already),
        Reply::Applied { seq: s, .. } => Err(AppError::BadGateway(format!(
            "订阅方节点确认了未发送的批次 {s}（发送的是 {seq}） (the consumer's node acknowledged batch {s}, batch {seq} was sent; refused)"
        ))),
        _ => Err(AppError::BadGateway("节点应答类型错误 (the node answered something else than applied)".into())),
    }
}

/// Batch `seq` is applied: acknowledged on the bus; provenance and counters in one transaction.
async fn settle(p: &Platform, id: &str, seq: u64, upserts: u64, deletes: u64, already: bool) -> Result<()> {
    p.bus.ack(&stream(id), seq).await?;
    let at = ts(p.now());
    let mut tx = p.store.begin().await?;
    store::mark_applied(&mut tx, id, i64::try_from(seq).unwrap_or(i64::MAX), &at).await?;
    if let Some(cur) = store::get_for_update(&mut tx, id).await? {
        let mut cd = parse(&cur)?;
        cd.applied_seq = cd.applied_seq.max(seq);
        cd.applied_at = Some(at.clone());
        if !already {
            cd.rows_upserted += upserts;
            cd.rows_deleted += deletes;
        }
        store::set_data(&mut tx, id, &to_text(&cd)?, None, &at).await?;
    }
    shuqiao_store::commit_append(tx).await?;
    Ok(())
}

/// The audit event of one delivery of a batch: grant, purpose, counts, checksum, subject hashes.
fn sync_event(g: &GrantView, row: &SubscriptionRow, seq: u64, batch: &Batch, checksum: &str) -> AuditEvent {
    AuditEvent::new("data.sync", format!("subscription:{}", row.id))
        .department(row.provider.clone())
        .resource(row.resource.clone())
        .purpose(format!("{}: {}", shuqiao_domain::entry::api_str(&g.purpose.kind).unwrap_or_default(), g.purpose.text))
        .subjects(batch.subjects.clone())
        .result("ok")
        .detail(json!({
            "grant": g.id, "consumer": row.consumer, "node": row.node, "seq": seq, "kind": batch.kind,
            "upserts": batch.upserts.len(), "deletes": batch.deletes.len(), "checksum": checksum,
            "items": batch.columns.iter().filter(|c| g.items.contains(c)).collect::<Vec<_>>(),
            "read_at": batch.read_at, "reason": batch.reason,
        }))
}
