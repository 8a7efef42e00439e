//! The connected nodes (DESIGN "Node protocol"): node id → its one live connection, with the requests waiting
//! for an answer on it. The HTTP layer owns the WebSocket and moves frames; this module decides what they mean.
//!
//! A response is accepted only if it comes on the connection the request went out on, for an id still waiting,
//! and its MAC verifies with that connection's session key (agreed in the hello the node signed with its
//! registered key). Anything else is dropped and audited (`node.bad_frame`); a request whose answer was forged fails at once with
//! [`NodeError::BadFrame`] rather than waiting for its timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use shuqiao_exchange::{Body, Frame, Reply, Request, SessionKey};
use tokio::sync::{mpsc, oneshot};

use crate::Platform;
use crate::audit::{Actor, AuditEvent};

/// Outgoing frames buffered per connection before `request` waits.
const OUTBOX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    #[error("node offline")]
    Offline,
    #[error("node did not answer in time")]
    Timeout,
    #[error("bad frame: {0}")]
    BadFrame(String),
}

/// Where a request's answer goes.
type Answer = oneshot::Sender<Result<Reply, NodeError>>;

/// One live connection of a node.
pub struct Connection {
    pub conn_id: u64,
    pub node_id: String,
    pub node_name: String,
    pub department: String,
    session: SessionKey,
    out: mpsc::Sender<Frame>,
    next_id: AtomicU64,
    /// Requests waiting for an answer; `None`: given up by the platform (its answer, if it comes, is checked and
    /// dropped quietly — late, not a replay).
    pending: Mutex<HashMap<u64, Option<Answer>>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("conn_id", &self.conn_id).field("node_id", &self.node_id).finish()
    }
}

impl Connection {
    fn fail_all(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.clear();
        }
    }
}

/// A request on the wire, waiting for its answer; dropping it gives the request up (a later answer is dropped).
pub struct Pending {
    conn: Arc<Connection>,
    id: u64,
    rx: Option<oneshot::Receiver<Result<Reply, NodeError>>>,
}

impl Pending {
    /// The verified answer, or why there is none within `timeout`.
    pub async fn wait(mut self, timeout: Duration) -> Result<Reply, NodeError> {
        let Some(rx) = self.rx.take() else { return Err(NodeError::Offline) };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(NodeError::Offline),
            Err(_) => Err(NodeError::Timeout),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(mut p) = self.conn.pending.lock()
            && let Some(waiting) = p.get_mut(&self.id)
        {
            *waiting = None;
        }
    }
}

/// Who a node is, once its hello has been accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub node_id: String,
    pub node_name: String,
    pub department: String,
    /// The connection's session key, agreed in the hello.
    pub session: SessionKey,
}

#[derive(Default)]
pub struct Registry {
    conns: Mutex<HashMap<String, Arc<Connection>>>,
    next_conn: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

/// What the transport should do after a frame was handled.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    Continue,
    /// Send this frame back (e.g. a pong).
    Reply(Box<Frame>),
}

impl Registry {
    /// Registers a new connection of a node, replacing (and closing) the previous one; returns the connection and
    /// the frames the transport must send on it.
    pub fn attach(&self, who: Accepted) -> (Arc<Connection>, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(OUTBOX);
        let conn = Arc::new(Connection {
            conn_id: self.next_conn.fetch_add(1, Ordering::Relaxed) + 1,
            node_id: who.node_id.clone(),
            node_name: who.node_name,
            department: who.department,
            session: who.session,
            out: tx,
            next_id: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
        });
        let old = match self.conns.lock() {
            Ok(mut map) => map.insert(who.node_id, conn.clone()),
            Err(_) => None,
        };
        if let Some(old) = old {
            old.fail_all();
            // The old transport closes after sending an error frame.
            let _ = old.out.try_send(Frame::Error { message: "replaced by a new connection of this node".into() });
        }
        (conn, rx)
    }

    /// Forgets a connection when its transport ends (unless a newer one replaced it already).
    pub fn detach(&self, conn: &Connection) {
        if let Ok(mut map) = self.conns.lock()
            && map.get(&conn.node_id).is_some_and(|c| c.conn_id == conn.conn_id)
        {
            map.remove(&conn.node_id);
        }
        conn.fail_all();
    }

    /// Asks every connection to close (the platform is stopping).
    pub fn close_all(&self) {
        let conns: Vec<Arc<Connection>> = match self.conns.lock() {
            Ok(mut map) => map.drain().map(|(_, c)| c).collect(),
            Err(_) => Vec::new(),
        };
        for c in conns {
            c.fail_all();
            let _ = c.out.try_send(Frame::Error { message: "the platform is stopping; reconnect later".into() });
        }
    }

    pub fn is_connected(&self, node_id: &str) -> bool {
        self.conns.lock().map(|m| m.contains_key(node_id)).unwrap_or(false)
    }

    fn get(&self, node_id: &str) -> Option<Arc<Connection>> {
        self.conns.lock().ok()?.get(node_id).cloned()
    }

    /// Sends a request to a node and waits for its verified answer.
    pub async fn request(&self, node_id: &str, request: Request, timeout: Duration) -> Result<Reply, NodeError> {
        self.send(node_id, request, timeout).await?.wait(timeout).await
    }

    /// Puts a request on a node's connection (after the ones sent before it) without waiting for the answer.
    pub async fn send(&self, node_id: &str, request: Request, timeout: Duration) -> Result<Pending, NodeError> {
        let conn = self.get(node_id).ok_or(NodeError::Offline)?;
        let id = conn.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        conn.pending.lock().map_err(|_| NodeError::Offline)?.insert(id, Some(tx));
        // From here on, dropping `pending` gives the request up.
        let pending = Pending { conn: conn.clone(), id, rx: Some(rx) };
        match tokio::time::timeout(timeout, conn.out.send(Frame::Request { id, request })).await {
            Ok(Ok(())) => Ok(pending),
            Ok(Err(_)) => Err(NodeError::Offline),
            Err(_) => Err(NodeError::Timeout),
        }
    }

    /// Checks a response and hands it to its waiting request (if the platform still waits). `Err` says why it was
    /// dropped.
    fn accept_response(&self, conn: &Connection, id: u64, body: &Body, mac: &str) -> Result<(), String> {
        let waiting = conn.pending.lock().map_err(|_| "lock".to_owned())?.remove(&id);
        let Some(mut waiting) = waiting else {
            return Err(if id < conn.next_id.load(Ordering::Relaxed) {
                format!("response {id} was already answered or timed out (replay)")
            } else {
                format!("response {id} answers no request")
            });
        };
        let mut tell = |r: Result<Reply, NodeError>| {
            if let Some(w) = waiting.take() {
                let _ = w.send(r);
            }
        };
        if mac.is_empty() {
            tell(Err(NodeError::BadFrame("response without a MAC".into())));
            return Err(format!("response {id} has no MAC"));
        }
        if conn.session.check(id, body.text(), mac).is_err() {
            tell(Err(NodeError::BadFrame("response MAC does not verify".into())));
            return Err(format!("response {id}: MAC does not verify with this connection's session key"));
        }
        match body.reply() {
            Ok(reply) => {
                tell(Ok(reply));
                Ok(())
            }
            Err(e) => {
                tell(Err(NodeError::BadFrame(format!("unreadable reply: {e}"))));
                Err(format!("response {id}: unreadable reply: {e}"))
            }
        }
    }
}

/// Handles one frame from a node's connection: responses go to their requests, health reports are stored, pings
/// answered; anything dropped is audited.
pub async fn on_frame(p: &Platform, conn: &Connection, frame: Frame) -> After {
    match frame {
        Frame::Response { id, body, mac } => {
            if let Err(why) = p.nodes.accept_response(conn, id, &body, &mac) {
                tracing::warn!(node = %conn.node_id, %why, "dropped a node response");
                audit_bad_frame(p, conn, &why);
            }
            After::Continue
        }
        Frame::Health { sources } => {
            let health = serde_json::to_string(&json!({"sources": sources, "at": shuqiao_store::ts(p.now())})).ok();
            super::nodes::touch(p, &conn.node_id, health.as_deref(), None).await;
            After::Continue
        }
        Frame::Ping { at } => {
            super::nodes::touch(p, &conn.node_id, None, None).await;
            After::Reply(Box::new(Frame::Pong { at }))
        }
        Frame::Pong { .. } => {
            super::nodes::touch(p, &conn.node_id, None, None).await;
            After::Continue
        }
        other => {
            let kind = serde_json::to_value(&other)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                .unwrap_or_default();
            audit_bad_frame(p, conn, &format!("unexpected `{kind}` frame from a node"));
            After::Continue
        }
    }
}

/// Audits a frame the platform dropped (without waiting: the transport must keep reading).
pub fn audit_bad_frame(p: &Platform, conn: &Connection, why: &str) {
    let actor = node_actor(&conn.node_id, &conn.node_name, &conn.department);
    let ev = AuditEvent::new("node.bad_frame", format!("node:{}", conn.node_id))
        .department(conn.department.clone())
        .result("refused")
        .detail(json!({"reason": why}));
    let writer = p.audit_writer.clone();
    tokio::spawn(async move {
        if let Err(e) = writer.append(actor, ev).await {
            tracing::warn!(error = %e, "could not audit a dropped node frame");
        }
    });
}

pub(crate) fn node_actor(id: &str, name: &str, department: &str) -> Actor {
    Actor { id: format!("node:{id}"), name: name.to_owned(), department: Some(department.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shuqiao_exchange::{Ephemeral, Transcript};

    /// A handshake's two session keys: the platform's (in `Accepted`) and the node's.
    fn handshake(nonce: &str) -> (Accepted, SessionKey) {
        let (platform, node) = (Ephemeral::generate().unwrap(), Ephemeral::generate().unwrap());
        let (pk, nk) = (platform.public_hex(), node.public_hex());
        let t = Transcript { nonce, node_id: "n1", platform_key: &pk, node_key: &nk };
        let accepted = Accepted {
            node_id: "n1".into(),
            node_name: "node".into(),
            department: "d1".into(),
            session: platform.agree(&nk, &t).unwrap(),
        };
        (accepted, node.agree(&pk, &t).unwrap())
    }

    fn columns_request() -> Request {
        Request::Columns { source: "s".into(), table: "t".into() }
    }

    /// Starts a request and returns its id once it is on the wire.
    async fn sent(
        reg: &Arc<Registry>,
        rx: &mut mpsc::Receiver<Frame>,
    ) -> (u64, tokio::task::JoinHandle<Result<Reply, NodeError>>) {
        let r = reg.clone();
        let task = tokio::spawn(async move { r.request("n1", columns_request(), Duration::from_secs(5)).await });
        match rx.recv().await.unwrap() {
            Frame::Request { id, .. } => (id, task),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn responses_must_carry_the_connections_mac_for_a_waiting_id() {
        let reg = Arc::new(Registry::default());
        assert_eq!(reg.request("n1", columns_request(), Duration::from_millis(50)).await, Err(NodeError::Offline));
        let (accepted, key) = handshake("nonce1");
        let (conn, mut rx) = reg.attach(accepted);
        assert!(reg.is_connected("n1"));
        let body = Body::of(&Reply::Columns { columns: Vec::new() }).unwrap();
        let mac = |k: &SessionKey, id: u64| k.mac(id, body.text());

        // A good answer.
        let (id, task) = sent(&reg, &mut rx).await;
        assert!(reg.accept_response(&conn, id, &body, &mac(&key, id)).is_ok());
        assert!(matches!(task.await.unwrap(), Ok(Reply::Columns { .. })));
        // The same answer again: a replay, dropped.
        assert!(reg.accept_response(&conn, id, &body, &mac(&key, id)).unwrap_err().contains("replay"));
        // An id never asked.
        assert!(reg.accept_response(&conn, 999, &body, &mac(&key, 999)).unwrap_err().contains("no request"));

        // A MAC of another connection's key (another handshake of the same node), of another id, a changed body,
        // none: the request fails at once.
        let (_, other) = handshake("nonce2");
        let changed = Body::of(&Reply::Columns {
            columns: vec![shuqiao_exchange::Column { name: "x".into(), data_type: "TEXT".into() }],
        })
        .unwrap();
        for forge in 0..4 {
            let (id, task) = sent(&reg, &mut rx).await;
            let result = match forge {
                0 => reg.accept_response(&conn, id, &body, &mac(&other, id)),
                1 => reg.accept_response(&conn, id, &body, &mac(&key, id + 1)),
                2 => reg.accept_response(&conn, id, &changed, &mac(&key, id)),
                _ => reg.accept_response(&conn, id, &body, ""),
            };
            assert!(result.is_err(), "forgery {forge} accepted");
            assert!(matches!(task.await.unwrap(), Err(NodeError::BadFrame(_))));
        }

        // No answer: a timeout; a new connection replaces the old one, which is told to close.
        let r = reg.clone();
        let t = tokio::spawn(async move { r.request("n1", columns_request(), Duration::from_millis(50)).await });
        let Some(Frame::Request { id: late, .. }) = rx.recv().await else { panic!("no request sent") };
        assert_eq!(t.await.unwrap(), Err(NodeError::Timeout));
        // Its answer after all, forged: still refused; genuine: dropped quietly (late, not a replay) — once.
        assert!(reg.accept_response(&conn, late, &body, &mac(&other, late)).is_err());
        let (given_up, task) = sent(&reg, &mut rx).await;
        task.abort();
        let _ = task.await;
        assert_eq!(reg.accept_response(&conn, given_up, &body, &mac(&key, given_up)), Ok(()));
        assert!(reg.accept_response(&conn, given_up, &body, &mac(&key, given_up)).unwrap_err().contains("replay"));
        let (conn2, _rx2) = reg.attach(handshake("nonce3").0);
        assert!(matches!(rx.recv().await, Some(Frame::Error { .. })));
        reg.detach(&conn);
        assert!(reg.is_connected("n1"), "detaching the replaced connection keeps the new one");
        reg.detach(&conn2);
        assert!(!reg.is_connected("n1"));
    }
}
