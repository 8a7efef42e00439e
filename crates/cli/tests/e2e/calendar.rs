//! Rules and calendar (SPEC §1, API.md "Rules and calendar"): working-day deadlines from data/cn-holidays.tsv,
//! the active rule set, `serve --rules`, and `shuqiao rules check`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::catalog::fields;
use crate::harness::{ADMIN_PASSWORD, Backend, Server, bin, fresh_pg_database};
use crate::on_both;

async fn deadline(s: &Server, query: &str) -> (StatusCode, Value) {
    s.call(reqwest::Method::GET, &format!("calendar/deadline?{query}"), None, None).await
}

async fn deadlines(b: Backend) {
    let s = Server::empty(b).await;
    // (from, working days, deadline, covered), computed by hand from data/cn-holidays.tsv.
    let cases = [
        // Spring Festival 2025: 01-28..02-04 off (01-26 Sunday and 02-08 Saturday are working days).
        ("2025-01-27", 1, "2025-02-05", true),
        ("2025-01-24", 1, "2025-01-26", true),
        ("2025-02-05", 3, "2025-02-08", true),
        // National Day 2026: 10-01..10-07 off; 10-08 (Thursday) is the first working day after;
        // 10-10 is a make-up working Saturday.
        ("2026-09-30", 1, "2026-10-08", true),
        ("2026-09-30", 2, "2026-10-09", true),
        ("2026-09-30", 3, "2026-10-10", true),
        ("2026-09-30", 4, "2026-10-12", true),
        // Plain weeks; from itself never counts; 0 gives from.
        ("2025-03-07", 1, "2025-03-10", true),
        ("2025-03-03", 10, "2025-03-17", true),
        ("2025-03-08", 0, "2025-03-08", true),
        // Years the calendar does not cover: weekends only, flagged.
        ("2027-03-01", 1, "2027-03-02", false),
        ("2027-03-05", 1, "2027-03-08", false),
        ("2026-12-30", 5, "2027-01-06", false),
    ];
    for (from, n, want, covered) in cases {
        let (st, body) = deadline(&s, &format!("from={from}&working_days={n}")).await;
        assert_eq!(st, StatusCode::OK, "{from}+{n}: {body}");
        assert_eq!(body["deadline"], want, "{from}+{n}: {body}");
        assert_eq!(body["covered"], covered, "{from}+{n}: {body}");
    }
    // 10 working days of an application filed just before the 2025 Spring Festival.
    let (_, body) = deadline(&s, "from=2025-01-24&working_days=10").await;
    assert_eq!(body["deadline"], "2025-02-13", "{body}");
    assert_eq!(body["covered"], true);

    // Bad input → 422 naming the field(s).
    for (q, want) in [
        ("from=2025-13-01&working_days=1", vec!["from"]),
        ("from=20250101&working_days=1", vec!["from"]),
        ("from=2025-01-01&working_days=-1", vec!["working_days"]),
        ("from=2025-01-01&working_days=abc", vec!["working_days"]),
        ("from=2025-01-01&working_days=100000", vec!["working_days"]),
        ("working_days=1", vec!["from"]),
        ("from=2025-01-01", vec!["working_days"]),
        ("from=x&working_days=y", vec!["from", "working_days"]),
        ("", vec!["from", "working_days"]),
    ] {
        let (st, body) = deadline(&s, q).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {body}");
        let mut got = fields(&body);
        got.sort();
        assert_eq!(got, want, "{q}: {body}");
    }
}
on_both!(deadlines, deadlines);

async fn rules_endpoint(b: Backend) {
    let s = Server::demo(b).await;
    let t = s.login("gat_user").await;
    let (st, body) = s.get("rules", &t).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "national-2025", "{body}");
    assert_eq!(body["deadlines"]["application_answer_working_days"], 10, "{body}");
    assert_eq!(body["deadlines"]["catalog_update_working_days"], 15, "{body}");
    assert_eq!(body["deadlines"]["objection_answer_working_days"], 10, "{body}");
    assert_eq!(body["sharing"]["conditional_requires_legal_basis"], false, "{body}");
    let (st, _) = s.call(reqwest::Method::GET, "rules", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}
on_both!(rules_endpoint, rules_endpoint);

fn national_toml() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/rules/national-2025.toml")).unwrap()
}

fn custom_toml() -> String {
    let text = national_toml();
    assert!(text.contains("application_answer_working_days = 10"));
    assert!(text.contains("conditional_requires_legal_basis = false"));
    text.replace("name = \"national-2025\"", "name = \"hebei-test\"")
        .replace("application_answer_working_days = 10", "application_answer_working_days = 5")
        .replace("conditional_requires_legal_basis = false", "conditional_requires_legal_basis = true")
}

/// A `shuqiao serve --rules FILE` process on port 0.
struct RulesServer {
    child: Child,
    base: String,
}

impl Drop for RulesServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_cmd(data: &std::path::Path, database: Option<&str>, rules: &std::path::Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"]).arg(data).arg("--rules").arg(rules);
    if let Some(db) = database {
        cmd.arg("--database").arg(db);
    }
    cmd.env("SHUQIAO_ADMIN_PASSWORD", ADMIN_PASSWORD).env("SHUQIAO_LOG", "warn").stdin(Stdio::null());
    cmd
}

fn start_with_rules(data: &std::path::Path, database: Option<&str>, rules: &std::path::Path) -> RulesServer {
    let child = serve_cmd(data, database, rules).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    // The guard kills and waits for the process on every path.
    let mut server = RulesServer { child, base: String::new() };
    let stdout = server.child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    server.base = rest.trim().to_owned();
                }
                if line.starts_with("就绪 ready") {
                    assert!(!server.base.is_empty(), "listening line");
                    return server;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!("serve exited early: {status}");
                }
            }
            Err(_) => panic!("serve closed stdout"),
        }
    }
    panic!("serve not ready in time");
}

/// Runs a command to completion (at most 120 s); returns (success, stdout, stderr).
fn run(mut cmd: Command) -> (bool, String, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("command did not exit");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn serve_with_rules(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_pg_database().await),
    };
    let good = dir.path().join("hebei.toml");
    std::fs::write(&good, custom_toml()).unwrap();
    let data = dir.path().join("data");
    {
        let s = start_with_rules(&data, database.as_deref(), &good);
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{}/api/v1/auth/login", s.base))
            .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap();
        let resp = http.get(format!("{}/api/v1/rules", s.base)).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let rules: Value = resp.json().await.unwrap();
        assert_eq!(rules["name"], "hebei-test", "{rules}");
        assert_eq!(rules["deadlines"]["application_answer_working_days"], 5, "{rules}");
        assert_eq!(rules["deadlines"]["catalog_update_working_days"], 15, "{rules}");
        assert_eq!(rules["sharing"]["conditional_requires_legal_basis"], true, "{rules}");
    }

    // A bad rules file: `serve` exits non-zero and says what is wrong.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        national_toml().replace("application_answer_working_days = 10", "application_answer_working_days = 0"),
    )
    .unwrap();
    let (ok, _, stderr) = run(serve_cmd(&data, database.as_deref(), &bad));
    assert!(!ok, "serve must refuse a bad rule set");
    assert!(stderr.contains("application_answer_working_days"), "{stderr}");
    let missing = dir.path().join("does-not-exist.toml");
    let (ok, _, stderr) = run(serve_cmd(&data, database.as_deref(), &missing));
    assert!(!ok);
    assert!(stderr.contains("does-not-exist.toml"), "{stderr}");
}
on_both!(serve_with_rules, serve_with_rules);

#[test]
fn rules_check() {
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str| {
        let f = dir.path().join("r.toml");
        std::fs::write(&f, text).unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(["rules", "check"]).arg(&f);
        run(cmd)
    };
    let (ok, stdout, stderr) = check(&national_toml());
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["name"], "national-2025");
    assert_eq!(v["deadlines"]["application_answer_working_days"], 10);

    let (ok, stdout, stderr) = check(&custom_toml());
    assert!(ok, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["name"], "hebei-test");
    assert_eq!(v["deadlines"]["application_answer_working_days"], 5);

    // Every problem is named.
    let bad = national_toml()
        .replace("application_answer_working_days = 10", "application_answer_working_days = 0")
        .replace("hash = \"sha256\"", "hash = \"md5\"");
    let (ok, stdout, stderr) = check(&bad);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("deadlines.application_answer_working_days"), "{stderr}");
    assert!(stderr.contains("audit.hash"), "{stderr}");
    // An unknown key and a wrong type are refused too.
    let (ok, _, stderr) = check(&format!("{}\nsurprise = 1\n", national_toml()));
    assert!(!ok);
    assert!(stderr.contains("surprise"), "{stderr}");
    let (ok, _, stderr) = check(
        &national_toml().replace("application_answer_working_days = 10", "application_answer_working_days = \"ten\""),
    );
    assert!(!ok);
    assert!(!stderr.trim().is_empty());
    let (ok, _, stderr) = check("");
    assert!(!ok);
    assert!(!stderr.trim().is_empty());
}
