//! Table sync with hostile nodes over real WebSockets (the test speaks the node protocol for both sides): a
//! provider's node that answers a page with a column it was not asked for, and a consumer's node that
//! acknowledges a batch it was never sent. Each is refused and audited, the subscription shows the error, nothing
//! is acknowledged on the bus; once the nodes answer honestly, the batch is delivered. The same for pages of a
//! first pass in storage order without their positions, or with something else than positions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use shuqiao_exchange::{Column, Frame, KeyRange, NodeKey, Reply, Request, SessionKey};

use super::hostile_node::{answer, hello, next_request, open, recv, register, send};
use super::{X, id_card, wait_connected, wait_event};
use crate::harness::Backend;
use crate::on_both;

/// Connects a node of `key` and waits for its welcome; returns the socket and its session key.
async fn connect(x: &X, node: &str, key: &NodeKey) -> (super::hostile_node::Ws, SessionKey) {
    let (mut ws, challenge) = open(x).await;
    let (frame, session) = hello(node, key, key, &challenge);
    send(&mut ws, &frame).await;
    match recv(&mut ws).await {
        Some(Frame::Welcome { .. }) => (ws, session),
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// Both hostile nodes connected, a table mounted (with `change_column` if given) and checked, and `scjg_user`
/// subscribed to 公民身份号码 and 姓名 of it.
struct Subscribed {
    x: X,
    provider: super::hostile_node::Ws,
    p_key: SessionKey,
    consumer: super::hostile_node::Ws,
    c_key: SessionKey,
    id: String,
    object: String,
    zhang: String,
}

/// The source table's columns as the hostile provider describes them.
fn source_columns(change_column: Option<&str>) -> Vec<Column> {
    ["sfzh", "xm", "lxdh", "hjdz", "hyzk"]
        .into_iter()
        .chain(change_column)
        .map(|c| Column { name: c.into(), data_type: "TEXT".into() })
        .collect()
}

async fn subscribe(b: Backend, change_column: Option<&str>) -> Subscribed {
    let x = X::with_args(b, &["--sync-poll-ms", "100"]).await;
    let gat_key = NodeKey::generate().unwrap();
    let scjg_key = NodeKey::generate().unwrap();
    let gat_node = register(&x, "gat_admin", "gat-hostile", &gat_key).await;
    let scjg_node = register(&x, "scjg_admin", "scjg-hostile", &scjg_key).await;
    let (mut provider, p_key) = connect(&x, &gat_node, &gat_key).await;
    let (consumer, c_key) = connect(&x, &scjg_node, &scjg_key).await;
    wait_connected(&x, &gat_node, true).await;

    let code = x.entry(&["sync"]).await;
    let mount_path = format!("catalog/{code}/mount");
    let mut mount = json!({
        "kind": "table", "node": gat_node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"],
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "联系电话": "lxdh", "户籍地址": "hjdz", "婚姻状况": "hyzk"}
    });
    if let Some(cc) = change_column {
        mount["change_column"] = json!(cc);
    }
    let (st, m) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let check = async { x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await };
    let serve = async {
        let (id, req) = next_request(&mut provider).await;
        assert!(matches!(req, Request::Columns { .. }), "{req:?}");
        let columns = source_columns(change_column);
        send(&mut provider, &answer(&p_key, id, &Reply::Columns { columns })).await;
    };
    let ((st, check), ()) = tokio::join!(check, serve);
    assert_eq!(check["ok"], true, "{st} {check}");
    let grant = x.grant(&code, &["公民身份号码", "姓名"], &["sync"], json!({})).await;
    let (st, sub) = x
        .post("scjg_user", "subscriptions", json!({"grant": grant["id"], "node": scjg_node, "target_table": "copy"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sub}");
    let id = sub["id"].as_str().unwrap().to_owned();
    let object = format!("subscription:{id}");
    Subscribed { x, provider, p_key, consumer, c_key, id, object, zhang: id_card("13010219800101001") }
}

/// The subscription once its first batch is applied (within 30 s).
async fn first_applied(x: &X, id: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, s) = x.get("scjg_user", &format!("subscriptions/{id}")).await;
        if s["checkpoint"].as_u64() >= Some(1) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what} never applied: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn hostile_sync(b: Backend) {
    let Subscribed { x, mut provider, p_key, mut consumer, c_key, id, object, zhang } = subscribe(b, None).await;

    // The provider's node: the first page carries a column nobody asked for; later pages are honest.
    let scans = Arc::new(AtomicU64::new(0));
    let provider_task = {
        let (scans, zhang) = (scans.clone(), zhang.clone());
        tokio::spawn(async move {
            loop {
                let (rid, req) = next_request(&mut provider).await;
                let Request::Scan { columns, limit, .. } = req else { panic!("expected a scan, got {req:?}") };
                assert_eq!(columns, vec!["sfzh".to_owned(), "xm".to_owned()], "granted items' columns only");
                let n = scans.fetch_add(1, Ordering::SeqCst);
                let reply = if n == 0 {
                    let mut cols = columns.clone();
                    cols.push("secret".into());
                    Reply::Rows {
                        columns: cols, rows: vec![vec![json!(zhang), json!("张三"), json!("不该给的")]]
                    }
                } else {
                    assert!(limit >= 1);
                    Reply::Rows { columns, rows: vec![vec![json!(zhang), json!("张三")]] }
                };
                send(&mut provider, &answer(&p_key, rid, &reply)).await;
            }
        })
    };
    let refused = wait_event(&x, "data.sync", |e| e["object"] == object.as_str() && e["result"] == "refused").await;
    assert!(refused["detail"]["reason"].as_str().unwrap().contains("other columns than asked for"), "{refused}");

    // The consumer's node: acknowledges batch 2 when batch 1 was sent, then answers honestly.
    let applies = Arc::new(AtomicU64::new(0));
    let consumer_task = {
        let applies = applies.clone();
        tokio::spawn(async move {
            let mut checkpoint = 0u64;
            loop {
                let (rid, req) = next_request(&mut consumer).await;
                let reply = match req {
                    Request::Checkpoint { .. } => Reply::Checkpoint { seq: checkpoint },
                    Request::Apply { seq, upserts, columns, .. } => {
                        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                        assert_eq!(names, vec!["公民身份号码", "姓名"], "{columns:?}");
                        assert!(!serde_json::to_string(&upserts).unwrap().contains("不该给的"));
                        if applies.fetch_add(1, Ordering::SeqCst) == 0 {
                            Reply::Applied { seq: seq + 1, already: false }
                        } else {
                            checkpoint = seq;
                            Reply::Applied { seq, already: false }
                        }
                    }
                    other => panic!("unexpected request {other:?}"),
                };
                send(&mut consumer, &answer(&c_key, rid, &reply)).await;
            }
        })
    };
    let failed = wait_event(&x, "data.sync", |e| e["object"] == object.as_str() && e["result"] == "failed").await;
    assert!(
        failed["detail"]["reason"].as_str().unwrap().contains("never")
            || failed.to_string().contains("acknowledged batch 2"),
        "{failed}"
    );

    // Afterwards the honest answers go through: batch 1 is applied and acknowledged, nothing else was.
    let s = first_applied(&x, &id, "batch 1").await;
    assert_eq!(s["rows_upserted"], 1, "{s}");
    let (_, batches) = x.get("scjg_user", &format!("subscriptions/{id}/batches")).await;
    let first: &Value = &batches["items"][0];
    assert_eq!((first["seq"].as_i64(), first["upserts"].as_i64()), (Some(1), Some(1)), "{batches}");
    assert!(first["applied_at"].is_string(), "{first}");
    let sent = wait_event(&x, "data.sync", |e| e["object"] == object.as_str() && e["result"] == "ok").await;
    assert_eq!(sent["detail"]["checksum"], first["checksum"], "{sent}");
    assert!(!x.all_events().await.iter().any(|e| e.to_string().contains("不该给的")), "the refused value is nowhere");
    assert!(scans.load(Ordering::SeqCst) >= 2 && applies.load(Ordering::SeqCst) >= 2);
    provider_task.abort();
    consumer_task.abort();
}

on_both!(hostile_nodes_in_table_sync, hostile_sync);

/// The first pass in storage order (`scan_stored`, a mount with a change column) with a hostile provider's node: a
/// page without its position column, then a page whose positions are not positions (a value smuggled there), are
/// refused and audited, and neither reaches the consumer, the bus or the audit log; the honest page that follows
/// is delivered as the pass's first page (the target emptied first, not `fresh`).
async fn hostile_stored_pages(b: Backend) {
    let Subscribed { x, mut provider, p_key, mut consumer, c_key, id, object, zhang } = subscribe(b, Some("ver")).await;
    let columns = source_columns(Some("ver"));

    let pages = Arc::new(AtomicU64::new(0));
    let provider_task = {
        let (pages, zhang) = (pages.clone(), zhang.clone());
        tokio::spawn(async move {
            loop {
                let (rid, req) = next_request(&mut provider).await;
                let reply = match req {
                    Request::Columns { .. } => Reply::Columns { columns: columns.clone() },
                    Request::Watermark { change_column, .. } => {
                        Reply::Rows { columns: vec![change_column], rows: vec![vec![json!(7)]] }
                    }
                    Request::ScanStored { columns, after, .. } => {
                        assert_eq!(columns, vec!["sfzh".to_owned(), "xm".to_owned()], "granted items' columns only");
                        assert_eq!(after, None, "no refused page moves the pass on");
                        let mut names = columns.clone();
                        match pages.fetch_add(1, Ordering::SeqCst) {
                            0 => {
                                names.push("secret".into());
                                Reply::Rows {
                                    columns: names,
                                    rows: vec![vec![json!(zhang), json!("张三"), json!("(0,1)")]],
                                }
                            }
                            1 => {
                                names.push(shuqiao_exchange::POSITION_COLUMN.into());
                                Reply::Rows {
                                    columns: names,
                                    rows: vec![vec![json!(zhang), json!("张三"), json!("不该给的")]],
                                }
                            }
                            _ => {
                                names.push(shuqiao_exchange::POSITION_COLUMN.into());
                                Reply::Rows {
                                    columns: names,
                                    rows: vec![vec![json!(zhang), json!("张三"), json!("(0,1)")]],
                                }
                            }
                        }
                    }
                    Request::Changes { mut columns, change_column, .. } => {
                        columns.push(change_column);
                        Reply::Rows { columns, rows: vec![] }
                    }
                    other => panic!("unexpected request {other:?}"),
                };
                send(&mut provider, &answer(&p_key, rid, &reply)).await;
            }
        })
    };
    let consumer_task = {
        let zhang = zhang.clone();
        tokio::spawn(async move {
            let mut checkpoint = 0u64;
            loop {
                let (rid, req) = next_request(&mut consumer).await;
                let reply = match req {
                    Request::Checkpoint { .. } => Reply::Checkpoint { seq: checkpoint },
                    Request::Apply { seq, upserts, range, fresh, .. } => {
                        assert_eq!(upserts, vec![vec![json!(zhang), json!("张三")]], "the honest page only");
                        assert_eq!(
                            range,
                            Some(KeyRange { after: None, upto: None }),
                            "the first page empties the target"
                        );
                        assert!(!fresh);
                        checkpoint = seq;
                        Reply::Applied { seq, already: false }
                    }
                    other => panic!("unexpected request {other:?}"),
                };
                send(&mut consumer, &answer(&c_key, rid, &reply)).await;
            }
        })
    };
    let refused = |part: &'static str| {
        let object = object.clone();
        move |e: &Value| {
            e["object"] == object.as_str()
                && e["result"] == "refused"
                && e["detail"]["reason"].as_str().is_some_and(|r| r.contains(part))
        }
    };
    wait_event(&x, "data.sync", refused("other columns than asked for")).await;
    wait_event(&x, "data.sync", refused("valid position")).await;

    let s = first_applied(&x, &id, "the honest page").await;
    assert_eq!(s["rows_upserted"], 1, "{s}");
    assert_eq!(s["full_passes"], 1, "{s}");
    assert!(!x.all_events().await.iter().any(|e| e.to_string().contains("不该给的")), "the refused value is nowhere");
    assert!(pages.load(Ordering::SeqCst) >= 3);
    provider_task.abort();
    consumer_task.abort();
}

on_both!(hostile_provider_in_a_pass_in_storage_order, hostile_stored_pages);
