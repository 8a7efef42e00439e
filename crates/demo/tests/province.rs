//! The demo province: counts, uniqueness, validity of every code and entry, determinism.

// Helpers outside `#[test]` functions unwrap too: a panic here is a failed test (as clippy.toml allows in tests).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use shuqiao_demo::{DEMO_PASSWORD, DemoProvince, DemoState, data_problems, province};
use shuqiao_domain::codes::{ClassCode, CreditCode, RegionCode, ResourceCode};
use shuqiao_domain::roles::Role;
use shuqiao_domain::rules::RuleSet;
use shuqiao_domain::validate::validate_entry;

fn published(p: &DemoProvince) -> impl Iterator<Item = &shuqiao_demo::DemoEntry> {
    p.entries.iter().filter(|e| e.state == DemoState::Published)
}

fn class_of(e: &shuqiao_demo::DemoEntry) -> (i64, i64) {
    let c = e.input.class.as_ref().unwrap();
    (c.lei.unwrap(), c.xiang.unwrap())
}

#[test]
fn curated_data_has_no_problems() {
    let problems = data_problems();
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn every_entry_passes_validation() {
    let rules = RuleSet::national_2025();
    let p = province();
    let failures: Vec<String> = p
        .entries
        .iter()
        .filter_map(|e| {
            validate_entry(&e.input, &rules).err().map(|errs| {
                let msgs: Vec<String> = errs.iter().map(|f| format!("{f:?}")).collect();
                format!("{:?} {:?}: {}", e.input.code, e.input.name, msgs.join("; "))
            })
        })
        .collect();
    assert!(failures.is_empty(), "{} invalid entries:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn counts_cover_the_catalog() {
    let p = province();
    assert!(p.departments.len() >= 40, "{} departments", p.departments.len());
    let provincial = p.departments.iter().filter(|d| d.region == "130000").count();
    assert!(provincial >= 30, "{provincial} provincial departments");
    assert!(p.entries.len() >= 560, "{} entries", p.entries.len());
    assert!(published(&p).count() >= 500, "{} published", published(&p).count());

    let count = |s: fn(&DemoState) -> bool| p.entries.iter().filter(|e| s(&e.state)).count();
    assert!(count(|s| *s == DemoState::Draft) >= 20);
    assert!(count(|s| *s == DemoState::Submitted) >= 10);
    assert!(count(|s| matches!(s, DemoState::Returned { .. })) >= 5);
    assert!(count(|s| *s == DemoState::Retired) >= 3);

    let mut per_class: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for e in published(&p) {
        *per_class.entry(class_of(e)).or_default() += 1;
    }
    for xiang in 1..=5 {
        let n = per_class.get(&(1, xiang)).copied().unwrap_or(0);
        assert!(n >= 5, "basic 项 {xiang} has {n} published entries");
    }
    for xiang in 1..=12 {
        let n = per_class.get(&(2, xiang)).copied().unwrap_or(0);
        assert!(n >= 5, "theme {xiang} has {n} published entries");
    }
    let departmental: usize = per_class.iter().filter(|((lei, _), _)| *lei == 3).map(|(_, n)| n).sum();
    assert!(departmental >= 200, "{departmental} departmental entries");
}

#[test]
fn returned_entries_carry_the_authoritys_comment() {
    for e in province().entries {
        if let DemoState::Returned { comment } = &e.state {
            assert!(!comment.trim().is_empty());
        }
    }
}

#[test]
fn codes_are_full_unique_and_agree_with_class() {
    let p = province();
    let mut seen = BTreeSet::new();
    for e in &p.entries {
        let code = e.input.code.as_deref().unwrap();
        let parsed: ResourceCode = code.parse().unwrap_or_else(|err| panic!("{code}: {err}"));
        assert!(seen.insert(parsed), "duplicate code {code}");
        let c = e.input.class.as_ref().unwrap();
        let class = ClassCode::new(
            u8::try_from(c.lei.unwrap()).unwrap(),
            u8::try_from(c.xiang.unwrap()).unwrap(),
            u16::try_from(c.mu.unwrap()).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(parsed.class, class, "{code}");
        assert_eq!(code, format!("{class}/{:06}", parsed.seq));
        assert!(e.input.name.as_ref().unwrap().chars().count() <= 100);
    }
}

#[test]
fn entries_name_known_departments_and_read_like_a_catalog() {
    let p = province();
    let keys: BTreeSet<&str> = p.departments.iter().map(|d| d.key.as_str()).collect();
    let mut names = BTreeSet::new();
    for e in &p.entries {
        assert!(keys.contains(e.department.as_str()), "{}", e.department);
        let name = e.input.name.clone().unwrap();
        assert!(names.insert(name.clone()), "duplicate name {name}");
        let summary = e.input.summary.as_deref().unwrap();
        assert!(summary.ends_with('。') && summary.chars().count() > 20, "{summary}");
        let items = e.input.items.as_ref().unwrap();
        assert!((4..=15).contains(&items.len()), "{name}: {} items", items.len());
        assert_eq!(e.input.secret, Some(false));
    }
    for expected in ["居民户籍信息", "企业营业执照信息", "社会保险参保信息", "不动产登记信息", "企业年度报告信息"]
    {
        assert!(names.contains(expected), "{expected} missing");
    }
}

#[test]
fn share_attributes_follow_the_rules() {
    for e in province().entries {
        let share = e.input.share.as_ref().unwrap();
        match share.kind.as_deref() {
            Some("conditional") => assert!(share.condition.as_deref().is_some_and(|c| !c.is_empty())),
            Some("not_shared") => assert!(share.legal_basis.as_deref().is_some_and(|b| b.starts_with('《'))),
            Some("unconditional") => {}
            other => panic!("share type {other:?}"),
        }
        if class_of(&e).0 == 1 {
            assert_ne!(share.kind.as_deref(), Some("not_shared"));
            for item in e.input.items.as_ref().unwrap() {
                if item.basic == Some(true) && share.kind.as_deref() != Some("unconditional") {
                    assert_eq!(item.share_type.as_deref(), Some("unconditional"));
                }
            }
        }
    }
}

#[test]
fn departments_have_valid_unique_credit_codes() {
    let p = province();
    let mut codes = BTreeSet::new();
    let mut keys = BTreeSet::new();
    let regions: BTreeSet<&str> = p.regions.iter().map(|r| r.code.as_str()).collect();
    for d in &p.departments {
        let parsed = CreditCode::parse(&d.credit_code).unwrap_or_else(|e| panic!("{} {}: {e}", d.name, d.credit_code));
        assert_eq!(parsed.as_str(), d.credit_code);
        assert!(d.credit_code.starts_with('1'));
        assert_eq!(&d.credit_code[2..8], d.region, "{}", d.name);
        assert!(codes.insert(d.credit_code.clone()), "duplicate credit code {}", d.credit_code);
        assert!(keys.insert(d.key.clone()), "duplicate key {}", d.key);
        assert!(regions.contains(d.region.as_str()), "{}: region {}", d.name, d.region);
        assert!(matches!(d.kind.as_str(), "government" | "institution"));
    }
    for d in &p.departments {
        if let Some(parent) = &d.parent {
            assert!(keys.contains(parent), "{}: parent {parent}", d.name);
        }
    }
}

#[test]
fn regions_are_real_codes_with_their_levels() {
    let p = province();
    assert_eq!(p.regions[0].code, "130000");
    for r in &p.regions {
        let code = RegionCode::parse(&r.code).unwrap();
        assert_eq!(code.implied_level(), r.level, "{}", r.name);
    }
}

#[test]
fn users_cover_every_role_with_separation_of_duties() {
    let p = province();
    let mut names = BTreeSet::new();
    let keys: BTreeSet<&str> = p.departments.iter().map(|d| d.key.as_str()).collect();
    for u in &p.users {
        assert!(names.insert(u.username.clone()), "duplicate user {}", u.username);
        assert_eq!(u.password, DEMO_PASSWORD);
        assert!(!u.display_name.is_empty());
        assert!(!(u.roles.contains(&Role::PlatformAdmin) && u.roles.contains(&Role::SecurityAuditor)));
        if let Some(d) = &u.department {
            assert!(keys.contains(d.as_str()), "{}: department {d}", u.username);
        }
    }
    // The platform creates its own administrator; the demo provides every other role.
    for role in Role::ALL.into_iter().filter(|r| *r != Role::PlatformAdmin) {
        assert!(p.users.iter().any(|u| u.roles.contains(&role)), "no user with {role:?}");
    }
    for name in ["auditor", "authority", "gat_admin", "gat_catalog", "gat_review", "gat_user", "scjg_catalog"] {
        assert!(names.contains(name), "{name} missing");
    }
    let authority = p.users.iter().find(|u| u.username == "authority").unwrap();
    assert_eq!(authority.department.as_deref(), Some("hb-zwb"));
}

#[test]
fn province_is_deterministic() {
    assert_eq!(province(), province());
}
