use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use time::Date;
use time::macros::format_description;

use crate::error::ProblemField;
use crate::extract::{Auth, Plat};
use crate::{ApiError, AppState};

pub async fn rules(Auth(_, p): Auth) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(p.rules.as_ref().clone()))
}

#[derive(Deserialize)]
pub struct DeadlineQuery {
    from: Option<String>,
    working_days: Option<String>,
}

pub async fn deadline(Plat(p): Plat, Query(q): Query<DeadlineQuery>) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let from = match q.from.as_deref() {
        Some(s) => Date::parse(s, format_description!("[year]-[month]-[day]"))
            .map_err(|_| {
                errors.push(ProblemField {
                    field: "from".into(),
                    message: "日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)".into(),
                })
            })
            .ok(),
        None => {
            errors.push(ProblemField { field: "from".into(), message: "缺少起始日期 (from is required)".into() });
            None
        }
    };
    let n = match q.working_days.as_deref().map(str::parse::<u32>) {
        Some(Ok(n)) if n <= 3650 => Some(n),
        Some(_) => {
            errors.push(ProblemField {
                field: "working_days".into(),
                message: "工作日数应为0至3650的整数 (working_days must be an integer from 0 to 3650)".into(),
            });
            None
        }
        None => {
            errors.push(ProblemField {
                field: "working_days".into(),
                message: "缺少工作日数 (working_days is required)".into(),
            });
            None
        }
    };
    let (Some(from), Some(n)) = (from, n) else { return Err(ApiError::fields(errors)) };
    let d = p.calendar.add_working_days(from, n);
    Ok(axum::Json(serde_json::json!({
        "from": from.to_string(),
        "working_days": n,
        "deadline": d.deadline.to_string(),
        "covered": d.covered,
    })))
}

pub async fn openapi(State(_): State<AppState>) -> impl IntoResponse {
    axum::Json(crate::openapi::document())
}
