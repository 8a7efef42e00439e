//! Search latency benchmark over 100,000 synthetic Chinese catalog entries.
//!
//! `cargo run --release -p shuqiao-search --example bench_search [-- NUM_DOCS]`
//!
//! Every search counts all facets over the full result set (the API always does); the queries vary
//! in text, filters and page position.

use std::time::{Duration, Instant};

use shuqiao_search::{CatalogIndex, IndexDoc, SearchQuery};

const SUBJECTS: &[&str] = &[
    "企业",
    "居民",
    "个体工商户",
    "社会组织",
    "事业单位",
    "农村集体",
    "学校",
    "医疗机构",
    "药品",
    "食品",
    "道路",
    "车辆",
    "驾驶人",
    "船舶",
    "建筑",
    "房屋",
    "土地",
    "森林",
    "河流",
    "气象",
    "环境",
    "税务",
    "社保",
    "公积金",
    "低保",
    "残疾人",
    "老年人",
    "退役军人",
    "婚姻",
    "出生",
];
const OBJECTS: &[&str] = &[
    "登记",
    "户籍",
    "营业执照",
    "许可",
    "备案",
    "年报",
    "信用",
    "处罚",
    "检查",
    "补贴",
    "参保",
    "缴费",
    "证照",
    "资质",
    "统计",
    "监测",
    "投诉",
    "评价",
    "注销",
    "变更",
    "审批",
    "核验",
];
const SUFFIXES: &[&str] = &["信息", "数据", "记录", "名录", "清单", "台账", "目录", "报表"];
const ITEMS: &[&str] = &[
    "姓名",
    "公民身份号码",
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "注册资本",
    "成立日期",
    "住所",
    "经营范围",
    "登记机关",
    "核准日期",
    "联系电话",
    "性别",
    "民族",
    "出生日期",
    "户籍地址",
    "参保状态",
    "缴费基数",
    "许可证编号",
    "有效期限",
    "发证机关",
    "车牌号码",
    "行政区划代码",
    "数据更新时间",
    "备注",
];
const FRAGMENTS: &[&str] = &[
    "本资源记录了辖区内",
    "的基本情况",
    "包括历史变更",
    "由业务系统每日汇总",
    "用于政务服务事项办理",
    "可用于身份核验和资格审查",
    "数据来源于部门业务系统",
    "按照国家标准编制",
    "涉及个人信息的字段已脱敏",
    "支持按统一社会信用代码查询",
];
const SHARE: &[&str] = &["unconditional", "conditional", "not_shared"];
const CYCLES: &[&str] = &["realtime", "daily", "weekly", "monthly", "quarterly", "half-yearly", "yearly", "irregular"];
const STATUS: &[&str] = &[
    "published",
    "published",
    "published",
    "published",
    "published",
    "published",
    "published",
    "draft",
    "submitted",
    "retired",
];

/// Small deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

fn make_doc(i: usize, rng: &mut Rng) -> IndexDoc {
    let lei = 1 + rng.below(3) as u8;
    let class_code = format!("{lei}{:02}{:03}", 1 + rng.below(12), 1 + rng.below(40));
    let code = format!("{class_code}/{i:06}");
    let subject = rng.pick(SUBJECTS);
    let object = rng.pick(OBJECTS);
    let name = format!("{subject}{object}{}", rng.pick(SUFFIXES));
    let mut summary = String::new();
    for _ in 0..(2 + rng.below(4)) {
        summary.push_str(rng.pick(FRAGMENTS));
        summary.push_str(rng.pick(SUBJECTS));
        summary.push_str(rng.pick(OBJECTS));
        summary.push('，');
    }
    summary.push('。');
    let item_names = (0..(4 + rng.below(10))).map(|_| rng.pick(ITEMS).to_string()).collect();
    let provider = rng.below(80);
    let status = rng.pick(STATUS);
    IndexDoc {
        key: format!("{code}@{status}"),
        code,
        name,
        summary,
        item_names,
        provider_id: format!("dept-{provider:03}"),
        provider_name: format!("第{provider}厅"),
        class_code,
        lei,
        share_type: rng.pick(SHARE).to_string(),
        open: rng.below(3) == 0,
        update_cycle: rng.pick(CYCLES).to_string(),
        status: status.to_string(),
        region: format!("13{:02}00", rng.below(12)),
        updated_at: 1_600_000_000 + rng.below(100_000_000) as i64,
    }
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Resident memory: total, anonymous (heap) and file-backed (mmapped index, reclaimable).
fn rss() -> String {
    format!(
        "RSS {:.1} MB (anon {:.1} MB, file {:.1} MB)",
        status_mb("VmRSS:"),
        status_mb("RssAnon:"),
        status_mb("RssFile:")
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let idx = CatalogIndex::open_or_create(dir.path())?;
    println!("before indexing: {}", rss());

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    idx.upsert(&[make_doc(0, &mut rng)])?;
    println!("after one upsert (jieba dictionary loaded): {}", rss());
    let t = Instant::now();
    let mut docs = (0..n).map(|i| make_doc(i, &mut rng));
    idx.rebuild(&mut docs)?;
    println!("indexed {} docs in {:.1} s; {}", idx.num_docs(), t.elapsed().as_secs_f64(), rss());
    // Let background merges finish and pick them up with a no-op write.
    std::thread::sleep(Duration::from_secs(3));
    idx.delete(&["no-such-key".to_string()])?;
    let size: u64 = std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    println!("index size on disk: {:.1} MB", size as f64 / 1e6);

    let page = |text: Option<&str>| SearchQuery {
        text: text.map(str::to_string),
        limit: 20,
        highlight: text.is_some(),
        ..Default::default()
    };
    let visibility =
        |q: SearchQuery| SearchQuery { viewer_department: Some("dept-007".into()), restrict_non_public: true, ..q };
    let cases: Vec<(&str, SearchQuery)> = vec![
        ("text 企业 登记", page(Some("企业 登记"))),
        ("text 户籍", page(Some("户籍"))),
        ("text 营业执照", page(Some("营业执照"))),
        ("text 户 (1 char)", page(Some("户"))),
        ("text 社保 缴费 信息", page(Some("社保 缴费 信息"))),
        ("text 统一社会信用代码", page(Some("统一社会信用代码"))),
        ("text no match 卫星遥感", page(Some("卫星遥感"))),
        ("no text (all, by date)", page(None)),
        (
            "no text + status=published + open",
            SearchQuery { status: vec!["published".into()], open: Some(true), ..page(None) },
        ),
        (
            "no text + provider + class 1",
            SearchQuery { provider: Some("dept-012".into()), class: Some("1".into()), ..page(None) },
        ),
        ("text 企业 + visibility", visibility(page(Some("企业")))),
        (
            "text 企业 信息 + share_type + region + visibility",
            visibility(SearchQuery {
                share_type: Some("conditional".into()),
                region: Some("130100".into()),
                ..page(Some("企业 信息"))
            }),
        ),
        ("no text, limit 0 (count + facets only)", SearchQuery { limit: 0, ..page(None) }),
        ("text 信息, page 50 (offset 1000)", SearchQuery { offset: 1000, ..page(Some("信息")) }),
    ];

    const WARMUP: usize = 20;
    const RUNS: usize = 200;
    println!("\n{:<48} {:>8} {:>9} {:>9} {:>9}", "query (all with facets)", "total", "p50 ms", "p99 ms", "max ms");
    let mut all = Vec::new();
    for (label, q) in &cases {
        let mut total = 0;
        for _ in 0..WARMUP {
            total = idx.search(q)?.total;
        }
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let r = idx.search(q)?;
            times.push(t.elapsed());
            std::hint::black_box(r);
        }
        all.extend_from_slice(&times);
        times.sort();
        println!(
            "{:<48} {:>8} {:>9.2} {:>9.2} {:>9.2}",
            label,
            total,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
        );
    }
    all.sort();
    println!(
        "{:<48} {:>8} {:>9.2} {:>9.2} {:>9.2}",
        "ALL QUERIES",
        "",
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all[all.len() - 1].as_secs_f64() * 1e3,
    );
    println!("\nafter searches: {}", rss());
    Ok(())
}
