//! Nodes (前置交换节点, SPEC §7): registered by their department's administrator with their ed25519 public key;
//! they connect out to the platform and prove who they are by signing the platform's challenge.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shuqiao_domain::FieldError;
use shuqiao_domain::roles::Role;
use shuqiao_exchange::{Ephemeral, Frame, Transcript, hello_message, public_key, verify};
use shuqiao_store::exchange::{self as store, NodeRow};
use shuqiao_store::ts;

use super::registry::{Accepted, node_actor};
use crate::audit::{Actor, AuditEvent, record};
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

pub const ACTIVE: &str = "active";
pub const REVOKED: &str = "revoked";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeInput {
    pub name: Option<String>,
    pub public_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    pub id: String,
    pub name: String,
    pub department: String,
    pub public_key: String,
    pub status: String,
    pub connected: bool,
    pub last_seen: Option<String>,
    /// The node's last health report (`{sources: [{name, kind, ok, message}], at}`).
    pub health: Option<Value>,
    pub remote_addr: Option<String>,
    pub created_at: String,
}

fn view(p: &Platform, n: NodeRow) -> NodeView {
    NodeView {
        connected: p.nodes.is_connected(&n.id),
        health: n.health.as_deref().and_then(|h| serde_json::from_str(h).ok()),
        id: n.id,
        name: n.name,
        department: n.department,
        public_key: n.public_key,
        status: n.status,
        last_seen: n.last_seen,
        remote_addr: n.remote_addr,
        created_at: n.created_at,
    }
}

/// `POST /nodes` (department administrator): registers a node of the caller's department.
pub async fn register(p: &Platform, who: &Principal, input: NodeInput) -> Result<NodeView> {
    who.require(&[Role::DepartmentAdmin])?;
    let department = who.department()?.to_owned();
    let mut errors = Vec::new();
    let name = input.name.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "名称应为1至100个字符 (name must have 1 to 100 characters)"));
    }
    let key = input.public_key.as_deref().map(str::trim).unwrap_or_default().to_ascii_lowercase();
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        errors.push(FieldError::new(
            "public_key",
            "公钥应为64位十六进制字符 (public_key must be 64 hex characters: `shuqiao node keygen` prints it)",
        ));
    } else if public_key(&key).is_err() {
        errors.push(FieldError::new("public_key", "不是有效的 ed25519 公钥 (not a valid ed25519 public key)"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let row = NodeRow {
        id: uuid::Uuid::new_v4().to_string(),
        department: department.clone(),
        name,
        public_key: key,
        status: ACTIVE.into(),
        created_by: who.id.clone(),
        created_at: ts(p.now()),
        last_seen: None,
        health: None,
        remote_addr: None,
    };
    let mut tx = p.store.begin().await?;
    if store::node_by_key(&mut tx, &row.public_key).await?.is_some() {
        return Err(AppError::Conflict(
            "该公钥已登记给另一个节点 (this public key is already registered for a node)".into(),
        ));
    }
    store::insert_node(&mut tx, &row).await.map_err(|e| match e {
        shuqiao_store::StoreError::Duplicate(_) => {
            AppError::Conflict("该公钥已登记给另一个节点 (this public key is already registered for a node)".into())
        }
        other => other.into(),
    })?;
    let ev = AuditEvent::new("node.register", format!("node:{}", row.id))
        .department(department)
        .detail(json!({"name": row.name, "public_key": row.public_key}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(view(p, row))
}

/// `GET /nodes`: the caller's department's nodes; every node for platform administrators.
pub async fn list(p: &Platform, who: &Principal, after: Option<&str>, limit: i64) -> Result<Vec<NodeView>> {
    let department = if who.has(Role::PlatformAdmin) { None } else { Some(who.department()?) };
    let mut c = p.store.reader().await?;
    Ok(store::list_nodes(&mut c, department, after, limit).await?.into_iter().map(|n| view(p, n)).collect())
}

/// Checks a node's hello against the challenge (`nonce`, and the platform's `ephemeral` key sent with it), and
/// agrees the connection's session key. On refusal returns the reason to send back; every outcome is audited
/// (`node.connect` or `node.refused`).
pub async fn authenticate(
    p: &Platform,
    nonce: &str,
    ephemeral: Ephemeral,
    hello: &Frame,
    remote_addr: Option<&str>,
) -> std::result::Result<Accepted, String> {
    let (node_id, key_hex, signature, node_key) = match hello {
        Frame::Hello { node_id, public_key, signature, key, .. } => (node_id, public_key, signature, key),
        _ => return Err(refuse(p, None, "the first frame must be a hello", remote_addr).await),
    };
    let row = match p.store.reader().await {
        Ok(mut c) => store::get_node(&mut c, node_id).await.ok().flatten(),
        Err(_) => None,
    };
    let Some(row) = row else {
        return Err(refuse(
            p,
            Some(node_id),
            "unknown node id (register the node with POST /api/v1/nodes)",
            remote_addr,
        )
        .await);
    };
    if row.status == REVOKED {
        return Err(refuse(p, Some(node_id), "the node was revoked", remote_addr).await);
    }
    if !row.public_key.eq_ignore_ascii_case(key_hex.trim()) {
        return Err(
            refuse(p, Some(node_id), "the public key is not the one registered for this node", remote_addr).await
        );
    }
    let Ok(key) = public_key(&row.public_key) else {
        return Err(refuse(p, Some(node_id), "the registered key is unusable", remote_addr).await);
    };
    let platform_key = ephemeral.public_hex();
    let t = Transcript { nonce, node_id, platform_key: &platform_key, node_key };
    if verify(&key, &hello_message(&t), signature).is_err() {
        return Err(refuse(p, Some(node_id), "the challenge signature does not verify", remote_addr).await);
    }
    let Ok(session) = ephemeral.agree(node_key, &t) else {
        return Err(refuse(p, Some(node_id), "the node's session key is unusable", remote_addr).await);
    };
    let now = ts(p.now());
    if let Ok(mut tx) = p.store.begin().await {
        let ok = store::touch_node(&mut tx, node_id, &now, None, remote_addr).await.is_ok();
        if ok {
            let _ = shuqiao_store::commit(tx).await;
        }
    }
    let ev = AuditEvent::new("node.connect", format!("node:{node_id}"))
        .department(row.department.clone())
        .detail(json!({"remote_addr": remote_addr}));
    if let Err(e) = p.audit_writer.append(node_actor(node_id, &row.name, &row.department), ev).await {
        tracing::warn!(error = %e, "could not audit a node connection");
        return Err("the platform cannot record the connection now; retry later".into());
    }
    Ok(Accepted { node_id: row.id, node_name: row.name, department: row.department, session })
}

pub async fn refuse(p: &Platform, node_id: Option<&str>, reason: &str, remote_addr: Option<&str>) -> String {
    let actor = Actor {
        id: "anonymous".into(),
        name: node_id.map(|n| format!("node:{}", n.chars().take(64).collect::<String>())).unwrap_or_default(),
        department: None,
    };
    let ev = AuditEvent::new(
        "node.refused",
        format!("node:{}", node_id.unwrap_or("?").chars().take(64).collect::<String>()),
    )
    .result("refused")
    .detail(json!({"reason": reason, "remote_addr": remote_addr}));
    if let Err(e) = p.audit_writer.append(actor, ev).await {
        tracing::warn!(error = %e, "could not audit a refused node");
    }
    tracing::info!(node = ?node_id, reason, "refused a node connection");
    reason.to_owned()
}

/// Records a node's last contact (and health report); failures are only logged.
pub async fn touch(p: &Platform, node_id: &str, health: Option<&str>, remote_addr: Option<&str>) {
    let now = ts(p.now());
    let r = async {
        let mut tx = p.store.begin().await?;
        store::touch_node(&mut tx, node_id, &now, health, remote_addr).await?;
        // A node's last contact is in no cache: no need to refresh them.
        shuqiao_store::commit_append(tx).await
    };
    if let Err(e) = r.await {
        tracing::warn!(error = %e, node_id, "could not record a node's last contact");
    }
}

/// The node `id` if it belongs to `department` and is not revoked.
pub(crate) async fn of_department(c: &mut shuqiao_store::Conn, id: &str, department: &str) -> Result<Option<NodeRow>> {
    Ok(store::get_node(c, id).await?.filter(|n| n.department == department && n.status != REVOKED))
}
