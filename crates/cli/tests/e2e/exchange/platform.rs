//! What the platform decides without any node connected: registration, isolation, mount validation, the
//! gateway's refusals, and the subject look-up's validation.

use reqwest::StatusCode;
use serde_json::json;

use super::{X, keygen, problem};
use crate::harness::Backend;
use crate::on_both;

async fn nodes_registration_and_isolation(b: Backend) {
    let x = X::new(b).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = keygen(dir.path(), "gat1");
    let (st, n) = x.post("gat_admin", "nodes", json!({"name": "公安厅前置机1", "public_key": public})).await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    assert_eq!(n["name"], "公安厅前置机1");
    assert_eq!(n["department"], x.dept["gat"].as_str());
    assert_eq!(n["public_key"], public.as_str());
    assert_eq!(n["status"], "active");
    assert_eq!(n["connected"], false);
    assert!(n["last_seen"].is_null(), "{n}");
    let id = n["id"].as_str().unwrap();

    // The same key again, by anyone: 409. Bad keys: 422 naming the field, every problem at once.
    let (st, b2) = x.post("scjg_admin", "nodes", json!({"name": "x", "public_key": public})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{b2}");
    problem(&b2, StatusCode::CONFLICT);
    let (st, bad) = x.post("gat_admin", "nodes", json!({"name": "", "public_key": "abc"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "public_key"], "{bad}");
    // 64 hex characters that are not a curve point.
    let not_a_point = "02".repeat(31) + "80";
    let (st, bad) = x.post("gat_admin", "nodes", json!({"name": "y", "public_key": "zz".repeat(32)})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (st, _) = x.post("gat_admin", "nodes", json!({"name": "y", "public_key": not_a_point})).await;
    assert!(st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::CREATED, "{st}");
    // Only department administrators register.
    for u in ["gat_user", "gat_catalog", "authority", "auditor"] {
        let (_, k) = keygen(dir.path(), u);
        let (st, body) = x.post(u, "nodes", json!({"name": "n", "public_key": k})).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{u}: {body}");
    }

    // Each department sees its own nodes; the platform administrator sees all.
    let (st, list) = x.get("gat_user", "nodes").await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let mine = list["items"].as_array().unwrap();
    assert!(mine.iter().any(|n| n["id"] == id), "{list}");
    assert!(mine.iter().all(|n| n["department"] == x.dept["gat"].as_str()), "{list}");
    let listed = mine.iter().find(|n| n["id"] == id).unwrap();
    for key in ["connected", "last_seen", "health", "remote_addr"] {
        assert!(listed.get(key).is_some(), "{key} missing: {listed}");
    }
    let (_, theirs) = x.get("scjg_admin", "nodes").await;
    assert!(theirs["items"].as_array().unwrap().iter().all(|n| n["id"] != id), "{theirs}");
    let (st, all) = x.get("admin", "nodes").await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert!(all["items"].as_array().unwrap().iter().any(|n| n["id"] == id), "{all}");

    let ev = x.events_of("node.register").await;
    assert!(ev.iter().any(|e| e["object"] == format!("node:{id}") && e["actor_name"] == "gat_admin"), "{ev:?}");
}
on_both!(nodes_registration_and_isolation, nodes_registration_and_isolation);

async fn mounts_are_validated(b: Backend) {
    let x = X::new(b).await;
    let dir = tempfile::tempdir().unwrap();
    let code = x.entry(&["query", "verify"]).await;
    let (gat_node, _) = x.node("gat_admin", dir.path(), "gat").await;
    let (scjg_node, _) = x.node("scjg_admin", dir.path(), "scjg").await;
    let path = format!("catalog/{code}/mount");
    let good = json!({
        "kind": "table", "node": gat_node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"], "change_column": "updated_at",
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm"}
    });
    // Not the provider's cataloger.
    for u in ["scjg_catalog", "gat_user", "gat_admin"] {
        let (st, body) = x.put(u, &path, good.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{u}: {body}");
    }
    // Another department's node, item names that are not the entry's, a missing source: every problem named.
    let mut bad = good.clone();
    bad["node"] = json!(scjg_node);
    bad["column_map"] = json!({"公民身份号码": "sfzh", "身份证号": "sfzh2", "电话": "dh"});
    bad["source"] = json!({"name": "hukou"});
    let (st, body) = x.put("gat_catalog", &path, bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["column_map.电话", "column_map.身份证号", "node", "source.table"], "{body}");
    let (st, body) = x.put("gat_catalog", &path, json!({"kind": "ftp"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A mount of an unknown entry: 404.
    let (st, _) = x.put("gat_catalog", "catalog/301001/999999/mount", good.clone()).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, m) = x.put("gat_catalog", &path, good.clone()).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["kind"], "table");
    assert_eq!(m["node"], gat_node.as_str());
    assert_eq!(m["column_map"]["姓名"], "xm");
    assert!(m["check"].is_null(), "{m}");
    let (st, m2) = x.get("gat_user", &path).await;
    assert_eq!(st, StatusCode::OK, "{m2}");
    assert_eq!(m2["source"], json!({"name": "hukou", "table": "residents"}));
    let (st, _) = x.get("scjg_user", &path).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The node is not connected: the check cannot run (503) and nothing is stored.
    let (st, body) = x.post("gat_catalog", &format!("{path}/check"), json!({})).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    problem(&body, StatusCode::SERVICE_UNAVAILABLE);
    let (_, m3) = x.get("gat_catalog", &path).await;
    assert!(m3["check"].is_null(), "{m3}");
    let ev = x.events_of("mount.put").await;
    assert!(ev.iter().any(|e| e["resource"] == code.as_str()), "{ev:?}");
}
on_both!(mounts_are_validated, mounts_are_validated);

async fn gateway_refuses_without_grant_mode_or_node(b: Backend) {
    let x = X::new(b).await;
    let dir = tempfile::tempdir().unwrap();
    let code = x.entry(&["query", "verify"]).await;
    let records = format!("data/{code}/records");
    let person = super::id_card("13010219900307123");

    // No grant: 403, audited as refused.
    let (st, body) = x.get("scjg_user", &format!("{records}?公民身份号码={person}")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    problem(&body, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("no grant"), "{body}");
    let ev = x.events_of("data.query").await;
    let refused = ev.iter().find(|e| e["resource"] == code.as_str()).expect("refusal audited");
    assert_eq!(refused["result"], "refused", "{refused}");
    assert_eq!(refused["actor_department"], x.dept["scjg"].as_str());
    assert!(refused["detail"]["reason"].as_str().unwrap().contains("no grant"), "{refused}");
    // Not a consumer.
    let (st, _) = x.get("gat_catalog", &records).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // A grant for query only, on two items.
    let grant =
        x.grant(&code, &["公民身份号码", "姓名"], &["query"], json!({"masking": {"公民身份号码": "id_card"}})).await;
    assert_eq!(grant["status"], "active", "{grant}");
    let verify = format!("data/{code}/verify");
    let body = json!({"match": {"公民身份号码": person}, "check": {"姓名": "张三"}});
    let (st, b2) = x.post("scjg_user", &verify, body).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b2}");
    assert!(b2["detail"].as_str().unwrap().contains("verify"), "{b2}");
    // Filters and fields on items outside the grant: 403; unknown items: 422; limit over 500: 422.
    let (st, b3) = x.get("scjg_user", &format!("{records}?联系电话=13800000000")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b3}");
    let (st, b3) = x.get("scjg_user", &format!("{records}?fields=姓名,户籍地址")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b3}");
    let (st, b3) = x.get("scjg_user", &format!("{records}?血型=A")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b3}");
    let (st, b3) = x.get("scjg_user", &format!("{records}?limit=501")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b3}");
    // X-Shuqiao-Grant naming someone else's grant or nothing known: 403.
    let req = x.s.http.get(x.s.url(&records)).bearer_auth(x.tok("scjg_user")).header("X-Shuqiao-Grant", "nope");
    let (st, _, b4) = x.s.send(req).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b4}");

    // Not mounted: 503. Mounted but never checked: 503. Checked is impossible while the node is offline.
    let (st, b5) = x.get("scjg_user", &records).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{b5}");
    assert!(b5["detail"].as_str().unwrap().contains("not mounted"), "{b5}");
    let (node, _) = x.node("gat_admin", dir.path(), "gat").await;
    let mount = json!({
        "kind": "table", "node": node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"], "column_map": {"公民身份号码": "sfzh", "姓名": "xm"}
    });
    let (st, m) = x.put("gat_catalog", &format!("catalog/{code}/mount"), mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let req =
        x.s.http
            .get(x.s.url(&format!("{records}?公民身份号码={person}")))
            .bearer_auth(x.tok("scjg_user"))
            .header("X-Shuqiao-Grant", grant["id"].as_str().unwrap())
            .header("X-Shuqiao-Case", "SJZ-2026-000123");
    let (st, _, b6) = x.s.send(req).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{b6}");
    assert!(b6["detail"].as_str().unwrap().contains("not been checked"), "{b6}");
    let ev = x.events_of("data.query").await;
    let last = &ev[0];
    assert_eq!(last["result"], "failed", "{last}");
    assert_eq!(last["case_ref"], "SJZ-2026-000123", "{last}");
    assert_eq!(last["detail"]["grant"], grant["id"], "{last}");

    // Revoked: 403 naming the status.
    let gid = grant["id"].as_str().unwrap();
    let (st, r) = x.post("gat_review", &format!("grants/{gid}/revoke"), json!({"reason": "业务已结束"})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, b7) = x.get("scjg_user", &records).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b7}");
    assert!(b7["detail"].as_str().unwrap().contains("revoked"), "{b7}");
}
on_both!(gateway_refuses_without_grant_mode_or_node, gateway_refuses_without_grant_mode_or_node);

async fn subject_lookup_is_validated(b: Backend) {
    let x = X::new(b).await;
    let person = super::id_card("13010219900307123");
    let ok = format!("audit/subject?kind=id_card&id={person}");
    for u in ["gat_user", "authority", "admin", "scjg_admin"] {
        let (st, body) = x.get(u, &ok).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{u}: {body}");
    }
    let (st, body) = x.get("auditor", &ok).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["items"], json!([]), "{body}");
    let wrong_check = format!("{}{}", &person[..17], if person.ends_with('0') { '1' } else { '0' });
    for (q, field) in [
        (format!("audit/subject?kind=id_card&id={wrong_check}"), "id"),
        ("audit/subject?kind=passport&id=E12345678".to_owned(), "kind"),
        ("audit/subject?kind=credit_code&id=91350100M000100Y44".to_owned(), "id"),
        ("audit/subject?id=91350100M000100Y43".to_owned(), "kind"),
    ] {
        let (st, body) = x.get("auditor", &q).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{q}: {body}");
    }
    let (st, body) = x.get("auditor", "audit/subject?kind=credit_code&id=91350100M000100Y43").await;
    assert_eq!(st, StatusCode::OK, "{body}");
}
on_both!(subject_lookup_is_validated, subject_lookup_is_validated);
