//! Table sync (库表交换) with real processes: the platform, the provider's node over a `residents` table and the
//! consumer's node writing a target database (SQLite files when the platform runs on SQLite, PostgreSQL
//! databases when it runs on PostgreSQL). Covers the full pass, changes, deletes by the periodic full pass,
//! masking and granted items only, pause/resume, grant suspension, recall, provenance, audit, isolation and bad
//! input.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, Row};

use super::{X, id_card, problem, start_node, wait_connected};
use crate::harness::{Backend, fresh_pg_database};
use crate::on_both;

/// (first 17 digits, 姓名, 联系电话, 户籍地址, 婚姻状况).
const PEOPLE: [(&str, &str, &str, &str, &str); 5] = [
    ("13010219800101001", "张三", "13812345678", "河北省石家庄市长安区建设北大街1号", "已婚"),
    ("13010219810202002", "李小明", "13900001111", "河北省石家庄市桥西区自强路2号", "未婚"),
    ("13010219820303003", "欧阳修", "13700002222", "河北省保定市涞水县城关镇3号", "已婚"),
    ("13010219830404004", "王五", "13600003333", "北京市海淀区中关村大街27号", "离婚"),
    ("13010219840505005", "赵六", "13500004444", "河北省石家庄市辛集市幸福路3号", "已婚"),
];

/// A database for a test: (URL to write it here, URL for the node).
async fn database(b: Backend, dir: &Path, file: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    match b {
        Backend::Sqlite => {
            let path = dir.join(file);
            (format!("sqlite://{}?mode=rwc", path.display()), format!("sqlite://{}", path.display()))
        }
        Backend::Postgres => {
            let url = fresh_pg_database().await;
            (url.clone(), url)
        }
    }
}

async fn exec(url: &str, sql: &str) {
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    c.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.unwrap();
    c.close().await.unwrap();
}

/// The target table's rows as (公民身份号码, 姓名, 联系电话, 户籍地址), sorted; `None` while it does not exist.
async fn target_rows(url: &str) -> Option<Vec<(String, String, String, String)>> {
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT CAST(\"公民身份号码\" AS TEXT), CAST(\"姓名\" AS TEXT), CAST(\"联系电话\" AS TEXT), \
         CAST(\"户籍地址\" AS TEXT) FROM residents_copy ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .ok()?;
    let _ = c.close().await;
    Some(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}

/// The target table's column names.
async fn target_columns(b: Backend, url: &str) -> Vec<String> {
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let sql = match b {
        Backend::Sqlite => "SELECT name FROM pragma_table_info('residents_copy') ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'residents_copy' \
             ORDER BY ordinal_position"
        }
    };
    let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

/// What the consumer must have: every source row, 联系电话 masked by `phone` (first 3 and last 4 kept).
fn expected(source: &[(String, String, String, String)]) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = source
        .iter()
        .map(|(id, xm, dh, dz)| {
            (id.clone(), xm.clone(), format!("{}****{}", &dh[..3], &dh[dh.len() - 4..]), dz.clone())
        })
        .collect();
    out.sort();
    out
}

async fn source_rows(url: &str) -> Vec<(String, String, String, String)> {
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows = sqlx::query("SELECT sfzh, xm, lxdh, hjdz FROM residents ORDER BY sfzh").fetch_all(&mut c).await.unwrap();
    c.close().await.unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
}

/// Waits until the target equals the masked source; returns the subscription then.
async fn converge(x: &X, id: &str, src: &str, dst: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let want = expected(&source_rows(src).await);
        let got = target_rows(dst).await;
        if got.as_ref() == Some(&want) {
            let (st, s) = x.get("scjg_user", &format!("subscriptions/{id}")).await;
            assert_eq!(st, StatusCode::OK, "{s}");
            // …and the platform knows it: every published batch applied, no lag.
            if s["checkpoint"] == s["published"] && s["lag"]["rows"] == 0 {
                return s;
            }
        }
        if Instant::now() > deadline {
            let (_, s) = x.get("scjg_user", &format!("subscriptions/{id}")).await;
            panic!("{what}: target {got:?} != {want:?}; subscription {s}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The target stays as it is for `d` (delivery is held).
async fn stays(dst: &str, d: Duration, what: &str) {
    let before = target_rows(dst).await;
    let until = Instant::now() + d;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(target_rows(dst).await, before, "{what}");
    }
}

async fn sync_end_to_end(b: Backend) {
    let x = X::with_args(b, &["--sync-poll-ms", "100", "--sync-full-pass-seconds", "4"]).await;
    let dir = tempfile::tempdir().unwrap();
    let code = x.entry(&["query", "sync"]).await;

    // The provider's table, with an increasing version as its change column.
    let (src, src_node_url) = database(b, dir.path(), "hukou.db").await;
    // On SQLite a table WITHOUT ROWID, which has no storage order to read by (`scan_stored` answers `unsupported`):
    // its first pass goes in key order. PostgreSQL's is read in `ctid` order.
    let without_rowid = if b == Backend::Sqlite { " WITHOUT ROWID" } else { "" };
    exec(&src, &format!("CREATE TABLE residents (sfzh VARCHAR(18) PRIMARY KEY, xm TEXT NOT NULL, lxdh TEXT, hjdz TEXT, hyzk TEXT, ver BIGINT NOT NULL){without_rowid}")).await;
    for (n, (id, xm, dh, dz, hy)) in PEOPLE.iter().enumerate() {
        exec(&src, &format!("INSERT INTO residents VALUES ('{}', '{xm}', '{dh}', '{dz}', '{hy}', {n})", id_card(id)))
            .await;
    }
    let (dst, dst_node_url) = database(b, dir.path(), "copy.db").await;

    let (gat_node, gat_key) = x.node("gat_admin", dir.path(), "gat-hukou").await;
    let (scjg_node, scjg_key) = x.node("scjg_admin", dir.path(), "scjg-front").await;
    let gat_cfg = dir.path().join("gat.toml");
    std::fs::write(
        &gat_cfg,
        format!(
            "platform = \"{}\"\nkey_file = \"{}\"\nnode_id = \"{gat_node}\"\n\n[[source]]\nname = \"hukou\"\nurl = \"{src_node_url}\"\n",
            x.s.base,
            gat_key.display()
        ),
    )
    .unwrap();
    let scjg_cfg = dir.path().join("scjg.toml");
    std::fs::write(
        &scjg_cfg,
        format!(
            "platform = \"{}\"\nkey_file = \"{}\"\nnode_id = \"{scjg_node}\"\n\n[target]\nurl = \"{dst_node_url}\"\n",
            x.s.base,
            scjg_key.display()
        ),
    )
    .unwrap();
    let _provider = start_node(&gat_cfg);
    let _consumer = start_node(&scjg_cfg);
    wait_connected(&x, &gat_node, true).await;

    let mount_path = format!("catalog/{code}/mount");
    let mount = json!({
        "kind": "table", "node": gat_node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"], "change_column": "ver",
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "联系电话": "lxdh", "户籍地址": "hjdz", "婚姻状况": "hyzk"}
    });
    let (st, m) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (st, check) = x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await;
    assert_eq!(check["ok"], true, "{st} {check}");

    // A grant without the sync mode cannot be subscribed.
    let query_only = x.grant(&code, &["公民身份号码", "姓名"], &["query"], json!({})).await;
    let (st, body) = x
        .post(
            "scjg_user",
            "subscriptions",
            json!({"grant": query_only["id"], "node": scjg_node, "target_table": "residents_copy"}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    problem(&body, StatusCode::CONFLICT);
    // A key item masked cannot key a table.
    let masked_key =
        x.grant(&code, &["公民身份号码", "姓名"], &["sync"], json!({"masking": {"公民身份号码": "id_card"}})).await;
    let (st, body) = x
        .post(
            "scjg_user",
            "subscriptions",
            json!({"grant": masked_key["id"], "node": scjg_node, "target_table": "residents_copy"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let grant = x
        .grant(
            &code,
            &["公民身份号码", "姓名", "联系电话", "户籍地址"],
            &["query", "sync"],
            json!({"masking": {"联系电话": "phone"}}),
        )
        .await;
    let gid = grant["id"].as_str().unwrap().to_owned();

    // Bad input: each problem named, nothing created.
    let (st, body) = x
        .post("scjg_user", "subscriptions", json!({"grant": gid, "node": scjg_node, "target_table": "1bad; DROP"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("target_table"), "{body}");
    let (st, body) = x
        .post("scjg_user", "subscriptions", json!({"grant": gid, "node": gat_node, "target_table": "residents_copy"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "another department's node: {body}");
    let (st, body) = x
        .post("gat_user", "subscriptions", json!({"grant": gid, "node": gat_node, "target_table": "residents_copy"}))
        .await;
    assert!(
        st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::FORBIDDEN,
        "another department's grant: {st} {body}"
    );
    let (st, body) = x.post("scjg_user", "subscriptions", json!({"grant": gid, "node": scjg_node, "extra": 1})).await;
    assert!(st.is_client_error(), "{st} {body}");
    let (_, list) = x.get("scjg_user", "subscriptions").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");

    let (st, sub) = x
        .post("scjg_user", "subscriptions", json!({"grant": gid, "node": scjg_node, "target_table": "residents_copy"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sub}");
    let id = sub["id"].as_str().unwrap().to_owned();
    assert_eq!(sub["state"], "active", "{sub}");
    assert_eq!(sub["items"], json!(["公民身份号码", "姓名", "联系电话", "户籍地址"]), "{sub}");
    // One live subscription per target table.
    let (st, body) = x
        .post("scjg_user", "subscriptions", json!({"grant": gid, "node": scjg_node, "target_table": "residents_copy"}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");

    // The full pass: every row, granted items only, masked.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (_, list) = x.get("scjg_admin", "nodes").await;
        if list["items"].as_array().unwrap().iter().any(|n| n["id"] == scjg_node.as_str() && n["connected"] == true) {
            break;
        }
        assert!(Instant::now() < deadline, "the consumer's node did not connect: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let s = converge(&x, &id, &src, &dst, "full pass").await;
    assert!(s["checkpoint"].as_u64().unwrap() >= 1, "{s}");
    let cols = target_columns(b, &dst).await;
    assert_eq!(cols, vec!["公民身份号码", "姓名", "联系电话", "户籍地址"], "granted items only");

    // The console: the consumer sees the subscription, its checkpoint and batches; a third department does not.
    let mut web = crate::console::Browser::new(&x.s);
    web.login("scjg_user").await;
    let list = web.get("/subscriptions").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("residents_copy") && list.body.contains("同步中"), "{}", list.body);
    let page = web.get(&format!("/subscriptions/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("交付批次") && page.body.contains("full") && page.body.contains("公民身份号码"),
        "{}",
        page.body
    );
    let grant_page = web.get(&format!("/grants/{gid}")).await;
    assert!(grant_page.body.contains("action=\"/subscriptions/new\""), "the grant offers a subscription form");
    let token = crate::console::Browser::csrf(&grant_page);
    let bad = web
        .post("/subscriptions/new", &[("_csrf", &token), ("grant", &gid), ("node", &scjg_node), ("target_table", "9x")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("目标表名"), "{}", bad.body);
    let mut third = crate::console::Browser::new(&x.s);
    third.login("rst_user").await;
    assert_eq!(third.get(&format!("/subscriptions/{id}")).await.status, StatusCode::NOT_FOUND);
    assert!(!third.get("/subscriptions").await.body.contains("residents_copy"));

    // Changes: an update and an insert (each with a new version) arrive without a full pass.
    exec(&src, "UPDATE residents SET lxdh = '13811112222', ver = 10 WHERE xm = '张三'").await;
    let new_id = id_card("13010219900909009");
    exec(
        &src,
        &format!(
            "INSERT INTO residents VALUES ('{new_id}', '钱九', '13122223333', '河北省邢台市襄都区1号', '未婚', 11)"
        ),
    )
    .await;
    converge(&x, &id, &src, &dst, "changes").await;
    // A delete: carried by the next full pass (every 4 s here).
    exec(&src, "DELETE FROM residents WHERE xm = '王五'").await;
    let s = converge(&x, &id, &src, &dst, "delete").await;
    assert!(s["full_passes"].as_u64().unwrap() >= 2, "{s}");

    // Provenance and audit: every applied batch has its checksum and times; each was audited before it left.
    let (st, batches) = x.get("scjg_user", &format!("subscriptions/{id}/batches?limit=500")).await;
    assert_eq!(st, StatusCode::OK, "{batches}");
    let batches = batches["items"].as_array().unwrap().clone();
    assert!(
        batches.iter().any(|b| b["kind"] == "full") && batches.iter().any(|b| b["kind"] == "changes"),
        "{batches:?}"
    );
    for bt in &batches {
        assert_eq!(bt["checksum"].as_str().unwrap().len(), 64, "{bt}");
        assert!(bt["read_at"].is_string() && bt["published_at"].is_string(), "{bt}");
    }
    assert!(batches.iter().filter(|b| b["applied_at"].is_string()).count() >= 3, "{batches:?}");
    let events = x.events_of("data.sync").await;
    let first = batches.first().unwrap();
    let ev = events
        .iter()
        .find(|e| e["detail"]["seq"] == first["seq"] && e["object"] == format!("subscription:{id}"))
        .unwrap_or_else(|| panic!("no data.sync event for batch {first} among {events:#?}"));
    assert_eq!(ev["detail"]["checksum"], first["checksum"], "{ev}");
    assert!(!ev["subjects"].as_array().map(Vec::is_empty).unwrap_or(true), "the batch touched ID numbers: {ev}");
    assert!(!ev.to_string().contains(&id_card(PEOPLE[0].0)), "no identifier in the log: {ev}");
    // Who received 张三's record: the subject look-up finds the delivery, through the subject index.
    let (st, acc) = x.get("auditor", &format!("audit/subject?kind=id_card&id={}", id_card(PEOPLE[0].0))).await;
    assert_eq!(st, StatusCode::OK, "{acc}");
    let synced = acc["items"].as_array().unwrap().iter().find(|a| a["action"] == "data.sync").cloned();
    let synced = synced.unwrap_or_else(|| panic!("no data.sync access for the first person: {acc}"));
    assert_eq!(synced["department"], x.dept["scjg"].as_str(), "the consumer received it: {synced}");
    assert_eq!(synced["resource"], code.as_str(), "{synced}");
    assert_eq!(synced["grant"], gid.as_str(), "{synced}");

    // Isolation: a third department sees nothing and changes nothing; the provider sees but cannot pause.
    let rst = x.s.login("rst_user").await;
    let (st, _) = x.s.get(&format!("subscriptions/{id}"), &rst).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = x.s.get(&format!("subscriptions/{id}/batches"), &rst).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = x.s.post(&format!("subscriptions/{id}/pause"), &rst, json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = x.s.get("subscriptions", &rst).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    let (st, _) = x.get("gat_user", &format!("subscriptions/{id}")).await;
    assert_eq!(st, StatusCode::OK, "the provider sees the subscription of its data");
    let (st, _) = x.post("gat_user", &format!("subscriptions/{id}/pause"), json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Pause: nothing is delivered; resume: it is.
    let (st, s) = x.post("scjg_user", &format!("subscriptions/{id}/pause"), json!({})).await;
    assert_eq!((st, s["state"].clone()), (StatusCode::OK, json!("paused")), "{s}");
    let (st, _) = x.post("scjg_user", &format!("subscriptions/{id}/pause"), json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "pausing twice");
    exec(&src, "UPDATE residents SET hjdz = '河北省石家庄市长安区新地址9号', ver = 20 WHERE xm = '李小明'").await;
    stays(&dst, Duration::from_millis(1500), "paused").await;
    let (st, _) = x.post("scjg_user", &format!("subscriptions/{id}/resume"), json!({})).await;
    assert_eq!(st, StatusCode::OK);
    converge(&x, &id, &src, &dst, "resumed").await;

    // The provider suspends the grant: delivery is held at once, and says why; resumed, it catches up.
    let (st, g) = x.post("gat_review", &format!("grants/{gid}/suspend"), json!({"reason": "核查使用情况"})).await;
    assert_eq!(st, StatusCode::OK, "{g}");
    exec(&src, "UPDATE residents SET lxdh = '13899990000', ver = 30 WHERE xm = '欧阳修'").await;
    stays(&dst, Duration::from_millis(1500), "grant suspended").await;
    let (_, s) = x.get("scjg_user", &format!("subscriptions/{id}")).await;
    assert!(s["held"].as_str().unwrap_or_default().contains("suspended"), "{s}");
    let (st, _) = x.post("gat_review", &format!("grants/{gid}/resume"), json!({"reason": "核查完毕"})).await;
    assert_eq!(st, StatusCode::OK);
    let s = converge(&x, &id, &src, &dst, "grant resumed").await;
    assert!(s["held"].is_null(), "{s}");

    // Recall: a row corrected at the source without a new version reaches the consumer when recalled.
    let zhao = id_card(PEOPLE[4].0);
    exec(&src, &format!("UPDATE residents SET xm = '赵六六' WHERE sfzh = '{zhao}'")).await;
    let (st, body) =
        x.post("gat_review", &format!("catalog/{code}/recall"), json!({"keys": [{"姓名": "x"}], "reason": "错"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "keys must name the key items: {body}");
    let (st, body) =
        x.post("gat_review", &format!("catalog/{code}/recall"), json!({"keys": [{"公民身份号码": zhao}]})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "a recall needs its reason: {body}");
    let (st, body) = x
        .post(
            "scjg_user",
            &format!("catalog/{code}/recall"),
            json!({"keys": [{"公民身份号码": zhao}], "reason": "姓名录入错误"}),
        )
        .await;
    assert!(st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND, "only the provider recalls: {st} {body}");
    let (st, r) = x
        .post(
            "gat_review",
            &format!("catalog/{code}/recall"),
            json!({"keys": [{"公民身份号码": zhao}], "reason": "姓名录入错误"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["subscriptions"], json!([id]), "{r}");
    converge(&x, &id, &src, &dst, "recall").await;
    let ev = x.events_of("sync.recall").await;
    assert!(ev.iter().any(|e| e["detail"]["reason"] == "姓名录入错误"), "{ev:#?}");

    // A confirmed objection (校核纠错): the corrected record flows to the subscriber the same way.
    let qian = id_card("13010219900909009");
    let (st, o) = x
        .post(
            "scjg_user",
            "objections",
            json!({"resource": code, "record_key": qian, "item": "户籍地址", "description": "户籍地址与实际不符",
                   "evidence": "现场核查记录"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    exec(&src, &format!("UPDATE residents SET hjdz = '河北省邢台市襄都区更正后2号' WHERE sfzh = '{qian}'")).await;
    let (st, o) = x
        .post(
            "gat_review",
            &format!("objections/{}/confirm", o["id"].as_str().unwrap()),
            json!({"reason": "核实有误", "correction": "户籍地址更正为襄都区2号"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{o}");
    converge(&x, &id, &src, &dst, "objection confirmed").await;
    let (_, batches) = x.get("scjg_user", &format!("subscriptions/{id}/batches?limit=500")).await;
    assert!(batches["items"].as_array().unwrap().iter().any(|b| b["kind"] == "correction"), "{batches}");

    // An item removed from the mount leaves the target.
    let mount = json!({
        "kind": "table", "node": gat_node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"], "change_column": "ver",
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "户籍地址": "hjdz", "婚姻状况": "hyzk"}
    });
    let (st, m) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (st, check) = x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await;
    assert_eq!(check["ok"], true, "{st} {check}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cols = target_columns(b, &dst).await;
        if cols == vec!["公民身份号码", "姓名", "户籍地址"] {
            break;
        }
        assert!(Instant::now() < deadline, "联系电话 still in the target: {cols:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A target table that exists with other columns: the consumer's node refuses the batch; the subscription says
    // why, the failure is audited, nothing is acknowledged.
    exec(&dst, "CREATE TABLE residents_other (id INTEGER PRIMARY KEY, note TEXT)").await;
    let (st, other) = x
        .post("scjg_user", "subscriptions", json!({"grant": gid, "node": scjg_node, "target_table": "residents_other"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{other}");
    let other_id = other["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let s = loop {
        let (_, s) = x.get("scjg_user", &format!("subscriptions/{other_id}")).await;
        if s["last_error"].as_str().is_some_and(|e| e.contains("exists without the subscribed columns")) {
            break s;
        }
        assert!(Instant::now() < deadline, "no error for an incompatible target table: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(s["checkpoint"], 0, "{s}");
    let object = format!("subscription:{other_id}");
    let failed = x.events_of("data.sync").await;
    assert!(failed.iter().any(|e| e["object"] == object.as_str() && e["result"] == "failed"), "{failed:#?}");
    let (st, _) = x.post("scjg_user", &format!("subscriptions/{other_id}/cancel"), json!({})).await;
    assert_eq!(st, StatusCode::OK);

    // Cancel: final; undelivered batches are dropped.
    let (st, s) = x.post("scjg_user", &format!("subscriptions/{id}/cancel"), json!({})).await;
    assert_eq!((st, s["state"].clone()), (StatusCode::OK, json!("cancelled")), "{s}");
    let (st, _) = x.post("scjg_user", &format!("subscriptions/{id}/resume"), json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    exec(&src, "UPDATE residents SET hjdz = '取消后的地址', ver = 40 WHERE xm = '张三'").await;
    stays(&dst, Duration::from_millis(1000), "cancelled").await;
}

on_both!(sync_delivers_changes_deletes_and_recalls, sync_end_to_end);
