//! A 10,000-item-row sheet parses (release: well under a second; no timing assertion).

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

use rust_xlsxwriter::Workbook;
use shuqiao_catalog_files::{FileFormat, parse};

const HEADER: [&str; 16] = [
    "信息资源分类（类）",
    "信息资源分类（项）",
    "信息资源分类（目）",
    "信息资源代码",
    "信息资源名称",
    "信息资源提供方",
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

#[test]
fn ten_thousand_item_rows() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in (0u16..).zip(HEADER) {
        ws.write_string(0, c, h).unwrap();
    }
    // 500 entries of 20 items each.
    for r in 1u32..=10_000 {
        let entry = (r - 1) / 20 + 1;
        let code = format!("301001/{entry:06}");
        let name = format!("信息资源{entry}");
        let item = format!("信息项{r}");
        ws.write_number(r, 0, 3).unwrap();
        ws.write_number(r, 1, 1).unwrap();
        ws.write_number(r, 2, 1).unwrap();
        ws.write_string(r, 3, &code).unwrap();
        ws.write_string(r, 4, &name).unwrap();
        ws.write_string(r, 5, "某市大数据局").unwrap();
        ws.write_string(r, 6, "一段摘要，说明资源的内容与用途。").unwrap();
        ws.write_string(r, 7, "数据库").unwrap();
        ws.write_string(r, 8, "达梦").unwrap();
        ws.write_string(r, 9, &item).unwrap();
        ws.write_string(r, 10, "C").unwrap();
        ws.write_number(r, 11, 64).unwrap();
        ws.write_string(r, 12, "有条件共享").unwrap();
        ws.write_string(r, 13, "接口").unwrap();
        ws.write_string(r, 14, "否").unwrap();
        ws.write_string(r, 15, "每月").unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let start = std::time::Instant::now();
    let parsed = parse(FileFormat::Xlsx, &bytes).unwrap();
    eprintln!("parsed 10,000 rows in {:?}", start.elapsed());
    assert_eq!(parsed.len(), 500);
    assert!(parsed.iter().all(|p| p.input.items.as_ref().unwrap().len() == 20));
    assert_eq!(parsed[499].first_row, 9_982);
    assert_eq!(parsed[499].input.items.as_ref().unwrap()[19].name.as_deref(), Some("信息项10000"));
}
