//! Applications by share type, answers, grants, disputes and coordination.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, application, apply, day, denied, fields};
use crate::harness::Backend;
use crate::on_both;

async fn applications_and_grants(b: Backend) {
    let c = Ctx::new(b).await;
    let (entry, items) = c.entry(Some("gat"), "conditional").await;
    let code = entry["code"].as_str().unwrap();

    // Every problem at once; nothing written.
    let events = c.events().await;
    let bad = json!({"resource": code, "items": ["不存在的信息项", items[0]], "purpose": {"kind": "curiosity", "text": ""},
                     "basis": " ", "modes": ["teleport"], "valid_until": day(0)});
    let (st, body) = c.post("rst_user", "applications", bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["basis", "items[0]", "modes[0]", "purpose.kind", "purpose.text", "valid_until"]);
    for (patch, field) in [
        (json!({"valid_until": day(-3)}), "valid_until"),
        (json!({"valid_until": day(400)}), "valid_until"),
        (json!({"valid_until": "2026/12/31"}), "valid_until"),
        (json!({"items": []}), "items"),
        (json!({"resource": "999999/999999"}), "resource"),
    ] {
        let mut a = application(&entry, &items);
        a.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        let (st, body) = c.post("rst_user", "applications", a).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(fields(&body).contains(&field.to_owned()), "{field}: {body}");
    }
    let (st, body) = c.post("gat_user", "applications", application(&entry, &items)).await;
    assert_eq!((st, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["resource".to_owned()]), "{body}");
    let (st, _) = c.post("gat_review", "applications", application(&entry, &items)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "reviewers do not apply");
    let (_, list) = c.get("rst_user", "applications").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    assert_eq!(events, c.events().await);

    // Conditional: submitted with a deadline of 10 working days on the holiday calendar.
    let a = apply(&c, &entry, &items[..2]).await;
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(a["status"], "submitted", "{a}");
    let (_, dl) =
        c.s.call(reqwest::Method::GET, &format!("calendar/deadline?from={}&working_days=10", day(0)), None, None).await;
    assert_eq!(a["deadline"], dl["deadline"], "{a} {dl}");
    assert_eq!(a["deadline_covered"], dl["covered"]);
    assert_eq!(a["overdue"], false);
    assert_eq!(a["consumer"]["id"], c.dept["rst"].as_str());
    assert_eq!(a["provider"]["id"], c.dept["gat"].as_str());
    assert_eq!(a["purpose"]["kind"], "data_verification");
    assert_eq!(a["items"], json!(items[..2]));
    assert_eq!(a["history"].as_array().unwrap().len(), 1, "{a}");
    assert!(a["grant"].is_null());
    let app = format!("applications/{id}");

    // Who sees it, who may answer.
    for u in ["rst_user", "gat_review", "gat_user", "authority"] {
        assert_eq!(c.get(u, &app).await.0, StatusCode::OK, "{u}");
    }
    let ok_body = json!({"items": [items[0]]});
    denied(
        &c,
        &app,
        &[
            ("scjg_user", &app, Value::Null, StatusCode::NOT_FOUND),
            ("scjg_review", &format!("{app}/approve"), ok_body.clone(), StatusCode::NOT_FOUND),
            ("scjg_review", &format!("{app}/refuse"), json!({"reason": "r"}), StatusCode::NOT_FOUND),
            ("scjg_review", &format!("{app}/return"), json!({"comment": "c"}), StatusCode::NOT_FOUND),
            ("gat_user", &format!("{app}/approve"), ok_body.clone(), StatusCode::FORBIDDEN),
            ("rst_review", &format!("{app}/approve"), ok_body.clone(), StatusCode::FORBIDDEN),
            ("authority", &format!("{app}/approve"), ok_body.clone(), StatusCode::FORBIDDEN),
            (
                "gat_review",
                &format!("{app}/approve"),
                json!({"items": ["不存在的信息项"]}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "gat_review",
                &format!("{app}/approve"),
                json!({"valid_until": day(-1)}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "gat_review",
                &format!("{app}/approve"),
                json!({"valid_until": day(201)}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "gat_review",
                &format!("{app}/approve"),
                json!({"masking": {items[0].as_str(): "blur"}}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "gat_review",
                &format!("{app}/approve"),
                json!({"quota": {"requests_per_day": 0}}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            ("gat_review", &format!("{app}/refuse"), json!({"reason": " "}), StatusCode::UNPROCESSABLE_ENTITY),
            ("gat_review", &format!("{app}/return"), json!({}), StatusCode::UNPROCESSABLE_ENTITY),
            ("rst_user", &format!("{app}/dispute"), json!({"reason": "r"}), StatusCode::CONFLICT),
            (
                "authority",
                &format!("{app}/coordinate"),
                json!({"decision": "approve", "reason": "r"}),
                StatusCode::CONFLICT,
            ),
        ],
    )
    .await;
    let (_, p) = c
        .post("gat_review", &format!("{app}/approve"), json!({"items": ["x", items[0]], "masking": {"y": "name"}}))
        .await;
    assert_eq!(fields(&p), ["items[0]", "masking.y"], "{p}");

    // Lists: each side, the authority, nobody else.
    let listed = |v: &Value| v["items"].as_array().unwrap().iter().any(|x| x["id"] == id.as_str());
    assert!(listed(&c.get("rst_user", "applications").await.1));
    assert!(listed(&c.get("gat_review", "applications?as=provider&status=submitted").await.1));
    assert!(!listed(&c.get("gat_review", "applications?as=provider&status=approved").await.1));
    assert!(!listed(&c.get("gat_review", "applications").await.1));
    assert!(!listed(&c.get("scjg_user", "applications?as=provider").await.1));
    assert!(listed(&c.get("authority", "applications?as=all").await.1));
    assert_eq!(c.get("rst_user", "applications?as=all").await.0, StatusCode::FORBIDDEN);
    assert_eq!(c.get("rst_user", "applications?as=everyone").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(c.get("rst_user", "applications?status=pending").await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Approve with fewer items, shorter validity, masking and quota.
    let body = json!({"items": [items[0]], "valid_until": day(100), "masking": {items[0].as_str(): "id_card"},
                      "quota": {"requests_per_day": 1000, "records_per_day": 20000}});
    let (st, a) = c.post("gat_review", &format!("{app}/approve"), body).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "approved");
    let g = &a["grant"];
    assert_eq!(g["status"], "active", "{a}");
    assert_eq!(g["items"], json!([items[0]]));
    assert_eq!(g["valid_until"], day(100).as_str());
    assert_eq!(g["valid_from"], day(0).as_str());
    assert_eq!(g["masking"][items[0].as_str()], "id_card");
    assert_eq!(g["quota"]["requests_per_day"], 1000);
    assert_eq!(g["purpose"]["kind"], "data_verification");
    assert_eq!(g["application"], id.as_str());
    assert_eq!(g["recertify"], false);
    assert_eq!(a["history"].as_array().unwrap().len(), 2, "{a}");
    let grant = format!("grants/{}", g["id"].as_str().unwrap());
    for (path, body) in
        [("approve", json!({})), ("refuse", json!({"reason": "r"})), ("return", json!({"comment": "c"}))]
    {
        let (st, b) = c.post("gat_review", &format!("{app}/{path}"), body).await;
        assert_eq!(st, StatusCode::CONFLICT, "second answer {path}: {b}");
    }

    // Grants: both sides and the authority see it; a third department does not.
    for u in ["rst_user", "gat_review", "authority"] {
        assert_eq!(c.get(u, &grant).await.0, StatusCode::OK, "{u}");
    }
    let gid = g["id"].as_str().unwrap();
    let glisted = |v: &Value| v["items"].as_array().unwrap().iter().any(|x| x["id"] == gid);
    assert!(glisted(&c.get("rst_user", "grants").await.1));
    assert!(glisted(&c.get("gat_user", "grants?as=provider").await.1));
    assert!(!glisted(&c.get("scjg_user", "grants?as=consumer").await.1));
    assert!(!glisted(&c.get("scjg_user", "grants?as=provider").await.1));
    let r = json!({"reason": "核查"});
    denied(
        &c,
        &grant,
        &[
            ("scjg_user", &grant, Value::Null, StatusCode::NOT_FOUND),
            ("scjg_review", &format!("{grant}/suspend"), r.clone(), StatusCode::NOT_FOUND),
            ("scjg_review", &format!("{grant}/revoke"), r.clone(), StatusCode::NOT_FOUND),
            ("rst_user", &format!("{grant}/suspend"), r.clone(), StatusCode::FORBIDDEN),
            ("gat_user", &format!("{grant}/revoke"), r.clone(), StatusCode::FORBIDDEN),
            ("gat_review", &format!("{grant}/resume"), r.clone(), StatusCode::CONFLICT),
            ("gat_review", &format!("{grant}/suspend"), json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        ],
    )
    .await;
    let (st, g) = c.post("gat_review", &format!("{grant}/suspend"), r.clone()).await;
    assert_eq!((st, g["status"].as_str()), (StatusCode::OK, Some("suspended")), "{g}");
    assert_eq!(c.post("gat_review", &format!("{grant}/suspend"), r.clone()).await.0, StatusCode::CONFLICT);
    let (st, g) = c.post("gat_admin", &format!("{grant}/resume"), r.clone()).await;
    assert_eq!((st, g["status"].as_str()), (StatusCode::OK, Some("active")), "{g}");
    let (st, g) = c.post("authority", &format!("{grant}/revoke"), json!({"reason": "用途已完成"})).await;
    assert_eq!((st, g["status"].as_str()), (StatusCode::OK, Some("revoked")), "{g}");
    assert_eq!(g["last_change"]["reason"], "用途已完成");
    denied(
        &c,
        &grant,
        &[
            ("gat_review", &format!("{grant}/revoke"), r.clone(), StatusCode::CONFLICT),
            ("gat_review", &format!("{grant}/resume"), r.clone(), StatusCode::CONFLICT),
            ("authority", &format!("{grant}/suspend"), r.clone(), StatusCode::CONFLICT),
        ],
    )
    .await;
    assert!(glisted(&c.get("rst_user", "grants?status=revoked").await.1));

    // The audit chain holds every step, and it verifies.
    let (st, ev) = c.get("auditor", &format!("audit/events?resource={code}&limit=500")).await;
    assert_eq!(st, StatusCode::OK, "{ev}");
    let actions: Vec<&str> = ev["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for want in
        ["application.submit", "application.approve", "grant.create", "grant.suspend", "grant.resume", "grant.revoke"]
    {
        assert!(actions.contains(&want), "{want} missing: {actions:?}");
    }
    let (_, v) = c.get("auditor", "audit/verify").await;
    assert_eq!(v["ok"], true, "{v}");

    // Paging.
    apply(&c, &entry, &items[..1]).await;
    let (_, p1) = c.get("rst_user", "applications?limit=1").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 1);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = c.get("rst_user", &format!("applications?limit=1&cursor={cursor}")).await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
}
on_both!(applications_and_grants_work, applications_and_grants);

async fn decisions_disputes_coordination(b: Backend) {
    let c = Ctx::new(b).await;
    let (entry, items) = c.entry(Some("gat"), "conditional").await;

    // Unconditional: approved at once with a grant; the purpose is kept.
    let (uncond, uitems) = c.entry(None, "unconditional").await;
    let a = apply(&c, &uncond, &uitems[..2]).await;
    assert_eq!(a["status"], "approved", "{a}");
    assert_eq!(a["grant"]["status"], "active");
    assert_eq!(a["grant"]["purpose"]["text"], "社会保险待遇资格认证核验");
    assert!(a["deadline"].is_null());

    // not_shared: refused at once with the entry's legal basis.
    let (st, body) = c.get("rst_user", "catalog?share_type=not_shared&status=published&limit=200").await;
    assert_eq!(st, StatusCode::OK);
    let ns = body["items"].as_array().unwrap().iter().find(|e| e["provider"]["id"] != c.dept["rst"].as_str()).unwrap();
    let names: Vec<String> =
        ns["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect();
    let mut req = application(ns, &names[..1]);
    req["modes"] = json!(["query"]);
    let (st, a) = c.post("rst_user", "applications", req).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["status"], "refused", "{a}");
    assert_eq!(a["refusal"]["legal_basis"], ns["share"]["legal_basis"], "{a}");
    assert!(a["grant"].is_null());
    let ns_app = format!("applications/{}", a["id"].as_str().unwrap());
    let (st, a) = c.post("rst_user", &format!("{ns_app}/dispute"), json!({"reason": "法定职责需要"})).await;
    assert_eq!((st, a["status"].as_str()), (StatusCode::OK, Some("disputed")), "{a}");

    // Refusal by the provider, dispute, coordination that confirms the refusal: final.
    let a = apply(&c, &entry, &items[..2]).await;
    let app = format!("applications/{}", a["id"].as_str().unwrap());
    let (st, a) = c
        .post(
            "gat_review",
            &format!("{app}/refuse"),
            json!({"reason": "超出业务范围", "legal_basis": "《数据安全法》"}),
        )
        .await;
    assert_eq!((st, a["status"].as_str()), (StatusCode::OK, Some("refused")), "{a}");
    assert_eq!(a["refusal"]["reason"], "超出业务范围");
    let coord = json!({"decision": "refuse", "reason": "维持原决定"});
    denied(
        &c,
        &app,
        &[
            ("scjg_user", &format!("{app}/dispute"), json!({"reason": "r"}), StatusCode::NOT_FOUND),
            ("gat_user", &format!("{app}/dispute"), json!({"reason": "r"}), StatusCode::FORBIDDEN),
            ("rst_user", &format!("{app}/dispute"), json!({"reason": ""}), StatusCode::UNPROCESSABLE_ENTITY),
            ("authority", &format!("{app}/coordinate"), coord.clone(), StatusCode::CONFLICT),
        ],
    )
    .await;
    let (st, a) = c.post("rst_user", &format!("{app}/dispute"), json!({"reason": "系法定职责所需"})).await;
    assert_eq!((st, a["status"].as_str()), (StatusCode::OK, Some("disputed")), "{a}");
    let (_, inbox) = c.get("authority", "inbox").await;
    assert!(
        inbox["items"].as_array().unwrap().iter().any(|i| i["id"] == a["id"] && i["kind"] == "application"),
        "{inbox}"
    );
    denied(
        &c,
        &app,
        &[
            ("rst_user", &format!("{app}/dispute"), json!({"reason": "r"}), StatusCode::CONFLICT),
            ("rst_user", &format!("{app}/coordinate"), coord.clone(), StatusCode::FORBIDDEN),
            ("gat_review", &format!("{app}/coordinate"), coord.clone(), StatusCode::FORBIDDEN),
            ("scjg_user", &format!("{app}/coordinate"), coord.clone(), StatusCode::FORBIDDEN),
            (
                "authority",
                &format!("{app}/coordinate"),
                json!({"decision": "maybe", "reason": ""}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "authority",
                &format!("{app}/coordinate"),
                json!({"decision": "approve", "reason": "r", "items": ["无"]}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ],
    )
    .await;
    let (st, a) = c.post("authority", &format!("{app}/coordinate"), coord.clone()).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!((a["status"].as_str(), a["final"].as_bool()), (Some("refused"), Some(true)), "{a}");
    assert_eq!(a["coordination"]["reason"], "维持原决定");
    denied(
        &c,
        &app,
        &[
            ("rst_user", &format!("{app}/dispute"), json!({"reason": "再议"}), StatusCode::CONFLICT),
            ("authority", &format!("{app}/coordinate"), coord.clone(), StatusCode::CONFLICT),
        ],
    )
    .await;

    // A coordination that approves with conditions: a grant, final.
    let a = apply(&c, &entry, &items[..2]).await;
    let app = format!("applications/{}", a["id"].as_str().unwrap());
    c.post("gat_review", &format!("{app}/refuse"), json!({"reason": "暂不具备条件"})).await;
    c.post("rst_user", &format!("{app}/dispute"), json!({"reason": "急需"})).await;
    let body = json!({"decision": "approve", "reason": "依职责应予共享", "items": [items[1]], "valid_until": day(30),
                      "masking": {items[1].as_str(): "redact"}});
    let (st, a) = c.post("authority", &format!("{app}/coordinate"), body).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!((a["status"].as_str(), a["final"].as_bool()), (Some("approved"), Some(true)), "{a}");
    assert_eq!(a["grant"]["items"], json!([items[1]]));
    assert_eq!(a["grant"]["masking"][items[1].as_str()], "redact");
    assert_eq!(c.post("rst_user", &format!("{app}/dispute"), json!({"reason": "r"})).await.0, StatusCode::CONFLICT);
    let actions: Vec<&str> = a["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submit", "refuse", "dispute", "coordinate"], "{a}");

    // Return: back to the consumer's inbox.
    let a = apply(&c, &entry, &items[..1]).await;
    let app = format!("applications/{}", a["id"].as_str().unwrap());
    let (_, inbox) = c.get("gat_review", "inbox").await;
    let mine = inbox["items"].as_array().unwrap().iter().find(|i| i["id"] == a["id"]).unwrap().clone();
    assert_eq!((mine["kind"].as_str(), mine["overdue"].as_bool()), (Some("application"), Some(false)), "{mine}");
    assert_eq!(mine["deadline"], a["deadline"]);
    let (st, a) = c.post("gat_review", &format!("{app}/return"), json!({"comment": "请补充法律依据"})).await;
    assert_eq!((st, a["status"].as_str()), (StatusCode::OK, Some("returned")), "{a}");
    let (_, inbox) = c.get("rst_user", "inbox").await;
    assert!(inbox["items"].as_array().unwrap().iter().any(|i| i["id"] == a["id"]), "{inbox}");
    let (_, inbox) = c.get("gat_review", "inbox").await;
    assert!(!inbox["items"].as_array().unwrap().iter().any(|i| i["id"] == a["id"]), "{inbox}");
    assert_eq!(c.get("scjg_user", "inbox").await.0, StatusCode::OK);
    let (_, inbox) = c.get("scjg_review", "inbox").await;
    assert!(!inbox["items"].as_array().unwrap().iter().any(|i| i["id"] == a["id"]), "{inbox}");
}
on_both!(decisions_disputes_coordination_work, decisions_disputes_coordination);
