//! Extractors: the caller (bearer token), JSON bodies with problem+json errors, and list paging.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use base64::Engine;
use serde::de::DeserializeOwned;
use shuqiao_app::Platform;
use shuqiao_app::platform::Principal;

use crate::error::ProblemField;
use crate::{ApiError, AppState};

/// The ready platform.
pub struct Plat(pub Platform);

impl<S> FromRequestParts<S> for Plat
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Plat(AppState::from_ref(state).platform()?.clone()))
    }
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// An authenticated caller (user session or API client).
pub struct Auth(pub Principal, pub Platform);

impl<S> FromRequestParts<S> for Auth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let platform = AppState::from_ref(state).platform()?.clone();
        let Some(token) = bearer(parts) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "缺少 Authorization: Bearer 令牌 (missing bearer token)",
            ));
        };
        let who = shuqiao_app::auth::authenticate(&platform, token).await?;
        Ok(Auth(who, platform))
    }
}

/// A JSON body: 400 for a wrong content type or malformed JSON, 422 (naming the field, with its path such as
/// `items[0].length`) for unknown, missing and wrongly typed fields, 413 past the size limit.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::bad_request(format!(
                "请求体应为 application/json，收到的是“{ct}” (expected Content-Type: application/json)"
            )));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(Json)
    }
}

pub fn body_rejection(r: axum::extract::rejection::BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "请求体超过大小限制 (request body too large)")
    } else {
        ApiError::bad_request(format!("无法读取请求体 (cannot read the body): {r}"))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        use serde_json::error::Category;
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => {
                let msg = inner.to_string();
                // The path names the field at fault (`items[0].length`), except for `missing field `x``, which is
                // reported at the enclosing object.
                let missing = msg.strip_prefix("missing field `").and_then(|m| m.split('`').next());
                let field = match (path.as_str(), missing) {
                    ("." | "", Some(name)) => name.to_owned(),
                    (p, Some(name)) => format!("{p}.{name}"),
                    ("." | "", None) => "body".to_owned(),
                    (p, None) => p.to_owned(),
                };
                ApiError::fields(vec![ProblemField { field, message: format!("字段有误 (invalid field): {msg}") }])
            }
            _ => ApiError::bad_request(format!("JSON 格式错误 (malformed JSON): {inner}")),
        }
    })?;
    de.end().map_err(|e| ApiError::bad_request(format!("JSON 格式错误 (malformed JSON): {e}")))?;
    Ok(value)
}

/// `?limit=&cursor=` of every list (default 50, at most 500). Cursors are opaque to clients.
#[derive(Debug, Clone)]
pub struct Page {
    pub limit: usize,
    /// The decoded cursor: an offset or a key, depending on the list.
    pub cursor: Option<String>,
}

#[derive(serde::Deserialize)]
struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl Page {
    pub fn from_query(raw: Option<&str>) -> Result<Page, ApiError> {
        let q: PageQuery = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("查询参数错误 (bad query): {e}")))?;
        let limit = match q.limit.as_deref() {
            None | Some("") => 50,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=500).contains(&n) => n,
                _ => {
                    return Err(ApiError::fields(vec![ProblemField {
                        field: "limit".into(),
                        message: "limit 应为1至500的整数 (limit must be an integer from 1 to 500)".into(),
                    }]));
                }
            },
        };
        let cursor = match q.cursor.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                ApiError::fields(vec![ProblemField {
                    field: "cursor".into(),
                    message: "无效的游标 (invalid cursor)".into(),
                }])
            })?),
        };
        Ok(Page { limit, cursor })
    }

    pub fn offset(&self) -> Result<usize, ApiError> {
        match &self.cursor {
            None => Ok(0),
            Some(c) => c.strip_prefix("o:").and_then(|n| n.parse().ok()).ok_or_else(|| {
                ApiError::fields(vec![ProblemField {
                    field: "cursor".into(),
                    message: "无效的游标 (invalid cursor)".into(),
                }])
            }),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Page::from_query(parts.uri.query())
    }
}

pub fn encode_cursor(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
}

fn decode_cursor(c: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    String::from_utf8(bytes).ok()
}

/// A list response `{items, next_cursor}`.
#[derive(serde::Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// A page of a list ordered by a key: `key` of the last item is the cursor when the page is full.
    pub fn keyed(items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> List<T> {
        let next_cursor = if items.len() == limit { items.last().map(|i| encode_cursor(&key(i))) } else { None };
        List { items, next_cursor }
    }
}
