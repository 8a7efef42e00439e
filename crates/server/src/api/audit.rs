use axum::extract::RawQuery;
use axum::response::IntoResponse;
use serde::Deserialize;
use shuqiao_app::audit;
use shuqiao_store::audit::EventFilter;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ApiError;
use crate::error::ProblemField;
use crate::extract::{Auth, List, Page};

#[derive(Deserialize)]
struct EventsQuery {
    department: Option<String>,
    resource: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[allow(dead_code)]
    limit: Option<String>,
    #[allow(dead_code)]
    cursor: Option<String>,
}

/// Accepts `YYYY-MM-DD` (the whole day, China time) or an RFC 3339 timestamp; returns the store's text form.
fn bound(field: &str, v: &str, end: bool, errors: &mut Vec<ProblemField>) -> Option<String> {
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Some(shuqiao_store::ts(t));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(v, fmt) {
        Ok(d) => {
            let time = if end { time::Time::MAX } else { time::Time::MIDNIGHT };
            let cn = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
            Some(shuqiao_store::ts(d.with_time(time).assume_offset(cn)))
        }
        Err(_) => {
            errors.push(ProblemField {
                field: field.into(),
                message: "应为 YYYY-MM-DD 或 RFC 3339 时间 (expected YYYY-MM-DD or an RFC 3339 timestamp)".into(),
            });
            None
        }
    }
}

pub async fn events(Auth(who, p): Auth, page: Page, RawQuery(raw): RawQuery) -> Result<impl IntoResponse, ApiError> {
    let q: EventsQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("查询参数错误 (bad query): {e}")))?;
    let mut errors = Vec::new();
    let from = q.from.as_deref().filter(|s| !s.is_empty()).and_then(|v| bound("from", v, false, &mut errors));
    let to = q.to.as_deref().filter(|s| !s.is_empty()).and_then(|v| bound("to", v, true, &mut errors));
    let before = match page.cursor.as_deref() {
        None => None,
        Some(c) => match c.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors
                    .push(ProblemField { field: "cursor".into(), message: "无效的游标 (invalid cursor)".into() });
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let filter = EventFilter {
        department: q.department.filter(|s| !s.is_empty()),
        resource: q.resource.filter(|s| !s.is_empty()),
        action: q.action.filter(|s| !s.is_empty()),
        from,
        to,
        before,
    };
    let items = audit::list(&p, &who, filter, page.limit as i64).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |e| e.seq.to_string())))
}

pub async fn verify(Auth(who, p): Auth) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(audit::verify_as(&p, &who).await?))
}
