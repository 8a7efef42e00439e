use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use shuqiao_app::catalog::{self as uc, CatalogQuery, SearchPage, parse_path_code};
use shuqiao_app::catalog_io::{self, Importer};
use shuqiao_catalog_files::FileFormat;
use shuqiao_domain::entry::EntryInput;

use crate::ApiError;
use crate::error::ProblemField;
use crate::extract::{Auth, Json, Page, encode_cursor};

pub async fn create(Auth(who, p): Auth, Json(input): Json<EntryInput>) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(uc::create(&p, &who, &input).await?)))
}

#[derive(Deserialize)]
pub struct VersionQuery {
    version: Option<String>,
}

pub async fn get(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let code = parse_path_code(&class, &seq)?;
    let q: VersionQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("查询参数错误 (bad query): {e}")))?;
    let version = match q.version.as_deref() {
        None | Some("") => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            ApiError::fields(vec![ProblemField {
                field: "version".into(),
                message: "版本号应为正整数 (version must be a positive integer)".into(),
            }])
        })?),
    };
    Ok(axum::Json(uc::get(&p, &who, code, version).await?))
}

pub async fn update(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    Json(input): Json<EntryInput>,
) -> Result<impl IntoResponse, ApiError> {
    let code = parse_path_code(&class, &seq)?;
    Ok(axum::Json(uc::update(&p, &who, code, &input).await?))
}

pub async fn submit(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(uc::submit(&p, &who, parse_path_code(&class, &seq)?).await?))
}

pub async fn publish(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(uc::publish(&p, &who, parse_path_code(&class, &seq)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    comment: String,
}

pub async fn return_entry(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    Json(input): Json<ReturnInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(uc::return_entry(&p, &who, parse_path_code(&class, &seq)?, &input.comment).await?))
}

pub async fn retire(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(uc::retire(&p, &who, parse_path_code(&class, &seq)?).await?))
}

pub async fn versions(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let items = uc::versions(&p, &who, parse_path_code(&class, &seq)?).await?;
    Ok(axum::Json(serde_json::json!({"items": items, "next_cursor": null})))
}

#[derive(Deserialize, Default)]
struct SearchParams {
    q: Option<String>,
    provider: Option<String>,
    class: Option<String>,
    share_type: Option<String>,
    open: Option<String>,
    update_cycle: Option<String>,
    status: Option<String>,
    region: Option<String>,
    highlight: Option<String>,
    #[allow(dead_code)]
    limit: Option<String>,
    #[allow(dead_code)]
    cursor: Option<String>,
}

#[derive(Serialize)]
struct SearchResponse {
    #[serde(flatten)]
    page: SearchPage,
    next_cursor: Option<String>,
}

pub async fn search(Auth(who, p): Auth, page: Page, RawQuery(raw): RawQuery) -> Result<impl IntoResponse, ApiError> {
    let params: SearchParams = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("查询参数错误 (bad query): {e}")))?;
    let mut errors = Vec::new();
    let open = match params.open.as_deref() {
        None | Some("") => None,
        Some("true" | "1" | "是") => Some(true),
        Some("false" | "0" | "否") => Some(false),
        Some(_) => {
            errors.push(ProblemField {
                field: "open".into(),
                message: "open 应为 true 或 false (open must be true or false)".into(),
            });
            None
        }
    };
    let check = |field: &str, value: &Option<String>, allowed: &[&str], errors: &mut Vec<ProblemField>| {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
            && !allowed.contains(&v)
        {
            errors.push(ProblemField {
                field: field.into(),
                message: format!("取值应为 {} 之一 (one of: {})", allowed.join("/"), allowed.join(", ")),
            });
        }
    };
    check("share_type", &params.share_type, &shuqiao_domain::validate::SHARE_TYPES, &mut errors);
    check("update_cycle", &params.update_cycle, &shuqiao_domain::validate::UPDATE_CYCLES, &mut errors);
    let status: Vec<String> = params
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for (i, s) in status.iter().enumerate() {
        if shuqiao_domain::entry::Status::parse(s).is_none() {
            errors.push(ProblemField {
                field: format!("status[{i}]"),
                message: format!("未知状态 {s} (unknown status)"),
            });
        }
    }
    if let Some(c) = params.class.as_deref().filter(|c| !c.is_empty())
        && (c.len() > 9 || !c.chars().all(|ch| ch.is_ascii_digit()))
    {
        errors.push(ProblemField {
            field: "class".into(),
            message: "分类应为数字前缀，如 1、101、101001 (class must be a digit prefix)".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let query = CatalogQuery {
        q: params.q,
        provider: params.provider.filter(|s| !s.is_empty()),
        class: params.class.filter(|s| !s.is_empty()),
        share_type: params.share_type.filter(|s| !s.is_empty()),
        open,
        update_cycle: params.update_cycle.filter(|s| !s.is_empty()),
        status,
        region: params.region.filter(|s| !s.is_empty()),
        offset: page.offset()?,
        limit: page.limit,
        highlight: matches!(params.highlight.as_deref(), Some("true" | "1")),
    };
    let result = uc::search(&p, &who, query).await?;
    let next_cursor = result.next_offset.map(|o| encode_cursor(&format!("o:{o}")));
    Ok(axum::Json(SearchResponse { page: result, next_cursor }))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

pub async fn export(
    Auth(_, p): Auth,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ExportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let name = q.format.as_deref().unwrap_or("json");
    let format = FileFormat::from_name(name).ok_or_else(|| {
        ApiError::fields(vec![ProblemField {
            field: "format".into(),
            message: "格式应为 xlsx、csv、json 或 dcat (format: xlsx, csv, json or dcat)".into(),
        }])
    })?;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let bytes = catalog_io::export(&p, format, &format!("http://{host}")).await?;
    let filename = format!("shuqiao-catalog.{}", format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        bytes,
    ))
}

pub async fn template(Auth(_, _p): Auth) -> Result<impl IntoResponse, ApiError> {
    let bytes = catalog_io::template()?;
    Ok((
        [
            (header::CONTENT_TYPE, FileFormat::Xlsx.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog-template.xlsx\"".to_owned()),
        ],
        bytes,
    ))
}

pub async fn import(
    Auth(who, p): Auth,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map_err(crate::extract::body_rejection)?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = FileFormat::from_content_type(ct).filter(|f| !matches!(f, FileFormat::Dcat)).ok_or_else(|| {
        ApiError::bad_request(format!(
            "不支持的内容类型“{ct}”：请用 xlsx、text/csv 或 application/json (unsupported Content-Type)"
        ))
    })?;
    if body.is_empty() {
        return Err(ApiError::bad_request("导入文件为空 (the file is empty)"));
    }
    let n = catalog_io::import(&p, Importer::Cataloger(&who), format, &body, &|_, _| {}).await?;
    Ok(axum::Json(serde_json::json!({"imported": n})))
}
