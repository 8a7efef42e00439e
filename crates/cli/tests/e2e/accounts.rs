//! Accounts and organisations (API.md "Accounts and organizations", SPEC §2, §3, §14): login, throttling,
//! sessions, the bootstrap administrator, regions, departments, users and API clients — with department isolation.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, Backend, DEMO_PASSWORD, Launch, Server};
use crate::on_both;

/// Asserts an RFC 9457 problem: status, `application/problem+json`, and `type`/`title`/`status`/`detail`.
pub fn assert_problem(status: StatusCode, headers: &HeaderMap, body: &Value, expected: u16) {
    assert_eq!(status.as_u16(), expected, "{body}");
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(ct.starts_with("application/problem+json"), "content type {ct}: {body}");
    assert!(body["type"].as_str().is_some_and(|t| !t.is_empty()), "type: {body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "title: {body}");
    assert_eq!(body["status"], expected, "{body}");
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()), "detail: {body}");
}

/// The fields named in a 422 problem's `errors`.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Asserts a 422 whose `errors` name `field` (exactly, or as `field[i]`).
pub fn assert_field_error(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["status"], 422, "{body}");
    let fields = error_fields(body);
    assert!(
        fields.iter().any(|f| f == field || f.starts_with(&format!("{field}["))),
        "expected an error on `{field}`, got {fields:?}: {body}"
    );
}

const CREDIT_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// GB 32100 check character of the first 17 characters, computed independently of the platform.
pub fn credit_check(first17: &str) -> char {
    assert_eq!(first17.chars().count(), 17);
    let sum: u32 =
        first17.chars().zip(CREDIT_WEIGHTS).map(|(c, w)| CREDIT_CHARSET.find(c).expect("charset") as u32 * w).sum();
    CREDIT_CHARSET.as_bytes()[((31 - sum % 31) % 31) as usize] as char
}

/// A valid credit code with the given 17-character body.
pub fn credit_code(first17: &str) -> String {
    format!("{first17}{}", credit_check(first17))
}

async fn login_raw(s: &Server, username: &str, password: &str) -> (StatusCode, HeaderMap, Value) {
    s.send(s.http.post(s.url("auth/login")).json(&json!({"username": username, "password": password}))).await
}

/// The department id of a signed-in caller (from `GET /me`).
pub async fn dept_of(s: &Server, token: &str) -> String {
    let (st, me) = s.get("me", token).await;
    assert_eq!(st, 200, "{me}");
    me["department"]["id"].as_str().expect("department id").to_owned()
}

/// Every item of a paged list, following `next_cursor`.
pub async fn all_pages(s: &Server, path: &str, token: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (st, body) = s.get(&url, token).await;
        assert_eq!(st, 200, "{url}: {body}");
        let items = body["items"].as_array().expect("items");
        assert!(items.len() <= limit, "{url}: {} items", items.len());
        out.extend(items.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert!(body["next_cursor"].is_null(), "{body}");
                return out;
            }
        }
    }
    panic!("{path}: pagination does not end");
}

// ---------------------------------------------------------------------------------------------------------------
// Login, sessions, throttling

async fn login_returns_token_and_user(b: Backend) {
    let s = Server::demo(b).await;
    let before = time_now();
    let (st, h, body) = login_raw(&s, "gat_user", DEMO_PASSWORD).await;
    assert_eq!(st, 200, "{body}");
    assert!(h.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").starts_with("application/json"));
    let token = body["token"].as_str().expect("token");
    assert!(token.starts_with("sqs_") && token.len() > 40, "{token}");
    let expires = body["expires_at"].as_str().expect("expires_at");
    let secs = rfc3339_epoch(expires);
    // The default session lasts 8 hours.
    assert!((secs - before - 8 * 3600).abs() < 120, "expires_at {expires}");
    let user = &body["user"];
    assert_eq!(user["username"], "gat_user", "{body}");
    assert_eq!(user["roles"], json!(["consumer"]), "{body}");
    assert!(user["department"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    assert!(user["display_name"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    let text = body.to_string();
    assert!(!text.contains("password") && !text.contains("argon2"), "no password material: {text}");

    // GET /me for a user.
    let (st, me) = s.get("me", token).await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["username"], "gat_user");
    assert_eq!(me["kind"], "user");
    assert_eq!(me["roles"], json!(["consumer"]));
    assert_eq!(me["department"]["id"], user["department"], "{me}");
    assert_eq!(me["department"]["name"], "河北省公安厅", "{me}");
    assert_eq!(me["display_name"], user["display_name"]);

    // Two logins give two distinct sessions.
    let (_, _, again) = login_raw(&s, "gat_user", DEMO_PASSWORD).await;
    assert_ne!(again["token"], body["token"]);

    // Another department's user sees its own department, not gat's.
    let t = s.login("scjg_user").await;
    let (_, me2) = s.get("me", &t).await;
    assert_eq!(me2["department"]["name"], "河北省市场监督管理局", "{me2}");
    assert_ne!(me2["department"]["id"], me["department"]["id"]);

    // The platform administrator belongs to no department.
    let t = s.login("admin").await;
    let (_, me3) = s.get("me", &t).await;
    assert_eq!(me3["roles"], json!(["platform_admin"]), "{me3}");
    assert!(me3["department"].is_null(), "{me3}");
}
on_both!(login_returns_token_and_user, login_returns_token_and_user);

async fn wrong_password_is_401_problem(b: Backend) {
    let s = Server::demo(b).await;
    let (st, h, wrong) = login_raw(&s, "gat_user", "Wrong@2026").await;
    assert_problem(st, &h, &wrong, 401);
    assert!(wrong.get("token").is_none(), "{wrong}");
    // An unknown username gets exactly the same answer (no account enumeration).
    let (st, h, unknown) = login_raw(&s, "nobody_here", "Wrong@2026").await;
    assert_problem(st, &h, &unknown, 401);
    assert_eq!(unknown["detail"], wrong["detail"]);
    // Missing fields are a validation problem, not a login attempt.
    let (st, h, body) = s.send(s.http.post(s.url("auth/login")).json(&json!({"username": "gat_user"}))).await;
    assert_problem(st, &h, &body, 422);
    // No token, a garbage token, and a well-formed but unknown token are all 401 problems.
    let (st, h, body) = s.send(s.http.get(s.url("me"))).await;
    assert_problem(st, &h, &body, 401);
    let (st, h, body) = s.send(s.http.get(s.url("me")).bearer_auth("garbage")).await;
    assert_problem(st, &h, &body, 401);
    let (st, h, body) = s.send(s.http.get(s.url("me")).bearer_auth(format!("sqs_{}", "A".repeat(43)))).await;
    assert_problem(st, &h, &body, 401);
    let (st, h, body) = s.send(s.http.get(s.url("me")).bearer_auth(format!("sqc_{}", "A".repeat(43)))).await;
    assert_problem(st, &h, &body, 401);
}
on_both!(wrong_password_is_401_problem, wrong_password_is_401_problem);

async fn login_is_throttled(b: Backend) {
    let s = Server::demo(b).await;
    for i in 1..=5 {
        let (st, h, body) = login_raw(&s, "gat_review", &format!("Wrong@{i}")).await;
        assert_problem(st, &h, &body, 401);
    }
    // The 6th attempt is refused before the password is even looked at…
    let (st, h, body) = login_raw(&s, "gat_review", "Wrong@6").await;
    assert_problem(st, &h, &body, 429);
    let retry: u64 = h
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After: {h:?}"));
    assert!((1..=15 * 60).contains(&retry), "Retry-After {retry}");
    // …even with the right password.
    let (st, h, body) = login_raw(&s, "gat_review", DEMO_PASSWORD).await;
    assert_problem(st, &h, &body, 429);
    assert!(body.get("token").is_none(), "{body}");
    assert!(h.get("retry-after").is_some());
    // Surrounding spaces do not make it another username.
    let (st, _, body) = login_raw(&s, "  gat_review ", DEMO_PASSWORD).await;
    assert_eq!(st, 429, "{body}");
    // Other accounts are not affected.
    let (st, _, body) = login_raw(&s, "scjg_review", DEMO_PASSWORD).await;
    assert_eq!(st, 200, "{body}");
}
on_both!(login_is_throttled, login_is_throttled);

async fn logout_revokes_the_token(b: Backend) {
    let s = Server::demo(b).await;
    let t1 = s.login("gat_user").await;
    let t2 = s.login("gat_user").await;
    let (st, _) = s.get("me", &t1).await;
    assert_eq!(st, 200);
    let (st, h, body) = s.send(s.http.post(s.url("auth/logout")).bearer_auth(&t1)).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_null());
    assert!(h.get("content-type").is_none() || body.is_null());
    let (st, h, body) = s.send(s.http.get(s.url("me")).bearer_auth(&t1)).await;
    assert_problem(st, &h, &body, 401);
    let (st, _) = s.get("catalog", &t1).await;
    assert_eq!(st, 401);
    // Logging out again with the revoked token is itself unauthenticated.
    let (st, h, body) = s.send(s.http.post(s.url("auth/logout")).bearer_auth(&t1)).await;
    assert_problem(st, &h, &body, 401);
    // The user's other session is untouched.
    let (st, me) = s.get("me", &t2).await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["username"], "gat_user");
    // Logout without a token is 401.
    let (st, h, body) = s.send(s.http.post(s.url("auth/logout"))).await;
    assert_problem(st, &h, &body, 401);
}
on_both!(logout_revokes_the_token, logout_revokes_the_token);

async fn sessions_expire(b: Backend) {
    let s = Server::start_with(b, "serve", &["--session-seconds", "2"]).await;
    let started = Instant::now();
    let (st, _, body) = login_raw(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(st, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let left = rfc3339_epoch(body["expires_at"].as_str().unwrap()) - time_now();
    assert!((0..=3).contains(&left), "expires_at {} is {left}s away", body["expires_at"]);
    let (st, me) = s.get("me", &token).await;
    assert_eq!(st, 200, "{me}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (st, h, body) = s.send(s.http.get(s.url("me")).bearer_auth(&token)).await;
        if st == StatusCode::UNAUTHORIZED {
            assert_problem(st, &h, &body, 401);
            break;
        }
        assert_eq!(st, 200, "{body}");
        assert!(Instant::now() < deadline, "the session did not expire");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(1500), "expired too early: {:?}", started.elapsed());
    // A fresh login works again.
    let (st, _, body) = login_raw(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(st, 200, "{body}");
    let (st, _) = s.get("me", body["token"].as_str().unwrap()).await;
    assert_eq!(st, 200);
}
on_both!(sessions_expire, sessions_expire);

// ---------------------------------------------------------------------------------------------------------------
// The bootstrap administrator

async fn admin_bootstrap_from_env(b: Backend) {
    let s = Server::empty(b).await;
    assert!(!s.stdout.iter().any(|l| l.contains("initial password")), "{:?}", s.stdout);
    let t = s.login("admin").await;
    let (_, me) = s.get("me", &t).await;
    assert_eq!(me["roles"], json!(["platform_admin"]), "{me}");
    let (st, users) = s.get("users", &t).await;
    assert_eq!(st, 200, "{users}");
    let items = users["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{users}");
    assert_eq!(items[0]["username"], "admin");
    let admin_id = items[0]["id"].clone();
    // An empty store has no departments.
    let (_, depts) = s.get("departments", &t).await;
    assert_eq!(depts["items"], json!([]), "{depts}");

    // Restart on the same store with another SHUQIAO_ADMIN_PASSWORD: the admin is neither recreated nor changed.
    let (data, database, status) = s.stop();
    assert!(status.success(), "{status}");
    let launch = Launch { admin_password: Some("Other@Pass2026"), ..Launch::default() };
    let s = Server::spawn_with(b, "serve", data, database, &launch).await;
    let (st, h, body) = login_raw(&s, "admin", "Other@Pass2026").await;
    assert_problem(st, &h, &body, 401);
    let t = s.login("admin").await;
    let (_, users) = s.get("users", &t).await;
    let items = users["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{users}");
    assert_eq!(items[0]["id"], admin_id, "the admin was recreated: {users}");
}
on_both!(admin_bootstrap_from_env, admin_bootstrap_from_env);

async fn admin_bootstrap_generated_password(b: Backend) {
    let data = tempfile::tempdir().unwrap();
    let database = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(crate::harness::fresh_pg_database().await),
    };
    let launch = Launch { admin_password: None, ..Launch::default() };
    let s = Server::spawn_with(b, "serve", data, database, &launch).await;
    let lines: Vec<&String> = s.stdout.iter().filter(|l| l.contains("shown once")).collect();
    assert_eq!(lines.len(), 1, "{:?}", s.stdout);
    let password = lines[0].rsplit(' ').next().unwrap().trim().to_owned();
    assert!(password.len() >= 16, "generated password {password:?}");
    assert_ne!(password, ADMIN_PASSWORD);
    let (st, _, body) = login_raw(&s, "admin", &password).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["user"]["roles"], json!(["platform_admin"]));
    let (st, h, body) = login_raw(&s, "admin", ADMIN_PASSWORD).await;
    assert_problem(st, &h, &body, 401);

    // A restart without the variable prints nothing and keeps the generated password.
    let (data, database, status) = s.stop();
    assert!(status.success(), "{status}");
    let s = Server::spawn_with(b, "serve", data, database, &launch).await;
    assert!(!s.stdout.iter().any(|l| l.contains("shown once")), "printed again: {:?}", s.stdout);
    let (st, _, body) = login_raw(&s, "admin", &password).await;
    assert_eq!(st, 200, "{body}");
}
on_both!(admin_bootstrap_generated_password, admin_bootstrap_generated_password);

// ---------------------------------------------------------------------------------------------------------------
// Regions and departments

async fn regions(b: Backend) {
    let s = Server::demo(b).await;
    let admin = s.login("admin").await;
    let (st, body) = s.post("regions", &admin, json!({"code": "130181", "name": "辛集市", "level": "county"})).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body, json!({"code": "130181", "name": "辛集市", "level": "county", "parent": "130100"}));
    let user = s.login("gat_user").await;
    let (st, list) = s.get("regions", &user).await;
    assert_eq!(st, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().any(|r| r["code"] == "130181" && r["parent"] == "130100"), "{list}");
    assert!(items.iter().any(|r| r["code"] == "130000" && r["level"] == "provincial"), "{list}");

    // Malformed codes: 422 on `code`.
    for bad in ["13010", "1301000", "13a100", "990000", ""] {
        let (st, body) = s.post("regions", &admin, json!({"code": bad, "name": "某地", "level": "county"})).await;
        assert_field_error(st, &body, "code");
    }
    // A level that does not match the code: 422 on `level`.
    let (st, body) = s.post("regions", &admin, json!({"code": "130183", "name": "晋州市", "level": "municipal"})).await;
    assert_field_error(st, &body, "level");
    assert!(!error_fields(&body).contains(&"code".to_owned()), "{body}");
    // Every problem is listed, not just the first.
    let (st, body) = s.post("regions", &admin, json!({"code": "130184", "name": "", "level": "provincial"})).await;
    assert_field_error(st, &body, "level");
    assert_field_error(st, &body, "name");
    // An unknown level is a validation problem too.
    let (st, body) = s.post("regions", &admin, json!({"code": "130185", "name": "某地", "level": "town"})).await;
    assert_eq!(st, 422, "{body}");
    // Duplicate: 409.
    let (st, body) =
        s.post("regions", &admin, json!({"code": "130100", "name": "石家庄市", "level": "municipal"})).await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["status"], 409);
    let (st, body) = s.post("regions", &admin, json!({"code": "130181", "name": "辛集市", "level": "county"})).await;
    assert_eq!(st, 409, "{body}");
    // Only the platform administrator registers regions.
    for u in ["gat_admin", "authority", "auditor", "gat_user"] {
        let t = s.login(u).await;
        let (st, body) = s.post("regions", &t, json!({"code": "130182", "name": "藁城区", "level": "county"})).await;
        assert_eq!(st, 403, "{u}: {body}");
        assert_eq!(body["status"], 403);
    }
    let (_, list) = s.get("regions", &user).await;
    assert!(!list["items"].as_array().unwrap().iter().any(|r| r["code"] == "130182"), "{list}");
}
on_both!(regions, regions);

async fn departments(b: Backend) {
    let s = Server::demo(b).await;
    let admin = s.login("admin").await;
    let code = credit_code("11130100MB0012345");
    let input = json!({"name": "石家庄市测试局", "credit_code": code, "region": "130100", "kind": "government"});
    let (st, created) = s.post("departments", &admin, input.clone()).await;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["name"], "石家庄市测试局");
    assert_eq!(created["credit_code"], code.as_str());
    assert_eq!(created["region"], "130100");
    assert_eq!(created["kind"], "government");
    assert!(created["parent"].is_null());
    // Any signed-in user may read the directory entry.
    let user = s.login("scjg_user").await;
    let (st, got) = s.get(&format!("departments/{id}"), &user).await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(got, created);
    let (st, h, body) = s.send(s.http.get(s.url("departments/no-such-id")).bearer_auth(&user)).await;
    assert_problem(st, &h, &body, 404);
    let (st, h, body) = s.send(s.http.get(s.url(&format!("departments/{id}")))).await;
    assert_problem(st, &h, &body, 401);

    // An institution under a parent.
    let code2 = credit_code("12130100MB0012346");
    let (st, child) = s
        .post(
            "departments",
            &admin,
            json!({"name": "石家庄市测试中心", "credit_code": code2, "region": "130100", "parent": id, "kind": "institution"}),
        )
        .await;
    assert_eq!(st, 201, "{child}");
    assert_eq!(child["parent"], id.as_str());
    assert_eq!(child["kind"], "institution");

    // A wrong check character: 422 on `credit_code`.
    let first17 = "11130100MB0012347";
    let right = credit_check(first17);
    let wrong = CREDIT_CHARSET.chars().find(|c| *c != right).unwrap();
    let (st, body) = s
        .post(
            "departments",
            &admin,
            json!({"name": "某局", "credit_code": format!("{first17}{wrong}"), "region": "130100", "kind": "government"}),
        )
        .await;
    assert_field_error(st, &body, "credit_code");
    // Wrong length and characters outside the charset (I, O, S, V, Z) too.
    for bad in ["11130100MB001234", "11130100MB00123456X", "11130100MB001234I"] {
        let (st, body) = s
            .post(
                "departments",
                &admin,
                json!({"name": "某局", "credit_code": bad, "region": "130100", "kind": "government"}),
            )
            .await;
        assert_field_error(st, &body, "credit_code");
    }
    // Duplicate credit code: 409.
    let mut dup = input.clone();
    dup["name"] = json!("另一个名字");
    let (st, body) = s.post("departments", &admin, dup).await;
    assert_eq!(st, 409, "{body}");
    // Unknown region: 422 on `region`; unknown parent: 422 on `parent`; every problem listed.
    let (st, body) = s
        .post(
            "departments",
            &admin,
            json!({"name": "某局", "credit_code": credit_code("11139900MB0012348"), "region": "139900", "kind": "government"}),
        )
        .await;
    assert_field_error(st, &body, "region");
    let (st, body) = s
        .post(
            "departments",
            &admin,
            json!({"name": "", "credit_code": format!("{first17}{wrong}"), "region": "139900", "parent": "nope", "kind": "government"}),
        )
        .await;
    for f in ["name", "credit_code", "region", "parent"] {
        assert_field_error(st, &body, f);
    }
    // An unknown kind.
    let (st, body) = s
        .post(
            "departments",
            &admin,
            json!({"name": "某局", "credit_code": credit_code("11130100MB0012349"), "region": "130100", "kind": "company"}),
        )
        .await;
    assert_eq!(st, 422, "{body}");
    // Only the platform administrator registers departments.
    for u in ["gat_admin", "authority", "scjg_user"] {
        let t = s.login(u).await;
        let (st, body) = s
            .post(
                "departments",
                &t,
                json!({"name": "越权局", "credit_code": credit_code("11130100MB0012350"), "region": "130100", "kind": "government"}),
            )
            .await;
        assert_eq!(st, 403, "{u}: {body}");
    }
    let all = all_pages(&s, "departments", &user, 500).await;
    assert!(!all.iter().any(|d| d["name"] == "越权局"));
    assert!(all.iter().any(|d| d["id"] == id.as_str()));
}
on_both!(departments, departments);

// ---------------------------------------------------------------------------------------------------------------
// Users

fn user_input(username: &str, department: Option<&str>, roles: &[&str]) -> Value {
    let mut v = json!({"username": username, "password": "Passw0rd!2026", "display_name": "测试用户", "roles": roles});
    if let Some(d) = department {
        v["department"] = json!(d);
    }
    v
}

async fn users_by_platform_admin(b: Backend) {
    let s = Server::demo(b).await;
    let admin = s.login("admin").await;
    let gat = dept_of(&s, &s.login("gat_user").await).await;
    let (st, u) = s.post("users", &admin, user_input("gat_new_catalog", Some(&gat), &["cataloger", "reviewer"])).await;
    assert_eq!(st, 201, "{u}");
    assert_eq!(u["username"], "gat_new_catalog");
    assert_eq!(u["department"], gat.as_str());
    assert_eq!(u["roles"], json!(["cataloger", "reviewer"]));
    assert_eq!(u["display_name"], "测试用户");
    assert!(!u.to_string().contains("Passw0rd"), "{u}");
    assert!(u.get("password_hash").is_none() && u.get("password").is_none(), "{u}");
    // The new account can log in and is in its department.
    let (st, _, body) = login_raw(&s, "gat_new_catalog", "Passw0rd!2026").await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["user"]["department"], gat.as_str());
    // An auditor without a department.
    let (st, u) = s.post("users", &admin, user_input("auditor2", None, &["security_auditor"])).await;
    assert_eq!(st, 201, "{u}");
    assert!(u["department"].is_null());

    // Separation of duties: platform_admin and security_auditor in one account → 422 on `roles`.
    let (st, body) =
        s.post("users", &admin, user_input("superuser", None, &["platform_admin", "security_auditor"])).await;
    assert_field_error(st, &body, "roles");
    let (st, _, body) = login_raw(&s, "superuser", "Passw0rd!2026").await;
    assert_eq!(st, 401, "{body}");
    // Unknown roles, no roles, bad usernames, short passwords, department roles without a department.
    let (st, body) = s.post("users", &admin, user_input("someone", Some(&gat), &["root"])).await;
    assert_field_error(st, &body, "roles");
    let (st, body) = s.post("users", &admin, user_input("someone", Some(&gat), &[])).await;
    assert_field_error(st, &body, "roles");
    let (st, body) = s.post("users", &admin, user_input("Bad Name", Some(&gat), &["consumer"])).await;
    assert_field_error(st, &body, "username");
    let mut short = user_input("someone", Some(&gat), &["consumer"]);
    short["password"] = json!("short");
    let (st, body) = s.post("users", &admin, short).await;
    assert_field_error(st, &body, "password");
    let (st, body) = s.post("users", &admin, user_input("someone", None, &["consumer"])).await;
    assert_field_error(st, &body, "department");
    let (st, body) = s.post("users", &admin, user_input("someone", Some("no-such-dept"), &["consumer"])).await;
    assert_field_error(st, &body, "department");
    // Duplicate username: 409.
    let (st, body) = s.post("users", &admin, user_input("gat_user", Some(&gat), &["consumer"])).await;
    assert_eq!(st, 409, "{body}");

    // The platform administrator sees every account.
    let all = all_pages(&s, "users", &admin, 7).await;
    let names: Vec<&str> = all.iter().filter_map(|u| u["username"].as_str()).collect();
    for n in ["admin", "gat_user", "scjg_user", "auditor", "gat_new_catalog", "auditor2"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let mut dedup = names.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(dedup.len(), names.len(), "duplicates across pages: {names:?}");
    assert!(!all.iter().any(|u| u.get("password_hash").is_some()));
}
on_both!(users_by_platform_admin, users_by_platform_admin);

async fn users_by_department_admin(b: Backend) {
    let s = Server::demo(b).await;
    let gat_admin = s.login("gat_admin").await;
    let gat = dept_of(&s, &gat_admin).await;
    let scjg_admin = s.login("scjg_admin").await;
    let scjg = dept_of(&s, &scjg_admin).await;

    // Its own department, implicitly or explicitly.
    let (st, u) = s.post("users", &gat_admin, user_input("gat_clerk", None, &["consumer"])).await;
    assert_eq!(st, 201, "{u}");
    assert_eq!(u["department"], gat.as_str(), "{u}");
    let (st, u) = s.post("users", &gat_admin, user_input("gat_clerk2", Some(&gat), &["cataloger"])).await;
    assert_eq!(st, 201, "{u}");
    assert_eq!(u["department"], gat.as_str());
    // Another department: 403, and nothing is created.
    let (st, h, body) = s
        .send(s.http.post(s.url("users")).bearer_auth(&gat_admin).json(&user_input(
            "scjg_mole",
            Some(&scjg),
            &["consumer"],
        )))
        .await;
    assert_problem(st, &h, &body, 403);
    let (st, _, body) = login_raw(&s, "scjg_mole", "Passw0rd!2026").await;
    assert_eq!(st, 401, "{body}");
    // Authority and platform roles: 422 on `roles`.
    for role in ["authority", "platform_admin", "security_auditor"] {
        let (st, body) = s.post("users", &gat_admin, user_input("gat_boss", None, &[role])).await;
        assert_field_error(st, &body, "roles");
    }
    let (st, body) = s.post("users", &gat_admin, user_input("gat_boss", None, &["consumer", "authority"])).await;
    assert_field_error(st, &body, "roles");
    let (st, _, _) = login_raw(&s, "gat_boss", "Passw0rd!2026").await;
    assert_eq!(st, 401);

    // GET /users: only its department, across every page.
    let mine = all_pages(&s, "users", &gat_admin, 2).await;
    assert!(mine.len() >= 6, "{mine:?}");
    for u in &mine {
        assert_eq!(u["department"], gat.as_str(), "a user of another department is listed: {u}");
    }
    let names: Vec<&str> = mine.iter().filter_map(|u| u["username"].as_str()).collect();
    for n in ["gat_admin", "gat_catalog", "gat_review", "gat_user", "gat_clerk", "gat_clerk2"] {
        assert!(names.contains(&n), "{n} missing: {names:?}");
    }
    for n in ["admin", "auditor", "authority", "scjg_admin", "scjg_user", "rst_user"] {
        assert!(!names.contains(&n), "{n} listed to gat_admin: {names:?}");
    }
    // And the other way round.
    let theirs = all_pages(&s, "users", &scjg_admin, 50).await;
    assert!(theirs.iter().all(|u| u["department"] == scjg.as_str()), "{theirs:?}");
    assert!(!theirs.iter().any(|u| u["username"] == "gat_clerk"), "{theirs:?}");

    // Consumers, catalogers, the authority and the auditor do not manage users.
    for who in ["gat_user", "gat_catalog", "authority", "auditor"] {
        let t = s.login(who).await;
        let (st, h, body) = s.send(s.http.get(s.url("users")).bearer_auth(&t)).await;
        assert_problem(st, &h, &body, 403);
        assert!(body.get("items").is_none(), "{body}");
        let (st, body) = s.post("users", &t, user_input("gat_sneaky", None, &["consumer"])).await;
        assert_eq!(st, 403, "{who}: {body}");
    }
}
on_both!(users_by_department_admin, users_by_department_admin);

// ---------------------------------------------------------------------------------------------------------------
// API clients

async fn api_clients(b: Backend) {
    let s = Server::demo(b).await;
    let gat_admin = s.login("gat_admin").await;
    let gat = dept_of(&s, &gat_admin).await;
    let (st, created) = s.post("clients", &gat_admin, json!({"name": "公安审批系统", "roles": ["consumer"]})).await;
    assert_eq!(st, 201, "{created}");
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("sqc_") && token.len() > 40, "{token}");
    let client_id = created["client_id"].as_str().expect("client_id").to_owned();
    assert_eq!(created["department"], gat.as_str());
    assert_eq!(created["roles"], json!(["consumer"]));

    // The token works as a bearer token, as the client of its department.
    let (st, me) = s.get("me", &token).await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["kind"], "client");
    assert_eq!(me["username"], "公安审批系统");
    assert_eq!(me["department"]["id"], gat.as_str(), "{me}");
    assert_eq!(me["department"]["name"], "河北省公安厅");
    assert_eq!(me["roles"], json!(["consumer"]));
    let (st, cat) = s.get("catalog?limit=5", &token).await;
    assert_eq!(st, 200, "{cat}");
    assert!(cat["total"].as_u64().unwrap() > 0, "{cat}");
    // It has no administrative rights.
    let (st, body) = s.post("users", &token, user_input("gat_bot", None, &["consumer"])).await;
    assert_eq!(st, 403, "{body}");
    let (st, body) = s.post("clients", &token, json!({"name": "子客户端", "roles": ["consumer"]})).await;
    assert_eq!(st, 403, "{body}");
    let (st, body) = s.post("catalog", &token, crate::harness::entry_json("303099", "客户端编目")).await;
    assert_eq!(st, 403, "{body}");

    // The token is shown once: the list does not carry it.
    let (st, list) = s.get("clients", &gat_admin).await;
    assert_eq!(st, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    let mine = items.iter().find(|c| c["client_id"] == client_id.as_str()).expect("client listed");
    assert_eq!(mine["name"], "公安审批系统");
    assert_eq!(mine["revoked"], false);
    assert!(!list.to_string().contains(&token), "token repeated in the list");
    assert!(!list.to_string().contains(&token[4..]), "token repeated in the list");

    // A client may hold only consumer rights.
    for role in ["cataloger", "department_admin", "platform_admin", "authority", "reviewer"] {
        let (st, body) = s.post("clients", &gat_admin, json!({"name": "越权客户端", "roles": [role]})).await;
        assert_field_error(st, &body, "roles");
        assert!(body.get("token").is_none());
    }
    let (st, body) = s.post("clients", &gat_admin, json!({"name": "无角色", "roles": []})).await;
    assert_field_error(st, &body, "roles");
    let (st, body) = s.post("clients", &gat_admin, json!({"name": "", "roles": ["consumer"]})).await;
    assert_field_error(st, &body, "name");
    // A client cannot be placed in another department.
    let (st, body) =
        s.post("clients", &gat_admin, json!({"name": "x", "roles": ["consumer"], "department": "other"})).await;
    assert_field_error(st, &body, "department");

    // Consumers and catalogers cannot create or list clients.
    for who in ["gat_user", "gat_catalog"] {
        let t = s.login(who).await;
        let (st, h, body) = s
            .send(s.http.post(s.url("clients")).bearer_auth(&t).json(&json!({"name": "x", "roles": ["consumer"]})))
            .await;
        assert_problem(st, &h, &body, 403);
        let (st, body) = s.get("clients", &t).await;
        assert_eq!(st, 403, "{who}: {body}");
    }
    // Another department's administrator does not see it.
    let scjg_admin = s.login("scjg_admin").await;
    let (st, theirs) = s.get("clients", &scjg_admin).await;
    assert_eq!(st, 200, "{theirs}");
    assert!(!theirs["items"].as_array().unwrap().iter().any(|c| c["client_id"] == client_id.as_str()), "{theirs}");
    let (st, other) = s.post("clients", &scjg_admin, json!({"name": "市场监管系统", "roles": ["consumer"]})).await;
    assert_eq!(st, 201, "{other}");
    let (_, list) = s.get("clients", &gat_admin).await;
    assert!(!list["items"].as_array().unwrap().iter().any(|c| c["client_id"] == other["client_id"]), "{list}");
    let (_, me) = s.get("me", other["token"].as_str().unwrap()).await;
    assert_eq!(me["department"]["name"], "河北省市场监督管理局");
}
on_both!(api_clients, api_clients);

// ---------------------------------------------------------------------------------------------------------------
// Time helpers (no date crate in the test's dependencies)

fn time_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Seconds since the epoch of an RFC 3339 timestamp (`2026-01-02T03:04:05.123Z` or with an offset).
fn rfc3339_epoch(s: &str) -> i64 {
    let (date, rest) = s.split_once('T').unwrap_or_else(|| panic!("not RFC 3339: {s}"));
    let mut d = date.split('-').map(|p| p.parse::<i64>().unwrap());
    let (y, m, day) = (d.next().unwrap(), d.next().unwrap(), d.next().unwrap());
    let hms = &rest[..8];
    let mut t = hms.split(':').map(|p| p.parse::<i64>().unwrap());
    let (hh, mm, ss) = (t.next().unwrap(), t.next().unwrap(), t.next().unwrap());
    let tail = &rest[8..];
    let offset = if tail.ends_with('Z') {
        0
    } else {
        let pos = tail.rfind(['+', '-']).unwrap_or_else(|| panic!("no offset: {s}"));
        let sign = if &tail[pos..pos + 1] == "-" { -1 } else { 1 };
        let oh: i64 = tail[pos + 1..pos + 3].parse().unwrap();
        let om: i64 = tail[pos + 4..pos + 6].parse().unwrap();
        sign * (oh * 3600 + om * 60)
    };
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss - offset
}

#[test]
fn rfc3339_helper() {
    assert_eq!(rfc3339_epoch("1970-01-01T00:00:00Z"), 0);
    assert_eq!(rfc3339_epoch("2026-03-01T08:00:00+08:00"), rfc3339_epoch("2026-03-01T00:00:00.5Z"));
    assert_eq!(credit_code("91350100M000100Y4"), "91350100M000100Y43");
}
