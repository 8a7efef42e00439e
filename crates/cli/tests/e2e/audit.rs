//! The audit chain end to end: events for logins and catalog changes, visibility, and tampering with the store
//! directly (edit, delete, reorder, insert, truncate) detected by `shuqiao audit verify` at the right event.

use std::process::Command;

use serde_json::json;
use sqlx::{Connection, Executor};

use crate::harness::{Backend, Server, bin, entry_json};
use crate::on_both;

async fn exec(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.expect("connect");
    c.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.expect("tamper");
    c.close().await.expect("close");
}

/// A copy of the stopped platform's store to tamper with: (data dir, database URL or None, SQL URL).
async fn copy_store(data: &std::path::Path, database: &Option<String>) -> (tempfile::TempDir, Option<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(data).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() {
            std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
        }
    }
    match database {
        None => {
            let url = format!("sqlite://{}", dir.path().join("shuqiao.db").display());
            (dir, None, url)
        }
        Some(src) => {
            let src_name = src.rsplit('/').next().unwrap().to_owned();
            let copy = crate::harness::fresh_pg_name();
            let admin = format!("{}/postgres", crate::harness::pg_base());
            exec(&admin, &format!("CREATE DATABASE {copy} TEMPLATE {src_name}")).await;
            let url = format!("{}/{copy}", crate::harness::pg_base());
            (dir, Some(url.clone()), url)
        }
    }
}

fn verify(data: &std::path::Path, database: &Option<String>) -> (bool, serde_json::Value, String) {
    let mut cmd = Command::new(bin());
    cmd.args(["audit", "verify", "--json", "--data"]).arg(data);
    if let Some(db) = database {
        cmd.arg("--database").arg(db);
    }
    let out = cmd.output().expect("run audit verify");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.success(), report, String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn chain_detects_tampering(b: Backend) {
    let s = Server::demo(b).await;
    let cat = s.login("gat_catalog").await;
    let auth = s.login("authority").await;
    let _ = s.login("scjg_user").await;
    for i in 0..3 {
        let (st, e) = s.post("catalog", &cat, entry_json("301001", &format!("审计测试资源{i}"))).await;
        assert_eq!(st, 201, "{e}");
        let code = e["code"].as_str().unwrap().to_owned();
        let (st, _) = s.post(&format!("catalog/{code}/submit"), &cat, json!({})).await;
        assert_eq!(st, 200);
        let (st, _) = s.post(&format!("catalog/{code}/publish"), &auth, json!({})).await;
        assert_eq!(st, 200);
    }
    let auditor = s.login("auditor").await;
    let (st, v) = s.get("audit/verify", &auditor).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    let total = v["events"].as_u64().unwrap();
    assert!(total >= 14, "login, create, submit, publish events: {v}");
    let (data, database, status) = s.stop();
    assert!(status.success());

    let (ok, report, err) = verify(data.path(), &database);
    assert!(ok, "intact chain must verify: {report} {err}");
    assert_eq!(report["events"].as_u64().unwrap(), total, "{report}");
    assert!(report["checkpoints"].as_u64().unwrap() >= 1, "a clean stop signs the head: {report}");
    let last = report["events"].as_i64().unwrap();

    // 1. An edited event.
    let (d, db, url) = copy_store(data.path(), &database).await;
    exec(&url, "UPDATE audit_events SET detail = '{\"name\":\"伪造\"}' WHERE seq = 5").await;
    let (ok, r, err) = verify(d.path(), &db);
    assert!(!ok && r["first_bad"] == 5, "edit at 5: {r} {err}");
    assert!(err.contains("5"), "the CLI says where: {err}");

    // 2. A deleted event.
    let (d, db, url) = copy_store(data.path(), &database).await;
    exec(&url, "DELETE FROM audit_events WHERE seq = 7").await;
    let (ok, r, _) = verify(d.path(), &db);
    assert!(!ok && r["first_bad"] == 7, "delete at 7: {r}");

    // 3. Two events swapped (reordered).
    let (d, db, url) = copy_store(data.path(), &database).await;
    exec(&url, "UPDATE audit_events SET seq = -1 WHERE seq = 8").await;
    exec(&url, "UPDATE audit_events SET seq = 8 WHERE seq = 9").await;
    exec(&url, "UPDATE audit_events SET seq = 9 WHERE seq = -1").await;
    let (ok, r, _) = verify(d.path(), &db);
    assert!(!ok && r["first_bad"] == 8, "reorder at 8: {r}");

    // 4. An inserted event (later events renumbered to make room).
    let (d, db, url) = copy_store(data.path(), &database).await;
    exec(&url, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 4").await;
    exec(&url, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1004").await;
    exec(
        &url,
        "INSERT INTO audit_events (seq, at, actor, actor_name, actor_department, department, action, object, resource, \
         purpose, case_ref, subjects, result, detail, prev_hash, hash) SELECT 4, at, actor, actor_name, actor_department, \
         department, 'catalog.publish', object, resource, purpose, case_ref, subjects, result, detail, hash, hash \
         FROM audit_events WHERE seq = 3",
    )
    .await;
    let (ok, r, _) = verify(d.path(), &db);
    assert!(!ok && r["first_bad"] == 4, "insert at 4: {r}");

    // 5. The tail truncated and the head row rewritten to match: the signed checkpoint still catches it.
    let (d, db, url) = copy_store(data.path(), &database).await;
    exec(&url, &format!("DELETE FROM audit_events WHERE seq = {last}")).await;
    exec(
        &url,
        &format!(
            "UPDATE audit_head SET seq = {}, hash = (SELECT hash FROM audit_events WHERE seq = {})",
            last - 1,
            last - 1
        ),
    )
    .await;
    let (ok, r, _) = verify(d.path(), &db);
    assert!(!ok && r["first_bad"] == last, "truncation at {last}: {r}");

    // 6. A forged checkpoint signature.
    let (d, db, url) = copy_store(data.path(), &database).await;
    exec(&url, "UPDATE audit_checkpoints SET signature = replace(signature, substr(signature, 1, 2), 'ff')").await;
    exec(&url, "UPDATE audit_checkpoints SET signature = '00' || substr(signature, 3)").await;
    let (ok, r, _) = verify(d.path(), &db);
    assert!(!ok, "forged signature: {r}");

    // 7. An event's stored hash rewritten in capitals (the same digest, other text) is an alteration too.
    let (d, db, url) = copy_store(data.path(), &database).await;
    exec(&url, "UPDATE audit_events SET hash = upper(hash) WHERE seq = 6").await;
    let (ok, r, _) = verify(d.path(), &db);
    assert!(!ok && r["first_bad"] == 6, "hash text changed at 6: {r}");

    // The untouched original still verifies.
    let (ok, _, _) = verify(data.path(), &database);
    assert!(ok);
}
on_both!(chain_detects_tampering, chain_detects_tampering);

async fn audit_visibility(b: Backend) {
    let s = Server::demo(b).await;
    let user = s.login("gat_user").await;
    let cat = s.login("scjg_catalog").await;
    let (st, _) = s.post("catalog", &cat, entry_json("301001", "可见性测试资源")).await;
    assert_eq!(st, 201);
    let (_, me) = s.get("me", &user).await;
    let own = me["department"]["id"].as_str().unwrap().to_owned();

    let auditor = s.login("auditor").await;
    let (st, all) = s.get("audit/events?limit=500", &auditor).await;
    assert_eq!(st, 200, "{all}");
    let actions: Vec<&str> = all["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"auth.login") && actions.contains(&"catalog.create") && actions.contains(&"demo.seed"));

    // A department sees only events by or about itself.
    let (st, mine) = s.get("audit/events?limit=500", &user).await;
    assert_eq!(st, 200);
    let items = mine["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for e in items {
        assert!(
            e["actor_department"] == own.as_str() || e["department"] == own.as_str(),
            "another department's event leaked: {e}"
        );
    }
    assert!(!items.iter().any(|e| e["action"] == "catalog.create"), "scjg's draft is not gat's business");
    let (st, _) = s.get(&format!("audit/events?department={}", "someone-else"), &user).await;
    assert_eq!(st, 403);
    let (st, _) = s.get("audit/verify", &user).await;
    assert_eq!(st, 403);

    // Administrators cannot read the log (separation of duties).
    let admin = s.login("admin").await;
    let (st, body) = s.get("audit/events", &admin).await;
    assert_eq!(st, 403, "{body}");
    let (st, _) = s.get("audit/verify", &admin).await;
    assert_eq!(st, 403);

    // Failed logins are recorded as refused.
    let (st, _) = s
        .call(reqwest::Method::POST, "auth/login", None, Some(json!({"username": "gat_user", "password": "wrong"})))
        .await;
    assert_eq!(st, 401);
    let (_, all) = s.get("audit/events?action=auth.login&limit=10", &auditor).await;
    assert_eq!(all["items"][0]["result"], "refused", "{all}");
    // Paging newest first with a cursor.
    let (_, p1) = s.get("audit/events?limit=3", &auditor).await;
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = s.get(&format!("audit/events?limit=3&cursor={cursor}"), &auditor).await;
    let s1 = p1["items"][2]["seq"].as_i64().unwrap();
    let s2 = p2["items"][0]["seq"].as_i64().unwrap();
    assert_eq!(s2, s1 - 1);
}
on_both!(audit_visibility, audit_visibility);
