//! The node protocol (DESIGN "Node protocol"): what the platform and a front-end exchange node (前置交换节点)
//! say to each other over the one long-lived WebSocket the node opens to the platform
//! (`GET /api/v1/nodes/connect`). Frames are JSON text messages, adjacently tagged — `{"type": …, "data": {…}}`,
//! requests `{"op": …, "args": {…}}`, replies `{"kind": …, "data": {…}}` — so that serde reads a large frame in one
//! pass (an internally tagged enum is first buffered whole, then read again).
//!
//! 1. The platform sends [`Frame::Challenge`] with a fresh random nonce and a fresh X25519 public key.
//! 2. The node answers [`Frame::Hello`]: its node id, its registered public key, a fresh X25519 public key of its
//!    own, and an ed25519 signature over [`hello_message`] — the nonce, the node id and both X25519 keys. The
//!    platform accepts it only if that key is registered for that node (`POST /api/v1/nodes`) and the signature
//!    verifies; then it sends [`Frame::Welcome`], else [`Frame::Error`] and closes. Both sides now derive the
//!    connection's [`SessionKey`] (X25519 of the two ephemeral keys, then HKDF-SHA256 over the same transcript):
//!    only the node that holds the registered key can have agreed it with the platform, and no other connection
//!    has it.
//! 3. The platform sends [`Frame::Request`]s with ids unique within the connection; the node answers each with
//!    one [`Frame::Response`] whose `body` is a [`Reply`] (embedded as is, not as an escaped string) and whose
//!    `mac` is the session key's HMAC-SHA256 of the id and the body's exact text ([`SessionKey::mac`]). The
//!    platform drops (and audits) a response without a MAC, with a MAC that does not verify (another key, another
//!    connection, a changed body), for an id it did not ask or already got an answer for (replay); the first
//!    authentic answer to a request it gave up on (timed out) is dropped without alarm. A node applies the
//!    `apply` requests of one subscription one after the other, in the order they came (the platform may send the
//!    next before the previous is answered); other requests run concurrently.
//! 4. Either side may send [`Frame::Ping`]/[`Frame::Pong`]; the node reports [`Frame::Health`] periodically.
//!
//! Version 2 signed every response with the node's ed25519 key; a signature check cost the platform more CPU than
//! the rest of a one-record query (bench/gateway.sh), a MAC costs a hash.

use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::Sha256;

pub const PROTOCOL: &str = "shuqiao-node-v3";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Frame {
    /// `key`: the platform's ephemeral X25519 public key for this connection (hex).
    Challenge {
        nonce: String,
        protocol: String,
        key: String,
    },
    /// `key`: the node's ephemeral X25519 public key (hex); `signature`: ed25519 over [`hello_message`].
    Hello {
        node_id: String,
        public_key: String,
        signature: String,
        version: String,
        key: String,
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
    /// `body` is a [`Reply`], kept as the exact text that came; `mac` is [`SessionKey::mac`] of the id and that
    /// text (hex).
    Response {
        id: u64,
        body: Body,
        mac: String,
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

/// A response's body: the JSON text of a [`Reply`], exactly as it was written (the MAC covers these bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Body(Box<RawValue>);

impl Body {
    /// The body of `reply`.
    pub fn of(reply: &Reply) -> Result<Body, serde_json::Error> {
        serde_json::value::to_raw_value(reply).map(Body)
    }
    pub fn text(&self) -> &str {
        self.0.get()
    }
    pub fn reply(&self) -> Result<Reply, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.text() == other.text()
    }
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
    /// Table sync, provider side: a page of a subscription's first full pass in the table's storage order
    /// (PostgreSQL `ctid`, SQLite `rowid`) — every row once, without the random reads of key order when the key is
    /// not the order the rows are stored in. Only `columns`, after the row at `after` (a position from an earlier
    /// reply; `None`: from the start), at most `limit` (capped by the node's `max_sync_rows`) and fewer only at the
    /// table's end. The reply's columns are `columns` followed by [`POSITION_COLUMN`], each row's position (text).
    /// A table with no such order to page by (a MySQL/MariaDB source, a view, a partitioned or inherited
    /// PostgreSQL table, PostgreSQL before 14, a SQLite table `WITHOUT ROWID`) is answered
    /// [`FailCode::Unsupported`]: the platform reads it in key order.
    ScanStored { source: String, table: String, columns: Vec<String>, after: Option<String>, limit: u32 },
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
        /// The upserts are expected to be new to the table (a page of a first full pass in storage order, after
        /// its first page emptied the table): copied straight in where the target can, upserted if one is not.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        fresh: bool,
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

/// The name of the position column at the end of a [`Request::ScanStored`] reply.
pub const POSITION_COLUMN: &str = "_position";

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
    /// The source cannot do what was asked in this way (see [`Request::ScanStored`]).
    Unsupported,
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
    #[error("bad MAC")]
    BadMac,
    #[error("random source failed")]
    Random,
}

/// A new random nonce (32 bytes, hex).
pub fn new_nonce() -> Result<String, ProtocolError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| ProtocolError::Random)?;
    Ok(hex::encode(b))
}

/// What a hello signs and what the session key is derived from: the challenge's nonce, the node id and both
/// ephemeral keys (hex), in that order.
#[derive(Debug, Clone, Copy)]
pub struct Transcript<'a> {
    pub nonce: &'a str,
    pub node_id: &'a str,
    pub platform_key: &'a str,
    pub node_key: &'a str,
}

impl Transcript<'_> {
    fn text(&self, purpose: &str) -> Vec<u8> {
        format!("{PROTOCOL}|{purpose}|{}|{}|{}|{}", self.nonce, self.node_id, self.platform_key, self.node_key)
            .into_bytes()
    }
}

/// The message a node's hello signs.
pub fn hello_message(t: &Transcript<'_>) -> Vec<u8> {
    t.text("hello")
}

/// One side's ephemeral X25519 key of one connection; used once, by [`Ephemeral::agree`].
pub struct Ephemeral {
    secret: [u8; 32],
    public: MontgomeryPoint,
}

impl Ephemeral {
    pub fn generate() -> Result<Ephemeral, ProtocolError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|_| ProtocolError::Random)?;
        Ok(Ephemeral { secret, public: MontgomeryPoint::mul_base_clamped(secret) })
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.public.as_bytes())
    }

    /// The session key agreed with the peer's public key `peer_hex` over `t`. Refuses a key that is not 32 bytes
    /// of hex or whose agreement is all zeros (a low-order point: the peer would not contribute).
    pub fn agree(self, peer_hex: &str, t: &Transcript<'_>) -> Result<SessionKey, ProtocolError> {
        let bytes = hex::decode(peer_hex.trim()).map_err(|e| ProtocolError::BadKey(e.to_string()))?;
        let peer: [u8; 32] = bytes.try_into().map_err(|_| ProtocolError::BadKey("not 32 bytes".into()))?;
        let shared = MontgomeryPoint(peer).mul_clamped(self.secret);
        if shared.as_bytes().iter().all(|&b| b == 0) {
            return Err(ProtocolError::BadKey("a low-order key".into()));
        }
        let mut key = [0u8; 32];
        let derived = hkdf::Hkdf::<Sha256>::new(Some(t.nonce.as_bytes()), shared.as_bytes())
            .expand(&t.text("session"), &mut key)
            .ok()
            .and_then(|()| <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok());
        derived.map(SessionKey).ok_or_else(|| ProtocolError::BadKey("key derivation".into()))
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        self.secret = [0u8; 32];
    }
}

/// The MAC key of one connection (see the module documentation), as HMAC-SHA256 keyed once.
#[derive(Clone)]
pub struct SessionKey(Hmac<Sha256>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

impl SessionKey {
    fn hmac(&self, id: u64, body: &str) -> Hmac<Sha256> {
        let mut m = self.0.clone();
        m.update(format!("{PROTOCOL}|response|{id}|").as_bytes());
        m.update(body.as_bytes());
        m
    }

    /// The MAC of response `id` with `body` (hex).
    pub fn mac(&self, id: u64, body: &str) -> String {
        hex::encode(self.hmac(id, body).finalize().into_bytes())
    }

    /// Whether `mac_hex` is the MAC of response `id` with `body` (compared in constant time).
    pub fn check(&self, id: u64, body: &str, mac_hex: &str) -> Result<(), ProtocolError> {
        let mac = hex::decode(mac_hex).map_err(|_| ProtocolError::BadMac)?;
        self.hmac(id, body).verify_slice(&mac).map_err(|_| ProtocolError::BadMac)
    }
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

    /// Both sides of a handshake: the platform's and the node's session keys, and the transcript.
    fn handshake(nonce: &str) -> (SessionKey, SessionKey) {
        let (platform, node) = (Ephemeral::generate().unwrap(), Ephemeral::generate().unwrap());
        let (pk, nk) = (platform.public_hex(), node.public_hex());
        let t = Transcript { nonce, node_id: "n1", platform_key: &pk, node_key: &nk };
        (platform.agree(&nk, &t).unwrap(), node.agree(&pk, &t).unwrap())
    }

    #[test]
    fn both_sides_agree_and_a_mac_binds_connection_id_and_body() {
        let (platform, node) = handshake("nonce1");
        let body = r#"{"kind":"rows"}"#;
        let mac = node.mac(7, body);
        assert_eq!(mac.len(), 64);
        assert!(platform.check(7, body, &mac).is_ok(), "the platform derived the node's key");
        assert_eq!(platform.check(8, body, &mac), Err(ProtocolError::BadMac), "other id");
        assert_eq!(platform.check(7, r#"{"kind":"rowz"}"#, &mac), Err(ProtocolError::BadMac), "other body");
        assert_eq!(platform.check(7, body, ""), Err(ProtocolError::BadMac), "no MAC");
        assert_eq!(platform.check(7, body, "zz"), Err(ProtocolError::BadMac), "not hex");
        let (other, _) = handshake("nonce1");
        assert_eq!(other.check(7, body, &mac), Err(ProtocolError::BadMac), "another connection's key");
    }

    #[test]
    fn a_changed_transcript_or_a_low_order_key_agrees_nothing() {
        let (platform, node) = (Ephemeral::generate().unwrap(), Ephemeral::generate().unwrap());
        let (pk, nk) = (platform.public_hex(), node.public_hex());
        let t = Transcript { nonce: "n", node_id: "n1", platform_key: &pk, node_key: &nk };
        let swapped = Transcript { node_id: "n2", ..t };
        let a = platform.agree(&nk, &t).unwrap();
        let b = node.agree(&pk, &swapped).unwrap();
        assert!(a.check(1, "{}", &b.mac(1, "{}")).is_err(), "the node id is part of the key");
        assert_ne!(hello_message(&t), hello_message(&swapped));
        // The identity (all zeros) is a low-order point: refused, as is a key that is not 32 bytes.
        let zero = "00".repeat(32);
        assert!(matches!(Ephemeral::generate().unwrap().agree(&zero, &t), Err(ProtocolError::BadKey(_))));
        assert!(matches!(Ephemeral::generate().unwrap().agree("abcd", &t), Err(ProtocolError::BadKey(_))));
    }

    #[test]
    fn hello_signatures_verify_with_the_registered_key_only() {
        let k = NodeKey::generate().unwrap();
        let pk = public_key(&k.public_hex()).unwrap();
        let t = Transcript { nonce: "n1", node_id: "node", platform_key: "aa", node_key: "bb" };
        let sig = k.sign(&hello_message(&t));
        assert!(verify(&pk, &hello_message(&t), &sig).is_ok());
        let replayed = Transcript { nonce: "n2", ..t };
        assert!(verify(&pk, &hello_message(&replayed), &sig).is_err(), "another challenge");
        let other = NodeKey::generate().unwrap();
        assert!(verify(&public_key(&other.public_hex()).unwrap(), &hello_message(&t), &sig).is_err());
        let k2 = NodeKey::from_hex(&k.secret_hex()).unwrap();
        assert_eq!(k2.public_hex(), k.public_hex());
    }

    #[test]
    fn a_response_body_is_embedded_as_json_and_read_back_exactly() {
        let reply = Reply::Rows { columns: vec!["xm".into()], rows: vec![vec![Value::String("张\"三".into())]] };
        let body = Body::of(&reply).unwrap();
        let f = Frame::Response { id: 3, body: body.clone(), mac: "00".into() };
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.contains(r#""body":{"kind":"rows""#), "not an escaped string: {text}");
        let Frame::Response { body: back, .. } = serde_json::from_str::<Frame>(&text).unwrap() else { panic!() };
        assert_eq!(back.text(), body.text());
        assert_eq!(back.reply().unwrap(), reply);
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
