//! `Idempotency-Key` on state-changing calls: the first response (below 500) is stored per caller and key, and a
//! retry with the same key and the same request gets it again instead of acting twice. The same key with a
//! different request is refused with 422. Stored bodies are sealed with a key that only a genuine retry can derive,
//! since they may carry tokens that are shown once and otherwise only ever stored hashed.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use shuqiao_store::idempotency::{self, StoredResponse};

use crate::error::ProblemField;
use crate::{ApiError, AppState, IMPORT_LIMIT};

const HEADER: &str = "idempotency-key";
/// Responses larger than this are not kept (a retry then acts again, as without a key).
const MAX_STORED: usize = 1024 * 1024;

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::DELETE | Method::PATCH) {
        return next.run(req).await;
    }
    // File uploads are streamed and may be gigabytes: never buffered here. A retried upload makes a new version
    // with the same checksum, which a client can see in the list.
    if req.uri().path().ends_with("/files") {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned) else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 200 {
        return ApiError::fields(vec![ProblemField {
            field: "Idempotency-Key".into(),
            message: "Idempotency-Key 长度应为1至200 (1 to 200 characters)".into(),
        }])
        .into_response();
    }
    let Ok(platform) = state.platform() else { return ApiError::not_ready().into_response() };
    let platform = platform.clone();
    let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("anonymous").to_owned();
    let principal = hex::encode(Sha256::digest(auth.as_bytes()));
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, IMPORT_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "请求体超过大小限制 (request body too large)")
                .into_response();
        }
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(parts.uri.to_string().as_bytes());
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    let secret = body_secret(&auth, &key, &parts.method, &parts.uri, &bytes);
    let stored = match platform.store.reader().await {
        Ok(mut c) => idempotency::get(&mut c, &principal, &key).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(Some(s)) if s.request_hash == request_hash => return replay(s, &secret),
        Ok(Some(_)) => {
            return ApiError::fields(vec![ProblemField {
                field: "Idempotency-Key".into(),
                message: "该 Idempotency-Key 已用于另一个请求 (this key was used for a different request)".into(),
            }])
            .into_response();
        }
        Ok(None) => {}
        Err(e) => return ApiError::from(shuqiao_app::AppError::from(e)).into_response(),
    }
    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if resp.status().is_server_error() {
        return resp;
    }
    let (rparts, rbody) = resp.into_parts();
    let Ok(body) = to_bytes(rbody, MAX_STORED).await else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "response too large").into_response();
    };
    let content_type =
        rparts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json").to_owned();
    if let Some(sealed) = seal(&secret, &body) {
        let record = StoredResponse { request_hash, status: rparts.status.as_u16(), content_type, body: sealed };
        let now = shuqiao_store::ts(platform.now());
        let saved = async {
            let mut tx = platform.store.begin().await?;
            idempotency::put(&mut tx, &principal, &key, &record, &now).await?;
            shuqiao_store::commit(tx).await
        };
        if let Err(e) = saved.await {
            tracing::warn!(error = %e, "could not store an idempotent response");
        }
    }
    Response::from_parts(rparts, Body::from(body))
}

/// The key a stored response is sealed with. Responses may carry secrets shown once (a login's session token, a
/// new API client's token) and tokens are only ever stored hashed (SPEC §14), so the stored body is encrypted with
/// a key derived from what only a genuine retry has: the caller's credentials and the request itself. The store
/// keeps neither (only SHA-256 digests under other constructions).
fn body_secret(auth: &str, key: &str, method: &Method, uri: &axum::http::Uri, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"shuqiao idempotency body key v1\0");
    for part in [auth.as_bytes(), key.as_bytes(), method.as_str().as_bytes(), uri.to_string().as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(body);
    h.finalize().into()
}

const SEALED: &str = "sealed-v2:";

/// Each secret is derived from one request and seals exactly one stored response, so a fixed nonce is safe.
const NONCE: [u8; 12] = [0; 12];

/// Encrypts a response body with ChaCha20-Poly1305 under `secret`.
fn seal(secret: &[u8; 32], body: &[u8]) -> Option<String> {
    use base64::Engine;
    use chacha20poly1305::aead::{Aead, KeyInit};
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(secret.into());
    let sealed = cipher.encrypt(&NONCE.into(), body).ok()?;
    Some(format!("{SEALED}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(sealed)))
}

/// Decrypts a stored body; `None` if it was not sealed with this secret or was altered.
fn open_sealed(secret: &[u8; 32], stored: &str) -> Option<String> {
    use base64::Engine;
    use chacha20poly1305::aead::{Aead, KeyInit};
    let b64 = stored.strip_prefix(SEALED)?;
    let buf = base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64).ok()?;
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(secret.into());
    let plain = cipher.decrypt(&NONCE.into(), buf.as_slice()).ok()?;
    String::from_utf8(plain).ok()
}

fn replay(s: StoredResponse, secret: &[u8; 32]) -> Response {
    let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK);
    let Some(body) = open_sealed(secret, &s.body) else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "stored response unreadable").into_response();
    };
    let mut resp = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&s.content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}
