//! Catalog over HTTP (SPEC §4, API.md "Catalog"): create and validation, lifecycle and versions, visibility
//! between departments, search with facets, filters, cursors and index rebuild.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Server, entry_json};
use crate::on_both;

/// `101001/000123` → `catalog/101001/000123`.
pub(crate) fn path(code: &str) -> String {
    format!("catalog/{code}")
}

/// The fields named in a 422 problem.
pub(crate) fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
}

/// The codes of a search answer.
pub(crate) fn codes(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect())
}

/// `q` percent-encoded for a query string.
pub(crate) fn enc(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Creates a draft and returns its code.
pub(crate) async fn create(s: &Server, token: &str, class: &str, name: &str) -> String {
    let (st, body) = s.post("catalog", token, entry_json(class, name)).await;
    assert_eq!(st, StatusCode::CREATED, "create {name}: {body}");
    body["code"].as_str().unwrap().to_owned()
}

/// Creates, submits and publishes an entry; returns its code.
pub(crate) async fn create_published(s: &Server, cataloger: &str, authority: &str, class: &str, name: &str) -> String {
    let code = create(s, cataloger, class, name).await;
    let (st, body) = s.post(&format!("{}/submit", path(&code)), cataloger, json!({})).await;
    assert_eq!(st, StatusCode::OK, "submit: {body}");
    let (st, body) = s.post(&format!("{}/publish", path(&code)), authority, json!({})).await;
    assert_eq!(st, StatusCode::OK, "publish: {body}");
    assert_eq!(body["status"], "published", "{body}");
    code
}

/// Runs futures concurrently on the current task and returns their outputs in order.
pub(crate) async fn futures_join<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

async fn department_of(s: &Server, token: &str) -> Value {
    let (st, me) = s.get("me", token).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    me["department"].clone()
}

async fn create_and_validate(b: Backend) {
    let s = Server::demo(b).await;
    let cat = s.login("gat_catalog").await;
    let dept = department_of(&s, &cat).await;

    // A class-only code gets the next sequence number; the provider is the caller's department.
    let (st, e1) = s.post("catalog", &cat, entry_json("303777", "测试编制资源甲")).await;
    assert_eq!(st, StatusCode::CREATED, "{e1}");
    assert_eq!(e1["status"], "draft", "{e1}");
    assert_eq!(e1["version"], 1, "{e1}");
    assert_eq!(e1["code"], "303777/000001", "{e1}");
    assert_eq!(e1["provider"]["id"], dept["id"], "{e1}");
    assert_eq!(e1["provider"]["name"], "河北省公安厅", "{e1}");
    assert_eq!(e1["provider"]["credit_code"], dept["credit_code"], "{e1}");
    assert_eq!(e1["name"], "测试编制资源甲");
    assert_eq!(e1["items"].as_array().unwrap().len(), 2);
    assert_eq!(e1["share"]["type"], "conditional");
    assert!(e1["published_on"].is_null(), "{e1}");
    let (st, e2) = s.post("catalog", &cat, entry_json("303777", "测试编制资源乙")).await;
    assert_eq!(st, StatusCode::CREATED, "{e2}");
    assert_eq!(e2["code"], "303777/000002", "{e2}");
    // In a class with existing entries, the next number is after the largest taken.
    let mut full = entry_json("303778", "测试编制资源丙");
    full["code"] = json!("303778/000041");
    let (st, e3) = s.post("catalog", &cat, full.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{e3}");
    assert_eq!(e3["code"], "303778/000041");
    let (st, e4) = s.post("catalog", &cat, entry_json("303778", "测试编制资源丁")).await;
    assert_eq!(st, StatusCode::CREATED, "{e4}");
    assert_eq!(e4["code"], "303778/000042", "{e4}");

    // Concurrent creates in one class each get their own sequence number.
    let names: Vec<String> = (0..8).map(|i| format!("并发编制测试资源{i}")).collect();
    let results = futures_join(names.iter().map(|n| s.post("catalog", &cat, entry_json("303779", n)))).await;
    let mut seqs = HashSet::new();
    for (st, body) in results {
        assert_eq!(st, StatusCode::CREATED, "concurrent create: {body}");
        assert!(seqs.insert(body["code"].as_str().unwrap().to_owned()), "{body}");
    }
    let want: HashSet<String> = (1..=8).map(|i| format!("303779/{i:06}")).collect();
    assert_eq!(seqs, want);

    // Duplicate full code → 409.
    full["name"] = json!("测试编制资源戊");
    let (st, body) = s.post("catalog", &cat, full).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");

    // Code whose class part disagrees with class → 422 `code`.
    let mut bad = entry_json("303777", "测试编制资源己");
    bad["code"] = json!("303779/000001");
    let (st, body) = s.post("catalog", &cat, bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), vec!["code"], "{body}");
    let mut bad = entry_json("303777", "测试编制资源己");
    bad["code"] = json!("303779");
    let (st, body) = s.post("catalog", &cat, bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), vec!["code"], "{body}");

    // Many problems at once: every one listed with its field path.
    let mut many = entry_json("101001", "x");
    many["name"] = json!("");
    many["items"] = json!([
        {"name": "公民身份号码", "data_type": "C", "length": 18, "basic": true, "share_type": "conditional", "grade": "重要"},
        {"name": "姓名", "data_type": "Z", "length": 50, "basic": false, "share_type": null, "grade": null},
        {"name": "宗教信仰", "data_type": "C", "length": 20, "basic": false, "share_type": "not_shared", "grade": null}
    ]);
    many["share"] = json!({"type": "unconditional", "condition": null, "legal_basis": null, "modes": ["query"]});
    many["secret"] = json!(true);
    many["update_cycle"] = json!("hourly");
    let (st, body) = s.post("catalog", &cat, many).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["status"], 422, "{body}");
    let got: HashSet<String> = fields(&body).into_iter().collect();
    let want: HashSet<String> =
        ["name", "items[1].data_type", "share.legal_basis", "items[0].share_type", "secret", "update_cycle"]
            .into_iter()
            .map(str::to_owned)
            .collect();
    assert_eq!(got, want, "{body}");
    for e in body["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap_or("").is_empty(), "{body}");
    }

    // A consumer (no cataloger role) may not create.
    let user = s.login("gat_user").await;
    let (st, body) = s.post("catalog", &user, entry_json("303777", "测试编制资源庚")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    // Unauthenticated → 401.
    let (st, _) = s.call(reqwest::Method::POST, "catalog", None, Some(entry_json("303777", "测试编制资源辛"))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Nothing of the failed attempts was created.
    let (st, body) = s.get("catalog/303777/000003", &cat).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
}
on_both!(create_and_validate, create_and_validate);

async fn lifecycle(b: Backend) {
    let s = Server::demo(b).await;
    let cat = s.login("gat_catalog").await;
    let auth = s.login("authority").await;
    let other_cat = s.login("scjg_catalog").await;
    let other_user = s.login("scjg_user").await;
    let code = create(&s, &cat, "303777", "生命周期测试资源").await;
    let p = path(&code);

    // Wrong-state actions → 409.
    let (st, body) = s.post(&format!("{p}/publish"), &auth, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "publish a draft: {body}");
    let (st, body) = s.post(&format!("{p}/retire"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "retire a draft: {body}");
    let (st, body) = s.post(&format!("{p}/return"), &auth, json!({"comment": "请补充"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "return a draft: {body}");

    // Another department's cataloger cannot submit (it may not even know the draft).
    let (st, body) = s.post(&format!("{p}/submit"), &other_cat, json!({})).await;
    assert!(st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND, "{st} {body}");

    let (st, body) = s.post(&format!("{p}/submit"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "submitted", "{body}");
    let (st, body) = s.post(&format!("{p}/submit"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "submit twice: {body}");

    // A cataloger cannot publish.
    let (st, body) = s.post(&format!("{p}/publish"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // Return requires a comment, and the comment is shown.
    let (st, body) = s.post(&format!("{p}/return"), &auth, json!({"comment": "  "})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), vec!["comment"], "{body}");
    let (st, body) = s.post(&format!("{p}/return"), &auth, json!({})).await;
    assert!(st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST, "{st} {body}");
    let (st, body) = s.post(&format!("{p}/return"), &auth, json!({"comment": "请补充共享条件的法规依据"})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "returned", "{body}");
    assert_eq!(body["comment"], "请补充共享条件的法规依据", "{body}");
    let (st, body) = s.get(&p, &cat).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "returned", "{body}");
    assert_eq!(body["comment"], "请补充共享条件的法规依据", "{body}");

    // Resubmit, publish.
    let (st, body) = s.post(&format!("{p}/submit"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "submitted");
    let (st, body) = s.post(&format!("{p}/publish"), &auth, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "published", "{body}");
    assert_eq!(body["version"], 1, "{body}");
    assert!(body["published_on"].as_str().is_some_and(|d| d.len() == 10), "{body}");
    let (st, body) = s.post(&format!("{p}/return"), &auth, json!({"comment": "再看看"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "return a published entry: {body}");
    let (st, body) = s.post(&format!("{p}/publish"), &auth, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "publish twice: {body}");

    // Editing a published entry makes a version 2 draft; others keep seeing version 1.
    let mut v2 = entry_json("303777", "生命周期测试资源（第二版）");
    v2["code"] = json!(code.clone());
    v2["update_cycle"] = json!("weekly");
    let (st, body) = s.put(&p, &cat, v2.clone()).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2, "{body}");
    assert_eq!(body["status"], "draft", "{body}");
    assert_eq!(body["name"], "生命周期测试资源（第二版）");
    let (st, body) = s.get(&p, &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 1, "{body}");
    assert_eq!(body["status"], "published", "{body}");
    assert_eq!(body["name"], "生命周期测试资源", "{body}");
    assert_eq!(body["update_cycle"], "daily", "{body}");
    let (st, body) = s.get(&p, &cat).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2, "{body}");
    let (st, body) = s.get(&format!("{p}/versions"), &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let versions: Vec<i64> = body["items"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, vec![1], "{body}");
    // Another department cannot read the v2 draft by number.
    let (st, body) = s.get(&format!("{p}?version=2"), &other_user).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");

    // The code cannot change on edit.
    let mut moved = v2.clone();
    moved["code"] = json!("303777/000999");
    let (st, body) = s.put(&p, &cat, moved).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(fields(&body).contains(&"code".to_owned()), "{body}");
    let mut moved = entry_json("303778", "生命周期测试资源（第二版）");
    moved["code"] = json!("303778");
    let (st, body) = s.put(&p, &cat, moved).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Another department's cataloger cannot edit a published entry either.
    let (st, body) = s.put(&p, &other_cat, v2.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // Editing the v2 draft again keeps version 2.
    let (st, body) = s.put(&p, &cat, v2).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2, "{body}");

    // Publishing v2: /versions lists v1 and v2, both readable with ?version=.
    let (st, body) = s.post(&format!("{p}/submit"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = s.post(&format!("{p}/publish"), &auth, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2, "{body}");
    let (st, body) = s.get(&format!("{p}/versions"), &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    let versions: Vec<i64> = items.iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, vec![1, 2], "{body}");
    assert_eq!(items[0]["name"], "生命周期测试资源");
    assert_eq!(items[1]["name"], "生命周期测试资源（第二版）");
    let (st, body) = s.get(&format!("{p}?version=1"), &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["name"], "生命周期测试资源");
    assert_eq!(body["update_cycle"], "daily");
    let (st, body) = s.get(&format!("{p}?version=2"), &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "生命周期测试资源（第二版）");
    assert_eq!(body["update_cycle"], "weekly");
    let (st, body) = s.get(&p, &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2, "{body}");
    assert_eq!(body["status"], "published", "{body}");
    let (st, body) = s.get(&format!("{p}?version=3"), &other_user).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    let (st, body) = s.get(&format!("{p}?version=abc"), &other_user).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), vec!["version"], "{body}");

    // Retire (another department's cataloger may not), then wrong-state again.
    let (st, body) = s.post(&format!("{p}/retire"), &other_cat, json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let (st, body) = s.post(&format!("{p}/retire"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "retired", "{body}");
    let (st, body) = s.post(&format!("{p}/retire"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "retire twice: {body}");
    let (st, body) = s.get(&p, &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "retired", "{body}");

    // The authority may retire any department's published entry.
    let code2 = create_published(&s, &cat, &auth, "303777", "生命周期测试资源二").await;
    let (st, body) = s.post(&format!("{}/retire", path(&code2)), &auth, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "retired", "{body}");
}
on_both!(lifecycle, lifecycle);

async fn visibility(b: Backend) {
    let s = Server::demo(b).await;
    let cat = s.login("gat_catalog").await;
    let other_cat = s.login("scjg_catalog").await;
    let other_user = s.login("scjg_user").await;
    let own_user = s.login("gat_user").await;
    let auth = s.login("authority").await;
    let name = "可见性隔离验证专用资源";
    let code = create(&s, &cat, "303777", name).await;
    let p = path(&code);
    let other_name = "另一部门草稿验证资源";
    let other_code = create(&s, &other_cat, "304777", other_name).await;

    // Another department: 404 for everything about the draft.
    for tok in [&other_user, &other_cat] {
        let (st, body) = s.get(&p, tok).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
        let (st, body) = s.get(&format!("{p}/versions"), tok).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
        let (st, body) = s.get(&format!("{p}?version=1"), tok).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    }
    let (st, body) = s.put(&p, &other_cat, entry_json("303777", name)).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    let (st, body) = s.post(&format!("{p}/submit"), &other_cat, json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    // …and it never appears in its search results, whatever the filters.
    for q in [
        format!("catalog?q={}&limit=500", enc(name)),
        format!("catalog?q={}&status=draft&limit=500", enc(name)),
        "catalog?status=draft,submitted,returned&limit=500".to_owned(),
    ] {
        for tok in [&other_user, &other_cat] {
            let (st, body) = s.get(&q, tok).await;
            assert_eq!(st, StatusCode::OK, "{body}");
            assert!(!codes(&body).contains(&code), "{q}: {body}");
            for item in body["items"].as_array().unwrap() {
                if item["status"] != "published" && item["status"] != "retired" {
                    assert_eq!(item["provider"]["name"], "河北省市场监督管理局", "{q}: {item}");
                }
            }
        }
    }
    // The own department sees its draft, by GET and in search.
    let (st, body) = s.get(&p, &own_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "draft");
    let (st, body) = s.get(&format!("catalog?q={}", enc(name)), &own_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(codes(&body).first(), Some(&code), "{body}");

    // The authority sees drafts and submitted entries of all departments.
    let (st, body) = s.post(&format!("{}/submit", path(&other_code)), &other_cat, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = s.get(&p, &auth).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "draft");
    let (st, body) = s.get(&path(&other_code), &auth).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "submitted");
    let (st, body) = s.get("catalog?status=draft,submitted&limit=500", &auth).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let found = codes(&body);
    assert!(found.contains(&code) && found.contains(&other_code), "{body}");
    let providers: HashSet<&str> =
        body["items"].as_array().unwrap().iter().map(|i| i["provider"]["name"].as_str().unwrap()).collect();
    assert!(providers.len() >= 2, "{providers:?}");
    let (st, body) = s.get(&format!("catalog?q={}", enc(other_name)), &auth).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(codes(&body).first(), Some(&other_code), "{body}");

    // Once published, visible to all.
    let (st, body) = s.post(&format!("{p}/submit"), &cat, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    // Submitted is still hidden from others.
    let (st, _) = s.get(&p, &other_user).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, body) = s.post(&format!("{p}/publish"), &auth, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    for tok in [&other_user, &other_cat, &own_user] {
        let (st, body) = s.get(&p, tok).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "published");
        let (st, body) = s.get(&format!("catalog?q={}", enc(name)), tok).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(codes(&body).first(), Some(&code), "{body}");
        let (st, body) = s.get(&format!("{p}/versions"), tok).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    }
    // A new draft version of a published entry stays hidden from others, in GET and in search.
    let mut v2 = entry_json("303777", "可见性隔离验证专用资源新版草稿");
    v2["code"] = json!(code.clone());
    let (st, body) = s.put(&p, &cat, v2).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = s.get(&format!("catalog?q={}&limit=500", enc("新版草稿")), &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    for item in body["items"].as_array().unwrap() {
        assert_ne!(item["name"], "可见性隔离验证专用资源新版草稿", "{body}");
    }
    let (st, body) = s.get(&format!("catalog?q={}&limit=500", enc(name)), &other_user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let mine: Vec<&Value> = body["items"].as_array().unwrap().iter().filter(|i| i["code"] == code).collect();
    assert_eq!(mine.len(), 1, "{body}");
    assert_eq!(mine[0]["status"], "published", "{body}");
    assert_eq!(mine[0]["version"], 1, "{body}");
}
on_both!(visibility, visibility);

async fn search(b: Backend) {
    let s = Server::demo(b).await;
    let user = s.login("scjg_user").await;

    // Ranking.
    let (st, body) = s.get(&format!("catalog?q={}&limit=5", enc("企业 登记")), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["name"], "企业登记信息", "{body}");

    // Facets, with counts that sum to the total.
    let (st, all) = s.get("catalog?limit=1", &user).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    let total = all["total"].as_u64().unwrap();
    assert!(total > 100, "{total}");
    for facet in ["provider", "class", "share_type", "open", "update_cycle", "status", "region"] {
        let values = all["facets"][facet].as_array().unwrap_or_else(|| panic!("facet {facet} missing: {all}"));
        assert!(!values.is_empty(), "facet {facet} empty");
        for v in values {
            assert!(v["value"].is_string() && v["count"].as_u64().unwrap() > 0, "{facet}: {v}");
        }
    }
    for facet in ["share_type", "open", "status", "update_cycle"] {
        let sum: u64 = all["facets"][facet].as_array().unwrap().iter().map(|v| v["count"].as_u64().unwrap()).sum();
        assert_eq!(sum, total, "facet {facet} sums to {sum}, total {total}");
    }
    let conditional_count = all["facets"]["share_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == "conditional")
        .map(|v| v["count"].as_u64().unwrap())
        .unwrap();

    // Filters narrow the results and every returned item matches.
    let check = |q: &'static str, pred: fn(&Value) -> bool| {
        let s = &s;
        let user = &user;
        async move {
            let (st, body) = s.get(&format!("catalog?{q}&limit=500"), user).await;
            assert_eq!(st, StatusCode::OK, "{q}: {body}");
            let n = body["total"].as_u64().unwrap();
            assert!(n > 0 && n < total, "{q}: {n} of {total}");
            let items = body["items"].as_array().unwrap();
            assert_eq!(items.len() as u64, n.min(500), "{q}");
            for item in items {
                assert!(pred(item), "{q}: {item}");
            }
            n
        }
    };
    let n = check("share_type=conditional", |i| i["share"]["type"] == "conditional").await;
    assert_eq!(n, conditional_count);
    check("class=1", |i| i["class"]["lei"] == 1).await;
    check("class=101", |i| i["class"]["lei"] == 1 && i["class"]["xiang"] == 1).await;
    check("open=true", |i| i["open"]["open"] == true).await;
    check("status=published", |i| i["status"] == "published").await;
    check("update_cycle=monthly", |i| i["update_cycle"] == "monthly").await;
    check("share_type=conditional&open=false&class=3", |i| {
        i["share"]["type"] == "conditional" && i["open"]["open"] == false && i["class"]["lei"] == 3
    })
    .await;
    // A filter combined with text.
    let (st, body) = s.get(&format!("catalog?q={}&share_type=unconditional", enc("企业 登记")), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(!codes(&body).is_empty(), "{body}");
    for i in body["items"].as_array().unwrap() {
        assert_eq!(i["share"]["type"], "unconditional", "{i}");
    }
    // Filtering by a provider (the facet's value) and by region.
    let provider = all["facets"]["provider"][0]["value"].as_str().unwrap().to_owned();
    let pcount = all["facets"]["provider"][0]["count"].as_u64().unwrap();
    let (st, body) = s.get(&format!("catalog?provider={provider}&limit=500"), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["total"].as_u64().unwrap(), pcount, "{body}");
    for i in body["items"].as_array().unwrap() {
        assert_eq!(i["provider"]["id"], provider.as_str(), "{i}");
    }
    let region = all["facets"]["region"][0]["value"].as_str().unwrap().to_owned();
    let rcount = all["facets"]["region"][0]["count"].as_u64().unwrap();
    let (st, body) = s.get(&format!("catalog?region={region}&limit=1"), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["total"].as_u64().unwrap(), rcount, "{body}");

    // Bad filter values → 422 naming each.
    let (st, body) =
        s.get("catalog?share_type=maybe&open=perhaps&status=lost&update_cycle=hourly&class=abc", &user).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let got: HashSet<String> = fields(&body).into_iter().collect();
    for f in ["share_type", "open", "status[0]", "update_cycle", "class"] {
        assert!(got.contains(f), "{f} missing: {body}");
    }
    let (st, body) = s.get("catalog?limit=0", &user).await;
    assert!(st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST, "limit=0: {st} {body}");
    let (st, body) = s.get("catalog?cursor=notacursor", &user).await;
    assert!(st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST, "bad cursor: {st} {body}");

    // Pagination with cursors: disjoint pages that together are the first 60 results.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    for page in 0..3 {
        let q = match &cursor {
            None => "catalog?share_type=conditional&limit=20".to_owned(),
            Some(c) => format!("catalog?share_type=conditional&limit=20&cursor={}", enc(c)),
        };
        let (st, body) = s.get(&q, &user).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["total"].as_u64().unwrap(), conditional_count, "page {page}");
        let page_codes = codes(&body);
        assert_eq!(page_codes.len(), 20, "page {page}: {body}");
        for c in page_codes {
            assert!(seen.insert(c.clone()), "{c} on two pages");
        }
        cursor = Some(body["next_cursor"].as_str().expect("next_cursor").to_owned());
    }
    // The pages are the first 60 results of one query, in order.
    let (st, body) = s.get("catalog?share_type=conditional&limit=60", &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(codes(&body).into_iter().collect::<HashSet<_>>(), seen);
    // The last page has no next cursor.
    let (st, body) = s.get(&format!("catalog?share_type=not_shared&limit={}", 500), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(body["next_cursor"].is_null(), "{body}");

    // A newly published entry is searchable at once; a retired one shows status retired.
    let cat = s.login("gat_catalog").await;
    let auth = s.login("authority").await;
    let name = "即时检索验证用信息资源";
    let code = create_published(&s, &cat, &auth, "303777", name).await;
    let (st, body) = s.get(&format!("catalog?q={}", enc(name)), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(codes(&body).first(), Some(&code), "{body}");
    assert_eq!(body["items"][0]["status"], "published", "{body}");
    let (st, body) = s.post(&format!("{}/retire", path(&code)), &cat, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = s.get(&format!("catalog?q={}", enc(name)), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let hit = body["items"].as_array().unwrap().iter().find(|i| i["code"] == code.as_str()).cloned();
    let hit = hit.unwrap_or_else(|| panic!("retired entry not found: {body}"));
    assert_eq!(hit["status"], "retired", "{body}");
    let (st, body) = s.get(&format!("catalog?q={}&status=published", enc(name)), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(!codes(&body).contains(&code), "{body}");
    let (st, body) = s.get(&format!("catalog?q={}&status=retired", enc(name)), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(codes(&body).contains(&code), "{body}");

    // The index is rebuilt when missing.
    let before_total = {
        let (_, body) = s.get("catalog?limit=1", &user).await;
        body["total"].as_u64().unwrap()
    };
    let (data, database, status) = s.stop();
    assert!(status.success() || status.code().is_none(), "{status}");
    let mut removed = 0;
    for e in std::fs::read_dir(data.path()).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with("index") {
            std::fs::remove_dir_all(e.path()).unwrap();
            removed += 1;
        }
    }
    assert_eq!(removed, 1, "one index directory");
    if b == Backend::Sqlite {
        assert!(!data.path().join("index").exists());
    }
    let s = Server::spawn(b, "serve", data, database).await;
    let user = s.login("scjg_user").await;
    let (st, body) = s.get(&format!("catalog?q={}&limit=5", enc("企业 登记")), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["name"], "企业登记信息", "{body}");
    let (st, body) = s.get(&format!("catalog?q={}", enc(name)), &user).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(codes(&body).contains(&code), "{body}");
    let (_, body) = s.get("catalog?limit=1", &user).await;
    assert_eq!(body["total"].as_u64().unwrap(), before_total, "{body}");
}
on_both!(search, search);
