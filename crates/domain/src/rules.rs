//! Rule sets (SPEC §1): every number that differs between jurisdictions, as TOML. The built-in default is
//! `national-2025` (`data/rules/national-2025.toml`, embedded at build time).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RulesError(pub String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub name: String,
    pub title: String,
    pub deadlines: Deadlines,
    pub sharing: Sharing,
    pub audit: Audit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// Working days for the provider to answer a conditional-share application (default 10).
    pub application_answer_working_days: u32,
    /// Working days to update the catalog after a change of functions or law (default 15).
    pub catalog_update_working_days: u32,
    /// Working days to answer an objection (default 10).
    pub objection_answer_working_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sharing {
    /// Whether a `conditional` entry needs a legal basis besides its condition (default false).
    pub conditional_requires_legal_basis: bool,
    /// Whether a refusal needs a legal basis besides its reason (default false).
    pub refusal_requires_legal_basis: bool,
    /// The longest validity of a grant, in days (default 365).
    pub max_grant_validity_days: u32,
    /// Days without use after which a grant is flagged for re-certification (default 90).
    pub recertify_unused_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// `sha256` (default) or `sm3`.
    pub hash: String,
    /// Sign the chain head every this many events (default 1000)…
    pub checkpoint_every_events: u32,
    /// …or every this many seconds (default 60).
    pub checkpoint_every_seconds: u32,
}

const NATIONAL_2025_TOML: &str = include_str!("../../../data/rules/national-2025.toml");

impl RuleSet {
    /// The built-in `national-2025` rule set.
    ///
    /// Parsed from the embedded `data/rules/national-2025.toml`; should that ever fail (a unit test proves it does
    /// not), the same values hard-coded in [`RuleSet::national_2025_defaults`] are used.
    pub fn national_2025() -> RuleSet {
        RuleSet::from_toml(NATIONAL_2025_TOML).unwrap_or_else(|_| RuleSet::national_2025_defaults())
    }
    /// The values of `national-2025`, hard-coded (the fallback of [`RuleSet::national_2025`]).
    pub fn national_2025_defaults() -> RuleSet {
        RuleSet {
            name: "national-2025".into(),
            title: "国家默认规则（《政务数据共享条例》2025 / 国发〔2016〕51号）".into(),
            deadlines: Deadlines {
                application_answer_working_days: 10,
                catalog_update_working_days: 15,
                objection_answer_working_days: 10,
            },
            sharing: Sharing {
                conditional_requires_legal_basis: false,
                refusal_requires_legal_basis: false,
                max_grant_validity_days: 365,
                recertify_unused_days: 90,
            },
            audit: Audit { hash: "sha256".into(), checkpoint_every_events: 1000, checkpoint_every_seconds: 60 },
        }
    }
    /// Parses a rule set and checks its values (positive deadlines, known hash, …), naming the bad key.
    /// Every problem is reported, separated by `; `.
    pub fn from_toml(text: &str) -> Result<RuleSet, RulesError> {
        let rules: RuleSet = toml::from_str(text)
            .map_err(|e| RulesError(format!("规则集格式错误 (invalid rule set TOML): {}", e.to_string().trim())))?;
        rules.check()?;
        Ok(rules)
    }
    /// Checks the values of a rule set, naming every bad key.
    pub fn check(&self) -> Result<(), RulesError> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("`name` 不能为空 (must not be empty)".to_owned());
        }
        let positive = [
            ("deadlines.application_answer_working_days", self.deadlines.application_answer_working_days),
            ("deadlines.catalog_update_working_days", self.deadlines.catalog_update_working_days),
            ("deadlines.objection_answer_working_days", self.deadlines.objection_answer_working_days),
            ("sharing.recertify_unused_days", self.sharing.recertify_unused_days),
            ("audit.checkpoint_every_events", self.audit.checkpoint_every_events),
            ("audit.checkpoint_every_seconds", self.audit.checkpoint_every_seconds),
        ];
        for (key, v) in positive {
            if v < 1 {
                problems.push(format!("`{key}` 须至少为 1 (must be at least 1, got {v})"));
            }
        }
        let v = self.sharing.max_grant_validity_days;
        if !(1..=3650).contains(&v) {
            problems.push(format!("`sharing.max_grant_validity_days` 须在 1–3650 之间 (must be 1..=3650, got {v})"));
        }
        if !HASHES.contains(&self.audit.hash.as_str()) {
            problems.push(format!(
                "`audit.hash` 须为 sha256 或 sm3 (must be `sha256` or `sm3`, got `{}`)",
                self.audit.hash
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(RulesError(problems.join("; "))) }
    }
}

const HASHES: [&str; 2] = ["sha256", "sm3"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses_and_equals_defaults() {
        let parsed = RuleSet::from_toml(NATIONAL_2025_TOML).unwrap();
        assert_eq!(parsed, RuleSet::national_2025_defaults());
        assert_eq!(RuleSet::national_2025(), parsed);
        assert_eq!(parsed.deadlines.application_answer_working_days, 10);
        assert_eq!(parsed.deadlines.catalog_update_working_days, 15);
        assert_eq!(parsed.deadlines.objection_answer_working_days, 10);
    }

    #[test]
    fn serialized_rules_parse_back() {
        let r = RuleSet::national_2025();
        let text = toml::to_string(&r).unwrap();
        assert_eq!(RuleSet::from_toml(&text).unwrap(), r);
    }

    type Edit = Box<dyn FnOnce(&mut RuleSet)>;

    fn with(edit: impl FnOnce(&mut RuleSet)) -> Result<RuleSet, RulesError> {
        let mut r = RuleSet::national_2025_defaults();
        edit(&mut r);
        RuleSet::from_toml(&toml::to_string(&r).unwrap())
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: Vec<(&str, Edit)> = vec![
            ("name", Box::new(|r| r.name = "  ".into())),
            (
                "deadlines.application_answer_working_days",
                Box::new(|r| r.deadlines.application_answer_working_days = 0),
            ),
            ("deadlines.catalog_update_working_days", Box::new(|r| r.deadlines.catalog_update_working_days = 0)),
            ("deadlines.objection_answer_working_days", Box::new(|r| r.deadlines.objection_answer_working_days = 0)),
            ("sharing.max_grant_validity_days", Box::new(|r| r.sharing.max_grant_validity_days = 0)),
            ("sharing.max_grant_validity_days", Box::new(|r| r.sharing.max_grant_validity_days = 3651)),
            ("sharing.recertify_unused_days", Box::new(|r| r.sharing.recertify_unused_days = 0)),
            ("audit.hash", Box::new(|r| r.audit.hash = "md5".into())),
            ("audit.checkpoint_every_events", Box::new(|r| r.audit.checkpoint_every_events = 0)),
            ("audit.checkpoint_every_seconds", Box::new(|r| r.audit.checkpoint_every_seconds = 0)),
        ];
        for (key, edit) in cases {
            let e = with(edit).unwrap_err();
            assert!(e.0.contains(&format!("`{key}`")), "{key}: {e}");
        }
        assert!(with(|r| r.audit.hash = "sm3".into()).is_ok());
        assert!(with(|r| r.sharing.max_grant_validity_days = 3650).is_ok());
        assert!(with(|r| r.sharing.max_grant_validity_days = 1).is_ok());
    }

    #[test]
    fn all_problems_reported_together() {
        let e = with(|r| {
            r.name = String::new();
            r.audit.hash = "md5".into();
        })
        .unwrap_err();
        assert!(e.0.contains("`name`") && e.0.contains("`audit.hash`"), "{e}");
    }

    #[test]
    fn malformed_toml_is_an_error() {
        assert!(RuleSet::from_toml("").is_err());
        assert!(RuleSet::from_toml("name = ").is_err());
        let extra = format!("{NATIONAL_2025_TOML}\nsurprise = 1\n");
        let e = RuleSet::from_toml(&extra).unwrap_err();
        assert!(e.0.contains("surprise"), "{e}");
        let missing = NATIONAL_2025_TOML.replace("catalog_update_working_days = 15", "");
        let e = RuleSet::from_toml(&missing).unwrap_err();
        assert!(e.0.contains("catalog_update_working_days"), "{e}");
        let negative = NATIONAL_2025_TOML.replace("= 15", "= -15");
        assert!(RuleSet::from_toml(&negative).is_err());
    }
}
