//! Catalog pages: search with facets and highlighted hits, entry detail, compile and edit with errors at their
//! fields, submit/publish/return/retire, and the Excel import with its per-row error report.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shuqiao_app::AppError;
use shuqiao_app::catalog::{self as uc, CatalogQuery, EntryView, parse_path_code};
use shuqiao_app::catalog_io::{self, Importer};
use shuqiao_catalog_files::FileFormat;
use shuqiao_domain::entry::{ClassInput, EntryInput, FormatInput, ItemInput, OpenInput, ShareInput, Status, api_str};
use shuqiao_domain::roles::Role;
use shuqiao_domain::validate::{MODES, SHARE_TYPES, UPDATE_CYCLES};

use super::html;
use crate::console::forms::FormData;
use crate::console::i18n::Tr;
use crate::console::view::{self, Layout, query, redirect_flash};
use crate::console::{Ctx, Fail, Posted};

const PAGE: usize = 20;

/// Department id → name, for provider facets and columns.
pub async fn department_names(c: &Ctx) -> Result<HashMap<String, String>, Fail> {
    let list = shuqiao_app::accounts::list_departments(&c.p, None, 500).await?;
    Ok(list.into_iter().map(|d| (d.id, d.name)).collect())
}

#[derive(Deserialize, Default)]
pub struct SearchParams {
    q: Option<String>,
    provider: Option<String>,
    class: Option<String>,
    share_type: Option<String>,
    open: Option<String>,
    update_cycle: Option<String>,
    status: Option<String>,
    region: Option<String>,
    offset: Option<usize>,
    sort: Option<String>,
}

impl SearchParams {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![
            ("q", v(&self.q)),
            ("provider", v(&self.provider)),
            ("class", v(&self.class)),
            ("share_type", v(&self.share_type)),
            ("open", v(&self.open)),
            ("update_cycle", v(&self.update_cycle)),
            ("status", v(&self.status)),
            ("region", v(&self.region)),
            ("sort", v(&self.sort)),
        ]
    }
    /// This search's URL with `name` set to `value` (empty removes it); paging restarts.
    fn with(&self, name: &str, value: &str) -> String {
        let pairs: Vec<(&str, String)> =
            self.pairs().into_iter().map(|(k, v)| if k == name { (k, value.to_owned()) } else { (k, v) }).collect();
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/catalog{}", query(&refs))
    }
    fn page(&self, offset: usize) -> String {
        let off = offset.to_string();
        let pairs = self.pairs();
        let mut refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        refs.push(("offset", if offset == 0 { "" } else { &off }));
        format!("/catalog{}", query(&refs))
    }
    fn get(&self, name: &str) -> String {
        self.pairs().into_iter().find(|(k, _)| *k == name).map(|(_, v)| v).unwrap_or_default()
    }
}

pub struct FacetLink {
    pub label: String,
    pub count: u64,
    pub href: String,
    pub on: bool,
}

pub struct FacetGroup {
    pub title: String,
    pub links: Vec<FacetLink>,
}

pub struct Hit {
    pub href: String,
    /// HTML-safe name with `<mark>` around the matched words (escaped by the search index).
    pub name_html: String,
    pub code: String,
    pub provider: String,
    pub share: String,
    pub status: String,
    pub status_class: String,
    pub summary: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct SearchPage {
    l: Layout,
    q: String,
    hidden: Vec<(String, String)>,
    total: u64,
    facets: Vec<FacetGroup>,
    hits: Vec<Hit>,
    sorts: Vec<(String, String, bool)>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn facet_label(t: Tr, dim: &str, value: &str, names: &HashMap<String, String>) -> String {
    match dim {
        "provider" | "region" => names.get(value).cloned().unwrap_or_else(|| value.to_owned()),
        "share_type" => t.label("share", value).to_owned(),
        "update_cycle" => t.label("cycle", value).to_owned(),
        "status" => t.label("estatus", value).to_owned(),
        "open" => t.label("open", value).to_owned(),
        _ => value.to_owned(),
    }
}

pub async fn search(c: Ctx, Query(sp): Query<SearchParams>) -> Result<Response, Fail> {
    let t = c.t;
    let nonempty = |o: &Option<String>| o.clone().filter(|s| !s.trim().is_empty());
    let offset = sp.offset.unwrap_or(0);
    let query_in = CatalogQuery {
        q: nonempty(&sp.q),
        provider: nonempty(&sp.provider),
        class: nonempty(&sp.class).filter(|s| s.chars().all(|ch| ch.is_ascii_digit()) && s.len() <= 9),
        share_type: nonempty(&sp.share_type).filter(|s| SHARE_TYPES.contains(&s.as_str())),
        open: match sp.open.as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
        update_cycle: nonempty(&sp.update_cycle).filter(|s| UPDATE_CYCLES.contains(&s.as_str())),
        status: nonempty(&sp.status).filter(|s| Status::parse(s).is_some()).into_iter().collect(),
        region: nonempty(&sp.region),
        offset,
        limit: PAGE,
        highlight: true,
    };
    let result = uc::search(&c.p, &c.who, query_in).await?;
    let mut names = department_names(&c).await?;
    names.extend(shuqiao_app::accounts::list_regions(&c.p).await?.into_iter().map(|r| (r.code, r.name)));
    let mut facets = Vec::new();
    for dim in ["provider", "class", "share_type", "open", "update_cycle", "status", "region"] {
        let Some(counts) = result.facets.get(dim) else { continue };
        let current = sp.get(dim);
        let mut links: Vec<FacetLink> = counts
            .iter()
            .take(12)
            .map(|fc| {
                let on = current == fc.value;
                FacetLink {
                    label: facet_label(t, dim, &fc.value, &names),
                    count: fc.count,
                    href: sp.with(dim, if on { "" } else { &fc.value }),
                    on,
                }
            })
            .collect();
        if !current.is_empty() && !links.iter().any(|l| l.on) {
            links.insert(
                0,
                FacetLink { label: facet_label(t, dim, &current, &names), count: 0, href: sp.with(dim, ""), on: true },
            );
        }
        if !links.is_empty() {
            facets.push(FacetGroup { title: t.get(&format!("facet.{dim}")).to_owned(), links });
        }
    }
    let mut items = result.items;
    match sp.sort.as_deref() {
        Some("code") => items.sort_by_key(|a| a.entry.entry.code.to_string()),
        Some("name") => items.sort_by(|a, b| a.entry.entry.name.cmp(&b.entry.entry.name)),
        Some("updated") => items.sort_by(|a, b| b.entry.updated_at.cmp(&a.entry.updated_at)),
        _ => {}
    }
    let hits = items
        .iter()
        .map(|it| {
            let e = &it.entry.entry;
            let share = api_str(&e.share.kind).unwrap_or_default();
            let status = e.status.as_str();
            Hit {
                href: format!("/catalog/{}", e.code),
                name_html: it.name_highlight.clone().unwrap_or_else(|| escape(&e.name)),
                code: e.code.to_string(),
                provider: e.provider.name.clone(),
                share: t.label("share", &share).to_owned(),
                status: t.label("estatus", status).to_owned(),
                status_class: status.to_owned(),
                summary: e.summary.chars().take(120).collect(),
                updated: t.date(&it.entry.updated_at),
            }
        })
        .collect();
    let sorts = ["relevance", "code", "name", "updated"]
        .iter()
        .map(|s| {
            let on = sp.sort.as_deref().unwrap_or("relevance") == *s;
            (sp.with("sort", if *s == "relevance" { "" } else { s }), t.get(&format!("sort.{s}")).to_owned(), on)
        })
        .collect();
    let hidden =
        sp.pairs().into_iter().filter(|(k, v)| *k != "q" && !v.is_empty()).map(|(k, v)| (k.to_owned(), v)).collect();
    let prev_href = (offset > 0).then(|| sp.page(offset.saturating_sub(PAGE)));
    let next_href = result.next_offset.map(|o| sp.page(o));
    let l = view::layout(&c, t.get("catalog.title"), "/catalog", &[("/catalog", t.get("catalog.title"))]);
    html(&SearchPage {
        l,
        q: sp.q.clone().unwrap_or_default(),
        hidden,
        total: result.total,
        facets,
        hits,
        sorts,
        prev_href,
        next_href,
    })
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

// ---- entry detail ----

pub struct ItemRow {
    pub name: String,
    pub data_type: String,
    pub length: u32,
    pub basic: String,
    pub share: String,
    pub grade: String,
}

#[derive(Template)]
#[template(path = "entry.html")]
struct EntryPage {
    l: Layout,
    code: String,
    meta: Vec<(String, String)>,
    items: Vec<ItemRow>,
    versions: Vec<(String, String, String)>,
    mount: String,
    who_may_apply: String,
    status_class: String,
    status: String,
    can_apply: bool,
    can_edit: bool,
    can_submit: bool,
    can_review: bool,
    can_retire: bool,
}

#[derive(Deserialize, Default)]
pub struct VersionParam {
    version: Option<u32>,
}

pub async fn detail(
    c: Ctx,
    Path((class, seq)): Path<(String, String)>,
    Query(v): Query<VersionParam>,
) -> Result<Response, Fail> {
    let t = c.t;
    let code = parse_path_code(&class, &seq)?;
    let view = uc::get(&c.p, &c.who, code, v.version).await?;
    let versions = uc::versions(&c.p, &c.who, code).await.unwrap_or_default();
    let e = &view.entry;
    let mount = match shuqiao_app::exchange::mounts::get(&c.p, &c.who, code).await {
        Ok(m) => {
            let check = match &m.check {
                Some(ch) if ch.ok => format!("✓ {}", t.datetime(&ch.checked_at)),
                Some(ch) => format!("✗ {} ({})", t.datetime(&ch.checked_at), ch.problems.len()),
                None => "—".into(),
            };
            format!("{} · {} · {}", m.mount.kind, m.mount.source, check)
        }
        Err(_) => t.get("entry.mount.none").to_owned(),
    };
    let share = api_str(&e.share.kind).unwrap_or_default();
    let modes: Vec<String> =
        e.share.modes.iter().map(|m| t.label("mode", &api_str(m).unwrap_or_default()).to_owned()).collect();
    let cycle = api_str(&e.update_cycle).unwrap_or_default();
    let opt = |o: &Option<String>| o.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "—".into());
    let mut meta = vec![
        (t.get("entry.code").to_owned(), e.code.to_string()),
        (
            t.get("entry.class").to_owned(),
            format!(
                "{}{:02}{:03}{}",
                e.class.lei,
                e.class.xiang,
                e.class.mu,
                e.class.ximu.map(|x| format!("{x:03}")).unwrap_or_default()
            ),
        ),
        (t.get("entry.provider").to_owned(), format!("{}（{}）", e.provider.name, e.provider.credit_code)),
        (t.get("entry.summary").to_owned(), e.summary.clone()),
        (
            t.get("entry.format").to_owned(),
            format!("{} / {}", api_str(&e.format.category).unwrap_or_default(), e.format.kind),
        ),
        (t.get("entry.share.type").to_owned(), t.label("share", &share).to_owned()),
        (t.get("entry.share.condition").to_owned(), opt(&e.share.condition)),
        (t.get("entry.share.legal_basis").to_owned(), opt(&e.share.legal_basis)),
        (t.get("entry.share.modes").to_owned(), modes.join("、")),
        (
            t.get("entry.open").to_owned(),
            format!(
                "{}{}",
                t.label("open", if e.open.open { "true" } else { "false" }),
                e.open.condition.as_deref().map(|c| format!("（{c}）")).unwrap_or_default()
            ),
        ),
        (t.get("entry.update_cycle").to_owned(), t.label("cycle", &cycle).to_owned()),
        (t.get("entry.published_on").to_owned(), e.published_on.map(|d| t.day(d)).unwrap_or_else(|| "—".into())),
        (t.get("entry.grade").to_owned(), e.grade.as_ref().and_then(api_str).unwrap_or_else(|| "—".into())),
        (
            t.get("entry.related").to_owned(),
            if e.related.is_empty() {
                "—".into()
            } else {
                e.related.iter().map(ToString::to_string).collect::<Vec<_>>().join("、")
            },
        ),
        (t.get("entry.version").to_owned(), e.version.to_string()),
        (t.get("entry.updated_at").to_owned(), t.datetime(&view.updated_at)),
    ];
    if let Some(comment) = &view.comment {
        meta.push((t.get("entry.comment").to_owned(), comment.clone()));
    }
    let items = e
        .items
        .iter()
        .map(|i| ItemRow {
            name: i.name.clone(),
            data_type: api_str(&i.data_type).unwrap_or_default(),
            length: i.length,
            basic: t.get(if i.basic { "yes" } else { "no" }).to_owned(),
            share: i
                .share_type
                .as_ref()
                .and_then(api_str)
                .map(|s| t.label("share", &s).to_owned())
                .unwrap_or_else(|| "—".into()),
            grade: i.grade.as_ref().and_then(api_str).unwrap_or_else(|| "—".into()),
        })
        .collect();
    let versions = versions
        .iter()
        .map(|v| {
            (
                format!("/catalog/{}?version={}", v.entry.code, v.entry.version),
                v.entry.version.to_string(),
                v.entry.published_on.map(|d| t.day(d)).unwrap_or_else(|| t.date(&v.updated_at)),
            )
        })
        .collect();
    let own = c.who.department.as_deref() == Some(e.provider.id.as_str());
    let cataloger = own && c.who.has(Role::Cataloger);
    let status = e.status;
    let code_s = e.code.to_string();
    let title = e.name.clone();
    let l = view::layout(&c, &title, "/catalog", &[("/catalog", t.get("catalog.title")), ("", &title)]);
    html(&EntryPage {
        l,
        code: code_s,
        meta,
        items,
        versions,
        mount,
        who_may_apply: t.get(&format!("who.{share}")).to_owned(),
        status_class: status.as_str().to_owned(),
        status: t.label("estatus", status.as_str()).to_owned(),
        can_apply: status == Status::Published && c.who.has(Role::Consumer) && !own,
        can_edit: cataloger && matches!(status, Status::Draft | Status::Returned | Status::Published),
        can_submit: cataloger && matches!(status, Status::Draft | Status::Returned),
        can_review: status == Status::Submitted && c.who.has(Role::Authority),
        can_retire: status == Status::Published && (cataloger || c.who.has(Role::Authority)),
    })
}

/// `POST /catalog/{class}/{seq}/{submit|publish|return|retire}`.
pub async fn act(
    Path((class, seq, action)): Path<(String, String, String)>,
    Posted { c, f }: Posted,
) -> Result<Response, Fail> {
    let code = parse_path_code(&class, &seq)?;
    let href = format!("/catalog/{code}");
    let (done, key) = match action.as_str() {
        "submit" => (uc::submit(&c.p, &c.who, code).await, "flash.submitted"),
        "publish" => (uc::publish(&c.p, &c.who, code).await, "flash.published"),
        "return" => (uc::return_entry(&c.p, &c.who, code, f.get("comment").unwrap_or("")).await, "flash.returned"),
        "retire" => (uc::retire(&c.p, &c.who, code).await, "flash.retired"),
        _ => return Err(Fail::not_found()),
    };
    match done {
        Ok(_) => Ok(redirect_flash(&c, &href, key, "")),
        Err(e) => Err(e.into()),
    }
}

// ---- compile and edit ----

pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub error: String,
    pub hint: String,
}

#[derive(Template)]
#[template(path = "entry_form.html")]
struct EntryForm {
    l: Layout,
    action: String,
    fields: Vec<Field>,
    format_categories: Vec<(String, bool)>,
    share_types: Vec<(String, String, bool)>,
    cycles: Vec<(String, String, bool)>,
    modes: Vec<(String, String, bool)>,
    grades: Vec<(String, bool)>,
    open: bool,
    updated_at: String,
    errors: Vec<String>,
    has_errors: bool,
    stale: bool,
}

const CATEGORIES: [&str; 7] = ["电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述格式", "服务接口"];

/// The form's values, from a submitted form or an existing entry.
#[derive(Default, Clone)]
struct EntryValues {
    class: String,
    name: String,
    summary: String,
    format_category: String,
    format_type: String,
    items: String,
    share_type: String,
    share_condition: String,
    share_legal_basis: String,
    modes: Vec<String>,
    open: bool,
    open_condition: String,
    update_cycle: String,
    related: String,
    grade: String,
}

impl EntryValues {
    fn from_form(f: &FormData) -> EntryValues {
        let s = |k: &str| f.get(k).unwrap_or("").to_owned();
        EntryValues {
            class: s("class").trim().to_owned(),
            name: s("name"),
            summary: s("summary"),
            format_category: s("format_category"),
            format_type: s("format_type"),
            items: s("items"),
            share_type: s("share_type"),
            share_condition: s("share_condition"),
            share_legal_basis: s("share_legal_basis"),
            modes: f.all("modes"),
            open: f.get("open").is_some(),
            open_condition: s("open_condition"),
            update_cycle: s("update_cycle"),
            related: s("related"),
            grade: s("grade"),
        }
    }

    fn from_entry(v: &EntryView) -> EntryValues {
        let e = &v.entry;
        EntryValues {
            class: e.code.to_string(),
            name: e.name.clone(),
            summary: e.summary.clone(),
            format_category: api_str(&e.format.category).unwrap_or_default(),
            format_type: e.format.kind.clone(),
            items: e
                .items
                .iter()
                .map(|i| {
                    format!(
                        "{},{},{},{},{}",
                        i.name,
                        api_str(&i.data_type).unwrap_or_default(),
                        i.length,
                        if i.basic { "是" } else { "否" },
                        i.grade.as_ref().and_then(api_str).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            share_type: api_str(&e.share.kind).unwrap_or_default(),
            share_condition: e.share.condition.clone().unwrap_or_default(),
            share_legal_basis: e.share.legal_basis.clone().unwrap_or_default(),
            modes: e.share.modes.iter().filter_map(api_str).collect(),
            open: e.open.open,
            open_condition: e.open.condition.clone().unwrap_or_default(),
            update_cycle: api_str(&e.update_cycle).unwrap_or_default(),
            related: e.related.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            grade: e.grade.as_ref().and_then(api_str).unwrap_or_default(),
        }
    }

    /// The API input these values stand for. The class comes from the code field (`301001` or `301001/000123`);
    /// items are one per line, `name,type,length,basic,grade`.
    fn input(&self) -> EntryInput {
        let digits: String = self.class.split('/').next().unwrap_or("").chars().filter(char::is_ascii_digit).collect();
        let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i64>().ok());
        let class = ClassInput { lei: num(0..1), xiang: num(1..3), mu: num(3..6), ximu: num(6..9) };
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let items = self
            .items
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let cols: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
                let col = |i: usize| cols.get(i).copied().filter(|s| !s.is_empty());
                ItemInput {
                    name: col(0).map(str::to_owned),
                    data_type: col(1).map(str::to_owned),
                    length: col(2).and_then(|s| s.parse().ok()),
                    basic: Some(matches!(col(3), Some("是" | "yes" | "true" | "1"))),
                    share_type: None,
                    grade: col(4).map(str::to_owned),
                }
            })
            .collect();
        EntryInput {
            code: opt(&self.class),
            class: Some(class),
            name: opt(&self.name),
            summary: opt(&self.summary),
            format: Some(FormatInput { category: opt(&self.format_category), kind: opt(&self.format_type) }),
            items: Some(items),
            share: Some(ShareInput {
                kind: opt(&self.share_type),
                condition: opt(&self.share_condition),
                legal_basis: opt(&self.share_legal_basis),
                modes: Some(self.modes.clone()),
            }),
            open: Some(OpenInput { open: Some(self.open), condition: opt(&self.open_condition) }),
            update_cycle: opt(&self.update_cycle),
            related: Some(
                self.related
                    .split([',', '，', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            secret: Some(false),
            grade: opt(&self.grade),
            ..EntryInput::default()
        }
    }
}

/// The form field an API field error belongs to (`items[2].length` → `items`, `class.lei` → `class`).
fn form_field(api_field: &str) -> &'static str {
    let head = api_field.split(['.', '[']).next().unwrap_or("");
    match (head, api_field) {
        ("code" | "class", _) => "class",
        ("format", f) if f.contains("category") => "format_category",
        ("format", _) => "format_type",
        ("share", f) if f.contains("condition") => "share_condition",
        ("share", f) if f.contains("legal_basis") => "share_legal_basis",
        ("share", f) if f.contains("modes") => "modes",
        ("share", _) => "share_type",
        ("open", _) => "open_condition",
        ("name", _) => "name",
        ("summary", _) => "summary",
        ("items", _) => "items",
        ("update_cycle", _) => "update_cycle",
        ("related", _) => "related",
        ("grade", _) => "grade",
        _ => "",
    }
}

fn render_form(
    c: &Ctx,
    editing: Option<&str>,
    v: &EntryValues,
    errors: &[(String, String)],
    updated_at: &str,
    stale: bool,
) -> Result<Response, Fail> {
    let t = c.t;
    let err_of = |name: &str| -> String {
        errors
            .iter()
            .filter(|(f, _)| form_field(f) == name)
            .map(|(f, m)| if f.starts_with("items[") { format!("{f}: {}", t.msg(m)) } else { t.msg(m) })
            .collect::<Vec<_>>()
            .join("；")
    };
    let field = |name: &'static str, key: &str, value: &str, hint: &str| Field {
        name,
        label: t.get(key).to_owned(),
        value: value.to_owned(),
        error: err_of(name),
        hint: if hint.is_empty() { String::new() } else { t.get(hint).to_owned() },
    };
    let fields = vec![
        field("class", "entry.code", &v.class, "entry.code.hint"),
        field("name", "entry.name", &v.name, ""),
        field("summary", "entry.summary", &v.summary, ""),
        field("format_category", "entry.format.category", &v.format_category, ""),
        field("format_type", "entry.format.type", &v.format_type, ""),
        field("items", "entry.items", &v.items, "entry.items.hint"),
        field("share_type", "entry.share.type", &v.share_type, ""),
        field("share_condition", "entry.share.condition", &v.share_condition, ""),
        field("share_legal_basis", "entry.share.legal_basis", &v.share_legal_basis, ""),
        field("modes", "entry.share.modes", "", ""),
        field("open_condition", "entry.open.condition", &v.open_condition, ""),
        field("update_cycle", "entry.update_cycle", &v.update_cycle, ""),
        field("related", "entry.related", &v.related, ""),
        field("grade", "entry.grade", &v.grade, ""),
    ];
    let unplaced: Vec<String> =
        errors.iter().filter(|(f, _)| form_field(f).is_empty()).map(|(f, m)| format!("{f}: {}", t.msg(m))).collect();
    let title = if editing.is_some() { t.get("entry.edit.title") } else { t.get("entry.new.title") };
    let entry_href = editing.map(|code| format!("/catalog/{code}")).unwrap_or_default();
    let mut crumbs: Vec<(&str, &str)> = vec![("/catalog", t.get("catalog.title"))];
    if editing.is_some() {
        crumbs.push((entry_href.as_str(), v.name.as_str()));
    }
    crumbs.push(("", title));
    let l = view::layout(c, title, "/catalog", &crumbs);
    let page = EntryForm {
        l,
        action: match editing {
            Some(code) => format!("/catalog/{code}/edit"),
            None => "/catalog/new".into(),
        },
        fields,
        format_categories: CATEGORIES.iter().map(|s| ((*s).to_owned(), v.format_category == *s)).collect(),
        share_types: SHARE_TYPES
            .iter()
            .map(|s| ((*s).to_owned(), t.label("share", s).to_owned(), v.share_type == *s))
            .collect(),
        cycles: UPDATE_CYCLES
            .iter()
            .map(|s| ((*s).to_owned(), t.label("cycle", s).to_owned(), v.update_cycle == *s))
            .collect(),
        modes: MODES
            .iter()
            .map(|s| ((*s).to_owned(), t.label("mode", s).to_owned(), v.modes.iter().any(|m| m == s)))
            .collect(),
        grades: ["一般", "重要", "核心"].iter().map(|s| ((*s).to_owned(), v.grade == *s)).collect(),
        open: v.open,
        updated_at: updated_at.to_owned(),
        has_errors: !errors.is_empty(),
        errors: unplaced,
        stale,
    };
    let status = if errors.is_empty() && !stale { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut r = html(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

pub async fn new_form(c: Ctx) -> Result<Response, Fail> {
    c.who.require(&[Role::Cataloger])?;
    let v = EntryValues {
        share_type: "conditional".into(),
        update_cycle: "daily".into(),
        format_category: "数据库".into(),
        ..EntryValues::default()
    };
    render_form(&c, None, &v, &[], "", false)
}

fn field_errors(e: AppError) -> Result<Vec<(String, String)>, Fail> {
    match e {
        AppError::Validation(errs) => Ok(errs.into_iter().map(|f| (f.field, f.message)).collect()),
        other => Err(other.into()),
    }
}

pub async fn create(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let v = EntryValues::from_form(&f);
    match uc::create(&c.p, &c.who, &v.input()).await {
        Ok(created) => Ok(redirect_flash(&c, &format!("/catalog/{}", created.entry.code), "flash.saved", "")),
        Err(e) => render_form(&c, None, &v, &field_errors(e)?, "", false),
    }
}

pub async fn edit_form(c: Ctx, Path((class, seq)): Path<(String, String)>) -> Result<Response, Fail> {
    let code = parse_path_code(&class, &seq)?;
    let view = uc::get(&c.p, &c.who, code, None).await?;
    if !(c.who.has(Role::Cataloger) && c.who.department.as_deref() == Some(view.entry.provider.id.as_str())) {
        return Err(AppError::Forbidden(
            "只有提供方的目录编制员可以修改 (only the provider's cataloger may edit)".into(),
        )
        .into());
    }
    render_form(&c, Some(&code.to_string()), &EntryValues::from_entry(&view), &[], &view.updated_at, false)
}

pub async fn update(Path((class, seq)): Path<(String, String)>, Posted { c, f }: Posted) -> Result<Response, Fail> {
    let code = parse_path_code(&class, &seq)?;
    let mut v = EntryValues::from_form(&f);
    v.class = code.to_string();
    let current = uc::get(&c.p, &c.who, code, None).await?;
    let seen = f.get("updated_at").unwrap_or("");
    // The form was opened on an older version: say so instead of overwriting someone else's change.
    if seen != current.updated_at {
        return render_form(&c, Some(&code.to_string()), &v, &[], &current.updated_at, true);
    }
    match uc::update(&c.p, &c.who, code, &v.input()).await {
        Ok(_) => Ok(redirect_flash(&c, &format!("/catalog/{code}"), "flash.saved", "")),
        Err(e) => render_form(&c, Some(&code.to_string()), &v, &field_errors(e)?, seen, false),
    }
}

// ---- import ----

pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    l: Layout,
    errors: Vec<RowError>,
    error: String,
}

fn import_page(c: &Ctx, errors: Vec<RowError>, error: String) -> Result<Response, Fail> {
    let t = c.t;
    let l = view::layout(
        c,
        t.get("import.title"),
        "/catalog/import",
        &[("/catalog", t.get("catalog.title")), ("", t.get("import.title"))],
    );
    let bad = !errors.is_empty() || !error.is_empty();
    let mut r = html(&ImportPage { l, errors, error })?;
    if bad {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn import_form(c: Ctx) -> Result<Response, Fail> {
    c.who.require(&[Role::Cataloger])?;
    import_page(&c, Vec::new(), String::new())
}

pub async fn import(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let t = c.t;
    let Some((_, filename, bytes)) = f.file.as_ref().filter(|(_, _, b)| !b.is_empty()) else {
        return import_page(&c, Vec::new(), t.get("import.empty").to_owned());
    };
    let ext = filename.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let Some(format) = FileFormat::from_name(&ext).filter(|f| !matches!(f, FileFormat::Dcat)) else {
        return import_page(
            &c,
            Vec::new(),
            t.msg("不支持的文件类型：请上传 xlsx、csv 或 json (unsupported file type: upload xlsx, csv or json)"),
        );
    };
    match catalog_io::import(&c.p, Importer::Cataloger(&c.who), format, bytes, &|_, _| {}).await {
        Ok(n) => Ok(redirect_flash(&c, "/catalog?status=draft&sort=updated", "import.done", &n.to_string())),
        Err(AppError::Import(errs)) => import_page(
            &c,
            errs.into_iter().map(|e| RowError { row: e.row, column: e.column, message: t.msg(&e.message) }).collect(),
            String::new(),
        ),
        Err(AppError::Validation(errs)) => import_page(
            &c,
            errs.into_iter().map(|e| RowError { row: 0, column: e.field, message: t.msg(&e.message) }).collect(),
            String::new(),
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn template(c: Ctx) -> Result<Response, Fail> {
    let _ = &c.who;
    let bytes = catalog_io::template()?;
    Ok((
        [
            (header::CONTENT_TYPE, FileFormat::Xlsx.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog-template.xlsx\"".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
