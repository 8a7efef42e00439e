//! Cookies of the console: the session token, the CSRF token derived from it, the language and flash messages.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "sq_session";
pub const LANG_COOKIE: &str = "sq_lang";
pub const FLASH_COOKIE: &str = "sq_flash";
/// Double-submit token of the login form (there is no session yet to derive one from).
pub const LOGIN_CSRF_COOKIE: &str = "sq_login_csrf";

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure over https; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}", if secure { "; Secure" } else { "" })
}

/// Whether the request came over https (directly or, as reported by a reverse proxy, `X-Forwarded-Proto`).
pub fn is_https(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts.headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// The CSRF token of a session: a one-way function of the session token, so it needs no storage, differs per
/// session, and a page that shows it reveals nothing about the (HttpOnly) session cookie.
pub fn csrf_token(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"shuqiao console csrf\0");
    h.update(session_token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Compares a submitted token with the expected one in time independent of where they differ.
pub fn same_token(given: Option<&str>, expected: &str) -> bool {
    let Some(given) = given else { return false };
    if given.len() != expected.len() || expected.is_empty() {
        return false;
    }
    given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_token("sqs_a");
        assert_ne!(a, csrf_token("sqs_b"));
        assert!(same_token(Some(&a), &a));
        assert!(!same_token(Some(&a[1..]), &a));
        assert!(!same_token(None, &a));
        assert!(!same_token(Some(""), ""));
    }

    #[test]
    fn reads_cookies() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=1; sq_session=sqs_x; b=".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("sqs_x"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
