//! Data (API.md "Data"): online query, verification and the API proxy — each one call of the gateway — and the
//! auditor's data-subject look-up (`GET /audit/subject`).

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shuqiao_app::catalog::parse_path_code;
use shuqiao_app::exchange::gateway::{self, Answer, Call, MAX_LIMIT, Op};
use shuqiao_app::exchange::subject;

use crate::ApiError;
use crate::error::ProblemField;
use crate::extract::{Auth, Json, List, Page};

const GRANT_HEADER: &str = "x-shuqiao-grant";
const CASE_HEADER: &str = "x-shuqiao-case";
/// Longest case reference kept.
const MAX_CASE_CHARS: usize = 200;

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn field(name: &str, message: &str) -> ApiError {
    ApiError::fields(vec![ProblemField { field: name.into(), message: message.into() }])
}

pub(super) fn call<'a>(
    who: &'a shuqiao_app::platform::Principal,
    class: &str,
    seq: &str,
    h: &HeaderMap,
) -> Result<Call<'a>, ApiError> {
    let case_ref = match h.get(CASE_HEADER) {
        None => None,
        Some(v) => {
            // Header values are bytes; a UTF-8 case reference (办件编号) is accepted, anything else is not.
            let s = std::str::from_utf8(v.as_bytes())
                .map_err(|_| {
                    field("X-Shuqiao-Case", "办件编号应为 UTF-8 文本 (the case reference must be UTF-8 text)")
                })?
                .trim()
                .to_owned();
            if s.chars().count() > MAX_CASE_CHARS {
                return Err(field("X-Shuqiao-Case", "办件编号最长200个字符 (at most 200 characters)"));
            }
            Some(s).filter(|s| !s.is_empty())
        }
    };
    Ok(Call { who, code: parse_path_code(class, seq)?, grant: header(h, GRANT_HEADER), case_ref })
}

/// `GET /data/{class}/{seq}/records?<item>=<value>&fields=<item,…>&limit=&cursor=`.
pub async fn records(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("查询参数错误 (bad query): {e}")))?;
    let mut filters = Vec::new();
    let mut fields = None;
    let mut limit = 50u32;
    let mut cursor = None;
    let mut errors = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "fields" => {
                let list: Vec<String> =
                    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if list.is_empty() {
                    errors
                        .push(ProblemField {
                            field: "fields".into(), message: "fields 为空 (fields is empty)".into()
                        });
                }
                fields = Some(list);
            }
            "limit" => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => errors.push(ProblemField {
                    field: "limit".into(),
                    message: format!("limit 应为1至{MAX_LIMIT}的整数 (limit must be an integer from 1 to {MAX_LIMIT})"),
                }),
            },
            "cursor" => cursor = Some(v).filter(|s| !s.is_empty()),
            _ => filters.push((k, v)),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let call = call(&who, &class, &seq, &headers)?;
    match gateway::serve(&p, call, Op::Records { filters, fields, limit, cursor }).await? {
        Answer::Records { items, next_cursor } => Ok(axum::Json(json!({"items": items, "next_cursor": next_cursor}))),
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    #[serde(rename = "match")]
    matches: Option<BTreeMap<String, Value>>,
    check: Option<BTreeMap<String, Value>>,
}

/// `POST /data/{class}/{seq}/verify` → `{found, items: {item: bool}}`; never values.
pub async fn verify(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    headers: HeaderMap,
    Json(input): Json<VerifyInput>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    for (name, map) in [("match", &input.matches), ("check", &input.check)] {
        for (item, v) in map.iter().flatten() {
            if !(v.is_string() || v.is_number() || v.is_boolean()) {
                errors.push(ProblemField {
                    field: format!("{name}.{item}"),
                    message: "值应为字符串或数字 (the value must be a string or a number)".into(),
                });
            }
        }
    }
    if input.matches.as_ref().is_none_or(BTreeMap::is_empty) {
        errors.push(ProblemField {
            field: "match".into(),
            message: "至少需要一个匹配项 (match needs at least one item)".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let call = call(&who, &class, &seq, &headers)?;
    let op = Op::Verify { matches: input.matches.unwrap_or_default(), check: input.check.unwrap_or_default() };
    match gateway::serve(&p, call, op).await? {
        Answer::Verify { found, items } => Ok(axum::Json(json!({"found": found, "items": items}))),
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer")),
    }
}

/// `ANY /data/{class}/{seq}/api/{path…}`: the provider's upstream answer, through the gateway.
pub async fn api(
    Auth(who, p): Auth,
    method: Method,
    Path((class, seq, path)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let call = call(&who, &class, &seq, &headers)?;
    let passed: Vec<(String, String)> =
        headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned()))).collect();
    let op = Op::Api { method: method.to_string(), path, query: raw, headers: passed, body: body.to_vec() };
    match gateway::serve(&p, call, op).await? {
        Answer::Api { status, headers, body } => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                    resp.headers_mut().insert(k, v);
                }
            }
            Ok(resp)
        }
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected answer")),
    }
}

#[derive(Deserialize)]
struct SubjectQuery {
    kind: Option<String>,
    id: Option<String>,
    #[allow(dead_code)]
    limit: Option<String>,
    #[allow(dead_code)]
    cursor: Option<String>,
}

/// `GET /audit/subject?kind=id_card|credit_code&id=…` (security auditor).
pub async fn audit_subject(
    Auth(who, p): Auth,
    page: Page,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let q: SubjectQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("查询参数错误 (bad query): {e}")))?;
    who.require(&[shuqiao_domain::roles::Role::SecurityAuditor])?;
    let before = match page.cursor.as_deref() {
        None => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| field("cursor", "无效的游标 (invalid cursor)"))?),
    };
    let mut errors = Vec::new();
    if q.kind.as_deref().is_none_or(str::is_empty) {
        errors.push(ProblemField {
            field: "kind".into(),
            message: "请指定 kind：id_card 或 credit_code (kind is required)".into(),
        });
    }
    if q.id.as_deref().is_none_or(str::is_empty) {
        errors.push(ProblemField { field: "id".into(), message: "请指定证件号码 id (id is required)".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let kind = q.kind.unwrap_or_default();
    let id = q.id.unwrap_or_default();
    let limit = i64::try_from(page.limit).unwrap_or(50);
    let items = subject::accesses(&p, &who, &kind, &id, before, limit).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |a| a.seq.to_string())))
}
