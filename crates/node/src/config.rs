//! `node.toml`: the node's configuration (API.md "Node configuration", docs/node.md).
//!
//! Every problem is reported with the key it concerns and a plain sentence, all problems at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The platform's base URL (`http://…` or `https://…`).
    pub platform: String,
    pub key_file: PathBuf,
    /// The id the platform assigned when the node's key was registered (`POST /api/v1/nodes` → `{id, …}`).
    pub node_id: String,
    pub sources: Vec<SourceConfig>,
    pub target: Option<String>,
    pub upstreams: Vec<UpstreamConfig>,
    pub limits: Limits,
    /// Directory of the config file: relative paths (key file, sqlite/csv/xlsx files) are relative to it.
    pub base_dir: PathBuf,
}

#[derive(Clone)]
pub struct SourceConfig {
    pub name: String,
    /// Holds credentials: never log it, use [`redact_url`].
    pub url: String,
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SourceConfig({}, {})", self.name, redact_url(&self.url))
    }
}

/// An upstream HTTP API the node may call for `api` requests, with headers (credentials) added on the node.
#[derive(Clone)]
pub struct UpstreamConfig {
    pub prefix: String,
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UpstreamConfig({}, {} headers)", self.prefix, self.headers.len())
    }
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_rows: u32,
    /// Most rows in one page of a table-sync read (`scan`, `changes`).
    pub max_sync_rows: u32,
    pub query_timeout: Duration,
    pub api_timeout: Duration,
    pub api_max_body_bytes: usize,
    pub health_interval: Duration,
    pub max_concurrent_requests: usize,
    pub max_connections: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 1000,
            max_sync_rows: 10_000,
            query_timeout: Duration::from_secs(30),
            api_timeout: Duration::from_secs(10),
            api_max_body_bytes: 10 * 1024 * 1024,
            health_interval: Duration::from_secs(30),
            max_concurrent_requests: 16,
            max_connections: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(p: impl Into<String>) -> ConfigError {
        ConfigError { problems: vec![p.into()] }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    platform: Option<String>,
    key_file: Option<String>,
    node_id: Option<String>,
    #[serde(default)]
    source: Vec<RawSource>,
    target: Option<RawTarget>,
    #[serde(default)]
    upstream: Vec<RawUpstream>,
    max_rows: Option<i64>,
    max_sync_rows: Option<i64>,
    query_timeout_seconds: Option<f64>,
    api_timeout_seconds: Option<f64>,
    api_max_body_bytes: Option<i64>,
    health_seconds: Option<f64>,
    max_concurrent_requests: Option<i64>,
    max_connections: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    prefix: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

pub const SOURCE_SCHEMES: [&str; 5] = ["sqlite://", "postgres://", "mysql://", "csv://", "xlsx://"];

impl NodeConfig {
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::one(format!("cannot read the configuration {}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        NodeConfig::parse(&text, &base)
    }

    pub fn parse(text: &str, base_dir: &Path) -> Result<NodeConfig, ConfigError> {
        let raw: Raw = toml::from_str(text).map_err(|e| ConfigError::one(toml_problem(&e)))?;
        let mut problems = Vec::new();
        let mut need = |key: &str, v: Option<String>, why: &str| match v.map(|s| s.trim().to_owned()) {
            Some(s) if !s.is_empty() => s,
            _ => {
                problems.push(format!("`{key}` is missing: {why}"));
                String::new()
            }
        };
        let platform =
            need("platform", raw.platform, "give the platform's URL, e.g. \"https://shuqiao.example.gov.cn\"");
        let key_file = need("key_file", raw.key_file, "give the file written by `shuqiao node keygen --out FILE`");
        let node_id = need(
            "node_id",
            raw.node_id,
            "give the id the platform answered when the key was registered (POST /api/v1/nodes)",
        );
        if !(platform.is_empty() || platform.starts_with("http://") || platform.starts_with("https://")) {
            problems.push(format!("`platform` must start with http:// or https://, not \"{}\"", redact_url(&platform)));
        }
        let mut sources = Vec::new();
        for (i, s) in raw.source.into_iter().enumerate() {
            let key = format!("source[{}]", i + 1);
            let name = s.name.map(|n| n.trim().to_owned()).unwrap_or_default();
            if name.is_empty() {
                problems.push(format!("`{key}.name` is missing: every source needs the name mounts refer to"));
            } else if sources.iter().any(|x: &SourceConfig| x.name == name) {
                problems.push(format!("`{key}.name`: the name \"{name}\" is used by another source"));
            }
            let url = s.url.map(|u| u.trim().to_owned()).unwrap_or_default();
            if url.is_empty() {
                problems.push(format!(
                    "`{key}.url` is missing: give sqlite:///…, postgres://…, mysql://…, csv:///… or xlsx:///…"
                ));
            } else if !SOURCE_SCHEMES.iter().any(|p| url.starts_with(p)) {
                problems.push(format!(
                    "`{key}.url` \"{}\" is not a source this node can read: use sqlite:///…, postgres://…, mysql://…, csv:///… or xlsx:///…",
                    redact_url(&url)
                ));
            }
            sources.push(SourceConfig { name, url });
        }
        let target = match raw.target {
            Some(t) => match t.url.map(|u| u.trim().to_owned()) {
                Some(u) if ["sqlite://", "postgres://", "mysql://"].iter().any(|p| u.starts_with(p)) => Some(u),
                Some(u) if !u.is_empty() => {
                    problems.push(format!(
                        "`target.url` \"{}\" must be a sqlite:///…, postgres://… or mysql://… database",
                        redact_url(&u)
                    ));
                    None
                }
                _ => {
                    problems.push("`target.url` is missing: give the database subscribed tables are written to".into());
                    None
                }
            },
            None => None,
        };
        let mut upstreams = Vec::new();
        for (i, u) in raw.upstream.into_iter().enumerate() {
            let prefix = u.prefix.map(|p| p.trim().to_owned()).unwrap_or_default();
            if !(prefix.starts_with("http://") || prefix.starts_with("https://")) {
                problems.push(format!(
                    "`upstream[{}].prefix` must be an http:// or https:// URL prefix the node may call",
                    i + 1
                ));
            }
            upstreams.push(UpstreamConfig { prefix, headers: u.headers.into_iter().collect() });
        }
        let d = Limits::default();
        let mut int = |key: &str, v: Option<i64>, min: i64, max: i64, default: i64| match v {
            None => default,
            Some(n) if n >= min && n <= max => n,
            Some(n) => {
                problems.push(format!("`{key}` is {n}: it must be between {min} and {max}"));
                default
            }
        };
        let max_rows = int("max_rows", raw.max_rows, 1, 100_000, i64::from(d.max_rows));
        let max_sync_rows = int("max_sync_rows", raw.max_sync_rows, 1, 100_000, i64::from(d.max_sync_rows));
        let body = int("api_max_body_bytes", raw.api_max_body_bytes, 1, 1 << 30, 10 << 20);
        let conc = int("max_concurrent_requests", raw.max_concurrent_requests, 1, 1024, 16);
        let conns = int("max_connections", raw.max_connections, 1, 100, 5);
        let mut secs = |key: &str, v: Option<f64>, default: Duration| match v {
            None => default,
            Some(s) if s.is_finite() && (0.1..=3600.0).contains(&s) => Duration::from_secs_f64(s),
            Some(s) => {
                problems.push(format!("`{key}` is {s}: it must be between 0.1 and 3600 seconds"));
                default
            }
        };
        let limits = Limits {
            query_timeout: secs("query_timeout_seconds", raw.query_timeout_seconds, d.query_timeout),
            api_timeout: secs("api_timeout_seconds", raw.api_timeout_seconds, d.api_timeout),
            health_interval: secs("health_seconds", raw.health_seconds, d.health_interval),
            max_rows: u32::try_from(max_rows).unwrap_or(d.max_rows),
            max_sync_rows: u32::try_from(max_sync_rows).unwrap_or(d.max_sync_rows),
            api_max_body_bytes: usize::try_from(body).unwrap_or(d.api_max_body_bytes),
            max_concurrent_requests: usize::try_from(conc).unwrap_or(d.max_concurrent_requests),
            max_connections: u32::try_from(conns).unwrap_or(d.max_connections),
        };
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        let key_file = base_dir.join(key_file);
        Ok(NodeConfig {
            platform: platform.trim_end_matches('/').to_owned(),
            key_file,
            node_id,
            sources,
            target,
            upstreams,
            limits,
            base_dir: base_dir.to_path_buf(),
        })
    }

    /// The WebSocket URL of the platform's node endpoint.
    pub fn connect_url(&self) -> String {
        let rest = self.platform.strip_prefix("https://").map(|r| format!("wss://{r}"));
        let ws = rest.unwrap_or_else(|| format!("ws://{}", self.platform.trim_start_matches("http://")));
        format!("{ws}/api/v1/nodes/connect")
    }
}

fn toml_problem(e: &toml::de::Error) -> String {
    let msg = e.message().trim();
    let at = e.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default();
    if let Some(field) = msg.strip_prefix("unknown field ") {
        let name = field.split(',').next().unwrap_or(field);
        return format!("{name} is not a key of the node configuration{at}: see docs/node.md for the keys");
    }
    format!("the configuration is not valid TOML of the expected shape{at}: {msg}")
}

/// The URL with any password replaced by `***` (and query parameters named like secrets dropped): safe to log.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority_end, path) = match rest.find(['/', '?']) {
        Some(i) => (i, &rest[i..]),
        None => (rest.len(), ""),
    };
    let authority = &rest[..authority_end];
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') { format!("{user}:***@{host}") } else { format!("{user}@{host}") }
        }
        None => authority.to_owned(),
    };
    let path = match path.split_once('?') {
        Some((p, q)) => {
            let kept: Vec<String> = q
                .split('&')
                .map(|kv| {
                    let k = kv.split('=').next().unwrap_or("");
                    let secret = ["password", "pass", "pwd", "secret", "token", "key"]
                        .iter()
                        .any(|s| k.to_ascii_lowercase().contains(s));
                    if secret { format!("{k}=***") } else { kv.to_owned() }
                })
                .collect();
            format!("{p}?{}", kept.join("&"))
        }
        None => path.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:s3cret@db:5432/x"), "postgres://u:***@db:5432/x");
        assert_eq!(redact_url("mysql://root@127.0.0.1/x"), "mysql://root@127.0.0.1/x");
        assert_eq!(redact_url("postgres://db/x?user=a&password=b"), "postgres://db/x?user=a&password=***");
        assert_eq!(redact_url("sqlite:///srv/a.db"), "sqlite:///srv/a.db");
        assert_eq!(redact_url("postgres://u:p@ss@db/x"), "postgres://u:***@db/x");
    }

    #[test]
    fn minimal_config_and_connect_url() {
        let c = NodeConfig::parse(
            "platform = \"https://p.example/\"\nkey_file = \"node.key\"\nnode_id = \"n1\"\n[[source]]\nname = \"hukou\"\nurl = \"sqlite:///srv/hukou.db\"\n",
            Path::new("/etc/shuqiao"),
        )
        .unwrap();
        assert_eq!(c.connect_url(), "wss://p.example/api/v1/nodes/connect");
        assert_eq!(c.key_file, Path::new("/etc/shuqiao/node.key"));
        assert_eq!(c.limits.max_rows, 1000);
        assert_eq!(c.limits.max_sync_rows, 10_000);
    }

    #[test]
    fn problems_name_their_keys() {
        let e = NodeConfig::parse(
            "platform = \"ftp://x\"\nmax_rows = 0\nmax_sync_rows = 100001\n[[source]]\nname = \"a\"\nurl = \"oracle://u:pw@h/x\"\n",
            Path::new("."),
        )
        .unwrap_err();
        let text = e.to_string();
        for want in [
            "`key_file` is missing",
            "`node_id` is missing",
            "`platform` must start",
            "`max_rows` is 0",
            "`max_sync_rows` is 100001",
            "`source[1].url`",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
        assert!(!text.contains("pw@"), "password leaked: {text}");
        let e = NodeConfig::parse("platfrom = \"http://x\"\n", Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("`platfrom` is not a key"), "{e}");
    }
}
