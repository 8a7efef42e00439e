//! Regions, departments, users and API clients (SPEC §2–3).

use serde::{Deserialize, Serialize};
use shuqiao_domain::FieldError;
use shuqiao_domain::codes::{CreditCode, RegionCode, RegionLevel};
use shuqiao_domain::roles::{Role, check_role_set};
use shuqiao_store::accounts::{self, ClientRow, DepartmentRow, RegionRow, UserRow};
use shuqiao_store::ts;

use crate::audit::{Actor, AuditEvent, record};
use crate::auth::{UserView, hash_password, parse_roles, token_hash, user_view};
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionInput {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
}

#[derive(Debug, Clone, Serialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

fn region_view(r: RegionRow) -> Region {
    Region { code: r.code, name: r.name, level: r.level, parent: r.parent }
}

fn check(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() { Ok(()) } else { Err(AppError::Validation(errors)) }
}

/// `POST /regions` (platform administrator).
pub async fn create_region(p: &Platform, who: &Principal, input: RegionInput) -> Result<Region> {
    who.require(&[Role::PlatformAdmin])?;
    let mut errors = Vec::new();
    let code = match RegionCode::parse(input.code.trim()) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(FieldError::new("code", e.0));
            None
        }
    };
    if let Some(c) = code
        && c.implied_level() != input.level
    {
        errors.push(FieldError::new(
            "level",
            format!("级别与区划代码不符，应为 {} (level does not match the code)", c.implied_level().as_str()),
        ));
    }
    if input.name.trim().is_empty() || input.name.chars().count() > 50 {
        errors.push(FieldError::new("name", "名称应为1至50个字符 (name must have 1 to 50 characters)"));
    }
    check(errors)?;
    let Some(code) = code else { return Err(AppError::field("code", "invalid")) };
    let mut tx = p.store.begin().await?;
    let mut parent = code.parent();
    // Link to the nearest registered ancestor (a county may sit directly under a province for 省直辖县).
    let mut parent_code = None;
    while let Some(pc) = parent {
        if accounts::get_region(&mut tx, &pc.to_string()).await?.is_some() {
            parent_code = Some(pc.to_string());
            break;
        }
        parent = pc.parent();
    }
    let row = RegionRow {
        code: code.to_string(),
        name: input.name.trim().to_owned(),
        level: input.level.as_str().to_owned(),
        parent: parent_code,
    };
    accounts::insert_region(&mut tx, &row, &ts(p.now())).await.map_err(|e| match e {
        shuqiao_store::StoreError::Duplicate(_) => {
            AppError::Conflict(format!("行政区划代码 {} 已存在 (region code already exists)", row.code))
        }
        other => other.into(),
    })?;
    let ev =
        AuditEvent::new("region.create", format!("region:{}", row.code)).detail(serde_json::json!({"name": row.name}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(region_view(row))
}

pub async fn list_regions(p: &Platform) -> Result<Vec<Region>> {
    let mut c = p.store.reader().await?;
    Ok(accounts::list_regions(&mut c).await?.into_iter().map(region_view).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    /// 政务部门
    Government,
    /// 法律法规授权具有管理公共事务职能的组织
    Institution,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    pub name: String,
    pub credit_code: String,
    pub region: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub kind: DepartmentKind,
}

#[derive(Debug, Clone, Serialize)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub parent: Option<String>,
    pub kind: String,
}

pub(crate) fn department_view(d: DepartmentRow) -> Department {
    Department { id: d.id, name: d.name, credit_code: d.credit_code, region: d.region, parent: d.parent, kind: d.kind }
}

/// `POST /departments` (platform administrator).
pub async fn create_department(p: &Platform, who: &Principal, input: DepartmentInput) -> Result<Department> {
    who.require(&[Role::PlatformAdmin])?;
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "名称应为1至100个字符 (name must have 1 to 100 characters)"));
    }
    let credit = CreditCode::parse(input.credit_code.trim());
    if let Err(e) = &credit {
        errors.push(FieldError::new("credit_code", e.0.clone()));
    }
    let mut tx = p.store.begin().await?;
    if accounts::get_region(&mut tx, input.region.trim()).await?.is_none() {
        errors.push(FieldError::new("region", "行政区划不存在 (unknown region)"));
    }
    if let Some(parent) = &input.parent
        && accounts::get_department(&mut tx, parent).await?.is_none()
    {
        errors.push(FieldError::new("parent", "上级部门不存在 (unknown parent department)"));
    }
    check(errors)?;
    let Ok(credit) = credit else { return Err(AppError::field("credit_code", "invalid")) };
    if accounts::get_department_by_credit_code(&mut tx, credit.as_str()).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "统一社会信用代码 {} 已登记 (credit code already registered)",
            credit.as_str()
        )));
    }
    let row = DepartmentRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        credit_code: credit.as_str().to_owned(),
        region: input.region.trim().to_owned(),
        parent: input.parent.clone(),
        kind: match input.kind {
            DepartmentKind::Government => "government".into(),
            DepartmentKind::Institution => "institution".into(),
        },
        created_at: ts(p.now()),
    };
    accounts::insert_department(&mut tx, &row).await?;
    let ev = AuditEvent::new("department.create", format!("department:{}", row.id))
        .department(row.id.clone())
        .detail(serde_json::json!({"name": row.name, "credit_code": row.credit_code}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(department_view(row))
}

/// `GET /departments` — the directory of departments is visible to every signed-in caller.
pub async fn list_departments(p: &Platform, after: Option<&str>, limit: i64) -> Result<Vec<Department>> {
    let mut c = p.store.reader().await?;
    Ok(accounts::list_departments(&mut c, after, limit).await?.into_iter().map(department_view).collect())
}

pub async fn get_department(p: &Platform, id: &str) -> Result<Department> {
    let mut c = p.store.reader().await?;
    accounts::get_department(&mut c, id)
        .await?
        .map(department_view)
        .ok_or_else(|| AppError::NotFound("部门不存在 (unknown department)".into()))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: String,
    pub password: String,
    pub display_name: String,
    #[serde(default)]
    pub department: Option<String>,
    pub roles: Vec<String>,
}

/// Roles that only a platform administrator may grant.
const PLATFORM_ROLES: [Role; 3] = [Role::PlatformAdmin, Role::SecurityAuditor, Role::Authority];

/// `POST /users` — a platform administrator creates any account; a department administrator creates accounts
/// of its own department with department roles only.
pub async fn create_user(p: &Platform, who: &Principal, input: UserInput) -> Result<UserView> {
    who.require(&[Role::PlatformAdmin, Role::DepartmentAdmin])?;
    let is_admin = who.has(Role::PlatformAdmin);
    let mut errors = Vec::new();
    let username = input.username.trim();
    let valid_name = (3..=32).contains(&username.len())
        && username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !valid_name {
        errors.push(FieldError::new(
            "username",
            "用户名应为3至32位小写字母、数字或 _ . - (username: 3–32 of a-z 0-9 _ . -)",
        ));
    }
    if input.password.chars().count() < 8 {
        errors.push(FieldError::new("password", "密码至少8位 (password needs at least 8 characters)"));
    }
    if input.display_name.trim().is_empty() {
        errors.push(FieldError::new("display_name", "姓名不能为空 (display name is required)"));
    }
    let roles = match check_role_set(&input.roles, "roles") {
        Ok(r) => r,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    if input.roles.is_empty() {
        errors.push(FieldError::new("roles", "至少需要一个角色 (at least one role)"));
    }
    let department = if is_admin { input.department.clone() } else { Some(who.department()?.to_owned()) };
    if !is_admin {
        if input.department.as_deref().is_some_and(|d| Some(d) != department.as_deref()) {
            return Err(AppError::Forbidden(
                "部门管理员只能为本部门创建账号 (a department administrator manages only its own department)".into(),
            ));
        }
        if roles.iter().any(|r| PLATFORM_ROLES.contains(r)) {
            errors.push(FieldError::new(
                "roles",
                "部门管理员不能授予平台级角色 (a department administrator cannot grant platform roles)",
            ));
        }
    }
    let needs_department = roles.iter().any(|r| !PLATFORM_ROLES.contains(r) || *r == Role::Authority);
    let mut tx = p.store.begin().await?;
    match &department {
        Some(d) if accounts::get_department(&mut tx, d).await?.is_none() => {
            errors.push(FieldError::new("department", "部门不存在 (unknown department)"));
        }
        None if needs_department => {
            errors.push(FieldError::new("department", "该角色需要所属部门 (these roles need a department)"));
        }
        _ => {}
    }
    check(errors)?;
    if accounts::get_user_by_name(&mut tx, username).await?.is_some() {
        return Err(AppError::Conflict(format!("用户名 {username} 已存在 (username taken)")));
    }
    drop(tx);
    let hash = hash_password(&input.password).await?;
    let row = UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.to_owned(),
        password_hash: hash,
        display_name: input.display_name.trim().to_owned(),
        department_id: department,
        roles: roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        active: true,
        created_at: ts(p.now()),
    };
    let mut tx = p.store.begin().await?;
    accounts::insert_user(&mut tx, &row).await.map_err(|e| match e {
        shuqiao_store::StoreError::Duplicate(_) => {
            AppError::Conflict(format!("用户名 {username} 已存在 (username taken)"))
        }
        other => other.into(),
    })?;
    let mut ev = AuditEvent::new("user.create", format!("user:{}", row.username))
        .detail(serde_json::json!({"roles": row.roles}));
    if let Some(d) = &row.department_id {
        ev = ev.department(d.clone());
    }
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(user_view(&row))
}

/// `GET /users` — all accounts for the platform administrator, the department's for a department administrator.
pub async fn list_users(p: &Platform, who: &Principal, after: Option<&str>, limit: i64) -> Result<Vec<UserView>> {
    who.require(&[Role::PlatformAdmin, Role::DepartmentAdmin])?;
    let dept = if who.has(Role::PlatformAdmin) { None } else { Some(who.department()?) };
    let mut c = p.store.reader().await?;
    Ok(accounts::list_users(&mut c, dept, after, limit).await?.iter().map(user_view).collect())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub name: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientCreated {
    pub client_id: String,
    pub name: String,
    pub department: String,
    pub roles: Vec<Role>,
    /// Shown once; only its hash is stored.
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub department: String,
    pub roles: Vec<Role>,
    pub created_at: String,
    pub revoked: bool,
}

/// Roles an API client may hold: a subset of its department's consumer rights.
const CLIENT_ROLES: [Role; 1] = [Role::Consumer];

/// `POST /clients` (department administrator).
pub async fn create_client(p: &Platform, who: &Principal, input: ClientInput) -> Result<ClientCreated> {
    who.require(&[Role::DepartmentAdmin])?;
    let department = who.department()?.to_owned();
    let mut errors = Vec::new();
    if input.name.trim().is_empty() || input.name.chars().count() > 100 {
        errors.push(FieldError::new("name", "名称应为1至100个字符 (name must have 1 to 100 characters)"));
    }
    let roles = match check_role_set(&input.roles, "roles") {
        Ok(r) => r,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    if input.roles.is_empty() {
        errors.push(FieldError::new("roles", "至少需要一个角色 (at least one role)"));
    }
    for (i, r) in roles.iter().enumerate() {
        if !CLIENT_ROLES.contains(r) {
            errors.push(FieldError::new(
                format!("roles[{i}]"),
                "接口客户端只能持有数据使用人角色 (an API client may only hold the consumer role)",
            ));
        }
    }
    check(errors)?;
    let token = crate::auth::client_token()?;
    let row = ClientRow {
        id: uuid::Uuid::new_v4().to_string(),
        department_id: department.clone(),
        name: input.name.trim().to_owned(),
        roles: roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        created_by: who.id.clone(),
        created_at: ts(p.now()),
        revoked_at: None,
    };
    let mut tx = p.store.begin().await?;
    accounts::insert_client(&mut tx, &row, &token_hash(&token)).await?;
    let ev = AuditEvent::new("client.create", format!("client:{}", row.id))
        .department(department.clone())
        .detail(serde_json::json!({"name": row.name, "roles": row.roles}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(ClientCreated { client_id: row.id, name: row.name, department, roles, token })
}

/// `GET /clients` — the department's API clients (department administrator).
pub async fn list_clients(p: &Platform, who: &Principal) -> Result<Vec<Client>> {
    who.require(&[Role::DepartmentAdmin])?;
    let mut c = p.store.reader().await?;
    Ok(accounts::list_clients(&mut c, who.department()?)
        .await?
        .into_iter()
        .map(|r| Client {
            client_id: r.id,
            name: r.name,
            department: r.department_id,
            roles: parse_roles(&r.roles),
            created_at: r.created_at,
            revoked: r.revoked_at.is_some(),
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Me {
    pub username: String,
    pub display_name: Option<String>,
    pub kind: &'static str,
    pub department: Option<Department>,
    pub roles: Vec<Role>,
}

/// `GET /me`.
pub async fn me(p: &Platform, who: &Principal) -> Result<Me> {
    let mut c = p.store.reader().await?;
    let department = match &who.department {
        Some(d) => accounts::get_department(&mut c, d).await?.map(department_view),
        None => None,
    };
    let display_name = match who.kind {
        crate::platform::PrincipalKind::User => accounts::get_user(&mut c, &who.id).await?.map(|u| u.display_name),
        crate::platform::PrincipalKind::Client => None,
    };
    Ok(Me {
        username: who.name.clone(),
        display_name,
        kind: match who.kind {
            crate::platform::PrincipalKind::User => "user",
            crate::platform::PrincipalKind::Client => "client",
        },
        department,
        roles: who.roles.clone(),
    })
}
