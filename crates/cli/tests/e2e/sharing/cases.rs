//! The tick (overdue, re-certification, expiry), retirement, objections, demands and the inbox.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, application, apply, civil, day, days_of, denied, fields, noon};
use crate::harness::{Backend, entry_json};
use crate::on_both;

async fn tick_and_retirement(b: Backend) {
    let c = Ctx::new(b).await;
    let (entry, items) = c.entry(Some("gat"), "conditional").await;
    let a = apply(&c, &entry, &items[..1]).await;
    let app = format!("applications/{}", a["id"].as_str().unwrap());
    let deadline = a["deadline"].as_str().unwrap().to_owned();
    let (st, o) = c
        .post(
            "rst_user",
            "objections",
            json!({"resource": entry["code"], "record_key": "130102199001011234",
                                                              "description": "出生日期有误"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    let obj = format!("objections/{}", o["id"].as_str().unwrap());

    // The tick is the operator's.
    for u in ["authority", "gat_review", "rst_user"] {
        assert_eq!(c.post(u, "admin/tick", json!({})).await.0, StatusCode::FORBIDDEN, "{u}");
    }
    let (st, body) = c.post("admin", "admin/tick", json!({"now": "tomorrow"})).await;
    assert_eq!((st, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["now".to_owned()]), "{body}");
    let (st, r) = c.post("admin", "admin/tick", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(c.get("rst_user", &app).await.1["overdue"], false);

    // On the deadline day it is not overdue yet; the day after, it is.
    let (_, r) = c.post("admin", "admin/tick", json!({"now": noon(&deadline)})).await;
    assert_eq!(r["applications_overdue"], 0, "{r}");
    let after = civil(days_of(&deadline) + 1);
    let (st, r) = c.post("admin", "admin/tick", json!({"now": noon(&after)})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert!(r["applications_overdue"].as_u64().unwrap() >= 1, "{r}");
    let (_, a) = c.get("gat_review", &app).await;
    assert_eq!((a["status"].as_str(), a["overdue"].as_bool()), (Some("submitted"), Some(true)), "{a}");
    assert_eq!(a["history"].as_array().unwrap().last().unwrap()["action"], "overdue");
    let (_, o) = c.get("rst_user", &obj).await;
    assert_eq!(o["overdue"], true, "{o}");
    let (_, list) = c.get("gat_review", "applications?as=provider&status=submitted").await;
    assert!(list["items"].as_array().unwrap().iter().any(|x| x["id"] == a["id"] && x["overdue"] == true));
    let (_, inbox) = c.get("gat_review", "inbox").await;
    let item = inbox["items"].as_array().unwrap().iter().find(|i| i["id"] == a["id"]).unwrap().clone();
    assert_eq!(item["overdue"], true, "{item}");
    // Overdue applications can still be answered.
    let (st, a) = c.post("gat_review", &format!("{app}/approve"), json!({})).await;
    assert_eq!((st, a["status"].as_str()), (StatusCode::OK, Some("approved")), "{a}");

    // Re-certification after 90 unused days, expiry after the validity.
    let (uncond, uitems) = c.entry(None, "unconditional").await;
    let mut req = application(&uncond, &uitems[..1]);
    req["valid_until"] = json!(day(300));
    let (_, ua) = c.post("rst_user", "applications", req).await;
    let grant = format!("grants/{}", ua["grant"]["id"].as_str().unwrap());
    c.post("admin", "admin/tick", json!({"now": noon(&day(80))})).await;
    assert_eq!(c.get("rst_user", &grant).await.1["recertify"], false);
    let (_, r) = c.post("admin", "admin/tick", json!({"now": noon(&day(100))})).await;
    assert!(r["grants_recertify"].as_u64().unwrap() >= 1, "{r}");
    let (_, g) = c.get("rst_user", &grant).await;
    assert_eq!((g["status"].as_str(), g["recertify"].as_bool()), (Some("active"), Some(true)), "{g}");
    let (_, list) = c.get("rst_user", "grants").await;
    assert!(list["items"].as_array().unwrap().iter().any(|x| x["id"] == g["id"] && x["recertify"] == true));
    c.post("admin", "admin/tick", json!({"now": noon(&day(300))})).await;
    assert_eq!(c.get("rst_user", &grant).await.1["status"], "active");
    let (_, r) = c.post("admin", "admin/tick", json!({"now": noon(&day(302))})).await;
    assert!(r["grants_expired"].as_u64().unwrap() >= 1, "{r}");
    let (_, g) = c.get("rst_user", &grant).await;
    assert_eq!(g["status"], "expired", "{g}");
    assert_eq!(c.post("authority", &format!("{grant}/resume"), json!({"reason": "r"})).await.0, StatusCode::CONFLICT);

    // Retiring an entry suspends its active grants.
    let mut e = entry_json("301888", "共享测试用无条件资源");
    e["share"] = json!({"type": "unconditional", "condition": null, "legal_basis": null, "modes": ["query"]});
    let (st, created) = c.post("gat_catalog", "catalog", e).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let code = created["code"].as_str().unwrap().to_owned();
    c.post("gat_catalog", &format!("catalog/{code}/submit"), json!({})).await;
    let (st, _) = c.post("authority", &format!("catalog/{code}/publish"), json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, published) = c.get("rst_user", &format!("catalog/{code}")).await;
    let a = apply(&c, &published, &["企业名称".to_owned()]).await;
    let grant = format!("grants/{}", a["grant"]["id"].as_str().unwrap());
    assert_eq!(c.get("rst_user", &grant).await.1["status"], "active");
    let (st, body) = c.post("gat_catalog", &format!("catalog/{code}/retire"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (_, g) = c.get("rst_user", &grant).await;
    assert_eq!(g["status"], "suspended", "{g}");
    assert!(g["last_change"]["reason"].as_str().unwrap().contains("撤销"), "{g}");
    // A retired entry takes no applications.
    let (st, body) = c.post("rst_user", "applications", application(&published, &["企业名称".to_owned()])).await;
    assert_eq!((st, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["resource".to_owned()]), "{body}");
}
on_both!(tick_and_retirement_work, tick_and_retirement);

async fn objections_demands_inbox(b: Backend) {
    let c = Ctx::new(b).await;
    let (entry, items) = c.entry(Some("gat"), "conditional").await;

    // Objections.
    let events = c.events().await;
    let (st, body) = c
        .post(
            "rst_user",
            "objections",
            json!({"resource": "999999/000001", "record_key": "", "item": "无此项",
                                                               "description": " "}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["description", "record_key", "resource"]);
    let (st, body) = c
        .post(
            "rst_user",
            "objections",
            json!({"resource": entry["code"], "record_key": "k", "item": "无此项",
                                                               "description": "d"}),
        )
        .await;
    assert_eq!((st, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["item".to_owned()]), "{body}");
    assert_eq!(c.post("gat_review", "objections", json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(events, c.events().await);
    let (st, o) = c
        .post(
            "rst_user",
            "objections",
            json!({"resource": entry["code"], "record_key": "130102199001011234",
                                                            "item": items[0], "description": "与户籍登记不一致"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    assert_eq!(o["status"], "submitted");
    let (_, dl) =
        c.s.call(reqwest::Method::GET, &format!("calendar/deadline?from={}&working_days=10", day(0)), None, None).await;
    assert_eq!(o["deadline"], dl["deadline"]);
    let obj = format!("objections/{}", o["id"].as_str().unwrap());
    for u in ["rst_user", "gat_review", "authority"] {
        assert_eq!(c.get(u, &obj).await.0, StatusCode::OK, "{u}");
    }
    let (_, inbox) = c.get("gat_review", "inbox").await;
    assert!(inbox["items"].as_array().unwrap().iter().any(|i| i["id"] == o["id"] && i["kind"] == "objection"));
    let fix = json!({"correction": {"出生日期": "1990-01-01"}});
    denied(
        &c,
        &obj,
        &[
            ("scjg_user", &obj, Value::Null, StatusCode::NOT_FOUND),
            ("scjg_review", &format!("{obj}/confirm"), fix.clone(), StatusCode::NOT_FOUND),
            ("scjg_review", &format!("{obj}/reject"), json!({"reason": "r"}), StatusCode::NOT_FOUND),
            ("gat_user", &format!("{obj}/confirm"), fix.clone(), StatusCode::FORBIDDEN),
            ("rst_user", &format!("{obj}/reject"), json!({"reason": "r"}), StatusCode::FORBIDDEN),
            ("gat_review", &format!("{obj}/confirm"), json!({"reason": "核实"}), StatusCode::UNPROCESSABLE_ENTITY),
            ("gat_review", &format!("{obj}/reject"), json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        ],
    )
    .await;
    let listed = |v: &Value, id: &Value| v["items"].as_array().unwrap().iter().any(|x| x["id"] == *id);
    assert!(listed(&c.get("rst_user", "objections?as=consumer").await.1, &o["id"]));
    assert!(listed(&c.get("gat_review", "objections?as=provider").await.1, &o["id"]));
    assert!(!listed(&c.get("scjg_review", "objections?as=provider").await.1, &o["id"]));
    let (st, o2) = c.post("gat_review", &format!("{obj}/confirm"), fix.clone()).await;
    assert_eq!((st, o2["status"].as_str()), (StatusCode::OK, Some("confirmed")), "{o2}");
    assert_eq!(o2["answer"]["correction"]["出生日期"], "1990-01-01");
    denied(&c, &obj, &[("gat_review", &format!("{obj}/reject"), json!({"reason": "r"}), StatusCode::CONFLICT)]).await;
    let (_, o3) = c
        .post("rst_user", "objections", json!({"resource": entry["code"], "record_key": "x", "description": "d"}))
        .await;
    let (st, o3) = c
        .post(
            "gat_review",
            &format!("objections/{}/reject", o3["id"].as_str().unwrap()),
            json!({"reason": "经核实无误"}),
        )
        .await;
    assert_eq!((st, o3["status"].as_str()), (StatusCode::OK, Some("rejected")), "{o3}");

    // Demands.
    let (st, body) =
        c.post("rst_user", "demands", json!({"description": "", "purpose": {"kind": "nope", "text": "t"}})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["description", "purpose.kind"]);
    let (st, d) = c.post("rst_user", "demands", json!({"description": "需要全省婚姻登记信息用于待遇核查", "items": ["姓名", "登记日期"],
                                                         "purpose": {"kind": "business_collaboration", "text": "养老待遇核查"}})).await;
    assert_eq!((st, d["status"].as_str()), (StatusCode::CREATED, Some("submitted")), "{d}");
    let dem = format!("demands/{}", d["id"].as_str().unwrap());
    let (_, inbox) = c.get("authority", "inbox").await;
    let kinds: Vec<&str> = inbox["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"demand") && kinds.contains(&"catalog_entry"), "{kinds:?}");
    let created: Vec<&str> =
        inbox["items"].as_array().unwrap().iter().map(|i| i["created_at"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    let to_gat = json!({"department": c.dept["gat"]});
    denied(
        &c,
        &dem,
        &[
            ("scjg_user", &dem, Value::Null, StatusCode::NOT_FOUND),
            ("gat_review", &dem, Value::Null, StatusCode::NOT_FOUND),
            ("gat_review", &format!("{dem}/route"), to_gat.clone(), StatusCode::FORBIDDEN),
            ("rst_user", &format!("{dem}/route"), to_gat.clone(), StatusCode::FORBIDDEN),
            (
                "authority",
                &format!("{dem}/route"),
                json!({"department": "no-such-dept"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            ("authority", &format!("{dem}/answer"), json!({"decline": "x"}), StatusCode::FORBIDDEN),
        ],
    )
    .await;
    let (st, d) = c.post("authority", &format!("{dem}/route"), to_gat.clone()).await;
    assert_eq!((st, d["status"].as_str()), (StatusCode::OK, Some("routed")), "{d}");
    assert_eq!(d["routed_to"]["id"], c.dept["gat"].as_str());
    let (_, inbox) = c.get("gat_catalog", "inbox").await;
    assert!(inbox["items"].as_array().unwrap().iter().any(|i| i["id"] == d["id"] && i["kind"] == "demand"), "{inbox}");
    let (scjg_entry, _) = c.entry(Some("scjg"), "conditional").await;
    denied(
        &c,
        &dem,
        &[
            ("authority", &format!("{dem}/route"), to_gat.clone(), StatusCode::CONFLICT),
            ("scjg_catalog", &dem, Value::Null, StatusCode::NOT_FOUND),
            ("scjg_catalog", &format!("{dem}/answer"), json!({"decline": "x"}), StatusCode::NOT_FOUND),
            ("rst_user", &format!("{dem}/answer"), json!({"decline": "x"}), StatusCode::FORBIDDEN),
            ("gat_user", &format!("{dem}/answer"), json!({"decline": "x"}), StatusCode::FORBIDDEN),
            (
                "gat_catalog",
                &format!("{dem}/answer"),
                json!({"resource": scjg_entry["code"]}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            ("gat_catalog", &format!("{dem}/answer"), json!({}), StatusCode::UNPROCESSABLE_ENTITY),
            (
                "gat_catalog",
                &format!("{dem}/answer"),
                json!({"resource": entry["code"], "decline": "x"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ],
    )
    .await;
    for u in ["rst_user", "gat_user", "authority"] {
        assert_eq!(c.get(u, &dem).await.0, StatusCode::OK, "{u}");
    }
    let (st, d) = c.post("gat_catalog", &format!("{dem}/answer"), json!({"resource": entry["code"]})).await;
    assert_eq!((st, d["status"].as_str()), (StatusCode::OK, Some("answered")), "{d}");
    assert_eq!(d["answer"]["resource"], entry["code"]);
    denied(&c, &dem, &[("gat_review", &format!("{dem}/answer"), json!({"decline": "x"}), StatusCode::CONFLICT)]).await;
    let (_, d2) = c.post("rst_user", "demands", json!({"description": "另一需求", "purpose": "统计分析"})).await;
    let dem2 = format!("demands/{}", d2["id"].as_str().unwrap());
    assert_eq!(d2["purpose"]["kind"], "other", "{d2}");
    assert_eq!(c.post("gat_review", &format!("{dem2}/answer"), json!({"decline": "x"})).await.0, StatusCode::NOT_FOUND);
    c.post("authority", &format!("{dem2}/route"), to_gat.clone()).await;
    let (st, d2) = c.post("gat_admin", &format!("{dem2}/answer"), json!({"decline": "本部门不掌握该数据"})).await;
    assert_eq!((st, d2["status"].as_str()), (StatusCode::OK, Some("declined")), "{d2}");
    assert!(listed(&c.get("rst_user", "demands").await.1, &d["id"]));
    assert!(listed(&c.get("gat_catalog", "demands").await.1, &d["id"]));
    assert!(listed(&c.get("authority", "demands").await.1, &d2["id"]));
    assert!(!listed(&c.get("scjg_user", "demands").await.1, &d["id"]));
    assert_eq!(c.get("scjg_user", "demands?as=all").await.0, StatusCode::FORBIDDEN);
}
on_both!(objections_demands_inbox_work, objections_demands_inbox);
