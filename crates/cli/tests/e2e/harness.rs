//! Starts real `shuqiao` processes on port 0, on SQLite (a temp data dir) or on a fresh PostgreSQL database of
//! their own, and talks to them over real HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const DEMO_PASSWORD: &str = "Demo@2026";
pub const ADMIN_PASSWORD: &str = "Admin@Test2026";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use (`SHUQIAO_TEST_PG`, default the local one).
pub fn pg_base() -> String {
    std::env::var("SHUQIAO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Creates a fresh database and returns its URL.
pub async fn fresh_pg_database() -> String {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = fresh_pg_name();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{}/postgres", pg_base()))
        .await
        .expect("PostgreSQL must be running for the PostgreSQL half of the suite (see README)");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
    format!("{}/{name}", pg_base())
}

/// A fresh database name (not created).
pub fn fresh_pg_name() -> String {
    format!("shuqiao_test_{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{}_{}_{}", std::process::id(), t % 1_000_000_000, N.fetch_add(1, Ordering::SeqCst))
}

/// How to start a process: extra arguments and the `SHUQIAO_ADMIN_PASSWORD` it gets.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub args: &'a [&'a str],
    /// `None` starts the process without `SHUQIAO_ADMIN_PASSWORD` (a password is then generated and printed).
    pub admin_password: Option<&'a str>,
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch { args: &[], admin_password: Some(ADMIN_PASSWORD) }
    }
}

pub struct Server {
    child: Child,
    pub base: String,
    pub data: tempfile::TempDir,
    pub database: Option<String>,
    pub backend: Backend,
    pub http: reqwest::Client,
    pub stdout: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_shuqiao")
}

impl Server {
    /// `shuqiao demo` on the backend, ready to serve.
    pub async fn demo(backend: Backend) -> Server {
        Server::start(backend, "demo").await
    }

    /// `shuqiao serve` on an empty store (only `admin`, password [`ADMIN_PASSWORD`]).
    pub async fn empty(backend: Backend) -> Server {
        Server::start(backend, "serve").await
    }

    pub async fn start(backend: Backend, command: &str) -> Server {
        let data = tempfile::tempdir().expect("tempdir");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_pg_database().await),
        };
        Server::spawn(backend, command, data, database).await
    }

    /// Like [`Server::start`], with extra command-line arguments (e.g. `["--session-seconds", "2"]`).
    pub async fn start_with(backend: Backend, command: &str, extra_args: &[&str]) -> Server {
        let data = tempfile::tempdir().expect("tempdir");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_pg_database().await),
        };
        Server::spawn_with(backend, command, data, database, &Launch { args: extra_args, ..Launch::default() }).await
    }

    /// Starts a process on an existing data dir / database (e.g. to restart).
    pub async fn spawn(backend: Backend, command: &str, data: tempfile::TempDir, database: Option<String>) -> Server {
        Server::spawn_with(backend, command, data, database, &Launch::default()).await
    }

    /// Starts a process on an existing data dir / database with [`Launch`] options.
    pub async fn spawn_with(
        backend: Backend,
        command: &str,
        data: tempfile::TempDir,
        database: Option<String>,
        launch: &Launch<'_>,
    ) -> Server {
        let mut cmd = Command::new(bin());
        cmd.arg(command).arg("--listen").arg("127.0.0.1:0").arg("--data").arg(data.path());
        if let Some(db) = &database {
            cmd.arg("--database").arg(db);
        }
        cmd.args(launch.args);
        match launch.admin_password {
            Some(pw) => cmd.env("SHUQIAO_ADMIN_PASSWORD", pw),
            None => cmd.env_remove("SHUQIAO_ADMIN_PASSWORD"),
        };
        cmd.env("SHUQIAO_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn shuqiao");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut lines = Vec::new();
        let mut base = None;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if base.is_none()
                        && let Some(rest) = line.split("listening on ").nth(1)
                    {
                        base = Some(rest.trim().to_owned());
                    }
                    let ready = line.starts_with("就绪 ready");
                    lines.push(line);
                    if ready {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!("shuqiao exited early with {status}: {lines:?}");
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("shuqiao closed stdout: {lines:?}"),
            }
        }
        let base = base.expect("listening line");
        std::thread::spawn(move || for _ in rx.iter() {});
        Server {
            child,
            base,
            data,
            database,
            backend,
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client"),
            stdout: lines,
        }
    }

    /// SIGKILL: the process dies at once, nothing flushed, nothing closed cleanly.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts `command` again on the same data dir and database (after [`Server::kill`]); `base` changes.
    pub async fn restart(&mut self, command: &str, args: &[&str]) {
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().expect("tempdir"));
        let launch = Launch { args, ..Launch::default() };
        let mut fresh = Server::spawn_with(self.backend, command, data, self.database.clone(), &launch).await;
        // `fresh` takes the dead process and an empty directory with it.
        std::mem::swap(self, &mut fresh);
    }

    /// Stops the process with SIGTERM and waits for it; returns its data dir and database for a restart.
    pub fn stop(mut self) -> (tempfile::TempDir, Option<String>, std::process::ExitStatus) {
        let pid = self.child.id();
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let status = self.child.wait().expect("wait");
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().expect("tempdir"));
        (data, self.database.take(), status)
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') { format!("{}{path}", self.base) } else { format!("{}/api/v1/{path}", self.base) }
    }

    /// Logs in and returns the token.
    pub async fn login(&self, username: &str) -> String {
        let pw = if username == "admin" { ADMIN_PASSWORD } else { DEMO_PASSWORD };
        let (status, body) = self
            .call(Method::POST, "auth/login", None, Some(serde_json::json!({"username": username, "password": pw})))
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A JSON call; returns the status and the parsed body (Null when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Sends a prepared request (`s.http.post(s.url(..))…`); returns the status, the headers and the parsed body
    /// (Null when empty or not JSON).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
}

/// Runs a test body once on SQLite and once on PostgreSQL, as two `#[tokio::test]`s.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::harness::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body($crate::harness::Backend::Postgres).await
            }
        }
    };
}

/// A valid minimal entry of class `class` (e.g. "301001"), conditional, for tests to modify.
pub fn entry_json(class: &str, name: &str) -> Value {
    let lei: i64 = class[0..1].parse().unwrap();
    let xiang: i64 = class[1..3].parse().unwrap();
    let mu: i64 = class[3..6].parse().unwrap();
    serde_json::json!({
        "code": class,
        "class": {"lei": lei, "xiang": xiang, "mu": mu, "ximu": null},
        "name": name,
        "summary": format!("{name}，测试用信息资源摘要。"),
        "format": {"category": "数据库", "type": "PostgreSQL"},
        "items": [
            {"name": "统一社会信用代码", "data_type": "C", "length": 18, "basic": true, "share_type": null, "grade": "一般"},
            {"name": "企业名称", "data_type": "C", "length": 200, "basic": true, "share_type": null, "grade": null}
        ],
        "share": {"type": "conditional", "condition": "仅限行政审批业务使用", "legal_basis": null, "modes": ["query", "verify"]},
        "open": {"open": false, "condition": null},
        "update_cycle": "daily",
        "related": [],
        "secret": false
    })
}

/// A server with a set of users logged in: their tokens and their departments (by the prefix of the username,
/// `gat_user` → `gat`).
pub struct Session {
    pub s: Server,
    tokens: std::collections::HashMap<&'static str, String>,
    pub dept: std::collections::HashMap<&'static str, String>,
}

impl Session {
    pub async fn login_all(s: Server, users: &[&'static str]) -> Session {
        let mut tokens = std::collections::HashMap::new();
        let mut dept = std::collections::HashMap::new();
        for u in users {
            let token = s.login(u).await;
            let (_, me) = s.get("me", &token).await;
            if let Some(d) = me["department"]["id"].as_str() {
                dept.insert(u.split('_').next().unwrap(), d.to_owned());
            }
            tokens.insert(*u, token);
        }
        Session { s, tokens, dept }
    }
    pub fn tok(&self, u: &str) -> &str {
        &self.tokens[u]
    }
    pub async fn get(&self, u: &str, path: &str) -> (StatusCode, Value) {
        self.s.get(path, self.tok(u)).await
    }
    pub async fn post(&self, u: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.s.post(path, self.tok(u), body).await
    }
    pub async fn put(&self, u: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.s.put(path, self.tok(u), body).await
    }
}
