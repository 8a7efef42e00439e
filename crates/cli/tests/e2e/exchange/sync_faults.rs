//! Fault tests of table sync (issue: "exactly-once effect"): a subscription of a 100,000-row table while a
//! writer updates, inserts and deletes rows, and the platform and both nodes are killed with SIGKILL at random
//! moments (or their connections cut by a loopback proxy), then restarted; afterwards the target must equal the
//! source exactly. Repeated over seeds (`SHUQIAO_FAULT_SEEDS`, default `1,2,3,4,5`, two on the PostgreSQL store;
//! `SHUQIAO_FAULT_ROWS`, default 100000). The nodes reach the platform through the proxy, which also follows the platform to its new port
//! after a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, Executor, Row};
use tokio::net::{TcpListener, TcpStream};

use super::{NodeProcess, X, start_node, wait_connected};
use crate::harness::{Backend, fresh_pg_database};

const PLATFORM_ARGS: [&str; 6] =
    ["--sync-poll-ms", "100", "--sync-full-pass-seconds", "5", "--sync-batch-rows", "5000"];

/// A TCP proxy on loopback: forwards to the platform's current address; can cut every connection at once.
struct Proxy {
    port: u16,
    upstream: Arc<Mutex<String>>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = Arc::new(Mutex::new(upstream.to_owned()));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (up, cs) = (upstream.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = up.lock().unwrap().clone();
                let h = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut all = cs.lock().unwrap();
                all.retain(|h| !h.is_finished());
                all.push(h);
            }
        });
        Proxy { port, upstream, conns, accept }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn follow(&self, base: &str) {
        *self.upstream.lock().unwrap() = base.trim_start_matches("http://").to_owned();
    }

    /// Drops every open connection (both directions, mid-frame if a frame is in flight).
    fn cut(&self) {
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// xorshift64*: the schedule of a seed, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn key(n: u64) -> String {
    format!("{n:018}")
}

type Row5 = (String, Option<String>, Option<String>, Option<String>, Option<String>);

async fn rows_of(url: &str, table: &str, key_col: &str, cols: [&str; 4]) -> Option<Vec<Row5>> {
    let mut c = sqlx::AnyConnection::connect(url).await.ok()?;
    let sql = format!(
        "SELECT \"{key_col}\", \"{}\", \"{}\", \"{}\", \"{}\" FROM {table} ORDER BY 1",
        cols[0], cols[1], cols[2], cols[3]
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut c).await.ok()?;
    let _ = c.close().await;
    Some(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect())
}

async fn source_rows(url: &str) -> Vec<Row5> {
    rows_of(url, "people", "sfzh", ["xm", "lxdh", "hjdz", "hyzk"]).await.expect("source rows")
}

async fn target_rows(url: &str, table: &str) -> Option<Vec<Row5>> {
    rows_of(url, table, "公民身份号码", ["姓名", "联系电话", "户籍地址", "婚姻状况"]).await
}

/// The source's writer: updates, inserts and deletes with an increasing version, until stopped.
struct Writer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u64, u64)>,
}

fn start_writer(url: String, seed: u64, first_new: u64, ver: u64) -> Writer {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
        let keys: Vec<String> =
            sqlx::query("SELECT sfzh FROM people").fetch_all(&mut c).await.unwrap().iter().map(|r| r.get(0)).collect();
        let mut keys = keys;
        let mut rng = Rng(seed.wrapping_mul(7919) | 1);
        let (mut next_new, mut ver) = (first_new, ver);
        while !flag.load(Ordering::Relaxed) {
            ver += 1;
            let op = rng.below(4);
            if op < 2 && !keys.is_empty() {
                let k = &keys[rng.below(keys.len() as u64) as usize];
                sqlx::query("UPDATE people SET xm = $1, lxdh = NULL, ver = $2 WHERE sfzh = $3")
                    .bind(format!("更新{ver}"))
                    .bind(i64::try_from(ver).unwrap())
                    .bind(k)
                    .execute(&mut c)
                    .await
                    .unwrap();
            } else if op == 2 || keys.is_empty() {
                let k = key(next_new);
                next_new += 1;
                sqlx::query("INSERT INTO people VALUES ($1, $2, '13900000000', '新增地址', '未婚', $3)")
                    .bind(&k)
                    .bind(format!("新增{ver}"))
                    .bind(i64::try_from(ver).unwrap())
                    .execute(&mut c)
                    .await
                    .unwrap();
                keys.push(k);
            } else {
                let i = rng.below(keys.len() as u64) as usize;
                let k = keys.swap_remove(i);
                sqlx::query("DELETE FROM people WHERE sfzh = $1").bind(&k).execute(&mut c).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(8)).await;
        }
        c.close().await.unwrap();
        (next_new, ver)
    });
    Writer { stop, task }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Faults {
    /// SIGKILL the platform or a node, then restart it.
    Kill,
    /// Cut every connection between the nodes and the platform.
    Cut,
}

/// `data`: where the provider's table and the consumer's target live (SQLite files, or PostgreSQL databases —
/// where the first pass reads in `ctid` order and the writer's updates move rows within and across its pages).
async fn sync_under_faults(faults: Faults, backend: Backend, data: Backend, default_seeds: &str) {
    let seeds: Vec<u64> = std::env::var("SHUQIAO_FAULT_SEEDS")
        .unwrap_or_else(|_| default_seeds.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rows: u64 = std::env::var("SHUQIAO_FAULT_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mut x = X::with_args(backend, &PLATFORM_ARGS).await;
    let dir = tempfile::tempdir().unwrap();
    let code = x.entry(&["sync"]).await;

    // The provider's table: text keys, an increasing version as change column.
    sqlx::any::install_default_drivers();
    let src_path = dir.path().join("source.db");
    let (src, src_node) = match data {
        Backend::Sqlite => {
            (format!("sqlite://{}?mode=rwc", src_path.display()), format!("sqlite://{}", src_path.display()))
        }
        Backend::Postgres => {
            let url = fresh_pg_database().await;
            (url.clone(), url)
        }
    };
    {
        let mut c = sqlx::AnyConnection::connect(&src).await.unwrap();
        if data == Backend::Sqlite {
            c.execute("PRAGMA journal_mode = WAL").await.unwrap();
        }
        c.execute(
            "CREATE TABLE people (sfzh TEXT PRIMARY KEY, xm TEXT, lxdh TEXT, hjdz TEXT, hyzk TEXT, ver BIGINT NOT NULL)",
        )
        .await
        .unwrap();
        c.execute("CREATE INDEX people_ver ON people (ver, sfzh)").await.unwrap();
        let mut tx = c.begin().await.unwrap();
        if data == Backend::Postgres {
            // The same rows as row by row below, in one statement.
            sqlx::query(
                "INSERT INTO people SELECT lpad(CAST(n AS text), 18, '0'), '姓名' || n, \
                 '139' || lpad(CAST(n % 100000000 AS text), 8, '0'), '河北省石家庄市长安区' || n || '号', '已婚', 0 \
                 FROM generate_series(0, $1 - 1) AS n",
            )
            .bind(i64::try_from(rows).unwrap())
            .execute(&mut *tx)
            .await
            .unwrap();
        } else {
            for n in 0..rows {
                sqlx::query("INSERT INTO people VALUES ($1, $2, $3, $4, '已婚', 0)")
                    .bind(key(n))
                    .bind(format!("姓名{n}"))
                    .bind(format!("139{:08}", n % 100_000_000))
                    .bind(format!("河北省石家庄市长安区{n}号"))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
        c.close().await.unwrap();
    }
    let dst_path = dir.path().join("target.db");
    let dst = match data {
        Backend::Sqlite => format!("sqlite://{}", dst_path.display()),
        Backend::Postgres => fresh_pg_database().await,
    };

    let proxy = Proxy::start(x.s.base.trim_start_matches("http://")).await;
    let (gat_node, gat_key) = x.node("gat_admin", dir.path(), "gat-people").await;
    let (scjg_node, scjg_key) = x.node("scjg_admin", dir.path(), "scjg-front").await;
    let gat_cfg = dir.path().join("gat.toml");
    std::fs::write(
        &gat_cfg,
        format!(
            "platform = \"{}\"\nkey_file = \"{}\"\nnode_id = \"{gat_node}\"\nmax_sync_rows = 5000\n\n[[source]]\nname = \"people\"\nurl = \"{src_node}\"\n",
            proxy.url(),
            gat_key.display(),
        ),
    )
    .unwrap();
    let scjg_cfg = dir.path().join("scjg.toml");
    std::fs::write(
        &scjg_cfg,
        format!(
            "platform = \"{}\"\nkey_file = \"{}\"\nnode_id = \"{scjg_node}\"\n\n[target]\nurl = \"{dst}\"\n",
            proxy.url(),
            scjg_key.display(),
        ),
    )
    .unwrap();
    let mut provider: Option<NodeProcess> = Some(start_node(&gat_cfg));
    let mut consumer: Option<NodeProcess> = Some(start_node(&scjg_cfg));
    wait_connected(&x, &gat_node, true).await;

    let mount_path = format!("catalog/{code}/mount");
    let mount = json!({
        "kind": "table", "node": gat_node, "source": {"name": "people", "table": "people"},
        "key_columns": ["sfzh"], "change_column": "ver",
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "联系电话": "lxdh", "户籍地址": "hjdz", "婚姻状况": "hyzk"}
    });
    let (st, m) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (_, check) = x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await;
    assert_eq!(check["ok"], true, "{check}");
    let grant =
        x.grant(&code, &["公民身份号码", "姓名", "联系电话", "户籍地址", "婚姻状况"], &["sync"], json!({})).await;
    let gid = grant["id"].as_str().unwrap().to_owned();

    let (mut next_new, mut ver) = (rows, 0u64);
    for seed in seeds {
        let started = Instant::now();
        let table = format!("copy_{seed}");
        let (st, sub) =
            x.post("scjg_user", "subscriptions", json!({"grant": gid, "node": scjg_node, "target_table": table})).await;
        assert_eq!(st, StatusCode::CREATED, "{sub}");
        let id = sub["id"].as_str().unwrap().to_owned();
        let writer = start_writer(src.clone(), seed, next_new, ver);
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut schedule = Vec::new();
        // Each of the three is killed at least once per seed, in an order of the seed's choosing.
        let first = rng.below(3);
        for i in 0..6u64 {
            tokio::time::sleep(Duration::from_millis(300 + rng.below(2200))).await;
            match faults {
                Faults::Cut => {
                    schedule.push("cut".to_owned());
                    proxy.cut();
                }
                Faults::Kill => {
                    let victim = if i < 3 { (first + i) % 3 } else { rng.below(3) };
                    let down = Duration::from_millis(rng.below(800));
                    match victim {
                        0 => {
                            schedule.push(format!("platform+{}ms", down.as_millis()));
                            x.0.s.kill();
                            proxy.cut();
                            tokio::time::sleep(down).await;
                            x.0.s.restart("demo", &PLATFORM_ARGS).await;
                            proxy.follow(&x.s.base);
                        }
                        1 => {
                            schedule.push(format!("provider+{}ms", down.as_millis()));
                            drop(provider.take());
                            tokio::time::sleep(down).await;
                            provider = Some(start_node(&gat_cfg));
                        }
                        _ => {
                            schedule.push(format!("consumer+{}ms", down.as_millis()));
                            drop(consumer.take());
                            tokio::time::sleep(down).await;
                            consumer = Some(start_node(&scjg_cfg));
                        }
                    }
                }
            }
        }
        writer.stop.store(true, Ordering::Relaxed);
        (next_new, ver) = writer.task.await.unwrap();

        // Quiet now: the target must come to equal the source exactly.
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let want = source_rows(&src).await;
            let got = target_rows(&dst, &table).await;
            if got.as_ref() == Some(&want) {
                eprintln!(
                    "seed {seed} ({faults:?}: {}): {} rows equal after {:.1} s",
                    schedule.join(", "),
                    want.len(),
                    started.elapsed().as_secs_f64()
                );
                break;
            }
            if Instant::now() > deadline {
                let (_, s) = x.get("scjg_user", &format!("subscriptions/{id}")).await;
                let got = got.unwrap_or_default();
                let missing = want.iter().filter(|r| got.binary_search(r).is_err()).take(5).collect::<Vec<_>>();
                let extra = got.iter().filter(|r| want.binary_search(r).is_err()).take(5).collect::<Vec<_>>();
                panic!(
                    "seed {seed} ({}): target has {} rows, source {}; missing/different {missing:?}; extra {extra:?}; subscription {s}",
                    schedule.join(", "),
                    got.len(),
                    want.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let (st, _) = x.post("scjg_user", &format!("subscriptions/{id}/cancel"), json!({})).await;
        assert_eq!(st, StatusCode::OK);
    }
    drop(provider);
    drop(consumer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_survives_sigkill_of_platform_and_nodes() {
    sync_under_faults(Faults::Kill, Backend::Sqlite, Backend::Sqlite, "1,2,3,4,5").await;
}

/// The same with the platform's store on PostgreSQL (where the two halves of a worker write concurrently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_survives_sigkill_with_the_platform_on_postgres() {
    sync_under_faults(Faults::Kill, Backend::Postgres, Backend::Sqlite, "11,12").await;
}

/// The same with the provider's table and the consumer's target on PostgreSQL: the first pass reads in `ctid`
/// order while the writer's updates move rows (a page may meet a row twice, or miss it until the changes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_survives_sigkill_with_postgres_tables() {
    sync_under_faults(Faults::Kill, Backend::Sqlite, Backend::Postgres, "21,22").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_survives_connection_cuts() {
    sync_under_faults(Faults::Cut, Backend::Sqlite, Backend::Sqlite, "1,2,3,4,5").await;
}
