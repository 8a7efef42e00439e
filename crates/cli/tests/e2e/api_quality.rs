//! The conventions of API.md and SPEC §13–14 that every endpoint shares: problem+json errors, body limits,
//! Idempotency-Key, health and metrics, 404s, the OpenAPI document agreeing with the router, cursor pagination,
//! clean shutdown and request ids.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::accounts::{all_pages, assert_field_error, assert_problem, error_fields};
use crate::harness::{Backend, Server, entry_json};
use crate::on_both;

/// Entries of `class` named `name` that `token`'s caller can find, by search and by the class filter.
async fn count_named(s: &Server, token: &str, class: &str, name: &str) -> usize {
    let (st, body) = s.get(&format!("catalog?class={class}&limit=500"), token).await;
    assert_eq!(st, 200, "{body}");
    let by_class = body["items"].as_array().unwrap().iter().filter(|e| e["name"] == name).count();
    let (st, body) = s.get(&format!("catalog?q={name}&limit=500"), token).await;
    assert_eq!(st, 200, "{body}");
    let by_query = body["items"].as_array().unwrap().iter().filter(|e| e["name"] == name).count();
    assert_eq!(by_class, by_query, "search and class filter disagree on {name}");
    by_class
}

async fn malformed_bodies(b: Backend) {
    let s = Server::demo(b).await;
    let t = s.login("gat_catalog").await;
    let post = || s.http.post(s.url("catalog")).bearer_auth(&t);

    // Malformed JSON: 400.
    let (st, h, body) = s.send(post().header(CONTENT_TYPE, "application/json").body("{\"name\": ")).await;
    assert_problem(st, &h, &body, 400);
    assert!(body["detail"].as_str().unwrap().contains("JSON"), "{body}");
    let (st, h, body) = s.send(post().header(CONTENT_TYPE, "application/json").body("")).await;
    assert_problem(st, &h, &body, 400);
    // A wrong or missing Content-Type: 400, saying what was expected.
    let valid = entry_json("303099", "类型错误测试").to_string();
    let (st, h, body) = s.send(post().header(CONTENT_TYPE, "text/plain").body(valid.clone())).await;
    assert_problem(st, &h, &body, 400);
    assert!(body["detail"].as_str().unwrap().contains("application/json"), "{body}");
    let (st, h, body) = s.send(post().body(valid.clone())).await;
    assert_problem(st, &h, &body, 400);
    // `application/json; charset=utf-8` is fine.
    let (st, _, body) =
        s.send(post().header(CONTENT_TYPE, "application/json; charset=utf-8").body(valid.clone())).await;
    assert_eq!(st, 201, "{body}");

    // An unknown field: 422 naming it.
    let mut e = entry_json("303099", "未知字段测试");
    e["colour"] = json!("red");
    let (st, h, body) = s.send(post().json(&e)).await;
    assert_problem(st, &h, &body, 422);
    assert_eq!(error_fields(&body), ["colour"], "{body}");
    let mut e = entry_json("303099", "未知字段测试");
    e["items"][0]["colour"] = json!("red");
    let (st, body) = s.post("catalog", &t, e).await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(error_fields(&body), ["items[0].colour"], "{body}");
    // A missing required field of a nested object: 422 naming it with its path.
    let admin = s.login("admin").await;
    let (st, body) = s.post("regions", &admin, json!({"code": "130181", "name": "辛集市"})).await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(error_fields(&body), ["level"], "{body}");
    // A field of the wrong type: 422 naming it.
    let mut e = entry_json("303099", "类型错误测试");
    e["secret"] = json!("yes");
    let (st, h, body) = s.send(post().json(&e)).await;
    assert_problem(st, &h, &body, 422);
    assert_eq!(error_fields(&body), ["secret"], "{body}");
    let mut e = entry_json("303099", "类型错误测试");
    e["items"][1]["length"] = json!("long");
    let (st, body) = s.post("catalog", &t, e).await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(error_fields(&body), ["items[1].length"], "{body}");
    // Trailing garbage after the JSON value is malformed.
    let (st, h, body) = s.send(post().header(CONTENT_TYPE, "application/json").body(format!("{valid} x"))).await;
    assert_problem(st, &h, &body, 400);
    // Unknown fields of other bodies too.
    let (st, body) =
        s.post("regions", &admin, json!({"code": "130181", "name": "辛集市", "level": "county", "x": 1})).await;
    assert_field_error(st, &body, "x");

    // A body over 1 MiB: 413, with and without an Idempotency-Key.
    let mut big = entry_json("303099", "超大请求体");
    big["summary"] = json!("很".repeat(400_000));
    let big = big.to_string();
    assert!(big.len() > 1024 * 1024);
    let (st, h, body) = s.send(post().header(CONTENT_TYPE, "application/json").body(big.clone())).await;
    assert_problem(st, &h, &body, 413);
    let (st, h, body) =
        s.send(post().header(CONTENT_TYPE, "application/json").header("Idempotency-Key", "big-1").body(big)).await;
    assert_problem(st, &h, &body, 413);
    // Just under the limit is read (and then judged on its content).
    let mut under = entry_json("303099", "较大请求体");
    under["summary"] = json!("很".repeat(300_000));
    let (st, body) = s.post("catalog", &t, under).await;
    assert_ne!(st, 413, "{body}");

    // Nothing above was created except the one valid entry.
    assert_eq!(count_named(&s, &t, "303099", "未知字段测试").await, 0);
    assert_eq!(count_named(&s, &t, "303099", "类型错误测试").await, 1);
    assert_eq!(count_named(&s, &t, "303099", "超大请求体").await, 0);
}
on_both!(malformed_bodies, malformed_bodies);

async fn idempotency_key(b: Backend) {
    let s = Server::demo(b).await;
    let t = s.login("gat_catalog").await;
    let name = "幂等测试资源";
    let body = entry_json("303099", name);
    let post = |key: &str, body: &Value| {
        s.http.post(s.url("catalog")).bearer_auth(&t).header("Idempotency-Key", key).json(body)
    };

    let (st1, h1, first) = s.send(post("create-303099-a", &body)).await;
    assert_eq!(st1, 201, "{first}");
    assert!(h1.get("idempotent-replayed").is_none());
    let code = first["code"].as_str().expect("code").to_owned();
    assert!(code.starts_with("303099/"), "{code}");
    assert_eq!(first["status"], "draft");
    // A retry with the same key and body: the same 201 and body, nothing new.
    let (st2, h2, second) = s.send(post("create-303099-a", &body)).await;
    assert_eq!(st2, 201, "{second}");
    assert_eq!(second, first);
    assert_eq!(h2.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert!(h2.get(CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("application/json"));
    assert_eq!(count_named(&s, &t, "303099", name).await, 1);
    // The same key with a different body: 422 on the key, nothing new.
    let mut other = body.clone();
    other["name"] = json!("幂等测试资源二");
    let (st, h, body3) = s.send(post("create-303099-a", &other)).await;
    assert_problem(st, &h, &body3, 422);
    assert!(error_fields(&body3).iter().any(|f| f == "Idempotency-Key"), "{body3}");
    assert_eq!(count_named(&s, &t, "303099", "幂等测试资源二").await, 0);
    // The same key on another path is another request too.
    let (st, body4) = {
        let (st, _, b) = s
            .send(
                s.http
                    .put(s.url(&format!("catalog/{code}")))
                    .bearer_auth(&t)
                    .header("Idempotency-Key", "create-303099-a")
                    .json(&body),
            )
            .await;
        (st, b)
    };
    assert_field_error(st, &body4, "Idempotency-Key");
    // A new key acts again.
    let (st, _, third) = s.send(post("create-303099-b", &body)).await;
    assert_eq!(st, 201, "{third}");
    assert_ne!(third["code"], first["code"]);
    assert_eq!(count_named(&s, &t, "303099", name).await, 2);
    // Keys must be 1–200 characters.
    let (st, body5) = {
        let (st, _, b) = s.send(post(&"k".repeat(201), &body)).await;
        (st, b)
    };
    assert_field_error(st, &body5, "Idempotency-Key");

    // Keys are per caller: another department's cataloger using the same key does not get gat's response.
    let other_t = s.login("scjg_catalog").await;
    let (st, _, theirs) = s
        .send(
            s.http
                .post(s.url("catalog"))
                .bearer_auth(&other_t)
                .header("Idempotency-Key", "create-303099-a")
                .json(&body),
        )
        .await;
    assert_eq!(st, 201, "{theirs}");
    assert_ne!(theirs["code"], first["code"], "{theirs}");
    assert_eq!(theirs["provider"]["name"], "河北省市场监督管理局", "{theirs}");
    // And neither sees the other's draft.
    let (st, h, nf) = s.send(s.http.get(s.url(&format!("catalog/{code}"))).bearer_auth(&other_t)).await;
    assert_problem(st, &h, &nf, 404);
    let (st, own) = s.get(&format!("catalog/{code}"), &t).await;
    assert_eq!(st, 200, "{own}");
    assert_eq!(own["provider"]["name"], "河北省公安厅");
    let (_, list) = s.get("catalog?class=303099&limit=500", &other_t).await;
    let codes: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|e| e["code"].as_str()).collect();
    assert!(!codes.contains(&code.as_str()), "scjg sees gat's draft: {codes:?}");
    assert!(codes.contains(&theirs["code"].as_str().unwrap()), "{codes:?}");
    let consumer = s.login("scjg_user").await;
    let (st, _) = s.get(&format!("catalog/{code}"), &consumer).await;
    assert_eq!(st, 404);
    // Nor can it change it, key or no key.
    let (st, body6) = s.put(&format!("catalog/{code}"), &other_t, body.clone()).await;
    assert!(st == 404 || st == 403, "{st}: {body6}");
    let (st, _) = s.post(&format!("catalog/{code}/submit"), &other_t, json!({})).await;
    assert!(st == 404 || st == 403, "{st}");
    let (_, own) = s.get(&format!("catalog/{code}"), &t).await;
    assert_eq!(own["status"], "draft");
    assert_eq!(own["version"], 1);
}
on_both!(idempotency_key, idempotency_key);

async fn health_and_metrics(b: Backend) {
    let s = Server::demo(b).await;
    let (st, _, _) = s.send(s.http.get(s.url("/healthz"))).await;
    assert_eq!(st, 200);
    let resp = s.http.get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ready");
    let resp = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers().get(CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain") && ct.contains("version=0.0.4"), "{ct}");
    let text = resp.text().await.unwrap();
    assert!(text.contains("# TYPE shuqiao_up gauge"), "{text}");
    // Every sample line is `name[{labels}] value` with a numeric value, and every metric has a TYPE.
    let mut typed = HashSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.insert(rest.split(' ').next().unwrap().to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample {line}"));
        let metric = name.split('{').next().unwrap();
        assert!(metric.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(
            typed.contains(metric) || typed.iter().any(|t| metric.starts_with(t.as_str())),
            "untyped metric {metric}"
        );
    }
    let sample = |name: &str| {
        text.lines()
            .find(|l| l.split(' ').next() == Some(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(sample("shuqiao_up"), Some(1.0), "{text}");
    assert!(sample("shuqiao_catalog_index_docs").unwrap_or(0.0) > 0.0, "{text}");
    // Health needs no login; the API does.
    let (st, h, body) = s.send(s.http.get(s.url("catalog"))).await;
    assert_problem(st, &h, &body, 401);
}
on_both!(health_and_metrics, health_and_metrics);

async fn unknown_paths_and_methods(b: Backend) {
    let s = Server::demo(b).await;
    let t = s.login("gat_user").await;
    // Outside /api/ an unknown path is the console's friendly page (console.rs); under /api/ always problem+json.
    let (st, h, _) = s.send(s.http.get(s.url("/nope"))).await;
    assert_eq!(st, 404);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    for path in ["/api/v1/nope", "/api/v1/catalog/101001/000001/nope", "/api/v2/catalog", "/api/nope"] {
        let (st, h, body) = s.send(s.http.get(s.url(path)).bearer_auth(&t)).await;
        assert_problem(st, &h, &body, 404);
        let (st, h, body) = s.send(s.http.post(s.url(path)).bearer_auth(&t).json(&json!({}))).await;
        assert_problem(st, &h, &body, 404);
    }
    // Anonymous too (no hint that the path needs a login).
    let (st, h, body) = s.send(s.http.get(s.url("/api/v1/nope"))).await;
    assert_problem(st, &h, &body, 404);
    // A known path with a method it does not have: 405.
    for (method, path) in
        [("DELETE", "me"), ("PUT", "regions"), ("GET", "auth/login"), ("DELETE", "catalog/101001/000001")]
    {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (st, h, body) = s.send(s.http.request(m, s.url(path)).bearer_auth(&t)).await;
        assert_problem(st, &h, &body, 405);
    }
    // An unknown catalog code is a 404 of the catalog, not of the router.
    let (st, h, body) = s.send(s.http.get(s.url("catalog/999999/999999")).bearer_auth(&t)).await;
    assert_problem(st, &h, &body, 404);
}
on_both!(unknown_paths_and_methods, unknown_paths_and_methods);

/// Every operation of API.md's Accounts, Rules and calendar, and Catalog tables except the mount endpoints and
/// `/nodes` (see `openapi_lists_nodes`).
const API_MD: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/regions"),
    ("post", "/api/v1/regions"),
    ("get", "/api/v1/departments"),
    ("post", "/api/v1/departments"),
    ("get", "/api/v1/departments/{id}"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("post", "/api/v1/clients"),
    ("get", "/api/v1/rules"),
    ("get", "/api/v1/calendar/deadline"),
    ("post", "/api/v1/catalog"),
    ("get", "/api/v1/catalog"),
    ("get", "/api/v1/catalog/{class}/{seq}"),
    ("put", "/api/v1/catalog/{class}/{seq}"),
    ("post", "/api/v1/catalog/{class}/{seq}/submit"),
    ("post", "/api/v1/catalog/{class}/{seq}/publish"),
    ("post", "/api/v1/catalog/{class}/{seq}/return"),
    ("post", "/api/v1/catalog/{class}/{seq}/retire"),
    ("get", "/api/v1/catalog/{class}/{seq}/versions"),
    ("post", "/api/v1/catalog/import"),
    ("get", "/api/v1/catalog/export"),
    // Sharing
    ("post", "/api/v1/applications"),
    ("get", "/api/v1/applications"),
    ("get", "/api/v1/applications/{id}"),
    ("post", "/api/v1/applications/{id}/approve"),
    ("post", "/api/v1/applications/{id}/refuse"),
    ("post", "/api/v1/applications/{id}/return"),
    ("post", "/api/v1/applications/{id}/dispute"),
    ("post", "/api/v1/applications/{id}/coordinate"),
    ("get", "/api/v1/grants"),
    ("get", "/api/v1/grants/{id}"),
    ("post", "/api/v1/grants/{id}/suspend"),
    ("post", "/api/v1/grants/{id}/resume"),
    ("post", "/api/v1/grants/{id}/revoke"),
    ("post", "/api/v1/objections"),
    ("post", "/api/v1/objections/{id}/confirm"),
    ("post", "/api/v1/objections/{id}/reject"),
    ("post", "/api/v1/demands"),
    ("post", "/api/v1/demands/{id}/route"),
    ("post", "/api/v1/demands/{id}/answer"),
    ("get", "/api/v1/inbox"),
    // Audit
    ("get", "/api/v1/audit/events"),
    ("get", "/api/v1/audit/verify"),
];

async fn openapi_document(b: Backend) {
    let s = Server::demo(b).await;
    // Served without a login.
    let (st, h, doc) = s.send(s.http.get(s.url("openapi.json"))).await;
    assert_eq!(st, 200, "{doc}");
    assert!(h.get(CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("application/json"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"].as_str().is_some_and(|t| !t.is_empty()));
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in API_MD {
        let op = &paths.get(*path).unwrap_or_else(|| panic!("{path} missing from the OpenAPI document"))[*method];
        assert!(op.is_object(), "{method} {path} missing from the OpenAPI document");
        assert!(op["responses"].is_object(), "{method} {path}: no responses");
        for seg in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let params = op["parameters"].as_array().unwrap_or_else(|| panic!("{method} {path}: no parameters"));
            assert!(params.iter().any(|p| p["name"] == seg && p["in"] == "path"), "{method} {path}: {seg}");
        }
    }
    let ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "operationIds are not unique");
    // Login is open; the rest of the accounts API needs a bearer token.
    assert!(paths["/api/v1/auth/login"]["post"].get("security").is_none());
    assert!(paths["/api/v1/users"]["get"]["security"].is_array());

    // Every documented operation is routed: calling it never gets the router's 404 or a 405.
    let (_, _, unknown) = s.send(s.http.get(s.url("/api/v1/surely/not/routed"))).await;
    let no_such_path = unknown["detail"].clone();
    let admin = s.login("admin").await;
    let mut checked = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let concrete = path.replace("{class}", "101001").replace("{seq}", "000001").replace("{id}", "x");
            let m = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            // Logging out must not end the session the other calls use.
            let token = if path.ends_with("/auth/logout") { s.login("gat_user").await } else { admin.clone() };
            let mut req = s.http.request(m, format!("{}{concrete}", s.base)).bearer_auth(&token);
            if let Some(content) = op["requestBody"]["content"].as_object() {
                if content.contains_key("application/json") {
                    req = req.json(&json!({}));
                } else {
                    req = req.header(CONTENT_TYPE, "application/json").body("[]");
                }
            }
            let (st, _, body) = s.send(req).await;
            assert_ne!(st, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed: {body}");
            assert!(
                !(st == StatusCode::NOT_FOUND && body["detail"] == no_such_path),
                "{method} {path} is documented but not routed: {body}"
            );
            assert!(!st.is_server_error(), "{method} {path}: {st} {body}");
            checked += 1;
        }
    }
    assert!(checked >= API_MD.len(), "{checked}");
}
on_both!(openapi_document, openapi_document);

/// API.md's Accounts table lists `POST /nodes` and `GET /nodes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_nodes() {
    let s = Server::demo(Backend::Sqlite).await;
    let (_, _, doc) = s.send(s.http.get(s.url("openapi.json"))).await;
    for method in ["get", "post"] {
        assert!(doc["paths"]["/api/v1/nodes"][method].is_object(), "{method} /api/v1/nodes is not documented");
    }
    let t = s.login("gat_admin").await;
    let (st, body) = s.get("nodes", &t).await;
    assert_eq!(st, 200, "{body}");
}

async fn departments_pagination(b: Backend) {
    let s = Server::demo(b).await;
    let t = s.login("gat_user").await;
    let paged = all_pages(&s, "departments", &t, 10).await;
    assert!(paged.len() >= 61, "{} departments", paged.len());
    let ids: Vec<&str> = paged.iter().map(|d| d["id"].as_str().unwrap()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates across pages");
    // The same set as one big page, and every demo department is there.
    let (st, one) = s.get("departments?limit=500", &t).await;
    assert_eq!(st, 200, "{one}");
    assert!(one["next_cursor"].is_null(), "{one}");
    let all: HashSet<&str> = one["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(all, unique);
    for name in ["河北省公安厅", "石家庄市长安区市场监督管理局", "河北省疾病预防控制中心"]
    {
        assert!(paged.iter().any(|d| d["name"] == name), "{name} missing");
    }
    // The first page is full and has a cursor; the default limit is 50.
    let (_, first) = s.get("departments?limit=10", &t).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 10);
    assert!(first["next_cursor"].as_str().is_some_and(|c| !c.is_empty()), "{first}");
    let (_, dflt) = s.get("departments", &t).await;
    assert_eq!(dflt["items"].as_array().unwrap().len(), 50, "default limit");
    assert!(dflt["next_cursor"].is_string());
    // Bad limits and cursors: 422 naming the parameter.
    for q in ["limit=0", "limit=501", "limit=-1", "limit=ten"] {
        let (st, h, body) = s.send(s.http.get(s.url(&format!("departments?{q}"))).bearer_auth(&t)).await;
        assert_problem(st, &h, &body, 422);
        assert!(error_fields(&body).iter().any(|f| f == "limit"), "{q}: {body}");
    }
    let (st, body) = s.get("departments?limit=500", &t).await;
    assert_eq!(st, 200, "{body}");
    for c in ["!!not-a-cursor!!", "%E5%BE%88", "a b"] {
        let (st, h, body) = s.send(s.http.get(s.url(&format!("departments?cursor={c}"))).bearer_auth(&t)).await;
        assert_problem(st, &h, &body, 422);
        assert!(error_fields(&body).iter().any(|f| f == "cursor"), "{c}: {body}");
    }
    // Lists need a login.
    let (st, h, body) = s.send(s.http.get(s.url("departments?limit=10"))).await;
    assert_problem(st, &h, &body, 401);
}
on_both!(departments_pagination, departments_pagination);

async fn sigterm_shuts_down_cleanly(b: Backend) {
    let s = Server::demo(b).await;
    // Leave a keep-alive connection open and some work done.
    let t = s.login("gat_user").await;
    let (st, _) = s.get("catalog?q=企业&limit=5", &t).await;
    assert_eq!(st, 200);
    let started = Instant::now();
    let (data, database, status) = s.stop();
    let took = started.elapsed();
    assert!(status.success(), "exit status {status}");
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    // The store is intact after the shutdown: a restart serves the same data.
    let s = Server::spawn(b, "demo", data, database).await;
    assert!(s.stdout.iter().any(|l| l.contains("already in the store")), "{:?}", s.stdout);
    let t = s.login("gat_user").await;
    let (st, body) = s.get("catalog?q=企业%20登记&limit=5", &t).await;
    assert_eq!(st, 200, "{body}");
    assert!(body["total"].as_u64().unwrap() >= 1, "{body}");
}
on_both!(sigterm_shuts_down_cleanly, sigterm_shuts_down_cleanly);

async fn request_ids(b: Backend) {
    let s = Server::demo(b).await;
    let id_of = |h: &reqwest::header::HeaderMap| {
        h.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_default()
    };
    let (_, h1, _) = s.send(s.http.get(s.url("/healthz"))).await;
    let (_, h2, _) = s.send(s.http.get(s.url("/healthz"))).await;
    let (a, b2) = (id_of(&h1), id_of(&h2));
    assert!(a.len() >= 16, "x-request-id {a:?}");
    assert_ne!(a, b2, "request ids repeat");
    // On API answers and on errors of every kind.
    let t = s.login("gat_user").await;
    let reqs = [
        s.http.get(s.url("me")).bearer_auth(&t),
        s.http.get(s.url("me")),
        s.http.get(s.url("/api/v1/nope")),
        s.http.post(s.url("regions")).bearer_auth(&t).json(&json!({"code": "x"})),
        s.http.post(s.url("auth/login")).header(CONTENT_TYPE, "application/json").body("{"),
    ];
    for req in reqs {
        let (st, h, body) = s.send(req).await;
        assert!(!id_of(&h).is_empty(), "{st} without x-request-id: {body}");
    }
    // A caller's own request id is kept.
    let (_, h, _) = s.send(s.http.get(s.url("me")).bearer_auth(&t).header("x-request-id", "case-2026-0001")).await;
    assert_eq!(id_of(&h), "case-2026-0001");
}
on_both!(request_ids, request_ids);

/// Everything the store holds as text, to look for secrets in: on SQLite the database files themselves, on
/// PostgreSQL the rows of the tables that might hold a token.
async fn store_text(s: &Server) -> String {
    match &s.database {
        None => {
            let mut out = String::new();
            for name in ["shuqiao.db", "shuqiao.db-wal"] {
                if let Ok(bytes) = std::fs::read(s.data.path().join(name)) {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            assert!(out.len() > 1000, "SQLite files not found in {}", s.data.path().display());
            out
        }
        Some(url) => {
            use sqlx::Row;
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await.unwrap();
            let mut out = String::new();
            for table in ["idempotency_keys", "sessions", "api_clients"] {
                let sql = format!("SELECT CAST(t AS TEXT) FROM {table} t");
                for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap() {
                    out.push_str(&row.get::<String, _>(0));
                    out.push('\n');
                }
            }
            assert!(out.contains("sqs_") || !out.is_empty(), "no rows read");
            out
        }
    }
}

async fn idempotent_secrets_are_not_stored(b: Backend) {
    let s = Server::demo(b).await;
    let admin = s.login("gat_admin").await;
    // A retried client creation gets the same client and token back, once, and acts once.
    let req = || {
        s.http
            .post(s.url("clients"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "client-1")
            .json(&json!({"name": "幂等客户端", "roles": ["consumer"]}))
    };
    let (st, _, first) = s.send(req()).await;
    assert_eq!(st, 201, "{first}");
    let (st, h, again) = s.send(req()).await;
    assert_eq!(st, 201, "{again}");
    assert_eq!(again, first);
    assert_eq!(h.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let token = first["token"].as_str().unwrap().to_owned();
    let (st, me) = s.get("me", &token).await;
    assert_eq!(st, 200, "{me}");
    let (_, list) = s.get("clients", &admin).await;
    let n = list["items"].as_array().unwrap().iter().filter(|c| c["name"] == "幂等客户端").count();
    assert_eq!(n, 1, "{list}");
    // A retried login too.
    let login = || {
        s.http
            .post(s.url("auth/login"))
            .header("Idempotency-Key", "login-1")
            .json(&json!({"username": "gat_user", "password": crate::harness::DEMO_PASSWORD}))
    };
    let (st, _, session) = s.send(login()).await;
    assert_eq!(st, 200, "{session}");
    let (_, _, session2) = s.send(login()).await;
    assert_eq!(session2["token"], session["token"]);
    let session_token = session["token"].as_str().unwrap().to_owned();
    // Someone else replaying the login with the same key but a wrong password gets nothing.
    let (st, _, other) = s
        .send(
            s.http
                .post(s.url("auth/login"))
                .header("Idempotency-Key", "login-1")
                .json(&json!({"username": "gat_user", "password": "guess"})),
        )
        .await;
    assert_eq!(st, 422, "{other}");
    assert!(other.get("token").is_none());

    // Tokens are stored hashed only (SPEC §14), also inside stored responses.
    let text = store_text(&s).await;
    for secret in [&token, &session_token] {
        let body = &secret[4..];
        assert!(!text.contains(body), "a token is stored in clear: {}", &secret[..12]);
    }
}
on_both!(idempotent_secrets_are_not_stored, idempotent_secrets_are_not_stored);
