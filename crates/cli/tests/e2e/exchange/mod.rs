//! Data exchange over HTTP (SPEC §5, §7, §9; API.md "Data", nodes and mount rows, `/audit/subject`): node
//! registration and isolation, mounts and their checks, the gateway's refusals, and — with real `shuqiao node`
//! processes over SQLite and PostgreSQL sources — query, pagination, masking, verification, quotas, revocation,
//! node loss and return, and the data-subject look-up.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Server, Session, bin};

mod api_proxy;
mod files;
mod gateway;
mod hostile_node;
mod hostile_sync;
mod platform;
mod sync;
mod sync_faults;

const USERS: [&str; 10] = [
    "gat_admin",
    "gat_catalog",
    "gat_review",
    "gat_user",
    "scjg_admin",
    "scjg_catalog",
    "scjg_user",
    "authority",
    "auditor",
    "admin",
];

/// The demo with [`USERS`] logged in, and the exchange tests' own set-up steps.
pub(crate) struct X(Session);

impl std::ops::Deref for X {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl X {
    pub(crate) async fn new(b: Backend) -> X {
        X(Session::login_all(Server::demo(b).await, &USERS).await)
    }

    /// `shuqiao demo` with extra command-line arguments (e.g. `["--node-timeout-seconds", "2"]`).
    pub(crate) async fn with_args(b: Backend, args: &[&str]) -> X {
        X(Session::login_all(Server::start_with(b, "demo", args).await, &USERS).await)
    }

    /// A published conditional entry of 公安厅 with the items the tests need; returns its code.
    pub(crate) async fn entry(&self, modes: &[&str]) -> String {
        let mut e = crate::harness::entry_json("301001", "常住人口登记信息（交换测试）");
        e["format"] = json!({"category": "数据库", "type": "SQLite"});
        e["items"] = json!([
            {"name": "公民身份号码", "data_type": "C", "length": 18, "basic": true, "share_type": null, "grade": "重要"},
            {"name": "姓名", "data_type": "C", "length": 50, "basic": true, "share_type": null, "grade": null},
            {"name": "联系电话", "data_type": "C", "length": 20, "basic": false, "share_type": null, "grade": null},
            {"name": "户籍地址", "data_type": "C", "length": 200, "basic": false, "share_type": null, "grade": null},
            {"name": "婚姻状况", "data_type": "C", "length": 10, "basic": false, "share_type": null, "grade": null}
        ]);
        e["share"] =
            json!({"type": "conditional", "condition": "仅限身份核验业务使用", "legal_basis": null, "modes": modes});
        let (st, created) = self.post("gat_catalog", "catalog", e).await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let code = created["code"].as_str().unwrap().to_owned();
        let (st, b) = self.post("gat_catalog", &format!("catalog/{code}/submit"), json!({})).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        let (st, b) = self.post("authority", &format!("catalog/{code}/publish"), json!({})).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        code
    }

    /// scjg applies for `items` in `modes`; gat's reviewer approves with `conditions`. Returns the grant.
    pub(crate) async fn grant(&self, code: &str, items: &[&str], modes: &[&str], conditions: Value) -> Value {
        let (st, a) = self
            .post(
                "scjg_user",
                "applications",
                json!({
                    "resource": code,
                    "items": items,
                    "purpose": {"kind": "data_verification", "text": "企业登记法定代表人身份核验"},
                    "basis": "《市场主体登记管理条例》第十六条",
                    "modes": modes,
                    "valid_until": crate::sharing::day(200),
                    "expected_volume": 1000
                }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{a}");
        let id = a["id"].as_str().unwrap();
        let (st, approved) = self.post("gat_review", &format!("applications/{id}/approve"), conditions).await;
        assert_eq!(st, StatusCode::OK, "{approved}");
        approved["grant"].clone()
    }

    /// Registers a node of the caller's department with a fresh key; returns (node id, key file).
    pub(crate) async fn node(&self, admin: &str, dir: &Path, name: &str) -> (String, std::path::PathBuf) {
        let (key_file, public) = keygen(dir, name);
        let (st, n) = self.post(admin, "nodes", json!({"name": name, "public_key": public})).await;
        assert_eq!(st, StatusCode::CREATED, "{n}");
        (n["id"].as_str().unwrap().to_owned(), key_file)
    }

    /// Audit events (auditor's view), newest first, every page.
    pub(crate) async fn all_events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("audit/events?limit=500&cursor={c}"),
                None => "audit/events?limit=500".to_owned(),
            };
            let (st, page) = self.get("auditor", &path).await;
            assert_eq!(st, StatusCode::OK, "{page}");
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// The newest audit events of `action`.
    pub(crate) async fn events_of(&self, action: &str) -> Vec<Value> {
        let (st, page) = self.get("auditor", &format!("audit/events?action={action}&limit=100")).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }
}

/// A running `shuqiao node`, killed when dropped.
pub(crate) struct NodeProcess(pub(crate) Child);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `shuqiao node --config <config>`.
pub(crate) fn start_node(config: &Path) -> NodeProcess {
    let child = Command::new(bin())
        .arg("node")
        .arg("--config")
        .arg(config)
        .env("SHUQIAO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn shuqiao node");
    NodeProcess(child)
}

/// Waits until gat's node `node` shows `connected == want`.
pub(crate) async fn wait_connected(x: &X, node: &str, want: bool) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (_, list) = x.get("gat_admin", "nodes").await;
        let n = list["items"].as_array().unwrap().iter().find(|n| n["id"] == node).cloned().unwrap_or(Value::Null);
        if n["connected"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "node connected != {want}: {n}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls the auditor's view until an event of `action` satisfies `pred` (some events are written
/// asynchronously, e.g. `node.bad_frame`); returns it.
pub(crate) async fn wait_event(x: &X, action: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = x.events_of(action).await;
        if let Some(e) = events.iter().find(|e| pred(e)) {
            return e.clone();
        }
        assert!(Instant::now() < deadline, "no matching {action} event among {events:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `shuqiao node keygen --out <dir>/<name>.key`; returns the key file and the public key.
pub(crate) fn keygen(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let key_file = dir.join(format!("{name}.key"));
    let out = std::process::Command::new(bin()).args(["node", "keygen", "--out"]).arg(&key_file).output().unwrap();
    assert!(out.status.success(), "keygen: {}", String::from_utf8_lossy(&out.stderr));
    let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(public.len(), 64, "{public}");
    (key_file, public)
}

/// A valid GB 11643 number from its first 17 digits.
pub(crate) fn id_card(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(W).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{first17}{}", char::from(b"10X98765432"[(sum % 11) as usize]))
}

/// An ID number masked by the `id_card` rule.
pub(crate) fn masked_id(id: &str) -> String {
    format!("{}********{}", &id[..6], &id[14..])
}

pub(crate) fn problem(body: &Value, status: StatusCode) {
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(), "{body}");
}
