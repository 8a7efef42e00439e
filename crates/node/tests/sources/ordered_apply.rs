//! The platform sends a subscription's next batch while the previous one is still being applied: the node must
//! apply them in the order they came (it refuses a batch after a gap). A fake platform on loopback sends a large
//! batch 1 and a one-row batch 2 back to back to a real node agent writing into a real PostgreSQL target (whose
//! pool, unlike SQLite's single writer, would otherwise run the two at once). The fake platform does the real
//! handshake and checks every answer's MAC with the session key it agreed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use shuqiao_exchange::{
    Ephemeral, Frame, NodeKey, PROTOCOL, Reply, Request, SyncColumn, Transcript, hello_message, public_key, verify,
};
use shuqiao_node::agent::Node;
use shuqiao_node::config::NodeConfig;
use tokio_tungstenite::tungstenite::Message;

fn apply(seq: u64, rows: std::ops::Range<u32>) -> Request {
    Request::Apply {
        subscription: "sub-1".into(),
        seq,
        table: "received".into(),
        columns: vec![
            SyncColumn { name: "k".into(), data_type: "C".into(), length: Some(18) },
            SyncColumn { name: "v".into(), data_type: "C".into(), length: Some(50) },
        ],
        key_columns: vec!["k".into()],
        upserts: rows.map(|i| vec![json!(format!("{i:018}")), json!(format!("value {i}"))]).collect(),
        deletes: Vec::new(),
        range: None,
        drop_columns: Vec::new(),
        fresh: false,
    }
}

async fn send(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, f: &Frame) {
    ws.send(Message::Text(serde_json::to_string(f).unwrap().into())).await.unwrap();
}

async fn next(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> Frame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(t) = msg {
            let f: Frame = serde_json::from_str(&t).unwrap();
            if !matches!(f, Frame::Health { .. } | Frame::Ping { .. }) {
                return f;
            }
        }
    }
}

/// A new empty database on the machine's PostgreSQL (`SHUQIAO_TEST_PG`, default the local server).
async fn fresh_database() -> String {
    use sqlx::{Connection, Executor};
    let name = crate::postgres::fresh_name("shuqiao_node_order");
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", crate::postgres::base())).await.unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    format!("{}/{name}", crate::postgres::base())
}

#[tokio::test]
async fn batches_sent_back_to_back_are_applied_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let key = NodeKey::generate().unwrap();
    std::fs::write(dir.path().join("node.key"), key.secret_hex()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = fresh_database().await;
    let toml = format!(
        "platform = \"http://127.0.0.1:{port}\"\nkey_file = \"node.key\"\nnode_id = \"n1\"\n\n[target]\nurl = \"{target}\"\n"
    );
    let config = NodeConfig::parse(&toml, dir.path()).unwrap();
    let node = Arc::new(Node::new(config, NodeKey::from_hex(&key.secret_hex()).unwrap()).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(node.run(async move {
        let _ = stopped.await;
    }));

    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let ephemeral = Ephemeral::generate().unwrap();
    let platform_key = ephemeral.public_hex();
    send(&mut ws, &Frame::Challenge { nonce: "nonce".into(), protocol: PROTOCOL.into(), key: platform_key.clone() })
        .await;
    let Frame::Hello { node_id, public_key: pk, signature, key: node_key, .. } = next(&mut ws).await else {
        panic!("expected a hello")
    };
    assert_eq!(pk, key.public_hex());
    let t = Transcript { nonce: "nonce", node_id: &node_id, platform_key: &platform_key, node_key: &node_key };
    verify(&public_key(&pk).unwrap(), &hello_message(&t), &signature).expect("the hello is signed by the node key");
    let session = ephemeral.agree(&node_key, &t).unwrap();
    send(&mut ws, &Frame::Welcome { node_id: "n1".into(), department: "d1".into() }).await;
    // Batch 1 takes a while to apply; batch 2 (one row) follows at once.
    send(&mut ws, &Frame::Request { id: 1, request: apply(1, 0..30_000) }).await;
    send(&mut ws, &Frame::Request { id: 2, request: apply(2, 30_000..30_001) }).await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let Frame::Response { id, body, mac } = next(&mut ws).await else { panic!("expected a response") };
        session.check(id, body.text(), &mac).expect("the answer's MAC verifies");
        answers.push((id, body.reply().unwrap()));
    }
    answers.sort_by_key(|a| a.0);
    assert_eq!(
        answers,
        vec![(1, Reply::Applied { seq: 1, already: false }), (2, Reply::Applied { seq: 2, already: false })],
        "both batches applied, in order"
    );
    // And the checkpoint is the second.
    send(&mut ws, &Frame::Request { id: 3, request: Request::Checkpoint { subscription: "sub-1".into() } }).await;
    let Frame::Response { id, body, mac } = next(&mut ws).await else { panic!("expected a response") };
    session.check(id, body.text(), &mac).expect("the answer's MAC verifies");
    assert_eq!(body.reply().unwrap(), Reply::Checkpoint { seq: 2 });
    let _ = stop.send(());
    let _ = agent.await;
}
