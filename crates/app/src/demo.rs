//! `shuqiao demo`: seeds an empty store with the demo province (crate `shuqiao-demo`): regions, departments, users
//! for every role and a catalog in every state. Entries are validated by the same rules as any other.

use std::collections::{HashMap, HashSet};

use shuqiao_demo::{DemoProvince, DemoState};
use shuqiao_domain::entry::Status;
use shuqiao_domain::validate::validate_entry;
use shuqiao_store::accounts::{self, DepartmentRow, RegionRow, UserRow};
use shuqiao_store::catalog;
use shuqiao_store::ts;

use crate::index::parse_entry;
use crate::{AppError, Platform, Result};

/// What the demo holds, for the start-up banner.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub seeded: bool,
    pub departments: usize,
    pub entries: usize,
    /// (username, password, roles, department name)
    pub logins: Vec<(String, String, String, String)>,
}

/// Seeds the demo province unless the store already has departments.
pub async fn seed(p: &Platform) -> Result<DemoSummary> {
    let province = shuqiao_demo::province();
    let mut c = p.store.reader().await?;
    let existing = accounts::all_departments(&mut c).await?;
    drop(c);
    let seeded = existing.is_empty();
    if seeded {
        load(p, &province).await?;
        p.reindex().await?;
    }
    let names: HashMap<&str, &str> = province.departments.iter().map(|d| (d.key.as_str(), d.name.as_str())).collect();
    let logins = province
        .users
        .iter()
        .map(|u| {
            (
                u.username.clone(),
                u.password.clone(),
                u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
                u.department.as_deref().and_then(|k| names.get(k)).map(|s| (*s).to_owned()).unwrap_or_default(),
            )
        })
        .collect();
    Ok(DemoSummary { seeded, departments: province.departments.len(), entries: province.entries.len(), logins })
}

async fn load(p: &Platform, province: &DemoProvince) -> Result<()> {
    let now_t = p.now();
    let now = ts(now_t);
    // Every demo user has the same published demo password: hash it once.
    let mut hashes: HashMap<String, String> = HashMap::new();
    for u in &province.users {
        if !hashes.contains_key(&u.password) {
            hashes.insert(u.password.clone(), crate::auth::hash_password(&u.password).await?);
        }
    }
    let mut tx = p.store.begin().await?;
    for r in &province.regions {
        let code = r.code.to_string();
        let parent =
            shuqiao_domain::codes::RegionCode::parse(&code).ok().and_then(|c| c.parent()).map(|c| c.to_string());
        let parent = match parent {
            Some(pc) if accounts::get_region(&mut tx, &pc).await?.is_some() => Some(pc),
            _ => None,
        };
        if accounts::get_region(&mut tx, &code).await?.is_none() {
            let row = RegionRow { code, name: r.name.clone(), level: r.level.as_str().to_owned(), parent };
            accounts::insert_region(&mut tx, &row, &now).await?;
        }
    }
    let mut dept_rows: HashMap<String, DepartmentRow> = HashMap::new();
    for d in &province.departments {
        let row = DepartmentRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: d.name.clone(),
            credit_code: d.credit_code.clone(),
            region: d.region.clone(),
            parent: d.parent.as_ref().and_then(|k| dept_rows.get(k)).map(|r| r.id.clone()),
            kind: d.kind.clone(),
            created_at: now.clone(),
        };
        accounts::insert_department(&mut tx, &row).await?;
        dept_rows.insert(d.key.clone(), row);
    }
    for u in &province.users {
        let row = UserRow {
            id: uuid::Uuid::new_v4().to_string(),
            username: u.username.clone(),
            password_hash: hashes.get(&u.password).cloned().unwrap_or_default(),
            display_name: u.display_name.clone(),
            department_id: u.department.as_ref().and_then(|k| dept_rows.get(k)).map(|r| r.id.clone()),
            roles: u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
            active: true,
            created_at: now.clone(),
        };
        accounts::insert_user(&mut tx, &row).await?;
    }
    let mut taken = HashSet::new();
    for (i, e) in province.entries.iter().enumerate() {
        let spec = validate_entry(&e.input, &p.rules)
            .map_err(|errs| AppError::Internal(anyhow::anyhow!("demo entry {i} is invalid: {:?}", errs)))?;
        let dept = dept_rows.get(&e.department).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("demo entry {i}: unknown department {}", e.department))
        })?;
        let published = matches!(e.state, DemoState::Published | DemoState::Retired).then_some(now_t);
        let mut row = crate::catalog::insert_new(&mut tx, spec, dept, "demo", &now, &mut taken, published).await?;
        let (status, comment) = match &e.state {
            DemoState::Draft | DemoState::Published => continue,
            DemoState::Submitted => (Status::Submitted, None),
            DemoState::Returned { comment } => (Status::Returned, Some(comment.clone())),
            DemoState::Retired => (Status::Retired, None),
        };
        let from = row.status.clone();
        let mut entry = parse_entry(&row)?;
        entry.status = status;
        row.status = status.as_str().to_owned();
        row.comment = comment;
        row.data = serde_json::to_string(&entry).map_err(|e| AppError::Internal(e.into()))?;
        catalog::update(&mut tx, &row, &from).await?;
    }
    let ev = crate::audit::AuditEvent::new("demo.seed", "platform").detail(serde_json::json!({
        "regions": province.regions.len(),
        "departments": province.departments.len(),
        "users": province.users.len(),
        "entries": province.entries.len(),
    }));
    crate::audit::record(&mut tx, p, &crate::audit::Actor::system(), ev).await?;
    shuqiao_store::commit(tx).await?;
    Ok(())
}
