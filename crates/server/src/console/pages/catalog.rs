//! Catalog pages: search with facets and highlighted hits, entry detail, submit/publish/return/retire.
//! Compiling, editing and importing are in [`super::compile`].

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;
use shuqiao_app::catalog::{self as uc, CatalogQuery, parse_path_code};
use shuqiao_domain::entry::{Status, api_str};
use shuqiao_domain::roles::Role;
use shuqiao_domain::validate::{SHARE_TYPES, UPDATE_CYCLES};

use super::html;
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
    can_mount: bool,
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
        can_mount: status == Status::Published && (cataloger || c.who.has(Role::Authority)),
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
