//! Audit viewer and chain verification, monitoring charts, and the administrators' lists (departments, users,
//! API clients, nodes).

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;
use shuqiao_app::audit::{self, VerifyReport};
use shuqiao_app::catalog::{self as catalog_uc, CatalogQuery};
use shuqiao_app::sharing::applications;
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::AppStatus;
use shuqiao_store::audit::EventFilter;

use axum::http::StatusCode;
use shuqiao_app::accounts::{ClientInput, DepartmentInput, DepartmentKind, UserInput};
use shuqiao_app::exchange::nodes::NodeInput;

use super::cases::{ActionForm, Errors, field, form, validation, with_options};
use super::html;
use super::sharing::ListPage;
use crate::console::Posted;
use crate::console::charts;
use crate::console::forms::FormData;
use crate::console::i18n::china;
use crate::console::view::{self, Cell, Layout, Table, query, redirect_flash};
use crate::console::{Ctx, Fail};

const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct AuditParams {
    action: Option<String>,
    resource: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
    sort: Option<String>,
    dir: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    action: String,
    resource: String,
    from: String,
    to: String,
    table: Table,
    first_href: Option<String>,
    next_href: Option<String>,
}

/// `YYYY-MM-DD` (the whole day in China time) to the store's timestamp text.
fn day_bound(v: Option<&str>, end: bool) -> Option<String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(v?.trim(), fmt).ok()?;
    let t = if end { time::Time::MAX } else { time::Time::MIDNIGHT };
    Some(shuqiao_store::ts(d.with_time(t).assume_offset(china())))
}

pub async fn audit(c: Ctx, Query(q): Query<AuditParams>) -> Result<Response, Fail> {
    let t = c.t;
    let nonempty = |o: &Option<String>| o.clone().filter(|s| !s.trim().is_empty());
    let filter = EventFilter {
        department: None,
        resource: nonempty(&q.resource),
        action: nonempty(&q.action),
        from: day_bound(q.from.as_deref(), false),
        to: day_bound(q.to.as_deref(), true),
        before: q.before,
    };
    let events = audit::list(&c.p, &c.who, filter, PAGE).await?;
    let next = (events.len() == usize::try_from(PAGE).unwrap_or(50)).then(|| events.last().map(|e| e.seq)).flatten();
    let rows = events
        .iter()
        .map(|e| {
            vec![
                Cell::text(e.seq.to_string()).key(format!("{:012}", e.seq)),
                Cell::text(t.datetime(&e.at)).key(e.at.clone()),
                Cell::text(e.actor_name.clone()),
                Cell::text(e.action.clone()),
                Cell::text(e.object.clone()),
                Cell::text(e.purpose.clone().unwrap_or_default()),
                if e.result == "ok" { Cell::text(e.result.clone()) } else { Cell::text(e.result.clone()).class("bad") },
            ]
        })
        .collect();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let (action, resource, from, to) = (v(&q.action), v(&q.resource), v(&q.from), v(&q.to));
    let params =
        [("action", action.as_str()), ("resource", resource.as_str()), ("from", from.as_str()), ("to", to.as_str())];
    let labels = [
        t.get("audit.seq"),
        t.get("audit.time"),
        t.get("audit.actor"),
        t.get("audit.action"),
        t.get("audit.object"),
        t.get("audit.purpose"),
        t.get("audit.result"),
    ];
    let table = Table::new("/audit", &params, &labels, rows, q.sort.as_deref(), q.dir.as_deref());
    let first_href = q.before.map(|_| format!("/audit{}", query(&params)));
    let next_href = next.map(|n| {
        let n = n.to_string();
        let mut p = params.to_vec();
        p.push(("before", &n));
        format!("/audit{}", query(&p))
    });
    let title = t.get("audit.title");
    let l = view::layout(&c, title, "/audit", &[("", title)]);
    html(&AuditPage { l, action, resource, from, to, table, first_href, next_href })
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    l: Layout,
    r: VerifyReport,
}

pub async fn verify(c: Ctx) -> Result<Response, Fail> {
    let t = c.t;
    let r = audit::verify_as(&c.p, &c.who).await?;
    let title = t.get("audit.verify");
    let l = view::layout(&c, title, "/audit", &[("/audit", t.get("audit.title")), ("", title)]);
    html(&VerifyPage { l, r })
}

// ---- monitoring ----

#[derive(Template)]
#[template(path = "monitor.html")]
struct MonitorPage {
    l: Layout,
    charts: Vec<(String, String)>,
    overdue: usize,
}

pub async fn monitor(c: Ctx) -> Result<Response, Fail> {
    let t = c.t;
    c.who.require(&[Role::Authority])?;
    // Applications by state: counted page by page through the same list the API serves (capped at 5,000 each).
    let mut by_state = Vec::new();
    let mut overdue_by_day: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for st in AppStatus::ALL {
        let mut n = 0u64;
        let mut after: Option<String> = None;
        for _ in 0..10 {
            let page = applications::list(&c.p, &c.who, Some("all"), Some(st.as_str()), after.as_deref(), 500).await?;
            n += u64::try_from(page.len()).unwrap_or(0);
            for a in page.iter().filter(|a| a.overdue) {
                if let Some(d) = a.deadline {
                    *overdue_by_day.entry(d.to_string()).or_default() += 1;
                }
            }
            if page.len() < 500 {
                break;
            }
            after = page.last().map(|a| format!("{}|{}", a.created_at, a.id));
        }
        by_state.push((t.label("astatus", st.as_str()).to_owned(), n));
    }
    let overdue = usize::try_from(overdue_by_day.values().sum::<u64>()).unwrap_or(0);
    let facets = catalog_uc::search(&c.p, &c.who, CatalogQuery { limit: 1, ..CatalogQuery::default() }).await?.facets;
    let facet = |dim: &str, prefix: &str| -> Vec<(String, u64)> {
        facets
            .get(dim)
            .map(|v| {
                v.iter()
                    .map(|f| {
                        (
                            if prefix.is_empty() { f.value.clone() } else { t.label(prefix, &f.value).to_owned() },
                            f.count,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let trend: Vec<(String, u64)> = overdue_by_day.into_iter().map(|(d, n)| (t.date(&d), n)).collect();
    let volume = shuqiao_app::exchange::volume::volume(&c.p, &c.who, 30).await?;
    let volume_by_day: Vec<(String, u64)> = volume.by_day.iter().map(|(d, n)| (t.date(d), *n)).collect();
    let charts = vec![
        (t.get("monitor.apps_by_state").to_owned(), charts::bars(t.get("monitor.apps_by_state"), &by_state, &[])),
        (t.get("monitor.overdue").to_owned(), charts::line(t.get("monitor.overdue"), &trend)),
        (
            t.get("monitor.entries_by_share").to_owned(),
            charts::bars(t.get("monitor.entries_by_share"), &facet("share_type", "share"), &[]),
        ),
        (
            t.get("monitor.entries_by_class").to_owned(),
            charts::bars(t.get("monitor.entries_by_class"), &by_lei(t, &facet("class", "")), &[]),
        ),
        (t.get("monitor.volume_by_day").to_owned(), charts::line(t.get("monitor.volume_by_day"), &volume_by_day)),
        (
            t.get("monitor.volume_by_dept").to_owned(),
            charts::bars(t.get("monitor.volume_by_dept"), &volume.by_department, &[]),
        ),
    ];
    let title = t.get("monitor.title");
    let l = view::layout(&c, title, "/monitor", &[("", title)]);
    html(&MonitorPage { l, charts, overdue })
}

/// Class facet counts (`101`, `203`…) summed by 类 (the first digit): basic, thematic, departmental resources.
fn by_lei(t: crate::console::i18n::Tr, counts: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut sums = [0u64; 3];
    for (class, n) in counts {
        let lei = class.chars().next().and_then(|c| c.to_digit(10)).and_then(|d| usize::try_from(d).ok());
        if let Some(sum) = lei.and_then(|d| d.checked_sub(1)).and_then(|i| sums.get_mut(i)) {
            *sum += n;
        }
    }
    ["lei.1", "lei.2", "lei.3"].iter().zip(sums).map(|(k, n)| (t.get(k).to_owned(), n)).collect()
}

// ---- administration ----

#[derive(Deserialize, Default)]
pub struct AdminParams {
    after: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

/// What a list page of the administrators shows under its table: a create form, its errors, a secret shown once.
#[derive(Default)]
pub struct Extra {
    forms: Vec<ActionForm>,
    secret: Option<(String, String)>,
    errors: usize,
}

#[allow(clippy::too_many_arguments)]
fn admin_list(
    c: &Ctx,
    base: &str,
    title_key: &str,
    labels: &[&str],
    rows: Vec<Vec<Cell>>,
    q: &AdminParams,
    next_after: Option<String>,
    extra: Extra,
) -> Result<Response, Fail> {
    let t = c.t;
    let table = Table::new(base, &[], labels, rows, q.sort.as_deref(), q.dir.as_deref());
    let title = t.get(title_key);
    let l = view::layout(c, title, base, &[("", title)]);
    let bad = extra.errors > 0;
    let mut r = html(&ListPage {
        l,
        base: base.to_owned(),
        intro: String::new(),
        actions: Vec::new(),
        filters: Vec::new(),
        hidden: Vec::new(),
        table,
        first_href: q.after.as_ref().map(|_| base.to_owned()),
        next_href: next_after.map(|a| format!("{base}{}", query(&[("after", &a)]))),
        forms: extra.forms,
        secret: extra.secret,
        has_errors: bad,
    })?;
    if bad {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

fn full(n: usize) -> bool {
    n == usize::try_from(PAGE).unwrap_or(50)
}

fn closed(mut f: ActionForm, errors: &Errors) -> ActionForm {
    f.open = !errors.is_empty();
    f
}

async fn departments_page(c: &Ctx, q: &AdminParams, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    c.who.require(&[Role::PlatformAdmin])?;
    let items = shuqiao_app::accounts::list_departments(&c.p, q.after.as_deref(), PAGE).await?;
    let next = full(items.len()).then(|| items.last().map(|d| d.id.clone())).flatten();
    let rows = items
        .iter()
        .map(|d| {
            vec![
                Cell::text(d.name.clone()),
                Cell::text(d.credit_code.clone()),
                Cell::text(d.region.clone()),
                Cell::text(t.label("dept.kind", &d.kind)),
            ]
        })
        .collect();
    let labels = [t.get("dept.name"), t.get("dept.credit_code"), t.get("dept.region"), t.get("dept.kind")];
    let regions = shuqiao_app::accounts::list_regions(&c.p)
        .await?
        .into_iter()
        .map(|r| (r.code.clone(), format!("{} {}", r.code, r.name)))
        .collect();
    let kinds =
        ["government", "institution"].iter().map(|k| ((*k).to_owned(), t.label("dept.kind", k).to_owned())).collect();
    let create = form(
        "dept",
        "/admin/departments".into(),
        t.get("admin.new_department"),
        vec![
            field(t, "name", "dept.name", "text", f, &errors),
            field(t, "credit_code", "dept.credit_code", "text", f, &errors),
            with_options(field(t, "region", "dept.region", "select", f, &errors), regions),
            with_options(field(t, "kind", "dept.kind", "select", f, &errors), kinds),
        ],
        t.get("admin.create"),
    );
    let extra = Extra { forms: vec![closed(create, &errors)], secret: None, errors: errors.len() };
    admin_list(c, "/admin/departments", "nav.departments", &labels, rows, q, next, extra)
}

pub async fn departments(c: Ctx, Query(q): Query<AdminParams>) -> Result<Response, Fail> {
    departments_page(&c, &q, None, Vec::new()).await
}

pub async fn create_department(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let kind = match f.get("kind") {
        Some("institution") => DepartmentKind::Institution,
        _ => DepartmentKind::Government,
    };
    let input = DepartmentInput {
        name: f.text("name").unwrap_or_default(),
        credit_code: f.text("credit_code").unwrap_or_default(),
        region: f.text("region").unwrap_or_default(),
        parent: None,
        kind,
    };
    match shuqiao_app::accounts::create_department(&c.p, &c.who, input).await {
        Ok(_) => Ok(redirect_flash(&c, "/admin/departments", "flash.created", "")),
        Err(e) => departments_page(&c, &AdminParams::default(), Some(&f), validation(e)?).await,
    }
}

fn role_label(c: &Ctx, r: Role) -> String {
    match c.t.lang() {
        crate::console::i18n::Lang::Zh => r.label_zh().to_owned(),
        crate::console::i18n::Lang::En => r.as_str().replace('_', " "),
    }
}

async fn users_page(c: &Ctx, q: &AdminParams, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    let items = shuqiao_app::accounts::list_users(&c.p, &c.who, q.after.as_deref(), PAGE).await?;
    let next = full(items.len()).then(|| items.last().map(|u| u.username.clone())).flatten();
    let names = super::catalog::department_names(c).await?;
    let rows = items
        .iter()
        .map(|u| {
            vec![
                Cell::text(u.username.clone()),
                Cell::text(u.display_name.clone()),
                Cell::text(u.department.as_ref().and_then(|d| names.get(d).cloned()).unwrap_or_else(|| "—".into())),
                Cell::text(u.roles.iter().map(|r| role_label(c, *r)).collect::<Vec<_>>().join("、")),
            ]
        })
        .collect();
    let labels = [t.get("user.username"), t.get("user.display_name"), t.get("home.department"), t.get("user.roles")];
    let roles: Vec<(String, String)> = if c.who.has(Role::PlatformAdmin) {
        Role::ALL.to_vec()
    } else {
        vec![Role::DepartmentAdmin, Role::Cataloger, Role::Reviewer, Role::Consumer]
    }
    .into_iter()
    .map(|r| (r.as_str().to_owned(), role_label(c, r)))
    .collect();
    let mut fields = vec![
        field(t, "username", "user.username", "text", f, &errors),
        field(t, "display_name", "user.display_name", "text", f, &errors),
        field(t, "password", "login.password", "password", None, &errors),
        with_options(field(t, "roles", "user.roles", "select", f, &errors), roles),
    ];
    if c.who.has(Role::PlatformAdmin) {
        let mut depts: Vec<(String, String)> = names.into_iter().collect();
        depts.sort_by(|a, b| a.1.cmp(&b.1));
        fields.push(with_options(field(t, "department", "home.department", "select", f, &errors), depts));
    }
    let create = form("user", "/admin/users".into(), t.get("admin.new_user"), fields, t.get("admin.create"));
    let extra = Extra { forms: vec![closed(create, &errors)], secret: None, errors: errors.len() };
    admin_list(c, "/admin/users", "nav.users", &labels, rows, q, next, extra)
}

pub async fn users(c: Ctx, Query(q): Query<AdminParams>) -> Result<Response, Fail> {
    users_page(&c, &q, None, Vec::new()).await
}

pub async fn create_user(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let department = if c.who.has(Role::PlatformAdmin) { f.text("department") } else { c.who.department.clone() };
    let input = UserInput {
        username: f.text("username").unwrap_or_default(),
        password: f.get("password").unwrap_or("").to_owned(),
        display_name: f.text("display_name").unwrap_or_default(),
        department,
        roles: f.all("roles").into_iter().filter(|r| !r.is_empty()).collect(),
    };
    match shuqiao_app::accounts::create_user(&c.p, &c.who, input).await {
        Ok(_) => Ok(redirect_flash(&c, "/admin/users", "flash.created", "")),
        Err(e) => users_page(&c, &AdminParams::default(), Some(&f), validation(e)?).await,
    }
}

async fn clients_page(
    c: &Ctx,
    q: &AdminParams,
    f: Option<&FormData>,
    errors: Errors,
    secret: Option<(String, String)>,
) -> Result<Response, Fail> {
    let t = c.t;
    let items = shuqiao_app::accounts::list_clients(&c.p, &c.who).await?;
    let rows = items
        .iter()
        .map(|cl| {
            vec![
                Cell::text(cl.name.clone()),
                Cell::text(cl.client_id.clone()),
                Cell::text(cl.roles.iter().map(|r| role_label(c, *r)).collect::<Vec<_>>().join("、")),
                Cell::text(t.datetime(&cl.created_at)).key(cl.created_at.clone()),
                Cell::text(t.get(if cl.revoked { "gstatus.revoked" } else { "gstatus.active" })),
            ]
        })
        .collect();
    let labels = [t.get("client.name"), t.get("client.id"), t.get("user.roles"), t.get("created"), t.get("status")];
    let create = form(
        "client",
        "/admin/clients".into(),
        t.get("admin.new_client"),
        vec![field(t, "name", "client.name", "text", f, &errors)],
        t.get("admin.create"),
    );
    let extra = Extra { forms: vec![closed(create, &errors)], secret, errors: errors.len() };
    admin_list(c, "/admin/clients", "nav.clients", &labels, rows, q, None, extra)
}

pub async fn clients(c: Ctx, Query(q): Query<AdminParams>) -> Result<Response, Fail> {
    clients_page(&c, &q, None, Vec::new(), None).await
}

/// Creates an API client and shows its token once, on this response only (it is stored hashed).
pub async fn create_client(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let input =
        ClientInput { name: f.text("name").unwrap_or_default(), roles: vec![Role::Consumer.as_str().to_owned()] };
    match shuqiao_app::accounts::create_client(&c.p, &c.who, input).await {
        Ok(created) => {
            let label = format!("{}（{}）", c.t.get("admin.token_once"), created.name);
            clients_page(&c, &AdminParams::default(), None, Vec::new(), Some((label, created.token))).await
        }
        Err(e) => clients_page(&c, &AdminParams::default(), Some(&f), validation(e)?, None).await,
    }
}

async fn nodes_page(c: &Ctx, q: &AdminParams, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    let items = shuqiao_app::exchange::nodes::list(&c.p, &c.who, q.after.as_deref(), PAGE).await?;
    let next = full(items.len()).then(|| items.last().map(|n| n.id.clone())).flatten();
    let rows = items
        .iter()
        .map(|n| {
            vec![
                Cell::text(n.name.clone()),
                Cell::text(n.id.clone()),
                if n.connected {
                    Cell::text(t.get("yes")).class("ok-text")
                } else {
                    Cell::text(t.get("no")).class("bad")
                },
                Cell::text(n.last_seen.as_deref().map(|s| t.datetime(s)).unwrap_or_else(|| "—".into()))
                    .key(n.last_seen.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let labels = [t.get("node.name"), t.get("client.id"), t.get("node.connected"), t.get("node.last_seen")];
    let mut forms = Vec::new();
    if c.who.has(Role::DepartmentAdmin) {
        forms.push(closed(
            form(
                "node",
                "/admin/nodes".into(),
                t.get("admin.new_node"),
                vec![
                    field(t, "name", "node.name", "text", f, &errors),
                    field(t, "public_key", "node.public_key", "text", f, &errors),
                ],
                t.get("admin.create"),
            ),
            &errors,
        ));
    }
    let extra = Extra { forms, secret: None, errors: errors.len() };
    admin_list(c, "/admin/nodes", "nav.nodes", &labels, rows, q, next, extra)
}

pub async fn nodes(c: Ctx, Query(q): Query<AdminParams>) -> Result<Response, Fail> {
    nodes_page(&c, &q, None, Vec::new()).await
}

pub async fn register_node(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let input = NodeInput { name: f.text("name"), public_key: f.text("public_key") };
    match shuqiao_app::exchange::nodes::register(&c.p, &c.who, input).await {
        Ok(_) => Ok(redirect_flash(&c, "/admin/nodes", "flash.created", "")),
        Err(e) => nodes_page(&c, &AdminParams::default(), Some(&f), validation(e)?).await,
    }
}
