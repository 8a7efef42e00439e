//! The API proxy (`ANY /data/{class}/{seq}/api/{path…}`) end to end: a small upstream HTTP server inside the test,
//! behind a real `shuqiao node`, mounted as an `api` mount. The consumer gets the upstream's status and body, a
//! JSON body filtered like records (items not granted removed, granted ones masked, other keys passed), only the
//! mount's and the node's headers reach the upstream (never the caller's credentials), an upstream that hangs is
//! a 504 within the configured timeout, and a call without an `api` grant is refused — all audited.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{X, id_card, masked_id, problem, start_node, wait_connected, wait_event};
use crate::harness::Backend;
use crate::on_both;

/// What the upstream received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A hand-written HTTP/1.1 upstream on 127.0.0.1 (one request per connection).
struct Upstream {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn zhang() -> String {
    id_card("13010219800101001")
}

/// The upstream's answer to `/api/residents`: granted items, items not granted (also nested), other keys.
fn residents_json() -> Value {
    json!({
        "total": 1,
        "data": [{
            "公民身份号码": zhang(), "姓名": "张三", "联系电话": "13812345678", "婚姻状况": "已婚", "备注": "窗口办理"
        }],
        "meta": {"source": "hukou-api", "户籍地址": "河北省石家庄市长安区建设北大街1号"}
    })
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

async fn read_request(sock: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())))
        .collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen { method, target, headers, body })
}

async fn answer(seen: &Seen) -> Vec<u8> {
    let path = seen.target.split('?').next().unwrap_or_default();
    let json = [("Content-Type", "application/json; charset=utf-8")];
    match (seen.method.as_str(), path) {
        ("GET", "/api") => response("200 OK", &json, br#"{"ok":true}"#),
        ("GET", "/api/residents") => response(
            "200 OK",
            &[json[0], ("ETag", "\"v1\""), ("X-Internal-Trace", "upstream-secret-trace")],
            residents_json().to_string().as_bytes(),
        ),
        ("GET", "/api/notice.txt") => {
            response("200 OK", &[("Content-Type", "text/plain; charset=utf-8")], "公告：张三 请到窗口办理".as_bytes())
        }
        ("POST", "/api/submit") => {
            let got: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
            response("201 Created", &json, json!({"accepted": true, "echo": got}).to_string().as_bytes())
        }
        ("GET", "/api/hang") => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Vec::new()
        }
        _ => response("404 Not Found", &json, r#"{"error":"no such thing","姓名":"李四"}"#.as_bytes()),
    }
}

impl Upstream {
    async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else { return };
                    log.lock().unwrap().push(req.clone());
                    let out = answer(&req).await;
                    let _ = sock.write_all(&out).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Upstream { port, seen, task }
    }

    fn last(&self, path_start: &str) -> Seen {
        let seen = self.seen.lock().unwrap();
        seen.iter().rev().find(|s| s.target.starts_with(path_start)).cloned().expect("the upstream was called")
    }
}

async fn api_call(
    x: &X,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req =
        x.s.http
            .request(method, x.s.url(path))
            .bearer_auth(x.tok("scjg_user"))
            .header("X-Shuqiao-Case", "SJZ-2026-API-1")
            .header("X-Caller-Secret", "do-not-forward")
            .header("Accept", "application/json");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn as_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn api_proxy_end_to_end(b: Backend) {
    let x = X::with_args(b, &["--node-timeout-seconds", "4"]).await;
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start().await;
    let base = format!("http://127.0.0.1:{}/api", upstream.port);
    let code = x.entry(&["query", "api"]).await;
    let (node, key_file) = x.node("gat_admin", dir.path(), "gat-api").await;
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "platform = \"{}\"\nkey_file = \"{}\"\nnode_id = \"{node}\"\nhealth_seconds = 1\napi_timeout_seconds = 1\n\n\
             [[upstream]]\nprefix = \"{base}\"\nheaders = {{ X-Node-Token = \"node-kept-secret\" }}\n",
            x.s.base,
            key_file.display()
        ),
    )
    .unwrap();
    let agent = start_node(&config);
    wait_connected(&x, &node, true).await;

    // The api mount, checked through the node (a GET of the base URL).
    let mount_path = format!("catalog/{code}/mount");
    let mount = json!({"kind": "api", "node": node, "source": {"url": base, "headers": {"X-Api-Key": "mount-secret"}}});
    let (st, m) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (st, check) = x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{check}");
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(upstream.last("/api").header("x-api-key"), Some("mount-secret"));

    let residents = format!("data/{code}/api/residents?sfzh={}", zhang());
    let calls_before = upstream.seen.lock().unwrap().len();

    // No grant at all: 403, and the upstream is never called.
    let (st, h, body) = api_call(&x, reqwest::Method::GET, &residents, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&body));
    problem(&as_json(&body), StatusCode::FORBIDDEN);
    assert!(h["content-type"].to_str().unwrap().starts_with("application/problem+json"), "{h:?}");

    // A grant without the api mode: 403, audited as refused, the upstream never called.
    x.grant(&code, &["公民身份号码", "姓名"], &["query"], json!({})).await;
    let (st, _, body) = api_call(&x, reqwest::Method::GET, &residents, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&body));
    let body = as_json(&body);
    problem(&body, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("`api`"), "{body}");
    let refused = wait_event(&x, "data.api", |e| e["result"] == "refused" && e["resource"] == code.as_str()).await;
    assert!(refused["detail"]["reason"].as_str().unwrap().contains("api"), "{refused}");
    assert_eq!(upstream.seen.lock().unwrap().len(), calls_before, "refused calls never reach the upstream");

    // The api grant: two items, masked.
    let grant = x
        .grant(
            &code,
            &["公民身份号码", "姓名"],
            &["api"],
            json!({"masking": {"公民身份号码": "id_card", "姓名": "name"}}),
        )
        .await;
    let gid = grant["id"].as_str().unwrap().to_owned();

    // A JSON answer: the upstream's status, only granted items (masked), other keys as they were.
    let (st, h, body) = api_call(&x, reqwest::Method::GET, &residents, None).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        as_json(&body),
        json!({
            "total": 1,
            "data": [{"公民身份号码": masked_id(&zhang()), "姓名": "张*", "备注": "窗口办理"}],
            "meta": {"source": "hukou-api"}
        })
    );
    let text = String::from_utf8_lossy(&body);
    for leaked in ["13812345678", "已婚", "建设北大街", zhang().as_str()] {
        assert!(!text.contains(leaked), "`{leaked}` leaked: {text}");
    }
    assert!(h["content-type"].to_str().unwrap().contains("application/json"), "{h:?}");
    assert_eq!(h.get("etag").map(|v| v.to_str().unwrap()), Some("\"v1\""), "{h:?}");
    assert!(h.get("x-internal-trace").is_none(), "only the listed response headers pass: {h:?}");
    // What the upstream saw: the path and query, the mount's and the node's headers, never the caller's.
    let seen = upstream.last("/api/residents");
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.target, format!("/api/residents?sfzh={}", zhang()));
    assert_eq!(seen.header("x-api-key"), Some("mount-secret"), "{seen:?}");
    assert_eq!(seen.header("x-node-token"), Some("node-kept-secret"), "{seen:?}");
    assert_eq!(seen.header("accept"), Some("application/json"), "{seen:?}");
    for never in ["authorization", "x-shuqiao-case", "x-caller-secret", "cookie"] {
        assert!(seen.header(never).is_none(), "`{never}` reached the upstream: {seen:?}");
    }
    let ok = wait_event(&x, "data.api", |e| e["result"] == "ok" && e["resource"] == code.as_str()).await;
    assert_eq!(ok["detail"]["grant"], gid.as_str(), "{ok}");
    assert_eq!(ok["detail"]["mode"], "api", "{ok}");
    assert_eq!(ok["detail"]["items"], json!(["公民身份号码", "姓名"]), "{ok}");
    assert_eq!(ok["detail"]["records"], 1, "{ok}");
    assert_eq!(ok["case_ref"], "SJZ-2026-API-1", "{ok}");
    let (st, acc) = x.get("auditor", &format!("audit/subject?kind=id_card&id={}", zhang())).await;
    assert_eq!(st, StatusCode::OK, "{acc}");
    assert!(acc["items"].as_array().unwrap().iter().any(|a| a["action"] == "data.api"), "{acc}");

    // The upstream's own status passes (404 here), its JSON filtered the same way.
    let (st, _, body) = api_call(&x, reqwest::Method::GET, &format!("data/{code}/api/nobody"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(as_json(&body), json!({"error": "no such thing", "姓名": "李*"}));

    // A POST with a body reaches the upstream; its 201 comes back.
    let (st, _, body) =
        api_call(&x, reqwest::Method::POST, &format!("data/{code}/api/submit"), Some(json!({"备注": "补录"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    assert_eq!(as_json(&body), json!({"accepted": true, "echo": {"备注": "补录"}}));
    let seen = upstream.last("/api/submit");
    assert_eq!(seen.method, "POST");
    assert_eq!(as_json(&seen.body), json!({"备注": "补录"}));
    assert!(seen.header("content-type").unwrap().contains("application/json"), "{seen:?}");

    // A body that is not JSON passes as it is (the gateway filters JSON only).
    let (st, h, body) = api_call(&x, reqwest::Method::GET, &format!("data/{code}/api/notice.txt"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/plain"), "{h:?}");
    assert_eq!(String::from_utf8(body).unwrap(), "公告：张三 请到窗口办理");

    // An upstream that hangs: the node gives up after its 1 s and the consumer gets a 504 problem, well within
    // the platform's own 4 s; audited as failed.
    let started = Instant::now();
    let (st, h, body) = api_call(&x, reqwest::Method::GET, &format!("data/{code}/api/hang"), None).await;
    let took = started.elapsed();
    assert_eq!(st, StatusCode::GATEWAY_TIMEOUT, "{}", String::from_utf8_lossy(&body));
    problem(&as_json(&body), StatusCode::GATEWAY_TIMEOUT);
    assert!(h["content-type"].to_str().unwrap().starts_with("application/problem+json"), "{h:?}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "took {took:?}");
    let failed = wait_event(&x, "data.api", |e| e["result"] == "failed" && e["resource"] == code.as_str()).await;
    assert!(failed["detail"]["reason"].as_str().unwrap().contains("timed out"), "{failed}");
    assert_eq!(failed["detail"]["grant"], gid.as_str(), "{failed}");

    // The node stays usable after the timeout.
    let (st, _, _) = api_call(&x, reqwest::Method::GET, &residents, None).await;
    assert_eq!(st, StatusCode::OK);
    drop(agent);
}
on_both!(api_proxy_end_to_end, api_proxy_end_to_end);
