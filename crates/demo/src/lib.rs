//! The demo province of `shuqiao demo`: 河北省 with four of its cities and some districts, its departments (with
//! valid unified social credit codes), accounts for every role, and a catalog of several hundred entries that
//! read like a real one (居民户籍信息, 企业登记信息, 社会保险参保信息, 不动产登记信息 …).
//!
//! Everything is generated from curated lists kept in this crate (`src/org.rs` for the organisation,
//! `data/*.txt` for the resources) and is deterministic: [`province`] returns the same value on every call.
//! The platform's loader pushes the result through its real use cases, so every entry here passes the
//! platform's validation.

mod catalog;
mod credit;
mod curated;
mod items;
mod org;

use shuqiao_domain::codes::RegionLevel;
use shuqiao_domain::entry::EntryInput;
use shuqiao_domain::roles::Role;

pub use org::DEMO_PASSWORD;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoRegion {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDepartment {
    /// Short stable slug (`hb-gat`), used by users and entries to name their department.
    pub key: String,
    pub name: String,
    pub credit_code: String,
    /// Region code (GB/T 2260).
    pub region: String,
    /// Key of the parent department.
    pub parent: Option<String>,
    /// `government` or `institution`.
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    /// Key of the user's department; `None` for platform-level accounts (the security auditor).
    pub department: Option<String>,
    pub roles: Vec<Role>,
}

/// The state the loader brings an entry to (each state through the real transitions: a retired entry is
/// submitted, published, then retired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoState {
    Published,
    Draft,
    Submitted,
    /// Submitted, then returned by the sharing authority with this comment.
    Returned {
        comment: String,
    },
    Retired,
}

#[derive(Debug, Clone)]
pub struct DemoEntry {
    /// Key of the providing department.
    pub department: String,
    /// The entry as a cataloger would send it; `code` is always the full resource code.
    pub input: EntryInput,
    pub state: DemoState,
}

impl PartialEq for DemoEntry {
    fn eq(&self, other: &Self) -> bool {
        // `EntryInput` has no `PartialEq`; its JSON form is the content it carries.
        self.department == other.department
            && self.state == other.state
            && serde_json::to_value(&self.input).ok() == serde_json::to_value(&other.input).ok()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoProvince {
    pub regions: Vec<DemoRegion>,
    pub departments: Vec<DemoDepartment>,
    pub users: Vec<DemoUser>,
    pub entries: Vec<DemoEntry>,
}

/// The demo province. Deterministic: no clock, no OS randomness.
pub fn province() -> DemoProvince {
    DemoProvince {
        regions: org::regions(),
        departments: org::departments(),
        users: org::users(),
        entries: catalog::generate().entries,
    }
}

/// Problems found in the curated data (unknown departments or marks, items of unknown type, …); empty when the
/// data is sound. `province()` leaves the offending resources or items out; tests require this to be empty.
pub fn data_problems() -> Vec<String> {
    let mut problems = catalog::generate().problems;
    // City-level copies repeat their original's problems.
    problems.sort();
    problems.dedup();
    problems
}
