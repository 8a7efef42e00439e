//! Exchange volume for monitoring (SPEC §10): data accesses by day and by consumer department, counted from the
//! audit log (every access is an event there, refused ones too).

use std::collections::BTreeMap;

use shuqiao_domain::roles::Role;
use shuqiao_store::{accounts, exchange as store, ts};

use crate::platform::Principal;
use crate::{Platform, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Volume {
    /// Every day of the period (UTC dates), oldest first, with its accesses.
    pub by_day: Vec<(String, u64)>,
    /// Consumer departments by name, most accesses first.
    pub by_department: Vec<(String, u64)>,
    pub total: u64,
    /// Refused or failed accesses.
    pub refused: u64,
}

/// The last `days` days (sharing authority and security auditor).
pub async fn volume(p: &Platform, who: &Principal, days: u16) -> Result<Volume> {
    who.require(&[Role::Authority, Role::SecurityAuditor])?;
    let now = p.now();
    let first = (now - time::Duration::days(i64::from(days.max(1)) - 1)).date();
    let from = ts(first.midnight().assume_utc());
    let mut c = p.store.reader().await?;
    let rows = store::access_volume(&mut c, &from).await?;
    let mut by_day: BTreeMap<String, u64> = BTreeMap::new();
    let mut d = first;
    loop {
        by_day.insert(d.to_string(), 0);
        match d.next_day() {
            Some(next) if next <= now.date() => d = next,
            _ => break,
        }
    }
    let mut by_dept: BTreeMap<Option<String>, u64> = BTreeMap::new();
    let (mut total, mut refused) = (0u64, 0u64);
    for (day, dept, n, bad) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        *by_day.entry(day).or_default() += n;
        *by_dept.entry(dept).or_default() += n;
        total += n;
        refused += u64::try_from(bad).unwrap_or(0);
    }
    let mut by_department = Vec::with_capacity(by_dept.len());
    for (dept, n) in by_dept {
        let name = match &dept {
            Some(id) => accounts::get_department(&mut c, id).await?.map_or_else(|| id.clone(), |d| d.name),
            None => "—".to_owned(),
        };
        by_department.push((name, n));
    }
    by_department.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Volume { by_day: by_day.into_iter().collect(), by_department, total, refused })
}
