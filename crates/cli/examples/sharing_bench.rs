//! Sharing round-trip benchmark (run by bench/sharing.sh against a running `shuqiao demo`): CONCURRENCY clients
//! each submit an application for a conditional entry and have the provider's reviewer approve it, for SECONDS;
//! reports p50/p99 of the submit → approve round trip. The baseline, in the same run and at the same
//! concurrency, is two `GET /healthz` calls per iteration (the HTTP floor of two requests).
//!
//! `sharing_bench BASE_URL [CONCURRENCY] [SECONDS]`

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The load generator shares the machine's two cores with the server: jemalloc, as the server, and each request
/// as cheap as it can be (the body encoded once, only the id read from the submit's answer).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What the round trip reads of the submit's answer.
#[derive(serde::Deserialize)]
struct Created {
    id: String,
}

async fn login(http: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let v: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": "Demo@2026"}))
        .send()
        .await?
        .json()
        .await?;
    v["token"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("login {user}: {v}"))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `f` in a loop on `concurrency` tasks for `seconds`; each call returns the durations of its steps. Answers
/// the sorted durations of the whole calls and, per step, of the steps.
async fn run<F, Fut>(concurrency: usize, seconds: u64, f: F) -> anyhow::Result<(Vec<Duration>, Vec<Vec<Duration>>)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Vec<Duration>>> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut steps) = (Vec::new(), Vec::<Vec<Duration>>::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                let each = f().await?;
                lat.push(t.elapsed());
                for (i, d) in each.into_iter().enumerate() {
                    if steps.len() <= i {
                        steps.push(Vec::new());
                    }
                    steps[i].push(d);
                }
            }
            Ok::<_, anyhow::Error>((lat, steps))
        }));
    }
    let (mut all, mut all_steps) = (Vec::new(), Vec::<Vec<Duration>>::new());
    for t in tasks {
        let (lat, steps) = t.await??;
        all.extend(lat);
        for (i, s) in steps.into_iter().enumerate() {
            if all_steps.len() <= i {
                all_steps.push(Vec::new());
            }
            all_steps[i].extend(s);
        }
    }
    all.sort();
    for s in &mut all_steps {
        s.sort();
    }
    Ok((all, all_steps))
}

fn report(name: &str, lat: &[Duration], seconds: u64) {
    println!(
        "{name:<32} {:>8} round trips  {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
        lat.len(),
        lat.len() as f64 / seconds as f64,
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        percentile(lat, 1.0)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).cloned().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build()?;
    let consumer = login(&http, &base, "scjg_user").await?;
    let reviewer = login(&http, &base, "gat_review").await?;
    let me: Value = http.get(format!("{base}/api/v1/me")).bearer_auth(&reviewer).send().await?.json().await?;
    let provider = me["department"]["id"].as_str().unwrap_or_default().to_owned();
    let list: Value = http
        .get(format!(
            "{base}/api/v1/catalog?provider={provider}&share_type=conditional&status=published&class=3&limit=50"
        ))
        .bearer_auth(&consumer)
        .send()
        .await?
        .json()
        .await?;
    // An entry whose items are all shareable (no item-level not_shared).
    let entry = list["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|e| e["items"].as_array().is_some_and(|its| its.iter().all(|i| i["share_type"] != "not_shared")))
        })
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no conditional entry of the provider: {list}"))?;
    let code = entry["code"].as_str().unwrap_or_default().to_owned();
    let items: Vec<Value> =
        entry["items"].as_array().into_iter().flatten().take(3).map(|i| i["name"].clone()).collect();
    let modes = entry["share"]["modes"].clone();
    let valid_until = (time::OffsetDateTime::now_utc() + time::Duration::days(180)).date().to_string();
    println!("entry {code}, {} items, {concurrency} concurrent clients, {seconds} s each run", items.len());

    let application = json!({
        "resource": code,
        "items": items,
        "purpose": {"kind": "administrative_basis", "text": "压力测试：行政审批核验"},
        "basis": "《优化营商环境条例》第三十五条",
        "modes": [modes[0].clone()],
        "valid_until": valid_until,
    });
    let body = serde_json::to_vec(&application)?;
    let submit_url = reqwest::Url::parse(&format!("{base}/api/v1/applications"))?;
    let (h, b, c, r) = (http.clone(), base.clone(), consumer.clone(), reviewer.clone());
    let round_trip = move || {
        let (h, b, c, r, body, submit_url) =
            (h.clone(), b.clone(), c.clone(), r.clone(), body.clone(), submit_url.clone());
        async move {
            let t = Instant::now();
            let resp = h
                .post(submit_url)
                .bearer_auth(&c)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await?;
            anyhow::ensure!(resp.status() == 201, "submit: {}", resp.text().await?);
            let app: Created = resp.json().await?;
            let submitted = t.elapsed();
            let t = Instant::now();
            let resp = h
                .post(format!("{b}/api/v1/applications/{}/approve", app.id))
                .bearer_auth(&r)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body("{}")
                .send()
                .await?;
            anyhow::ensure!(resp.status() == 200, "approve: {}", resp.text().await?);
            resp.bytes().await?;
            Ok(vec![submitted, t.elapsed()])
        }
    };
    let (h, b) = (http.clone(), base.clone());
    let floor = move || {
        let (h, b) = (h.clone(), b.clone());
        async move {
            let mut steps = Vec::new();
            for _ in 0..2 {
                let t = Instant::now();
                let resp = h.get(format!("{b}/healthz")).send().await?;
                anyhow::ensure!(resp.status() == 200);
                resp.bytes().await?;
                steps.push(t.elapsed());
            }
            Ok(steps)
        }
    };
    let (base_lat, _) = run(concurrency, seconds, floor).await?;
    let (lat, steps) = run(concurrency, seconds, round_trip).await?;
    report("baseline 2 × GET /healthz", &base_lat, seconds);
    report("submit → approve", &lat, seconds);
    for (name, s) in ["  of which POST /applications", "  of which POST …/approve"].iter().zip(&steps) {
        report(name, s, seconds);
    }
    Ok(())
}
