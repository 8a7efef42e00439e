//! Sharing pages: apply (with the answer deadline shown), applications and their answers, disputes and
//! coordination, grants, objections, demands.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use shuqiao_app::AppError;
use shuqiao_app::catalog::{self as catalog_uc, parse_path_code};
use shuqiao_app::exchange::{nodes, sync};
use shuqiao_app::sharing::applications::{self, ApplicationView, CoordinateInput};
use shuqiao_app::sharing::{demands, grants, objections};
use shuqiao_domain::entry::{ShareType, api_str};
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{
    AppStatus, ApplicationInput, ConditionsInput, DemandStatus, GrantAction, GrantStatus, ObjectionStatus,
    PurposeInput, QuotaInput,
};

use super::html;
use crate::console::forms::FormData;
use crate::console::view::{self, Cell, Filter, Layout, Table, filter, query, redirect_flash};
use crate::console::{Ctx, Fail, Posted};

const PAGE: i64 = 50;
const PURPOSES: [&str; 5] =
    ["administrative_basis", "work_reference", "data_verification", "business_collaboration", "other"];
const MASKS: [&str; 7] = ["none", "id_card", "phone", "name", "address", "hash", "redact"];

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(rename = "as")]
    side: Option<String>,
    status: Option<String>,
    after: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub l: Layout,
    pub base: String,
    pub intro: String,
    pub actions: Vec<(String, String)>,
    pub filters: Vec<Filter>,
    pub hidden: Vec<(String, String)>,
    pub table: Table,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
    /// Forms under the list (e.g. create a user).
    pub forms: Vec<super::cases::ActionForm>,
    /// A secret shown once (an API client's token): (label, value).
    pub secret: Option<(String, String)>,
    pub has_errors: bool,
}

fn side_filter(c: &Ctx, current: Option<&str>) -> Filter {
    let t = c.t;
    let mut values = vec!["consumer", "provider"];
    if c.who.has(Role::Authority) {
        values.push("all");
    }
    let mut f = filter(t, "as", "side", "side", &values, current);
    if let Some(first) = f.options.first_mut() {
        first.1 = t.get("list.all").to_owned();
    }
    f
}

/// A list page of one of the sharing objects, with the side and status filters and key-set paging.
#[allow(clippy::too_many_arguments)]
fn list_page(
    c: &Ctx,
    base: &str,
    title_key: &str,
    q: &ListParams,
    status_prefix: &str,
    statuses: &[&str],
    labels: &[&str],
    rows: Vec<Vec<Cell>>,
    next_after: Option<String>,
    actions: Vec<(String, String)>,
) -> Result<Response, Fail> {
    let t = c.t;
    let side = q.side.clone().unwrap_or_default();
    let status = q.status.clone().unwrap_or_default();
    let params = [("as", side.as_str()), ("status", status.as_str())];
    let table = Table::new(base, &params, labels, rows, q.sort.as_deref(), q.dir.as_deref());
    let filters = vec![
        side_filter(c, q.side.as_deref()),
        filter(t, "status", "status", status_prefix, statuses, q.status.as_deref()),
    ];
    let first_href = q.after.as_ref().map(|_| format!("{base}{}", query(&params)));
    let next_href =
        next_after.map(|a| format!("{base}{}", query(&[("as", &side), ("status", &status), ("after", &a)])));
    let title = t.get(title_key);
    let l = view::layout(c, title, base, &[("", title)]);
    html(&ListPage {
        l,
        base: base.to_owned(),
        intro: String::new(),
        actions,
        filters,
        hidden: Vec::new(),
        table,
        first_href,
        next_href,
        forms: Vec::new(),
        secret: None,
        has_errors: false,
    })
}

fn side_arg(q: &ListParams) -> &str {
    q.side.as_deref().filter(|s| !s.is_empty()).unwrap_or("involved")
}

fn status_of(q: &ListParams, names: &[&str]) -> Option<String> {
    q.status.clone().filter(|s| names.contains(&s.as_str()))
}

fn deadline_cell(c: &Ctx, deadline: Option<String>, overdue: bool) -> Cell {
    let t = c.t;
    let text = deadline.as_deref().map(|d| t.date(d)).unwrap_or_else(|| "—".into());
    let cell = Cell::text(if overdue { format!("{text}（{}）", t.get("home.overdue")) } else { text })
        .key(deadline.unwrap_or_default());
    if overdue { cell.class("overdue") } else { cell }
}

// ---- applications ----

pub async fn applications(c: Ctx, Query(q): Query<ListParams>) -> Result<Response, Fail> {
    let t = c.t;
    let names: Vec<&str> = AppStatus::ALL.iter().map(|s| s.as_str()).collect();
    let status = status_of(&q, &names);
    let items =
        applications::list(&c.p, &c.who, Some(side_arg(&q)), status.as_deref(), q.after.as_deref(), PAGE).await?;
    let next = (items.len() == usize::try_from(PAGE).unwrap_or(50))
        .then(|| items.last().map(|a| format!("{}|{}", a.created_at, a.id)))
        .flatten();
    let rows = items
        .iter()
        .map(|a| {
            let st = a.status.as_str();
            vec![
                Cell::link(format!("{}（{}）", a.resource_name, a.resource), format!("/applications/{}", a.id)),
                Cell::text(a.consumer.name.clone()),
                Cell::text(a.provider.name.clone()),
                Cell::text(t.label("astatus", st)).class(format!("badge {st}")),
                deadline_cell(&c, a.deadline.map(|d| d.to_string()), a.overdue),
                Cell::text(t.datetime(&a.created_at)).key(a.created_at.clone()),
            ]
        })
        .collect();
    let labels = [
        t.get("app.resource"),
        t.get("app.consumer"),
        t.get("app.provider"),
        t.get("status"),
        t.get("app.deadline"),
        t.get("app.created_at"),
    ];
    list_page(&c, "/applications", "nav.applications", &q, "astatus", &names, &labels, rows, next, Vec::new())
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    l: Layout,
    resource: String,
    resource_name: String,
    provider: String,
    share: String,
    items: Vec<(String, bool)>,
    purposes: Vec<(String, String, bool)>,
    modes: Vec<(String, String, bool)>,
    purpose_text: String,
    basis: String,
    valid_until: String,
    deadline: String,
    deadline_uncovered: bool,
    errors: Vec<(String, String)>,
    has_errors: bool,
}

impl ApplyPage {
    fn error(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|(f, _)| f == field || f.starts_with(&format!("{field}.")) || f.starts_with(&format!("{field}[")))
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
            .join("；")
    }
}

#[derive(Deserialize, Default)]
pub struct ApplyQuery {
    resource: Option<String>,
}

async fn apply_page(
    c: &Ctx,
    resource: &str,
    f: Option<&FormData>,
    errors: Vec<(String, String)>,
) -> Result<Response, Fail> {
    let t = c.t;
    let (class, seq) = resource.split_once('/').ok_or_else(Fail::not_found)?;
    let entry = catalog_uc::get(&c.p, &c.who, parse_path_code(class, seq)?, None).await?;
    let e = &entry.entry;
    let chosen_items = f.map(|f| f.all("items")).unwrap_or_default();
    let chosen_modes = f.map(|f| f.all("modes")).unwrap_or_default();
    let purpose = f.and_then(|f| f.text("purpose_kind")).unwrap_or_default();
    let today = c.p.now().to_offset(crate::console::i18n::china()).date();
    let due = c.p.calendar.add_working_days(today, c.p.rules.deadlines.application_answer_working_days);
    let default_until = today.replace_year(today.year() + 1).unwrap_or(today);
    let share = api_str(&e.share.kind).unwrap_or_default();
    let title = t.get("app.new.title");
    let code = e.code.to_string();
    let entry_href = format!("/catalog/{code}");
    let l = view::layout(
        c,
        title,
        "/catalog",
        &[("/catalog", t.get("catalog.title")), (&entry_href, &e.name), ("", title)],
    );
    let page = ApplyPage {
        l,
        resource: code.clone(),
        resource_name: e.name.clone(),
        provider: e.provider.name.clone(),
        share: t.label("share", &share).to_owned(),
        items: e.items.iter().map(|i| (i.name.clone(), f.is_none() || chosen_items.contains(&i.name))).collect(),
        purposes: PURPOSES.iter().map(|p| ((*p).to_owned(), t.label("purpose", p).to_owned(), purpose == *p)).collect(),
        modes: e
            .share
            .modes
            .iter()
            .filter_map(api_str)
            .map(|m| {
                let on = chosen_modes.contains(&m) || (f.is_none() && chosen_modes.is_empty());
                let label = t.label("mode", &m).to_owned();
                (m, label, on)
            })
            .collect(),
        purpose_text: f.and_then(|f| f.get("purpose_text")).unwrap_or("").to_owned(),
        basis: f.and_then(|f| f.get("basis")).unwrap_or("").to_owned(),
        valid_until: f
            .and_then(|f| f.get("valid_until"))
            .map(str::to_owned)
            .unwrap_or_else(|| default_until.to_string()),
        deadline: if e.share.kind == ShareType::Unconditional { String::new() } else { t.day(due.deadline) },
        deadline_uncovered: !due.covered,
        has_errors: !errors.is_empty(),
        errors: errors.into_iter().map(|(f, m)| (f, t.msg(&m))).collect(),
    };
    let bad = page.has_errors;
    let mut r = html(&page)?;
    if bad {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn apply_form(c: Ctx, Query(q): Query<ApplyQuery>) -> Result<Response, Fail> {
    let resource = q.resource.unwrap_or_default();
    apply_page(&c, &resource, None, Vec::new()).await
}

pub async fn apply(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let resource = f.text("resource").unwrap_or_default();
    let input = ApplicationInput {
        resource: Some(resource.clone()),
        items: Some(f.all("items")),
        purpose: Some(PurposeInput { kind: f.text("purpose_kind"), text: f.text("purpose_text") }),
        basis: f.text("basis"),
        modes: Some(f.all("modes")),
        valid_until: f.text("valid_until"),
        expected_volume: None,
    };
    match applications::submit(&c.p, &c.who, &input).await {
        Ok(a) => Ok(redirect_flash(&c, &format!("/applications/{}", a.application.id), "flash.applied", "")),
        Err(AppError::Validation(errs)) => {
            apply_page(&c, &resource, Some(&f), errs.into_iter().map(|e| (e.field, e.message)).collect()).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "application.html")]
struct ApplicationPage {
    l: Layout,
    a: ApplicationView,
    meta: Vec<(String, String)>,
    status: String,
    status_class: String,
    overdue: bool,
    history: Vec<(String, String, String)>,
    can_answer: bool,
    can_dispute: bool,
    can_coordinate: bool,
    can_resubmit: bool,
    masks: Vec<(String, String)>,
}

pub async fn application(c: Ctx, Path(id): Path<String>) -> Result<Response, Fail> {
    let t = c.t;
    let a = applications::get(&c.p, &c.who, &id).await?;
    let ap = &a.application;
    let st = ap.status.as_str();
    let mut meta = vec![
        (t.get("app.resource").to_owned(), format!("{}（{}）", ap.resource_name, ap.resource)),
        (t.get("app.consumer").to_owned(), ap.consumer.name.clone()),
        (t.get("app.provider").to_owned(), ap.provider.name.clone()),
        (t.get("app.items").to_owned(), ap.items.join("、")),
        (
            t.get("app.purpose").to_owned(),
            format!("{}：{}", t.label("purpose", &api_str(&ap.purpose.kind).unwrap_or_default()), ap.purpose.text),
        ),
        (t.get("app.basis").to_owned(), ap.basis.clone()),
        (
            t.get("app.modes").to_owned(),
            ap.modes.iter().filter_map(api_str).map(|m| t.label("mode", &m).to_owned()).collect::<Vec<_>>().join("、"),
        ),
        (t.get("app.valid_until").to_owned(), t.day(ap.valid_until)),
        (t.get("app.deadline").to_owned(), ap.deadline.map(|d| t.day(d)).unwrap_or_else(|| "—".into())),
        (t.get("app.created_at").to_owned(), t.datetime(&ap.created_at)),
    ];
    if let Some(r) = &ap.refusal {
        meta.push((
            t.get("app.refusal").to_owned(),
            format!("{}{}", r.reason, r.legal_basis.as_deref().map(|b| format!("（{b}）")).unwrap_or_default()),
        ));
    }
    if let Some(n) = &ap.return_comment {
        meta.push((t.get("app.comment").to_owned(), n.text.clone()));
    }
    if let Some(g) = &ap.grant_id {
        meta.push((t.get("app.grant").to_owned(), g.clone()));
    }
    let history = a
        .history
        .iter()
        .map(|h| {
            let who = h.actor.get("actor_name").and_then(|v| v.as_str()).unwrap_or("").to_owned();
            (t.datetime(&h.at), h.action.clone(), who)
        })
        .collect();
    let own = |dept: &str| c.who.department.as_deref() == Some(dept);
    let title = format!("{} · {}", t.get("app.detail"), ap.resource_name);
    let l = view::layout(
        &c,
        &title,
        "/applications",
        &[("/applications", t.get("nav.applications")), ("", &ap.resource_name)],
    );
    let page = ApplicationPage {
        l,
        meta,
        status: t.label("astatus", st).to_owned(),
        status_class: st.to_owned(),
        overdue: ap.overdue,
        history,
        can_answer: ap.status == AppStatus::Submitted && own(&ap.provider.id) && c.who.has(Role::Reviewer),
        can_dispute: ap.status == AppStatus::Refused
            && !ap.is_final
            && own(&ap.consumer.id)
            && c.who.has(Role::Consumer),
        can_coordinate: ap.status == AppStatus::Disputed && c.who.has(Role::Authority),
        can_resubmit: ap.status == AppStatus::Returned && own(&ap.consumer.id) && c.who.has(Role::Consumer),
        masks: MASKS.iter().map(|m| ((*m).to_owned(), t.label("mask", m).to_owned())).collect(),
        a,
    };
    html(&page)
}

fn conditions(f: &FormData) -> ConditionsInput {
    let masking: std::collections::BTreeMap<String, String> =
        f.prefixed("mask.").into_iter().filter(|(_, v)| !v.is_empty() && v != "none").collect();
    let num = |k: &str| f.text(k).and_then(|s| s.parse::<i64>().ok());
    let quota = match (num("requests_per_day"), num("records_per_day")) {
        (None, None) => None,
        (a, b) => Some(QuotaInput { requests_per_day: a, records_per_day: b }),
    };
    let items = f.all("items");
    ConditionsInput {
        items: (!items.is_empty()).then_some(items),
        valid_until: f.text("valid_until"),
        masking: (!masking.is_empty()).then_some(masking),
        quota,
    }
}

/// `POST /applications/{id}/{approve|refuse|return|dispute|coordinate}`.
pub async fn answer(Path((id, action)): Path<(String, String)>, Posted { c, f }: Posted) -> Result<Response, Fail> {
    let p = &c.p;
    let who = &c.who;
    let (done, key) = match action.as_str() {
        "approve" => (applications::approve(p, who, &id, &conditions(&f)).await, "flash.approved"),
        "refuse" => (
            applications::refuse(p, who, &id, f.text("reason").as_deref(), f.text("legal_basis").as_deref()).await,
            "flash.refused",
        ),
        "return" => {
            (applications::return_application(p, who, &id, f.text("comment").as_deref()).await, "flash.returned")
        }
        "dispute" => (applications::dispute(p, who, &id, f.text("reason").as_deref()).await, "flash.disputed"),
        "coordinate" => {
            let c_in = conditions(&f);
            let input = CoordinateInput {
                decision: f.text("decision"),
                reason: f.text("reason"),
                items: c_in.items,
                valid_until: c_in.valid_until,
                masking: c_in.masking,
                quota: c_in.quota,
            };
            (applications::coordinate(p, who, &id, &input).await, "flash.coordinated")
        }
        _ => return Err(Fail::not_found()),
    };
    match done {
        Ok(_) => Ok(redirect_flash(&c, &format!("/applications/{id}"), key, "")),
        Err(AppError::Validation(errs)) => Err(Fail::Page {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: errs.iter().map(|e| c.t.msg(&e.message)).collect::<Vec<_>>().join("；"),
        }),
        Err(e) => Err(e.into()),
    }
}

// ---- grants ----

pub async fn grants(c: Ctx, Query(q): Query<ListParams>) -> Result<Response, Fail> {
    let t = c.t;
    let names: Vec<&str> = GrantStatus::ALL.iter().map(|s| s.as_str()).collect();
    let status = status_of(&q, &names);
    let items = grants::list(&c.p, &c.who, Some(side_arg(&q)), status.as_deref(), q.after.as_deref(), PAGE).await?;
    let next = (items.len() == usize::try_from(PAGE).unwrap_or(50))
        .then(|| items.last().map(|g| format!("{}|{}", g.created_at, g.id)))
        .flatten();
    let rows = items
        .iter()
        .map(|g| {
            let st = g.status.as_str();
            vec![
                Cell::link(format!("{}（{}）", g.resource_name, g.resource), format!("/grants/{}", g.id)),
                Cell::text(g.consumer.name.clone()),
                Cell::text(g.provider.name.clone()),
                Cell::text(g.items.join("、")),
                Cell::text(t.label("gstatus", st)).class(format!("badge {st}")),
                Cell::text(format!("{} – {}", t.day(g.valid_from), t.day(g.valid_until)))
                    .key(g.valid_until.to_string()),
            ]
        })
        .collect();
    let labels = [
        t.get("app.resource"),
        t.get("app.consumer"),
        t.get("app.provider"),
        t.get("app.items"),
        t.get("status"),
        t.get("grant.valid"),
    ];
    list_page(&c, "/grants", "grant.title", &q, "gstatus", &names, &labels, rows, next, Vec::new())
}

#[derive(Template)]
#[template(path = "grant.html")]
struct GrantPage {
    l: Layout,
    id: String,
    meta: Vec<(String, String)>,
    status: String,
    status_class: String,
    can_act: bool,
    active: bool,
    suspended: bool,
    /// The consumer's nodes, when the viewer may subscribe this grant (active, with the sync mode).
    subscribe_nodes: Vec<(String, String)>,
}

pub async fn grant(c: Ctx, Path(id): Path<String>) -> Result<Response, Fail> {
    let t = c.t;
    let g = grants::get(&c.p, &c.who, &id).await?;
    let st = g.status.as_str();
    let masking = if g.masking.is_empty() {
        "—".to_owned()
    } else {
        g.masking
            .iter()
            .map(|(k, v)| format!("{k}：{}", t.label("mask", &api_str(v).unwrap_or_default())))
            .collect::<Vec<_>>()
            .join("；")
    };
    let meta = vec![
        (t.get("app.resource").to_owned(), format!("{}（{}）", g.resource_name, g.resource)),
        (t.get("app.consumer").to_owned(), g.consumer.name.clone()),
        (t.get("app.provider").to_owned(), g.provider.name.clone()),
        (t.get("app.items").to_owned(), g.items.join("、")),
        (
            t.get("app.purpose").to_owned(),
            format!("{}：{}", t.label("purpose", &api_str(&g.purpose.kind).unwrap_or_default()), g.purpose.text),
        ),
        (
            t.get("app.modes").to_owned(),
            g.modes.iter().filter_map(api_str).map(|m| t.label("mode", &m).to_owned()).collect::<Vec<_>>().join("、"),
        ),
        (t.get("grant.valid").to_owned(), format!("{} – {}", t.day(g.valid_from), t.day(g.valid_until))),
        (t.get("app.masking").to_owned(), masking),
        (
            t.get("grant.last_used").to_owned(),
            g.last_used_at.as_deref().map(|d| t.datetime(d)).unwrap_or_else(|| "—".into()),
        ),
        (t.get("grant.recertify").to_owned(), t.get(if g.recertify { "yes" } else { "no" }).to_owned()),
    ];
    let provider_side = c.who.department.as_deref() == Some(g.provider.id.as_str()) && c.who.has(Role::Reviewer);
    let consumer_staff = c.who.department.as_deref() == Some(g.consumer.id.as_str())
        && (c.who.has(Role::Consumer) || c.who.has(Role::DepartmentAdmin));
    let subscribe_nodes =
        if consumer_staff && g.status == GrantStatus::Active && g.modes.contains(&shuqiao_domain::entry::Mode::Sync) {
            nodes::list(&c.p, &c.who, None, 100)
                .await?
                .into_iter()
                .filter(|n| n.status == nodes::ACTIVE)
                .map(|n| (n.id, n.name))
                .collect()
        } else {
            Vec::new()
        };
    let title = format!("{} · {}", t.get("grant.detail"), g.resource_name);
    let l = view::layout(&c, &title, "/grants", &[("/grants", t.get("grant.title")), ("", &g.resource_name)]);
    html(&GrantPage {
        l,
        id: g.id.clone(),
        meta,
        status: t.label("gstatus", st).to_owned(),
        status_class: st.to_owned(),
        can_act: provider_side || c.who.has(Role::Authority),
        active: g.status == GrantStatus::Active,
        suspended: g.status == GrantStatus::Suspended,
        subscribe_nodes,
    })
}

/// A use case's error as a page: field problems joined into one message (422), the rest as usual.
fn form_error(c: &Ctx, e: AppError) -> Fail {
    match e {
        AppError::Validation(errs) => Fail::Page {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: errs.iter().map(|e| c.t.msg(&e.message)).collect::<Vec<_>>().join("；"),
        },
        other => other.into(),
    }
}

pub async fn grant_act(Path((id, action)): Path<(String, String)>, Posted { c, f }: Posted) -> Result<Response, Fail> {
    let action = match action.as_str() {
        "suspend" => GrantAction::Suspend,
        "resume" => GrantAction::Resume,
        "revoke" => GrantAction::Revoke,
        _ => return Err(Fail::not_found()),
    };
    grants::act(&c.p, &c.who, &id, action, f.text("reason").as_deref()).await.map_err(|e| form_error(&c, e))?;
    Ok(redirect_flash(&c, &format!("/grants/{id}"), "flash.grant_changed", ""))
}

// ---- subscriptions (table sync) ----

const SUB_STATES: [&str; 3] = [sync::ACTIVE, sync::PAUSED, sync::CANCELLED];

pub async fn subscriptions(c: Ctx, Query(q): Query<ListParams>) -> Result<Response, Fail> {
    let t = c.t;
    let status = status_of(&q, &SUB_STATES);
    let mine = c.who.department.clone().unwrap_or_default();
    let side = q.side.clone().unwrap_or_default();
    let all = sync::list(&c.p, &c.who, q.after.as_deref(), PAGE).await?;
    let next = (all.len() == usize::try_from(PAGE).unwrap_or(50))
        .then(|| all.last().map(|s| format!("{}|{}", s.created_at, s.id)))
        .flatten();
    let names = grant_names(&c, &all).await;
    let rows = all
        .iter()
        .filter(|s| status.as_deref().is_none_or(|st| s.state == st))
        .filter(|s| match side.as_str() {
            "consumer" => s.consumer == mine,
            "provider" => s.provider == mine,
            _ => true,
        })
        .map(|s| {
            let (resource, consumer, provider) = names.get(&s.grant).cloned().unwrap_or_default();
            vec![
                Cell::link(format!("{resource}（{}）", s.resource), format!("/subscriptions/{}", s.id)),
                Cell::text(consumer),
                Cell::text(provider),
                Cell::text(s.target_table.clone()),
                Cell::text(t.label("sstatus", &s.state).to_owned()).class(format!("badge {}", s.state)),
                Cell::text(format!("{} / {}", s.checkpoint, s.published)).key(format!("{:012}", s.checkpoint)),
                Cell::text(format!("{} {} / {} s", s.lag.rows, t.get("sub.lag_value"), s.lag.seconds))
                    .key(format!("{:012}", s.lag.rows)),
            ]
        })
        .collect();
    let labels = [
        t.get("app.resource"),
        t.get("app.consumer"),
        t.get("app.provider"),
        t.get("sub.target"),
        t.get("status"),
        t.get("sub.checkpoint"),
        t.get("sub.lag"),
    ];
    list_page(&c, "/subscriptions", "sub.title", &q, "sstatus", &SUB_STATES, &labels, rows, next, Vec::new())
}

/// Resource, consumer and provider names by grant (the subscriptions carry ids).
async fn grant_names(
    c: &Ctx,
    subs: &[sync::SubscriptionView],
) -> std::collections::BTreeMap<String, (String, String, String)> {
    let mut out = std::collections::BTreeMap::new();
    for s in subs {
        if out.contains_key(&s.grant) {
            continue;
        }
        if let Ok(g) = grants::get(&c.p, &c.who, &s.grant).await {
            out.insert(s.grant.clone(), (g.resource_name, g.consumer.name, g.provider.name));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "subscription.html")]
struct SubscriptionPage {
    l: Layout,
    id: String,
    meta: Vec<(String, String)>,
    status: String,
    status_class: String,
    can_act: bool,
    active: bool,
    paused: bool,
    table: Table,
    first_href: Option<String>,
    next_href: Option<String>,
}

pub async fn subscription(c: Ctx, Path(id): Path<String>) -> Result<Response, Fail> {
    let t = c.t;
    let s = sync::get(&c.p, &c.who, &id).await?;
    let names = grant_names(&c, std::slice::from_ref(&s)).await;
    let (resource, consumer, provider) = names.get(&s.grant).cloned().unwrap_or_default();
    let when = |v: &Option<String>| v.as_deref().map(|d| t.datetime(d)).unwrap_or_else(|| "—".into());
    let phase = match s.phase {
        sync::Phase::Full => "full",
        sync::Phase::Changes => "changes",
    };
    let meta = vec![
        (t.get("app.resource").to_owned(), format!("{resource}（{}）", s.resource)),
        (t.get("app.consumer").to_owned(), consumer),
        (t.get("app.provider").to_owned(), provider),
        (t.get("app.items").to_owned(), s.items.join("、")),
        (t.get("sub.target").to_owned(), s.target_table.clone()),
        (t.get("sub.phase").to_owned(), t.label("sphase", phase).to_owned()),
        (t.get("sub.checkpoint").to_owned(), format!("{} / {}", s.checkpoint, s.published)),
        (t.get("sub.lag").to_owned(), format!("{} {} / {} s", s.lag.rows, t.get("sub.lag_value"), s.lag.seconds)),
        (t.get("sub.rows").to_owned(), format!("{} / {}", s.rows_upserted, s.rows_deleted)),
        (t.get("sub.full").to_owned(), s.full_passes.to_string()),
        (t.get("sub.caught_up").to_owned(), when(&s.caught_up_at)),
        (t.get("sub.applied_at").to_owned(), when(&s.last_applied_at)),
        (t.get("sub.held").to_owned(), s.held.as_deref().map(|m| t.msg(m)).unwrap_or_else(|| "—".into())),
        (t.get("sub.error").to_owned(), s.last_error.as_deref().map(|m| t.msg(m)).unwrap_or_else(|| "—".into())),
    ];
    let batches = sync::batches(&c.p, &c.who, &id, s.checkpoint.saturating_sub(20) as i64, 50).await?;
    let rows = batches
        .iter()
        .rev()
        .map(|b| {
            vec![
                Cell::text(b.seq.to_string()).key(format!("{:012}", b.seq)),
                Cell::text(b.kind.clone()),
                Cell::text(b.upserts.to_string()).key(format!("{:012}", b.upserts)),
                Cell::text(b.deletes.to_string()).key(format!("{:012}", b.deletes)),
                Cell::text(format!("{}…", &b.checksum[..b.checksum.len().min(16)])),
                Cell::text(t.datetime(&b.read_at)).key(b.read_at.clone()),
                Cell::text(when(&b.applied_at)).key(b.applied_at.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let labels = [
        t.get("sub.seq"),
        t.get("sub.kind"),
        t.get("sub.upserts"),
        t.get("sub.deletes"),
        t.get("sub.checksum"),
        t.get("sub.read_at"),
        t.get("sub.applied"),
    ];
    let base = format!("/subscriptions/{id}");
    let table = Table::new(&base, &[], &labels, rows, None, None);
    let staff = c.who.department.as_deref() == Some(s.consumer.as_str())
        && (c.who.has(Role::Consumer) || c.who.has(Role::DepartmentAdmin));
    let title = format!("{} · {}", t.get("sub.detail"), resource);
    let l = view::layout(&c, &title, "/subscriptions", &[("/subscriptions", t.get("sub.title")), ("", &resource)]);
    html(&SubscriptionPage {
        l,
        id: s.id.clone(),
        meta,
        status: t.label("sstatus", &s.state).to_owned(),
        status_class: s.state.clone(),
        can_act: staff || c.who.has(Role::Authority),
        active: s.state == sync::ACTIVE,
        paused: s.state == sync::PAUSED,
        table,
        first_href: None,
        next_href: None,
    })
}

pub async fn subscription_act(
    Path((id, action)): Path<(String, String)>,
    Posted { c, f: _ }: Posted,
) -> Result<Response, Fail> {
    let action = match action.as_str() {
        "pause" => sync::Action::Pause,
        "resume" => sync::Action::Resume,
        "cancel" => sync::Action::Cancel,
        _ => return Err(Fail::not_found()),
    };
    sync::act(&c.p, &c.who, &id, action).await?;
    Ok(redirect_flash(&c, &format!("/subscriptions/{id}"), "flash.sub_changed", ""))
}

pub async fn subscribe(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let input =
        sync::SubscriptionInput { grant: f.text("grant"), node: f.text("node"), target_table: f.text("target_table") };
    let s = sync::create(&c.p, &c.who, input).await.map_err(|e| form_error(&c, e))?;
    Ok(redirect_flash(&c, &format!("/subscriptions/{}", s.id), "flash.sub_created", ""))
}

// ---- objections, demands ----

pub async fn objections(c: Ctx, Query(q): Query<ListParams>) -> Result<Response, Fail> {
    let t = c.t;
    let names: Vec<&str> = ObjectionStatus::ALL.iter().map(|s| s.as_str()).collect();
    let status = status_of(&q, &names);
    let items = objections::list(&c.p, &c.who, Some(side_arg(&q)), status.as_deref(), q.after.as_deref(), PAGE).await?;
    let next = (items.len() == usize::try_from(PAGE).unwrap_or(50))
        .then(|| items.last().map(|o| format!("{}|{}", o.created_at, o.id)))
        .flatten();
    let rows = items
        .iter()
        .map(|o| {
            let st = o.status.as_str();
            vec![
                Cell::link(format!("{}（{}）", o.resource_name, o.resource), format!("/objections/{}", o.id)),
                Cell::text(o.record_key.clone()),
                Cell::text(o.description.chars().take(60).collect::<String>()),
                Cell::text(o.consumer.name.clone()),
                Cell::text(t.label("ostatus", st)).class(format!("badge {st}")),
                deadline_cell(&c, Some(o.deadline.to_string()), o.overdue),
            ]
        })
        .collect();
    let labels = [
        t.get("app.resource"),
        t.get("obj.record_key"),
        t.get("obj.description"),
        t.get("app.consumer"),
        t.get("status"),
        t.get("app.deadline"),
    ];
    list_page(&c, "/objections", "obj.title", &q, "ostatus", &names, &labels, rows, next, Vec::new())
}

pub async fn demands(c: Ctx, Query(q): Query<ListParams>) -> Result<Response, Fail> {
    let t = c.t;
    let names: Vec<&str> = DemandStatus::ALL.iter().map(|s| s.as_str()).collect();
    let status = status_of(&q, &names);
    let items = demands::list(&c.p, &c.who, Some(side_arg(&q)), status.as_deref(), q.after.as_deref(), PAGE).await?;
    let next = (items.len() == usize::try_from(PAGE).unwrap_or(50))
        .then(|| items.last().map(|d| format!("{}|{}", d.created_at, d.id)))
        .flatten();
    let rows = items
        .iter()
        .map(|d| {
            let st = d.status.as_str();
            vec![
                Cell::link(d.description.chars().take(80).collect::<String>(), format!("/demands/{}", d.id)),
                Cell::text(d.consumer.name.clone()),
                Cell::text(d.routed_to.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "—".into())),
                Cell::text(t.label("dstatus", st)).class(format!("badge {st}")),
                Cell::text(t.datetime(&d.created_at)).key(d.created_at.clone()),
            ]
        })
        .collect();
    let labels =
        [t.get("dem.description"), t.get("app.consumer"), t.get("app.provider"), t.get("status"), t.get("created")];
    let actions = if c.who.has(Role::Consumer) {
        vec![("/demands/new".to_owned(), t.get("dem.new").to_owned())]
    } else {
        Vec::new()
    };
    list_page(&c, "/demands", "dem.title", &q, "dstatus", &names, &labels, rows, next, actions)
}
