//! A hostile node over a real WebSocket (`ws://…/api/v1/nodes/connect`): the test itself speaks the node
//! protocol. Hellos with a key that is not registered, another department's key, a signature by another key or
//! for another challenge are refused (Error frame, close, `node.refused`). A correctly registered node that
//! answers a Query with a forged (another connection's MAC key, a changed body), MAC-less, replayed, unasked,
//! over-wide or oversized response gets the
//! consumer a clear problem (502 at once for an answer that is refused, 504 when no acceptable answer comes), with
//! nothing of the bad frame in the answer, and the auditor sees `node.bad_frame` and the failed `data.query`.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shuqiao_exchange::{
    Body, Column, Ephemeral, Frame, NodeKey, PROTOCOL, Reply, Request, SessionKey, Transcript, hello_message,
};
use tokio_tungstenite::tungstenite::Message;

use super::{X, id_card, problem, wait_connected, wait_event};
use crate::harness::Backend;
use crate::on_both;

pub(super) type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The platform's timeout for a node's answer in this test.
const NODE_TIMEOUT: Duration = Duration::from_secs(3);

/// The next protocol frame; `None` when the platform closed the socket.
pub(super) async fn recv(ws: &mut Ws) -> Option<Frame> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await.expect("the platform said nothing") {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).expect("a protocol frame")),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

pub(super) async fn send(ws: &mut Ws, frame: &Frame) {
    ws.send(Message::Text(serde_json::to_string(frame).unwrap().into())).await.expect("send a frame");
}

/// A challenge: its nonce and the platform's ephemeral key.
#[derive(Debug, Clone)]
pub(super) struct Challenge {
    nonce: String,
    key: String,
}

/// Opens the node socket and reads the challenge.
pub(super) async fn open(x: &X) -> (Ws, Challenge) {
    let url = format!("{}/api/v1/nodes/connect", x.s.base.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket upgrade");
    match recv(&mut ws).await {
        Some(Frame::Challenge { nonce, protocol, key }) => {
            assert_eq!(protocol, PROTOCOL);
            assert_eq!(nonce.len(), 64, "{nonce}");
            assert_eq!(key.len(), 64, "{key}");
            (ws, Challenge { nonce, key })
        }
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// A hello answering `c`, claiming `node_id` with `claimed`'s public key, signed by `signer`; and the session key
/// the node agrees with it.
pub(super) fn hello(node_id: &str, claimed: &NodeKey, signer: &NodeKey, c: &Challenge) -> (Frame, SessionKey) {
    let ephemeral = Ephemeral::generate().unwrap();
    let node_key = ephemeral.public_hex();
    let t = Transcript { nonce: &c.nonce, node_id, platform_key: &c.key, node_key: &node_key };
    let frame = Frame::Hello {
        node_id: node_id.to_owned(),
        public_key: claimed.public_hex(),
        signature: signer.sign(&hello_message(&t)),
        version: "hostile-test".into(),
        key: node_key.clone(),
    };
    (frame, ephemeral.agree(&c.key, &t).unwrap())
}

/// Sends `hello` on a fresh socket and expects an Error frame naming `why`, then the close.
async fn refused(x: &X, node_id: &str, make: impl FnOnce(&Challenge) -> Frame, why: &str) {
    let (mut ws, challenge) = open(x).await;
    send(&mut ws, &make(&challenge)).await;
    match recv(&mut ws).await {
        Some(Frame::Error { message }) => assert!(message.contains(why), "{message}"),
        other => panic!("expected an error frame, got {other:?}"),
    }
    assert_eq!(recv(&mut ws).await, None, "the platform closes after refusing");
    let object = format!("node:{node_id}");
    let ev = wait_event(x, "node.refused", |e| {
        e["object"] == object.as_str() && e["detail"]["reason"].as_str().is_some_and(|r| r.contains(why))
    })
    .await;
    assert_eq!(ev["result"], "refused", "{ev}");
}

pub(super) async fn register(x: &X, admin: &str, name: &str, key: &NodeKey) -> String {
    let (st, n) = x.post(admin, "nodes", json!({"name": name, "public_key": key.public_hex()})).await;
    assert_eq!(st, StatusCode::CREATED, "{n}");
    n["id"].as_str().unwrap().to_owned()
}

/// The answer `reply` to request `id`, with its MAC under `key`.
pub(super) fn answer(key: &SessionKey, id: u64, reply: &Reply) -> Frame {
    let body = Body::of(reply).unwrap();
    let mac = key.mac(id, body.text());
    Frame::Response { id, body, mac }
}

/// The next request from the platform, answering its pings on the way.
pub(super) async fn next_request(ws: &mut Ws) -> (u64, Request) {
    loop {
        match recv(ws).await {
            Some(Frame::Request { id, request }) => return (id, request),
            Some(Frame::Ping { at }) => send(ws, &Frame::Pong { at }).await,
            Some(_) => {}
            None => panic!("the platform closed the node's socket"),
        }
    }
}

/// One row per person for the asked columns (`sfzh`, `xm`, anything else gets `extra`).
fn rows(columns: &[String], people: &[(&str, &str)], extra: &str) -> Vec<Vec<Value>> {
    people
        .iter()
        .map(|(id, name)| {
            columns
                .iter()
                .map(|c| match c.as_str() {
                    "sfzh" => json!(id),
                    "xm" => json!(name),
                    _ => json!(extra),
                })
                .collect()
        })
        .collect()
}

/// The consumer's call, while the hostile node answers the Query it causes with `answer(id, columns, limit)`'s
/// frames. Returns the status, the content type, the body and how long the call took.
async fn exchange(
    x: &X,
    ws: &mut Ws,
    path: &str,
    answer: impl FnOnce(u64, &[String], u32) -> Vec<Frame>,
) -> (StatusCode, String, Value, String, Duration) {
    let started = Instant::now();
    let call = async {
        let resp = x.s.http.get(x.s.url(path)).bearer_auth(x.tok("scjg_user")).send().await.expect("request");
        let st = resp.status();
        let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let text = resp.text().await.unwrap();
        (st, ct, text, started.elapsed())
    };
    let node = async {
        let (id, req) = next_request(ws).await;
        let Request::Query { columns, limit, .. } = req else { panic!("expected a query, got {req:?}") };
        assert_eq!(columns, ["sfzh", "xm"], "only the granted items' columns are asked");
        for f in answer(id, &columns, limit) {
            send(ws, &f).await;
        }
    };
    let ((st, ct, text, took), ()) = tokio::join!(call, node);
    (st, ct, serde_json::from_str(&text).unwrap_or(Value::Null), text, took)
}

/// A refused answer: a problem of `status`, no data, nothing of the bad frame.
fn refused_answer(got: &(StatusCode, String, Value, String, Duration), status: StatusCode) {
    let (st, ct, body, text, took) = got;
    assert_eq!(*st, status, "{text}");
    problem(body, status);
    assert!(ct.starts_with("application/problem+json"), "{ct}");
    assert!(body.get("items").is_none(), "{text}");
    assert!(!text.contains("LEAK") && !text.contains("泄露"), "the bad frame leaked: {text}");
    if status == StatusCode::BAD_GATEWAY {
        assert!(*took < NODE_TIMEOUT, "a refused answer fails at once, not at the timeout: {took:?}");
    } else {
        assert!(*took >= NODE_TIMEOUT - Duration::from_millis(100), "{took:?}");
    }
}

async fn bad_frame_event(x: &X, node: &str, reason: &str) -> Value {
    let object = format!("node:{node}");
    wait_event(x, "node.bad_frame", |e| {
        e["object"] == object.as_str() && e["detail"]["reason"].as_str().is_some_and(|r| r.contains(reason))
    })
    .await
}

async fn failed_query_event(x: &X, reason: &str) -> Value {
    wait_event(x, "data.query", |e| {
        e["result"] == "failed" && e["detail"]["reason"].as_str().is_some_and(|r| r.contains(reason))
    })
    .await
}

async fn hostile_node_frames(b: Backend) {
    let x = X::with_args(b, &["--node-timeout-seconds", &NODE_TIMEOUT.as_secs().to_string()]).await;
    let gat_key = NodeKey::generate().unwrap();
    let scjg_key = NodeKey::generate().unwrap();
    let stranger = NodeKey::generate().unwrap();
    let gat_node = register(&x, "gat_admin", "gat-hostile", &gat_key).await;
    let scjg_node = register(&x, "scjg_admin", "scjg-node", &scjg_key).await;

    // (a) Keys that are not registered: for an unknown node id, for gat's node.
    refused(
        &x,
        "node-that-does-not-exist",
        |c| hello("node-that-does-not-exist", &stranger, &stranger, c).0,
        "unknown node id",
    )
    .await;
    refused(&x, &gat_node, |c| hello(&gat_node, &stranger, &stranger, c).0, "not the one registered").await;
    // (b) Another department's registered key claiming gat's node; gat's public key with a signature by another
    // key; a correct signature over another connection's challenge (a replayed hello).
    refused(&x, &gat_node, |c| hello(&gat_node, &scjg_key, &scjg_key, c).0, "not the one registered").await;
    refused(&x, &gat_node, |c| hello(&gat_node, &gat_key, &scjg_key, c).0, "signature does not verify").await;
    let (old, old_challenge) = open(&x).await;
    drop(old);
    refused(&x, &gat_node, |_| hello(&gat_node, &gat_key, &gat_key, &old_challenge).0, "signature does not verify")
        .await;
    // A hello signed over this challenge's nonce but another platform key (a key swapped by someone in between).
    let swapped = |c: &Challenge| {
        let other = Ephemeral::generate().unwrap().public_hex();
        hello(&gat_node, &gat_key, &gat_key, &Challenge { nonce: c.nonce.clone(), key: other }).0
    };
    refused(&x, &gat_node, swapped, "signature does not verify").await;
    // A correctly signed hello whose own session key is a low-order point (it would not contribute to the key).
    let low_order = |c: &Challenge| {
        let zero = "00".repeat(32);
        let t = Transcript { nonce: &c.nonce, node_id: &gat_node, platform_key: &c.key, node_key: &zero };
        Frame::Hello {
            node_id: gat_node.clone(),
            public_key: gat_key.public_hex(),
            signature: gat_key.sign(&hello_message(&t)),
            version: "hostile-test".into(),
            key: zero.clone(),
        }
    };
    refused(&x, &gat_node, low_order, "session key is unusable").await;
    let (_, nodes) = x.get("gat_admin", "nodes").await;
    let n = nodes["items"].as_array().unwrap().iter().find(|n| n["id"] == gat_node.as_str()).unwrap().clone();
    assert_ne!(n["connected"], true, "no refused hello connected the node: {n}");
    let (_, nodes) = x.get("scjg_admin", "nodes").await;
    let n = nodes["items"].as_array().unwrap().iter().find(|n| n["id"] == scjg_node.as_str()).unwrap().clone();
    assert_ne!(n["connected"], true, "{n}");

    // (c) gat's node, correctly registered and authenticated, turns hostile after the handshake.
    let (mut ws, challenge) = open(&x).await;
    let (frame, key) = hello(&gat_node, &gat_key, &gat_key, &challenge);
    send(&mut ws, &frame).await;
    match recv(&mut ws).await {
        Some(Frame::Welcome { node_id, department }) => {
            assert_eq!(node_id, gat_node);
            assert_eq!(department, x.dept["gat"]);
        }
        other => panic!("expected a welcome, got {other:?}"),
    }
    wait_connected(&x, &gat_node, true).await;

    // A table mount on it, checked honestly.
    let code = x.entry(&["query", "verify"]).await;
    let mount_path = format!("catalog/{code}/mount");
    let mount = json!({
        "kind": "table", "node": gat_node, "source": {"name": "hukou", "table": "residents"},
        "key_columns": ["sfzh"], "change_column": "updated_at",
        "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "联系电话": "lxdh", "户籍地址": "hjdz", "婚姻状况": "hyzk"}
    });
    let (st, m) = x.put("gat_catalog", &mount_path, mount).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let check = async { x.post("gat_catalog", &format!("{mount_path}/check"), json!({})).await };
    let serve = async {
        let (id, req) = next_request(&mut ws).await;
        assert!(matches!(req, Request::Columns { .. }), "{req:?}");
        let columns = ["sfzh", "xm", "lxdh", "hjdz", "hyzk", "updated_at"]
            .map(|c| Column { name: c.into(), data_type: "TEXT".into() })
            .to_vec();
        send(&mut ws, &answer(&key, id, &Reply::Columns { columns })).await;
    };
    let ((st, check), ()) = tokio::join!(check, serve);
    assert_eq!(st, StatusCode::OK, "{check}");
    assert_eq!(check["ok"], true, "{check}");
    x.grant(&code, &["公民身份号码", "姓名"], &["query"], json!({"masking": {"姓名": "name"}})).await;

    let zhang = id_card("13010219800101001");
    let path = format!("data/{code}/records?公民身份号码={zhang}&limit=5");

    // An honest answer first: served, masked. Kept to be replayed later.
    let mut earlier = None;
    let (st, _, body, text, _) = exchange(&x, &mut ws, &path, |id, cols, limit| {
        assert_eq!(limit, 6, "the gateway asks one more than the page");
        let f = answer(&key, id, &Reply::Rows { columns: cols.to_vec(), rows: rows(cols, &[(&zhang, "张三")], "") });
        earlier = Some(f.clone());
        vec![f]
    })
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(body["items"], json!([{"公民身份号码": zhang, "姓名": "张*"}]), "{body}");
    let earlier = earlier.unwrap();
    let Frame::Response { id: earlier_id, .. } = &earlier else { unreachable!() };
    let earlier_id = *earlier_id;
    let leak_rows =
        |cols: &[String]| Reply::Rows { columns: cols.to_vec(), rows: rows(cols, &[(&zhang, "LEAK泄露")], "LEAK") };

    // A MAC under another connection's session key (the same node's key, another challenge): refused at once
    // (502).
    let (stray, stray_challenge) = open(&x).await;
    drop(stray);
    let (_, stray_key) = hello(&gat_node, &gat_key, &gat_key, &stray_challenge);
    let mut asked = 0;
    let got = exchange(&x, &mut ws, &path, |id, cols, _| {
        asked = id;
        vec![answer(&stray_key, id, &leak_rows(cols))]
    })
    .await;
    refused_answer(&got, StatusCode::BAD_GATEWAY);
    let ev = bad_frame_event(&x, &gat_node, &format!("response {asked}: MAC does not verify")).await;
    assert_eq!(ev["result"], "refused", "{ev}");
    assert_eq!(ev["department"], x.dept["gat"].as_str(), "{ev}");

    // This connection's MAC of an honest answer, on a changed body: 502.
    let got = exchange(&x, &mut ws, &path, |id, cols, _| {
        asked = id;
        let honest = Reply::Rows { columns: cols.to_vec(), rows: rows(cols, &[(&zhang, "张三")], "") };
        let Frame::Response { mac, .. } = answer(&key, id, &honest) else { unreachable!() };
        vec![Frame::Response { id, body: Body::of(&leak_rows(cols)).unwrap(), mac }]
    })
    .await;
    refused_answer(&got, StatusCode::BAD_GATEWAY);
    bad_frame_event(&x, &gat_node, &format!("response {asked}: MAC does not verify")).await;

    // No MAC: 502.
    let got = exchange(&x, &mut ws, &path, |id, cols, _| {
        asked = id;
        vec![Frame::Response { id, body: Body::of(&leak_rows(cols)).unwrap(), mac: String::new() }]
    })
    .await;
    refused_answer(&got, StatusCode::BAD_GATEWAY);
    bad_frame_event(&x, &gat_node, &format!("response {asked} has no MAC")).await;

    // A replay of the earlier valid response (its id again): dropped; no acceptable answer comes, so 504 at the
    // timeout — and the replayed rows are not served.
    let got = exchange(&x, &mut ws, &path, |_, _, _| vec![earlier.clone()]).await;
    refused_answer(&got, StatusCode::GATEWAY_TIMEOUT);
    assert!(!got.3.contains("张"), "the replayed rows were served: {}", got.3);
    bad_frame_event(&x, &gat_node, &format!("response {earlier_id} was already answered or timed out (replay)")).await;
    failed_query_event(&x, "timed out").await;

    // An authentic response for an id never asked: dropped; 504.
    let got = exchange(&x, &mut ws, &path, |id, cols, _| {
        asked = id + 1000;
        vec![answer(&key, id + 1000, &leak_rows(cols))]
    })
    .await;
    refused_answer(&got, StatusCode::GATEWAY_TIMEOUT);
    bad_frame_event(&x, &gat_node, &format!("response {asked} answers no request")).await;

    // An authentic reply with a column that was not asked for: refused (502), the column's values not served.
    let got = exchange(&x, &mut ws, &path, |id, cols, _| {
        let mut wide = cols.to_vec();
        wide.push("lxdh".into());
        vec![answer(
            &key,
            id,
            &Reply::Rows { rows: rows(&wide, &[(&zhang, "LEAK泄露")], "LEAK13800000000"), columns: wide },
        )]
    })
    .await;
    refused_answer(&got, StatusCode::BAD_GATEWAY);
    assert!(got.2["detail"].as_str().unwrap().contains("lxdh"), "{}", got.3);
    let ev = failed_query_event(&x, "`lxdh`").await;
    assert_eq!(ev["resource"], code.as_str(), "{ev}");

    // (d) An authentic reply with more rows than the limit asked: refused (502).
    let got = exchange(&x, &mut ws, &path, |id, cols, limit| {
        let people: Vec<(String, String)> =
            (0..=limit).map(|i| (id_card(&format!("130102199001{:05}", i + 1)), format!("LEAK泄露{i}"))).collect();
        let people: Vec<(&str, &str)> = people.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        vec![answer(&key, id, &Reply::Rows { columns: cols.to_vec(), rows: rows(cols, &people, "") })]
    })
    .await;
    refused_answer(&got, StatusCode::BAD_GATEWAY);
    failed_query_event(&x, "7 rows where at most 6").await;

    // The bad frames were dropped, not the connection: an honest answer is served again.
    let (st, _, body, text, _) = exchange(&x, &mut ws, &path, |id, cols, _| {
        vec![answer(&key, id, &Reply::Rows { columns: cols.to_vec(), rows: rows(cols, &[(&zhang, "张三")], "") })]
    })
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(body["items"], json!([{"公民身份号码": zhang, "姓名": "张*"}]), "{body}");

    // Nothing of the bad frames reached the audit log as data, and the chain verifies.
    let log = serde_json::to_string(&x.all_events().await).unwrap();
    assert!(!log.contains("LEAK") && !log.contains(&zhang), "the audit log holds data from the frames");
    let (st, v) = x.get("auditor", "audit/verify").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true, "{v}");
}
on_both!(hostile_node_frames, hostile_node_frames);
