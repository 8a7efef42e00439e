//! Audit benchmark (run by hand, see bench/README.md): appends through the real group-commit write path from many
//! concurrent tasks, then verifies the whole chain; as the baseline, the same rows inserted with plain multi-row
//! INSERTs (no hashing, no chaining) into a scratch table of the same store.
//!
//! `cargo run --release -p shuqiao-app --example audit_bench -- [EVENTS] [CONCURRENCY] [DATABASE_URL]`

use std::time::Instant;

use shuqiao_app::audit::{Actor, AuditEvent};
use shuqiao_app::{Config, Platform};

/// CPU seconds (user + system, all threads) this process has used so far, from `/proc/self/stat` (0 elsewhere):
/// on a machine shared with other work the wall-clock rate says as much about the others as about this code.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which is in parentheses and may contain spaces): utime and stime are the
    // 12th and 13th, in clock ticks of 1/100 s.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let events: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(256);
    let dir = tempfile::tempdir()?;
    let mut config = Config::new(dir.path().to_path_buf());
    config.database_url = args.get(3).cloned();
    let p = Platform::open(config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let backend = format!("{:?}", p.store.backend());

    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let per_task = events / concurrency;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let w = p.audit_writer.clone();
        tasks.push(tokio::spawn(async move {
            let actor = Actor { id: format!("client-{t}"), name: "bench".into(), department: Some("dept".into()) };
            for i in 0..per_task {
                let ev = AuditEvent::new("data.query", format!("grant:{t}"))
                    .resource("101001/000001")
                    .purpose("行政依据")
                    .case_ref(Some(format!("BJ-{t}-{i}")))
                    .subjects(vec![format!("{:064x}", i)])
                    .detail(serde_json::json!({"records": 1, "items": ["姓名", "公民身份号码"]}));
                w.append(actor.clone(), ev).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let appended = per_task * concurrency;
    let append_secs = start.elapsed().as_secs_f64();
    let append_cpu = cpu_seconds() - cpu0;

    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let report = shuqiao_app::audit::verify(&p).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let verify_secs = start.elapsed().as_secs_f64();
    let verify_cpu = cpu_seconds() - cpu0;
    anyhow::ensure!(report.ok, "chain does not verify: {report:?}");

    // Baseline: the same number of rows, plain INSERTs in batches of 2,000 per transaction, no hashing.
    {
        let mut tx = p.store.begin().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        sqlx::query("CREATE TABLE bench_plain AS SELECT * FROM audit_events WHERE 1 = 0").execute(&mut *tx).await?;
        shuqiao_store::commit(tx).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let start = Instant::now();
    let mut seq = 0i64;
    while (seq as usize) < appended {
        let mut tx = p.store.begin().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        for _ in 0..4 {
            let mut sql = String::from(
                "INSERT INTO bench_plain (seq, at, actor, actor_name, action, object, subjects, result, detail, prev_hash, hash) VALUES ",
            );
            let mut first = true;
            for _ in 0..500 {
                seq += 1;
                if !first {
                    sql.push(',');
                }
                first = false;
                sql.push_str(&format!(
                    "({seq}, '2026-11-22T00:00:00.000000Z', 'client', 'bench', 'data.query', 'grant:1', '[\"{seq:064x}\"]', 'ok', '{{\"records\":1}}', '{h}', '{h}')",
                    h = "0".repeat(64)
                ));
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        shuqiao_store::commit(tx).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let plain_secs = start.elapsed().as_secs_f64();

    println!("backend                     {backend}");
    println!("events appended             {appended} from {concurrency} concurrent tasks");
    println!(
        "append (hash chain, group)  {:>10.0} events/s  ({append_secs:.2} s; {append_cpu:.2} s CPU of this process)",
        appended as f64 / append_secs
    );
    println!("baseline plain INSERT       {:>10.0} rows/s    ({plain_secs:.2} s)", seq as f64 / plain_secs);
    println!("ratio append / baseline     {:>10.2}", (appended as f64 / append_secs) / (seq as f64 / plain_secs));
    println!(
        "verify                      {:>10.0} events/s  ({verify_secs:.2} s, {} events; {verify_cpu:.2} s CPU)",
        report.events as f64 / verify_secs,
        report.events
    );
    p.store.close().await;
    Ok(())
}
