//! Login, sessions and API-client tokens. Passwords are Argon2id; tokens are 256-bit random values shown once and
//! stored as SHA-256 hashes; sessions expire; failed logins are throttled per username.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shuqiao_domain::roles::Role;
use shuqiao_store::{accounts, ts};
use time::{Duration, OffsetDateTime};

use crate::audit::{Actor, AuditEvent, record};
use crate::platform::{Principal, PrincipalKind};
use crate::{AppError, Platform, Result};

const SESSION_PREFIX: &str = "sqs_";
const CLIENT_PREFIX: &str = "sqc_";
/// Failed attempts per username allowed within the window before logins are refused.
const MAX_FAILURES: usize = 5;
const FAILURE_WINDOW: Duration = Duration::minutes(15);

/// A new random token with a prefix saying what it is.
pub(crate) fn new_token(prefix: &str) -> Result<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    Ok(format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)))
}

/// A random 256-bit token without a prefix (e.g. the console's login-form CSRF token).
pub fn random_token() -> Result<String> {
    new_token("")
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes), off the async threads.
pub async fn hash_password(password: &str) -> Result<String> {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2 task: {e}")))?
}

async fn verify_password(password: &str, hash: &str) -> bool {
    let (pw, h) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || Argon2::default().verify_password(pw.as_bytes(), h.as_str()).is_ok())
        .await
        .unwrap_or(false)
}

/// Failed login attempts per username, kept in memory (a restart forgets them, which only loosens throttling).
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<OffsetDateTime>>>,
}

impl LoginThrottle {
    fn check(&self, username: &str, now: OffsetDateTime) -> Result<()> {
        let mut map = self.failures.lock().map_err(|_| AppError::Internal(anyhow::anyhow!("throttle lock")))?;
        let list = map.entry(username.to_owned()).or_default();
        list.retain(|t| now - *t < FAILURE_WINDOW);
        if list.len() >= MAX_FAILURES {
            let oldest = list.first().copied().unwrap_or(now);
            let wait = (FAILURE_WINDOW - (now - oldest)).whole_seconds().max(1);
            return Err(AppError::TooManyRequests {
                message: format!(
                    "登录失败次数过多，请{}分钟后再试 (too many failed logins; try again later)",
                    (wait + 59) / 60
                ),
                retry_after_secs: u64::try_from(wait).unwrap_or(60),
            });
        }
        Ok(())
    }

    fn fail(&self, username: &str, now: OffsetDateTime) {
        if let Ok(mut map) = self.failures.lock() {
            map.entry(username.to_owned()).or_default().push(now);
        }
    }

    fn succeed(&self, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(username);
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub department: Option<String>,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoginResult {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user: UserView,
}

pub(crate) fn parse_roles(s: &str) -> Vec<Role> {
    s.split(',').filter_map(Role::parse).collect()
}

pub(crate) fn user_view(u: &accounts::UserRow) -> UserView {
    UserView {
        id: u.id.clone(),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        department: u.department_id.clone(),
        roles: parse_roles(&u.roles),
    }
}

const BAD_LOGIN: &str = "用户名或密码错误 (wrong username or password)";

/// `POST /auth/login`.
pub async fn login(p: &Platform, username: &str, password: &str) -> Result<LoginResult> {
    let now = p.now();
    p.throttle.check(username, now)?;
    let mut c = p.store.reader().await?;
    let user = accounts::get_user_by_name(&mut c, username).await?;
    drop(c);
    let Some(user) = user.filter(|u| u.active) else {
        // Spend the same time as a real check so that timing does not reveal which usernames exist.
        let _ = hash_password(password).await;
        p.throttle.fail(username, now);
        failed_login(p, &Actor::anonymous(username), "unknown user").await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.into()));
    };
    if !verify_password(password, &user.password_hash).await {
        p.throttle.fail(username, now);
        tracing::info!(username, "failed login");
        let actor = Actor { id: user.id.clone(), name: user.username.clone(), department: user.department_id.clone() };
        failed_login(p, &actor, "wrong password").await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.into()));
    }
    p.throttle.succeed(username);
    let token = new_token(SESSION_PREFIX)?;
    let expires_at = now + Duration::seconds(p.config.session_seconds);
    let mut tx = p.store.begin().await?;
    accounts::delete_expired_sessions(&mut tx, &ts(now)).await?;
    accounts::insert_session(&mut tx, &token_hash(&token), &user.id, &ts(now), &ts(expires_at)).await?;
    let actor = Actor { id: user.id.clone(), name: user.username.clone(), department: user.department_id.clone() };
    record(&mut tx, p, &actor, AuditEvent::new("auth.login", format!("user:{}", user.username))).await?;
    shuqiao_store::commit(tx).await?;
    tracing::info!(username, "login");
    Ok(LoginResult { token, expires_at, user: user_view(&user) })
}

async fn failed_login(p: &Platform, actor: &Actor, why: &str) -> Result<()> {
    let mut tx = p.store.begin().await?;
    let ev = AuditEvent::new("auth.login", format!("user:{}", actor.name))
        .result("refused")
        .detail(serde_json::json!({"reason": why}));
    record(&mut tx, p, actor, ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(())
}

/// `POST /auth/logout`.
pub async fn logout(p: &Platform, token: &str) -> Result<()> {
    let mut tx = p.store.begin().await?;
    accounts::delete_session(&mut tx, &token_hash(token)).await?;
    shuqiao_store::commit(tx).await?;
    Ok(())
}

/// Resolves a bearer token to its principal; 401 if unknown, expired or revoked.
pub async fn authenticate(p: &Platform, token: &str) -> Result<Principal> {
    let unauthorized = || AppError::Unauthorized("令牌无效或已过期，请重新登录 (invalid or expired token)".into());
    if !token.starts_with(SESSION_PREFIX) && !token.starts_with(CLIENT_PREFIX) {
        return Err(unauthorized());
    }
    let hash = token_hash(token);
    let now = ts(p.now());
    // Unknown tokens are not cached (errors never are); a logout, a deactivated user or a revoked client commits a
    // change, which invalidates the cache (crate::cache).
    let (who, expires_at) = p.hot.principals.get_or_load(&hash, || principal_of_token(p, token, &hash, &now)).await?;
    if expires_at.is_some_and(|e| e.as_str() <= now.as_str()) {
        return Err(unauthorized());
    }
    Ok(who)
}

async fn principal_of_token(p: &Platform, token: &str, hash: &str, now: &str) -> Result<(Principal, Option<String>)> {
    let unauthorized = || AppError::Unauthorized("令牌无效或已过期，请重新登录 (invalid or expired token)".into());
    let mut c = p.store.reader().await?;
    if token.starts_with(SESSION_PREFIX) {
        let (user, expires_at) = accounts::session_user(&mut c, hash, now).await?.ok_or_else(unauthorized)?;
        let who = Principal {
            kind: PrincipalKind::User,
            id: user.id,
            name: user.username,
            department: user.department_id,
            roles: parse_roles(&user.roles),
        };
        Ok((who, Some(expires_at)))
    } else {
        let client = accounts::client_by_token(&mut c, hash).await?.ok_or_else(unauthorized)?;
        let who = Principal {
            kind: PrincipalKind::Client,
            id: client.id,
            name: client.name,
            department: Some(client.department_id),
            roles: parse_roles(&client.roles),
        };
        Ok((who, None))
    }
}

pub(crate) fn client_token() -> Result<String> {
    new_token(CLIENT_PREFIX)
}

/// On first start with no users, creates `admin` (platform administrator). The password comes from
/// `password` (the `SHUQIAO_ADMIN_PASSWORD` variable) or is generated and returned so the caller can print it once.
pub async fn bootstrap_admin(p: &Platform, password: Option<String>) -> Result<Option<String>> {
    let mut c = p.store.reader().await?;
    if accounts::count_users(&mut c).await? > 0 {
        return Ok(None);
    }
    drop(c);
    let (password, generated) = match password.filter(|s| !s.is_empty()) {
        Some(pw) => (pw, false),
        None => (new_token("")?.chars().take(20).collect::<String>(), true),
    };
    let row = accounts::UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username: "admin".into(),
        password_hash: hash_password(&password).await?,
        display_name: "系统管理员".into(),
        department_id: None,
        roles: Role::PlatformAdmin.as_str().into(),
        active: true,
        created_at: ts(p.now()),
    };
    let mut tx = p.store.begin().await?;
    accounts::insert_user(&mut tx, &row).await?;
    let ev =
        AuditEvent::new("user.create", "user:admin").detail(serde_json::json!({"roles": row.roles, "bootstrap": true}));
    record(&mut tx, p, &Actor::system(), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(generated.then_some(password))
}
