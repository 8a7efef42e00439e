//! Cell values ↔ API values. Parsing accepts the Chinese texts of the template and the API values; texts it
//! does not know pass through unchanged (validation then reports them at their row and column).

use shuqiao_domain::entry::{Grade, Mode, ShareType, UpdateCycle};

pub(crate) fn share_type(s: &str) -> String {
    match s {
        "无条件共享" | "无条件" => "unconditional".into(),
        "有条件共享" | "有条件" => "conditional".into(),
        "不予共享" | "不共享" => "not_shared".into(),
        other => known_lower(other, &["unconditional", "conditional", "not_shared"]),
    }
}

pub(crate) fn share_type_label(t: ShareType) -> &'static str {
    match t {
        ShareType::Unconditional => "无条件共享",
        ShareType::Conditional => "有条件共享",
        ShareType::NotShared => "不予共享",
    }
}

pub(crate) fn update_cycle(s: &str) -> String {
    match s {
        "实时" => "realtime".into(),
        "每日" | "每天" | "日" => "daily".into(),
        "每周" | "周" => "weekly".into(),
        "每月" | "月" => "monthly".into(),
        "每季度" | "每季" | "季度" => "quarterly".into(),
        "每半年" | "半年" | "half-yearly" => "half_yearly".into(),
        "每年" | "年" | "年度" => "yearly".into(),
        "不定期" => "irregular".into(),
        other => known_lower(
            other,
            &["realtime", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly", "irregular"],
        ),
    }
}

pub(crate) fn update_cycle_label(c: UpdateCycle) -> &'static str {
    match c {
        UpdateCycle::Realtime => "实时",
        UpdateCycle::Daily => "每日",
        UpdateCycle::Weekly => "每周",
        UpdateCycle::Monthly => "每月",
        UpdateCycle::Quarterly => "每季度",
        UpdateCycle::HalfYearly => "每半年",
        UpdateCycle::Yearly => "每年",
        UpdateCycle::Irregular => "不定期",
    }
}

pub(crate) fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Query => "query",
        Mode::Verify => "verify",
        Mode::Sync => "sync",
        Mode::File => "file",
        Mode::Api => "api",
    }
}

/// 共享方式类型 of a mode: 库表 (sync), 接口 (query, verify, api), 文件 (file).
pub(crate) fn mode_kind_label(m: Mode) -> &'static str {
    match m {
        Mode::Sync => "库表",
        Mode::Query | Mode::Verify | Mode::Api => "接口",
        Mode::File => "文件",
    }
}

/// Splits a modes cell (`库表、接口`, `query,verify`) into API mode names, in order, without duplicates.
pub(crate) fn modes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in split_list(s) {
        let names: Vec<String> = match part {
            "库表" | "库表交换" | "数据库" | "同步" => vec!["sync".into()],
            "接口" | "服务接口" => vec!["query".into(), "verify".into()],
            "文件" | "文件下载" => vec!["file".into()],
            "查询" => vec!["query".into()],
            "核验" | "验证" => vec!["verify".into()],
            other => vec![known_lower(other, &["query", "verify", "sync", "file", "api"])],
        };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Splits a list cell on `;`, `；`, `,`, `，`, `、` and line breaks; empty parts are dropped.
pub(crate) fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', '；', ',', '，', '、', '\n', '\r']).map(str::trim).filter(|p| !p.is_empty())
}

pub(crate) fn yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "是" | "y" | "yes" | "true" | "1" | "√" => Some(true),
        "否" | "n" | "no" | "false" | "0" | "×" => Some(false),
        _ => None,
    }
}

pub(crate) fn yes_no_label(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}

pub(crate) fn secret(s: &str) -> Option<bool> {
    match s {
        "非涉密" | "不涉密" => Some(false),
        "涉密" => Some(true),
        other => yes_no(other),
    }
}

pub(crate) fn secret_label(b: bool) -> &'static str {
    if b { "涉密" } else { "非涉密" }
}

const DATA_TYPES: [(&str, &str); 11] = [
    ("C", "字符型"),
    ("N", "数值型"),
    ("Y", "货币型"),
    ("D", "日期型"),
    ("T", "日期时间型"),
    ("L", "逻辑型"),
    ("M", "备注型"),
    ("G", "通用型"),
    ("B", "双精度型"),
    ("I", "整型"),
    ("F", "浮点型"),
];

/// `C`, `c`, `C 字符型`, `C字符型` or `字符型` → `C`.
pub(crate) fn data_type(s: &str) -> String {
    for (letter, name) in DATA_TYPES {
        let rest = s.strip_prefix(letter).or_else(|| s.strip_prefix(&letter.to_ascii_lowercase()));
        if let Some(rest) = rest {
            let rest = rest.trim_start_matches([' ', '-', '：', ':', '（', '(']).trim_end_matches(['）', ')']);
            if rest.is_empty() || rest == name {
                return letter.into();
            }
        }
        if s == name {
            return letter.into();
        }
    }
    s.into()
}

pub(crate) fn grade(s: &str) -> String {
    match s {
        "一般" | "一般数据" | "general" => "一般".into(),
        "重要" | "重要数据" | "important" => "重要".into(),
        "核心" | "核心数据" | "core" => "核心".into(),
        other => other.into(),
    }
}

pub(crate) fn grade_label(g: Grade) -> &'static str {
    match g {
        Grade::General => "一般",
        Grade::Important => "重要",
        Grade::Core => "核心",
    }
}

/// An integer cell: `18`, `18.0`, `01`; for 类 also `1 基础` and `基础` / `主题` / `部门`.
pub(crate) fn integer(s: &str, lei: bool) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(f) = s.parse::<f64>()
        && f.fract() == 0.0
        && f.abs() < 1e15
    {
        #[allow(clippy::cast_possible_truncation)]
        return Some(f as i64);
    }
    if lei {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<i64>() {
            return Some(n);
        }
        return match s.trim_end_matches('类') {
            "基础" => Some(1),
            "主题" => Some(2),
            "部门" => Some(3),
            _ => None,
        };
    }
    None
}

/// The API value in lower case if `s` is one in any case (`Daily`), else `s` unchanged.
fn known_lower(s: &str, known: &[&str]) -> String {
    let lower = s.to_ascii_lowercase();
    if known.contains(&lower.as_str()) { lower } else { s.to_owned() }
}
