//! Baseline of bench/gateway.sh: a trivial HTTP server doing the lookup the node does, with no platform — one
//! person of the `residents` table by ID number, from the same SQLite file (read-only pool of 5 connections, as
//! the node's), answered as JSON. bench/gateway.sh puts nginx in front of it.
//!
//! `gateway_baseline DB_FILE LISTEN_ADDR`, then `GET /residents?sfzh=<ID number>` →
//! `{"items": [{"sfzh": …, "xm": …, "lxdh": …, "hjdz": …}]}` (an empty list when there is no such person).
//!
//! HTTP/1.1 with keep-alive, written directly on tokio (the `shuqiao` package has no HTTP server dependency of its
//! own): it reads a request head, ignores the headers except `Content-Length` (a body is skipped) and
//! `Connection`, and answers with a `Content-Length`. Enough for wrk and nginx's upstream keep-alive.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `sfzh` query parameter of a request target.
fn key_of(target: &str) -> Option<String> {
    let (path, query) = target.split_once('?')?;
    if path != "/residents" {
        return None;
    }
    query.split('&').find_map(|kv| kv.strip_prefix("sfzh=")).map(percent_decode)
}

async fn lookup(pool: &SqlitePool, key: &str) -> anyhow::Result<Value> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT sfzh, xm, lxdh, hjdz FROM residents WHERE sfzh = ?1 ORDER BY sfzh LIMIT 2")
            .bind(key)
            .fetch_all(pool)
            .await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(sfzh, xm, lxdh, hjdz)| json!({"sfzh": sfzh, "xm": xm, "lxdh": lxdh, "hjdz": hjdz}))
        .collect();
    Ok(json!({ "items": items }))
}

async fn respond(s: &mut TcpStream, status: &str, body: &[u8], close: bool) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n",
        body.len(),
        if close { "connection: close\r\n" } else { "" }
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    s.write_all(&out).await
}

async fn serve(mut s: TcpStream, pool: SqlitePool) -> anyhow::Result<()> {
    s.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let end = loop {
            if let Some(end) = find_head_end(&buf) {
                break end;
            }
            if buf.len() > MAX_HEAD {
                respond(&mut s, "431 Request Header Fields Too Large", b"{}", true).await?;
                return Ok(());
            }
            if s.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut parts = lines.next().unwrap_or("").split(' ');
        let (method, target, version) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next());
        let mut body_len = 0usize;
        let mut close = version != Some("HTTP/1.1");
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    body_len = value.parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close") || (close && !value.eq_ignore_ascii_case("keep-alive"));
                }
            }
        }
        // Skip a body, if any.
        while buf.len() < end + body_len {
            if s.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
        buf.drain(..end + body_len);
        match (method, key_of(target)) {
            ("GET", Some(key)) => match lookup(&pool, &key).await {
                Ok(v) => respond(&mut s, "200 OK", &serde_json::to_vec(&v)?, close).await?,
                Err(e) => {
                    let body = serde_json::to_vec(&json!({"error": e.to_string()}))?;
                    respond(&mut s, "500 Internal Server Error", &body, close).await?
                }
            },
            _ => respond(&mut s, "404 Not Found", b"{\"error\":\"GET /residents?sfzh=\"}", close).await?,
        }
        if close {
            return Ok(());
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(addr)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: gateway_baseline DB_FILE LISTEN_ADDR");
    };
    let opts = SqliteConnectOptions::new().filename(db).read_only(true);
    let pool =
        SqlitePoolOptions::new().max_connections(5).acquire_timeout(Duration::from_secs(30)).connect_with(opts).await?;
    let listener = TcpListener::bind(addr).await?;
    eprintln!("gateway_baseline listening on {addr}");
    loop {
        let (s, _) = listener.accept().await?;
        let pool = pool.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(s, pool).await {
                eprintln!("connection: {e}");
            }
        });
    }
}
