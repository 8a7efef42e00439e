//! The demo province's organisation: regions (GB/T 2260), departments and their accounts.

use shuqiao_domain::codes::RegionLevel;
use shuqiao_domain::roles::Role;

use crate::credit;
use crate::{DemoDepartment, DemoRegion, DemoUser};

/// Password of every demo account (printed by `shuqiao demo` at start).
pub const DEMO_PASSWORD: &str = "Demo@2026";

const REGIONS: &[(&str, &str, RegionLevel)] = &[
    ("130000", "河北省", RegionLevel::Provincial),
    ("130100", "石家庄市", RegionLevel::Municipal),
    ("130200", "唐山市", RegionLevel::Municipal),
    ("130400", "邯郸市", RegionLevel::Municipal),
    ("130600", "保定市", RegionLevel::Municipal),
    ("130102", "长安区", RegionLevel::County),
    ("130104", "桥西区", RegionLevel::County),
    ("130105", "新华区", RegionLevel::County),
    ("130108", "裕华区", RegionLevel::County),
    ("130202", "路南区", RegionLevel::County),
    ("130203", "路北区", RegionLevel::County),
    ("130402", "邯山区", RegionLevel::County),
    ("130403", "丛台区", RegionLevel::County),
    ("130602", "竞秀区", RegionLevel::County),
    ("130606", "莲池区", RegionLevel::County),
];

pub(crate) fn regions() -> Vec<DemoRegion> {
    REGIONS
        .iter()
        .map(|&(code, name, level)| DemoRegion { code: code.to_owned(), name: name.to_owned(), level })
        .collect()
}

/// A department as curated: what the public [`DemoDepartment`] carries plus what the catalog generator needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dept {
    pub key: &'static str,
    pub name: &'static str,
    /// Short name used in summaries and share conditions (省公安厅, 石家庄市公安局 …).
    pub short: &'static str,
    pub region: &'static str,
    pub parent: Option<&'static str>,
    pub institution: bool,
    /// For municipal and county bureaus: the provincial department whose city-level resources they also keep.
    pub counterpart: Option<&'static str>,
}

const fn gov(key: &'static str, name: &'static str, short: &'static str) -> Dept {
    Dept { key, name, short, region: "130000", parent: None, institution: false, counterpart: None }
}

const fn inst(key: &'static str, name: &'static str, short: &'static str, parent: &'static str) -> Dept {
    Dept { key, name, short, region: "130000", parent: Some(parent), institution: true, counterpart: None }
}

const fn local(
    key: &'static str,
    name: &'static str,
    region: &'static str,
    parent: Option<&'static str>,
    counterpart: Option<&'static str>,
) -> Dept {
    Dept { key, name, short: name, region, parent, institution: false, counterpart }
}

/// Every demo department, in catalog order: the position (1-based) is the 项 of the department's own catalog
/// (类 3), so the order must stay stable.
pub(crate) const DEPARTMENTS: &[Dept] = &[
    gov("hb-zwb", "河北省政务服务管理办公室", "省政务服务办"),
    gov("hb-sjj", "河北省数据和政务服务局", "省数据和政务服务局"),
    gov("hb-gat", "河北省公安厅", "省公安厅"),
    gov("hb-scjg", "河北省市场监督管理局", "省市场监管局"),
    gov("hb-rst", "河北省人力资源和社会保障厅", "省人力资源社会保障厅"),
    gov("hb-zrt", "河北省自然资源厅", "省自然资源厅"),
    gov("hb-mzt", "河北省民政厅", "省民政厅"),
    gov("hb-wjw", "河北省卫生健康委员会", "省卫生健康委"),
    gov("hb-jyt", "河北省教育厅", "省教育厅"),
    gov("hb-sw", "国家税务总局河北省税务局", "省税务局"),
    gov("hb-zjt", "河北省住房和城乡建设厅", "省住房城乡建设厅"),
    gov("hb-sthjt", "河北省生态环境厅", "省生态环境厅"),
    gov("hb-jtt", "河北省交通运输厅", "省交通运输厅"),
    gov("hb-nynct", "河北省农业农村厅", "省农业农村厅"),
    gov("hb-yjt", "河北省应急管理厅", "省应急管理厅"),
    gov("hb-ybj", "河北省医疗保障局", "省医保局"),
    gov("hb-fgw", "河北省发展和改革委员会", "省发展改革委"),
    gov("hb-sft", "河北省司法厅", "省司法厅"),
    gov("hb-czt", "河北省财政厅", "省财政厅"),
    gov("hb-tjj", "河北省统计局", "省统计局"),
    gov("hb-wlt", "河北省文化和旅游厅", "省文化和旅游厅"),
    gov("hb-slt", "河北省水利厅", "省水利厅"),
    gov("hb-swt", "河北省商务厅", "省商务厅"),
    gov("hb-tyjr", "河北省退役军人事务厅", "省退役军人事务厅"),
    gov("hb-lcj", "河北省林业和草原局", "省林草局"),
    gov("hb-yjj", "河北省药品监督管理局", "省药监局"),
    gov("hb-gxt", "河北省工业和信息化厅", "省工业和信息化厅"),
    gov("hb-kjt", "河北省科学技术厅", "省科技厅"),
    gov("hb-gzw", "河北省人民政府国有资产监督管理委员会", "省国资委"),
    gov("hb-sjt", "河北省审计厅", "省审计厅"),
    gov("hb-tyj", "河北省体育局", "省体育局"),
    gov("hb-lsj", "河北省粮食和物资储备局", "省粮食和物资储备局"),
    gov("hb-bb", "中共河北省委机构编制委员会办公室", "省委编办"),
    inst("hb-xxzx", "河北省信息资源管理中心", "省信息资源管理中心", "hb-sjj"),
    inst("hb-sbzx", "河北省社会保险事业服务中心", "省社会保险事业服务中心", "hb-rst"),
    inst("hb-bdczx", "河北省不动产登记中心", "省不动产登记中心", "hb-zrt"),
    inst("hb-cdc", "河北省疾病预防控制中心", "省疾控中心", "hb-wjw"),
    inst("hb-ggzy", "河北省公共资源交易中心", "省公共资源交易中心", "hb-zwb"),
    local("sjz-sjj", "石家庄市数据和政务服务局", "130100", None, Some("hb-sjj")),
    local("sjz-gaj", "石家庄市公安局", "130100", None, Some("hb-gat")),
    local("sjz-scjg", "石家庄市市场监督管理局", "130100", None, Some("hb-scjg")),
    local("sjz-rsj", "石家庄市人力资源和社会保障局", "130100", None, Some("hb-rst")),
    local("sjz-zrj", "石家庄市自然资源和规划局", "130100", None, Some("hb-zrt")),
    local("sjz-mzj", "石家庄市民政局", "130100", None, Some("hb-mzt")),
    local("sjz-wjw", "石家庄市卫生健康委员会", "130100", None, Some("hb-wjw")),
    local("sjz-zjj", "石家庄市住房和城乡建设局", "130100", None, Some("hb-zjt")),
    local("ts-gaj", "唐山市公安局", "130200", None, Some("hb-gat")),
    local("ts-scjg", "唐山市市场监督管理局", "130200", None, Some("hb-scjg")),
    local("ts-rsj", "唐山市人力资源和社会保障局", "130200", None, Some("hb-rst")),
    local("ts-zrj", "唐山市自然资源和规划局", "130200", None, Some("hb-zrt")),
    local("ts-mzj", "唐山市民政局", "130200", None, Some("hb-mzt")),
    local("ts-yjj", "唐山市应急管理局", "130200", None, Some("hb-yjt")),
    local("bd-gaj", "保定市公安局", "130600", None, Some("hb-gat")),
    local("bd-scjg", "保定市市场监督管理局", "130600", None, Some("hb-scjg")),
    local("bd-rsj", "保定市人力资源和社会保障局", "130600", None, Some("hb-rst")),
    local("hd-gaj", "邯郸市公安局", "130400", None, Some("hb-gat")),
    local("hd-scjg", "邯郸市市场监督管理局", "130400", None, Some("hb-scjg")),
    local("hd-rsj", "邯郸市人力资源和社会保障局", "130400", None, Some("hb-rst")),
    local("ca-scjg", "石家庄市长安区市场监督管理局", "130102", Some("sjz-scjg"), Some("hb-scjg")),
    local("qx-mzj", "石家庄市桥西区民政局", "130104", Some("sjz-mzj"), Some("hb-mzt")),
    local("jx-scjg", "保定市竞秀区市场监督管理局", "130602", Some("bd-scjg"), Some("hb-scjg")),
];

pub(crate) fn dept(key: &str) -> Option<&'static Dept> {
    DEPARTMENTS.iter().find(|d| d.key == key)
}

/// The name of the region a department sits in, as used to prefix its city-level resources (石家庄市, 长安区 …).
pub(crate) fn region_prefix(d: &Dept) -> String {
    let name = REGIONS.iter().find(|r| r.0 == d.region).map_or("", |r| r.1);
    match (d.region.ends_with("00"), d.parent.and_then(dept)) {
        // A county bureau: prefix with the city too (石家庄市长安区), as its own name does.
        (false, Some(parent)) => format!("{}{name}", region_prefix(parent)),
        _ => name.to_owned(),
    }
}

pub(crate) fn departments() -> Vec<DemoDepartment> {
    DEPARTMENTS
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let kind = if d.institution { '2' } else { '1' };
            let credit_code = credit::credit_code(kind, d.region, &credit::org_body(i as u64 + 1))?;
            Some(DemoDepartment {
                key: d.key.to_owned(),
                name: d.name.to_owned(),
                credit_code,
                region: d.region.to_owned(),
                parent: d.parent.map(str::to_owned),
                kind: if d.institution { "institution" } else { "government" }.to_owned(),
            })
        })
        .collect()
}

/// Departments that get a full set of accounts (admin, cataloger, reviewer, consumer): login prefix and key.
const STAFFED: &[(&str, &str)] = &[
    ("gat", "hb-gat"),
    ("scjg", "hb-scjg"),
    ("rst", "hb-rst"),
    ("zrt", "hb-zrt"),
    ("mzt", "hb-mzt"),
    ("wjw", "hb-wjw"),
    ("sw", "hb-sw"),
    ("sjzga", "sjz-gaj"),
];

/// Departments with only a consumer account (they apply for other departments' data).
const CONSUMERS: &[(&str, &str)] =
    &[("jyt", "hb-jyt"), ("ybj", "hb-ybj"), ("zjt", "hb-zjt"), ("yjt", "hb-yjt"), ("tsrs", "ts-rsj")];

/// Common Chinese names, given to the accounts in order.
const NAMES: &[&str] = &[
    "张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴霞", "徐涛", "孙丽", "马超", "朱琳",
    "胡斌", "郭颖", "何军", "高雪", "林峰", "罗娟", "郑凯", "梁燕", "谢鹏", "宋佳", "唐亮", "韩冰", "冯刚", "董婷",
    "曹阳", "袁媛", "邓勇", "许倩", "傅强", "沈蕾", "曾辉", "彭丹", "吕明", "苏晴", "卢昊", "蒋悦", "蔡俊", "贾楠",
];

pub(crate) fn users() -> Vec<DemoUser> {
    let mut names = NAMES.iter().cycle();
    let mut next_name = || names.next().map_or_else(String::new, |n| (*n).to_owned());
    let mut out = Vec::new();
    let mut user = |username: String, department: Option<&str>, roles: Vec<Role>, display_name: String| {
        out.push(DemoUser {
            username,
            password: DEMO_PASSWORD.to_owned(),
            display_name,
            department: department.map(str::to_owned),
            roles,
        });
    };
    user("auditor".into(), None, vec![Role::SecurityAuditor], next_name());
    user("authority".into(), Some("hb-zwb"), vec![Role::Authority], next_name());
    user("sjz_authority".into(), Some("sjz-sjj"), vec![Role::Authority], next_name());
    for (prefix, key) in STAFFED {
        user(format!("{prefix}_admin"), Some(key), vec![Role::DepartmentAdmin], next_name());
        user(format!("{prefix}_catalog"), Some(key), vec![Role::Cataloger], next_name());
        user(format!("{prefix}_review"), Some(key), vec![Role::Reviewer], next_name());
        user(format!("{prefix}_user"), Some(key), vec![Role::Consumer], next_name());
    }
    for (prefix, key) in CONSUMERS {
        user(format!("{prefix}_user"), Some(key), vec![Role::Consumer], next_name());
    }
    // A small department where one person compiles and reviews (a common arrangement in practice).
    user("tyj_staff".into(), Some("hb-tyj"), vec![Role::Cataloger, Role::Reviewer, Role::Consumer], next_name());
    out
}
