//! Data-subject look-up (SPEC §9, "who used my data"): access events store keyed hashes of the identifiers they
//! touched, never the identifiers; an auditor hashes the identifier they are asked about and finds the events.
//!
//! The key is the platform's subject key, `<data>/subject-key` (32 random bytes, hex, created at first start with
//! mode 0600). Losing it makes old events unfindable (not readable: they never held the identifiers).

use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use shuqiao_domain::codes::{CreditCode, IdCardNumber};
use shuqiao_domain::masking::{SubjectKind, normalize_identifier, subject_hash};
use shuqiao_domain::roles::Role;
use shuqiao_store::exchange as store;

use crate::platform::Principal;
use crate::{AppError, Platform, Result};

pub const KEY_FILE: &str = "subject-key";

/// The platform's key for subject hashes and the `hash` masking rule.
pub struct SubjectKey([u8; 32]);

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKey(…)")
    }
}

impl SubjectKey {
    /// Loads `<data_dir>/subject-key`, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<SubjectKey> {
        let path = data_dir.join(KEY_FILE);
        let internal = |m: String| AppError::Internal(anyhow::anyhow!(m));
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| internal(format!("{}: {e}", path.display())))?;
            let bytes = hex::decode(text.trim()).map_err(|e| internal(format!("{}: {e}", path.display())))?;
            let arr: [u8; 32] =
                bytes.try_into().map_err(|_| internal(format!("{}: not a 32-byte key", path.display())))?;
            return Ok(SubjectKey(arr));
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| internal(format!("random: {e}")))?;
        std::fs::create_dir_all(data_dir).map_err(|e| internal(format!("{}: {e}", data_dir.display())))?;
        crate::audit::write_private(&path, &hex::encode(secret))
            .map_err(|e| internal(format!("{}: {e}", path.display())))?;
        tracing::info!(path = %path.display(), "created the subject key");
        Ok(SubjectKey(secret))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// One access that touched the subject.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    pub seq: i64,
    pub at: String,
    /// The consumer department (the actor's).
    pub department: Option<String>,
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub resource: Option<String>,
    pub purpose: Option<String>,
    pub case_ref: Option<String>,
    pub grant: Option<String>,
    pub result: String,
}

/// Validates an identifier of `kind` (422 naming the problem) and returns its subject hash.
pub fn hash_of(p: &Platform, kind: &str, id: &str) -> Result<String> {
    let Some(kind) = SubjectKind::parse(kind) else {
        return Err(AppError::field("kind", "kind 应为 id_card 或 credit_code (kind must be id_card or credit_code)"));
    };
    let id = normalize_identifier(id);
    let checked = match kind {
        SubjectKind::IdCard => IdCardNumber::parse(&id).map(|_| ()),
        SubjectKind::CreditCode => CreditCode::parse(&id).map(|_| ()),
    };
    checked.map_err(|e| AppError::field("id", e.0))?;
    Ok(subject_hash(p.subject_key.bytes(), kind, &id))
}

/// `GET /audit/subject?kind=&id=` (security auditor): the accesses whose events hold the subject's hash, newest
/// first.
pub async fn accesses(
    p: &Platform,
    who: &Principal,
    kind: &str,
    id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Access>> {
    who.require(&[Role::SecurityAuditor])?;
    let hash = hash_of(p, kind, id)?;
    let mut c = p.store.reader().await?;
    let rows = store::events_of_subject(&mut c, &hash, before.unwrap_or(i64::MAX), limit).await?;
    Ok(rows
        .into_iter()
        // The side index is not part of the chain: trust only what the event itself says.
        .filter(|e| serde_json::from_str::<Vec<String>>(&e.subjects).is_ok_and(|s| s.contains(&hash)))
        .map(|e| {
            let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
            Access {
                seq: e.seq,
                at: e.at,
                department: e.actor_department,
                actor: e.actor,
                actor_name: e.actor_name,
                action: e.action,
                resource: e.resource,
                purpose: e.purpose,
                case_ref: e.case_ref,
                grant: detail.get("grant").and_then(Value::as_str).map(str::to_owned),
                result: e.result,
            }
        })
        .collect())
}
