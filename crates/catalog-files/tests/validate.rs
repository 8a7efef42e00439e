//! With the platform's validation: parsed files validate, and validation errors map back to rows and columns.

#![allow(clippy::unwrap_used)]

mod common;

use common::{MIN_HEADER, csv, min_row, sample_entries};
use shuqiao_catalog_files::{FileFormat, ParsedEntry, export, parse, template_xlsx};
use shuqiao_domain::rules::RuleSet;
use shuqiao_domain::validate::validate_entry;

/// Every validation error of every entry as (row, column).
fn located(parsed: &[ParsedEntry]) -> Vec<(usize, String)> {
    let rules = RuleSet::national_2025();
    let mut out = Vec::new();
    for p in parsed {
        if let Err(errs) = validate_entry(&p.input, &rules) {
            out.extend(errs.iter().map(|e| p.locate(&e.field)));
        }
    }
    out
}

#[test]
fn template_example_is_valid() {
    let parsed = parse(FileFormat::Xlsx, &template_xlsx().unwrap()).unwrap();
    let spec = validate_entry(&parsed[0].input, &RuleSet::national_2025()).unwrap();
    assert_eq!(spec.name, "企业基本登记信息");
    assert_eq!(spec.unit.as_deref(), Some("登记注册科"));
}

#[test]
fn validation_errors_of_an_export_map_to_cells() {
    // The sample entries break three rules: basic items of a basic resource must be unconditional (item 0
    // inherits `conditional` from the entry, item 1 sets it itself), an entry without items, a length of 0.
    let s = |r: usize, c: &str| (r, c.to_owned());
    for format in [FileFormat::Xlsx, FileFormat::Csv] {
        let parsed = parse(format, &export(format, &sample_entries(), "").unwrap()).unwrap();
        assert_eq!(
            located(&parsed),
            [s(2, "共享类型"), s(3, "信息项共享类型"), s(6, "信息项名称"), s(8, "数据长度")],
            "{format:?}"
        );
    }
    let parsed = parse(FileFormat::Json, &export(FileFormat::Json, &sample_entries(), "").unwrap()).unwrap();
    assert_eq!(
        located(&parsed),
        [s(1, "items[0].share_type"), s(1, "items[1].share_type"), s(2, "items"), s(3, "items[1].length")]
    );
}

#[test]
fn unknown_values_pass_through_to_validation() {
    let mut r2 = min_row("301001/000001", "名称");
    r2[11] = "每两年";
    let mut r3 = min_row("301001/000001", "代码");
    r3[6] = "X 未知型";
    r3[11] = "每两年";
    let parsed = parse(FileFormat::Csv, &csv(&[MIN_HEADER.to_vec(), r2, r3])).unwrap();
    assert_eq!(parsed[0].input.update_cycle.as_deref(), Some("每两年"));
    let cells = located(&parsed);
    assert!(cells.contains(&(2, "更新周期".to_owned())), "{cells:?}");
    assert!(cells.contains(&(3, "数据类型".to_owned())), "{cells:?}");
}
