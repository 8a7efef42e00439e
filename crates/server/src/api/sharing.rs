//! Sharing routes (API.md "Sharing"): applications, grants, objections, demands, the inbox, and the operator's
//! tick.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use shuqiao_app::sharing::{self as uc, applications, demands, grants, inbox, objections};
use shuqiao_domain::sharing::{ApplicationInput, ConditionsInput, GrantAction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ApiError;
use crate::error::ProblemField;
use crate::extract::{Auth, Json, List, Page, parse_json};

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(rename = "as")]
    side: Option<String>,
    status: Option<String>,
    #[allow(dead_code)]
    limit: Option<String>,
    #[allow(dead_code)]
    cursor: Option<String>,
}

fn params(raw: Option<&str>) -> Result<ListParams, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("查询参数错误 (bad query): {e}")))
}

fn limit(page: &Page) -> i64 {
    i64::try_from(page.limit).unwrap_or(50)
}

// ---- applications ----

pub async fn create_application(
    Auth(who, p): Auth,
    Json(input): Json<ApplicationInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(applications::submit(&p, &who, &input).await?)))
}

pub async fn list_applications(
    Auth(who, p): Auth,
    page: Page,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let q = params(raw.as_deref())?;
    let items =
        applications::list(&p, &who, q.side.as_deref(), q.status.as_deref(), page.cursor.as_deref(), limit(&page))
            .await?;
    Ok(axum::Json(List::keyed(items, page.limit, |a| format!("{}|{}", a.created_at, a.id))))
}

pub async fn get_application(Auth(who, p): Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(applications::get(&p, &who, &id).await?))
}

pub async fn approve(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<ConditionsInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(applications::approve(&p, &who, &id, &input).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefuseInput {
    reason: Option<String>,
    legal_basis: Option<String>,
}

pub async fn refuse(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<RefuseInput>,
) -> Result<impl IntoResponse, ApiError> {
    let view = applications::refuse(&p, &who, &id, input.reason.as_deref(), input.legal_basis.as_deref()).await?;
    Ok(axum::Json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    comment: Option<String>,
}

pub async fn return_application(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<CommentInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(applications::return_application(&p, &who, &id, input.comment.as_deref()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    reason: Option<String>,
}

pub async fn dispute(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<ReasonInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(applications::dispute(&p, &who, &id, input.reason.as_deref()).await?))
}

pub async fn coordinate(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<applications::CoordinateInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(applications::coordinate(&p, &who, &id, &input).await?))
}

// ---- grants ----

pub async fn list_grants(
    Auth(who, p): Auth,
    page: Page,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let q = params(raw.as_deref())?;
    let items =
        grants::list(&p, &who, q.side.as_deref(), q.status.as_deref(), page.cursor.as_deref(), limit(&page)).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |g| format!("{}|{}", g.created_at, g.id))))
}

pub async fn get_grant(Auth(who, p): Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(grants::get(&p, &who, &id).await?))
}

async fn grant_action(
    who: shuqiao_app::platform::Principal,
    p: shuqiao_app::Platform,
    id: String,
    action: GrantAction,
    input: ReasonInput,
) -> Result<axum::Json<grants::GrantView>, ApiError> {
    Ok(axum::Json(grants::act(&p, &who, &id, action, input.reason.as_deref()).await?))
}

pub async fn suspend_grant(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<ReasonInput>,
) -> Result<impl IntoResponse, ApiError> {
    grant_action(who, p, id, GrantAction::Suspend, input).await
}

pub async fn resume_grant(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<ReasonInput>,
) -> Result<impl IntoResponse, ApiError> {
    grant_action(who, p, id, GrantAction::Resume, input).await
}

pub async fn revoke_grant(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<ReasonInput>,
) -> Result<impl IntoResponse, ApiError> {
    grant_action(who, p, id, GrantAction::Revoke, input).await
}

// ---- objections ----

pub async fn create_objection(
    Auth(who, p): Auth,
    Json(input): Json<objections::ObjectionInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(objections::submit(&p, &who, &input).await?)))
}

pub async fn list_objections(
    Auth(who, p): Auth,
    page: Page,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let q = params(raw.as_deref())?;
    let items =
        objections::list(&p, &who, q.side.as_deref(), q.status.as_deref(), page.cursor.as_deref(), limit(&page))
            .await?;
    Ok(axum::Json(List::keyed(items, page.limit, |o| format!("{}|{}", o.created_at, o.id))))
}

pub async fn get_objection(Auth(who, p): Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(objections::get(&p, &who, &id).await?))
}

pub async fn confirm_objection(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<objections::AnswerInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(objections::answer(&p, &who, &id, true, &input).await?))
}

pub async fn reject_objection(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<objections::AnswerInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(objections::answer(&p, &who, &id, false, &input).await?))
}

// ---- demands ----

pub async fn create_demand(
    Auth(who, p): Auth,
    Json(input): Json<demands::DemandInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(demands::submit(&p, &who, &input).await?)))
}

pub async fn list_demands(
    Auth(who, p): Auth,
    page: Page,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let q = params(raw.as_deref())?;
    let items =
        demands::list(&p, &who, q.side.as_deref(), q.status.as_deref(), page.cursor.as_deref(), limit(&page)).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |d| format!("{}|{}", d.created_at, d.id))))
}

pub async fn get_demand(Auth(who, p): Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(demands::get(&p, &who, &id).await?))
}

pub async fn route_demand(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<demands::RouteInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(demands::route(&p, &who, &id, &input).await?))
}

pub async fn answer_demand(
    Auth(who, p): Auth,
    Path(id): Path<String>,
    Json(input): Json<demands::DemandAnswerInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(demands::answer(&p, &who, &id, &input).await?))
}

// ---- inbox, tick ----

pub async fn inbox(Auth(who, p): Auth) -> Result<impl IntoResponse, ApiError> {
    let items = inbox::inbox(&p, &who).await?;
    Ok(axum::Json(List { items, next_cursor: None }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TickInput {
    now: Option<String>,
}

/// `POST /admin/tick` (platform administrator; operators and tests): runs the sharing tick, optionally as of
/// `{"now": "<RFC 3339>"}`.
pub async fn tick(Auth(who, p): Auth, body: Bytes) -> Result<impl IntoResponse, ApiError> {
    let input: TickInput =
        if body.iter().all(u8::is_ascii_whitespace) { TickInput::default() } else { parse_json(&body)? };
    let now = match input.now.as_deref() {
        None => None,
        Some(s) => Some(OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            ApiError::fields(vec![ProblemField {
                field: "now".into(),
                message: "时间格式应为 RFC 3339 (now must be an RFC 3339 timestamp)".into(),
            }])
        })?),
    };
    Ok(axum::Json(uc::admin_tick(&p, &who, now).await?))
}
