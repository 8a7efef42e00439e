//! Table sync over HTTP (API.md "Data" subscription rows): subscribe, look, pause/resume/cancel, provenance;
//! the provider's recall. What they mean is decided in `shuqiao_app::exchange::sync`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use shuqiao_app::catalog::parse_path_code;
use shuqiao_app::exchange::sync::{self, Action, RecallInput, SubscriptionInput};

use crate::ApiError;
use crate::extract::{Auth, Json, List, Page};

pub async fn create(Auth(who, p): Auth, Json(input): Json<SubscriptionInput>) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(sync::create(&p, &who, input).await?)))
}

pub async fn list(Auth(who, p): Auth, page: Page) -> Result<impl IntoResponse, ApiError> {
    let limit = i64::try_from(page.limit).unwrap_or(50);
    let items = sync::list(&p, &who, page.cursor.as_deref(), limit).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |s| format!("{}|{}", s.created_at, s.id))))
}

pub async fn get(Auth(who, p): Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(sync::get(&p, &who, &id).await?))
}

pub async fn batches(Auth(who, p): Auth, Path(id): Path<String>, page: Page) -> Result<impl IntoResponse, ApiError> {
    let after = match page.cursor.as_deref() {
        None => 0,
        Some(c) => c.parse::<i64>().map_err(|_| ApiError::bad_request("无效的游标 (invalid cursor)"))?,
    };
    let limit = i64::try_from(page.limit).unwrap_or(50);
    let items = sync::batches(&p, &who, &id, after, limit).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |b| b.seq.to_string())))
}

async fn act(who: Auth, id: String, action: Action) -> Result<impl IntoResponse, ApiError> {
    let Auth(who, p) = who;
    Ok(axum::Json(sync::act(&p, &who, &id, action).await?))
}

pub async fn pause(auth: Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    act(auth, id, Action::Pause).await
}

pub async fn resume(auth: Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    act(auth, id, Action::Resume).await
}

pub async fn cancel(auth: Auth, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    act(auth, id, Action::Cancel).await
}

pub async fn recall(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    Json(input): Json<RecallInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(sync::recall(&p, &who, parse_path_code(&class, &seq)?, input).await?))
}
