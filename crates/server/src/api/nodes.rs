//! Nodes and mounts (API.md "Accounts" nodes rows, "Catalog" mount rows) and the nodes' WebSocket
//! (`GET /nodes/connect`, the protocol of `shuqiao-exchange`). The socket is only transport: what frames mean is
//! decided in `shuqiao_app::exchange`.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::SinkExt;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, Path};
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use shuqiao_app::Platform;
use shuqiao_app::catalog::parse_path_code;
use shuqiao_app::exchange::registry::{After, audit_bad_frame, on_frame};
use shuqiao_app::exchange::{mounts, nodes};
use shuqiao_exchange::{Ephemeral, Frame, PROTOCOL, new_nonce};

use crate::ApiError;
use crate::extract::{Auth, Json, List, Page, Plat};

/// How long a node has to answer the challenge.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the platform pings a connected node.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Frames written to a node in one flush at most.
const OUT_BATCH: usize = 64;

pub async fn register(Auth(who, p): Auth, Json(input): Json<nodes::NodeInput>) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(nodes::register(&p, &who, input).await?)))
}

pub async fn list(Auth(who, p): Auth, page: Page) -> Result<impl IntoResponse, ApiError> {
    let limit = i64::try_from(page.limit).unwrap_or(50);
    let items = nodes::list(&p, &who, page.cursor.as_deref(), limit).await?;
    Ok(axum::Json(List::keyed(items, page.limit, |n| format!("{}|{}", n.created_at, n.id))))
}

pub async fn put_mount(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
    Json(input): Json<mounts::MountInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(mounts::put(&p, &who, parse_path_code(&class, &seq)?, &input).await?))
}

pub async fn get_mount(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(mounts::get(&p, &who, parse_path_code(&class, &seq)?).await?))
}

pub async fn check_mount(
    Auth(who, p): Auth,
    Path((class, seq)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(mounts::check(&p, &who, parse_path_code(&class, &seq)?).await?))
}

/// `GET /nodes/connect`: upgrades to the node protocol's WebSocket.
pub async fn connect(
    Plat(p): Plat,
    ext: Extensions,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::bad_request(format!(
                "此地址供前置节点建立 WebSocket 连接 (this is the nodes' WebSocket endpoint: {e})"
            ))
            .into_response();
        }
    };
    let remote = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string());
    ws.max_message_size(64 * 1024 * 1024).on_upgrade(move |socket| session(p, socket, remote))
}

async fn send(socket: &mut WebSocket, frame: &Frame) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    socket.send(Message::Text(text.into())).await.map_err(|_| ())
}

async fn refuse(socket: &mut WebSocket, message: String) {
    let _ = send(socket, &Frame::Error { message }).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// The next text frame, skipping transport pings; `None` when the socket ends.
async fn next_text(socket: &mut WebSocket) -> Option<Result<String, String>> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(t)) => return Some(Ok(t.to_string())),
            Ok(Message::Binary(_)) => return Some(Err("binary frames are not part of the protocol".into())),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) | Err(_) => return None,
        }
    }
}

async fn session(p: Platform, mut socket: WebSocket, remote: Option<String>) {
    let (Ok(nonce), Ok(ephemeral)) = (new_nonce(), Ephemeral::generate()) else {
        refuse(&mut socket, "the platform cannot make a challenge now; retry later".into()).await;
        return;
    };
    let challenge = Frame::Challenge { nonce: nonce.clone(), protocol: PROTOCOL.into(), key: ephemeral.public_hex() };
    if send(&mut socket, &challenge).await.is_err() {
        return;
    }
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, next_text(&mut socket)).await {
        Ok(Some(Ok(text))) => match serde_json::from_str::<Frame>(&text) {
            Ok(f) => f,
            Err(e) => {
                let why = nodes::refuse(&p, None, &format!("unreadable hello: {e}"), remote.as_deref()).await;
                return refuse(&mut socket, why).await;
            }
        },
        Ok(Some(Err(why))) => {
            let why = nodes::refuse(&p, None, &why, remote.as_deref()).await;
            return refuse(&mut socket, why).await;
        }
        Ok(None) => return,
        Err(_) => {
            let why = nodes::refuse(&p, None, "no hello within 10 s", remote.as_deref()).await;
            return refuse(&mut socket, why).await;
        }
    };
    let who = match nodes::authenticate(&p, &nonce, ephemeral, &hello, remote.as_deref()).await {
        Ok(who) => who,
        Err(why) => return refuse(&mut socket, why).await,
    };
    let welcome = Frame::Welcome { node_id: who.node_id.clone(), department: who.department.clone() };
    if send(&mut socket, &welcome).await.is_err() {
        return;
    }
    let (conn, mut outbox) = p.nodes.attach(who);
    tracing::info!(node = %conn.node_id, remote = ?remote, "node connected");
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            incoming = next_text(&mut socket) => match incoming {
                Some(Ok(text)) => match serde_json::from_str::<Frame>(&text) {
                    Ok(frame) => {
                        if let After::Reply(f) = on_frame(&p, &conn, frame).await
                            && send(&mut socket, &f).await.is_err()
                        {
                            break;
                        }
                    }
                    Err(e) => audit_bad_frame(&p, &conn, &format!("unreadable frame: {e}")),
                },
                Some(Err(why)) => audit_bad_frame(&p, &conn, &why),
                None => break,
            },
            out = outbox.recv() => match out {
                Some(frame) => {
                    // Whatever else is queued goes out with it, in one write.
                    let mut last = false;
                    let mut next = Some(frame);
                    let mut queued = 0;
                    let mut failed = false;
                    while let Some(frame) = next.take() {
                        last = matches!(frame, Frame::Error { .. });
                        let Ok(text) = serde_json::to_string(&frame) else { continue };
                        if socket.feed(Message::Text(text.into())).await.is_err() {
                            failed = true;
                            break;
                        }
                        queued += 1;
                        if !last && queued < OUT_BATCH {
                            next = outbox.try_recv().ok();
                        }
                    }
                    if failed || socket.flush().await.is_err() || last {
                        let _ = socket.send(Message::Close(None)).await;
                        break;
                    }
                }
                None => break,
            },
            _ = ping.tick() => {
                let at = shuqiao_store::ts(p.now());
                if send(&mut socket, &Frame::Ping { at }).await.is_err() {
                    break;
                }
            }
        }
    }
    p.nodes.detach(&conn);
    nodes::touch(&p, &conn.node_id, None, None).await;
    tracing::info!(node = %conn.node_id, "node disconnected");
}
