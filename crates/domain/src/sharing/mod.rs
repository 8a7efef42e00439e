//! The sharing workflow of SPEC §6 and §8, as pure rules: the checks of an application and of a provider's
//! answer, the share-type decision, and the state machines of applications, grants, objections and demands.
//! Time is always a parameter (`today` in China, or `now`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use crate::FieldError;
use crate::calendar::{Calendar, Deadline};
use crate::entry::{Entry, Mode, ShareType};
use crate::rules::RuleSet;
use crate::validate::{MODES, parse_enum};

pub const PURPOSE_KINDS: [&str; 5] =
    ["administrative_basis", "work_reference", "data_verification", "business_collaboration", "other"];
pub const MASK_RULES: [&str; 7] = ["none", "id_card", "phone", "name", "address", "hash", "redact"];
/// Longest free text accepted in a reason, basis, description or purpose.
pub const MAX_TEXT_CHARS: usize = 2000;

/// 使用用途 of an application (API.md "Purpose kinds").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurposeKind {
    AdministrativeBasis,
    WorkReference,
    DataVerification,
    BusinessCollaboration,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purpose {
    pub kind: PurposeKind,
    pub text: String,
}

/// A purpose as sent: loose, so that every problem can be reported.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeInput {
    pub kind: Option<String>,
    pub text: Option<String>,
}

/// Masking rule of one granted item (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskRule {
    None,
    IdCard,
    Phone,
    Name,
    Address,
    Hash,
    Redact,
}

/// Daily limits of a grant; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Quota {
    pub requests_per_day: Option<u64>,
    pub records_per_day: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaInput {
    pub requests_per_day: Option<i64>,
    pub records_per_day: Option<i64>,
}

/// `POST /applications` as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    pub resource: Option<String>,
    pub items: Option<Vec<String>>,
    pub purpose: Option<PurposeInput>,
    pub basis: Option<String>,
    pub modes: Option<Vec<String>>,
    pub valid_until: Option<String>,
    pub expected_volume: Option<Value>,
}

/// What the platform does with a valid application, by the most restrictive share type of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// unconditional: approved at once with a grant.
    Grant,
    /// conditional: the provider's reviewer answers by the deadline.
    Review,
    /// not_shared: refused at once with the entry's legal basis.
    Refuse,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationSpec {
    pub items: Vec<String>,
    pub purpose: Purpose,
    pub basis: String,
    pub modes: Vec<Mode>,
    pub valid_until: Date,
    pub expected_volume: Option<Value>,
    pub share_type: ShareType,
    pub decision: Decision,
}

fn text(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|t| !t.is_empty())
}

/// A required free text: trimmed, non-empty, at most [`MAX_TEXT_CHARS`].
pub fn required_text(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    match text(value) {
        None => {
            errors.push(FieldError::new(field, "不能为空 (required)"));
            None
        }
        Some(t) if t.chars().count() > MAX_TEXT_CHARS => {
            errors.push(FieldError::new(field, format!("不能超过 {MAX_TEXT_CHARS} 字 (too long)")));
            None
        }
        Some(t) => Some(t.to_owned()),
    }
}

/// An optional free text: `None` when absent or blank; too long is an error.
pub fn optional_text(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    text(value)?;
    required_text(field, value, errors)
}

pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

pub fn check_purpose(field: &str, input: Option<&PurposeInput>, errors: &mut Vec<FieldError>) -> Option<Purpose> {
    let Some(input) = input else {
        errors.push(FieldError::new(field, "须说明使用用途 (purpose is required)"));
        return None;
    };
    let kind = match text(input.kind.as_deref()) {
        None => {
            errors.push(FieldError::new(format!("{field}.kind"), "须选择用途类别 (purpose kind is required)"));
            None
        }
        Some(k) => {
            let parsed = parse_enum::<PurposeKind>(k);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    format!("{field}.kind"),
                    format!("用途类别应为 {} 之一 (unknown purpose kind `{k}`)", PURPOSE_KINDS.join("、")),
                ));
            }
            parsed
        }
    };
    let text = required_text(&format!("{field}.text"), input.text.as_deref(), errors);
    Some(Purpose { kind: kind?, text: text? })
}

/// The validity a grant may have: after `today`, not after `latest` (when given), and within the rule set's
/// maximum from today.
fn check_valid_until(
    field: &str,
    value: Option<&str>,
    today: Date,
    latest: Option<Date>,
    rules: &RuleSet,
    errors: &mut Vec<FieldError>,
) -> Option<Date> {
    let Some(s) = text(value) else {
        errors.push(FieldError::new(field, "须填写有效期 (valid_until is required)"));
        return None;
    };
    let Some(d) = parse_date(s) else {
        errors.push(FieldError::new(field, "日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)"));
        return None;
    };
    let max = today.saturating_add(Duration::days(i64::from(rules.sharing.max_grant_validity_days)));
    if d <= today {
        errors.push(FieldError::new(field, format!("有效期须晚于今天 {today} (must be after today)")));
        None
    } else if let Some(latest) = latest.filter(|l| d > *l) {
        errors.push(FieldError::new(
            field,
            format!("不得晚于申请的有效期 {latest} (must not exceed the applied validity)"),
        ));
        None
    } else if d > max {
        errors.push(FieldError::new(
            field,
            format!(
                "有效期不得超过 {} 天，即 {max} (must not exceed {} days)",
                rules.sharing.max_grant_validity_days, rules.sharing.max_grant_validity_days
            ),
        ));
        None
    } else {
        Some(d)
    }
}

/// The share type that applies to one item: its own, else the entry's.
pub fn effective_share(entry: &Entry, item: &str) -> Option<ShareType> {
    entry.items.iter().find(|i| i.name == item).map(|i| i.share_type.unwrap_or(entry.share.kind))
}

fn rank(t: ShareType) -> u8 {
    match t {
        ShareType::Unconditional => 0,
        ShareType::Conditional => 1,
        ShareType::NotShared => 2,
    }
}

/// The most restrictive of some share types (unconditional when there are none).
pub fn most_restrictive(types: impl IntoIterator<Item = ShareType>) -> ShareType {
    types.into_iter().max_by_key(|t| rank(*t)).unwrap_or(ShareType::Unconditional)
}

/// Checks a list of item names against a set of allowed names: non-empty, no duplicates, each allowed.
fn check_items(
    field: &str,
    items: &[String],
    allowed: &dyn Fn(&str) -> bool,
    unknown: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    if items.is_empty() {
        errors.push(FieldError::new(field, "至少选择一个信息项 (at least one item)"));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, name) in items.iter().enumerate() {
        let name = name.trim();
        if !allowed(name) {
            errors.push(FieldError::new(format!("{field}[{i}]"), format!("“{name}” {unknown}")));
        } else if !seen.insert(name.to_owned()) {
            errors.push(FieldError::new(format!("{field}[{i}]"), format!("信息项“{name}”重复 (duplicate item)")));
        } else {
            out.push(name.to_owned());
        }
    }
    out
}

/// Checks an application against the entry it asks for (`None`: the resource is not a published entry) and
/// decides what happens to it. Reports every problem.
pub fn check_application(
    input: &ApplicationInput,
    entry: Option<&Entry>,
    consumer_department: &str,
    today: Date,
    rules: &RuleSet,
) -> Result<ApplicationSpec, Vec<FieldError>> {
    let mut errors = Vec::new();
    match (text(input.resource.as_deref()), entry) {
        (None, _) => errors.push(FieldError::new("resource", "须指定信息资源代码 (resource is required)")),
        (Some(r), None) => errors
            .push(FieldError::new("resource", format!("“{r}”不是已发布的信息资源 (not a published catalog entry)"))),
        (Some(_), Some(e)) if e.provider.id == consumer_department => errors.push(FieldError::new(
            "resource",
            "不能申请本部门的信息资源 (an entry of the caller's own department needs no application)",
        )),
        _ => {}
    }
    let entry_not_shared = entry.is_some_and(|e| e.share.kind == ShareType::NotShared);
    let raw_items = input.items.clone().unwrap_or_default();
    let items = match entry {
        Some(e) => {
            let exists = |n: &str| e.items.iter().any(|i| i.name == n);
            let items = check_items("items", &raw_items, &exists, "不是该资源的信息项 (no such item)", &mut errors);
            if !entry_not_shared {
                for (i, name) in raw_items.iter().enumerate() {
                    if effective_share(e, name.trim()) == Some(ShareType::NotShared) {
                        errors.push(FieldError::new(
                            format!("items[{i}]"),
                            format!("信息项“{}”不予共享 (this item is not shared)", name.trim()),
                        ));
                    }
                }
            }
            items
        }
        None => {
            if raw_items.is_empty() {
                errors.push(FieldError::new("items", "至少选择一个信息项 (at least one item)"));
            }
            Vec::new()
        }
    };
    let purpose = check_purpose("purpose", input.purpose.as_ref(), &mut errors);
    let basis = required_text("basis", input.basis.as_deref(), &mut errors);
    let mut modes = Vec::new();
    match input.modes.as_deref() {
        None | Some([]) => errors.push(FieldError::new("modes", "至少选择一种共享方式 (at least one mode)")),
        Some(list) => {
            for (i, m) in list.iter().enumerate() {
                match parse_enum::<Mode>(m.trim()) {
                    None => errors.push(FieldError::new(
                        format!("modes[{i}]"),
                        format!("共享方式应为 {} 之一 (unknown mode `{m}`)", MODES.join("、")),
                    )),
                    Some(mode) if modes.contains(&mode) => {
                        errors.push(FieldError::new(format!("modes[{i}]"), "共享方式重复 (duplicate mode)"))
                    }
                    Some(mode) => {
                        if let Some(e) = entry.filter(|e| !entry_not_shared && !e.share.modes.contains(&mode)) {
                            let offered: Vec<String> = e.share.modes.iter().filter_map(crate::entry::api_str).collect();
                            errors.push(FieldError::new(
                                format!("modes[{i}]"),
                                format!("该资源不提供此共享方式，可选：{} (mode not offered)", offered.join("、")),
                            ));
                        }
                        modes.push(mode);
                    }
                }
            }
        }
    }
    let valid_until = check_valid_until("valid_until", input.valid_until.as_deref(), today, None, rules, &mut errors);
    match &input.expected_volume {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        Some(Value::String(s)) if s.chars().count() <= 200 => {}
        Some(_) => errors.push(FieldError::new(
            "expected_volume",
            "预计数据量应为非负整数或不超过200字的说明 (a non-negative integer or a short text)",
        )),
    }
    let (Some(entry), Some(purpose), Some(basis), Some(valid_until)) = (entry, purpose, basis, valid_until) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let share_type = if entry_not_shared {
        ShareType::NotShared
    } else {
        most_restrictive(items.iter().filter_map(|n| effective_share(entry, n)))
    };
    let decision = match share_type {
        ShareType::Unconditional => Decision::Grant,
        ShareType::Conditional => Decision::Review,
        ShareType::NotShared => Decision::Refuse,
    };
    Ok(ApplicationSpec {
        items,
        purpose,
        basis,
        modes,
        valid_until,
        expected_volume: input.expected_volume.clone().filter(|v| !v.is_null()),
        share_type,
        decision,
    })
}

/// The conditions of an approval (`POST …/approve`, or a coordination that approves), as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionsInput {
    pub items: Option<Vec<String>>,
    pub valid_until: Option<String>,
    pub masking: Option<BTreeMap<String, String>>,
    pub quota: Option<QuotaInput>,
}

/// What a grant is given: items, validity, masking per item, quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditions {
    pub items: Vec<String>,
    pub valid_until: Date,
    pub masking: BTreeMap<String, MaskRule>,
    pub quota: Option<Quota>,
}

/// Checks the conditions of an approval against the application: items a subset of the applied ones, validity
/// after today and not after the applied one, masking only of granted items with known rules, positive quotas.
pub fn check_conditions(
    input: &ConditionsInput,
    applied_items: &[String],
    applied_valid_until: Date,
    today: Date,
    rules: &RuleSet,
) -> Result<Conditions, Vec<FieldError>> {
    let mut errors = Vec::new();
    let items = match &input.items {
        None => applied_items.to_vec(),
        Some(list) => {
            let applied = |n: &str| applied_items.iter().any(|a| a == n);
            check_items("items", list, &applied, "不在申请的信息项之中 (not among the applied items)", &mut errors)
        }
    };
    let valid_until = match input.valid_until.as_deref() {
        None => Some(applied_valid_until),
        v => check_valid_until("valid_until", v, today, Some(applied_valid_until), rules, &mut errors),
    };
    let mut masking = BTreeMap::new();
    for (item, rule) in input.masking.iter().flatten() {
        let field = format!("masking.{item}");
        if !items.contains(item) {
            errors.push(FieldError::new(&field, format!("“{item}”不是授权的信息项 (not a granted item)")));
        }
        match parse_enum::<MaskRule>(rule.trim()) {
            Some(r) => {
                masking.insert(item.clone(), r);
            }
            None => errors.push(FieldError::new(
                &field,
                format!("脱敏规则应为 {} 之一 (unknown masking rule `{rule}`)", MASK_RULES.join("、")),
            )),
        }
    }
    let quota = input.quota.as_ref().map(|q| {
        let mut positive = |name: &str, v: Option<i64>| match v {
            None => None,
            Some(n) if n >= 1 => u64::try_from(n).ok(),
            Some(_) => {
                errors.push(FieldError::new(format!("quota.{name}"), "须为正整数 (must be a positive integer)"));
                None
            }
        };
        Quota {
            requests_per_day: positive("requests_per_day", q.requests_per_day),
            records_per_day: positive("records_per_day", q.records_per_day),
        }
    });
    match valid_until {
        Some(valid_until) if errors.is_empty() => Ok(Conditions { items, valid_until, masking, quota }),
        _ => Err(errors),
    }
}

/// A refusal: its reason and, where the rule set requires it, a legal basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
    pub legal_basis: Option<String>,
}

pub fn check_refusal(
    reason: Option<&str>,
    legal_basis: Option<&str>,
    rules: &RuleSet,
) -> Result<Refusal, Vec<FieldError>> {
    let mut errors = Vec::new();
    let reason = required_text("reason", reason, &mut errors);
    let legal_basis = if rules.sharing.refusal_requires_legal_basis {
        required_text("legal_basis", legal_basis, &mut errors)
    } else {
        optional_text("legal_basis", legal_basis, &mut errors)
    };
    match reason {
        Some(reason) if errors.is_empty() => Ok(Refusal { reason, legal_basis }),
        _ => Err(errors),
    }
}

/// The deadline of an answer: `working_days` working days after `today`.
pub fn answer_deadline(calendar: &Calendar, today: Date, working_days: u32) -> Deadline {
    calendar.add_working_days(today, working_days)
}

/// An answer is overdue once the deadline day has passed.
pub fn is_overdue(deadline: Date, today: Date) -> bool {
    today > deadline
}

/// A grant is valid through its `valid_until` day and expires the day after.
pub fn is_expired(valid_until: Date, today: Date) -> bool {
    today > valid_until
}

/// A grant unused (since `last_use`, or its creation) for `days` days is flagged for re-certification.
pub fn needs_recertification(last_use: OffsetDateTime, now: OffsetDateTime, days: u32) -> bool {
    now - last_use >= Duration::days(i64::from(days))
}

mod states;

pub use states::*;

#[cfg(test)]
mod tests;
