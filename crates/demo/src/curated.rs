//! Reading the curated resource lists in `data/` (embedded at build time).
//!
//! Format, one resource per line, fields separated by `|`:
//!
//! ```text
//! [hb-gat]                       ← a department's own catalog (类 3)
//! 名称 | 内容 | 用途 | 信息项、信息项*、… | 标记 …
//! [1 01 人口]                    ← a basic (1) or thematic (2) 项: lines start with the provider's key
//! hb-gat | 名称 | 内容 | 用途 | 信息项、… | 标记 …
//! ```
//!
//! `内容` and `用途` become the summary (本资源记录{内容}，包括…，用于{用途}。); `*` marks a basic item (基础信息项).
//! Marks: the format (`db xlsx api pdf ofd geo img video json xml`), the update cycle (`rt d w m q h y ir`), the
//! share type (`u` unconditional, `c` conditional, `n:KEY` not shared with the legal basis KEY of
//! [`LEGAL_BASES`]), `open` (open to the public), `city` (city and county bureaus keep the same resource for
//! their region), and a grade (`一般 重要 核心`) when it differs from the grade of the items.

/// The curated files, by sector.
const FILES: &[(&str, &str)] = &[
    ("basic.txt", include_str!("../data/basic.txt")),
    ("themes.txt", include_str!("../data/themes.txt")),
    ("public_security_market.txt", include_str!("../data/public_security_market.txt")),
    ("social.txt", include_str!("../data/social.txt")),
    ("land_environment.txt", include_str!("../data/land_environment.txt")),
    ("economy.txt", include_str!("../data/economy.txt")),
    ("services.txt", include_str!("../data/services.txt")),
];

/// Legal bases for `not_shared` resources (law, administrative regulation), by key.
pub(crate) const LEGAL_BASES: &[(&str, &str)] = &[
    (
        "pi",
        "《中华人民共和国个人信息保护法》第二十八条、第三十四条：处理敏感个人信息应当具有特定的目的和充分的必要性，国家机关处理个人信息不得超出履行法定职责所必需的范围和限度",
    ),
    (
        "stat",
        "《中华人民共和国统计法》第二十五条：统计调查中获得的能够识别或者推断单个统计调查对象身份的资料，任何单位和个人不得对外提供、泄露，不得用于统计以外的目的",
    ),
    ("tax", "《中华人民共和国税收征收管理法》第八条：税务机关应当依法为纳税人、扣缴义务人的情况保密"),
    (
        "med",
        "《中华人民共和国基本医疗卫生与健康促进法》第九十二条：国家保护公民个人健康信息，确保公民个人健康信息安全，任何组织或者个人不得非法收集、使用、加工、传输公民个人健康信息",
    ),
    (
        "minor",
        "《中华人民共和国未成年人保护法》第七十二条：信息处理者通过网络处理未成年人个人信息的，应当遵循合法、正当和必要的原则",
    ),
    (
        "audit",
        "《中华人民共和国审计法》第十六条：审计机关和审计人员对在执行职务中知悉的国家秘密、工作秘密、商业秘密、个人隐私和个人信息，应当予以保密，不得泄露或者向他人非法提供",
    ),
    (
        "correction",
        "《中华人民共和国社区矫正法》第四条：社区矫正工作相关部门、组织和个人对履行职责过程中获得的社区矫正对象的身份信息和个人隐私等应当保密",
    ),
    (
        "adoption",
        "《中华人民共和国民法典》第一千一百一十条：收养人、送养人要求保守收养秘密的，其他人应当尊重其意愿，不得泄露",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fmt {
    Db,
    Xlsx,
    Api,
    Pdf,
    Ofd,
    Geo,
    Img,
    Video,
    Json,
    Xml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Share {
    Unconditional,
    Conditional,
    NotShared(&'static str),
}

/// One curated resource.
#[derive(Debug, Clone)]
pub(crate) struct Res {
    pub name: &'static str,
    pub content: &'static str,
    pub purpose: &'static str,
    /// Item name and whether it is a basic item.
    pub items: Vec<(&'static str, bool)>,
    pub fmt: Fmt,
    pub cycle: &'static str,
    pub share: Share,
    pub open: bool,
    pub city: bool,
    pub grade: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// A 项 of the basic (1) or thematic (2) catalog.
    Class { lei: u8, xiang: u8 },
    /// A department's own catalog, by key.
    Dept(&'static str),
}

#[derive(Debug, Default)]
pub(crate) struct Curated {
    /// Sections in file order; for class sections each resource carries its provider's key.
    pub sections: Vec<(Section, Vec<(&'static str, Res)>)>,
    pub problems: Vec<String>,
}

pub(crate) fn load() -> Curated {
    let mut out = Curated::default();
    for (file, text) in FILES {
        parse(file, text, &mut out);
    }
    out
}

fn parse(file: &str, text: &'static str, out: &mut Curated) {
    let mut current: Option<Section> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = format!("{file}:{}", n + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = parse_header(header);
            match current {
                Some(s) => out.sections.push((s, Vec::new())),
                None => out.problems.push(format!("{at}: bad section header `{line}`")),
            }
            continue;
        }
        let fields: Vec<&'static str> = line.split('|').map(str::trim).collect();
        let (provider, rest) = match current {
            Some(Section::Class { .. }) => match fields.split_first() {
                Some((p, rest)) => (*p, rest),
                None => continue,
            },
            Some(Section::Dept(key)) => (key, fields.as_slice()),
            None => {
                out.problems.push(format!("{at}: resource outside a section"));
                continue;
            }
        };
        match parse_resource(rest) {
            Ok(res) => {
                if let Some((_, list)) = out.sections.last_mut() {
                    list.push((provider, res));
                }
            }
            Err(e) => out.problems.push(format!("{at}: {e}")),
        }
    }
}

fn parse_header(header: &'static str) -> Option<Section> {
    let mut parts = header.split_whitespace();
    let first = parts.next()?;
    if let Ok(lei) = first.parse::<u8>() {
        let xiang = parts.next()?.parse::<u8>().ok()?;
        return Some(Section::Class { lei, xiang });
    }
    Some(Section::Dept(first))
}

fn parse_resource(fields: &[&'static str]) -> Result<Res, String> {
    let &[name, content, purpose, items, marks] = fields else {
        return Err(format!("expected 5 fields after the provider, found {}", fields.len()));
    };
    let items: Vec<(&'static str, bool)> = items
        .split('、')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| match i.strip_suffix('*') {
            Some(base) => (base, true),
            None => (i, false),
        })
        .collect();
    let mut res = Res {
        name,
        content,
        purpose,
        items,
        fmt: Fmt::Db,
        cycle: "",
        share: Share::Conditional,
        open: false,
        city: false,
        grade: None,
    };
    let mut have_fmt = false;
    let mut have_share = false;
    for mark in marks.split_whitespace() {
        let fmt = match mark {
            "db" => Some(Fmt::Db),
            "xlsx" => Some(Fmt::Xlsx),
            "api" => Some(Fmt::Api),
            "pdf" => Some(Fmt::Pdf),
            "ofd" => Some(Fmt::Ofd),
            "geo" => Some(Fmt::Geo),
            "img" => Some(Fmt::Img),
            "video" => Some(Fmt::Video),
            "json" => Some(Fmt::Json),
            "xml" => Some(Fmt::Xml),
            _ => None,
        };
        let cycle = match mark {
            "rt" => "realtime",
            "d" => "daily",
            "w" => "weekly",
            "m" => "monthly",
            "q" => "quarterly",
            "h" => "half_yearly",
            "y" => "yearly",
            "ir" => "irregular",
            _ => "",
        };
        if let Some(f) = fmt {
            res.fmt = f;
            have_fmt = true;
        } else if !cycle.is_empty() {
            res.cycle = cycle;
        } else if mark == "u" || mark == "c" {
            res.share = if mark == "u" { Share::Unconditional } else { Share::Conditional };
            have_share = true;
        } else if let Some(key) = mark.strip_prefix("n:") {
            let basis = LEGAL_BASES.iter().find(|(k, _)| *k == key).ok_or(format!("unknown legal basis `{key}`"))?;
            res.share = Share::NotShared(basis.1);
            have_share = true;
        } else if mark == "open" {
            res.open = true;
        } else if mark == "city" {
            res.city = true;
        } else if matches!(mark, "一般" | "重要" | "核心") {
            res.grade = Some(mark);
        } else {
            return Err(format!("unknown mark `{mark}`"));
        }
    }
    if !have_fmt || !have_share || res.cycle.is_empty() {
        return Err(format!("`{name}`: a format, a share type and an update cycle are required"));
    }
    if res.items.len() < 4 || res.items.len() > 15 {
        return Err(format!("`{name}`: {} items, expected 4 to 15", res.items.len()));
    }
    Ok(res)
}
