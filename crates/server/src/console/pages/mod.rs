//! The console's routes and pages. Each handler: authenticate ([`Ctx`]/[`Posted`]) → call one use case of
//! `shuqiao_app` → render a template or redirect with a flash message.

mod admin;
mod cases;
mod catalog;
mod compile;
mod mounts;
mod sharing;

use askama::Template;
use axum::extract::{Query, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use serde::Deserialize;
use shuqiao_app::AppError;
use shuqiao_app::sharing::inbox;
use shuqiao_domain::roles::Role;

use super::i18n::{Lang, Tr};
use super::session::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::view::{self, Cell, Layout, Table};
use super::{Ctx, Fail, Posted, assets};
use crate::AppState;
use crate::extract::Plat;

/// Every console route, with the console middleware (language, flash, error pages, security headers).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/catalog", get(catalog::search))
        .route("/catalog/new", get(compile::new_form).post(compile::create))
        .route("/catalog/import", get(compile::import_form).post(compile::import))
        .route("/catalog/template.xlsx", get(compile::template))
        .route("/catalog/{class}/{seq}", get(catalog::detail))
        .route("/catalog/{class}/{seq}/edit", get(compile::edit_form).post(compile::update))
        .route("/catalog/{class}/{seq}/mount", get(mounts::show).post(mounts::save))
        .route("/catalog/{class}/{seq}/mount/check", post(mounts::check))
        .route("/catalog/{class}/{seq}/{action}", post(catalog::act))
        .route("/applications", get(sharing::applications))
        .route("/applications/new", get(sharing::apply_form).post(sharing::apply))
        .route("/applications/{id}", get(sharing::application))
        .route("/applications/{id}/{action}", post(sharing::answer))
        .route("/grants", get(sharing::grants))
        .route("/grants/{id}", get(sharing::grant))
        .route("/grants/{id}/{action}", post(sharing::grant_act))
        .route("/subscriptions", get(sharing::subscriptions))
        .route("/subscriptions/new", post(sharing::subscribe))
        .route("/subscriptions/{id}", get(sharing::subscription))
        .route("/subscriptions/{id}/{action}", post(sharing::subscription_act))
        .route("/objections", get(sharing::objections))
        .route("/objections/new", get(cases::new_objection).post(cases::create_objection))
        .route("/objections/{id}", get(cases::objection))
        .route("/objections/{id}/{action}", post(cases::answer_objection))
        .route("/demands", get(sharing::demands))
        .route("/demands/new", get(cases::new_demand).post(cases::create_demand))
        .route("/demands/{id}", get(cases::demand))
        .route("/demands/{id}/{action}", post(cases::act_demand))
        .route("/audit", get(admin::audit))
        .route("/audit/verify", get(admin::verify))
        .route("/monitor", get(admin::monitor))
        .route("/admin/departments", get(admin::departments).post(admin::create_department))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/clients", get(admin::clients).post(admin::create_client))
        .route("/admin/nodes", get(admin::nodes).post(admin::register_node))
        .route("/assets/{file}", get(assets::serve))
        .layer(middleware::from_fn(super::layer))
}

pub fn html(t: &impl Template) -> Result<Response, Fail> {
    Ok(Html(t.render()?).into_response())
}

// ---- error pages ----

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr,
    title: &'a str,
    status: u16,
    text: String,
    detail: String,
    css: String,
    lang_href: String,
}

/// The friendly page of a failed request, in the request's language.
pub fn error_page(t: Tr, status: StatusCode, message: &str) -> Response {
    let (title, text, detail) = match status.as_u16() {
        404 => ("err.404.title", t.get("err.404.text").to_owned(), String::new()),
        403 if message == "csrf" => ("err.403.title", t.get("err.csrf").to_owned(), String::new()),
        403 => ("err.403.title", t.get("err.403.text").to_owned(), t.msg(message)),
        409 => ("err.409.title", t.msg(message), String::new()),
        429 => ("err.429.title", t.msg(message), String::new()),
        500 => ("err.500.title", t.get("err.500.text").to_owned(), String::new()),
        _ => ("err.400.title", t.msg(message), String::new()),
    };
    let page = ErrorPage {
        t,
        title: t.get(title),
        status: status.as_u16(),
        text,
        detail,
        css: assets::css_href(),
        lang_href: format!("?lang={}", t.get("lang.switch.code")),
    };
    let body = page.render().unwrap_or_else(|_| status.to_string());
    let mut r = (status, Html(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The fallback of the whole server: problem+json under `/api/`, the console's 404 page elsewhere.
pub async fn fallback(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        return crate::ApiError::not_found("no such path").into_response();
    }
    let (parts, _) = req.into_parts();
    let (lang, _) = super::request_lang(&parts);
    error_page(Tr(lang), StatusCode::NOT_FOUND, "")
}

// ---- login ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    title: String,
    css: String,
    lang_href: String,
    csrf: String,
    next: String,
    username: String,
    error: String,
    flash: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    out: Option<String>,
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.starts_with("/login") => {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn login_page(lang: Lang, next: &str, username: &str, error: String, flash: Option<String>, secure: bool) -> Response {
    let t = Tr(lang);
    let csrf = match shuqiao_app::auth::random_token() {
        Ok(token) => token,
        Err(e) => return Fail::from(e).into_response(),
    };
    let page = LoginPage {
        t,
        title: t.get("login.title").to_owned(),
        css: assets::css_href(),
        lang_href: format!("/login{}", view::query(&[("next", next), ("lang", t.get("lang.switch.code"))])),
        csrf: csrf.clone(),
        next: next.to_owned(),
        username: username.to_owned(),
        error,
        flash,
    };
    let status = if page.error.is_empty() { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    match page.render() {
        Ok(body) => {
            let mut r = (status, Html(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&session::set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, secure)) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => Fail::from(e).into_response(),
    }
}

pub async fn login_form(req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let lang = parts.extensions.get::<Lang>().copied().unwrap_or_default();
    let q: LoginQuery = Query::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
    let flash = q.out.is_some().then(|| Tr(lang).get("flash.logged_out").to_owned());
    login_page(lang, &safe_next(q.next.as_deref()), "", String::new(), flash, session::is_https(&parts))
}

pub async fn login(Plat(p): Plat, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let lang = parts.extensions.get::<Lang>().copied().unwrap_or_default();
    let t = Tr(lang);
    let secure = session::is_https(&parts);
    let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Ok(bytes) = axum::body::to_bytes(body, crate::JSON_LIMIT).await else {
        return error_page(t, StatusCode::PAYLOAD_TOO_LARGE, "");
    };
    let Some(f) = super::forms::FormData::parse(ct, &bytes) else {
        return error_page(t, StatusCode::BAD_REQUEST, "");
    };
    let expected = session::cookie(&parts.headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !session::same_token(f.get("_csrf"), expected) {
        return error_page(t, StatusCode::FORBIDDEN, "csrf");
    }
    let next = safe_next(f.get("next"));
    let username = f.text("username").unwrap_or_default();
    let password = f.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() {
        return login_page(lang, &next, &username, t.get("login.required").to_owned(), None, secure);
    }
    match shuqiao_app::auth::login(&p, &username, password).await {
        Ok(done) => {
            let max_age = (done.expires_at - p.now()).whole_seconds().max(1);
            let mut r = super::redirect(&next);
            for cookie in [
                session::set_cookie(SESSION_COOKIE, &done.token, max_age, secure),
                session::set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure),
            ] {
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Err(AppError::Unauthorized(m)) => login_page(lang, &next, &username, t.msg(&m), None, secure),
        Err(AppError::TooManyRequests { message, .. }) => {
            login_page(lang, &next, &username, t.msg(&message), None, secure)
        }
        Err(e) => Fail::from(e).into_response(),
    }
}

pub async fn logout(headers: axum::http::HeaderMap, Posted { c, .. }: Posted) -> Result<Response, Fail> {
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        shuqiao_app::auth::logout(&c.p, token).await?;
    }
    let mut r = super::redirect("/login?out=1");
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(SESSION_COOKIE, "", 0, c.secure)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

// ---- home ----

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    department: String,
    shortcuts: Vec<(String, String)>,
    overdue: usize,
    table: Table,
    first_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SortQuery {
    sort: Option<String>,
    dir: Option<String>,
}

/// Where an inbox item is handled.
fn inbox_href(item: &inbox::InboxItem) -> String {
    match item.kind {
        "application" => format!("/applications/{}", item.id),
        "catalog_entry" => format!("/catalog/{}", item.id),
        "objection" => format!("/objections/{}", item.id),
        _ => format!("/demands/{}", item.id),
    }
}

pub async fn home(c: Ctx, Query(q): Query<SortQuery>) -> Result<Response, Fail> {
    let t = c.t;
    let items = inbox::inbox(&c.p, &c.who).await?;
    let department = match c.who.department.as_deref() {
        Some(id) => shuqiao_app::accounts::get_department(&c.p, id).await.map(|d| d.name).unwrap_or_default(),
        None => "—".to_owned(),
    };
    let overdue = items.iter().filter(|i| i.overdue).count();
    let rows = items
        .iter()
        .map(|i| {
            let deadline = i.deadline.as_deref().map(|d| t.date(d)).unwrap_or_else(|| "—".into());
            let dl =
                Cell::text(if i.overdue { format!("{deadline}（{}）", t.get("home.overdue")) } else { deadline })
                    .key(i.deadline.clone().unwrap_or_default());
            vec![
                Cell::text(t.label("kind", i.kind)),
                Cell::link(i.title.clone(), inbox_href(i)),
                Cell::text(t.label("action", i.action)),
                if i.overdue { dl.class("overdue") } else { dl },
                Cell::text(t.datetime(&i.created_at)).key(i.created_at.clone()),
            ]
        })
        .collect();
    let labels =
        [t.get("home.kind"), t.get("home.item"), t.get("home.action"), t.get("home.deadline"), t.get("home.since")];
    let table = Table::new("/", &[], &labels, rows, q.sort.as_deref(), q.dir.as_deref());
    let who = &c.who;
    let mut shortcuts = vec![("/catalog".to_owned(), t.get("nav.catalog").to_owned())];
    if who.has(Role::Cataloger) {
        shortcuts.push(("/catalog/new".into(), t.get("nav.new_entry").into()));
        shortcuts.push(("/catalog/import".into(), t.get("nav.import").into()));
    }
    if who.has(Role::Consumer) {
        shortcuts.push(("/applications?as=consumer".into(), t.get("nav.applications").into()));
        shortcuts.push(("/grants?as=consumer".into(), t.get("nav.grants").into()));
    }
    if who.has(Role::Reviewer) {
        shortcuts.push(("/applications?as=provider&status=submitted".into(), t.get("action.answer").into()));
    }
    if who.has(Role::SecurityAuditor) {
        shortcuts.push(("/audit".into(), t.get("audit.title").into()));
        shortcuts.push(("/audit/verify".into(), t.get("audit.verify").into()));
    }
    if who.has(Role::Authority) {
        shortcuts.push(("/monitor".into(), t.get("nav.monitor").into()));
    }
    let l = view::layout(&c, t.get("home.title"), "/", &[]);
    html(&HomePage { l, department, shortcuts, overdue, table, first_href: None, next_href: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/catalog?q=x")), "/catalog?q=x");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "/login?next=/", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[tokio::test]
    async fn error_pages_speak_the_request_language() {
        for (lang, text) in [(Lang::Zh, "页面不存在"), (Lang::En, "Page not found")] {
            let r = error_page(Tr(lang), StatusCode::NOT_FOUND, "");
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            let html = String::from_utf8(body.to_vec()).unwrap();
            assert!(html.contains(text), "{html}");
        }
        let r = error_page(
            Tr(Lang::En),
            StatusCode::FORBIDDEN,
            "需要以下角色之一：审核员 (requires one of the roles: reviewer)",
        );
        let html = String::from_utf8(axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
        assert!(html.contains("requires one of the roles: reviewer") && !html.contains("审核员"), "{html}");
    }
}
