//! The running platform: store, search index, rule set and calendar, and who is calling.

use std::path::PathBuf;
use std::sync::Arc;

use shuqiao_domain::calendar::Calendar;
use shuqiao_domain::roles::Role;
use shuqiao_domain::rules::RuleSet;
use shuqiao_search::CatalogIndex;
use shuqiao_store::Store;
use time::OffsetDateTime;

use crate::auth::LoginThrottle;
use crate::{AppError, Result};

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the SQLite database (unless `database_url` is given), the search index and keys live.
    pub data_dir: PathBuf,
    /// `postgres://…` (or `sqlite://…`); `None` means SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub rules: RuleSet,
    /// How long a login session lasts, in seconds (default 8 hours).
    pub session_seconds: i64,
    /// How long the gateway waits for a node's answer (default 10 s).
    pub node_timeout: std::time::Duration,
    /// How often a caught-up subscription asks its provider's node for changes (default 1 s).
    pub sync_poll: std::time::Duration,
    /// How often a subscription reads its table in full again, to carry deletes where the source cannot tell
    /// them and to repair anything a change column missed (default 1 hour).
    pub sync_full_pass_every: std::time::Duration,
    /// Rows per sync batch (default 5,000; the provider's node caps it with its `max_sync_rows`).
    pub sync_batch_rows: u32,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            data_dir,
            database_url: None,
            rules: RuleSet::national_2025(),
            session_seconds: 8 * 3600,
            node_timeout: std::time::Duration::from_secs(10),
            sync_poll: std::time::Duration::from_secs(1),
            sync_full_pass_every: std::time::Duration::from_secs(3600),
            sync_batch_rows: 5000,
        }
    }
}

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct Platform {
    pub store: Store,
    pub index: Arc<CatalogIndex>,
    pub rules: Arc<RuleSet>,
    pub calendar: Arc<Calendar>,
    pub config: Arc<Config>,
    pub(crate) throttle: Arc<LoginThrottle>,
    pub audit: Arc<crate::audit::AuditKeys>,
    /// Group-committing appender for events outside state-change transactions (data accesses).
    pub audit_writer: crate::audit_writer::AuditWriter,
    /// Connected nodes and their pending requests.
    pub nodes: Arc<crate::exchange::registry::Registry>,
    /// Key of subject hashes, the `hash` masking rule and query cursors (`<data>/subject-key`).
    pub subject_key: Arc<crate::exchange::subject::SubjectKey>,
    /// Caches of the data path (sessions, entries, grants, mounts).
    pub(crate) hot: Arc<crate::cache::HotPath>,
    /// Grants' daily usage, for quotas.
    pub(crate) usage: Arc<crate::exchange::usage::Usage>,
    /// The bus carrying sync batches (the store-backed queue; NATS JetStream behind the same trait).
    pub bus: Arc<dyn crate::exchange::bus::Bus>,
    /// The workers delivering active subscriptions.
    pub sync: Arc<crate::exchange::sync::Workers>,
}

impl Platform {
    /// Opens the store (applying migrations) and the search index (rebuilding it from the store when it is missing
    /// or does not match).
    pub async fn open(config: Config) -> Result<Platform> {
        let store = match &config.database_url {
            Some(url) => Store::connect(url).await,
            None => Store::open_sqlite(&config.data_dir).await,
        }
        .map_err(|e| AppError::Internal(anyhow::anyhow!("opening the database: {e}")))?;
        let index_dir = match store.backend() {
            shuqiao_store::Backend::Sqlite => config.data_dir.join("index"),
            // Several databases may share one data dir in tests; keep their indexes apart.
            shuqiao_store::Backend::Postgres => config.data_dir.join(format!("index-{}", db_tag(&config))),
        };
        let index = CatalogIndex::open_or_create(&index_dir)?;
        let audit = Arc::new(crate::audit::AuditKeys::load(&store, &config.data_dir, &config.rules.audit.hash).await?);
        let rules = Arc::new(config.rules.clone());
        let audit_writer = crate::audit_writer::AuditWriter::start(store.clone(), audit.clone(), rules.clone());
        let subject_key = Arc::new(crate::exchange::subject::SubjectKey::load_or_create(&config.data_dir)?);
        let bus = Arc::new(crate::exchange::bus::StoreBus::new(store.clone()));
        let platform = Platform {
            store,
            index: Arc::new(index),
            rules,
            calendar: Arc::new(Calendar::builtin()),
            config: Arc::new(config),
            throttle: Arc::new(LoginThrottle::default()),
            audit,
            audit_writer,
            nodes: Arc::new(crate::exchange::registry::Registry::default()),
            subject_key,
            hot: Arc::default(),
            usage: Arc::default(),
            bus,
            sync: Arc::default(),
        };
        platform.ensure_index().await?;
        Ok(platform)
    }

    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Rebuilds the index if its document count differs from the store's current versions.
    pub async fn ensure_index(&self) -> Result<()> {
        let expected = crate::index::count_current(self).await?;
        if self.index.num_docs() != expected {
            tracing::info!(expected, found = self.index.num_docs(), "rebuilding the catalog search index");
            crate::index::rebuild(self).await?;
        }
        Ok(())
    }

    /// Rebuilds the index from the store unconditionally (`shuqiao admin reindex`).
    pub async fn reindex(&self) -> Result<u64> {
        crate::index::rebuild(self).await?;
        Ok(self.index.num_docs())
    }
}

fn db_tag(config: &Config) -> String {
    use sha2::Digest;
    let url = config.database_url.as_deref().unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(url.as_bytes())[..6])
}

/// Who is calling: a user (session token) or an API client (client token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// User id or client id.
    pub id: String,
    /// Username, or the client's name.
    pub name: String,
    pub department: Option<String>,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Client,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Fails with 403 unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.label_zh()).collect();
            Err(AppError::Forbidden(format!(
                "需要以下角色之一：{} (requires one of the roles: {})",
                names.join("、"),
                roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    }

    /// The caller's department, or 403 for accounts without one.
    pub fn department(&self) -> Result<&str> {
        self.department
            .as_deref()
            .ok_or_else(|| AppError::Forbidden("此账号不属于任何部门 (this account belongs to no department)".into()))
    }

    /// Whether the caller may see non-public catalog versions of `department`.
    pub fn sees_drafts_of(&self, department: &str) -> bool {
        self.has(Role::Authority) || self.department.as_deref() == Some(department)
    }
}
