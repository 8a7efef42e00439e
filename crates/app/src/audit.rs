//! The audit chain (SPEC §9, DESIGN "Audit log"). Every state change writes its event in the same transaction as
//! the change. Events are hash-chained: `hash = H(prev_hash ‖ "\n" ‖ canonical JSON of the event)` with H = SHA-256
//! or SM3 (fixed for a store at its first start). Every N events, and periodically, the head is signed with the
//! platform's ed25519 key into a checkpoint. [`verify`] recomputes the chain and says where it breaks.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use serde_json::Value;
use sha2::Digest;
use shuqiao_store::Conn;
use shuqiao_store::audit::{self, CheckpointRow, EventFields, EventRow};
use shuqiao_store::idempotency::{get_setting, put_setting};
use shuqiao_store::ts;

use crate::platform::Principal;
use crate::{AppError, Platform, Result};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const KEY_FILE: &str = "platform-ed25519.key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sm3,
}

impl HashAlg {
    pub fn parse(s: &str) -> Option<HashAlg> {
        match s {
            "sha256" => Some(HashAlg::Sha256),
            "sm3" => Some(HashAlg::Sm3),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sm3 => "sm3",
        }
    }
    fn digest_raw(self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            HashAlg::Sha256 => {
                let mut h = sha2::Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().into()
            }
            HashAlg::Sm3 => {
                let mut h = sm3::Sm3::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().into()
            }
        }
    }
}

/// Who acted: a user, an API client, the platform itself, or an unauthenticated caller (failed login).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub department: Option<String>,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Actor {
        Actor { id: p.id.clone(), name: p.name.clone(), department: p.department.clone() }
    }
}

impl Actor {
    pub fn system() -> Actor {
        Actor { id: "system".into(), name: "system".into(), department: None }
    }
    pub fn anonymous(claimed_username: &str) -> Actor {
        Actor { id: "anonymous".into(), name: claimed_username.chars().take(64).collect(), department: None }
    }
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: String,
    pub object: String,
    pub department: Option<String>,
    pub resource: Option<String>,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
    pub subjects: Vec<String>,
    pub result: String,
    pub detail: Value,
}

impl AuditEvent {
    /// `action` like `catalog.publish`; `object` like `entry:301001/000001` or `application:<id>`.
    pub fn new(action: &str, object: impl Into<String>) -> AuditEvent {
        AuditEvent {
            action: action.to_owned(),
            object: object.into(),
            department: None,
            resource: None,
            purpose: None,
            case_ref: None,
            subjects: Vec::new(),
            result: "ok".into(),
            detail: Value::Object(Default::default()),
        }
    }
    /// The department the event concerns besides the actor's (e.g. the provider of an entry).
    pub fn department(mut self, d: impl Into<String>) -> Self {
        self.department = Some(d.into());
        self
    }
    pub fn resource(mut self, code: impl Into<String>) -> Self {
        self.resource = Some(code.into());
        self
    }
    pub fn purpose(mut self, p: impl Into<String>) -> Self {
        self.purpose = Some(p.into());
        self
    }
    pub fn case_ref(mut self, c: Option<String>) -> Self {
        self.case_ref = c;
        self
    }
    pub fn subjects(mut self, s: Vec<String>) -> Self {
        self.subjects = s;
        self
    }
    pub fn result(mut self, r: &str) -> Self {
        self.result = r.to_owned();
        self
    }
    pub fn detail(mut self, d: Value) -> Self {
        self.detail = d;
        self
    }
}

/// The hash of an event: `H(prev_hash ‖ encoding)` where the encoding lists every field in a fixed order, each as
/// a 4-byte big-endian length and its UTF-8 bytes (absent fields as length 0xFFFFFFFF), the sequence number as
/// 8 big-endian bytes. Unambiguous, and cheap enough to verify a million events a second.
pub fn event_hash(alg: HashAlg, e: &EventFields<'_>) -> String {
    hex::encode(event_digest(alg, e, &mut Vec::with_capacity(512)))
}

/// [`event_hash`] as raw bytes, encoding into a caller's buffer (verification reuses one for every event).
fn event_digest(alg: HashAlg, e: &EventFields<'_>, buf: &mut Vec<u8>) -> [u8; 32] {
    buf.clear();
    buf.extend_from_slice(b"shuqiao-audit-event-v1");
    buf.extend_from_slice(&e.seq.to_be_bytes());
    let mut put = |v: Option<&[u8]>| match v {
        Some(s) => {
            buf.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX - 1).to_be_bytes());
            buf.extend_from_slice(s);
        }
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
    };
    for v in [Some(e.at), Some(e.actor), Some(e.actor_name), e.actor_department, e.department, Some(e.action)] {
        put(v);
    }
    for v in [Some(e.object), e.resource, e.purpose, e.case_ref, Some(e.subjects), Some(e.result), Some(e.detail)] {
        put(v);
    }
    alg.digest_raw(&[e.prev_hash, buf])
}

fn checkpoint_message(alg: &str, seq: i64, hash: &str) -> Vec<u8> {
    format!("shuqiao-audit-v1|{alg}|{seq}|{hash}").into_bytes()
}

/// Appends an event inside the caller's transaction; returns its sequence number.
pub async fn record(c: &mut Conn, p: &Platform, actor: &Actor, ev: AuditEvent) -> Result<i64> {
    record_all(c, p, vec![(actor.clone(), ev)]).await
}

/// Appends events, in order, inside the caller's transaction, with one advance of the head for all of them;
/// returns the first one's sequence number. A use case that changes several things appends their events together
/// at the end of its transaction: on PostgreSQL the head row, which serialises appends, is then locked only from
/// there to the commit.
pub async fn record_all(c: &mut Conn, p: &Platform, events: Vec<(Actor, AuditEvent)>) -> Result<i64> {
    let n = i64::try_from(events.len()).map_err(|e| AppError::Internal(e.into()))?;
    let (first, prev) = audit::advance_head(c, n).await?;
    let batch = chain(&p.audit, &p.rules, &ts(p.now()), first, prev, events)?;
    audit::insert_many(c, &batch.rows).await?;
    shuqiao_store::exchange::insert_subjects(c, &batch.subjects).await?;
    audit::set_head_hash(c, &batch.head).await?;
    for cp in &batch.checkpoints {
        audit::insert_checkpoint(c, cp).await?;
    }
    Ok(first)
}

/// [`record_all`] inside a transaction on the store's synchronous SQLite connection.
pub fn record_all_lite(
    tx: &mut shuqiao_store::LiteTx<'_>,
    p: &Platform,
    events: &[(Actor, AuditEvent)],
) -> Result<i64> {
    let (last, prev) = tx.head()?;
    let first = last + 1;
    let batch = chain(&p.audit, &p.rules, &ts(p.now()), first, prev, events.iter().cloned())?;
    write_lite(tx, &batch)?;
    Ok(first)
}

/// Writes a chained batch on the store's synchronous SQLite connection (chained from the head read in the same
/// transaction) and moves the head to its last event, in one update.
pub(crate) fn write_lite(tx: &mut shuqiao_store::LiteTx<'_>, batch: &Chained) -> shuqiao_store::Result<()> {
    tx.insert_events(&batch.rows)?;
    tx.insert_subjects(&batch.subjects)?;
    if let Some(row) = batch.rows.last() {
        tx.set_head(row.seq, &batch.head)?;
    }
    for cp in &batch.checkpoints {
        tx.insert_checkpoint(cp)?;
    }
    Ok(())
}

/// What one append writes: the rows chained from the head, the subjects they index, the checkpoints that fall among
/// them, and the new head hash.
pub(crate) struct Chained {
    pub rows: Vec<EventRow>,
    pub subjects: Vec<(i64, String)>,
    pub checkpoints: Vec<CheckpointRow>,
    /// The hash of the last row: the new head.
    pub head: String,
}

/// Chains `events`, all stamped `at`, from the head: `first` is the first one's sequence number and `prev` the
/// hash before it.
pub(crate) fn chain(
    keys: &AuditKeys,
    rules: &shuqiao_domain::rules::RuleSet,
    at: &str,
    first: i64,
    mut prev: String,
    events: impl IntoIterator<Item = (Actor, AuditEvent)>,
) -> Result<Chained> {
    let every = i64::from(rules.audit.checkpoint_every_events.max(1));
    let mut rows = Vec::new();
    let mut subjects = Vec::new();
    let mut checkpoints = Vec::new();
    for (seq, (actor, ev)) in (first..).zip(events) {
        subjects.extend(ev.subjects.iter().map(|h| (seq, h.clone())));
        let row = chain_row(keys.alg, seq, prev, at.to_owned(), &actor, ev)?;
        prev = row.hash.clone();
        if seq % every == 0 {
            checkpoints.push(keys.sign(seq, &row.hash, &row.at));
        }
        rows.push(row);
    }
    Ok(Chained { rows, subjects, checkpoints, head: prev })
}

/// Builds the stored row of an event at `seq` after `prev_hash`, with its hash.
pub(crate) fn chain_row(
    alg: HashAlg,
    seq: i64,
    prev_hash: String,
    at: String,
    actor: &Actor,
    ev: AuditEvent,
) -> Result<EventRow> {
    let mut row = EventRow {
        seq,
        at,
        actor: actor.id.clone(),
        actor_name: actor.name.clone(),
        actor_department: actor.department.clone(),
        department: ev.department,
        action: ev.action,
        object: ev.object,
        resource: ev.resource,
        purpose: ev.purpose,
        case_ref: ev.case_ref,
        subjects: serde_json::to_string(&ev.subjects).map_err(|e| AppError::Internal(e.into()))?,
        result: ev.result,
        detail: serde_json::to_string(&ev.detail).map_err(|e| AppError::Internal(e.into()))?,
        prev_hash,
        hash: String::new(),
    };
    row.hash = event_hash(alg, &row.fields());
    Ok(row)
}

/// The chain's settings: hash algorithm and the platform signing key.
pub struct AuditKeys {
    pub alg: HashAlg,
    key: SigningKey,
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKeys").field("alg", &self.alg).field("public_key", &self.public_key_hex()).finish()
    }
}

impl AuditKeys {
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    pub(crate) fn sign(&self, seq: i64, hash: &str, at: &str) -> CheckpointRow {
        let sig = self.key.sign(&checkpoint_message(self.alg.as_str(), seq, hash));
        CheckpointRow {
            seq,
            hash: hash.to_owned(),
            algorithm: self.alg.as_str().to_owned(),
            signed_at: at.to_owned(),
            public_key: self.public_key_hex(),
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// Loads the platform key from the data dir, creating it (mode 0600) on first start, and fixes the chain's hash
    /// algorithm in the store on first start (later rule-set changes do not change an existing chain).
    pub async fn load(store: &shuqiao_store::Store, data_dir: &Path, configured: &str) -> Result<AuditKeys> {
        let key = load_or_create_key(&data_dir.join(KEY_FILE), true)?;
        let mut tx = store.begin().await?;
        let alg = match get_setting(&mut tx, "audit.hash").await? {
            Some(a) => a,
            None => {
                put_setting(&mut tx, "audit.hash", configured).await?;
                configured.to_owned()
            }
        };
        shuqiao_store::commit(tx).await?;
        if alg != configured {
            tracing::warn!(chain = %alg, configured, "the audit chain keeps the hash algorithm it was created with");
        }
        let alg = HashAlg::parse(&alg)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown audit hash algorithm {alg}")))?;
        Ok(AuditKeys { alg, key })
    }
}

/// Opens the store's chain settings and the existing platform key for verification only: nothing is created.
pub async fn open_existing(store: &shuqiao_store::Store, data_dir: &Path) -> Result<AuditKeys> {
    let key = load_or_create_key(&data_dir.join(KEY_FILE), false)?;
    let mut c = store.reader().await?;
    let alg = get_setting(&mut c, "audit.hash").await?.unwrap_or_else(|| "sha256".to_owned());
    let alg = HashAlg::parse(&alg)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown audit hash algorithm {alg}")))?;
    Ok(AuditKeys { alg, key })
}

fn load_or_create_key(path: &Path, create: bool) -> Result<SigningKey> {
    let internal = |m: String| AppError::Internal(anyhow::anyhow!(m));
    if !create && !path.exists() {
        return Err(AppError::BadRequest(format!(
            "平台签名密钥 {} 不存在：请用 --data 指定平台的数据目录 (no platform key there; point --data at the platform's data directory)",
            path.display()
        )));
    }
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| internal(format!("{}: {e}", path.display())))?;
        let bytes = hex::decode(text.trim()).map_err(|e| internal(format!("{}: {e}", path.display())))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| internal(format!("{}: not a 32-byte key", path.display())))?;
        return Ok(SigningKey::from_bytes(&arr));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| internal(format!("random: {e}")))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| internal(format!("{}: {e}", dir.display())))?;
    }
    write_private(path, &hex::encode(secret)).map_err(|e| internal(format!("{}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "created the platform signing key");
    Ok(SigningKey::from_bytes(&secret))
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Signs the head if it moved since the last checkpoint (run periodically).
pub async fn checkpoint(p: &Platform) -> Result<Option<i64>> {
    let mut tx = p.store.begin().await?;
    let (seq, hash) = audit::head(&mut tx).await?;
    if seq == 0 || audit::last_checkpoint_seq(&mut tx).await? >= seq {
        return Ok(None);
    }
    audit::insert_checkpoint(&mut tx, &p.audit.sign(seq, &hash, &ts(p.now()))).await?;
    shuqiao_store::commit(tx).await?;
    Ok(Some(seq))
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// Events read.
    pub events: u64,
    /// Hash of the last good event.
    pub head: String,
    /// Sequence number where the chain first breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub checkpoints: u64,
    pub algorithm: &'static str,
}

/// Walks the whole chain and every checkpoint. Detects a changed event (hash mismatch), an inserted, deleted or
/// reordered event (sequence gap or broken link), a truncated tail (head or a signed checkpoint beyond the last
/// event) and a forged checkpoint (bad signature or key).
pub async fn verify(p: &Platform) -> Result<VerifyReport> {
    verify_store(&p.store, &p.audit).await
}

/// [`verify`] on a store and keys opened without the rest of the platform (`shuqiao audit verify`). The chain up to
/// the head as it was when verification started is split in two halves, each read on a thread of its own through
/// the native driver and checked as it streams; then the halves' ends, the head and every checkpoint are checked.
/// Events appended meanwhile are left for the next run.
pub async fn verify_store(store: &shuqiao_store::Store, keys: &AuditKeys) -> Result<VerifyReport> {
    let alg = keys.alg;
    let own_key = keys.key.verifying_key();
    let mut c = store.reader().await?;
    // Checkpoints before the head: every checkpoint read then covers an event at or below the head read after.
    let checkpoints = audit::checkpoints(&mut c).await?;
    let (head_seq, head_hash) = audit::head(&mut c).await?;
    drop(c);
    let wanted: std::collections::HashSet<i64> = checkpoints.iter().map(|cp| cp.seq).collect();
    let mid = head_seq / 2;
    let mut tasks = Vec::new();
    for (after, upto) in [(0, mid), (mid, head_seq)] {
        let (store, wanted) = (store.clone(), wanted.clone());
        tasks.push(tokio::task::spawn_blocking(move || -> Result<Segment> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| AppError::Internal(anyhow::anyhow!("verify runtime: {e}")))?;
            rt.block_on(scan_segment(&store, alg, after, upto, &wanted))
        }));
    }
    let mut segments = Vec::new();
    for t in tasks {
        segments.push(t.await.map_err(|e| AppError::Internal(anyhow::anyhow!("verify task: {e}")))??);
    }
    let mut bad: Vec<(i64, String)> = Vec::new();
    let mut prev_end = GENESIS.to_owned();
    let mut cp_hashes = std::collections::HashMap::new();
    let mut events = 0u64;
    for seg in &segments {
        events += seg.count;
        bad.extend(seg.bad.clone());
        if let Some(first_prev) = &seg.first_prev
            && *first_prev != prev_end
        {
            let seq = seg.after + 1;
            bad.push((seq, format!("事件 {seq} 的前序哈希不符 (event {seq} does not link to its predecessor)")));
        }
        if seg.bad.is_none() && seg.last_seq != seg.upto {
            let seq = seg.last_seq + 1;
            bad.push((seq, format!("事件 {seq} 缺失 (event {seq} is missing)")));
        }
        if let Some(h) = &seg.last_hash {
            prev_end.clone_from(h);
        }
        cp_hashes.extend(seg.cp_hashes.clone());
    }
    if head_seq > 0 && prev_end != head_hash {
        let seq = head_seq;
        bad.push((seq, format!("链头哈希与事件 {seq} 不符 (the head does not match event {seq})")));
    }
    for cp in &checkpoints {
        match cp_hashes.get(&cp.seq) {
            None => bad.push((
                cp.seq,
                format!(
                    "签名检查点 {} 所指事件不存在，事件被删除 (the event of signed checkpoint {} is gone)",
                    cp.seq, cp.seq
                ),
            )),
            Some(h) if *h != cp.hash => {
                bad.push((cp.seq, format!("签名检查点 {} 与事件不符 (checkpoint {} does not match)", cp.seq, cp.seq)))
            }
            Some(_) => {}
        }
        if let Err(m) = check_signature(cp, &own_key) {
            bad.push((cp.seq, m));
        }
    }
    bad.sort_by_key(|(seq, _)| *seq);
    let first = bad.into_iter().next();
    Ok(VerifyReport {
        ok: first.is_none(),
        events,
        head: prev_end,
        first_bad: first.as_ref().map(|(s, _)| *s),
        problem: first.map(|(_, m)| m),
        checkpoints: u64::try_from(checkpoints.len()).unwrap_or(0),
        algorithm: alg.as_str(),
    })
}

/// What one half of the chain looked like.
struct Segment {
    after: i64,
    upto: i64,
    count: u64,
    first_prev: Option<String>,
    last_seq: i64,
    last_hash: Option<String>,
    bad: Option<(i64, String)>,
    cp_hashes: std::collections::HashMap<i64, String>,
}

async fn scan_segment(
    store: &shuqiao_store::Store,
    alg: HashAlg,
    after: i64,
    upto: i64,
    wanted: &std::collections::HashSet<i64>,
) -> Result<Segment> {
    let mut seg = Segment {
        after,
        upto,
        count: 0,
        first_prev: None,
        last_seq: after,
        last_hash: None,
        bad: None,
        cp_hashes: Default::default(),
    };
    let mut buf = Vec::with_capacity(1024);
    let mut prev: Vec<u8> = Vec::with_capacity(64);
    let mut stored = [0u8; 64];
    audit::scan(store, after, upto, &mut |e: &EventFields<'_>| {
        let expected = seg.last_seq + 1;
        if e.seq != expected {
            seg.bad = Some((
                expected,
                format!("事件 {expected} 缺失或顺序被改动 (event {expected} is missing; found {})", e.seq),
            ));
            return false;
        }
        if seg.count == 0 {
            seg.first_prev = Some(String::from_utf8_lossy(e.prev_hash).into_owned());
        } else if e.prev_hash != prev.as_slice() {
            seg.bad = Some((
                e.seq,
                format!("事件 {} 的前序哈希不符 (event {} does not link to its predecessor)", e.seq, e.seq),
            ));
            return false;
        }
        let digest = event_digest(alg, e, &mut buf);
        // Compared as stored text (lowercase hex): encoding 32 bytes is cheaper than decoding 64 characters.
        if hex::encode_to_slice(digest, &mut stored).is_err() || e.hash != stored.as_slice() {
            seg.bad = Some((e.seq, format!("事件 {} 内容被改动 (event {} was altered)", e.seq, e.seq)));
            return false;
        }
        if wanted.contains(&e.seq) {
            seg.cp_hashes.insert(e.seq, String::from_utf8_lossy(e.hash).into_owned());
        }
        prev.clear();
        prev.extend_from_slice(e.hash);
        seg.last_seq = e.seq;
        seg.count += 1;
        true
    })
    .await?;
    if seg.count > 0 {
        seg.last_hash = Some(String::from_utf8_lossy(&prev).into_owned());
    }
    Ok(seg)
}

fn check_signature(cp: &CheckpointRow, own: &VerifyingKey) -> std::result::Result<(), String> {
    let bad = || format!("检查点 {} 签名无效 (checkpoint {} has an invalid signature)", cp.seq, cp.seq);
    let key_bytes: [u8; 32] = hex::decode(&cp.public_key).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    if key_bytes != own.to_bytes() {
        return Err(format!("检查点 {} 不是本平台密钥签署 (checkpoint {} was signed by another key)", cp.seq, cp.seq));
    }
    let sig_bytes: [u8; 64] = hex::decode(&cp.signature).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    let sig = Signature::from_bytes(&sig_bytes);
    own.verify(&checkpoint_message(&cp.algorithm, cp.seq, &cp.hash), &sig).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, prev: &str) -> EventRow {
        EventRow {
            seq,
            at: "2026-01-01T00:00:00.000000Z".into(),
            actor: "u".into(),
            actor_name: "n".into(),
            actor_department: None,
            department: None,
            action: "a".into(),
            object: "o".into(),
            resource: None,
            purpose: None,
            case_ref: None,
            subjects: "[]".into(),
            result: "ok".into(),
            detail: "{}".into(),
            prev_hash: prev.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn hash_covers_every_field_and_the_link() {
        let base = row(1, GENESIS);
        let h = event_hash(HashAlg::Sha256, &base.fields());
        assert_eq!(h.len(), 64);
        let mut other = base.clone();
        other.detail = "{\"x\":1}".into();
        assert_ne!(event_hash(HashAlg::Sha256, &other.fields()), h);
        let mut other = base.clone();
        other.prev_hash = "1".repeat(64);
        assert_ne!(event_hash(HashAlg::Sha256, &other.fields()), h);
        assert_ne!(event_hash(HashAlg::Sm3, &base.fields()), h);
    }
}

/// An event as served by `GET /audit/events`.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub actor_name: String,
    pub actor_department: Option<String>,
    pub department: Option<String>,
    pub action: String,
    pub object: String,
    pub resource: Option<String>,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
    pub subjects: Value,
    pub result: String,
    pub detail: Value,
    pub prev_hash: String,
    pub hash: String,
}

fn event_view(e: EventRow) -> EventView {
    EventView {
        subjects: serde_json::from_str(&e.subjects).unwrap_or(Value::Null),
        detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
        seq: e.seq,
        at: e.at,
        actor: e.actor,
        actor_name: e.actor_name,
        actor_department: e.actor_department,
        department: e.department,
        action: e.action,
        object: e.object,
        resource: e.resource,
        purpose: e.purpose,
        case_ref: e.case_ref,
        result: e.result,
        prev_hash: e.prev_hash,
        hash: e.hash,
    }
}

/// `GET /audit/events`: security auditors read the whole log; a department's users see the events their department
/// did or that concern it; platform administrators and API clients cannot read it (separation of duties).
pub async fn list(p: &Platform, who: &Principal, mut filter: audit::EventFilter, limit: i64) -> Result<Vec<EventView>> {
    use shuqiao_domain::roles::Role;
    if who.has(Role::PlatformAdmin) || who.kind == crate::platform::PrincipalKind::Client {
        return Err(AppError::Forbidden(
            "系统管理员和接口客户端不能查看审计日志 (administrators and API clients cannot read the audit log)".into(),
        ));
    }
    if !who.has(Role::SecurityAuditor) {
        let own = who.department()?.to_owned();
        if filter.department.as_deref().is_some_and(|d| d != own) {
            return Err(AppError::Forbidden(
                "只能查看与本部门有关的审计事件 (only events about your own department)".into(),
            ));
        }
        filter.department = Some(own);
    }
    let mut c = p.store.reader().await?;
    Ok(audit::list(&mut c, &filter, limit).await?.into_iter().map(event_view).collect())
}

/// `GET /audit/verify` (security auditor).
pub async fn verify_as(p: &Platform, who: &Principal) -> Result<VerifyReport> {
    who.require(&[shuqiao_domain::roles::Role::SecurityAuditor])?;
    verify(p).await
}
