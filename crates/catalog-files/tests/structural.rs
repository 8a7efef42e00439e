//! Every structural error kind, with its exact row and column; all errors of a file at once.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use common::{MIN_HEADER, csv, min_row, xlsx};
use shuqiao_catalog_files::{FileFormat, ImportError, parse};

fn errors(format: FileFormat, bytes: &[u8]) -> Vec<ImportError> {
    match parse(format, bytes) {
        Ok(p) => panic!("expected errors, parsed {} entries", p.len()),
        Err(e) => e,
    }
}

/// (row, column) of each error.
fn places(errs: &[ImportError]) -> Vec<(usize, &str)> {
    errs.iter().map(|e| (e.row, e.column.as_str())).collect()
}

fn both(rows: &[Vec<&str>]) -> [Vec<ImportError>; 2] {
    let x = errors(FileFormat::Xlsx, &xlsx(rows));
    let c = errors(FileFormat::Csv, &csv(rows));
    assert_eq!(x, c, "xlsx and csv report the same errors");
    [x, c]
}

#[test]
fn valid_minimal_file_parses() {
    let rows = vec![MIN_HEADER.to_vec(), min_row("301001/000001", "名称"), min_row("301001/000001", "代码")];
    for bytes in [xlsx(&rows), csv(&rows)] {
        let fmt = if bytes.starts_with(b"PK") { FileFormat::Xlsx } else { FileFormat::Csv };
        let parsed = parse(fmt, &bytes).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].input.items.as_ref().unwrap().len(), 2);
    }
}

#[test]
fn unknown_header() {
    let mut header = MIN_HEADER.to_vec();
    header.push("负责人电话");
    let mut row = min_row("301001/000001", "名称");
    row.push("123");
    let [e, _] = both(&[header, row]);
    assert_eq!(places(&e), [(1, "负责人电话")]);
    assert!(e[0].message.contains("无法识别的列"));
}

#[test]
fn missing_required_headers() {
    let header: Vec<&str> = MIN_HEADER.iter().copied().filter(|h| *h != "数据长度" && *h != "更新周期").collect();
    let mut row = min_row("301001/000001", "名称");
    row.remove(11);
    row.remove(7);
    let [e, _] = both(&[header, row]);
    assert_eq!(places(&e), [(1, "数据长度"), (1, "更新周期")]);
    assert!(e[0].message.contains("缺少必需的列"));
}

#[test]
fn missing_code_and_class_headers() {
    let header = MIN_HEADER[1..].to_vec();
    let row = min_row("301001/000001", "名称")[1..].to_vec();
    let [e, _] = both(&[header, row]);
    assert_eq!(places(&e), [(1, "信息资源代码")]);
}

#[test]
fn class_columns_replace_the_code_column() {
    let mut header = MIN_HEADER[1..].to_vec();
    header.extend(["类", "项", "目"]);
    let mut row = min_row("", "名称")[1..].to_vec();
    row.extend(["3", "01", "001"]);
    let parsed = parse(FileFormat::Csv, &csv(&[header, row])).unwrap();
    let class = parsed[0].input.class.as_ref().unwrap();
    assert_eq!((class.lei, class.xiang, class.mu, class.ximu), (Some(3), Some(1), Some(1), None));
    assert_eq!(parsed[0].input.code, None);
}

#[test]
fn duplicate_header() {
    let mut header = MIN_HEADER.to_vec();
    header.push("资源名称");
    let mut row = min_row("301001/000001", "名称");
    row.push("企业登记信息");
    let [e, _] = both(&[header, row]);
    assert_eq!(places(&e), [(1, "资源名称")]);
    assert!(e[0].message.contains("重复"));
}

#[test]
fn non_integer_length() {
    let mut r3 = min_row("301001/000001", "代码");
    r3[7] = "十八";
    let mut r4 = min_row("301001/000001", "地址");
    r4[7] = "18.5";
    let [e, _] = both(&[MIN_HEADER.to_vec(), min_row("301001/000001", "名称"), r3, r4]);
    assert_eq!(places(&e), [(3, "数据长度"), (4, "数据长度")]);
    assert!(e[0].message.contains("应为整数"), "{}", e[0].message);
}

#[test]
fn bad_yes_no() {
    let mut header = MIN_HEADER.to_vec();
    header.push("是否基础信息项");
    let mut r2 = min_row("301001/000001", "名称");
    r2[10] = "可能";
    r2.push("是");
    let mut r3 = min_row("301001/000001", "代码");
    r3[10] = "可能";
    r3.push("不确定");
    let [e, _] = both(&[header, r2, r3]);
    // Each bad cell is reported at its own row, also when it repeats an entry column.
    assert_eq!(places(&e), [(2, "是否向社会开放"), (3, "是否向社会开放"), (3, "是否基础信息项")]);
    assert!(e[0].message.contains("「是」或「否」"));
}

#[test]
fn bad_secret() {
    let mut header = MIN_HEADER.to_vec();
    header.push("涉密属性");
    let mut r2 = min_row("301001/000001", "名称");
    r2.push("机密?");
    let [e, _] = both(&[header, r2]);
    assert_eq!(places(&e), [(2, "涉密属性")]);
}

#[test]
fn rows_of_one_entry_disagree() {
    let r2 = min_row("301001/000001", "名称");
    let mut r3 = min_row("301001/000001", "代码");
    r3[2] = "另一个摘要";
    let mut r4 = min_row("301001/000001", "地址");
    r4[11] = "每月";
    let mut r5 = min_row("301001/000001", "电话");
    r5[11] = "daily"; // the same cycle as 每日, written as the API value: agrees
    let [e, _] = both(&[MIN_HEADER.to_vec(), r2, r3, r4, r5]);
    assert_eq!(places(&e), [(3, "信息资源摘要"), (4, "更新周期")]);
    assert!(e[0].message.contains("第 2 行"), "{}", e[0].message);
}

#[test]
fn same_code_in_rows_that_are_not_consecutive() {
    let rows = vec![
        MIN_HEADER.to_vec(),
        min_row("301001/000001", "名称"),
        min_row("301001/000002", "名称"),
        min_row("301001/000001", "代码"),
    ];
    let [e, _] = both(&rows);
    assert_eq!(places(&e), [(4, "信息资源代码")]);
    assert!(e[0].message.contains("第 2 行"));
}

#[test]
fn empty_files() {
    let e = errors(FileFormat::Xlsx, b"");
    assert_eq!(places(&e), [(1, "")]);
    let e = errors(FileFormat::Csv, b"");
    assert_eq!(places(&e), [(1, "")]);
    let e = errors(FileFormat::Csv, b"\xEF\xBB\xBF\n,,\n");
    assert_eq!(places(&e), [(1, "")]);
    let e = errors(FileFormat::Xlsx, &xlsx(&[]));
    assert_eq!(places(&e), [(1, "")]);
    assert!(e[0].message.contains("文件为空"));
    // A header without data rows.
    let e = errors(FileFormat::Xlsx, &xlsx(&[MIN_HEADER.to_vec()]));
    assert_eq!(places(&e), [(2, "")]);
    assert!(e[0].message.contains("没有数据行"));
    let e = errors(FileFormat::Json, b" ");
    assert_eq!(places(&e), [(1, "")]);
    let e = errors(FileFormat::Json, b"[]");
    assert_eq!(places(&e), [(1, "")]);
}

#[test]
fn unreadable_files() {
    let e = errors(FileFormat::Xlsx, b"this is not a zip file");
    assert_eq!(places(&e), [(0, "")]);
    assert!(e[0].message.contains("无法读取 xlsx"));
    // GBK-encoded CSV.
    let e = errors(FileFormat::Csv, b"\xd0\xc5\xcf\xa2\xd7\xca\xd4\xb4\xb4\xfa\xc2\xeb\n");
    assert_eq!(places(&e), [(0, "")]);
    assert!(e[0].message.contains("UTF-8"));
    let e = errors(FileFormat::Json, b"{not json");
    assert_eq!(places(&e), [(0, "")]);
    let e = errors(FileFormat::Json, br#"{"name": "x"}"#);
    assert_eq!(places(&e), [(0, "")]);
    let e = errors(FileFormat::Dcat, b"{}");
    assert_eq!(places(&e), [(0, "")]);
}

#[test]
fn json_unknown_field_and_bad_type_at_entry_index() {
    let doc = br#"[
        {"name": "a", "items": [{"name": "x", "length": 18}]},
        {"name": "b", "colour": "red"},
        {"name": "c", "items": [{"name": "x", "length": "long"}]},
        {"name": "d", "items": [{"name": "x", "size": 1}]}
    ]"#;
    let e = errors(FileFormat::Json, doc);
    assert_eq!(places(&e), [(2, "colour"), (3, ""), (4, "size")]);
    assert!(e[0].message.contains("unknown field `colour`"));
    assert!(e[1].message.contains("invalid type"));
}

#[test]
fn every_error_at_once_and_nothing_returned() {
    let mut header = MIN_HEADER.to_vec();
    header.push("审核人");
    let mut r2 = min_row("301001/000001", "名称");
    r2.push("");
    let mut r3 = min_row("301001/000001", "代码");
    r3[7] = "x";
    r3.push("");
    let mut r4 = min_row("301001/000002", "名称");
    r4[10] = "也许";
    r4.push("");
    let mut r5 = min_row("301001/000002", "代码");
    r5[1] = "别的名称";
    r5.push("");
    let [e, _] = both(&[header, r2, r3, r4, r5]);
    assert_eq!(places(&e), [(1, "审核人"), (3, "数据长度"), (4, "是否向社会开放"), (5, "信息资源名称")]);
}

#[test]
fn merged_cells_continue_the_entry_above() {
    // Entry columns filled only on the first row of the entry, as with merged cells.
    let r3: Vec<&str> = vec!["", "", "", "", "", "代码", "C", "18", "", "", "", ""];
    let r4: Vec<&str> = vec!["", "", "", "", "", "地址", "C", "200", "", "", "", ""];
    let rows = vec![MIN_HEADER.to_vec(), min_row("301001/000001", "名称"), r3, r4, min_row("301001/000002", "名称")];
    let parsed = parse(FileFormat::Xlsx, &xlsx(&rows)).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].input.items.as_ref().unwrap().len(), 3);
    assert_eq!(parsed[0].input.items.as_ref().unwrap()[2].length, Some(200));
    assert_eq!(parsed[1].first_row, 5);
}

#[test]
fn entries_without_code_group_by_name_and_provider() {
    let mut header = MIN_HEADER.to_vec();
    header.push("信息资源提供方");
    let row = |name: &'static str, item: &'static str, prov: &'static str| {
        let mut r = min_row("", item);
        r[1] = name;
        r.push(prov);
        r
    };
    let rows =
        vec![header, row("甲", "a", "某局"), row("甲", "b", "某局"), row("甲", "c", "某厅"), row("乙", "d", "某厅")];
    let parsed = parse(FileFormat::Csv, &csv(&rows)).unwrap();
    assert_eq!(parsed.iter().map(|p| p.first_row).collect::<Vec<_>>(), [2, 4, 5]);
    assert_eq!(parsed[0].provider_name.as_deref(), Some("某局"));
    assert_eq!(parsed[1].provider_name.as_deref(), Some("某厅"));
}

#[test]
fn class_only_codes_of_different_entries_are_separate_entries() {
    // The template lets a department fill only the classification code of new entries; two new entries of the
    // same class are told apart by their names (rows without a name continue the entry above).
    let mut second = min_row("301001", "许可证编号");
    second[1] = "行政许可信息";
    let mut third = min_row("301001", "许可事项");
    third[1] = "";
    let rows = vec![MIN_HEADER.to_vec(), min_row("301001", "名称"), min_row("301001", "代码"), second, third];
    for (fmt, bytes) in [(FileFormat::Xlsx, xlsx(&rows)), (FileFormat::Csv, csv(&rows))] {
        let parsed = parse(fmt, &bytes).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].input.name.as_deref(), Some("企业登记信息"));
        assert_eq!(parsed[0].input.items.as_ref().unwrap().len(), 2);
        assert_eq!(parsed[1].input.name.as_deref(), Some("行政许可信息"));
        assert_eq!(parsed[1].input.items.as_ref().unwrap().len(), 2);
        assert_eq!(parsed[1].first_row, 4);
    }
}
