//! The API proxy part of the gateway: calls the provider's upstream API through its node and filters a JSON
//! answer like records (items not granted removed, granted ones masked).

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::Value;
use shuqiao_domain::entry::Entry;
use shuqiao_domain::masking::{mask_value, subject_kind_of_value, subject_of};
use shuqiao_domain::sharing::MaskRule;
use shuqiao_exchange::{Reply, Request};

use super::gateway::{Answer, Trace, ask};
use super::mounts::Mount;
use crate::sharing::grants::GrantView;
use crate::{AppError, Platform, Result};

/// Request headers passed to the upstream API (never the caller's credentials).
const PASSED_REQUEST_HEADERS: [&str; 3] = ["content-type", "accept", "accept-language"];
/// Response headers passed back.
const PASSED_RESPONSE_HEADERS: [&str; 4] = ["content-type", "content-language", "etag", "last-modified"];

pub(super) type ApiCall<'a> = (&'a String, &'a String, Option<&'a str>, &'a Vec<(String, String)>, &'a Vec<u8>);

pub(super) async fn api(
    p: &Platform,
    entry: &Entry,
    g: &GrantView,
    mount: &Mount,
    (method, path, query, headers, body): ApiCall<'_>,
    trace: &mut Trace,
) -> Result<Answer> {
    let (base, mount_headers) = mount.api();
    let mut url = format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'));
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    let mut all: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| PASSED_REQUEST_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
        .cloned()
        .collect();
    all.extend(mount_headers);
    let b64 = base64::engine::general_purpose::STANDARD;
    let req = Request::Api {
        url,
        method: method.to_ascii_uppercase(),
        headers: all,
        body_base64: (!body.is_empty()).then(|| b64.encode(body)),
    };
    let Reply::Api { status, headers, body_base64 } = ask(p, mount, req).await? else {
        return Err(AppError::BadGateway("节点应答类型错误 (the node answered something else)".into()));
    };
    let body = b64
        .decode(body_base64.as_bytes())
        .map_err(|_| AppError::BadGateway("节点应答的正文无法解码 (the node's body is not base64)".into()))?;
    let headers: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(k, _)| PASSED_RESPONSE_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
        .collect();
    let is_json = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.contains("json"));
    // A JSON answer is filtered like records: entry items (by name or mapped column) that are not granted are
    // removed, granted ones masked; other keys pass. Other bodies pass as they are.
    let body = match (is_json, serde_json::from_slice::<Value>(&body)) {
        (true, Ok(mut v)) => {
            trace.records = match &v {
                Value::Array(a) => a.len() as u64,
                _ => 1,
            };
            let mut seen = BTreeSet::new();
            filter_json(p.subject_key.bytes(), entry, g, mount, &mut v, &mut seen, &mut trace.subjects);
            trace.items = seen.into_iter().collect();
            serde_json::to_vec(&v).map_err(|e| AppError::Internal(e.into()))?
        }
        _ => {
            trace.records = u64::from(!body.is_empty());
            body
        }
    };
    Ok(Answer::Api { status, headers, body })
}

fn filter_json(
    key: &[u8],
    entry: &Entry,
    g: &GrantView,
    mount: &Mount,
    v: &mut Value,
    seen: &mut BTreeSet<String>,
    subjects: &mut BTreeSet<String>,
) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| filter_json(key, entry, g, mount, x, seen, subjects)),
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                let item = if entry.items.iter().any(|i| i.name == k) {
                    Some(k.clone())
                } else {
                    mount.column_map.iter().find(|(_, c)| **c == k).map(|(i, _)| i.clone())
                };
                match item {
                    Some(item) if !g.items.contains(&item) => {
                        o.remove(&k);
                    }
                    Some(item) => {
                        if let Some(val) = o.get_mut(&k) {
                            if let Some(h) = subject_of(key, &item, val) {
                                subjects.insert(h);
                            }
                            let rule = g.masking.get(&item).copied().unwrap_or(MaskRule::None);
                            *val = mask_value(rule, key, val);
                            seen.insert(item);
                        }
                    }
                    None => {
                        if let Some(val) = o.get_mut(&k) {
                            filter_json(key, entry, g, mount, val, seen, subjects);
                        }
                    }
                }
            }
        }
        Value::String(s) => {
            if let Some(kind) = subject_kind_of_value(s) {
                subjects.insert(shuqiao_domain::masking::subject_hash(key, kind, s));
            }
        }
        _ => {}
    }
}
