//! The front-end exchange node (前置交换节点): runs inside a department's network, connects out to the platform
//! over one WebSocket (protocol: `shuqiao-exchange`), and answers the platform's requests from the department's
//! sources: databases (SQLite, PostgreSQL, MySQL/MariaDB), CSV and xlsx files, and upstream HTTP APIs.
//! Credentials in source URLs stay on the node. Configuration: docs/node.md.

pub mod agent;
pub mod api;
pub mod config;
mod dialect;
pub mod plan;
mod sheet;
pub mod source;
mod sql;
pub mod target;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

pub use agent::Node;
pub use config::NodeConfig;
use shuqiao_exchange::NodeKey;

/// Writes a new key's secret (hex, mode 0600) to `out`, refusing to overwrite a file; returns the public key.
pub fn keygen(out: &Path) -> anyhow::Result<String> {
    let key = NodeKey::generate().map_err(|e| anyhow::anyhow!("cannot generate a key: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} already exists: a node key is never overwritten; choose another --out", out.display())
        } else {
            anyhow::anyhow!("cannot create {}: {e}", out.display())
        }
    })?;
    writeln!(file, "{}", key.secret_hex()).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    file.sync_all().map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    Ok(key.public_hex())
}

/// Reads a key written by [`keygen`]; warns when others may read it.
pub fn load_key(path: &Path) -> anyhow::Result<NodeKey> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "key_file: cannot read {}: {e} (create one with `shuqiao node keygen --out FILE`)",
            path.display()
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(file = %path.display(), "the node key can be read by other users: chmod 600 it");
        }
    }
    NodeKey::from_hex(&text).map_err(|e| anyhow::anyhow!("key_file: {} is not a node key: {e}", path.display()))
}

/// `shuqiao node --config FILE`: loads the configuration and the key, then serves until Ctrl-C or SIGTERM.
pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    let config = NodeConfig::load(config_path)
        .map_err(|e| anyhow::anyhow!("{}:\n  {}", config_path.display(), e.problems.join("\n  ")))?;
    let key = load_key(&config.key_file)?;
    tracing::info!(
        node_id = %config.node_id,
        platform = %config::redact_url(&config.platform),
        public_key = %key.public_hex(),
        "node starting"
    );
    let node = Arc::new(Node::new(config, key)?);
    for s in node.sources.iter() {
        tracing::info!(source = %s.name, kind = s.kind(), url = %s.display_url, "source");
    }
    if node.config.upstreams.is_empty() {
        tracing::warn!(
            "no [[upstream]] is configured: api requests may call any http URL this node reaches; list upstream \
             prefixes to restrict them"
        );
    }
    if let Some(target) = &node.config.target {
        tracing::info!(url = %config::redact_url(target), "target database for subscribed tables");
    }
    node.run(shutdown_signal()).await;
    tracing::info!("node stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
