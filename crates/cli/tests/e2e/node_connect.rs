//! A real `shuqiao node` process against a real platform: keygen, registration, connection with healthy sources,
//! reconnection after the platform restarts, and refusal of a key that is not registered.
//!
//! The node reaches the platform through a TCP relay on a fixed port (as it would through a department's
//! gateway), because a restarted platform listens on a new port.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Backend, Server, bin};

struct NodeProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl NodeProcess {
    fn start(config: &Path, log: &Path) -> NodeProcess {
        let err = std::fs::File::create(log).unwrap();
        let child = Command::new(bin())
            .arg("node")
            .arg("--config")
            .arg(config)
            .env("SHUQIAO_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn shuqiao node");
        NodeProcess { child, log: log.to_path_buf() }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards every connection on its own port to the platform's current address.
struct Relay {
    port: u16,
    target: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(base: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(Mutex::new(base.trim_start_matches("http://").to_owned()));
        let t = target.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let to = t.lock().unwrap().clone();
                tokio::spawn(async move {
                    if let Ok(mut up) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
            }
        });
        Relay { port, target, task }
    }

    fn point_at(&self, base: &str) {
        *self.target.lock().unwrap() = base.trim_start_matches("http://").to_owned();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn keygen(out: &Path) -> String {
    let o = Command::new(bin()).args(["node", "keygen", "--out"]).arg(out).output().unwrap();
    assert!(o.status.success(), "keygen: {}", String::from_utf8_lossy(&o.stderr));
    let public = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    assert_eq!(public.len(), 64, "{public}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = Command::new(bin()).args(["node", "keygen", "--out"]).arg(out).output().unwrap();
    assert!(!again.status.success(), "a key file is never overwritten");
    public
}

fn write_config(path: &Path, port: u16, key: &Path, node_id: &str, db: &Path) {
    let text = format!(
        "platform = \"http://127.0.0.1:{port}\"\nkey_file = \"{}\"\nnode_id = \"{node_id}\"\nhealth_seconds = 1\n\n\
         [[source]]\nname = \"hukou\"\nurl = \"sqlite://{}\"\n",
        key.display(),
        db.display()
    );
    std::fs::write(path, text).unwrap();
}

async fn make_sqlite(path: &Path) {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path).create_if_missing(true))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE residents (sfzh TEXT PRIMARY KEY, xm TEXT)").execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO residents VALUES ('130102199001011234', '张三')").execute(&pool).await.unwrap();
    pool.close().await;
}

async fn node_view(s: &Server, token: &str, id: &str) -> Value {
    let (status, body) = s.get("nodes?limit=500", token).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().iter().find(|n| n["id"] == id).cloned().unwrap_or(Value::Null)
}

/// Waits until the node shows as connected with every source healthy.
async fn wait_connected(s: &Server, token: &str, id: &str, node: &NodeProcess) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let n = node_view(s, token, id).await;
        let sources = n["health"]["sources"].as_array().cloned().unwrap_or_default();
        if n["connected"] == true && !sources.is_empty() && sources.iter().all(|x| x["ok"] == true) {
            return n;
        }
        assert!(Instant::now() < deadline, "node never connected healthy: {n}\nnode log:\n{}", node.log());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_connects_reconnects_and_unregistered_keys_are_refused() {
    let s = Server::demo(Backend::Sqlite).await;
    let admin = s.login("gat_admin").await;
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&s.base).await;
    let db = work.path().join("hukou.db");
    make_sqlite(&db).await;

    let key = work.path().join("node.key");
    let public = keygen(&key);
    let (status, body) = s.post("nodes", &admin, json!({"name": "公安厅前置节点", "public_key": public})).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();

    // A key that is not registered for the node id is refused, and the node says why.
    let stranger_key = work.path().join("stranger.key");
    keygen(&stranger_key);
    let stranger_cfg = work.path().join("stranger.toml");
    write_config(&stranger_cfg, relay.port, &stranger_key, &id, &db);
    let stranger = NodeProcess::start(&stranger_cfg, &work.path().join("stranger.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stranger.log().contains("refused this node") {
        assert!(Instant::now() < deadline, "no refusal logged:\n{}", stranger.log());
        assert_ne!(node_view(&s, &admin, &id).await["connected"], true, "an unregistered key connected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(stranger.log().contains("not the one registered"), "{}", stranger.log());
    assert_ne!(node_view(&s, &admin, &id).await["connected"], true);
    drop(stranger);

    // The registered key connects and reports its sources.
    let cfg = work.path().join("node.toml");
    write_config(&cfg, relay.port, &key, &id, &db);
    let node = NodeProcess::start(&cfg, &work.path().join("node.log"));
    let seen = wait_connected(&s, &admin, &id, &node).await;
    assert_eq!(seen["health"]["sources"][0]["name"], "hukou", "{seen}");
    assert_eq!(seen["health"]["sources"][0]["kind"], "sqlite", "{seen}");
    assert!(!node.log().contains("refused"), "{}", node.log());

    // The platform restarts (on a new port behind the relay); the node connects again by itself.
    let (data, database, _) = s.stop();
    let s = Server::spawn(Backend::Sqlite, "demo", data, database).await;
    relay.point_at(&s.base);
    let admin = s.login("gat_admin").await;
    wait_connected(&s, &admin, &id, &node).await;
    assert!(node.log().contains("reconnecting"), "{}", node.log());
}
