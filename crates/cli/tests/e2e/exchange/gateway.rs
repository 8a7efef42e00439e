//! The whole path with a real `shuqiao node` process: the provider's node reads a `residents` table (SQLite
//! file when the platform runs on SQLite, a PostgreSQL database when it runs on PostgreSQL).

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{X, id_card, masked_id, problem, start_node, wait_connected};
use crate::harness::{Backend, fresh_pg_database};
use crate::on_both;

/// (first 17 digits, 姓名, 联系电话, 户籍地址, 婚姻状况), in key order.
const PEOPLE: [(&str, &str, &str, &str, &str); 7] = [
    ("13010219800101001", "张三", "13812345678", "河北省石家庄市长安区建设北大街1号", "已婚"),
    ("13010219810202002", "李小明", "13900001111", "河北省石家庄市桥西区自强路2号", "未婚"),
    ("13010219820303003", "欧阳修", "13700002222", "河北省保定市涞水县城关镇3号", "已婚"),
    ("13010219830404004", "王五", "13600003333", "北京市海淀区中关村大街27号", "离婚"),
    ("13010219840505005", "赵六", "13500004444", "河北省石家庄市辛集市幸福路3号", "已婚"),
    ("13010219850606006", "孙七", "13400005555", "某某村东头三百米", "未婚"),
    ("13010219860707007", "周八", "13300006666", "河北省唐山市路北区建设路8号", "已婚"),
];

/// Creates the `residents` table; returns the source URL for the node.
async fn residents(b: Backend, dir: &Path) -> String {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let (url, source) = match b {
        Backend::Sqlite => {
            let path = dir.join("hukou.db");
            (format!("sqlite://{}?mode=rwc", path.display()), format!("sqlite://{}", path.display()))
        }
        Backend::Postgres => {
            let url = fresh_pg_database().await;
            (url.clone(), url)
        }
    };
    let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
    c.execute(
        "CREATE TABLE residents (sfzh VARCHAR(18) PRIMARY KEY, xm TEXT NOT NULL, lxdh TEXT, hjdz TEXT, hyzk TEXT, \
         updated_at TEXT NOT NULL)",
    )
    .await
    .unwrap();
    for (id, xm, dh, dz, hy) in PEOPLE {
        sqlx::query("INSERT INTO residents (sfzh, xm, lxdh, hjdz, hyzk, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id_card(id))
            .bind(xm)
            .bind(dh)
            .bind(dz)
            .bind(hy)
            .bind("2026-01-01T00:00:00Z")
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();
    source
}

async fn query(x: &X, path: &str, case: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = x.s.http.get(x.s.url(path)).bearer_auth(x.tok("scjg_user"));
    if let Some(c) = case {
        req = req.header("X-Shuqiao-Case", c);
    }
    x.s.send(req).await
}

async fn exchange_end_to_end(b: Backend) {
    let x = X::new(b).await;
    let dir = tempfile::tempdir().unwrap();
    let code = x.entry(&["query", "verify"]).await;
    let (node, key_file) = x.node("gat_admin", dir.path(), "gat-hukou").await;
    let source = residents(b, dir.path()).await;
    let config: PathBuf = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "platform = \"{}\"\nkey_file = \"{}\"\nnode_id = \"{node}\"\nhealth_seconds = 1\n\n[[source]]\nname = \"hukou\"\nurl = \"{source}\"\n",
            x.s.base,
            key_file.display()
        ),
    )
    .unwrap();
    let mut agent = start_node(&config);
    wait_connected(&x, &node, true).await;

    // Mount and check.
    let mount_path = format!("catalog/{code}/mount");
    let mut mount = json!({
        "kind": "table", "node": node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"], "change_column": "updated_at",
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "联系电话": "lxdh", "户籍地址": "hjdz", "婚姻状况": "missing_col"}
    });
    let (st, m) = x.put("gat_catalog", &mount_path, mount.clone()).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (st, check) = x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{check}");
    assert_eq!(check["ok"], false, "{check}");
    let missing = check["problems"].as_array().unwrap();
    assert!(
        missing.iter().any(|p| p["problem"] == "missing" && p["item"] == "婚姻状况" && p["column"] == "missing_col"),
        "{check}"
    );
    mount["column_map"]["婚姻状况"] = json!("hyzk");
    let (st, _) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK);
    let (st, check) = x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{check}");
    assert_eq!(check["ok"], true, "{check}");
    let (_, m) = x.get("gat_catalog", &mount_path).await;
    assert_eq!(m["check"]["ok"], true, "{m}");
    let (_, nodes) = x.get("gat_admin", "nodes").await;
    let n = nodes["items"].as_array().unwrap().iter().find(|n| n["id"] == node.as_str()).unwrap().clone();
    assert!(n["last_seen"].is_string() && n["remote_addr"].is_string(), "{n}");

    // The consumer's grant: four items, masked, with a quota.
    let grant = x
        .grant(
            &code,
            &["公民身份号码", "姓名", "联系电话", "户籍地址"],
            &["query", "verify"],
            json!({
                "masking": {"公民身份号码": "id_card", "姓名": "name", "联系电话": "phone", "户籍地址": "address"},
                "quota": {"requests_per_day": 25, "records_per_day": 1000}
            }),
        )
        .await;
    let gid = grant["id"].as_str().unwrap().to_owned();
    let records = format!("data/{code}/records");
    let zhang = id_card(PEOPLE[0].0);

    // By key, masked exactly as the grant says; only granted items.
    let (st, _, page) = query(&x, &format!("{records}?公民身份号码={zhang}"), Some("SJZ-2026-000123")).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(
        page["items"],
        json!([{
            "公民身份号码": masked_id(&zhang), "姓名": "张*", "联系电话": "138****5678",
            "户籍地址": "河北省石家庄市长安区****"
        }]),
        "{page}"
    );
    assert!(page["next_cursor"].is_null(), "{page}");
    let (st, _, page) = query(&x, &format!("{records}?姓名=欧阳修&fields=姓名,户籍地址"), None).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(page["items"], json!([{"姓名": "欧阳*", "户籍地址": "河北省保定市涞水县****"}]), "{page}");

    // Pagination: stable pages in key order, the same as one big page, and the cursor holds no raw key.
    let (st, _, all) = query(&x, &format!("{records}?limit=50"), None).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    let all: Vec<Value> = all["items"].as_array().unwrap().clone();
    assert_eq!(all.len(), PEOPLE.len());
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{records}?limit=3&cursor={c}"),
            None => format!("{records}?limit=3"),
        };
        let (st, _, page) = query(&x, &path, None).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        pages += 1;
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert!(!c.contains("1301021"), "{c}");
                cursor = Some(c.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, all);
    let ids: Vec<String> = PEOPLE.iter().map(|p| masked_id(&id_card(p.0))).collect();
    let got: Vec<&str> = paged.iter().map(|r| r["公民身份号码"].as_str().unwrap()).collect();
    assert_eq!(got, ids);
    // A tampered cursor is refused.
    let (st, _, _) = query(&x, &format!("{records}?limit=3&cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Items outside the grant: as a filter or a field, 403.
    let (st, _, body) = query(&x, &format!("{records}?婚姻状况=已婚"), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let (st, _, body) = query(&x, &format!("{records}?fields=姓名,婚姻状况"), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // Verification: booleans only.
    let verify = format!("data/{code}/verify");
    let (st, v) = x
        .post(
            "scjg_user",
            &verify,
            json!({"match": {"公民身份号码": zhang}, "check": {"姓名": "张三", "联系电话": "13800000000"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"found": true, "items": {"姓名": true, "联系电话": false}}));
    let nobody = id_card("13010219991231999");
    let (st, v) =
        x.post("scjg_user", &verify, json!({"match": {"公民身份号码": nobody}, "check": {"姓名": "张三"}})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"found": false, "items": {"姓名": false}}));

    // The node goes away: 503; it comes back: served again.
    let _ = agent.0.kill();
    let _ = agent.0.wait();
    wait_connected(&x, &node, false).await;
    let (st, _, body) = query(&x, &format!("{records}?公民身份号码={zhang}"), None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    problem(&body, StatusCode::SERVICE_UNAVAILABLE);
    agent = start_node(&config);
    wait_connected(&x, &node, true).await;
    let (st, _, page) = query(&x, &format!("{records}?公民身份号码={zhang}"), None).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["姓名"], "张*");
    let (_, nodes) = x.get("gat_admin", "nodes").await;
    let n = nodes["items"].as_array().unwrap().iter().find(|n| n["id"] == node.as_str()).unwrap().clone();
    assert!(n["health"]["sources"].is_array(), "health reported: {n}");

    // The daily request quota: 429 with Retry-After until midnight China time.
    let mut refused = None;
    for _ in 0..30 {
        let (st, h, body) = query(&x, &format!("{records}?公民身份号码={zhang}"), None).await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((h, body));
            break;
        }
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let (h, body) = refused.expect("the quota of 25 requests a day was never reached");
    problem(&body, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = h.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");

    // Revoked mid-session: the next call is refused.
    let (st, r) = x.post("gat_review", &format!("grants/{gid}/revoke"), json!({"reason": "核验业务结束"})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, _, body) = query(&x, &format!("{records}?公民身份号码={zhang}"), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let (_, g) = x.get("scjg_user", &format!("grants/{gid}")).await;
    assert!(g["last_used_at"].is_string(), "{g}");

    // Who used 张三's data: the consumer department, the purpose and the case reference.
    let (st, acc) = x.get("auditor", &format!("audit/subject?kind=id_card&id={zhang}")).await;
    assert_eq!(st, StatusCode::OK, "{acc}");
    let items = acc["items"].as_array().unwrap();
    let first = items.iter().find(|a| a["case_ref"] == "SJZ-2026-000123").expect("the case is listed");
    assert_eq!(first["department"], x.dept["scjg"].as_str(), "{first}");
    assert_eq!(first["grant"], gid.as_str(), "{first}");
    assert_eq!(first["resource"], code.as_str(), "{first}");
    assert!(first["purpose"].as_str().unwrap().contains("企业登记法定代表人身份核验"), "{first}");
    assert!(items.iter().any(|a| a["action"] == "data.verify"), "{acc}");
    // 王五 was only ever read in whole pages; another person, never asked about, is not listed.
    let (_, wang) = x.get("auditor", &format!("audit/subject?kind=id_card&id={}", id_card(PEOPLE[3].0))).await;
    assert!(!wang["items"].as_array().unwrap().is_empty(), "{wang}");
    let (_, none) = x.get("auditor", &format!("audit/subject?kind=id_card&id={}", id_card("13010219700101001"))).await;
    assert_eq!(none["items"], json!([]), "{none}");

    // The log holds no raw ID number, and its chain verifies.
    let text = serde_json::to_string(&x.all_events().await).unwrap();
    for p in PEOPLE {
        assert!(!text.contains(&id_card(p.0)), "raw ID number in the audit log");
    }
    let (st, v) = x.get("auditor", "audit/verify").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    drop(agent);
}
on_both!(exchange_end_to_end, exchange_end_to_end);

/// The same path with the provider's data in MariaDB (SHUQIAO_TEST_MYSQL, default the local server): mount check
/// against MySQL column types, query by key masked, verification, and a refused filter — through the platform.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_from_a_mariadb_source() {
    use sqlx::{Connection, Executor};
    let base = std::env::var("SHUQIAO_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let name = crate::harness::fresh_pg_name();
    let mut admin =
        sqlx::MySqlConnection::connect(&base).await.expect("MariaDB must be running (scripts/test starts it)");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")))
        .await
        .unwrap();
    let source = format!("{base}/{name}");
    {
        let mut c = sqlx::MySqlConnection::connect(&source).await.unwrap();
        c.execute(
            "CREATE TABLE residents (sfzh VARCHAR(18) PRIMARY KEY, xm VARCHAR(50) NOT NULL, lxdh VARCHAR(20), \
             hjdz VARCHAR(200), hyzk VARCHAR(10), updated_at DATETIME NOT NULL)",
        )
        .await
        .unwrap();
        for (id, xm, dh, dz, hy) in PEOPLE {
            sqlx::query("INSERT INTO residents VALUES (?, ?, ?, ?, ?, '2026-01-01 00:00:00')")
                .bind(id_card(id))
                .bind(xm)
                .bind(dh)
                .bind(dz)
                .bind(hy)
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
    let x = X::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let code = x.entry(&["query", "verify"]).await;
    let (node, key_file) = x.node("gat_admin", dir.path(), "gat-mariadb").await;
    let config: PathBuf = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "platform = \"{}\"\nkey_file = \"{}\"\nnode_id = \"{node}\"\n\n[[source]]\nname = \"hukou\"\nurl = \"{source}\"\n",
            x.s.base,
            key_file.display()
        ),
    )
    .unwrap();
    let _agent = start_node(&config);
    wait_connected(&x, &node, true).await;
    let mount_path = format!("catalog/{code}/mount");
    let mount = json!({
        "kind": "table", "node": node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"], "change_column": "updated_at",
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "联系电话": "lxdh", "户籍地址": "hjdz", "婚姻状况": "hyzk"}
    });
    let (st, m) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (st, check) = x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await;
    assert_eq!(check["ok"], true, "{st} {check}");
    x.grant(
        &code,
        &["公民身份号码", "姓名", "联系电话"],
        &["query", "verify"],
        json!({"masking": {"公民身份号码": "id_card", "姓名": "name", "联系电话": "phone"}}),
    )
    .await;
    let records = format!("data/{code}/records");
    let li = id_card(PEOPLE[1].0);
    let (st, _, page) = query(&x, &format!("{records}?公民身份号码={li}"), None).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(
        page["items"],
        json!([{"公民身份号码": masked_id(&li), "姓名": "李**", "联系电话": "139****1111"}]),
        "{page}"
    );
    let (st, page) = x.get("scjg_user", &format!("{records}?limit=5")).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 5, "{page}");
    assert!(page["next_cursor"].is_string(), "{page}");
    let (st, v) = x
        .post(
            "scjg_user",
            &format!("data/{code}/verify"),
            json!({"match": {"公民身份号码": li}, "check": {"姓名": "李小明"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"found": true, "items": {"姓名": true}}));
    // A value that looks like SQL is only a value.
    let (st, _, page) = query(&x, &format!("{records}?公民身份号码=1'%20OR%20'1'='1"), None).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(page["items"], json!([]), "{page}");
    let (st, _, body) = query(&x, &format!("{records}?户籍地址=河北"), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).await;
}
