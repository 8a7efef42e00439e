//! File exchange over HTTP: upload (streamed), list, and download with `Range` (RFC 9110 §14).

use axum::body::Body;
use axum::extract::{Path, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use shuqiao_app::catalog::parse_path_code;
use shuqiao_app::exchange::files::{self, UploadMeta};
use tokio::io::AsyncReadExt;

use super::data::call;
use crate::ApiError;
use crate::extract::{Auth, List, Page};

/// How much of a refused upload is read anyway so that the client gets the answer.
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;
/// Bytes read from disk per chunk of a download.
const CHUNK: usize = 256 * 1024;

#[derive(Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

/// The SHA-256 an uploader states: `X-Shuqiao-Sha256: <hex>`, or `Content-Digest: sha-256=:<base64>:` (RFC 9530).
fn stated_sha256(h: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(v) = h.get("x-shuqiao-sha256") {
        return Ok(Some(v.to_str().unwrap_or("?").to_owned()));
    }
    let Some(v) = h.get("content-digest").and_then(|v| v.to_str().ok()) else { return Ok(None) };
    for part in v.split(',') {
        if let Some(b64) = part.trim().strip_prefix("sha-256=:").and_then(|s| s.strip_suffix(':')) {
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| {
                ApiError::bad_request("Content-Digest 的 sha-256 不是有效的 base64 (Content-Digest: invalid base64)")
            })?;
            return Ok(Some(hex::encode(bytes)));
        }
    }
    Ok(None)
}

/// `POST /catalog/{class}/{seq}/files?name=` with the file as the body.
pub async fn upload(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let code = parse_path_code(&class, &seq)?;
    let h = req.headers();
    let meta = UploadMeta {
        name: q.name,
        content_type: h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
        sha256: stated_sha256(h)?,
        length: h.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()),
    };
    let mut body = req.into_body().into_data_stream();
    match files::upload(&p, &who, code, meta, &mut body).await {
        Ok(file) => Ok((StatusCode::CREATED, axum::Json(file)).into_response()),
        Err(e) => {
            // A client still sending would see a broken pipe instead of the answer: read (and drop) what it sends,
            // up to a bound, so that the refusal reaches it.
            use futures_util::StreamExt;
            let mut drained = 0usize;
            let until = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            while drained < DRAIN_LIMIT {
                match tokio::time::timeout_at(until, body.next()).await {
                    Ok(Some(Ok(chunk))) => drained += chunk.len(),
                    _ => break,
                }
            }
            Err(e.into())
        }
    }
}

/// `GET /data/{class}/{seq}/files`: newest first.
pub async fn list(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    headers: HeaderMap,
    page: Page,
) -> Result<impl IntoResponse, ApiError> {
    let call = call(&who, &class, &seq, &headers)?;
    let after = page.cursor.as_deref().and_then(|c| c.split_once('|'));
    let limit = i64::try_from(page.limit).unwrap_or(50);
    let items = files::list(&p, call, after, limit).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |f| format!("{}|{}", f.uploaded_at, f.id))))
}

/// `GET /data/{class}/{seq}/files/{id}`: the file, or the asked byte range of it (206).
pub async fn download(
    Auth(who, p): Auth,
    Path((class, seq, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call(&who, &class, &seq, &headers)?;
    // A range on a file that changed is no resume: `If-Range` with another checksum asks for the whole file.
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(files::parse_range);
    let d = files::download(&p, call, &id, range).await?;
    let d = match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        Some(tag) if d.partial && tag.trim_matches('"') != d.file.sha256 => {
            let mut d = d;
            d.partial = false;
            use tokio::io::AsyncSeekExt;
            d.body
                .seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(|e| ApiError::from(shuqiao_app::AppError::Internal(anyhow::anyhow!("file store: {e}"))))?;
            d.start = 0;
            d.len = d.file.size;
            d
        }
        _ => d,
    };
    let status = if d.partial { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let mut resp = Response::new(stream(d.body, d.len));
    *resp.status_mut() = status;
    let hs = resp.headers_mut();
    let ct = HeaderValue::from_str(&d.file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    hs.insert(header::CONTENT_TYPE, ct);
    hs.insert(header::CONTENT_LENGTH, HeaderValue::from(d.len));
    hs.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", d.file.sha256)) {
        hs.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&d.file.sha256) {
        hs.insert("x-shuqiao-sha256", v);
    }
    if d.partial
        && let Ok(v) =
            HeaderValue::from_str(&format!("bytes {}-{}/{}", d.start, (d.start + d.len).saturating_sub(1), d.file.size))
    {
        hs.insert(header::CONTENT_RANGE, v);
    }
    // RFC 6266 / 5987: the UTF-8 name, percent-encoded.
    let encoded: String = d
        .file
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")) {
        hs.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `len` bytes of `file` from its current position, in chunks, never the whole file in memory.
fn stream(file: tokio::fs::File, len: u64) -> Body {
    let s = futures_util::stream::unfold((file, len), |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut buf = vec![0u8; want];
        match file.read(&mut buf).await {
            Ok(0) => Some((Err(std::io::Error::other("the file ended early")), (file, 0))),
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(axum::body::Bytes::from(buf)), (file, left - n as u64)))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    });
    Body::from_stream(s)
}
