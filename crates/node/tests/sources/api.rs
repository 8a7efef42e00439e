//! `api` requests against a real HTTP server on a local port, standing in for a department's upstream API.

use std::time::Duration;

use base64::Engine as _;
use shuqiao_exchange::{FailCode, Reply};
use shuqiao_node::api::ApiCaller;
use shuqiao_node::config::UpstreamConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves every connection with `respond(request text)`; `None` holds the connection open without answering.
async fn upstream(respond: fn(&str) -> Option<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                let text = String::from_utf8_lossy(&got).into_owned();
                match respond(&text) {
                    Some(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    format!("http://{addr}")
}

fn echo(req: &str) -> Option<Vec<u8>> {
    let first = req.lines().next().unwrap_or("").to_owned();
    let auth = req
        .lines()
        .find_map(|l| l.to_ascii_lowercase().starts_with("authorization:").then(|| l[14..].trim().to_owned()))
        .unwrap_or_default();
    let body = format!("{first}|{auth}");
    Some(format!("HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\nx-up: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).into_bytes())
}

fn huge(_: &str) -> Option<Vec<u8>> {
    let body = "x".repeat(5000);
    Some(format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{body}").into_bytes())
}

fn silent(_: &str) -> Option<Vec<u8>> {
    None
}

fn body(reply: &Reply) -> String {
    match reply {
        Reply::Api { body_base64, .. } => {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body_base64).unwrap()).unwrap()
        }
        other => panic!("{other:?}"),
    }
}

fn code(reply: &Reply) -> FailCode {
    match reply {
        Reply::Failed { code, .. } => *code,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn api_calls_upstreams_with_limits() {
    let up = upstream(echo).await;
    let api = ApiCaller::new(Vec::new(), Duration::from_millis(500), 1000).unwrap();
    let r = api.call(&format!("{up}/v1/check?id=1"), "post", &[("x-a".into(), "b".into())], Some("e30=")).await;
    assert!(
        matches!(&r, Reply::Api { status: 201, headers, .. } if headers.iter().any(|(k, v)| k == "x-up" && v == "1")),
        "{r:?}"
    );
    assert_eq!(body(&r), "POST /v1/check?id=1 HTTP/1.1|");

    // With upstreams listed, only their prefixes may be called, with the headers kept on the node.
    let allowed = UpstreamConfig {
        prefix: format!("{up}/v1/"),
        headers: vec![("Authorization".into(), "Bearer node-secret".into())],
    };
    let api = ApiCaller::new(vec![allowed], Duration::from_millis(500), 1000).unwrap();
    let r = api.call(&format!("{up}/v1/x"), "GET", &[], None).await;
    assert_eq!(body(&r), "GET /v1/x HTTP/1.1|Bearer node-secret");
    assert_eq!(code(&api.call(&format!("{up}/admin"), "GET", &[], None).await), FailCode::BadRequest);
    assert_eq!(code(&api.call("file:///etc/passwd", "GET", &[], None).await), FailCode::BadRequest);

    let big = upstream(huge).await;
    let api = ApiCaller::new(Vec::new(), Duration::from_millis(500), 1000).unwrap();
    assert_eq!(code(&api.call(&big, "GET", &[], None).await), FailCode::TooLarge);

    let quiet = upstream(silent).await;
    assert_eq!(code(&api.call(&quiet, "GET", &[], None).await), FailCode::UpstreamTimeout);

    // Nothing listens on the port any more.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    assert_eq!(code(&api.call(&closed, "GET", &[], None).await), FailCode::UpstreamError);
}
