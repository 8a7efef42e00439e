use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use shuqiao_app::accounts::{self as uc, ClientInput, DepartmentInput, RegionInput, UserInput};
use shuqiao_app::auth;

use crate::ApiError;
use crate::extract::{Auth, Json, List, Page, Plat};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    username: String,
    password: String,
}

pub async fn login(Plat(p): Plat, Json(input): Json<LoginInput>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(auth::login(&p, input.username.trim(), &input.password).await?))
}

pub async fn logout(Auth(_, p): Auth, headers: axum::http::HeaderMap) -> Result<StatusCode, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim();
    auth::logout(&p, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(Auth(who, p): Auth) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(uc::me(&p, &who).await?))
}

pub async fn list_regions(Auth(_, p): Auth) -> Result<impl IntoResponse, ApiError> {
    let items = uc::list_regions(&p).await?;
    Ok(axum::Json(List { items, next_cursor: None }))
}

pub async fn create_region(Auth(who, p): Auth, Json(input): Json<RegionInput>) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(uc::create_region(&p, &who, input).await?)))
}

pub async fn list_departments(Auth(_, p): Auth, page: Page) -> Result<impl IntoResponse, ApiError> {
    let items = uc::list_departments(&p, page.cursor.as_deref(), page.limit as i64).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |d| d.id.clone())))
}

pub async fn create_department(
    Auth(who, p): Auth,
    Json(input): Json<DepartmentInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(uc::create_department(&p, &who, input).await?)))
}

pub async fn get_department(Auth(_, p): Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(uc::get_department(&p, &id).await?))
}

pub async fn list_users(Auth(who, p): Auth, page: Page) -> Result<impl IntoResponse, ApiError> {
    let items = uc::list_users(&p, &who, page.cursor.as_deref(), page.limit as i64).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |u| u.username.clone())))
}

pub async fn create_user(Auth(who, p): Auth, Json(input): Json<UserInput>) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(uc::create_user(&p, &who, input).await?)))
}

pub async fn list_clients(Auth(who, p): Auth) -> Result<impl IntoResponse, ApiError> {
    let items = uc::list_clients(&p, &who).await?;
    Ok(axum::Json(List { items, next_cursor: None }))
}

pub async fn create_client(Auth(who, p): Auth, Json(input): Json<ClientInput>) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(uc::create_client(&p, &who, input).await?)))
}
