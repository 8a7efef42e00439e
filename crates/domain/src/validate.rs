//! Validation of catalog entries against SPEC §1 and §4. Reports every problem at once, each with its field path
//! (`name`, `share.legal_basis`, `items[0].share_type`, …) and a message in Chinese with English.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::FieldError;
use crate::class_tree;
use crate::codes::{ClassCode, ResourceCode};
use crate::entry::{
    ClassInput, DataType, EntryInput, EntrySpec, Format, FormatCategory, FormatInput, Grade, Item, ItemInput, Mode,
    Open, OpenInput, Share, ShareInput, ShareType, UpdateCycle,
};
use crate::rules::RuleSet;

/// Validates an entry as sent by a client. Checks (SPEC §1, §4):
/// - `class` present with lei 1..=3 and an existing node of the class tree; `code`, if given, is either a full
///   resource code or only the classification part, and its classification part agrees with `class`;
/// - `name` 1..=100 characters, `summary` present, `format.category` from the list and `format.type` present;
/// - at least one item; item names present and unique; `data_type` one of `C N Y D T L M G B I F`; `length`
///   present and sensible for the type; `share_type`/`grade` valid when given;
/// - basic items (`basic: true`) of basic resources (lei = 1) are effectively `unconditional`;
/// - `share.type` valid; `not_shared` (entry or any item) needs `share.legal_basis`; `conditional` needs
///   `share.condition`, and a legal basis too when `rules.sharing.conditional_requires_legal_basis`;
///   `modes` valid, unique, and non-empty unless `not_shared`;
/// - `open.open` given; `update_cycle` valid; `related` valid resource codes; `grade` valid when given;
/// - `secret` must be false (secret data cannot be registered).
pub fn validate_entry(input: &EntryInput, rules: &RuleSet) -> Result<EntrySpec, Vec<FieldError>> {
    let mut v = Check::default();

    let class = v.class(input.class.as_ref());
    let code = v.code(input.code.as_deref(), class);
    let name = v.name(input.name.as_deref());
    let summary = v.required_str("summary", input.summary.as_deref(), "信息资源摘要");
    let format = v.format(input.format.as_ref());
    let share_kind = v.share_kind(input.share.as_ref());
    let items = v.items(input.items.as_deref(), class, share_kind);
    let share = v.share(input.share.as_ref(), share_kind, input.items.as_deref(), rules);
    let open = v.open(input.open.as_ref());
    let update_cycle = v.enum_field::<UpdateCycle>("update_cycle", input.update_cycle.as_deref(), &UPDATE_CYCLES, true);
    let related = v.related(input.related.as_deref(), code);
    if input.secret == Some(true) {
        v.err("secret", "涉密信息资源不得在共享平台登记 (secret data cannot be registered)");
    }
    let grade = v.enum_field::<Grade>("grade", input.grade.as_deref(), &GRADES, false);
    let unit = input
        .provider
        .as_ref()
        .and_then(|p| p.get("unit"))
        .and_then(serde_json::Value::as_str)
        .and_then(trimmed)
        .map(str::to_owned);

    match (class, name, summary, format, items, share, open, update_cycle, related) {
        (
            Some(class),
            Some(name),
            Some(summary),
            Some(format),
            Some(items),
            Some(share),
            Some(open),
            Some(update_cycle),
            Some(related),
        ) if v.errors.is_empty() => Ok(EntrySpec {
            class,
            code: code.flatten(),
            name,
            summary,
            format,
            items,
            share,
            open,
            update_cycle,
            related,
            grade,
            unit,
        }),
        _ => Err(v.errors),
    }
}

/// Allowed values, as shown in error messages. Parsing goes through the serde names of the enums in
/// [`crate::entry`]; a unit test proves every value listed here parses.
pub const SHARE_TYPES: [&str; 3] = ["unconditional", "conditional", "not_shared"];
pub const MODES: [&str; 5] = ["query", "verify", "sync", "file", "api"];
pub const UPDATE_CYCLES: [&str; 8] =
    ["realtime", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly", "irregular"];
pub const DATA_TYPES: [&str; 11] = ["C", "N", "Y", "D", "T", "L", "M", "G", "B", "I", "F"];
pub const GRADES: [&str; 3] = ["一般", "重要", "核心"];
pub const FORMAT_CATEGORIES: [&str; 7] =
    ["电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述格式", "服务接口"];

/// Longest `name` of an entry, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The lengths an item of each data type may declare:
/// - `C` 字符型 1..=4000 (the longest VARCHAR of Oracle/达梦 in standard mode; longer text is `M`);
/// - `M` 备注型 and `G` 通用型 1..=2147483647 (the largest CLOB/BLOB length mainstream databases declare);
/// - `N` 数值型, `Y` 货币型, `B` 双精度型, `F` 浮点型 1..=38 (digits of precision, as DECIMAL(38));
/// - `I` 整型 1..=20 (the digits of a 64-bit integer with its sign);
/// - `D` 日期型 8 (`YYYYMMDD`) or 10 (`YYYY-MM-DD`); `T` 日期时间型 14 (`YYYYMMDDhhmmss`) or 19
///   (`YYYY-MM-DD hh:mm:ss`); `L` 逻辑型 1.
pub fn length_rule(t: DataType) -> LengthRule {
    match t {
        DataType::C => LengthRule::Range(1, 4000),
        DataType::M | DataType::G => LengthRule::Range(1, 2_147_483_647),
        DataType::N | DataType::Y | DataType::B | DataType::F => LengthRule::Range(1, 38),
        DataType::I => LengthRule::Range(1, 20),
        DataType::D => LengthRule::OneOf(&[8, 10]),
        DataType::T => LengthRule::OneOf(&[14, 19]),
        DataType::L => LengthRule::OneOf(&[1]),
    }
}

/// The lengths allowed for a data type (see [`length_rule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthRule {
    Range(u32, u32),
    OneOf(&'static [u32]),
}

impl LengthRule {
    pub fn allows(self, len: u32) -> bool {
        match self {
            LengthRule::Range(lo, hi) => (lo..=hi).contains(&len),
            LengthRule::OneOf(v) => v.contains(&len),
        }
    }
    fn describe(self) -> String {
        match self {
            LengthRule::Range(lo, hi) => format!("{lo}–{hi}"),
            LengthRule::OneOf(v) => v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" 或 "),
        }
    }
}

/// Parses an enum of [`crate::entry`] from its serde name (the one source of truth for the names).
pub fn parse_enum<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

fn trimmed(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn err(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn required_str(&mut self, field: &str, value: Option<&str>, label: &str) -> Option<String> {
        match value.and_then(trimmed) {
            Some(s) => Some(s.to_owned()),
            None => {
                self.err(field, format!("缺少{label} ({field} is required)"));
                None
            }
        }
    }

    /// An enum field: `Some(Some(v))` valid, `Some(None)` absent and optional, `None` invalid or absent and
    /// required (an error was recorded). For required fields the result is flattened by the caller.
    fn enum_value<T: DeserializeOwned>(
        &mut self,
        field: &str,
        value: Option<&str>,
        allowed: &[&str],
        required: bool,
    ) -> Option<Option<T>> {
        let Some(s) = value.and_then(trimmed) else {
            if required {
                self.err(field, format!("缺少必填项 ({field} is required; one of: {})", allowed.join(", ")));
                return None;
            }
            return Some(None);
        };
        match parse_enum::<T>(s) {
            Some(t) => Some(Some(t)),
            None => {
                self.err(field, format!("取值“{s}”无效，应为 {} 之一 (invalid value `{s}`)", allowed.join(" / ")));
                None
            }
        }
    }

    /// Required enum → `Some(v)` or `None` (error recorded); optional enum → `Some(v)`, or `None` when absent or
    /// invalid (error recorded when invalid).
    fn enum_field<T: DeserializeOwned>(
        &mut self,
        field: &str,
        value: Option<&str>,
        allowed: &[&str],
        required: bool,
    ) -> Option<T> {
        self.enum_value(field, value, allowed, required).flatten()
    }

    fn class(&mut self, input: Option<&ClassInput>) -> Option<ClassCode> {
        let Some(c) = input else {
            self.err("class", "缺少信息资源分类 (class is required)");
            return None;
        };
        let mut part = |field: &str, label: &str, value: Option<i64>, lo: i64, hi: i64, required: bool| match value {
            None if required => {
                self.err(field, format!("缺少分类的“{label}” ({field} is required)"));
                None
            }
            None => Some(None),
            Some(v) if (lo..=hi).contains(&v) => Some(Some(v)),
            Some(v) => {
                self.err(field, format!("分类的“{label}”须在 {lo}–{hi} 之间 ({field} must be {lo}..={hi}, got {v})"));
                None
            }
        };
        let lei = part("class.lei", "类", c.lei, 1, 3, true);
        let xiang = part("class.xiang", "项", c.xiang, 1, 99, true);
        let mu = part("class.mu", "目", c.mu, 1, 999, true);
        let ximu = part("class.ximu", "细目", c.ximu, 1, 999, false);
        let (Some(Some(lei)), Some(Some(xiang)), Some(Some(mu)), Some(ximu)) = (lei, xiang, mu, ximu) else {
            return None;
        };
        let (Ok(lei), Ok(xiang), Ok(mu)) = (u8::try_from(lei), u8::try_from(xiang), u16::try_from(mu)) else {
            return None;
        };
        let ximu = ximu.and_then(|x| u16::try_from(x).ok());
        let class = match ClassCode::new(lei, xiang, mu, ximu) {
            Ok(c) => c,
            Err(e) => {
                self.err("class", e.0);
                return None;
            }
        };
        match class_tree::check_part(class) {
            Ok(()) => Some(class),
            Err((part, message)) => {
                self.err(format!("class.{part}"), message);
                None
            }
        }
    }

    /// `None`: invalid (error recorded); `Some(None)`: absent or class-only; `Some(Some(code))`: a full code.
    fn code(&mut self, input: Option<&str>, class: Option<ClassCode>) -> Option<Option<ResourceCode>> {
        let Some(s) = input.and_then(trimmed) else { return Some(None) };
        let (code_class, full) = if s.contains('/') {
            match s.parse::<ResourceCode>() {
                Ok(r) => (r.class, Some(r)),
                Err(e) => {
                    self.err("code", e.0);
                    return None;
                }
            }
        } else {
            match s.parse::<ClassCode>() {
                Ok(c) => (c, None),
                Err(e) => {
                    self.err("code", e.0);
                    return None;
                }
            }
        };
        if let Some(class) = class
            && class != code_class
        {
            self.err(
                "code",
                format!(
                    "信息资源代码的分类部分 {code_class} 与信息资源分类 {class} 不一致 \
                     (the class part of code does not match class)"
                ),
            );
            return None;
        }
        Some(full)
    }

    fn name(&mut self, input: Option<&str>) -> Option<String> {
        let name = self.required_str("name", input, "信息资源名称")?;
        let n = name.chars().count();
        if n > MAX_NAME_CHARS {
            self.err(
                "name",
                format!("信息资源名称不得超过 {MAX_NAME_CHARS} 个字符 (name must be at most {MAX_NAME_CHARS} characters, got {n})"),
            );
            return None;
        }
        Some(name)
    }

    fn format(&mut self, input: Option<&FormatInput>) -> Option<Format> {
        let Some(f) = input else {
            self.err("format", "缺少信息资源格式 (format is required)");
            return None;
        };
        let category =
            self.enum_field::<FormatCategory>("format.category", f.category.as_deref(), &FORMAT_CATEGORIES, true);
        let kind = self.required_str("format.type", f.kind.as_deref(), "格式类型");
        Some(Format { category: category?, kind: kind? })
    }

    /// The entry's share type; errors on `share` / `share.type`.
    fn share_kind(&mut self, input: Option<&ShareInput>) -> Option<ShareType> {
        let Some(s) = input else {
            self.err("share", "缺少共享属性 (share is required)");
            return None;
        };
        self.enum_field::<ShareType>("share.type", s.kind.as_deref(), &SHARE_TYPES, true)
    }

    fn items(
        &mut self,
        input: Option<&[ItemInput]>,
        class: Option<ClassCode>,
        share: Option<ShareType>,
    ) -> Option<Vec<Item>> {
        let items = match input {
            Some(items) if !items.is_empty() => items,
            _ => {
                self.err("items", "至少需要一个信息项 (at least one item is required)");
                return None;
            }
        };
        let before = self.errors.len();
        let mut out = Vec::with_capacity(items.len());
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let f = |sub: &str| format!("items[{i}].{sub}");
            let name = match item.name.as_deref().and_then(trimmed) {
                None => {
                    self.err(f("name"), "缺少信息项名称 (item name is required)");
                    None
                }
                Some(n) if !seen.insert(n) => {
                    self.err(f("name"), format!("信息项名称“{n}”重复 (duplicate item name)"));
                    None
                }
                Some(n) => Some(n.to_owned()),
            };
            let data_type = self.enum_field::<DataType>(&f("data_type"), item.data_type.as_deref(), &DATA_TYPES, true);
            let length = match item.length {
                None => {
                    self.err(f("length"), "缺少信息项长度 (item length is required)");
                    None
                }
                Some(l) => match u32::try_from(l) {
                    Ok(l) if l >= 1 => Some(l),
                    _ => {
                        self.err(f("length"), format!("信息项长度须至少为 1 (length must be at least 1, got {l})"));
                        None
                    }
                },
            };
            if let (Some(t), Some(l)) = (data_type, length) {
                let rule = length_rule(t);
                if !rule.allows(l) {
                    let t_name = serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_owned));
                    let t_name = t_name.unwrap_or_default();
                    self.err(
                        f("length"),
                        format!(
                            "{t_name} 型信息项的长度须为 {} (length {l} not allowed for data type {t_name})",
                            rule.describe()
                        ),
                    );
                }
            }
            let share_type =
                self.enum_value::<ShareType>(&f("share_type"), item.share_type.as_deref(), &SHARE_TYPES, false);
            let grade = self.enum_field::<Grade>(&f("grade"), item.grade.as_deref(), &GRADES, false);
            let basic = item.basic.unwrap_or(false);
            if basic
                && class.is_some_and(|c| c.lei == 1)
                && let Some(own) = share_type
            {
                let effective = own.or(share);
                if let Some(t) = effective
                    && t != ShareType::Unconditional
                {
                    let why = if own.is_some() { "" } else { "（继承自共享属性）" };
                    self.err(
                        f("share_type"),
                        format!(
                            "基础信息资源的基础信息项必须无条件共享{why} (basic items of basic resources must be \
                             unconditional)"
                        ),
                    );
                }
            }
            if let (Some(name), Some(data_type), Some(length), Some(share_type)) = (name, data_type, length, share_type)
            {
                out.push(Item { name, data_type, length, basic, share_type, grade });
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    fn share(
        &mut self,
        input: Option<&ShareInput>,
        kind: Option<ShareType>,
        items: Option<&[ItemInput]>,
        rules: &RuleSet,
    ) -> Option<Share> {
        let s = input?;
        let condition = s.condition.as_deref().and_then(trimmed).map(str::to_owned);
        let legal_basis = s.legal_basis.as_deref().and_then(trimmed).map(str::to_owned);
        // Items are looked at as sent, so that a not_shared item is noticed even if another item is invalid.
        let item_not_shared = items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.share_type.as_deref().and_then(trimmed).and_then(parse_enum::<ShareType>))
            .any(|t| t == ShareType::NotShared);
        let not_shared = kind == Some(ShareType::NotShared) || item_not_shared;
        // A condition (and, where the rule set says so, a legal basis) is required of a conditional entry; items
        // may narrow an unconditional entry to conditional under the entry's stated condition, if any.
        let conditional = kind == Some(ShareType::Conditional);
        if not_shared && legal_basis.is_none() {
            self.err(
                "share.legal_basis",
                "不予共享须提供法律、行政法规或党中央、国务院政策依据 (not_shared requires a legal basis)",
            );
        } else if conditional && rules.sharing.conditional_requires_legal_basis && legal_basis.is_none() {
            self.err(
                "share.legal_basis",
                format!(
                    "按规则集“{}”，有条件共享须提供依据 (conditional sharing requires a legal basis under this rule set)",
                    rules.name
                ),
            );
        }
        if conditional && condition.is_none() {
            self.err("share.condition", "有条件共享须说明共享条件 (conditional sharing requires a condition)");
        }
        let before = self.errors.len();
        let mut modes = Vec::new();
        for (i, m) in s.modes.as_deref().unwrap_or_default().iter().enumerate() {
            let field = format!("share.modes[{i}]");
            let Some(mode) = self.enum_field::<Mode>(&field, Some(m), &MODES, true) else { continue };
            if modes.contains(&mode) {
                self.err(field, format!("共享方式“{}”重复 (duplicate mode)", m.trim()));
            } else {
                modes.push(mode);
            }
        }
        if modes.is_empty() && self.errors.len() == before && kind.is_some_and(|k| k != ShareType::NotShared) {
            self.err("share.modes", "至少需要一种共享方式 (at least one sharing mode is required)");
        }
        Some(Share { kind: kind?, condition, legal_basis, modes })
    }

    fn open(&mut self, input: Option<&OpenInput>) -> Option<Open> {
        let Some(open) = input.and_then(|o| o.open) else {
            self.err("open.open", "须说明是否向社会开放 (open.open is required)");
            return None;
        };
        let condition = input.and_then(|o| o.condition.as_deref()).and_then(trimmed).map(str::to_owned);
        Some(Open { open, condition })
    }

    fn related(&mut self, input: Option<&[String]>, own: Option<Option<ResourceCode>>) -> Option<Vec<ResourceCode>> {
        let before = self.errors.len();
        let mut out: Vec<ResourceCode> = Vec::new();
        for (i, s) in input.unwrap_or_default().iter().enumerate() {
            let field = format!("related[{i}]");
            match s.trim().parse::<ResourceCode>() {
                Err(e) => self.err(field, e.0),
                Ok(r) if own.flatten() == Some(r) => {
                    self.err(field, "关联资源不能是本资源 (an entry cannot be related to itself)")
                }
                Ok(r) if out.contains(&r) => self.err(field, format!("关联资源 {r} 重复 (duplicate related code)")),
                Ok(r) => out.push(r),
            }
        }
        (self.errors.len() == before).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Provider, Status};
    use serde_json::json;

    fn base() -> Value {
        json!({
            "code": "101001/000123",
            "class": {"lei": 1, "xiang": 1, "mu": 1, "ximu": null},
            "name": "  居民户籍信息 ",
            "provider": {"id": "p1", "name": "某省公安厅", "credit_code": "91110000600037341L", "unit": " 户政处 "},
            "summary": "全省常住人口户籍登记信息",
            "format": {"category": "数据库", "type": "PostgreSQL"},
            "items": [
                {"name": "公民身份号码", "data_type": "C", "length": 18, "basic": true, "share_type": null, "grade": "重要"},
                {"name": "姓名", "data_type": "C", "length": 50, "basic": true},
                {"name": "出生日期", "data_type": "D", "length": 8, "basic": false, "share_type": "conditional"}
            ],
            "share": {"type": "unconditional", "condition": null, "legal_basis": null, "modes": ["query", "verify"]},
            "open": {"open": false, "condition": null},
            "update_cycle": "daily",
            "published_on": null,
            "related": ["101002/000001"],
            "secret": false,
            "grade": "重要",
            "status": "draft",
            "version": 1
        })
    }

    fn input(v: Value) -> EntryInput {
        serde_json::from_value(v).unwrap()
    }

    fn run(v: Value) -> Result<EntrySpec, Vec<FieldError>> {
        validate_entry(&input(v), &RuleSet::national_2025())
    }

    /// Applies `edit` to the base entry and returns the fields with errors.
    fn fields_after(edit: impl FnOnce(&mut Value)) -> Vec<String> {
        let mut v = base();
        edit(&mut v);
        match run(v) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.field).collect(),
        }
    }

    fn assert_only(edit: impl FnOnce(&mut Value), fields: &[&str]) {
        assert_eq!(fields_after(edit), fields);
    }

    fn assert_ok(edit: impl FnOnce(&mut Value)) {
        assert_only(edit, &[]);
    }

    #[test]
    fn valid_entry() {
        let spec = run(base()).unwrap();
        assert_eq!(spec.class, ClassCode::new(1, 1, 1, None).unwrap());
        assert_eq!(spec.code, Some("101001/000123".parse().unwrap()));
        assert_eq!(spec.name, "居民户籍信息");
        assert_eq!(spec.unit.as_deref(), Some("户政处"));
        assert_eq!(spec.format, Format { category: FormatCategory::Database, kind: "PostgreSQL".into() });
        assert_eq!(spec.items.len(), 3);
        assert_eq!(spec.items[0].grade, Some(Grade::Important));
        assert_eq!(spec.items[2].share_type, Some(ShareType::Conditional));
        assert!(!spec.items[2].basic);
        assert_eq!(spec.share.modes, vec![Mode::Query, Mode::Verify]);
        assert_eq!(spec.update_cycle, UpdateCycle::Daily);
        assert_eq!(spec.related, vec!["101002/000001".parse().unwrap()]);
        assert_eq!(spec.grade, Some(Grade::Important));
    }

    #[test]
    fn round_trip_through_entry() {
        let spec = run(base()).unwrap();
        let code = spec.code.unwrap();
        let provider =
            Provider { id: "p1".into(), name: "x".into(), credit_code: "91110000600037341L".into(), unit: None };
        let entry = spec.clone().into_entry(code, provider, Status::Published, 2);
        let again = validate_entry(&EntryInput::from(&entry), &RuleSet::national_2025()).unwrap();
        assert_eq!(EntrySpec { unit: spec.unit.clone(), ..again }, spec);
    }

    #[test]
    fn unit_is_optional() {
        let mut v = base();
        v["provider"] = json!({"unit": 3});
        assert_eq!(run(v).unwrap().unit, None);
        let mut v = base();
        v["provider"] = json!(null);
        assert_eq!(run(v).unwrap().unit, None);
        let mut v = base();
        v["provider"] = json!({"unit": "  "});
        assert_eq!(run(v).unwrap().unit, None);
    }

    #[test]
    fn enum_lists_match_the_types() {
        for s in SHARE_TYPES {
            assert!(parse_enum::<ShareType>(s).is_some(), "{s}");
        }
        for s in MODES {
            assert!(parse_enum::<Mode>(s).is_some(), "{s}");
        }
        for s in UPDATE_CYCLES {
            assert!(parse_enum::<UpdateCycle>(s).is_some(), "{s}");
        }
        for s in DATA_TYPES {
            assert!(parse_enum::<DataType>(s).is_some(), "{s}");
        }
        for s in GRADES {
            assert!(parse_enum::<Grade>(s).is_some(), "{s}");
        }
        for s in FORMAT_CATEGORIES {
            assert!(parse_enum::<FormatCategory>(s).is_some(), "{s}");
        }
        assert!(parse_enum::<ShareType>("Unconditional").is_none());
        assert!(parse_enum::<DataType>("c").is_none());
    }

    #[test]
    fn class_rules() {
        assert_only(|v| v["class"] = Value::Null, &["class"]);
        assert_only(|v| v["class"] = json!({}), &["class.lei", "class.xiang", "class.mu"]);
        assert_only(|v| v["class"]["lei"] = Value::Null, &["class.lei"]);
        assert_only(|v| v["class"]["lei"] = json!(4), &["class.lei"]);
        assert_only(|v| v["class"]["lei"] = json!(0), &["class.lei"]);
        assert_only(|v| v["class"]["xiang"] = json!(6), &["class.xiang"]);
        assert_only(|v| v["class"]["xiang"] = json!(0), &["class.xiang"]);
        assert_only(|v| v["class"]["mu"] = json!(0), &["class.mu"]);
        assert_only(|v| v["class"]["mu"] = json!(1000), &["class.mu"]);
        assert_only(|v| v["class"]["mu"] = Value::Null, &["class.mu"]);
        assert_only(|v| v["class"]["ximu"] = json!(0), &["class.ximu"]);
        assert_only(|v| v["class"]["xiang"] = json!(300), &["class.xiang"]);
        let themed = |xiang: i64| {
            move |v: &mut Value| {
                v["class"] = json!({"lei": 2, "xiang": xiang, "mu": 1});
                v["code"] = Value::Null;
            }
        };
        assert_ok(themed(12));
        assert_only(themed(13), &["class.xiang"]);
        let departmental = |xiang: i64| {
            move |v: &mut Value| {
                v["class"] = json!({"lei": 3, "xiang": xiang, "mu": 999, "ximu": 999});
                v["code"] = json!(format!("3{xiang:02}999999"));
            }
        };
        assert_ok(departmental(99));
        assert_ok(departmental(1));
    }

    #[test]
    fn code_rules() {
        let mut v = base();
        v["code"] = json!(" 101001 ");
        assert_eq!(run(v).unwrap().code, None);
        let mut v = base();
        v["code"] = json!("");
        assert_eq!(run(v).unwrap().code, None);
        assert_ok(|v| v["code"] = Value::Null);
        assert_only(|v| v["code"] = json!("101002/000123"), &["code"]);
        assert_only(|v| v["code"] = json!("101002"), &["code"]);
        // The class part must agree with 细目 too.
        assert_only(|v| v["code"] = json!("101001001/000001"), &["code"]);
        assert_only(|v| v["code"] = json!("101001/000000"), &["code"]);
        assert_only(|v| v["code"] = json!("101001/123"), &["code"]);
        assert_only(|v| v["code"] = json!("abc"), &["code"]);
        let e = run({
            let mut v = base();
            v["code"] = json!("101002/000123");
            v
        })
        .unwrap_err();
        assert!(e[0].message.contains("101002") && e[0].message.contains("101001"), "{e:?}");
    }

    #[test]
    fn name_rules() {
        assert_only(|v| v["name"] = Value::Null, &["name"]);
        assert_only(|v| v["name"] = json!("   "), &["name"]);
        assert_ok(|v| v["name"] = json!("信".repeat(100)));
        assert_ok(|v| v["name"] = json!(format!("  {}  ", "信".repeat(100))));
        assert_only(|v| v["name"] = json!("信".repeat(101)), &["name"]);
        assert_ok(|v| v["name"] = json!("a".repeat(100)));
        assert_only(|v| v["name"] = json!("a".repeat(101)), &["name"]);
    }

    #[test]
    fn summary_and_format_rules() {
        assert_only(|v| v["summary"] = Value::Null, &["summary"]);
        assert_only(|v| v["summary"] = json!(" "), &["summary"]);
        assert_only(|v| v["format"] = Value::Null, &["format"]);
        assert_only(|v| v["format"]["category"] = json!("Excel"), &["format.category"]);
        assert_only(|v| v["format"]["category"] = Value::Null, &["format.category"]);
        assert_only(|v| v["format"]["type"] = json!(""), &["format.type"]);
        assert_only(|v| v["format"] = json!({}), &["format.category", "format.type"]);
        for c in FORMAT_CATEGORIES {
            assert_ok(|v| v["format"]["category"] = json!(c));
        }
    }

    #[test]
    fn item_rules() {
        assert_only(|v| v["items"] = Value::Null, &["items"]);
        assert_only(|v| v["items"] = json!([]), &["items"]);
        assert_only(|v| v["items"][1]["name"] = json!(" "), &["items[1].name"]);
        assert_only(|v| v["items"][2]["name"] = json!(" 公民身份号码 "), &["items[2].name"]);
        assert_only(|v| v["items"][0]["data_type"] = json!("X"), &["items[0].data_type"]);
        assert_only(|v| v["items"][0]["data_type"] = Value::Null, &["items[0].data_type"]);
        assert_only(|v| v["items"][0]["length"] = Value::Null, &["items[0].length"]);
        assert_only(|v| v["items"][0]["length"] = json!(0), &["items[0].length"]);
        assert_only(|v| v["items"][0]["length"] = json!(-5), &["items[0].length"]);
        assert_only(|v| v["items"][0]["length"] = json!(i64::MAX), &["items[0].length"]);
        assert_only(|v| v["items"][2]["share_type"] = json!("sometimes"), &["items[2].share_type"]);
        assert_only(|v| v["items"][0]["grade"] = json!("机密"), &["items[0].grade"]);
        assert_ok(|v| v["items"][2]["grade"] = json!(" "));
        assert_ok(|v| v["items"][2]["basic"] = Value::Null);
    }

    #[test]
    fn duplicate_item_names_error_on_the_later_one() {
        let e = run({
            let mut v = base();
            v["items"][2]["name"] = json!("姓名");
            v
        })
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "items[2].name");
        assert!(e[0].message.contains("姓名"));
    }

    #[test]
    fn length_rules_per_type() {
        let cases: &[(&str, &[i64], &[i64])] = &[
            ("C", &[1, 18, 4000], &[4001]),
            ("M", &[1, 65_535, 2_147_483_647], &[2_147_483_648]),
            ("G", &[1, 1_000_000], &[2_147_483_648]),
            ("N", &[1, 38], &[39]),
            ("Y", &[1, 38], &[39]),
            ("B", &[1, 38], &[39]),
            ("F", &[1, 38], &[39]),
            ("I", &[1, 20], &[21]),
            ("D", &[8, 10], &[1, 7, 9, 11]),
            ("T", &[14, 19], &[8, 13, 15, 20]),
            ("L", &[1], &[2]),
        ];
        for (t, good, bad) in cases {
            for l in *good {
                assert_eq!(
                    fields_after(|v| v["items"][2] = json!({"name": "x", "data_type": t, "length": l})),
                    Vec::<String>::new(),
                    "{t}({l}) should be allowed"
                );
            }
            for l in *bad {
                assert_eq!(
                    fields_after(|v| v["items"][2] = json!({"name": "x", "data_type": t, "length": l})),
                    vec!["items[2].length".to_owned()],
                    "{t}({l}) should be refused"
                );
            }
        }
    }

    #[test]
    fn basic_items_of_basic_resources_are_unconditional() {
        let conditional_entry = |v: &mut Value| {
            v["share"]["type"] = json!("conditional");
            v["share"]["condition"] = json!("仅限履职需要");
        };
        // Inherits the entry's conditional share type: both basic items are wrong.
        assert_only(conditional_entry, &["items[0].share_type", "items[1].share_type"]);
        // An explicit unconditional share type on the basic items fixes it.
        assert_ok(|v| {
            conditional_entry(v);
            v["items"][0]["share_type"] = json!("unconditional");
            v["items"][1]["share_type"] = json!("unconditional");
        });
        // An explicit conditional share type on a basic item of an unconditional entry is wrong too.
        assert_only(|v| v["items"][1]["share_type"] = json!("conditional"), &["items[1].share_type"]);
        // Non-basic items may be conditional (items[2] in the base entry).
        assert_ok(|v| v["items"][2]["basic"] = json!(false));
        // Basic items of other classes may be conditional.
        assert_ok(|v| {
            conditional_entry(v);
            v["class"]["lei"] = json!(3);
            v["code"] = json!("301001");
            v["related"] = json!([]);
        });
        // not_shared on a basic item (with a legal basis) is still not unconditional.
        assert_only(
            |v| {
                v["items"][0]["share_type"] = json!("not_shared");
                v["share"]["legal_basis"] = json!("《中华人民共和国居民身份证法》");
            },
            &["items[0].share_type"],
        );
    }

    #[test]
    fn not_shared_needs_legal_basis() {
        let not_shared = |v: &mut Value| {
            v["class"]["lei"] = json!(3);
            v["code"] = Value::Null;
            v["share"] = json!({"type": "not_shared", "modes": []});
        };
        assert_only(not_shared, &["share.legal_basis"]);
        assert_only(
            |v| {
                not_shared(v);
                v["share"]["legal_basis"] = json!("  ");
            },
            &["share.legal_basis"],
        );
        // With a basis it is fine, and needs no modes.
        assert_ok(|v| {
            not_shared(v);
            v["share"]["legal_basis"] = json!("《中华人民共和国保守国家秘密法》");
        });
        // not_shared on one item also needs the basis.
        assert_only(|v| v["items"][2]["share_type"] = json!("not_shared"), &["share.legal_basis"]);
        assert_ok(|v| {
            v["items"][2]["share_type"] = json!("not_shared");
            v["share"]["legal_basis"] = json!("某法第十条");
        });
    }

    #[test]
    fn conditional_needs_condition_and_maybe_basis() {
        let conditional = |v: &mut Value| {
            v["class"]["lei"] = json!(2);
            v["code"] = Value::Null;
            v["share"]["type"] = json!("conditional");
        };
        assert_only(conditional, &["share.condition"]);
        assert_only(
            |v| {
                conditional(v);
                v["share"]["condition"] = json!(" ");
            },
            &["share.condition"],
        );
        let with_condition = |v: &mut Value| {
            conditional(v);
            v["share"]["condition"] = json!("仅用于社保资格认证");
        };
        assert_ok(with_condition);
        // Only the entry's share type asks for a condition: the base entry is unconditional with a conditional
        // (non-basic) item and no condition.
        assert!(run(base()).is_ok());
    }

    #[test]
    fn conditional_legal_basis_follows_the_rule_set() {
        let mut rules = RuleSet::national_2025();
        rules.sharing.conditional_requires_legal_basis = true;
        let mut v = base();
        v["class"]["lei"] = json!(2);
        v["code"] = Value::Null;
        v["share"]["type"] = json!("conditional");
        v["share"]["condition"] = json!("仅用于社保资格认证");
        assert!(validate_entry(&input(v.clone()), &RuleSet::national_2025()).is_ok());
        let e = validate_entry(&input(v.clone()), &rules).unwrap_err();
        assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["share.legal_basis"]);
        v["share"]["legal_basis"] = json!("《社会保险法》");
        assert!(validate_entry(&input(v), &rules).is_ok());
    }

    #[test]
    fn mode_rules() {
        assert_only(|v| v["share"]["modes"] = json!([]), &["share.modes"]);
        assert_only(|v| v["share"]["modes"] = Value::Null, &["share.modes"]);
        assert_only(|v| v["share"]["modes"] = json!(["query", "query"]), &["share.modes[1]"]);
        assert_only(|v| v["share"]["modes"] = json!(["query", " query "]), &["share.modes[1]"]);
        assert_only(|v| v["share"]["modes"] = json!(["email", "query"]), &["share.modes[0]"]);
        assert_only(|v| v["share"]["modes"] = json!(["email"]), &["share.modes[0]"]);
        assert_ok(|v| v["share"]["modes"] = json!(MODES));
        assert_only(|v| v["share"] = Value::Null, &["share"]);
        assert_only(|v| v["share"]["type"] = json!("maybe"), &["share.type"]);
        assert_only(|v| v["share"]["type"] = Value::Null, &["share.type"]);
    }

    #[test]
    fn open_cycle_grade_secret_rules() {
        assert_only(|v| v["open"] = Value::Null, &["open.open"]);
        assert_only(|v| v["open"]["open"] = Value::Null, &["open.open"]);
        assert_ok(|v| v["open"] = json!({"open": true, "condition": "脱敏后开放"}));
        assert_only(|v| v["update_cycle"] = Value::Null, &["update_cycle"]);
        assert_only(|v| v["update_cycle"] = json!("hourly"), &["update_cycle"]);
        assert_only(|v| v["update_cycle"] = json!("half-yearly"), &["update_cycle"]);
        for c in UPDATE_CYCLES {
            assert_ok(|v| v["update_cycle"] = json!(c));
        }
        assert_only(|v| v["grade"] = json!("secret"), &["grade"]);
        assert_ok(|v| v["grade"] = Value::Null);
        assert_only(|v| v["secret"] = json!(true), &["secret"]);
        assert_ok(|v| v["secret"] = Value::Null);
        let e = run({
            let mut v = base();
            v["secret"] = json!(true);
            v
        })
        .unwrap_err();
        assert_eq!(e[0].message, "涉密信息资源不得在共享平台登记 (secret data cannot be registered)");
    }

    #[test]
    fn related_rules() {
        assert_only(|v| v["related"] = json!(["nonsense"]), &["related[0]"]);
        assert_only(|v| v["related"] = json!(["101002/000001", "101001/000123"]), &["related[1]"]);
        assert_only(|v| v["related"] = json!(["101002/000001", " 101002/000001"]), &["related[1]"]);
        assert_ok(|v| v["related"] = Value::Null);
        // A class-only code has no sequence number yet, so nothing can equal it.
        assert_ok(|v| {
            v["code"] = json!("101001");
            v["related"] = json!(["101001/000123"]);
        });
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let v = json!({
            "code": "102001/000001",
            "class": {"lei": 1, "xiang": 1, "mu": 1},
            "name": "名".repeat(101),
            "summary": "",
            "format": {"category": "纸质", "type": " "},
            "items": [
                {"name": "甲", "data_type": "C", "length": 0, "basic": true},
                {"name": "甲", "data_type": "Z", "length": 5, "grade": "绝密"},
                {"name": "乙", "data_type": "D", "length": 9, "share_type": "not_shared"}
            ],
            "share": {"type": "conditional", "modes": ["query", "ftp", "query"]},
            "open": {},
            "update_cycle": "sometimes",
            "related": ["x", "101001/000002", "101001/000002"],
            "secret": true,
            "grade": "极高"
        });
        let mut fields: Vec<String> = run(v).unwrap_err().into_iter().map(|e| e.field).collect();
        fields.sort();
        let mut expected = vec![
            "code",
            "name",
            "summary",
            "format.category",
            "format.type",
            "items[0].length",
            "items[0].share_type",
            "items[1].name",
            "items[1].data_type",
            "items[1].grade",
            "items[2].length",
            "share.legal_basis",
            "share.condition",
            "share.modes[1]",
            "share.modes[2]",
            "open.open",
            "update_cycle",
            "related[0]",
            "related[2]",
            "secret",
            "grade",
        ];
        expected.sort();
        assert_eq!(fields, expected);
    }

    #[test]
    fn messages_are_bilingual() {
        let v = json!({});
        let errors = run(v).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["class", "name", "summary", "format", "share", "items", "open.open", "update_cycle"]);
        for e in &errors {
            assert!(e.message.contains('(') && e.message.chars().any(|c| c > '\u{2e80}'), "{e:?}");
        }
    }
}
