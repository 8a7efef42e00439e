//! export → parse yields `EntryInput::from(&entry)` for xlsx, CSV and JSON; the template parses.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use common::{content, sample_entries};
use shuqiao_catalog_files::{FileFormat, export, parse, template_xlsx};
use shuqiao_domain::entry::EntryInput;

fn round_trip(format: FileFormat) {
    let entries = sample_entries();
    let bytes = export(format, &entries, "https://data.example.gov.cn").unwrap();
    let parsed = parse(format, &bytes).unwrap();
    assert_eq!(parsed.len(), entries.len());
    for (p, e) in parsed.iter().zip(&entries) {
        assert_eq!(content(&p.input), content(&EntryInput::from(e)), "{format:?} {}", e.name);
        assert_eq!(p.provider_name.as_deref(), Some(e.provider.name.as_str()));
        assert_eq!(p.provider_credit_code.as_deref(), Some(e.provider.credit_code.as_str()));
        assert_eq!(p.provider_unit, e.provider.unit);
    }
}

#[test]
fn xlsx_round_trip() {
    round_trip(FileFormat::Xlsx);
}

#[test]
fn csv_round_trip() {
    round_trip(FileFormat::Csv);
}

#[test]
fn json_round_trip() {
    round_trip(FileFormat::Json);
}

#[test]
fn spreadsheet_rows_and_first_rows() {
    let entries = sample_entries();
    for format in [FileFormat::Xlsx, FileFormat::Csv] {
        let parsed = parse(format, &export(format, &entries, "").unwrap()).unwrap();
        // Header is row 1; entry 1 has 4 items (rows 2–5), entry 2 none (row 6), entry 3 from row 7.
        assert_eq!(parsed.iter().map(|p| p.first_row).collect::<Vec<_>>(), [2, 6, 7]);
        assert_eq!(parsed[1].input.items.as_ref().unwrap().len(), 0);
    }
}

#[test]
fn json_export_is_full_entry_json_and_first_rows_are_indexes() {
    let entries = sample_entries();
    let bytes = export(FileFormat::Json, &entries, "").unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v[0]["code"], "101001/000123");
    assert_eq!(v[0]["status"], "draft");
    assert_eq!(v[2]["published_on"], "2025-03-04");
    assert_eq!(v[1]["class"]["ximu"], 1);
    let parsed = parse(FileFormat::Json, &bytes).unwrap();
    assert_eq!(parsed.iter().map(|p| p.first_row).collect::<Vec<_>>(), [1, 2, 3]);
    // `{"entries": [...]}` is accepted too.
    let wrapped = serde_json::to_vec(&serde_json::json!({ "entries": v })).unwrap();
    assert_eq!(parse(FileFormat::Json, &wrapped).unwrap().len(), 3);
}

#[test]
fn csv_export_has_bom_and_chinese_values() {
    let bytes = export(FileFormat::Csv, &sample_entries(), "").unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("信息资源分类（类）,信息资源分类（项）,"));
    for s in [
        "有条件共享",
        "不予共享",
        "无条件共享",
        "每半年",
        "每日",
        "实时",
        "文件、库表、接口",
        "接口",
        "非涉密",
        "是",
        "否",
    ] {
        assert!(text.contains(s), "{s}");
    }
    // The precise modes, in the entry's order.
    assert!(text.contains("\"verify,query\"") || text.contains(",verify,query,") || text.contains("verify,query"));
    assert!(text.contains("2025-03-04"));
    assert!(text.contains("101001/000123;203010/000010"));
}

#[test]
fn template_has_example_and_guide_and_parses() {
    let bytes = template_xlsx().unwrap();
    let parsed = parse(FileFormat::Xlsx, &bytes).unwrap();
    assert_eq!(parsed.len(), 1);
    let p = &parsed[0];
    assert_eq!(p.first_row, 2);
    assert_eq!(p.input.code.as_deref(), Some("301001/000001"));
    assert_eq!(p.input.share.as_ref().unwrap().kind.as_deref(), Some("conditional"));
    assert_eq!(p.input.share.as_ref().unwrap().modes.as_deref(), Some(&["query".to_owned(), "verify".to_owned()][..]));
    assert_eq!(p.input.update_cycle.as_deref(), Some("daily"));
    assert_eq!(p.input.items.as_ref().unwrap()[0].basic, Some(true));
    assert_eq!(p.provider_unit.as_deref(), Some("登记注册科"));

    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), ["信息资源目录", "填写说明"]);
    let guide = wb.worksheet_range("填写说明").unwrap();
    let text: Vec<String> =
        guide.rows().map(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>().join("|")).collect();
    assert!(text[0].starts_with("列名|是否必填|"));
    let share = text.iter().find(|l| l.starts_with("共享类型|")).unwrap();
    assert!(share.contains("无条件共享 / 有条件共享 / 不予共享"));
    assert!(text.iter().any(|l| l.starts_with("更新周期|必填|实时 / 每日")));
}

#[test]
fn xlsx_export_sheet_and_numbers() {
    let bytes = export(FileFormat::Xlsx, &sample_entries(), "").unwrap();
    use calamine::{Data, Reader};
    let mut wb: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), ["信息资源目录"]);
    let range = wb.worksheet_range("信息资源目录").unwrap();
    assert_eq!(range.get((0, 4)), Some(&Data::String("信息资源代码".into())));
    assert_eq!(range.get((1, 0)), Some(&Data::Float(1.0)));
    assert_eq!(range.get((1, 4)), Some(&Data::String("101001/000123".into())));
    assert_eq!(range.height(), 1 + 4 + 1 + 4);
}

#[test]
fn formats_by_name_and_content_type() {
    use FileFormat::*;
    assert_eq!(FileFormat::from_name("xlsx"), Some(Xlsx));
    assert_eq!(FileFormat::from_name("目录.CSV"), Some(Csv));
    assert_eq!(FileFormat::from_name(".json"), Some(Json));
    assert_eq!(FileFormat::from_name("dcat"), Some(Dcat));
    assert_eq!(FileFormat::from_name("jsonld"), Some(Dcat));
    assert_eq!(FileFormat::from_name("xml"), None);
    assert_eq!(
        FileFormat::from_content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        Some(Xlsx)
    );
    assert_eq!(FileFormat::from_content_type("text/csv; charset=utf-8"), Some(Csv));
    assert_eq!(FileFormat::from_content_type("Application/JSON"), Some(Json));
    assert_eq!(FileFormat::from_content_type("application/ld+json"), Some(Dcat));
    assert_eq!(FileFormat::from_content_type("text/plain"), None);
    for f in [Xlsx, Csv, Json, Dcat] {
        assert_eq!(FileFormat::from_content_type(f.content_type()), Some(f));
        assert_eq!(FileFormat::from_name(f.extension()), Some(f));
    }
}
