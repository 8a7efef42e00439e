//! `api` requests: a call to an upstream HTTP API inside the department's network.
//!
//! When the configuration lists `[[upstream]]` prefixes, only URLs under one of them may be called, and that
//! upstream's headers (credentials kept on the node) are added to the call.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use shuqiao_exchange::{FailCode, Reply};

use crate::config::{UpstreamConfig, redact_url};
use crate::plan::Fail;

#[derive(Debug, Clone)]
pub struct ApiCaller {
    client: reqwest::Client,
    upstreams: Vec<UpstreamConfig>,
    timeout: Duration,
    max_body: usize,
}

/// Headers the node never passes on from the platform's request (hop-by-hop, or set by the client itself).
const DROPPED: [&str; 6] = ["host", "connection", "content-length", "transfer-encoding", "upgrade", "te"];

impl ApiCaller {
    pub fn new(upstreams: Vec<UpstreamConfig>, timeout: Duration, max_body: usize) -> Result<ApiCaller, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ApiCaller { client, upstreams, timeout, max_body })
    }

    pub async fn call(&self, url: &str, method: &str, headers: &[(String, String)], body: Option<&str>) -> Reply {
        match self.try_call(url, method, headers, body).await {
            Ok(r) => r,
            Err(f) => f.reply(),
        }
    }

    async fn try_call(
        &self,
        url: &str,
        method: &str,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Result<Reply, Fail> {
        let bad = |m: String| Fail::new(FailCode::BadRequest, m);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("the upstream URL must be http:// or https://".into()));
        }
        let upstream = if self.upstreams.is_empty() {
            None
        } else {
            Some(
                self.upstreams
                    .iter()
                    .find(|u| url.starts_with(&u.prefix))
                    .ok_or_else(|| bad(format!("{} is not under an upstream this node may call", redact_url(url))))?,
            )
        };
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| bad(format!("\"{method}\" is not an HTTP method")))?;
        let mut req = self.client.request(method, url);
        for (k, v) in headers {
            if !DROPPED.contains(&k.to_ascii_lowercase().as_str()) {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        if let Some(u) = upstream {
            for (k, v) in &u.headers {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        if let Some(b) = body {
            let bytes = B64.decode(b).map_err(|e| bad(format!("body_base64 is not base64: {e}")))?;
            req = req.body(bytes);
        }
        let mut resp = req.send().await.map_err(|e| self.upstream_fail(&e, url))?;
        let too_large =
            || Fail::new(FailCode::TooLarge, format!("the upstream answer is larger than {} bytes", self.max_body));
        if resp.content_length().is_some_and(|n| n > self.max_body as u64) {
            return Err(too_large());
        }
        let status = resp.status().as_u16();
        let out_headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.upstream_fail(&e, url))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply::Api { status, headers: out_headers, body_base64: B64.encode(body) })
    }

    fn upstream_fail(&self, e: &reqwest::Error, url: &str) -> Fail {
        let shown = redact_url(url);
        if e.is_timeout() {
            Fail::new(
                FailCode::UpstreamTimeout,
                format!("{shown} did not answer within {} s", self.timeout.as_secs_f64()),
            )
        } else {
            tracing::warn!(url = %shown, error = %without_url_text(e), "upstream call failed");
            Fail::new(FailCode::UpstreamError, format!("{shown}: {}", without_url_text(e)))
        }
    }
}

fn without_url_text(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = String::from(if e.is_connect() { "cannot connect" } else { "the call failed" });
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}
