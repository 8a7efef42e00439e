//! Builds the demo catalog from the curated lists: basic (类 1) and thematic (类 2) resources as listed, each
//! department's own catalog (类 3, 项 = the department's position), and the city-level copies that city and
//! county bureaus keep of their provincial counterpart's resources. Then a seeded draw leaves some departmental
//! entries as drafts, submitted, returned or retired, as a live platform would show them.

use std::collections::BTreeMap;

use shuqiao_domain::entry::{ClassInput, EntryInput, FormatInput, ItemInput, OpenInput, ShareInput};

use crate::curated::{self, Fmt, Res, Section, Share};
use crate::items::item_spec;
use crate::org::{self, DEPARTMENTS, Dept};
use crate::{DemoEntry, DemoState};

/// Comments of the sharing authority on returned entries, each with what an entry must have for it to apply
/// (an item name, or `share:` and a share type).
const RETURN_COMMENTS: &[(&str, Option<&str>)] = &[
    ("请补充共享条件的法律依据，并说明申请部门需提供的材料", Some("share:conditional")),
    ("信息项“联系电话”涉及个人信息，请设为有条件共享并注明脱敏要求", Some("联系电话")),
    ("摘要未说明数据覆盖范围和主要用途，请补充后重新提交", None),
    ("更新周期与挂接数据的实际更新频率不一致，请核实", None),
    ("请按“一数一源”原则核对“统一社会信用代码”的权威来源部门", Some("统一社会信用代码")),
    ("信息资源格式类型应填写实际使用的数据库类型", Some("format:数据库")),
    ("部分信息项长度与国家标准不一致，请对照数据元标准修改", None),
    ("“公民身份号码”属敏感个人信息，请补充共享范围和最小必要说明", Some("公民身份号码")),
];

/// Database products in use at Hebei departments; each department keeps one.
const DATABASES: &[&str] = &["PostgreSQL", "达梦", "KingbaseES", "MySQL", "Oracle", "GaussDB"];

/// Generated entries and the problems found in the curated data (empty when the data is sound).
pub(crate) struct Generated {
    pub entries: Vec<DemoEntry>,
    pub problems: Vec<String>,
}

struct Builder {
    entries: Vec<DemoEntry>,
    /// For each entry, the entry it is the city-level copy of.
    origin: Vec<Option<usize>>,
    seq: BTreeMap<(u8, u8, u16), u32>,
    problems: Vec<String>,
}

pub(crate) fn generate() -> Generated {
    let curated = curated::load();
    let mut b = Builder { entries: Vec::new(), origin: Vec::new(), seq: BTreeMap::new(), problems: curated.problems };

    // Basic and thematic catalogs: 目 numbered by provider within the 项; city bureaus follow their counterpart.
    for (section, list) in &curated.sections {
        let Section::Class { lei, xiang } = *section else { continue };
        let mut mu: Vec<&str> = Vec::new();
        let mut own = Vec::new();
        for (provider, res) in list {
            let Some(dept) = b.dept(provider) else { continue };
            let m = mu_of(&mut mu, dept.key);
            own.push(b.push(dept, res, (lei, xiang, m), None, None));
        }
        for (idx, (provider, res)) in own.iter().zip(list) {
            if !res.city {
                continue;
            }
            for local in DEPARTMENTS.iter().filter(|d| d.counterpart == Some(provider)) {
                let m = mu_of(&mut mu, local.key);
                b.push(local, res, (lei, xiang, m), Some(org::region_prefix(local)), Some(*idx));
            }
        }
    }

    // Departmental catalogs, department by department.
    let mut own_lists: BTreeMap<&str, Vec<&Res>> = BTreeMap::new();
    for (section, list) in &curated.sections {
        if let Section::Dept(key) = *section {
            if b.dept(key).is_none() {
                continue;
            }
            own_lists.entry(key).or_default().extend(list.iter().map(|(_, r)| r));
        }
    }
    let mut built: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, dept) in DEPARTMENTS.iter().enumerate() {
        let Ok(xiang) = u8::try_from(i + 1) else { continue };
        for res in own_lists.get(dept.key).into_iter().flatten() {
            let idx = b.push(dept, res, (3, xiang, 1), None, None);
            built.insert((dept.key, res.name), idx);
        }
        let Some(counterpart) = dept.counterpart else { continue };
        for res in own_lists.get(counterpart).into_iter().flatten().filter(|r| r.city) {
            let origin = built.get(&(counterpart, res.name)).copied();
            b.push(dept, res, (3, xiang, 1), Some(org::region_prefix(dept)), origin);
        }
    }

    assign_states(&mut b.entries);
    link_related(&mut b);
    Generated { entries: b.entries, problems: b.problems }
}

fn mu_of<'a>(mu: &mut Vec<&'a str>, key: &'a str) -> u16 {
    let pos = match mu.iter().position(|k| *k == key) {
        Some(p) => p,
        None => {
            mu.push(key);
            mu.len() - 1
        }
    };
    u16::try_from(pos + 1).unwrap_or(u16::MAX)
}

impl Builder {
    fn dept(&mut self, key: &str) -> Option<&'static Dept> {
        let d = org::dept(key);
        if d.is_none() {
            self.problems.push(format!("unknown department `{key}`"));
        }
        d
    }

    /// Adds one published entry and returns its index.
    fn push(
        &mut self,
        dept: &Dept,
        res: &Res,
        (lei, xiang, mu): (u8, u8, u16),
        prefix: Option<String>,
        origin: Option<usize>,
    ) -> usize {
        let seq = self.seq.entry((lei, xiang, mu)).or_insert(0);
        *seq += 1;
        let code = format!("{lei}{xiang:02}{mu:03}/{seq:06}");
        let (name, content) = match &prefix {
            Some(p) => (format!("{p}{}", res.name), res.content.replace("全省", p)),
            None => (res.name.to_owned(), res.content.to_owned()),
        };
        let input = self.input(dept, res, lei, (xiang, mu), code, &name, &content);
        self.entries.push(DemoEntry { department: dept.key.to_owned(), input, state: DemoState::Published });
        self.origin.push(origin);
        self.entries.len() - 1
    }

    #[allow(clippy::too_many_arguments)]
    fn input(
        &mut self,
        dept: &Dept,
        res: &Res,
        lei: u8,
        (xiang, mu): (u8, u16),
        code: String,
        name: &str,
        content: &str,
    ) -> EntryInput {
        let h = fnv(name);
        let mut items = Vec::new();
        let mut top_grade = 0;
        let mut identifies = false;
        for &(item, basic) in &res.items {
            let Some(spec) = item_spec(item) else {
                self.problems.push(format!("`{}`: no type known for item `{item}`", res.name));
                continue;
            };
            top_grade = top_grade.max(grade_rank(spec.grade));
            identifies |= matches!(item, "公民身份号码" | "身份证件号码" | "统一社会信用代码");
            // Basic items of a basic resource are shared unconditionally even where the rest is conditional.
            let share_type = (lei == 1 && basic && res.share != Share::Unconditional).then(|| "unconditional".into());
            items.push(ItemInput {
                name: Some(item.to_owned()),
                data_type: Some(spec.data_type.to_owned()),
                length: Some(spec.length.into()),
                basic: Some(basic),
                share_type,
                grade: Some(spec.grade.to_owned()),
            });
        }
        let (category, kind) = match res.fmt {
            Fmt::Db => ("数据库", DATABASES[(fnv(dept.key) % DATABASES.len() as u64) as usize]),
            Fmt::Xlsx => ("电子表格", "xlsx"),
            Fmt::Api => ("服务接口", "API"),
            Fmt::Pdf => ("电子文件", "pdf"),
            Fmt::Ofd => ("电子文件", "OFD"),
            Fmt::Geo => ("自描述格式", "GeoJSON"),
            Fmt::Img => ("图形图像", "TIFF"),
            Fmt::Video => ("流媒体", "MP4"),
            Fmt::Json => ("自描述格式", "JSON"),
            Fmt::Xml => ("自描述格式", "XML"),
        };
        let mut modes: Vec<&str> = match res.fmt {
            Fmt::Db => vec!["query", "sync"],
            Fmt::Api => vec!["query", "api"],
            Fmt::Geo | Fmt::Json | Fmt::Xml => vec!["api", "file"],
            Fmt::Xlsx | Fmt::Pdf | Fmt::Ofd | Fmt::Img | Fmt::Video => vec!["file"],
        };
        if identifies && matches!(res.fmt, Fmt::Db | Fmt::Api) {
            modes.insert(1, "verify");
        }
        let share = match res.share {
            Share::Unconditional => ShareInput { kind: Some("unconditional".into()), ..ShareInput::default() },
            Share::Conditional => ShareInput {
                kind: Some("conditional".into()),
                condition: Some(condition(name, dept.short, h)),
                ..ShareInput::default()
            },
            Share::NotShared(basis) => {
                modes.clear();
                ShareInput {
                    kind: Some("not_shared".into()),
                    legal_basis: Some(basis.to_owned()),
                    ..ShareInput::default()
                }
            }
        };
        let share = ShareInput { modes: Some(modes.into_iter().map(str::to_owned).collect()), ..share };
        let names: Vec<&str> = res.items.iter().take(4).map(|(n, _)| *n).collect();
        let summary = summary(content, res.purpose, &names.join("、"), res.items.len(), dept.short, h);
        let grade = res.grade.unwrap_or(["一般", "一般", "重要", "核心"][top_grade.min(3)]);
        EntryInput {
            code: Some(code),
            class: Some(ClassInput {
                lei: Some(lei.into()),
                xiang: Some(xiang.into()),
                mu: Some(mu.into()),
                ximu: None,
            }),
            name: Some(name.to_owned()),
            summary: Some(summary),
            format: Some(FormatInput { category: Some(category.into()), kind: Some(kind.into()) }),
            items: Some(items),
            share: Some(share),
            open: Some(OpenInput { open: Some(res.open), condition: None }),
            update_cycle: Some(res.cycle.to_owned()),
            related: Some(Vec::new()),
            secret: Some(false),
            grade: Some(grade.to_owned()),
            ..EntryInput::default()
        }
    }
}

fn grade_rank(grade: &str) -> usize {
    match grade {
        "核心" => 3,
        "重要" => 2,
        _ => 1,
    }
}

fn summary(content: &str, purpose: &str, items: &str, n: usize, provider: &str, h: u64) -> String {
    match h % 4 {
        0 => format!("本资源记录{content}，包括{items}等{n}个信息项，用于{purpose}。"),
        1 => format!("{content}，涵盖{items}等信息，主要支撑{purpose}。"),
        2 => format!("汇集{provider}在履职过程中产生的{content}，包括{items}等，可用于{purpose}。"),
        _ => format!("本资源为{content}，主要信息项有{items}等，服务于{purpose}。"),
    }
}

fn condition(name: &str, provider: &str, h: u64) -> String {
    let topic = name.strip_suffix("信息").unwrap_or(name);
    match (h >> 8) % 5 {
        0 => format!("仅限政务部门依法履职使用，用于{topic}相关业务办理，需提供办件编号"),
        1 => format!("申请部门须说明使用事项和法律依据，按最小必要原则申请信息项，经{provider}审核同意后共享"),
        2 => "仅限用于行政审批和公共服务事项办理中的信息核验，需提供办件编号及当事人授权".to_owned(),
        3 => "仅限用于监管执法、信用监管和统计分析，不得向第三方提供或用于其他用途".to_owned(),
        _ => format!("涉及个人信息的信息项按脱敏规则提供，需提供办件编号，使用记录接受{provider}核查"),
    }
}

/// Leaves some departmental entries unpublished (a fixed draw: the same every run).
fn assign_states(entries: &mut [DemoEntry]) {
    let mut pool: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.input.class.as_ref().and_then(|c| c.lei) == Some(3))
        .map(|(i, _)| i)
        .collect();
    let mut rng = SplitMix64(0x5348_5551_4941_4f00);
    // Fisher–Yates with the seeded generator.
    for i in (1..pool.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        pool.swap(i, j);
    }
    // 32 drafts, 14 submitted, 8 returned, 5 retired.
    for (k, idx) in pool.into_iter().take(59).enumerate() {
        let state = match k {
            0..32 => DemoState::Draft,
            32..46 => DemoState::Submitted,
            46..54 => DemoState::Returned { comment: return_comment(entries.get(idx), k) },
            _ => DemoState::Retired,
        };
        if let Some(e) = entries.get_mut(idx) {
            e.state = state;
        }
    }
}

/// An authority comment that fits the entry, starting the search at `k` so that comments vary.
fn return_comment(entry: Option<&DemoEntry>, k: usize) -> String {
    let fits = |need: Option<&str>| {
        let Some(e) = entry else { return need.is_none() };
        match need {
            None => true,
            Some(n) => {
                if let Some(kind) = n.strip_prefix("share:") {
                    e.input.share.as_ref().and_then(|s| s.kind.as_deref()) == Some(kind)
                } else if let Some(category) = n.strip_prefix("format:") {
                    e.input.format.as_ref().and_then(|f| f.category.as_deref()) == Some(category)
                } else {
                    e.input.items.iter().flatten().any(|i| i.name.as_deref() == Some(n))
                }
            }
        }
    };
    (0..RETURN_COMMENTS.len())
        .filter_map(|i| RETURN_COMMENTS.get((k + i) % RETURN_COMMENTS.len()))
        .find(|(_, need)| fits(*need))
        .map_or_else(String::new, |(c, _)| (*c).to_owned())
}

/// A city-level copy names its provincial original as related (关联资源), when that one is published.
fn link_related(b: &mut Builder) {
    for i in 0..b.entries.len() {
        let Some(Some(o)) = b.origin.get(i).copied() else { continue };
        let Some(original) = b.entries.get(o) else { continue };
        if original.state != DemoState::Published {
            continue;
        }
        let code = original.input.code.clone();
        if let (Some(e), Some(code)) = (b.entries.get_mut(i), code) {
            e.input.related = Some(vec![code]);
        }
    }
}

/// FNV-1a: a stable hash for deterministic choices (std's hasher is randomly seeded).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
