//! The connection to the platform: dial out, prove the key, then serve requests until the connection ends, and
//! dial again with backoff (0.5 s doubling to 30 s; back to 0.5 s after a session the platform welcomed).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shuqiao_exchange::{
    Body, Ephemeral, Frame, NodeKey, PROTOCOL, Reply, Request, SessionKey, Transcript, hello_message,
};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::api::ApiCaller;
use crate::config::{NodeConfig, redact_url};
use crate::plan::Fail;
use crate::plan::QueryRequest;
use crate::source::Sources;
use crate::target::{Applied, Batch, ColumnType, Target, TargetColumn};
use shuqiao_exchange::FailCode;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Everything a node needs to answer requests.
#[derive(Debug)]
pub struct Node {
    pub config: NodeConfig,
    pub key: NodeKey,
    pub sources: Sources,
    pub api: ApiCaller,
    /// Where subscribed tables are written (`[target]`), if configured.
    pub target: Option<Result<Target, String>>,
}

/// How a session ended.
#[derive(Debug)]
enum End {
    /// The platform welcomed the node, then the connection ended.
    AfterWelcome(String),
    /// The platform refused the node (unknown id, unregistered key, bad signature…).
    Refused(String),
    /// No session: the platform could not be reached or broke the handshake.
    Failed(String),
}

impl Node {
    pub fn new(config: NodeConfig, key: NodeKey) -> anyhow::Result<Node> {
        let sources = Sources::open(&config.sources, &config.base_dir, &config.limits);
        let api = ApiCaller::new(config.upstreams.clone(), config.limits.api_timeout, config.limits.api_max_body_bytes)
            .map_err(anyhow::Error::msg)?;
        let target = config.target.as_deref().map(|url| Target::open(url, &config.base_dir));
        Ok(Node { config, key, sources, api, target })
    }

    /// The target database, or the reply explaining why there is none.
    fn target(&self) -> Result<&Target, Reply> {
        match &self.target {
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(Fail::new(FailCode::SourceUnavailable, format!("the target database: {e}")).reply()),
            None => Err(Fail::new(
                FailCode::BadRequest,
                "this node has no [target] database for subscribed tables (see docs/node.md)",
            )
            .reply()),
        }
    }

    /// The answer to one request.
    pub async fn handle(&self, request: &Request) -> Reply {
        match request {
            Request::Columns { source, table } => self.sources.columns(source, table).await,
            Request::Query { source, table, columns, key_columns, filters, after, limit } => {
                let req = QueryRequest { table, columns, key_columns, filters, after: after.as_deref(), limit: *limit };
                self.sources.query(source, &req).await
            }
            Request::Api { url, method, headers, body_base64 } => {
                self.api.call(url, method, headers, body_base64.as_deref()).await
            }
            Request::Scan { source, table, columns, key_columns, after, limit } => {
                let req =
                    QueryRequest { table, columns, key_columns, filters: &[], after: after.as_deref(), limit: *limit };
                self.sources.sync_read(source, &req, None).await
            }
            Request::ScanStored { source, table, columns, after, limit } => {
                let req = QueryRequest { table, columns, key_columns: &[], filters: &[], after: None, limit: *limit };
                self.sources.scan_stored(source, &req, after.as_deref()).await
            }
            Request::Changes { source, table, columns, key_columns, change_column, after, limit } => {
                let req =
                    QueryRequest { table, columns, key_columns, filters: &[], after: after.as_deref(), limit: *limit };
                self.sources.sync_read(source, &req, Some(change_column)).await
            }
            Request::Watermark { source, table, change_column } => {
                self.sources.watermark(source, table, change_column).await
            }
            Request::Apply { .. } => Box::pin(self.handle_owned(request.clone())).await,
            Request::Checkpoint { subscription } => match self.target() {
                Ok(t) => match t.checkpoint(subscription).await {
                    Ok(seq) => Reply::Checkpoint { seq },
                    Err(f) => f.reply(),
                },
                Err(r) => r,
            },
        }
    }

    /// The answer to one request taken by value: an `apply` batch's rows are moved into the target, not copied.
    pub async fn handle_owned(&self, request: Request) -> Reply {
        let Request::Apply {
            subscription,
            seq,
            table,
            columns,
            key_columns,
            upserts,
            deletes,
            range,
            drop_columns,
            fresh,
        } = request
        else {
            return self.handle(&request).await;
        };
        let target = match self.target() {
            Ok(t) => t,
            Err(r) => return r,
        };
        let mut cols = Vec::with_capacity(columns.len());
        for c in columns {
            match ColumnType::of_catalog(&c.data_type, c.length) {
                Some(column_type) => cols.push(TargetColumn { name: c.name, column_type }),
                None => {
                    return Fail::new(
                        FailCode::BadRequest,
                        format!("column {} has no catalog data type {}", c.name, c.data_type),
                    )
                    .reply();
                }
            }
        }
        let batch = Batch {
            subscription,
            seq,
            table,
            columns: cols,
            key_columns,
            upserts,
            deletes,
            range,
            drop_columns,
            fresh,
        };
        match target.apply(&batch).await {
            Ok(Applied::Now(seq)) => Reply::Applied { seq, already: false },
            Ok(Applied::Before(seq)) => Reply::Applied { seq, already: true },
            Err(f) => f.reply(),
        }
    }

    /// Connects and serves until `shutdown` completes.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        let url = self.config.connect_url();
        tokio::pin!(shutdown);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let end = tokio::select! {
                end = self.clone().session(&url) => end,
                () = &mut shutdown => return,
            };
            match end {
                End::AfterWelcome(why) => {
                    backoff = FIRST_BACKOFF;
                    tracing::warn!(reason = %why, "disconnected from the platform; reconnecting");
                }
                End::Refused(message) => tracing::error!(
                    node_id = %self.config.node_id,
                    public_key = %self.key.public_hex(),
                    platform = %message,
                    "the platform refused this node: check node_id and that this public key is registered for it \
                     (POST /api/v1/nodes); retrying in {:.1} s",
                    backoff.as_secs_f64()
                ),
                End::Failed(why) => tracing::warn!(
                    url = %redact_url(&url),
                    error = %why,
                    "cannot connect to the platform; retrying in {:.1} s",
                    backoff.as_secs_f64()
                ),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = &mut shutdown => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn session(self: Arc<Self>, url: &str) -> End {
        let ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio_tungstenite::connect_async(url)).await {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => return End::Failed(e.to_string()),
            Err(_) => return End::Failed("no WebSocket handshake within 15 s".into()),
        };
        let (mut sink, mut stream) = ws.split();
        let (nonce, platform_key) = match next_frame(&mut stream).await {
            Ok(Frame::Challenge { nonce, protocol, key }) if protocol == PROTOCOL => (nonce, key),
            Ok(Frame::Challenge { protocol, .. }) => {
                return End::Failed(format!("the platform speaks {protocol}, this node {PROTOCOL}"));
            }
            Ok(Frame::Error { message }) => return End::Refused(message),
            Ok(other) => return End::Failed(format!("expected a challenge, got {}", frame_name(&other))),
            Err(e) => return End::Failed(e),
        };
        let node_id = self.config.node_id.clone();
        let ephemeral = match Ephemeral::generate() {
            Ok(e) => e,
            Err(e) => return End::Failed(format!("cannot make a session key: {e}")),
        };
        let node_key = ephemeral.public_hex();
        let t = Transcript { nonce: &nonce, node_id: &node_id, platform_key: &platform_key, node_key: &node_key };
        let hello = Frame::Hello {
            node_id: node_id.clone(),
            public_key: self.key.public_hex(),
            signature: self.key.sign(&hello_message(&t)),
            version: format!("shuqiao-node/{}", env!("CARGO_PKG_VERSION")),
            key: node_key.clone(),
        };
        let session = match ephemeral.agree(&platform_key, &t) {
            Ok(s) => Arc::new(s),
            Err(e) => return End::Failed(format!("the platform's session key is unusable: {e}")),
        };
        if let Err(e) = send(&mut sink, &hello).await {
            return End::Failed(e);
        }
        match next_frame(&mut stream).await {
            Ok(Frame::Welcome { node_id, department }) => {
                tracing::info!(%node_id, %department, "connected to the platform");
            }
            Ok(Frame::Error { message }) => return End::Refused(message),
            Ok(other) => return End::Failed(format!("expected a welcome, got {}", frame_name(&other))),
            Err(e) => return End::Refused(format!("the platform closed the connection after hello ({e})")),
        }

        let (tx, mut rx) = mpsc::channel::<Message>(64);
        let mut writer = tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                // Responses that are ready together go out in one write.
                let mut next = Some(m);
                let mut queued = 0;
                while let Some(m) = next.take() {
                    if let Err(e) = sink.feed(m).await {
                        return format!("cannot send: {e}");
                    }
                    queued += 1;
                    if queued < 64 {
                        next = rx.try_recv().ok();
                    }
                }
                if let Err(e) = sink.flush().await {
                    return format!("cannot send: {e}");
                }
            }
            let _ = sink.close().await;
            "closed".to_owned()
        });
        let mut tasks = JoinSet::new();
        let health = tokio::spawn(report_health(self.clone(), tx.clone()));
        let permits = Arc::new(Semaphore::new(self.config.limits.max_concurrent_requests));
        let mut appliers: HashMap<String, mpsc::UnboundedSender<(u64, Request)>> = HashMap::new();
        let idle = self.config.limits.health_interval * 3;
        let why = loop {
            let msg = tokio::select! {
                m = tokio::time::timeout(idle, stream.next()) => m,
                w = &mut writer => break w.unwrap_or_else(|e| format!("the writer stopped: {e}")),
            };
            let text = match msg {
                Err(_) => break format!("nothing heard from the platform for {} s", idle.as_secs()),
                Ok(None) => break "the platform closed the connection".to_owned(),
                Ok(Some(Err(e))) => break format!("connection lost: {e}"),
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(Message::Close(c)))) => {
                    break format!(
                        "the platform closed the connection{}",
                        c.map(|c| format!(": {}", c.reason)).unwrap_or_default()
                    );
                }
                Ok(Some(Ok(_))) => continue,
            };
            match serde_json::from_str::<Frame>(&text) {
                Ok(Frame::Request { id, request: request @ Request::Apply { .. } }) => {
                    // The batches of one subscription are applied one after the other, in the order they came: the
                    // platform may send the next while this one is applied.
                    let Request::Apply { subscription, .. } = &request else { continue };
                    let queue = appliers.entry(subscription.clone()).or_insert_with(|| {
                        let (qtx, qrx) = mpsc::unbounded_channel();
                        tasks.spawn(apply_in_order(self.clone(), qrx, tx.clone(), session.clone(), permits.clone()));
                        qtx
                    });
                    if let Err(mpsc::error::SendError((id, _))) = queue.send((id, request)) {
                        tracing::warn!(id, "the apply queue of a subscription stopped");
                    }
                }
                Ok(Frame::Request { id, request }) => {
                    let (node, tx, session, permits) = (self.clone(), tx.clone(), session.clone(), permits.clone());
                    tasks.spawn(async move {
                        let _permit = permits.acquire().await;
                        let reply = node.handle_owned(request).await;
                        let _ = tx.send(response(&session, id, &reply)).await;
                    });
                }
                Ok(Frame::Ping { .. }) => {
                    let _ = tx.send(text_message(&Frame::Pong { at: now_rfc3339() })).await;
                }
                Ok(Frame::Error { message }) => tracing::warn!(platform = %message, "the platform reported an error"),
                Ok(other) => tracing::debug!(frame = frame_name(&other), "ignored frame"),
                Err(e) => {
                    // A request this node does not understand still gets an answer, so the platform stops waiting.
                    let id = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .filter(|v| v["type"] == "request")
                        .and_then(|v| v["data"]["id"].as_u64());
                    match id {
                        Some(id) => {
                            let reply = Reply::Failed {
                                code: shuqiao_exchange::FailCode::BadRequest,
                                message: format!("this node does not understand the request: {e}"),
                            };
                            let _ = tx.send(response(&session, id, &reply)).await;
                        }
                        None => tracing::debug!(error = %e, "ignored a frame this node does not understand"),
                    }
                }
            }
            while tasks.try_join_next().is_some() {}
        };
        health.abort();
        tasks.abort_all();
        drop(tx);
        writer.abort();
        End::AfterWelcome(why)
    }
}

/// The answer `reply` to request `id`, with its MAC.
fn response(session: &SessionKey, id: u64, reply: &Reply) -> Message {
    let body = Body::of(reply).or_else(|e| {
        Body::of(&Reply::Failed {
            code: shuqiao_exchange::FailCode::BadRequest,
            message: format!("cannot encode the reply: {e}"),
        })
    });
    match body {
        Ok(body) => {
            let mac = session.mac(id, body.text());
            text_message(&Frame::Response { id, body, mac })
        }
        // Not reached (a failure reply always encodes); the platform's request then times out.
        Err(_) => text_message(&Frame::Error { message: format!("cannot encode the answer to request {id}") }),
    }
}

/// Applies one subscription's batches in the order they arrived, answering each.
async fn apply_in_order(
    node: Arc<Node>,
    mut queue: mpsc::UnboundedReceiver<(u64, Request)>,
    tx: mpsc::Sender<Message>,
    session: Arc<SessionKey>,
    permits: Arc<Semaphore>,
) {
    while let Some((id, request)) = queue.recv().await {
        let _permit = permits.acquire().await;
        // On a task of its own: a batch's transaction runs to its commit or rollback even when this connection
        // ends (its tasks are aborted). A database connection dropped in the middle of a `COPY` would go back to
        // the pool out of step with its server, and answer the next statements with the previous ones' results.
        let applier = node.clone();
        let reply = match tokio::spawn(async move { applier.handle_owned(request).await }).await {
            Ok(reply) => reply,
            Err(e) => Reply::Failed {
                code: shuqiao_exchange::FailCode::SourceUnavailable,
                message: format!("applying the batch failed: {e}"),
            },
        };
        if tx.send(response(&session, id, &reply)).await.is_err() {
            return;
        }
    }
}

/// A [`Frame::Health`] right away and then every `health_seconds`, with a WebSocket ping so that a dead
/// connection is noticed.
async fn report_health(node: Arc<Node>, tx: mpsc::Sender<Message>) {
    let mut every = tokio::time::interval(node.config.limits.health_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let sources = node.sources.health().await;
        for s in sources.iter().filter(|s| !s.ok) {
            tracing::warn!(source = %s.name, problem = s.message.as_deref().unwrap_or(""), "source unavailable");
        }
        if tx.send(text_message(&Frame::Health { sources })).await.is_err()
            || tx.send(Message::Ping(Vec::new().into())).await.is_err()
        {
            return;
        }
    }
}

async fn next_frame<S>(stream: &mut S) -> Result<Frame, String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    loop {
        let msg = tokio::time::timeout_at(deadline, stream.next()).await.map_err(|_| "no answer within 15 s")?;
        match msg {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(&t).map_err(|e| format!("not a frame of {PROTOCOL}: {e}"));
            }
            Some(Ok(Message::Close(c))) => {
                return Err(format!("closed{}", c.map(|c| format!(": {}", c.reason)).unwrap_or_default()));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

async fn send<S>(sink: &mut S, frame: &Frame) -> Result<(), String>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    sink.send(text_message(frame)).await.map_err(|e| e.to_string())
}

fn text_message(frame: &Frame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

fn frame_name(f: &Frame) -> &'static str {
    match f {
        Frame::Challenge { .. } => "challenge",
        Frame::Hello { .. } => "hello",
        Frame::Welcome { .. } => "welcome",
        Frame::Error { .. } => "error",
        Frame::Request { .. } => "request",
        Frame::Response { .. } => "response",
        Frame::Health { .. } => "health",
        Frame::Ping { .. } => "ping",
        Frame::Pong { .. } => "pong",
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
