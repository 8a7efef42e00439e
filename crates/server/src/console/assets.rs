//! Our stylesheet and script, embedded in the binary and served with a content hash in the URL, so they can be
//! cached for a year and a new build is fetched at once.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

fn short_hash(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..6])
}

fn hashes() -> &'static (String, String) {
    static H: OnceLock<(String, String)> = OnceLock::new();
    H.get_or_init(|| (short_hash(CSS), short_hash(JS)))
}

pub fn css_href() -> String {
    format!("/assets/app.{}.css", hashes().0)
}

pub fn js_href() -> String {
    format!("/assets/app.{}.js", hashes().1)
}

/// `GET /assets/{file}`: `app.<hash>.css`, `app.<hash>.js` (any hash is accepted; the current file is served).
pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, ct) = if file.starts_with("app.") && file.ends_with(".css") {
        (CSS, "text/css; charset=utf-8")
    } else if file.starts_with("app.") && file.ends_with(".js") {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    r
}
