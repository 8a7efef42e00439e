//! The gateway (DESIGN "Gateway path"): online query, verification and API proxy are one function —
//! resolve the grant → check mode, validity, items, quota → ask the provider's node → refuse anything not asked
//! for → mask → hash the subjects touched → append the audit event and wait until it is durable → answer.
//! A refused or failed request is audited too, with its reason. Only granted items ever leave.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use shuqiao_domain::codes::ResourceCode;
use shuqiao_domain::entry::{Entry, Mode};
use shuqiao_domain::masking::{mask_value, subject_of, value_text};
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{GrantStatus, MaskRule};
use shuqiao_exchange::{FailCode, Filter, Reply, Request};
use shuqiao_store::exchange as store;
use shuqiao_store::ts;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::mounts::{Mount, Serving, node_error, serving_state};
use super::usage::Exceeded;
use crate::audit::{Actor, AuditEvent};
use crate::platform::Principal;
use crate::sharing::grants::GrantView;
use crate::{AppError, Platform, Result};

/// Most records one request may return.
pub const MAX_LIMIT: u32 = 500;

/// Who asks for what, besides the operation.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub who: &'a Principal,
    pub code: ResourceCode,
    /// `X-Shuqiao-Grant`.
    pub grant: Option<String>,
    /// `X-Shuqiao-Case` (办件编号).
    pub case_ref: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Op {
    /// `GET …/records?<item>=<value>&fields=&limit=&cursor=`.
    Records { filters: Vec<(String, String)>, fields: Option<Vec<String>>, limit: u32, cursor: Option<String> },
    /// `POST …/verify`.
    Verify { matches: BTreeMap<String, Value>, check: BTreeMap<String, Value> },
    /// `ANY …/api/{path}`.
    Api { method: String, path: String, query: Option<String>, headers: Vec<(String, String)>, body: Vec<u8> },
}

impl Op {
    fn mode(&self) -> Mode {
        match self {
            Op::Records { .. } => Mode::Query,
            Op::Verify { .. } => Mode::Verify,
            Op::Api { .. } => Mode::Api,
        }
    }
    fn action(&self) -> &'static str {
        match self {
            Op::Records { .. } => "data.query",
            Op::Verify { .. } => "data.verify",
            Op::Api { .. } => "data.api",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Answer {
    Records { items: Vec<Map<String, Value>>, next_cursor: Option<String> },
    Verify { found: bool, items: BTreeMap<String, bool> },
    Api { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
}

/// What the audit event of a request says besides its result.
#[derive(Debug, Default)]
pub(super) struct Trace {
    pub(super) provider: Option<String>,
    pub(super) grant: Option<String>,
    pub(super) purpose: Option<String>,
    pub(super) items: Vec<String>,
    pub(super) filters: Vec<String>,
    pub(super) records: u64,
    pub(super) subjects: BTreeSet<String>,
    pub(super) node: Option<String>,
}

/// Serves one data request (see the module documentation).
pub async fn serve(p: &Platform, call: Call<'_>, op: Op) -> Result<Answer> {
    let started = std::time::Instant::now();
    let mut trace = Trace::default();
    let outcome = run(p, &call, &op, &mut trace).await;
    let (result, reason) = match &outcome {
        Ok(_) => ("ok", None),
        Err(e @ (AppError::Unavailable(_) | AppError::BadGateway(_) | AppError::GatewayTimeout(_))) => {
            ("failed", Some(e.to_string()))
        }
        Err(AppError::Internal(_)) => ("failed", Some("internal error".to_owned())),
        Err(e) => ("refused", Some(e.to_string())),
    };
    let mut detail = json!({
        "grant": trace.grant, "mode": shuqiao_domain::entry::api_str(&op.mode()), "items": trace.items,
        "filters": trace.filters, "records": trace.records, "node": trace.node,
        "caller": match call.who.kind { crate::platform::PrincipalKind::User => "user", _ => "client" },
        "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    if let (Some(r), Some(obj)) = (reason, detail.as_object_mut()) {
        obj.insert("reason".into(), Value::String(r));
    }
    let object = match &trace.grant {
        Some(g) => format!("grant:{g}"),
        None => format!("entry:{}", call.code),
    };
    let mut ev = AuditEvent::new(op.action(), object)
        .resource(call.code.to_string())
        .case_ref(call.case_ref.clone())
        .subjects(trace.subjects.into_iter().collect())
        .result(result)
        .detail(detail);
    if let Some(d) = trace.provider {
        ev = ev.department(d);
    }
    if let Some(purpose) = trace.purpose {
        ev = ev.purpose(purpose);
    }
    // Durable before anything leaves: if the event cannot be written, the data is not answered.
    p.audit_writer.append(Actor::from(call.who), ev).await?;
    outcome
}

fn forbidden(m: impl Into<String>) -> AppError {
    AppError::Forbidden(m.into())
}

/// Seconds until the next midnight in China (when daily quotas reset).
pub fn seconds_to_midnight_cn(now: OffsetDateTime) -> u64 {
    let cn = now.to_offset(UtcOffset::from_whole_seconds(8 * 3600).unwrap_or(UtcOffset::UTC));
    let next = (cn.date() + Duration::days(1)).midnight().assume_offset(cn.offset());
    u64::try_from((next - cn).whole_seconds()).unwrap_or(1).max(1)
}

pub(super) fn quota_exceeded(what: &str, limit: u64, now: OffsetDateTime) -> AppError {
    AppError::TooManyRequests {
        message: format!(
            "已达到授权的每日{what}上限 {limit}，北京时间零点重置 (the grant's daily {} quota of {limit} is used up; it resets at midnight China time)",
            if what == "请求" { "request" } else { "record" }
        ),
        retry_after_secs: seconds_to_midnight_cn(now),
    }
}

/// The caller's grant on the resource: the one `X-Shuqiao-Grant` names, else an active one granting `mode`, else
/// the newest (so that its status is what the refusal names).
pub(super) async fn resolve_grant(p: &Platform, call: &Call<'_>, code: &str, mode: Mode) -> Result<GrantView> {
    let department = call.who.department()?;
    let key = format!("{department}\n{code}");
    let grants = p
        .hot
        .grants
        .get_or_load(&key, || async {
            let mut c = p.store.reader().await?;
            let rows = store::grants_of_consumer(&mut c, department, code).await?;
            let grants: Vec<GrantView> = rows.iter().map(crate::sharing::grants::parse).collect::<Result<_>>()?;
            Ok(Arc::new(grants))
        })
        .await?;
    if let Some(id) = call.grant.as_deref() {
        return grants.iter().find(|g| g.id == id).cloned().ok_or_else(|| {
            forbidden("X-Shuqiao-Grant 指定的授权不属于本部门或不针对该资源 (the grant named by X-Shuqiao-Grant is not your department's grant on this resource)")
        });
    }
    let today = crate::catalog::today_cn(p.now());
    let usable = |g: &GrantView| g.status == GrantStatus::Active && g.valid_until >= today;
    let pick = grants
        .iter()
        .find(|g| usable(g) && g.modes.contains(&mode))
        .or_else(|| grants.iter().find(|g| usable(g)))
        .or(grants.first());
    match pick {
        Some(g) => Ok(g.clone()),
        None => Err(forbidden(
            "本部门对该信息资源没有授权，请先提交共享申请 (your department has no grant on this resource; apply with POST /applications)",
        )),
    }
}

/// Whether a grant may be used now for `mode`: active, within its validity, granting the mode (403 otherwise).
pub(super) fn check_grant(g: &GrantView, mode: Mode, today: time::Date) -> Result<()> {
    if g.status != GrantStatus::Active {
        return Err(forbidden(format!(
            "授权状态为 {}，不能使用 (the grant is {})",
            g.status.as_str(),
            g.status.as_str()
        )));
    }
    if g.valid_until < today {
        return Err(forbidden(format!("授权已于 {} 到期 (the grant expired on {})", g.valid_until, g.valid_until)));
    }
    if !g.modes.contains(&mode) {
        let m = shuqiao_domain::entry::api_str(&mode).unwrap_or_default();
        return Err(forbidden(format!("授权不包含 {m} 方式 (the grant does not allow the `{m}` mode)")));
    }
    Ok(())
}

/// Checks that `names` are items of the entry (422), granted (403) and mapped by the mount (409).
fn check_items(entry: &Entry, g: &GrantView, mount: Option<&Mount>, names: &[String], field: &str) -> Result<()> {
    let mut unknown = Vec::new();
    for n in names {
        if !entry.items.iter().any(|i| &i.name == n) {
            unknown.push(shuqiao_domain::FieldError::new(
                format!("{field}.{n}"),
                format!("“{n}”不是该信息资源的信息项 (not an item of this entry)"),
            ));
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::Validation(unknown));
    }
    let not_granted: Vec<&str> = names.iter().filter(|n| !g.items.contains(n)).map(String::as_str).collect();
    if !not_granted.is_empty() {
        return Err(forbidden(format!(
            "授权不包含以下信息项：{} (the grant does not cover these items, not even as a filter)",
            not_granted.join("、")
        )));
    }
    if let Some(m) = mount {
        let unmapped: Vec<&str> = names.iter().filter(|n| !m.column_map.contains_key(*n)).map(String::as_str).collect();
        if !unmapped.is_empty() {
            return Err(AppError::Conflict(format!(
                "提供部门的挂接未提供以下信息项：{} (the provider's mount does not provide these items)",
                unmapped.join("、")
            )));
        }
    }
    Ok(())
}

async fn run(p: &Platform, call: &Call<'_>, op: &Op, trace: &mut Trace) -> Result<Answer> {
    call.who.require(&[Role::Consumer])?;
    let code = call.code.to_string();
    let entry = crate::sharing::published_cached(p, &code)
        .await?
        .ok_or_else(|| AppError::NotFound("信息资源不存在或未发布 (no such published entry)".into()))?;
    trace.provider = Some(entry.provider.id.clone());
    let mode = op.mode();
    let g = resolve_grant(p, call, &code, mode).await?;
    trace.grant = Some(g.id.clone());
    trace.purpose =
        Some(format!("{}: {}", shuqiao_domain::entry::api_str(&g.purpose.kind).unwrap_or_default(), g.purpose.text));
    let now = p.now();
    let today = crate::catalog::today_cn(now);
    check_grant(&g, mode, today)?;
    // Items named by the request: granted ones only, before anything is counted or asked.
    match op {
        Op::Records { filters, fields, .. } => {
            let names: Vec<String> = filters.iter().map(|(k, _)| k.clone()).collect();
            trace.filters = names.clone();
            check_items(&entry, &g, None, &names, "filter")?;
            if let Some(f) = fields {
                check_items(&entry, &g, None, f, "fields")?;
            }
        }
        Op::Verify { matches, check } => {
            if matches.is_empty() {
                return Err(AppError::field("match", "至少需要一个匹配项 (match needs at least one item)"));
            }
            trace.filters = matches.keys().cloned().collect();
            check_items(&entry, &g, None, &trace.filters, "match")?;
            check_items(&entry, &g, None, &check.keys().cloned().collect::<Vec<_>>(), "check")?;
        }
        Op::Api { path, .. } => {
            if path.split('/').any(|s| s == ".." || s == ".") {
                return Err(AppError::BadRequest("路径不能包含 . 或 .. (the path may not contain . or ..)".into()));
            }
        }
    }
    let state = p
        .hot
        .mounts
        .get_or_load(&code, || async {
            let mut c = p.store.reader().await?;
            serving_state(&mut c, &code).await
        })
        .await?;
    let mount = match state {
        Serving::Ready(m) => m,
        other => return Err(other.refusal()),
    };
    let want_kind = if mode == Mode::Api { "api" } else { "table" };
    if mount.kind != want_kind {
        return Err(AppError::Unavailable(format!(
            "该信息资源挂接的是 {} 数据源，不支持此方式 (the entry's mount is `{}`, not `{want_kind}`)",
            mount.kind, mount.kind
        )));
    }
    trace.node = Some(mount.node.clone());
    let fields: Vec<String> = match op {
        Op::Records { filters, fields, .. } => {
            let names: Vec<String> = filters.iter().map(|(k, _)| k.clone()).collect();
            check_items(&entry, &g, Some(&mount), &names, "filter")?;
            let fields = match fields {
                Some(f) => f.clone(),
                None => g.items.iter().filter(|i| mount.column_map.contains_key(*i)).cloned().collect(),
            };
            check_items(&entry, &g, Some(&mount), &fields, "fields")?;
            fields
        }
        Op::Verify { matches, check } => {
            let mut names: Vec<String> = matches.keys().cloned().collect();
            names.extend(check.keys().cloned());
            check_items(&entry, &g, Some(&mount), &names, "match")?;
            Vec::new()
        }
        Op::Api { .. } => Vec::new(),
    };
    // Quota: refused requests are not counted; records are capped by what is left today.
    let quota = g.quota.unwrap_or_default();
    let day = today.to_string();
    let max_records = match super::usage::take_request(
        p,
        &g.id,
        &day,
        quota.requests_per_day,
        quota.records_per_day,
        mode != Mode::Verify,
    )
    .await?
    {
        Ok(left) => left,
        Err(Exceeded::Records) => return Err(quota_exceeded("记录", quota.records_per_day.unwrap_or(0), now)),
        Err(Exceeded::Requests) => return Err(quota_exceeded("请求", quota.requests_per_day.unwrap_or(0), now)),
    };
    let key = p.subject_key.bytes().to_vec();
    let answer = match op {
        Op::Records { filters, limit, cursor, .. } => {
            let limit = (*limit).clamp(1, MAX_LIMIT);
            let limit = max_records.map_or(limit, |left| limit.min(u32::try_from(left).unwrap_or(MAX_LIMIT)));
            trace.items = fields.clone();
            for (item, value) in filters {
                if let Some(h) = subject_of(&key, item, &Value::String(value.clone())) {
                    trace.subjects.insert(h);
                }
            }
            let sealer = super::cursor::Sealer::new(&key, &g.id, &mount.resource);
            let after = match cursor {
                Some(c) => {
                    Some(sealer.open(c).ok_or_else(|| AppError::field("cursor", "无效的游标 (invalid cursor)"))?)
                }
                None => None,
            };
            records(p, &mount, &g, &fields, filters, after, limit, &sealer, trace).await?
        }
        Op::Verify { matches, check } => {
            for (item, value) in matches.iter().chain(check.iter()) {
                if let Some(h) = subject_of(&key, item, value) {
                    trace.subjects.insert(h);
                }
            }
            trace.items = check.keys().cloned().collect();
            verify(p, &mount, matches, check, trace).await?
        }
        Op::Api { method, path, query, headers, body } => {
            super::proxy::api(p, &entry, &g, &mount, (method, path, query.as_deref(), headers, body), trace).await?
        }
    };
    let delivered = match &answer {
        Answer::Records { items, .. } => items.len() as u64,
        Answer::Verify { .. } => 0,
        Answer::Api { .. } => trace.records,
    };
    super::usage::add_records(p, &g.id, &day, delivered, &ts(now)).await?;
    Ok(answer)
}

/// Asks the node; maps its failures to 503/504/502.
pub(super) async fn ask(p: &Platform, mount: &Mount, req: Request) -> Result<Reply> {
    match p.nodes.request(&mount.node, req, p.config.node_timeout).await {
        Ok(Reply::Failed { code: FailCode::UpstreamTimeout, message }) => {
            tracing::warn!(node = %mount.node, %message, "the provider's upstream did not answer in time");
            Err(AppError::GatewayTimeout(
                "提供部门的上游接口未及时应答 (the provider's upstream timed out: upstream_timeout)".into(),
            ))
        }
        Ok(Reply::Failed { code, message }) => {
            let code = shuqiao_domain::entry::api_str(&code).unwrap_or_default();
            tracing::warn!(node = %mount.node, %code, %message, "the node could not serve a request");
            Err(AppError::BadGateway(format!("提供部门的数据源无法应答 (the provider's source failed: {code})")))
        }
        Ok(reply) => Ok(reply),
        Err(e) => Err(node_error(e)),
    }
}

/// The rows of a Rows reply, refusing columns that were not asked for, more rows than the `limit` asked, and
/// ragged rows.
fn rows_of(reply: Reply, asked: &[String], limit: u32) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let Reply::Rows { columns, rows } = reply else {
        return Err(AppError::BadGateway("节点应答类型错误 (the node answered something else than rows)".into()));
    };
    if rows.len() > limit as usize {
        tracing::warn!(rows = rows.len(), limit, "a node answered more rows than asked for");
        return Err(AppError::BadGateway(format!(
            "节点返回的行数超过请求的上限，已拒绝 (the node answered {} rows where at most {limit} were asked for; refused)",
            rows.len()
        )));
    }
    if let Some(extra) = columns.iter().find(|c| !asked.contains(c)) {
        tracing::warn!(column = %extra, "a node answered a column that was not asked for");
        return Err(AppError::BadGateway(format!(
            "节点返回了未请求的列，已拒绝 (the node answered column `{extra}`, which was not asked for; refused)"
        )));
    }
    if rows.iter().any(|r| r.len() != columns.len()) {
        return Err(AppError::BadGateway("节点应答的行列数不一致 (ragged rows; refused)".into()));
    }
    Ok((columns, rows))
}

#[allow(clippy::too_many_arguments)]
async fn records(
    p: &Platform,
    mount: &Mount,
    g: &GrantView,
    fields: &[String],
    filters: &[(String, String)],
    after: Option<Vec<Value>>,
    limit: u32,
    sealer: &super::cursor::Sealer,
    trace: &mut Trace,
) -> Result<Answer> {
    let (source, table) = mount.table();
    let mut asked: Vec<String> = fields.iter().filter_map(|f| mount.column_map.get(f).cloned()).collect();
    for k in &mount.key_columns {
        if !asked.contains(k) {
            asked.push(k.clone());
        }
    }
    let filters: Vec<Filter> = filters
        .iter()
        .filter_map(|(item, v)| mount.column_map.get(item).map(|c| Filter { column: c.clone(), value: v.clone() }))
        .collect();
    let req = Request::Query {
        source,
        table,
        columns: asked.clone(),
        key_columns: mount.key_columns.clone(),
        filters,
        after,
        limit: limit + 1,
    };
    let (columns, mut rows) = rows_of(ask(p, mount, req).await?, &asked, limit + 1)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let index = |col: &str| columns.iter().position(|c| c == col);
    let key = p.subject_key.bytes();
    // Items whose column is a key column are touched even when not returned.
    let touched: Vec<(&String, usize)> = mount
        .column_map
        .iter()
        .filter(|(_, col)| asked.contains(col))
        .filter_map(|(item, col)| index(col).map(|i| (item, i)))
        .collect();
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut out = Map::new();
        for f in fields {
            let v = mount.column_map.get(f).and_then(|c| index(c)).and_then(|i| row.get(i)).unwrap_or(&Value::Null);
            let rule = g.masking.get(f).copied().unwrap_or(MaskRule::None);
            out.insert(f.clone(), mask_value(rule, key, v));
        }
        for (item, i) in &touched {
            if let Some(h) = row.get(*i).and_then(|v| subject_of(key, item, v)) {
                trace.subjects.insert(h);
            }
        }
        items.push(out);
    }
    trace.records = items.len() as u64;
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => {
            let keys: Vec<Value> = mount
                .key_columns
                .iter()
                .map(|k| index(k).and_then(|i| last.get(i)).cloned().unwrap_or(Value::Null))
                .collect();
            Some(sealer.seal(&keys)?)
        }
        _ => None,
    };
    Ok(Answer::Records { items, next_cursor })
}

fn same(a: &Value, b: &Value) -> bool {
    value_text(a).trim() == value_text(b).trim()
}

async fn verify(
    p: &Platform,
    mount: &Mount,
    matches: &BTreeMap<String, Value>,
    check: &BTreeMap<String, Value>,
    trace: &mut Trace,
) -> Result<Answer> {
    let (source, table) = mount.table();
    let mut asked: Vec<String> = check.keys().filter_map(|i| mount.column_map.get(i).cloned()).collect();
    if asked.is_empty() {
        asked = mount.key_columns.clone();
    }
    let filters: Vec<Filter> = matches
        .iter()
        .filter_map(|(item, v)| {
            mount.column_map.get(item).map(|c| Filter { column: c.clone(), value: value_text(v).trim().to_owned() })
        })
        .collect();
    let req = Request::Query {
        source,
        table,
        columns: asked.clone(),
        key_columns: mount.key_columns.clone(),
        filters,
        after: None,
        limit: 2,
    };
    let (columns, rows) = rows_of(ask(p, mount, req).await?, &asked, 2)?;
    trace.records = rows.len() as u64;
    let index = |col: &str| columns.iter().position(|c| c == col);
    let items = check
        .iter()
        .map(|(item, want)| {
            let col = mount.column_map.get(item).and_then(|c| index(c));
            let ok = col.is_some_and(|i| rows.iter().any(|r| r.get(i).is_some_and(|v| same(v, want))));
            (item.clone(), ok)
        })
        .collect();
    Ok(Answer::Verify { found: !rows.is_empty(), items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_runs_to_midnight_in_china() {
        // 2026-03-01 23:59:00 in China is 15:59:00 UTC.
        let t = time::macros::datetime!(2026-03-01 15:59:00 UTC);
        assert_eq!(seconds_to_midnight_cn(t), 60);
        let t = time::macros::datetime!(2026-03-01 16:00:00 UTC);
        assert_eq!(seconds_to_midnight_cn(t), 86400);
    }
}
