//! Objections (疑义) and demands (需求): raise them, see one, and answer or route them — with a generic page of
//! metadata and action forms whose errors show at their fields with the input kept.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use shuqiao_app::AppError;
use shuqiao_app::catalog::{self as catalog_uc, parse_path_code};
use shuqiao_app::sharing::demands::{self, DemandAnswerInput, DemandInput, PurposeField, RouteInput};
use shuqiao_app::sharing::objections::{self, AnswerInput, ObjectionInput};
use shuqiao_domain::entry::api_str;
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{DemandStatus, ObjectionStatus, PurposeInput};

use super::html;
use crate::console::forms::FormData;
use crate::console::i18n::Tr;
use crate::console::view::{self, Layout, redirect_flash};
use crate::console::{Ctx, Fail, Posted};

const PURPOSES: [&str; 5] =
    ["administrative_basis", "work_reference", "data_verification", "business_collaboration", "other"];

pub struct FormField {
    pub name: &'static str,
    pub label: String,
    /// `text`, `textarea`, `select`, `date`, `number`, `hidden`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub error: String,
}

pub struct ActionForm {
    pub id: &'static str,
    pub action: String,
    pub title: String,
    pub fields: Vec<FormField>,
    pub submit: String,
    pub danger: bool,
    pub confirm: String,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "case.html")]
pub struct CasePage {
    pub l: Layout,
    pub status: String,
    pub status_class: String,
    pub meta: Vec<(String, String)>,
    pub forms: Vec<ActionForm>,
    pub has_errors: bool,
}

/// Field errors of a use case by form field name (`purpose.kind` → `purpose_kind`).
pub type Errors = Vec<(String, String)>;

pub fn field(
    t: Tr,
    name: &'static str,
    key: &str,
    kind: &'static str,
    f: Option<&FormData>,
    errors: &Errors,
) -> FormField {
    let error = errors
        .iter()
        .filter(|(e, _)| e.replace('.', "_") == name || e.starts_with(&format!("{name}[")))
        .map(|(_, m)| t.msg(m))
        .collect::<Vec<_>>()
        .join("；");
    FormField {
        name,
        label: t.get(key).to_owned(),
        kind,
        value: f.and_then(|f| f.get(name)).unwrap_or("").to_owned(),
        options: Vec::new(),
        error,
    }
}

pub fn with_options(mut f: FormField, options: Vec<(String, String)>) -> FormField {
    f.options = options;
    f
}

fn hidden(name: &'static str, value: &str) -> FormField {
    FormField {
        name,
        label: String::new(),
        kind: "hidden",
        value: value.to_owned(),
        options: Vec::new(),
        error: String::new(),
    }
}

pub fn form(id: &'static str, action: String, title: &str, fields: Vec<FormField>, submit: &str) -> ActionForm {
    ActionForm {
        id,
        action,
        title: title.to_owned(),
        fields,
        submit: submit.to_owned(),
        danger: false,
        confirm: String::new(),
        open: true,
    }
}

pub fn validation(e: AppError) -> Result<Errors, Fail> {
    match e {
        AppError::Validation(errs) => Ok(errs.into_iter().map(|f| (f.field, f.message)).collect()),
        other => Err(other.into()),
    }
}

pub fn render(page: CasePage) -> Result<Response, Fail> {
    let bad = page.has_errors;
    let mut r = html(&page)?;
    if bad {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

// ---- objections ----

#[derive(Deserialize, Default)]
pub struct NewObjection {
    resource: Option<String>,
}

async fn objection_form(c: &Ctx, resource: &str, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    let (class, seq) = resource.split_once('/').ok_or_else(Fail::not_found)?;
    let entry = catalog_uc::get(&c.p, &c.who, parse_path_code(class, seq)?, None).await?;
    let items: Vec<(String, String)> = entry.entry.items.iter().map(|i| (i.name.clone(), i.name.clone())).collect();
    let fields = vec![
        hidden("resource", resource),
        field(t, "record_key", "obj.record_key", "text", f, &errors),
        with_options(field(t, "item", "entry.item.name", "select", f, &errors), items),
        field(t, "description", "obj.description", "textarea", f, &errors),
        field(t, "evidence", "obj.evidence", "textarea", f, &errors),
    ];
    let title = t.get("obj.new");
    let href = format!("/catalog/{resource}");
    let l = view::layout(
        c,
        title,
        "/objections",
        &[("/catalog", t.get("catalog.title")), (&href, &entry.entry.name), ("", title)],
    );
    render(CasePage {
        l,
        status: String::new(),
        status_class: String::new(),
        meta: vec![(t.get("app.resource").to_owned(), format!("{}（{}）", entry.entry.name, resource))],
        forms: vec![form("o", "/objections/new".into(), title, fields, t.get("obj.submit"))],
        has_errors: !errors.is_empty(),
    })
}

pub async fn new_objection(c: Ctx, Query(q): Query<NewObjection>) -> Result<Response, Fail> {
    objection_form(&c, q.resource.as_deref().unwrap_or(""), None, Vec::new()).await
}

pub async fn create_objection(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let resource = f.text("resource").unwrap_or_default();
    let input = ObjectionInput {
        resource: Some(resource.clone()),
        record_key: f.text("record_key"),
        item: f.text("item"),
        description: f.text("description"),
        evidence: f.text("evidence"),
    };
    match objections::submit(&c.p, &c.who, &input).await {
        Ok(o) => Ok(redirect_flash(&c, &format!("/objections/{}", o.id), "flash.objection", "")),
        Err(e) => objection_form(&c, &resource, Some(&f), validation(e)?).await,
    }
}

async fn objection_page(c: &Ctx, id: &str, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    let o = objections::get(&c.p, &c.who, id).await?;
    let st = o.status.as_str();
    let mut meta = vec![
        (t.get("app.resource").to_owned(), format!("{}（{}）", o.resource_name, o.resource)),
        (t.get("obj.record_key").to_owned(), o.record_key.clone()),
        (t.get("entry.item.name").to_owned(), o.item.clone().unwrap_or_else(|| "—".into())),
        (t.get("obj.description").to_owned(), o.description.clone()),
        (t.get("obj.evidence").to_owned(), o.evidence.clone().unwrap_or_else(|| "—".into())),
        (t.get("app.consumer").to_owned(), o.consumer.name.clone()),
        (t.get("app.provider").to_owned(), o.provider.name.clone()),
        (
            t.get("app.deadline").to_owned(),
            format!(
                "{}{}",
                t.day(o.deadline),
                if o.overdue { format!("（{}）", t.get("home.overdue")) } else { String::new() }
            ),
        ),
    ];
    if let Some(a) = &o.answer {
        meta.push((t.get("app.reason").to_owned(), a.reason.clone().unwrap_or_default()));
        if let Some(c) = &a.correction {
            meta.push((
                t.get("obj.correction").to_owned(),
                c.as_str().map(str::to_owned).unwrap_or_else(|| c.to_string()),
            ));
        }
    }
    let mut forms = Vec::new();
    if o.status == ObjectionStatus::Submitted
        && c.who.department.as_deref() == Some(o.provider.id.as_str())
        && c.who.has(Role::Reviewer)
    {
        forms.push(form(
            "confirm",
            format!("/objections/{id}/confirm"),
            t.get("obj.confirm"),
            vec![
                field(t, "correction", "obj.correction", "textarea", f, &errors),
                field(t, "reason", "app.reason", "textarea", f, &errors),
            ],
            t.get("obj.confirm"),
        ));
        let mut reject = form(
            "reject",
            format!("/objections/{id}/reject"),
            t.get("obj.reject"),
            vec![field(t, "reason", "app.reason", "textarea", f, &errors)],
            t.get("obj.reject"),
        );
        reject.danger = true;
        reject.open = false;
        reject.confirm = t.get("confirm.generic").to_owned();
        forms.push(reject);
    }
    let title = format!("{} · {}", t.get("obj.title"), o.resource_name);
    let l = view::layout(c, &title, "/objections", &[("/objections", t.get("obj.title")), ("", &o.resource_name)]);
    render(CasePage {
        l,
        status: t.label("ostatus", st).to_owned(),
        status_class: st.to_owned(),
        meta,
        forms,
        has_errors: !errors.is_empty(),
    })
}

pub async fn objection(c: Ctx, Path(id): Path<String>) -> Result<Response, Fail> {
    objection_page(&c, &id, None, Vec::new()).await
}

pub async fn answer_objection(
    Path((id, action)): Path<(String, String)>,
    Posted { c, f }: Posted,
) -> Result<Response, Fail> {
    let confirm = match action.as_str() {
        "confirm" => true,
        "reject" => false,
        _ => return Err(Fail::not_found()),
    };
    let input =
        AnswerInput { reason: f.text("reason"), correction: f.text("correction").map(serde_json::Value::String) };
    match objections::answer(&c.p, &c.who, &id, confirm, &input).await {
        Ok(_) => Ok(redirect_flash(&c, &format!("/objections/{id}"), "flash.answered", "")),
        Err(e) => objection_page(&c, &id, Some(&f), validation(e)?).await,
    }
}

// ---- demands ----

async fn demand_form(c: &Ctx, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    let purposes = PURPOSES.iter().map(|p| ((*p).to_owned(), t.label("purpose", p).to_owned())).collect();
    let fields = vec![
        field(t, "description", "dem.description", "textarea", f, &errors),
        field(t, "items", "dem.items", "text", f, &errors),
        with_options(field(t, "purpose_kind", "app.purpose.kind", "select", f, &errors), purposes),
        field(t, "purpose_text", "app.purpose.text", "text", f, &errors),
    ];
    let title = t.get("dem.new");
    let l = view::layout(c, title, "/demands", &[("/demands", t.get("dem.title")), ("", title)]);
    render(CasePage {
        l,
        status: String::new(),
        status_class: String::new(),
        meta: Vec::new(),
        forms: vec![form("d", "/demands/new".into(), title, fields, t.get("dem.submit"))],
        has_errors: !errors.is_empty(),
    })
}

pub async fn new_demand(c: Ctx) -> Result<Response, Fail> {
    demand_form(&c, None, Vec::new()).await
}

pub async fn create_demand(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let items: Vec<String> = f
        .get("items")
        .unwrap_or("")
        .split([',', '，', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let input = DemandInput {
        description: f.text("description"),
        items: Some(items),
        purpose: Some(PurposeField::Full(PurposeInput { kind: f.text("purpose_kind"), text: f.text("purpose_text") })),
    };
    match demands::submit(&c.p, &c.who, &input).await {
        Ok(d) => Ok(redirect_flash(&c, &format!("/demands/{}", d.id), "flash.demand", "")),
        Err(e) => demand_form(&c, Some(&f), validation(e)?).await,
    }
}

async fn demand_page(c: &Ctx, id: &str, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    let d = demands::get(&c.p, &c.who, id).await?;
    let st = d.status.as_str();
    let mut meta = vec![
        (t.get("dem.description").to_owned(), d.description.clone()),
        (t.get("dem.items").to_owned(), if d.items.is_empty() { "—".into() } else { d.items.join("、") }),
        (
            t.get("app.purpose").to_owned(),
            format!("{}：{}", t.label("purpose", &api_str(&d.purpose.kind).unwrap_or_default()), d.purpose.text),
        ),
        (t.get("app.consumer").to_owned(), d.consumer.name.clone()),
        (t.get("dem.routed_to").to_owned(), d.routed_to.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "—".into())),
        (t.get("created").to_owned(), t.datetime(&d.created_at)),
    ];
    if let Some(a) = &d.answer {
        let text = match (&a.resource, &a.decline) {
            (Some(r), _) => format!("{}（{r}）", a.resource_name.clone().unwrap_or_default()),
            (None, Some(reason)) => reason.clone(),
            _ => String::new(),
        };
        meta.push((t.get("dem.answer").to_owned(), text));
    }
    let mut forms = Vec::new();
    if d.status == DemandStatus::Submitted && c.who.has(Role::Authority) {
        let depts = shuqiao_app::accounts::list_departments(&c.p, None, 500).await?;
        let options = depts.into_iter().map(|d| (d.id, d.name)).collect();
        forms.push(form(
            "route",
            format!("/demands/{id}/route"),
            t.get("dem.route"),
            vec![
                with_options(field(t, "department", "home.department", "select", f, &errors), options),
                field(t, "comment", "app.comment", "text", f, &errors),
            ],
            t.get("dem.route"),
        ));
    }
    let routed_here = d.routed_to.as_ref().is_some_and(|p| c.who.department.as_deref() == Some(p.id.as_str()));
    if d.status == DemandStatus::Routed && routed_here {
        forms.push(form(
            "answer",
            format!("/demands/{id}/answer"),
            t.get("dem.answer"),
            vec![
                field(t, "resource", "entry.code", "text", f, &errors),
                field(t, "decline", "dem.decline", "textarea", f, &errors),
            ],
            t.get("dem.answer"),
        ));
    }
    let title = t.get("dem.title").to_owned();
    let short: String = d.description.chars().take(20).collect();
    let l = view::layout(c, &title, "/demands", &[("/demands", t.get("dem.title")), ("", &short)]);
    render(CasePage {
        l,
        status: t.label("dstatus", st).to_owned(),
        status_class: st.to_owned(),
        meta,
        forms,
        has_errors: !errors.is_empty(),
    })
}

pub async fn demand(c: Ctx, Path(id): Path<String>) -> Result<Response, Fail> {
    demand_page(&c, &id, None, Vec::new()).await
}

pub async fn act_demand(Path((id, action)): Path<(String, String)>, Posted { c, f }: Posted) -> Result<Response, Fail> {
    let done = match action.as_str() {
        "route" => {
            demands::route(
                &c.p,
                &c.who,
                &id,
                &RouteInput { department: f.text("department"), comment: f.text("comment") },
            )
            .await
        }
        "answer" => {
            demands::answer(
                &c.p,
                &c.who,
                &id,
                &DemandAnswerInput { resource: f.text("resource"), decline: f.text("decline") },
            )
            .await
        }
        _ => return Err(Fail::not_found()),
    };
    match done {
        Ok(_) => Ok(redirect_flash(&c, &format!("/demands/{id}"), "flash.answered", "")),
        Err(e) => demand_page(&c, &id, Some(&f), validation(e)?).await,
    }
}
