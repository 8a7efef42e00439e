//! `/api/v1`: the routes of API.md. [`ROUTES`] lists every operation once; the router and the OpenAPI document
//! are both built from it, so they cannot disagree.

mod accounts;
mod audit;
mod catalog;
mod data;
mod files;
mod meta;
mod nodes;
mod sharing;
mod sync;

use axum::Router;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::AppState;

pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Whether a bearer token is required.
    pub auth: bool,
    /// Request body media type, if any.
    pub body: Option<&'static str>,
    /// Success status.
    pub ok: u16,
}

const fn r(method: &'static str, path: &'static str, summary: &'static str, tag: &'static str) -> RouteDoc {
    RouteDoc { method, path, summary, tag, auth: true, body: None, ok: 200 }
}
const fn open(mut d: RouteDoc) -> RouteDoc {
    d.auth = false;
    d
}
const fn json(mut d: RouteDoc) -> RouteDoc {
    d.body = Some("application/json");
    d
}
const fn created(mut d: RouteDoc) -> RouteDoc {
    d.ok = 201;
    d
}

pub const ROUTES: &[RouteDoc] = &[
    json(open(r("post", "/auth/login", "登录 Log in with username and password", "accounts"))),
    RouteDoc { ok: 204, ..r("post", "/auth/logout", "退出 Log out (revoke this session token)", "accounts") },
    r("get", "/me", "当前账号 The caller: username, department, roles", "accounts"),
    r("get", "/regions", "行政区划列表 List regions", "accounts"),
    created(json(r("post", "/regions", "登记行政区划 Register a region (platform admin)", "accounts"))),
    r("get", "/departments", "部门列表 List departments", "accounts"),
    created(json(r("post", "/departments", "登记部门 Register a department (platform admin)", "accounts"))),
    r("get", "/departments/{id}", "部门详情 One department", "accounts"),
    r("get", "/users", "用户列表 List users (admin: all; department admin: own department)", "accounts"),
    created(json(r("post", "/users", "创建用户 Create a user", "accounts"))),
    r("get", "/clients", "接口客户端列表 The department's API clients", "accounts"),
    created(json(r("post", "/clients", "创建接口客户端 Create an API client; the token is shown once", "accounts"))),
    created(json(r(
        "post",
        "/nodes",
        "登记前置节点 Register a node with its ed25519 public key (department admin)",
        "exchange",
    ))),
    r("get", "/nodes", "前置节点列表 The department's nodes with connection and last-seen health", "exchange"),
    open(r(
        "get",
        "/nodes/connect",
        "节点连接 WebSocket of the node protocol (challenge → signed hello → requests); nodes only",
        "exchange",
    )),
    r("get", "/rules", "当前规则集 The active rule set", "rules"),
    open(r("get", "/calendar/deadline", "工作日期限 The Nth working day after a date", "rules")),
    open(r("get", "/openapi.json", "OpenAPI 3.1 document", "meta")),
    created(json(r("post", "/catalog", "编制目录 Create a draft catalog entry", "catalog"))),
    r("get", "/catalog", "检索目录 Search the catalog, with facets and total", "catalog"),
    r("get", "/catalog/export", "导出目录 Export published entries (xlsx, csv, json, dcat)", "catalog"),
    r("get", "/catalog/template", "目录模板 The department Excel template", "catalog"),
    RouteDoc {
        body: Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ..r("post", "/catalog/import", "导入目录 Import entries (xlsx, csv or json; all or nothing)", "catalog")
    },
    r(
        "get",
        "/catalog/{class}/{seq}",
        "目录详情 One entry (drafts only to its department and the authority)",
        "catalog",
    ),
    json(r(
        "put",
        "/catalog/{class}/{seq}",
        "修改目录 Edit a draft, or open a new version of a published entry",
        "catalog",
    )),
    r("post", "/catalog/{class}/{seq}/submit", "提交审核 draft → submitted", "catalog"),
    r("post", "/catalog/{class}/{seq}/publish", "发布 submitted → published (authority)", "catalog"),
    json(r("post", "/catalog/{class}/{seq}/return", "退回 submitted → returned with a comment (authority)", "catalog")),
    r("post", "/catalog/{class}/{seq}/retire", "撤销 published → retired", "catalog"),
    r("get", "/catalog/{class}/{seq}/versions", "历史版本 Every published version", "catalog"),
    json(r(
        "put",
        "/catalog/{class}/{seq}/mount",
        "挂接资源 Mount a published entry's data: table or api behind a node (cataloger of the provider)",
        "exchange",
    )),
    r("get", "/catalog/{class}/{seq}/mount", "挂接详情 The mount and its last check (provider, authority)", "exchange"),
    r(
        "post",
        "/catalog/{class}/{seq}/mount/check",
        "检查挂接 Compare the source's columns with the entry's items (cataloger of the provider)",
        "exchange",
    ),
    created(r(
        "post",
        "/catalog/{class}/{seq}/files",
        "上传文件 Upload a version of a file of the entry: ?name=, the file as the body, streamed; X-Shuqiao-Sha256 \
         or Content-Digest checked (cataloger of the provider)",
        "exchange",
    )),
    r(
        "get",
        "/data/{class}/{seq}/files",
        "文件列表 The entry's file versions (provider; consumers with a file grant)",
        "data",
    ),
    r(
        "get",
        "/data/{class}/{seq}/files/{id}",
        "文件下载 Download a file version, with Range for resuming; audited",
        "data",
    ),
    r("get", "/data/{class}/{seq}/records", "联机查询 Query granted items by key or filter, masked, paginated", "data"),
    json(r("post", "/data/{class}/{seq}/verify", "核验 Does a record match? Booleans only, never values", "data")),
    r(
        "get",
        "/data/{class}/{seq}/api/{*path}",
        "接口服务 Call the provider's upstream API through the gateway",
        "data",
    ),
    r(
        "post",
        "/data/{class}/{seq}/api/{*path}",
        "接口服务 Call the provider's upstream API through the gateway",
        "data",
    ),
    r(
        "put",
        "/data/{class}/{seq}/api/{*path}",
        "接口服务 Call the provider's upstream API through the gateway",
        "data",
    ),
    r(
        "patch",
        "/data/{class}/{seq}/api/{*path}",
        "接口服务 Call the provider's upstream API through the gateway",
        "data",
    ),
    r(
        "delete",
        "/data/{class}/{seq}/api/{*path}",
        "接口服务 Call the provider's upstream API through the gateway",
        "data",
    ),
    created(json(r(
        "post",
        "/subscriptions",
        "订阅库表 Subscribe a table of your node to a grant with the sync mode: {grant, node, target_table} (consumer)",
        "data",
    ))),
    r("get", "/subscriptions", "订阅列表 Subscriptions of the caller's department (consumer or provider)", "data"),
    r("get", "/subscriptions/{id}", "订阅详情 State, checkpoint, lag, last error", "data"),
    r(
        "get",
        "/subscriptions/{id}/batches",
        "交付批次 Provenance of each batch: read, published, applied, checksum",
        "data",
    ),
    r("post", "/subscriptions/{id}/pause", "暂停订阅 Pause delivery (consumer, authority)", "data"),
    r("post", "/subscriptions/{id}/resume", "恢复订阅 Resume delivery (consumer, authority)", "data"),
    r(
        "post",
        "/subscriptions/{id}/cancel",
        "取消订阅 Cancel; undelivered batches are dropped (consumer, authority)",
        "data",
    ),
    json(r(
        "post",
        "/catalog/{class}/{seq}/recall",
        "召回 Withdraw erroneous delivered records: {keys?: [{key item: value}], reason}; subscribers get the \
         correction (provider reviewer or administrator)",
        "exchange",
    )),
    r("get", "/audit/subject", "数据主体查询 Accesses that touched an ID card or credit code (auditor)", "audit"),
    r("get", "/audit/events", "审计事件 Audit events (auditor: all; a department: its own)", "audit"),
    r("get", "/audit/verify", "验证审计链 Verify the hash chain and signed checkpoints (auditor)", "audit"),
    created(json(r("post", "/applications", "共享申请 Apply for an entry's items with a purpose", "sharing"))),
    r("get", "/applications", "申请列表 Applications (?as=consumer|provider|all&status=)", "sharing"),
    r("get", "/applications/{id}", "申请详情 One application with its grant and history", "sharing"),
    json(r("post", "/applications/{id}/approve", "同意 Approve with conditions (provider reviewer)", "sharing")),
    json(r("post", "/applications/{id}/refuse", "拒绝 Refuse with a reason (provider reviewer)", "sharing")),
    json(r("post", "/applications/{id}/return", "退回 Return to the consumer (provider reviewer)", "sharing")),
    json(r("post", "/applications/{id}/dispute", "申请协商 Dispute a refusal (consumer)", "sharing")),
    json(r("post", "/applications/{id}/coordinate", "协调裁决 Final decision on a dispute (authority)", "sharing")),
    r("get", "/grants", "授权列表 Grants (?as=consumer|provider|all&status=)", "sharing"),
    r("get", "/grants/{id}", "授权详情 One grant", "sharing"),
    json(r("post", "/grants/{id}/suspend", "暂停授权 Suspend a grant (provider, authority)", "sharing")),
    json(r("post", "/grants/{id}/resume", "恢复授权 Resume a suspended grant (provider, authority)", "sharing")),
    json(r("post", "/grants/{id}/revoke", "撤销授权 Revoke a grant (provider, authority)", "sharing")),
    created(json(r("post", "/objections", "提出疑义 Report a wrong record (consumer)", "sharing"))),
    r("get", "/objections", "疑义列表 Objections (?as=consumer|provider|all&status=)", "sharing"),
    r("get", "/objections/{id}", "疑义详情 One objection", "sharing"),
    json(r("post", "/objections/{id}/confirm", "确认并更正 Confirm with a correction (provider reviewer)", "sharing")),
    json(r("post", "/objections/{id}/reject", "驳回疑义 Reject with a reason (provider reviewer)", "sharing")),
    created(json(r("post", "/demands", "提出需求 Describe data the catalog lacks (consumer)", "sharing"))),
    r("get", "/demands", "需求列表 Demands raised by or routed to the caller's department (authority: all)", "sharing"),
    r("get", "/demands/{id}", "需求详情 One demand", "sharing"),
    json(r("post", "/demands/{id}/route", "分派需求 Route to a department (authority)", "sharing")),
    json(r("post", "/demands/{id}/answer", "答复需求 Answer with an entry or decline (routed department)", "sharing")),
    r("get", "/inbox", "待办 What waits for the caller's action, oldest first", "sharing"),
    json(r(
        "post",
        "/admin/tick",
        "运维专用：执行共享定时任务 Operator only (platform admin): flag overdue answers, expire grants, flag \
         re-certification; optional body {\"now\": \"<RFC 3339>\"} runs it as of that time",
        "admin",
    )),
];

fn handler(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    Some(match (method, path) {
        ("post", "/auth/login") => post(accounts::login),
        ("post", "/auth/logout") => post(accounts::logout),
        ("get", "/me") => get(accounts::me),
        ("get", "/regions") => get(accounts::list_regions),
        ("post", "/regions") => post(accounts::create_region),
        ("get", "/departments") => get(accounts::list_departments),
        ("post", "/departments") => post(accounts::create_department),
        ("get", "/departments/{id}") => get(accounts::get_department),
        ("get", "/users") => get(accounts::list_users),
        ("post", "/users") => post(accounts::create_user),
        ("get", "/clients") => get(accounts::list_clients),
        ("post", "/clients") => post(accounts::create_client),
        ("post", "/nodes") => post(nodes::register),
        ("get", "/nodes") => get(nodes::list),
        ("get", "/nodes/connect") => get(nodes::connect),
        ("put", "/catalog/{class}/{seq}/mount") => put(nodes::put_mount),
        ("get", "/catalog/{class}/{seq}/mount") => get(nodes::get_mount),
        ("post", "/catalog/{class}/{seq}/mount/check") => post(nodes::check_mount),
        ("post", "/catalog/{class}/{seq}/files") => post(files::upload),
        ("get", "/data/{class}/{seq}/files") => get(files::list),
        ("get", "/data/{class}/{seq}/files/{id}") => get(files::download),
        ("get", "/data/{class}/{seq}/records") => get(data::records),
        ("post", "/data/{class}/{seq}/verify") => post(data::verify),
        ("get", "/data/{class}/{seq}/api/{*path}") => get(data::api),
        ("post", "/data/{class}/{seq}/api/{*path}") => post(data::api),
        ("put", "/data/{class}/{seq}/api/{*path}") => put(data::api),
        ("patch", "/data/{class}/{seq}/api/{*path}") => patch(data::api),
        ("delete", "/data/{class}/{seq}/api/{*path}") => delete(data::api),
        ("get", "/audit/subject") => get(data::audit_subject),
        ("post", "/subscriptions") => post(sync::create),
        ("get", "/subscriptions") => get(sync::list),
        ("get", "/subscriptions/{id}") => get(sync::get),
        ("get", "/subscriptions/{id}/batches") => get(sync::batches),
        ("post", "/subscriptions/{id}/pause") => post(sync::pause),
        ("post", "/subscriptions/{id}/resume") => post(sync::resume),
        ("post", "/subscriptions/{id}/cancel") => post(sync::cancel),
        ("post", "/catalog/{class}/{seq}/recall") => post(sync::recall),
        ("get", "/rules") => get(meta::rules),
        ("get", "/calendar/deadline") => get(meta::deadline),
        ("get", "/openapi.json") => get(meta::openapi),
        ("post", "/catalog") => post(catalog::create),
        ("get", "/catalog") => get(catalog::search),
        ("get", "/catalog/export") => get(catalog::export),
        ("get", "/catalog/template") => get(catalog::template),
        ("post", "/catalog/import") => post(catalog::import),
        ("get", "/catalog/{class}/{seq}") => get(catalog::get),
        ("put", "/catalog/{class}/{seq}") => put(catalog::update),
        ("post", "/catalog/{class}/{seq}/submit") => post(catalog::submit),
        ("post", "/catalog/{class}/{seq}/publish") => post(catalog::publish),
        ("post", "/catalog/{class}/{seq}/return") => post(catalog::return_entry),
        ("post", "/catalog/{class}/{seq}/retire") => post(catalog::retire),
        ("get", "/catalog/{class}/{seq}/versions") => get(catalog::versions),
        ("get", "/audit/events") => get(audit::events),
        ("get", "/audit/verify") => get(audit::verify),
        ("post", "/applications") => post(sharing::create_application),
        ("get", "/applications") => get(sharing::list_applications),
        ("get", "/applications/{id}") => get(sharing::get_application),
        ("post", "/applications/{id}/approve") => post(sharing::approve),
        ("post", "/applications/{id}/refuse") => post(sharing::refuse),
        ("post", "/applications/{id}/return") => post(sharing::return_application),
        ("post", "/applications/{id}/dispute") => post(sharing::dispute),
        ("post", "/applications/{id}/coordinate") => post(sharing::coordinate),
        ("get", "/grants") => get(sharing::list_grants),
        ("get", "/grants/{id}") => get(sharing::get_grant),
        ("post", "/grants/{id}/suspend") => post(sharing::suspend_grant),
        ("post", "/grants/{id}/resume") => post(sharing::resume_grant),
        ("post", "/grants/{id}/revoke") => post(sharing::revoke_grant),
        ("post", "/objections") => post(sharing::create_objection),
        ("get", "/objections") => get(sharing::list_objections),
        ("get", "/objections/{id}") => get(sharing::get_objection),
        ("post", "/objections/{id}/confirm") => post(sharing::confirm_objection),
        ("post", "/objections/{id}/reject") => post(sharing::reject_objection),
        ("post", "/demands") => post(sharing::create_demand),
        ("get", "/demands") => get(sharing::list_demands),
        ("get", "/demands/{id}") => get(sharing::get_demand),
        ("post", "/demands/{id}/route") => post(sharing::route_demand),
        ("post", "/demands/{id}/answer") => post(sharing::answer_demand),
        ("get", "/inbox") => get(sharing::inbox),
        ("post", "/admin/tick") => post(sharing::tick),
        _ => return None,
    })
}

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let mut by_path: Vec<(&str, MethodRouter<AppState>)> = Vec::new();
    for d in ROUTES {
        let Some(h) = handler(d.method, d.path) else { continue };
        match by_path.iter_mut().find(|(p, _)| *p == d.path) {
            Some((_, mr)) => {
                let taken = std::mem::take(mr);
                *mr = taken.merge(h);
            }
            None => by_path.push((d.path, h)),
        }
    }
    for (path, mut mr) in by_path {
        if path == "/catalog/import" {
            mr = mr.layer(axum::extract::DefaultBodyLimit::max(crate::IMPORT_LIMIT));
        }
        if path == "/catalog/{class}/{seq}/files" {
            // Streamed to disk, never held in memory; the app layer bounds the size.
            mr = mr.layer(axum::extract::DefaultBodyLimit::disable());
        }
        router = router.route(path, mr.fallback(method_not_allowed));
    }
    router
}

async fn method_not_allowed() -> crate::ApiError {
    crate::ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "方法不允许 (method not allowed)")
}
