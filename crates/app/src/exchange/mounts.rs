//! Mounts (挂接资源, SPEC §5): where a published entry's data lives — a table or an upstream API behind one of the
//! providing department's nodes — and how its items map to source columns. A mount is checked by asking the node
//! for the source's columns; only a mount whose last check passed serves data.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shuqiao_domain::FieldError;
use shuqiao_domain::codes::ResourceCode;
use shuqiao_domain::entry::{DataType, Entry, Status};
use shuqiao_domain::roles::Role;
use shuqiao_exchange::{Column, FailCode, Reply, Request};
use shuqiao_store::exchange::{self as store, MountRow};
use shuqiao_store::{Conn, catalog, ts};

use super::registry::NodeError;
use crate::audit::{Actor, AuditEvent, record};
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

/// `PUT /catalog/{class}/{seq}/mount` as sent: loose, so that every problem can be reported.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountInput {
    pub kind: Option<String>,
    pub node: Option<String>,
    pub source: Option<Value>,
    pub key_columns: Option<Vec<String>>,
    pub change_column: Option<String>,
    pub column_map: Option<BTreeMap<String, String>>,
}

/// A stored mount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    pub resource: String,
    pub kind: String,
    pub node: String,
    /// table: `{name, table}`; api: `{url, headers}`.
    pub source: Value,
    pub key_columns: Vec<String>,
    pub change_column: Option<String>,
    /// item name → source column.
    pub column_map: BTreeMap<String, String>,
}

impl Mount {
    pub fn table(&self) -> (String, String) {
        let s = |k: &str| self.source.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        (s("name"), s("table"))
    }
    pub fn api(&self) -> (String, Vec<(String, String)>) {
        let url = self.source.get("url").and_then(Value::as_str).unwrap_or_default().to_owned();
        let headers = self
            .source
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| h.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
            .unwrap_or_default();
        (url, headers)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `missing`, `extra`, `type_mismatch`, `unmapped`, `missing_key`, `unknown_source`, `unknown_table`, …
    pub problem: String,
    /// `error` fails the check; `warning` does not.
    pub severity: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub ok: bool,
    pub problems: Vec<Problem>,
    pub checked_at: String,
    /// The source's columns as the node reported them.
    #[serde(default)]
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MountView {
    #[serde(flatten)]
    pub mount: Mount,
    pub department: String,
    /// The last check; `null` if never checked since the mount was last changed.
    pub check: Option<CheckResult>,
    pub updated_at: String,
}

fn view(row: &MountRow) -> Result<MountView> {
    Ok(MountView {
        mount: crate::sharing::from_json("mount", &row.data)?,
        department: row.department.clone(),
        check: row.check_result.as_deref().map(|c| crate::sharing::from_json("mount check", c)).transpose()?,
        updated_at: row.updated_at.clone(),
    })
}

fn not_found() -> AppError {
    AppError::NotFound("信息资源不存在 (no such catalog entry)".into())
}

/// The served entry of `code` and whether it is published; 404 if none.
async fn served_entry(c: &mut Conn, code: &ResourceCode) -> Result<Entry> {
    let row = catalog::served(c, &code.to_string()).await?.ok_or_else(not_found)?;
    crate::index::parse_entry(&row)
}

/// The providing department's catalogers only.
fn require_cataloger(who: &Principal, entry: &Entry) -> Result<()> {
    who.require(&[Role::Cataloger])?;
    if who.department.as_deref() != Some(entry.provider.id.as_str()) {
        return Err(AppError::Forbidden(
            "只有提供部门的目录编制员可以挂接资源 (only the providing department's catalogers may mount data)".into(),
        ));
    }
    Ok(())
}

/// `PUT /catalog/{class}/{seq}/mount` (cataloger of the providing department; entry published).
pub async fn put(p: &Platform, who: &Principal, code: ResourceCode, input: &MountInput) -> Result<MountView> {
    let mut tx = p.store.begin().await?;
    let entry = served_entry(&mut tx, &code).await?;
    if !who.sees_drafts_of(&entry.provider.id) && entry.status != Status::Published {
        return Err(not_found());
    }
    require_cataloger(who, &entry)?;
    if entry.status != Status::Published {
        return Err(AppError::Conflict("只有已发布的信息资源可以挂接 (only a published entry can be mounted)".into()));
    }
    let mut errors = Vec::new();
    let kind = input.kind.as_deref().unwrap_or_default();
    match kind {
        "table" | "api" => {}
        "file" => errors.push(FieldError::new(
            "kind",
            "文件无需挂接节点：请用 POST /catalog/{class}/{seq}/files 上传文件版本 (files need no node mount: upload \
             file versions with POST /catalog/{class}/{seq}/files)",
        )),
        _ => errors.push(FieldError::new("kind", "kind 应为 table、api 或 file (kind must be table, api or file)")),
    }
    let node = input.node.as_deref().map(str::trim).unwrap_or_default();
    if node.is_empty() {
        errors.push(FieldError::new("node", "请指定节点 (node is required: the id from POST /nodes)"));
    } else if super::nodes::of_department(&mut tx, node, &entry.provider.id).await?.is_none() {
        errors.push(FieldError::new("node", "节点不存在或不属于提供部门 (no such node of the providing department)"));
    }
    let source = input.source.clone().unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::trim).unwrap_or_default().to_owned();
    match kind {
        "table" => {
            for k in ["name", "table"] {
                if text(&source, k).is_empty() {
                    errors.push(FieldError::new(
                        format!("source.{k}"),
                        format!("表挂接需要 source.{k} (a table mount needs source.{k})"),
                    ));
                }
            }
            let keys = input.key_columns.as_deref().unwrap_or_default();
            if keys.is_empty() || keys.iter().any(|k| k.trim().is_empty()) {
                errors.push(FieldError::new(
                    "key_columns",
                    "表挂接需要至少一个键列 (a table mount needs at least one key column)",
                ));
            }
            if input.column_map.as_ref().is_none_or(BTreeMap::is_empty) {
                errors.push(FieldError::new(
                    "column_map",
                    "需要信息项到列的映射 (column_map must map the entry's items to columns)",
                ));
            }
        }
        "api" => {
            let url = text(&source, "url");
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                errors.push(FieldError::new(
                    "source.url",
                    "接口挂接需要 http(s) 地址 (an api mount needs an http:// or https:// url)",
                ));
            }
            if let Some(h) = source.get("headers")
                && !h.is_null()
                && !h.as_object().is_some_and(|o| o.values().all(Value::is_string))
            {
                errors.push(FieldError::new(
                    "source.headers",
                    "headers 应为字符串对象 (headers must be an object of strings)",
                ));
            }
        }
        _ => {}
    }
    let items: Vec<&str> = entry.items.iter().map(|i| i.name.as_str()).collect();
    let map = input.column_map.clone().unwrap_or_default();
    for (item, column) in &map {
        if !items.contains(&item.as_str()) {
            errors.push(FieldError::new(
                format!("column_map.{item}"),
                format!("“{item}”不是该信息资源的信息项 (not an item of this entry; items: {})", items.join("、")),
            ));
        }
        if column.trim().is_empty() {
            errors.push(FieldError::new(format!("column_map.{item}"), "列名不能为空 (column name is empty)"));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mount = Mount {
        resource: code.to_string(),
        kind: kind.to_owned(),
        node: node.to_owned(),
        source,
        key_columns: input.key_columns.clone().unwrap_or_default().iter().map(|k| k.trim().to_owned()).collect(),
        change_column: input.change_column.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
        column_map: map.into_iter().map(|(k, v)| (k, v.trim().to_owned())).collect(),
    };
    let now = ts(p.now());
    let row = MountRow {
        resource: mount.resource.clone(),
        department: entry.provider.id.clone(),
        node_id: mount.node.clone(),
        kind: mount.kind.clone(),
        data: crate::sharing::to_json(&mount)?,
        check_ok: None,
        check_result: None,
        checked_at: None,
        created_by: who.id.clone(),
        created_at: now.clone(),
        updated_at: now,
    };
    store::put_mount(&mut tx, &row).await?;
    // Headers may hold credentials: the audit event names the source without them.
    let ev = AuditEvent::new("mount.put", format!("entry:{}", mount.resource))
        .department(entry.provider.id.clone())
        .resource(mount.resource.clone())
        .detail(json!({
            "kind": mount.kind, "node": mount.node, "key_columns": mount.key_columns,
            "column_map": mount.column_map,
            "source": if mount.kind == "table" { mount.source.clone() } else { json!({"url": mount.api().0}) },
        }));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    let stored = store::get_mount(&mut tx, &mount.resource).await?.ok_or_else(not_found)?;
    shuqiao_store::commit(tx).await?;
    view(&stored)
}

/// `GET /catalog/{class}/{seq}/mount` (the providing department, the authority).
pub async fn get(p: &Platform, who: &Principal, code: ResourceCode) -> Result<MountView> {
    let mut c = p.store.reader().await?;
    let entry = served_entry(&mut c, &code).await?;
    if !who.sees_drafts_of(&entry.provider.id) {
        return Err(if entry.status == Status::Published {
            AppError::Forbidden("挂接信息仅提供部门可见 (only the providing department sees the mount)".into())
        } else {
            not_found()
        });
    }
    let row = store::get_mount(&mut c, &code.to_string())
        .await?
        .ok_or_else(|| AppError::NotFound("该信息资源尚未挂接 (this entry has no mount)".into()))?;
    view(&row)
}

/// `POST /catalog/{class}/{seq}/mount/check` (cataloger of the providing department): asks the node for the
/// source's columns, compares them with the entry's items and stores the result.
pub async fn check(p: &Platform, who: &Principal, code: ResourceCode) -> Result<CheckResult> {
    let (entry, row) = {
        let mut c = p.store.reader().await?;
        let entry = served_entry(&mut c, &code).await?;
        if !who.sees_drafts_of(&entry.provider.id) && entry.status != Status::Published {
            return Err(not_found());
        }
        require_cataloger(who, &entry)?;
        let row = store::get_mount(&mut c, &code.to_string())
            .await?
            .ok_or_else(|| AppError::Conflict("该信息资源尚未挂接 (mount it first: PUT …/mount)".into()))?;
        (entry, row)
    };
    let mount: Mount = crate::sharing::from_json("mount", &row.data)?;
    let now = ts(p.now());
    let result = match mount.kind.as_str() {
        "table" => {
            let (source, table) = mount.table();
            let reply = p.nodes.request(&mount.node, Request::Columns { source, table }, p.config.node_timeout).await;
            match reply {
                Ok(Reply::Columns { columns }) => compare(&entry, &mount, columns, &now),
                Ok(Reply::Failed { code, message }) => failed(code, &message, &now),
                Ok(_) => {
                    return Err(AppError::BadGateway("节点应答类型错误 (the node answered something else)".into()));
                }
                Err(e) => return Err(node_error(e)),
            }
        }
        _ => {
            let (url, headers) = mount.api();
            let req = Request::Api { url, method: "GET".into(), headers, body_base64: None };
            match p.nodes.request(&mount.node, req, p.config.node_timeout).await {
                Ok(Reply::Api { status, .. }) if status < 500 => {
                    CheckResult { ok: true, problems: Vec::new(), checked_at: now.clone(), columns: Vec::new() }
                }
                Ok(Reply::Api { status, .. }) => CheckResult {
                    ok: false,
                    problems: vec![problem(
                        None,
                        None,
                        "upstream_error",
                        &format!("上游接口返回 {status} (upstream answered {status})"),
                    )],
                    checked_at: now.clone(),
                    columns: Vec::new(),
                },
                Ok(Reply::Failed { code, message }) => failed(code, &message, &now),
                Ok(_) => {
                    return Err(AppError::BadGateway("节点应答类型错误 (the node answered something else)".into()));
                }
                Err(e) => return Err(node_error(e)),
            }
        }
    };
    let mut tx = p.store.begin().await?;
    let text = crate::sharing::to_json(&result)?;
    if !store::set_mount_check(&mut tx, &row.resource, &row.updated_at, result.ok, &text, &now).await? {
        return Err(crate::sharing::changed_meanwhile());
    }
    let ev = AuditEvent::new("mount.check", format!("entry:{}", row.resource))
        .department(row.department.clone())
        .resource(row.resource.clone())
        .result(if result.ok { "ok" } else { "failed" })
        .detail(json!({"ok": result.ok, "problems": result.problems.len()}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(result)
}

pub(crate) fn node_error(e: NodeError) -> AppError {
    match e {
        NodeError::Offline => AppError::Unavailable(
            "提供部门的前置节点未连接 (the provider's node is offline; try again when it reconnects)".into(),
        ),
        NodeError::Timeout => {
            AppError::GatewayTimeout("提供部门的前置节点未及时应答 (the provider's node timed out)".into())
        }
        NodeError::BadFrame(m) => {
            AppError::BadGateway(format!("前置节点应答无效 (the node's answer was refused: {m})"))
        }
    }
}

fn problem(item: Option<&str>, column: Option<&str>, kind: &str, message: &str) -> Problem {
    Problem {
        item: item.map(str::to_owned),
        column: column.map(str::to_owned),
        problem: kind.to_owned(),
        severity: "error".into(),
        message: message.to_owned(),
    }
}

fn warning(item: Option<&str>, column: Option<&str>, kind: &str, message: &str) -> Problem {
    Problem { severity: "warning".into(), ..problem(item, column, kind, message) }
}

fn failed(code: FailCode, message: &str, now: &str) -> CheckResult {
    let kind = serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    CheckResult {
        ok: false,
        problems: vec![problem(None, None, &kind, &format!("节点报告 (the node reports): {message}"))],
        checked_at: now.to_owned(),
        columns: Vec::new(),
    }
}

/// Whether a source column type can hold an item of `t`: C/M → text types; N/Y/B/F/I → numeric; D/T → date/time
/// or text; L → boolean, numeric or text; G → anything. An empty type (an untyped SQLite column) fits anything.
pub fn compatible(t: DataType, source_type: &str) -> bool {
    let s = source_type.to_ascii_lowercase();
    if s.trim().is_empty() {
        return true;
    }
    let has = |words: &[&str]| words.iter().any(|w| s.contains(w));
    let text = has(&["char", "text", "clob", "string", "json", "uuid", "enum", "name"]);
    let numeric = has(&["int", "num", "dec", "real", "double", "float", "money", "serial"]);
    let date = has(&["date", "time"]);
    match t {
        DataType::C | DataType::M => text,
        DataType::N | DataType::Y | DataType::B | DataType::F | DataType::I => numeric,
        DataType::D | DataType::T => date || text,
        DataType::L => has(&["bool", "bit"]) || numeric || text,
        DataType::G => true,
    }
}

/// Compares the source's columns with the mount and the entry's items.
pub fn compare(entry: &Entry, mount: &Mount, columns: Vec<Column>, now: &str) -> CheckResult {
    let by_name: HashMap<&str, &Column> = columns.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut problems = Vec::new();
    for item in &entry.items {
        let Some(column) = mount.column_map.get(&item.name) else {
            problems.push(warning(
                Some(&item.name),
                None,
                "unmapped",
                "信息项未映射到列，无法提供 (the item is not mapped to a column and cannot be served)",
            ));
            continue;
        };
        match by_name.get(column.as_str()) {
            None => problems.push(problem(
                Some(&item.name),
                Some(column),
                "missing",
                &format!("数据源中没有列“{column}” (the source has no column `{column}`)"),
            )),
            Some(c) if !compatible(item.data_type, &c.data_type) => problems.push(problem(
                Some(&item.name),
                Some(column),
                "type_mismatch",
                &format!(
                    "信息项类型 {:?} 与列类型 {} 不兼容 (item type {:?} does not fit column type `{}`)",
                    item.data_type, c.data_type, item.data_type, c.data_type
                ),
            )),
            Some(_) => {}
        }
    }
    for key in mount.key_columns.iter().chain(mount.change_column.iter()) {
        if !by_name.contains_key(key.as_str()) {
            problems.push(problem(
                None,
                Some(key),
                "missing_key",
                &format!("数据源中没有键列或变更列“{key}” (the source has no key/change column `{key}`)"),
            ));
        }
    }
    let mapped: Vec<&str> = mount.column_map.values().map(String::as_str).collect();
    for c in &columns {
        if !mapped.contains(&c.name.as_str())
            && !mount.key_columns.contains(&c.name)
            && mount.change_column.as_ref() != Some(&c.name)
        {
            problems.push(warning(
                None,
                Some(&c.name),
                "extra",
                &format!("列“{}”未映射到任何信息项，不会提供 (column not mapped; never served)", c.name),
            ));
        }
    }
    let ok = !problems.iter().any(|p| p.severity == "error");
    CheckResult { ok, problems, checked_at: now.to_owned(), columns }
}

/// The mount of a resource if it may serve data; 503 saying why not otherwise.
/// Whether an entry's mount may serve data, as the gateway caches it.
#[derive(Debug, Clone)]
pub(crate) enum Serving {
    Ready(std::sync::Arc<Mount>),
    NotMounted,
    CheckFailed,
    NotChecked,
}

impl Serving {
    pub(crate) fn refusal(&self) -> AppError {
        match self {
            Serving::Ready(_) => AppError::Internal(anyhow::anyhow!("a ready mount is no refusal")),
            Serving::NotMounted => {
                AppError::Unavailable("该信息资源尚未挂接数据 (the provider has not mounted this entry's data)".into())
            }
            Serving::CheckFailed => AppError::Unavailable(
                "该信息资源的挂接检查未通过，暂不能提供数据 (the mount's last check failed; the provider must fix it)"
                    .into(),
            ),
            Serving::NotChecked => AppError::Unavailable(
                "该信息资源的挂接尚未检查，暂不能提供数据 (the mount has not been checked yet)".into(),
            ),
        }
    }
}

pub(crate) async fn serving_state(c: &mut Conn, resource: &str) -> Result<Serving> {
    let Some(row) = store::get_mount(c, resource).await? else { return Ok(Serving::NotMounted) };
    match row.check_ok {
        Some(1) => Ok(Serving::Ready(std::sync::Arc::new(crate::sharing::from_json("mount", &row.data)?))),
        Some(_) => Ok(Serving::CheckFailed),
        None => Ok(Serving::NotChecked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_compatibility() {
        assert!(compatible(DataType::C, "TEXT"));
        assert!(compatible(DataType::C, "character varying"));
        assert!(!compatible(DataType::C, "integer"));
        assert!(compatible(DataType::N, "numeric(10,2)"));
        assert!(compatible(DataType::I, "BIGINT"));
        assert!(!compatible(DataType::I, "text"));
        assert!(compatible(DataType::D, "date"));
        assert!(compatible(DataType::D, "TEXT"));
        assert!(compatible(DataType::T, "timestamp with time zone"));
        assert!(!compatible(DataType::D, "integer"));
        assert!(compatible(DataType::C, ""));
    }
}
