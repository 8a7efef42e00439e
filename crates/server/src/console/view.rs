//! What every page shows (layout, navigation by role, breadcrumbs, flash message) and the pieces of list pages
//! (tables with sortable columns, filters, paging).

use axum::http::{HeaderValue, header};
use axum::response::Response;
use shuqiao_domain::roles::Role;

use super::i18n::Tr;
use super::{Ctx, assets, redirect, session};

/// A message shown once on the next page: `kind:key[:arg]` in a short-lived cookie (ASCII only).
#[derive(Debug, Clone)]
pub struct Flash {
    pub ok: bool,
    pub key: String,
    pub arg: String,
}

impl Flash {
    pub fn decode(v: &str) -> Option<Flash> {
        let mut parts = v.splitn(3, ':');
        let ok = match parts.next()? {
            "ok" => true,
            "err" => false,
            _ => return None,
        };
        let key = parts.next()?.to_owned();
        let arg = parts.next().unwrap_or("").to_owned();
        Some(Flash { ok, key, arg })
    }
}

/// Redirects after an action and shows `key` (a message-catalog key) on the next page.
pub fn redirect_flash(c: &Ctx, to: &str, key: &str, arg: &str) -> Response {
    let mut r = redirect(to);
    let safe = |s: &str| s.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-/".contains(ch));
    if safe(key) && safe(arg) {
        let cookie = session::set_cookie(session::FLASH_COOKIE, &format!("ok:{key}:{arg}"), 60, c.secure);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A query string from pairs, skipping empty values.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

pub struct Nav {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

pub struct Crumb {
    pub href: String,
    pub label: String,
}

/// The frame of every page.
pub struct Layout {
    pub t: Tr,
    pub title: String,
    pub nav: Vec<Nav>,
    pub crumbs: Vec<Crumb>,
    pub user: String,
    pub roles: String,
    pub csrf: String,
    pub flash: Option<(bool, String)>,
    pub lang_href: String,
    pub css: String,
    pub js: String,
}

fn nav_for(c: &Ctx, active: &str) -> Vec<Nav> {
    let who = &c.who;
    let has = |roles: &[Role]| roles.iter().any(|r| who.has(*r));
    let mut items: Vec<(&'static str, &'static str)> = vec![("/", "nav.home")];
    items.push(("/catalog", "nav.catalog"));
    if has(&[Role::Consumer, Role::Reviewer, Role::Authority]) {
        items.push(("/applications", "nav.applications"));
        items.push(("/grants", "nav.grants"));
        items.push(("/subscriptions", "nav.subscriptions"));
        items.push(("/objections", "nav.objections"));
        items.push(("/demands", "nav.demands"));
    }
    if has(&[Role::Cataloger]) {
        items.push(("/catalog/import", "nav.import"));
    }
    if has(&[Role::Authority]) {
        items.push(("/monitor", "nav.monitor"));
    }
    if has(&[Role::SecurityAuditor, Role::DepartmentAdmin]) {
        items.push(("/audit", "nav.audit"));
    }
    if has(&[Role::PlatformAdmin]) {
        items.push(("/admin/departments", "nav.departments"));
    }
    if has(&[Role::PlatformAdmin, Role::DepartmentAdmin]) {
        items.push(("/admin/users", "nav.users"));
    }
    if has(&[Role::DepartmentAdmin]) {
        items.push(("/admin/clients", "nav.clients"));
        items.push(("/admin/nodes", "nav.nodes"));
    }
    items.into_iter().map(|(href, key)| Nav { href, label: c.t.get(key).to_owned(), current: href == active }).collect()
}

/// The layout of a page: `active` is the navigation entry to highlight, `crumbs` the path to this page (the last
/// one is the page itself and has no link).
pub fn layout(c: &Ctx, title: &str, active: &str, crumbs: &[(&str, &str)]) -> Layout {
    let t = c.t;
    let roles = c
        .who
        .roles
        .iter()
        .map(|r| match t.lang() {
            super::i18n::Lang::Zh => r.label_zh().to_owned(),
            super::i18n::Lang::En => r.as_str().replace('_', " "),
        })
        .collect::<Vec<_>>()
        .join("、");
    let other = t.get("lang.switch.code");
    let base = c.here.split('?').next().unwrap_or("/");
    let rest: Vec<&str> = c
        .here
        .split_once('?')
        .map(|(_, q)| q.split('&').filter(|kv| !kv.starts_with("lang=") && !kv.is_empty()).collect())
        .unwrap_or_default();
    let mut q = rest.join("&");
    if !q.is_empty() {
        q.push('&');
    }
    let flash = c.flash.as_ref().map(|f| {
        let mut text = t.get(&f.key).to_owned();
        if !f.arg.is_empty() {
            text.push(' ');
            text.push_str(&f.arg);
        }
        (f.ok, text)
    });
    let mut all = vec![Crumb { href: "/".into(), label: t.get("nav.home").to_owned() }];
    all.extend(crumbs.iter().map(|(href, label)| Crumb { href: (*href).to_owned(), label: (*label).to_owned() }));
    Layout {
        t,
        title: title.to_owned(),
        nav: nav_for(c, active),
        crumbs: if crumbs.is_empty() { Vec::new() } else { all },
        user: c.who.name.clone(),
        roles,
        csrf: c.csrf.clone(),
        flash,
        lang_href: format!("{base}?{q}lang={other}"),
        css: assets::css_href(),
        js: assets::js_href(),
    }
}

/// One cell of a list table.
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    /// CSS class (`overdue`, `badge submitted`…).
    pub class: String,
    /// What the column sorts by (defaults to the text).
    pub key: String,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        let text = s.into();
        Cell { key: text.clone(), text, href: None, class: String::new() }
    }
    pub fn link(s: impl Into<String>, href: impl Into<String>) -> Cell {
        let mut c = Cell::text(s);
        c.href = Some(href.into());
        c
    }
    pub fn class(mut self, class: impl Into<String>) -> Cell {
        self.class = class.into();
        self
    }
    pub fn key(mut self, key: impl Into<String>) -> Cell {
        self.key = key.into();
        self
    }
}

pub struct Column {
    pub label: String,
    pub href: String,
    /// `asc`, `desc` or empty.
    pub sorted: &'static str,
}

pub struct Filter {
    pub name: &'static str,
    pub label: String,
    /// (value, label, selected)
    pub options: Vec<(String, String, bool)>,
}

/// A table with sortable columns: `?sort=<column index>&dir=asc|desc` sorts the rows of the page shown.
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(
        base: &str,
        params: &[(&str, &str)],
        labels: &[&str],
        mut rows: Vec<Vec<Cell>>,
        sort: Option<&str>,
        dir: Option<&str>,
    ) -> Table {
        let sort: Option<usize> = sort.and_then(|s| s.parse().ok()).filter(|i| *i < labels.len());
        let desc = dir == Some("desc");
        if let Some(i) = sort {
            rows.sort_by(|a, b| {
                let (ka, kb) = (a.get(i).map(|c| c.key.as_str()), b.get(i).map(|c| c.key.as_str()));
                if desc { kb.cmp(&ka) } else { ka.cmp(&kb) }
            });
        }
        let columns = labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let now = sort == Some(i);
                let next_dir = if now && !desc { "desc" } else { "asc" };
                let idx = i.to_string();
                let mut p: Vec<(&str, &str)> =
                    params.iter().filter(|(k, _)| *k != "sort" && *k != "dir").copied().collect();
                p.push(("sort", &idx));
                p.push(("dir", next_dir));
                Column {
                    label: (*label).to_owned(),
                    href: format!("{base}{}", query(&p)),
                    sorted: if !now {
                        ""
                    } else if desc {
                        "desc"
                    } else {
                        "asc"
                    },
                }
            })
            .collect();
        Table { columns, rows }
    }
}

/// A filter select over a fixed set of values, labelled through the catalog (`prefix.value`).
pub fn filter(
    t: Tr,
    name: &'static str,
    label_key: &str,
    prefix: &str,
    values: &[&str],
    current: Option<&str>,
) -> Filter {
    let mut options = vec![(String::new(), t.get("list.all").to_owned(), current.is_none_or(str::is_empty))];
    options.extend(values.iter().map(|v| ((*v).to_owned(), t.label(prefix, v).to_owned(), current == Some(*v))));
    Filter { name, label: t.get(label_key).to_owned(), options }
}
