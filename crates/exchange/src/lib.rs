//! The node protocol (DESIGN "Node protocol"): what the platform and a front-end exchange node (前置交换节点)
//! say to each other over the one long-lived WebSocket the node opens to the platform
//! (`GET /api/v1/nodes/connect`). Frames are JSON text messages, adjacently tagged — `{"type": …, "data": {…}}`,
//! requests `{"op": …, "args": {…}}`, replies `{"kind": …, "data": {…}}` — so that serde reads a large frame in one
//! pass (an internally tagged enum is first buffered whole, then read again).
//!
//! 1. The platform sends [`Frame::Challenge`] with a fresh random nonce.
//! 2. The node answers [`Frame::Hello`]: its node id, public key and an ed25519 signature over
//!    [`hello_message`]`(nonce, node_id)`. The platform accepts it only if that key is registered for that node
//!    (`POST /api/v1/nodes`) and the signature verifies; then it sends [`Frame::Welcome`], else [`Frame::Error`]
//!    and closes.
//! 3. The platform sends [`Frame::Request`]s with ids unique within the connection; the node answers each with
//!    one [`Frame::Response`] whose `body` is the JSON text of a [`Reply`] and whose `sig` signs
//!    [`response_message`]`(nonce, id, body)`. The platform drops (and audits) a response that is unsigned, signed
//!    with another key, for an id it did not ask or already got an answer for (replay), or from another connection;
//!    the first signed answer to a request it gave up on (timed out) is dropped without alarm. A node applies the
//!    `apply` requests of one subscription one after the other, in the order they came (the platform may send the
//!    next before the previous is answered); other requests run concurrently.
//! 4. Either side may send [`Frame::Ping`]/[`Frame::Pong`]; the node reports [`Frame::Health`] periodically.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const PROTOCOL: &str = "shuqiao-node-v2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Frame {
    Challenge {
        nonce: String,
        protocol: String,
    },
    Hello {
        node_id: String,
        public_key: String,
        signature: String,
        version: String,
    },
    Welcome {
        node_id: String,
        department: String,
    },
    Error {
        message: String,
    },
    Request {
        id: u64,
        request: Request,
    },
    /// `body` is the JSON text of a [`Reply`]; `sig` is the hex ed25519 signature of [`response_message`].
    Response {
        id: u64,
        body: String,
        sig: String,
    },
    Health {
        sources: Vec<SourceHealth>,
    },
    Ping {
        at: String,
    },
    Pong {
        at: String,
    },
}

/// What the platform asks a node to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "args", rename_all = "snake_case")]
pub enum Request {
    /// The columns of a table or view on a source (for mount checks).
    Columns { source: String, table: String },
    /// Rows of a table: only `columns`, matching every filter exactly, ordered by `key_columns`, after the
    /// key `after` (keyset pagination), at most `limit`.
    Query {
        source: String,
        table: String,
        columns: Vec<String>,
        key_columns: Vec<String>,
        filters: Vec<Filter>,
        after: Option<Vec<Value>>,
        limit: u32,
    },
    /// A call to an upstream HTTP API reachable from the node.
    Api { url: String, method: String, headers: Vec<(String, String)>, body_base64: Option<String> },
    /// Table sync, provider side: a page of a full pass over a table — only `columns` (which include the key
    /// columns), ordered by `key_columns` (text compared byte-wise, the same order on every dialect), after the
    /// key `after`, at most `limit` (capped by the node's `max_sync_rows`).
    Scan {
        source: String,
        table: String,
        columns: Vec<String>,
        key_columns: Vec<String>,
        after: Option<Vec<Value>>,
        limit: u32,
    },
    /// Table sync, provider side: rows changed after a position — ordered by `change_column` then `key_columns`,
    /// after `after` = `[change value, key values…]`, at most `limit`. The reply's columns are `columns` followed
    /// by `change_column` (again, even when `columns` has it), whose values give the next position.
    Changes {
        source: String,
        table: String,
        columns: Vec<String>,
        key_columns: Vec<String>,
        change_column: String,
        after: Option<Vec<Value>>,
        limit: u32,
    },
    /// Table sync, provider side: the largest value of `change_column` (one row; `null` for an empty table) —
    /// read before a full pass, so that the changes after it are not missed.
    Watermark { source: String, table: String, change_column: String },
    /// Table sync, consumer side: apply batch `seq` of a subscription to the node's target database, in one
    /// transaction: create `table` if missing; drop `drop_columns` (items no longer granted); delete the rows whose
    /// key lies in `range` (a page of a full pass: the page's rows are all that the source has there); upsert
    /// `upserts` by `key_columns`; delete `deletes` (key values); advance the subscription's checkpoint. A batch at
    /// or below the checkpoint changes nothing.
    Apply {
        subscription: String,
        seq: u64,
        table: String,
        columns: Vec<SyncColumn>,
        key_columns: Vec<String>,
        upserts: Vec<Vec<Value>>,
        deletes: Vec<Vec<Value>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<KeyRange>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        drop_columns: Vec<String>,
    },
    /// Table sync, consumer side: the last batch applied for a subscription (0: none).
    Checkpoint { subscription: String },
}

/// A column of a subscribed table, typed as its catalog item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncColumn {
    pub name: String,
    /// The catalog data type letter (`C`, `N`, `Y`, `D`, `T`, `L`, `M`, `G`, `B`, `I`, `F`).
    pub data_type: String,
    pub length: Option<u32>,
}

/// Keys `after < key <= upto` in the order of [`Request::Scan`]; a missing bound is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRange {
    pub after: Option<Vec<Value>>,
    pub upto: Option<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub column: String,
    /// Compared as text: the node binds it as a parameter, never into SQL text.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The source's own type name (e.g. `TEXT`, `varchar`, `integer`, `date`).
    pub data_type: String,
}

/// A node's answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Reply {
    Columns {
        columns: Vec<Column>,
    },
    /// `rows[i][j]` is the value of `columns[j]`.
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
    Api {
        status: u16,
        headers: Vec<(String, String)>,
        body_base64: String,
    },
    Failed {
        code: FailCode,
        message: String,
    },
    /// The answer to `apply`: the checkpoint is now `seq`; `already`: it was applied before, nothing changed.
    Applied {
        seq: u64,
        already: bool,
    },
    /// The answer to `checkpoint`.
    Checkpoint {
        seq: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailCode {
    UnknownSource,
    UnknownTable,
    UnknownColumn,
    SourceUnavailable,
    UpstreamTimeout,
    UpstreamError,
    TooLarge,
    BadRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    pub name: String,
    pub kind: String,
    pub ok: bool,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("bad key: {0}")]
    BadKey(String),
    #[error("bad signature")]
    BadSignature,
    #[error("random source failed")]
    Random,
}

/// A new random nonce (32 bytes, hex).
pub fn new_nonce() -> Result<String, ProtocolError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| ProtocolError::Random)?;
    Ok(hex::encode(b))
}

pub fn hello_message(nonce: &str, node_id: &str) -> Vec<u8> {
    format!("{PROTOCOL}|hello|{nonce}|{node_id}").into_bytes()
}

pub fn response_message(nonce: &str, id: u64, body: &str) -> Vec<u8> {
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    format!("{PROTOCOL}|response|{nonce}|{id}|{digest}").into_bytes()
}

/// A node key pair, stored as the hex of the 32-byte secret (`shuqiao node keygen`).
pub struct NodeKey(SigningKey);

impl NodeKey {
    pub fn generate() -> Result<NodeKey, ProtocolError> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|_| ProtocolError::Random)?;
        Ok(NodeKey(SigningKey::from_bytes(&b)))
    }
    pub fn from_hex(text: &str) -> Result<NodeKey, ProtocolError> {
        let bytes = hex::decode(text.trim()).map_err(|e| ProtocolError::BadKey(e.to_string()))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| ProtocolError::BadKey("not 32 bytes".into()))?;
        Ok(NodeKey(SigningKey::from_bytes(&arr)))
    }
    pub fn secret_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }
    pub fn sign(&self, msg: &[u8]) -> String {
        hex::encode(self.0.sign(msg).to_bytes())
    }
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey({})", self.public_hex())
    }
}

/// Parses a registered public key (64 hex characters).
pub fn public_key(hex_key: &str) -> Result<VerifyingKey, ProtocolError> {
    let bytes = hex::decode(hex_key.trim()).map_err(|e| ProtocolError::BadKey(e.to_string()))?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| ProtocolError::BadKey("not 32 bytes".into()))?;
    VerifyingKey::from_bytes(&arr).map_err(|e| ProtocolError::BadKey(e.to_string()))
}

pub fn verify(key: &VerifyingKey, msg: &[u8], sig_hex: &str) -> Result<(), ProtocolError> {
    let bytes = hex::decode(sig_hex).map_err(|_| ProtocolError::BadSignature)?;
    let arr: [u8; 64] = bytes.try_into().map_err(|_| ProtocolError::BadSignature)?;
    key.verify(msg, &Signature::from_bytes(&arr)).map_err(|_| ProtocolError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_response_round_trip_and_tamper() {
        let k = NodeKey::generate().unwrap();
        let pk = public_key(&k.public_hex()).unwrap();
        let msg = response_message("n1", 7, "{\"kind\":\"rows\"}");
        let sig = k.sign(&msg);
        assert!(verify(&pk, &msg, &sig).is_ok());
        assert!(verify(&pk, &response_message("n2", 7, "{\"kind\":\"rows\"}"), &sig).is_err(), "other connection");
        assert!(verify(&pk, &response_message("n1", 8, "{\"kind\":\"rows\"}"), &sig).is_err(), "other id");
        assert!(verify(&pk, &response_message("n1", 7, "{\"kind\":\"rowz\"}"), &sig).is_err(), "other body");
        let k2 = NodeKey::from_hex(&k.secret_hex()).unwrap();
        assert_eq!(k2.public_hex(), k.public_hex());
    }

    #[test]
    fn frames_serialise_with_tags() {
        let f =
            Frame::Request { id: 1, request: Request::Columns { source: "hukou".into(), table: "residents".into() } };
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.starts_with(r#"{"type":"request","data":{"id":1,"request":{"op":"columns","args":{"#), "{text}");
        assert_eq!(serde_json::from_str::<Frame>(&text).unwrap(), f);
    }
}
