#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use time::macros::{date, datetime};

use super::*;

fn entry(share: &str, item_types: [Option<&str>; 3]) -> Entry {
    let legal = (share == "not_shared" || item_types.contains(&Some("not_shared"))).then_some("《居民身份证法》");
    let modes: Vec<&str> = if share == "not_shared" { vec![] } else { vec!["query", "verify"] };
    serde_json::from_value(json!({
        "code": "301001/000001",
        "class": {"lei": 3, "xiang": 1, "mu": 1, "ximu": null},
        "name": "居民户籍信息",
        "provider": {"id": "gat", "name": "河北省公安厅", "credit_code": "11130000000000000X"},
        "summary": "s",
        "format": {"category": "数据库", "type": "PostgreSQL"},
        "items": [
            {"name": "公民身份号码", "data_type": "C", "length": 18, "basic": false, "share_type": item_types[0], "grade": null},
            {"name": "姓名", "data_type": "C", "length": 50, "basic": false, "share_type": item_types[1], "grade": null},
            {"name": "住址", "data_type": "C", "length": 200, "basic": false, "share_type": item_types[2], "grade": null}
        ],
        "share": {"type": share, "condition": "c", "legal_basis": legal, "modes": modes},
        "open": {"open": false, "condition": null},
        "update_cycle": "daily",
        "published_on": "2026-01-05",
        "related": [],
        "secret": false,
        "grade": null,
        "status": "published",
        "version": 1
    }))
    .unwrap()
}

const TODAY: Date = date!(2026 - 03 - 02);

fn app(v: serde_json::Value) -> ApplicationInput {
    serde_json::from_value(v).unwrap()
}

fn good() -> serde_json::Value {
    json!({
        "resource": "301001/000001",
        "items": ["姓名", "住址"],
        "purpose": {"kind": "data_verification", "text": "核验申请人身份"},
        "basis": "《社会救助暂行办法》第十一条",
        "modes": ["verify"],
        "valid_until": "2026-12-31",
        "expected_volume": 1000
    })
}

fn fields(r: Result<ApplicationSpec, Vec<FieldError>>) -> Vec<String> {
    let mut f: Vec<String> = r.unwrap_err().into_iter().map(|e| e.field).collect();
    f.sort();
    f
}

#[test]
fn decision_follows_the_most_restrictive_item() {
    let rules = RuleSet::national_2025();
    let e = entry("unconditional", [None, None, Some("conditional")]);
    let spec = check_application(&app(good()), Some(&e), "rst", TODAY, &rules).unwrap();
    assert_eq!(spec.decision, Decision::Review);
    assert_eq!(spec.share_type, ShareType::Conditional);
    let mut only_name = good();
    only_name["items"] = json!(["姓名"]);
    let spec = check_application(&app(only_name), Some(&e), "rst", TODAY, &rules).unwrap();
    assert_eq!(spec.decision, Decision::Grant);
    assert_eq!(spec.valid_until, date!(2026 - 12 - 31));
    assert_eq!(spec.purpose.kind, PurposeKind::DataVerification);
    let ns = entry("not_shared", [None, None, None]);
    let mut v = good();
    v["modes"] = json!(["verify"]);
    let spec = check_application(&app(v), Some(&ns), "rst", TODAY, &rules).unwrap();
    assert_eq!(spec.decision, Decision::Refuse);
    assert_eq!(most_restrictive([]), ShareType::Unconditional);
    assert_eq!(most_restrictive([ShareType::Unconditional, ShareType::NotShared]), ShareType::NotShared);
}

#[test]
fn every_problem_is_named() {
    let rules = RuleSet::national_2025();
    let e = entry("conditional", [Some("not_shared"), None, None]);
    let bad = json!({
        "resource": "301001/000001",
        "items": ["公民身份号码", "学历", "姓名", "姓名"],
        "purpose": {"kind": "curiosity", "text": "  "},
        "basis": "",
        "modes": ["file", "teleport"],
        "valid_until": "2026-02-30",
        "expected_volume": -3
    });
    assert_eq!(
        fields(check_application(&app(bad), Some(&e), "rst", TODAY, &rules)),
        [
            "basis",
            "expected_volume",
            "items[0]",
            "items[1]",
            "items[3]",
            "modes[0]",
            "modes[1]",
            "purpose.kind",
            "purpose.text",
            "valid_until"
        ]
    );
    // Not published, own department, missing everything.
    assert_eq!(fields(check_application(&app(good()), None, "rst", TODAY, &rules)), ["resource"]);
    assert_eq!(fields(check_application(&app(good()), Some(&e), "gat", TODAY, &rules)), ["resource"]);
    assert_eq!(
        fields(check_application(&app(json!({})), None, "rst", TODAY, &rules)),
        ["basis", "items", "modes", "purpose", "resource", "valid_until"]
    );
}

#[test]
fn validity_is_after_today_and_within_the_maximum() {
    let rules = RuleSet::national_2025();
    let e = entry("conditional", [None, None, None]);
    let with = |d: &str| {
        let mut v = good();
        v["valid_until"] = json!(d);
        check_application(&app(v), Some(&e), "rst", TODAY, &rules)
    };
    for bad in ["2026-03-02", "2026-03-01", "2020-01-01", "2027-03-03", "2026/12/31", "tomorrow"] {
        assert_eq!(fields(with(bad)), ["valid_until"], "{bad}");
    }
    assert!(with("2026-03-03").is_ok());
    assert!(with("2027-03-02").is_ok());
}

#[test]
fn approval_conditions() {
    let rules = RuleSet::national_2025();
    let applied = vec!["姓名".to_owned(), "住址".to_owned()];
    let until = date!(2026 - 12 - 31);
    let ok =
        |v: serde_json::Value| check_conditions(&serde_json::from_value(v).unwrap(), &applied, until, TODAY, &rules);
    let c = ok(json!({})).unwrap();
    assert_eq!((c.items.clone(), c.valid_until, c.quota), (applied.clone(), until, None));
    let c = ok(json!({"items": ["姓名"], "valid_until": "2026-06-30", "masking": {"姓名": "name"},
                      "quota": {"requests_per_day": 100, "records_per_day": 5000}}))
    .unwrap();
    assert_eq!(c.items, ["姓名"]);
    assert_eq!(c.masking.get("姓名"), Some(&MaskRule::Name));
    assert_eq!(c.quota, Some(Quota { requests_per_day: Some(100), records_per_day: Some(5000) }));
    let err = ok(json!({"items": ["姓名", "公民身份号码"], "valid_until": "2027-01-01",
                        "masking": {"住址": "address", "姓名": "blur"}, "quota": {"requests_per_day": 0}}))
    .unwrap_err();
    let mut f: Vec<String> = err.into_iter().map(|e| e.field).collect();
    f.sort();
    assert_eq!(f, ["items[1]", "masking.住址", "masking.姓名", "quota.requests_per_day", "valid_until"]);
    assert!(ok(json!({"valid_until": "2026-03-01"})).is_err());
    assert!(ok(json!({"items": []})).is_err());
    for r in MASK_RULES {
        assert!(parse_enum::<MaskRule>(r).is_some(), "{r}");
    }
    for k in PURPOSE_KINDS {
        assert!(parse_enum::<PurposeKind>(k).is_some(), "{k}");
    }
}

#[test]
fn refusal_needs_a_reason_and_the_basis_where_required() {
    let mut rules = RuleSet::national_2025();
    assert!(check_refusal(Some("超出职责范围"), None, &rules).is_ok());
    assert_eq!(check_refusal(Some(" "), None, &rules).unwrap_err()[0].field, "reason");
    rules.sharing.refusal_requires_legal_basis = true;
    assert_eq!(check_refusal(Some("r"), None, &rules).unwrap_err()[0].field, "legal_basis");
    let r = check_refusal(Some("r"), Some("《数据安全法》"), &rules).unwrap();
    assert_eq!(r.legal_basis.as_deref(), Some("《数据安全法》"));
}

#[test]
fn application_state_machine() {
    use AppAction as A;
    use AppStatus as S;
    assert_eq!(application_next(S::Submitted, false, A::Approve), Ok(S::Approved));
    assert_eq!(application_next(S::Submitted, false, A::Refuse), Ok(S::Refused));
    assert_eq!(application_next(S::Submitted, false, A::Return), Ok(S::Returned));
    assert_eq!(application_next(S::Refused, false, A::Dispute), Ok(S::Disputed));
    assert_eq!(application_next(S::Disputed, false, A::CoordinateApprove), Ok(S::Approved));
    assert_eq!(application_next(S::Disputed, false, A::CoordinateRefuse), Ok(S::Refused));
    assert!(application_next(S::Refused, true, A::Dispute).is_err());
    assert!(application_next(S::Submitted, false, A::Dispute).is_err());
    assert!(application_next(S::Approved, false, A::Dispute).is_err());
    assert!(application_next(S::Refused, false, A::CoordinateApprove).is_err());
    for a in [A::Approve, A::Refuse, A::Return] {
        for s in [S::Approved, S::Refused, S::Returned, S::Disputed] {
            assert!(application_next(s, false, a).is_err(), "{s:?} {a:?}");
        }
    }
    for s in S::ALL {
        assert_eq!(S::parse(s.as_str()), Some(*s));
    }
}

#[test]
fn grant_objection_demand_state_machines() {
    use GrantAction as A;
    use GrantStatus as S;
    assert_eq!(grant_next(S::Active, A::Suspend), Ok(S::Suspended));
    assert_eq!(grant_next(S::Suspended, A::Resume), Ok(S::Active));
    assert_eq!(grant_next(S::Suspended, A::Revoke), Ok(S::Revoked));
    assert_eq!(grant_next(S::Active, A::Expire), Ok(S::Expired));
    assert!(grant_next(S::Active, A::Resume).is_err());
    assert!(grant_next(S::Suspended, A::Suspend).is_err());
    assert!(grant_next(S::Revoked, A::Revoke).is_err());
    assert!(grant_next(S::Expired, A::Resume).is_err());
    assert_eq!(objection_next(ObjectionStatus::Submitted, true), Ok(ObjectionStatus::Confirmed));
    assert_eq!(objection_next(ObjectionStatus::Submitted, false), Ok(ObjectionStatus::Rejected));
    assert!(objection_next(ObjectionStatus::Confirmed, false).is_err());
    assert_eq!(demand_next(DemandStatus::Submitted, DemandAction::Route), Ok(DemandStatus::Routed));
    assert_eq!(demand_next(DemandStatus::Routed, DemandAction::Decline), Ok(DemandStatus::Declined));
    assert!(demand_next(DemandStatus::Submitted, DemandAction::Answer).is_err());
    assert!(demand_next(DemandStatus::Answered, DemandAction::Route).is_err());
}

#[test]
fn deadlines_count_working_days_over_holidays() {
    let cal = Calendar::builtin();
    // Monday before National Day 2026: 10 working days skip 1–7 October and count Saturday 10 October.
    let d = answer_deadline(&cal, date!(2026 - 09 - 28), 10);
    assert_eq!(d, Deadline { deadline: date!(2026 - 10 - 16), covered: true });
    let plain = answer_deadline(&Calendar::default(), date!(2026 - 09 - 28), 10);
    assert_eq!(plain.deadline, date!(2026 - 10 - 12));
    assert!(!plain.covered);
    assert!(!is_overdue(d.deadline, date!(2026 - 10 - 16)));
    assert!(is_overdue(d.deadline, date!(2026 - 10 - 17)));
    assert!(!is_expired(date!(2026 - 12 - 31), date!(2026 - 12 - 31)));
    assert!(is_expired(date!(2026 - 12 - 31), date!(2027 - 01 - 01)));
    let t0 = datetime!(2026-01-01 0:00 UTC);
    assert!(!needs_recertification(t0, t0 + Duration::days(89), 90));
    assert!(needs_recertification(t0, t0 + Duration::days(90), 90));
}
