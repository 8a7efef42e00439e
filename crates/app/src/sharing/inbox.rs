//! `GET /inbox`: what waits for the caller's action, oldest first.

use serde::Serialize;
use shuqiao_domain::roles::Role;
use shuqiao_domain::sharing::{AppStatus, DemandStatus};
use shuqiao_store::catalog;
use shuqiao_store::sharing as store;

use crate::platform::Principal;
use crate::{Platform, Result};

#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    /// `application`, `objection`, `catalog_entry`, `demand`.
    pub kind: &'static str,
    pub id: String,
    pub title: String,
    /// What is expected: `answer`, `coordinate`, `review`, `route`, `resubmit`.
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    pub overdue: bool,
    pub created_at: String,
}

pub async fn inbox(p: &Platform, who: &Principal) -> Result<Vec<InboxItem>> {
    let mut c = p.store.reader().await?;
    let mut out = Vec::new();
    let dept = who.department.as_deref();
    let app_item = |r: &store::ApplicationRow, action: &'static str| -> Result<InboxItem> {
        let a: super::applications::Application = super::from_json("application", &r.data)?;
        Ok(InboxItem {
            kind: "application",
            id: r.id.clone(),
            title: format!("{}：{}（{}）", a.consumer.name, a.resource_name, a.resource),
            action,
            deadline: r.deadline.clone(),
            overdue: r.overdue != 0,
            created_at: r.created_at.clone(),
        })
    };
    let demand_item = |r: &store::CaseRow, action: &'static str| InboxItem {
        kind: "demand",
        id: r.id.clone(),
        title: serde_json::from_str::<serde_json::Value>(&r.data)
            .ok()
            .and_then(|v| v["description"].as_str().map(|s| s.chars().take(80).collect()))
            .unwrap_or_default(),
        action,
        deadline: None,
        overdue: false,
        created_at: r.created_at.clone(),
    };
    if let Some(d) = dept
        && who.has(Role::Reviewer)
    {
        for r in store::applications_waiting(&mut c, AppStatus::Submitted.as_str(), Some(d)).await? {
            out.push(app_item(&r, "answer")?);
        }
        for r in store::objections_waiting(&mut c, d).await? {
            let v: serde_json::Value = super::from_json("objection", &r.data)?;
            out.push(InboxItem {
                kind: "objection",
                id: r.id.clone(),
                title: format!(
                    "{}：{}（{}）",
                    v["consumer"]["name"].as_str().unwrap_or_default(),
                    v["resource_name"].as_str().unwrap_or_default(),
                    v["record_key"].as_str().unwrap_or_default()
                ),
                action: "answer",
                deadline: r.deadline.clone(),
                overdue: r.overdue != 0,
                created_at: r.created_at.clone(),
            });
        }
    }
    if who.has(Role::Authority) {
        for r in store::applications_waiting(&mut c, AppStatus::Disputed.as_str(), None).await? {
            out.push(app_item(&r, "coordinate")?);
        }
        for r in catalog::by_status(&mut c, "submitted").await? {
            out.push(InboxItem {
                kind: "catalog_entry",
                id: r.code.clone(),
                title: r.name.clone(),
                action: "review",
                deadline: None,
                overdue: false,
                created_at: r.updated_at.clone(),
            });
        }
        for r in store::demands_waiting(&mut c, DemandStatus::Submitted.as_str(), None).await? {
            out.push(demand_item(&r, "route"));
        }
    }
    if let Some(d) = dept {
        if [Role::Cataloger, Role::Reviewer, Role::DepartmentAdmin].iter().any(|r| who.has(*r)) {
            for r in store::demands_waiting(&mut c, DemandStatus::Routed.as_str(), Some(d)).await? {
                out.push(demand_item(&r, "answer"));
            }
        }
        if who.has(Role::Consumer) {
            for r in store::applications_of_consumer(&mut c, AppStatus::Returned.as_str(), d).await? {
                out.push(app_item(&r, "resubmit")?);
            }
        }
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}
