//! The web console (DESIGN "Web console and portal"): server-rendered pages in Chinese (English switchable) for
//! every role, with forms that work without script. Handlers parse the request, call the same use cases of
//! `shuqiao_app` as the API (so authorization, validation, audit and isolation are identical) and render an
//! askama template. No SQL and no business rules here.
//!
//! Session: the token of `auth::login` in an `HttpOnly; SameSite=Lax` cookie, expiring with the session.
//! CSRF: every POST form carries a token derived from the session token ([`session::csrf_token`]), checked by
//! the [`Posted`] extractor before any handler runs; the login form uses a double-submit cookie.

mod assets;
mod charts;
mod forms;
pub mod i18n;
mod pages;
mod session;
mod view;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shuqiao_app::platform::Principal;
use shuqiao_app::{AppError, Platform};

use crate::AppState;
use i18n::{Lang, Tr};
pub use pages::{fallback, routes};

/// What a console handler fails with. Rendered as a friendly page in the console's language by [`layer`].
#[derive(Debug)]
pub enum Fail {
    /// Not logged in (or the session expired): go to the login page, then come back.
    Login { next: String },
    /// A page with a status and a message (already in the request's language, or bilingual `中文 (English)`).
    Page { status: StatusCode, message: String },
    /// The form's CSRF token is missing or wrong.
    Csrf,
}

impl From<AppError> for Fail {
    fn from(e: AppError) -> Fail {
        let status = match &e {
            AppError::Unauthorized(_) => return Fail::Login { next: "/".into() },
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Validation(_) | AppError::Import(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RangeNotSatisfiable(..) => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error (console)");
                return Fail::Page { status: StatusCode::INTERNAL_SERVER_ERROR, message: String::new() };
            }
        };
        let message = match &e {
            AppError::Validation(errs) => errs.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("；"),
            other => other.to_string(),
        };
        Fail::Page { status, message }
    }
}

impl From<crate::ApiError> for Fail {
    fn from(e: crate::ApiError) -> Fail {
        Fail::Page { status: e.status, message: e.problem.detail }
    }
}

impl From<askama::Error> for Fail {
    fn from(e: askama::Error) -> Fail {
        tracing::error!(error = %e, "template error");
        Fail::Page { status: StatusCode::INTERNAL_SERVER_ERROR, message: String::new() }
    }
}

impl Fail {
    pub fn not_found() -> Fail {
        Fail::Page { status: StatusCode::NOT_FOUND, message: String::new() }
    }
}

/// Marker put on a failed response; [`layer`] replaces it with the error page in the request's language.
#[derive(Clone)]
struct FailPage {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self {
            Fail::Login { next } => {
                let to = format!("/login?next={}", view::urlencode(&next));
                redirect(&to)
            }
            Fail::Csrf => {
                let mut r = StatusCode::FORBIDDEN.into_response();
                r.extensions_mut().insert(FailPage { status: StatusCode::FORBIDDEN, message: "csrf".into() });
                r
            }
            Fail::Page { status, message } => {
                let mut r = status.into_response();
                r.extensions_mut().insert(FailPage { status, message });
                r
            }
        }
    }
}

/// 303 See Other to `to` (after a POST, so a reload does not repeat it).
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    // Non-ASCII (a Chinese query in a deep link) is percent-encoded; ASCII, `%` escapes included, stays as is.
    let mut encoded = String::with_capacity(to.len());
    for ch in to.chars() {
        if ch.is_ascii() && !ch.is_ascii_control() && ch != ' ' {
            encoded.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&encoded) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The language of a request: `?lang=` (then remembered in a cookie), the cookie, or Chinese.
fn request_lang(parts: &Parts) -> (Lang, bool) {
    let from_query =
        parts.uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")).and_then(Lang::parse));
    match from_query {
        Some(l) => (l, true),
        None => {
            (session::cookie(&parts.headers, session::LANG_COOKIE).and_then(Lang::parse).unwrap_or_default(), false)
        }
    }
}

/// Middleware of every console route: decides the language, remembers a `?lang=` switch, clears a shown
/// flash message, renders error pages, and marks pages as not cacheable (they hold personal data).
pub async fn layer(req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let (lang, switched) = request_lang(&parts);
    let had_flash = session::cookie(&parts.headers, session::FLASH_COOKIE).is_some();
    let secure = session::is_https(&parts);
    parts.extensions.insert(lang);
    let req = Request::from_parts(parts, body);
    let mut resp = next.run(req).await;
    if let Some(fail) = resp.extensions_mut().remove::<FailPage>() {
        resp = pages::error_page(Tr(lang), fail.status, &fail.message);
    }
    let h = resp.headers_mut();
    if switched
        && let Ok(v) =
            HeaderValue::from_str(&session::set_cookie(session::LANG_COOKIE, lang.code(), 365 * 86400, secure))
    {
        h.append(header::SET_COOKIE, v);
    }
    let is_html = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if had_flash
        && is_html
        && let Ok(v) = HeaderValue::from_str(&session::set_cookie(session::FLASH_COOKIE, "", 0, secure))
    {
        h.append(header::SET_COOKIE, v);
    }
    if is_html {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'"),
        );
    }
    resp
}

/// A logged-in console user: the principal, its platform, the page language, the CSRF token of its forms and
/// a pending flash message.
pub struct Ctx {
    pub p: Platform,
    pub who: Principal,
    pub t: Tr,
    pub csrf: String,
    pub flash: Option<view::Flash>,
    /// Path and query of this request (deep links, language switch).
    pub here: String,
    pub secure: bool,
}

impl<S> FromRequestParts<S> for Ctx
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Fail;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Fail> {
        let here = parts.uri.path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_else(|| "/".into());
        let lang = parts.extensions.get::<Lang>().copied().unwrap_or_default();
        let p = AppState::from_ref(state).platform()?.clone();
        let Some(token) = session::cookie(&parts.headers, session::SESSION_COOKIE).filter(|t| t.starts_with("sqs_"))
        else {
            return Err(Fail::Login { next: here });
        };
        let who = match shuqiao_app::auth::authenticate(&p, token).await {
            Ok(who) => who,
            Err(AppError::Unauthorized(_)) => return Err(Fail::Login { next: here }),
            Err(e) => return Err(e.into()),
        };
        let csrf = session::csrf_token(token);
        let flash = session::cookie(&parts.headers, session::FLASH_COOKIE).and_then(view::Flash::decode);
        Ok(Ctx { p, who, t: Tr(lang), csrf, flash, here, secure: session::is_https(parts) })
    }
}

/// A submitted console form: the caller and the form's fields, the CSRF token already checked.
pub struct Posted {
    pub c: Ctx,
    pub f: forms::FormData,
}

impl<S> FromRequest<S> for Posted
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Fail;
    async fn from_request(req: Request, state: &S) -> Result<Self, Fail> {
        let (mut parts, body) = req.into_parts();
        let c = Ctx::from_request_parts(&mut parts, state).await?;
        let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let limit = if ct.starts_with("multipart/") { crate::IMPORT_LIMIT } else { crate::JSON_LIMIT };
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| Fail::Page { status: StatusCode::PAYLOAD_TOO_LARGE, message: String::new() })?;
        let f = forms::FormData::parse(&ct, &bytes)
            .ok_or(Fail::Page { status: StatusCode::BAD_REQUEST, message: String::new() })?;
        if !session::same_token(f.get("_csrf"), &c.csrf) {
            return Err(Fail::Csrf);
        }
        Ok(Posted { c, f })
    }
}
