//! Shared fixtures: hand-built entries and helpers that build xlsx and CSV files cell by cell.
#![allow(dead_code, clippy::unwrap_used)]

use rust_xlsxwriter::Workbook;
use serde_json::Value;
use shuqiao_domain::codes::{ClassCode, ResourceCode};
use shuqiao_domain::entry::{
    ClassJson, DataType, Entry, EntryInput, Format, FormatCategory, Grade, Item, Mode, Open, Provider, Share,
    ShareType, Status, UpdateCycle,
};

pub fn code(lei: u8, xiang: u8, mu: u16, ximu: Option<u16>, seq: u32) -> ResourceCode {
    ResourceCode { class: ClassCode { lei, xiang, mu, ximu }, seq }
}

fn item(name: &str, data_type: DataType, length: u32, basic: bool) -> Item {
    Item { name: name.into(), data_type, length, basic, share_type: None, grade: None }
}

fn provider(name: &str, unit: Option<&str>) -> Provider {
    Provider {
        id: "dep-1".into(),
        name: name.into(),
        credit_code: "11130100MB0123456F".into(),
        unit: unit.map(Into::into),
    }
}

/// Three entries that together use every column: per-item share types and grades (one equal to the entry's),
/// a 细目, an entry without items, empty and multiple modes, related codes, open with a condition.
pub fn sample_entries() -> Vec<Entry> {
    let c1 = code(1, 1, 1, None, 123);
    let c2 = code(3, 1, 1, Some(1), 2);
    let c3 = code(2, 3, 10, None, 10);
    vec![
        Entry {
            code: c1,
            class: ClassJson { lei: 1, xiang: 1, mu: 1, ximu: None },
            name: "居民户籍信息".into(),
            provider: provider("某省公安厅", None),
            summary: "全省常住人口的户籍登记信息。\n含迁入迁出记录。".into(),
            format: Format { category: FormatCategory::Database, kind: "PostgreSQL".into() },
            items: vec![
                Item { grade: Some(Grade::Important), ..item("公民身份号码", DataType::C, 18, true) },
                Item { share_type: Some(ShareType::Conditional), ..item("姓名", DataType::C, 50, true) },
                Item {
                    share_type: Some(ShareType::NotShared),
                    grade: Some(Grade::Core),
                    ..item("宗教信仰", DataType::C, 20, false)
                },
                item("出生日期", DataType::D, 8, false),
            ],
            share: Share {
                kind: ShareType::Conditional,
                condition: Some("仅用于政务服务事项办理".into()),
                legal_basis: Some("《中华人民共和国居民身份证法》".into()),
                modes: vec![Mode::Verify, Mode::Query],
            },
            open: Open { open: false, condition: None },
            update_cycle: UpdateCycle::Daily,
            published_on: None,
            related: vec![],
            secret: false,
            grade: Some(Grade::Important),
            status: Status::Draft,
            version: 1,
        },
        Entry {
            code: c2,
            class: ClassJson { lei: 3, xiang: 1, mu: 1, ximu: Some(1) },
            name: "内部考核记录".into(),
            provider: provider("某市人力资源和社会保障局", Some("人事科")),
            summary: "内部绩效考核。".into(),
            format: Format { category: FormatCategory::ElectronicFile, kind: "OFD".into() },
            items: vec![],
            share: Share {
                kind: ShareType::NotShared,
                condition: None,
                legal_basis: Some("《公务员考核规定》".into()),
                modes: vec![],
            },
            open: Open { open: false, condition: None },
            update_cycle: UpdateCycle::HalfYearly,
            published_on: None,
            related: vec![c1, c3],
            secret: false,
            grade: None,
            status: Status::Draft,
            version: 1,
        },
        Entry {
            code: c3,
            class: ClassJson { lei: 2, xiang: 3, mu: 10, ximu: None },
            name: "食品生产许可信息".into(),
            provider: provider("某市市场监督管理局", Some("食品生产科")),
            summary: "食品生产许可证的发放、变更和注销。".into(),
            format: Format { category: FormatCategory::Spreadsheet, kind: "xlsx/csv".into() },
            items: vec![
                item("许可证编号", DataType::C, 14, true),
                item("发证日期", DataType::T, 0, false),
                item("注册资本", DataType::Y, 18, false),
                item("员工人数", DataType::I, 10, false),
            ],
            share: Share {
                kind: ShareType::Unconditional,
                condition: None,
                legal_basis: None,
                modes: vec![Mode::File, Mode::Sync, Mode::Api],
            },
            open: Open { open: true, condition: Some("注明数据来源".into()) },
            update_cycle: UpdateCycle::Realtime,
            published_on: Some(time::macros::date!(2025 - 03 - 04)),
            related: vec![c1],
            secret: false,
            grade: Some(Grade::General),
            status: Status::Published,
            version: 3,
        },
    ]
}

/// An input's content as JSON, without the read-only fields the platform ignores.
pub fn content(input: &EntryInput) -> Value {
    let mut v = serde_json::to_value(input).unwrap();
    let o = v.as_object_mut().unwrap();
    for k in ["provider", "published_on", "status", "version"] {
        o.remove(k);
    }
    v
}

/// An xlsx whose first sheet holds `rows` (strings; cells that parse as integers are written as numbers).
pub fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in (0u32..).zip(rows) {
        for (c, cell) in (0u16..).zip(row) {
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<i32>() {
                Ok(n) if !cell.starts_with('0') => ws.write_number(r, c, n).unwrap(),
                _ => ws.write_string(r, c, *cell).unwrap(),
            };
        }
    }
    wb.save_to_buffer().unwrap()
}

pub fn csv(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(vec![]);
    for row in rows {
        w.write_record(row).unwrap();
    }
    w.into_inner().unwrap()
}

/// The minimal template header (the required columns) and one valid item row per call of [`min_row`].
pub const MIN_HEADER: [&str; 12] = [
    "信息资源代码",
    "信息资源名称",
    "信息资源摘要",
    "信息资源格式分类",
    "信息资源格式类型",
    "信息项名称",
    "数据类型",
    "数据长度",
    "共享类型",
    "共享方式类型",
    "是否向社会开放",
    "更新周期",
];

pub fn min_row<'a>(code: &'a str, item: &'a str) -> Vec<&'a str> {
    vec![code, "企业登记信息", "企业基本信息", "数据库", "MySQL", item, "C", "18", "有条件共享", "接口", "否", "每日"]
}
