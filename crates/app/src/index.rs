//! The search index is derived data: documents are built from entry rows, one per current version (the working
//! version `@w` and the served version `@s` of each code), and can be rebuilt from the store at any time.

use std::collections::HashMap;

use shuqiao_domain::entry::{Entry, api_str};
use shuqiao_search::IndexDoc;
use shuqiao_store::accounts::{self, DepartmentRow};
use shuqiao_store::catalog::{self, EntryRow};

use crate::{AppError, Platform, Result};

pub(crate) fn doc_key(code: &str, status: &str) -> String {
    let slot = if matches!(status, "published" | "retired") { "s" } else { "w" };
    format!("{code}@{slot}")
}

pub(crate) fn parse_entry(row: &EntryRow) -> Result<Entry> {
    serde_json::from_str(&row.data)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("entry {} v{} is corrupt: {e}", row.code, row.version)))
}

pub(crate) fn doc(row: &EntryRow, entry: &Entry, region: &str) -> IndexDoc {
    IndexDoc {
        key: doc_key(&row.code, &row.status),
        code: row.code.clone(),
        name: entry.name.clone(),
        summary: entry.summary.clone(),
        item_names: entry.items.iter().map(|i| i.name.clone()).collect(),
        provider_id: row.department_id.clone(),
        provider_name: entry.provider.name.clone(),
        class_code: row.class_code.clone(),
        lei: entry.class.lei,
        share_type: api_str(&entry.share.kind).unwrap_or_default(),
        open: entry.open.open,
        update_cycle: api_str(&entry.update_cycle).unwrap_or_default(),
        status: row.status.clone(),
        region: region.to_owned(),
        updated_at: shuqiao_store::parse_ts(&row.updated_at).map(|t| t.unix_timestamp()).unwrap_or(0),
    }
}

/// Applies index changes after a committed write: the rows now current, and keys no longer current.
pub(crate) async fn apply(p: &Platform, current: &[EntryRow], removed: &[String]) -> Result<()> {
    if !removed.is_empty() {
        p.index.delete(removed)?;
    }
    if current.is_empty() {
        return Ok(());
    }
    let mut c = p.store.reader().await?;
    let mut docs = Vec::with_capacity(current.len());
    let mut regions: HashMap<String, String> = HashMap::new();
    for row in current {
        let region = match regions.get(&row.department_id) {
            Some(r) => r.clone(),
            None => {
                let r =
                    accounts::get_department(&mut c, &row.department_id).await?.map(|d| d.region).unwrap_or_default();
                regions.insert(row.department_id.clone(), r.clone());
                r
            }
        };
        docs.push(doc(row, &parse_entry(row)?, &region));
    }
    p.index.upsert(&docs)?;
    Ok(())
}

pub(crate) async fn count_current(p: &Platform) -> Result<u64> {
    let mut c = p.store.reader().await?;
    let counts = catalog::count_by_status(&mut c).await?;
    Ok(counts.iter().filter(|(s, _)| s != "superseded").map(|(_, n)| u64::try_from(*n).unwrap_or(0)).sum())
}

pub(crate) async fn rebuild(p: &Platform) -> Result<()> {
    let mut c = p.store.reader().await?;
    let regions: HashMap<String, String> =
        accounts::all_departments(&mut c).await?.into_iter().map(|d: DepartmentRow| (d.id, d.region)).collect();
    let mut docs = Vec::new();
    let mut after = String::new();
    loop {
        let page = catalog::current_page(&mut c, &after, 2000).await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for row in &page {
            let region = regions.get(&row.department_id).cloned().unwrap_or_default();
            docs.push(doc(row, &parse_entry(row)?, &region));
        }
    }
    p.index.rebuild(&mut docs.into_iter())?;
    Ok(())
}
