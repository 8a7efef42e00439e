//! One mapping from use-case errors to RFC 9457 problem+json, with the statuses of API.md. Internal errors are
//! logged with their cause and the request's span (request id); clients only see that something went wrong.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shuqiao_app::AppError;

#[derive(Debug, Serialize)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct ImportProblem {
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Problems {
    Fields(Vec<ProblemField>),
    Rows(Vec<ImportProblem>),
}

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Boxed to keep `ApiError` (the error of every handler) small.
    pub errors: Option<Box<Problems>>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub problem: Problem,
    /// A header the status needs.
    pub header: Option<ExtraHeader>,
}

/// The header some statuses carry besides the problem body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraHeader {
    /// 429: `Retry-After: seconds`.
    RetryAfter(u64),
    /// 416: `Content-Range: bytes */size`.
    RangeOf(u64),
}

fn kind(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad-request", "请求格式错误 (Bad request)"),
        401 => ("unauthorized", "未登录或令牌无效 (Not authenticated)"),
        403 => ("forbidden", "无权执行此操作 (Forbidden)"),
        404 => ("not-found", "未找到 (Not found)"),
        409 => ("conflict", "当前状态不允许此操作 (Conflict)"),
        413 => ("too-large", "请求内容过大 (Payload too large)"),
        416 => ("range-not-satisfiable", "请求的范围无法满足 (Range not satisfiable)"),
        415 => ("unsupported-media-type", "不支持的内容类型 (Unsupported media type)"),
        422 => ("validation", "数据校验未通过 (Validation failed)"),
        429 => ("too-many-requests", "请求过于频繁 (Too many requests)"),
        502 => ("bad-gateway", "数据源应答无效 (Bad gateway)"),
        503 => ("unavailable", "服务暂不可用 (Service unavailable)"),
        504 => ("gateway-timeout", "数据源应答超时 (Gateway timeout)"),
        _ => ("internal", "服务器内部错误 (Internal error)"),
    }
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        let (k, title) = kind(status);
        ApiError {
            status,
            problem: Problem {
                kind: format!("https://shuqiao.dev/problems/{k}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: None,
            },
            header: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn not_ready() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "平台正在启动 (the platform is starting)")
    }
    pub fn fields(errors: Vec<ProblemField>) -> ApiError {
        let n = errors.len();
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{n} 个问题 ({n} problem(s))"));
        e.problem.errors = Some(Box::new(Problems::Fields(errors)));
        e
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            AppError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            AppError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            AppError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            AppError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            AppError::TooLarge(m) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            AppError::RangeNotSatisfiable(m, size) => {
                let mut e = ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, m);
                e.header = Some(ExtraHeader::RangeOf(size));
                e
            }
            AppError::Validation(errors) => ApiError::fields(
                errors.into_iter().map(|f| ProblemField { field: f.field, message: f.message }).collect(),
            ),
            AppError::Import(errors) => {
                let n = errors.len();
                let mut e = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("导入文件有 {n} 个问题，未导入任何内容 ({n} problem(s); nothing was imported)"),
                );
                e.problem.errors = Some(Box::new(Problems::Rows(
                    errors
                        .into_iter()
                        .map(|r| ImportProblem { row: r.row, column: r.column, message: r.message })
                        .collect(),
                )));
                e
            }
            AppError::TooManyRequests { message, retry_after_secs } => {
                let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message);
                e.header = Some(ExtraHeader::RetryAfter(retry_after_secs));
                e
            }
            AppError::Unavailable(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m),
            AppError::BadGateway(m) => ApiError::new(StatusCode::BAD_GATEWAY, m),
            AppError::GatewayTimeout(m) => ApiError::new(StatusCode::GATEWAY_TIMEOUT, m),
            AppError::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务器内部错误，已记录 (internal error; it has been logged)",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        let extra = match self.header {
            Some(ExtraHeader::RetryAfter(s)) => {
                HeaderValue::from_str(&s.to_string()).ok().map(|v| (header::RETRY_AFTER, v))
            }
            Some(ExtraHeader::RangeOf(size)) => {
                HeaderValue::from_str(&format!("bytes */{size}")).ok().map(|v| (header::CONTENT_RANGE, v))
            }
            None => None,
        };
        if let Some((name, value)) = extra {
            resp.headers_mut().insert(name, value);
        }
        resp
    }
}
