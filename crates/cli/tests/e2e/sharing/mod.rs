//! Sharing over HTTP (SPEC §6, §8, API.md "Sharing"): applications by share type, answers, disputes and
//! coordination, grants, the tick (overdue, expiry, re-certification), retirement, objections, demands, the inbox;
//! department isolation and all-or-nothing bad input on every endpoint.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Server, Session};

mod applications;
mod cases;

const USERS: [&str; 12] = [
    "rst_user",
    "rst_review",
    "gat_user",
    "gat_review",
    "gat_admin",
    "gat_catalog",
    "scjg_user",
    "scjg_review",
    "scjg_catalog",
    "authority",
    "auditor",
    "admin",
];

/// The demo with [`USERS`] logged in, and the sharing tests' own look-ups.
pub(crate) struct Ctx(Session);

impl std::ops::Deref for Ctx {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl Ctx {
    pub(crate) async fn new(b: Backend) -> Ctx {
        Ctx(Session::login_all(Server::demo(b).await, &USERS).await)
    }
    /// Events in the audit chain (None while `/audit/verify` is not available).
    pub(crate) async fn events(&self) -> Option<i64> {
        let (st, body) = self.get("auditor", "audit/verify").await;
        (st == StatusCode::OK).then(|| body["events"].as_i64().unwrap())
    }
    /// A published entry of `share_type`, of `provider` if given (else of any department but the consumer's), and
    /// the names of its items whose effective share type is the entry's.
    pub(crate) async fn entry(&self, provider: Option<&str>, share_type: &str) -> (Value, Vec<String>) {
        let mut path = format!("catalog?share_type={share_type}&status=published&limit=200");
        if let Some(p) = provider {
            path.push_str(&format!("&provider={}", self.dept[p]));
        }
        let (st, body) = self.get("rst_user", &path).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        for e in body["items"].as_array().unwrap() {
            if e["provider"]["id"] == self.dept["rst"].as_str() {
                continue;
            }
            let items: Vec<String> = e["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["share_type"].is_null() || i["share_type"] == share_type)
                .map(|i| i["name"].as_str().unwrap().to_owned())
                .collect();
            if items.len() >= 2 {
                return (e.clone(), items);
            }
        }
        panic!("no published {share_type} entry of {provider:?}");
    }
}

/// Days since 1970-01-01 → `YYYY-MM-DD`.
pub(crate) fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` → days since 1970-01-01.
pub(crate) fn days_of(date: &str) -> i64 {
    let p: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (y, m, d) = (if p[1] <= 2 { p[0] - 1 } else { p[0] }, p[1], p[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// Today in China, `n` days later.
pub(crate) fn day(n: i64) -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    civil((secs + 8 * 3600).div_euclid(86_400) + n)
}

pub(crate) fn noon(date: &str) -> String {
    format!("{date}T12:00:00+08:00")
}

pub(crate) fn fields(body: &Value) -> Vec<String> {
    let mut f: Vec<String> = body["errors"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect());
    f.sort();
    f
}

pub(crate) fn is_problem(body: &Value, status: StatusCode) {
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(body["type"].is_string() && body["title"].is_string(), "{body}");
}

pub(crate) fn application(entry: &Value, items: &[String]) -> Value {
    json!({
        "resource": entry["code"],
        "items": items,
        "purpose": {"kind": "data_verification", "text": "社会保险待遇资格认证核验"},
        "basis": "《社会保险法》第八条",
        "modes": [entry["share"]["modes"][0]],
        "valid_until": day(200),
        "expected_volume": 5000
    })
}

pub(crate) async fn apply(c: &Ctx, entry: &Value, items: &[String]) -> Value {
    let (st, a) = c.post("rst_user", "applications", application(entry, items)).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    a
}

/// Asserts that every (user, method, path, body) answers `status`, and that the object at `check` did not change
/// nor the audit chain grow.
pub(crate) async fn denied(c: &Ctx, check: &str, cases: &[(&str, &str, Value, StatusCode)]) {
    let (_, before) = c.get("authority", check).await;
    let events = c.events().await;
    for (user, path, body, status) in cases {
        let (st, b) = if body.is_null() { c.get(user, path).await } else { c.post(user, path, body.clone()).await };
        assert_eq!(st, *status, "{user} {path}: {b}");
        is_problem(&b, *status);
    }
    let (_, after) = c.get("authority", check).await;
    assert_eq!(before, after, "{check} changed");
    assert_eq!(events, c.events().await, "audit events were written");
}
