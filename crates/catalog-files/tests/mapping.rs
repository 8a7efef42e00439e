//! Header synonyms and reordering, Chinese ↔ API values both ways, legacy per-item share types, locate().

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use common::{MIN_HEADER, csv, min_row, sample_entries, xlsx};
use shuqiao_catalog_files::{FileFormat, ParsedEntry, export, parse};

fn one(format: FileFormat, rows: &[Vec<&str>]) -> ParsedEntry {
    let bytes = if format == FileFormat::Xlsx { xlsx(rows) } else { csv(rows) };
    let mut parsed = parse(format, &bytes).unwrap();
    assert_eq!(parsed.len(), 1);
    parsed.remove(0)
}

#[test]
fn synonyms_and_shuffled_columns() {
    let header = vec![
        "更新频率",
        "资源名称",
        "共享方式类型",
        "数据长度",
        "资源代码",
        "摘要",
        "格式类型",
        "数据类型",
        "信息项名称",
        "是否开放",
        "格式分类",
        "共享类型",
        "序号",
        "信息资源分类(类)",
        " 提供方 ",
        "统一社会信用代码",
    ];
    let row = vec![
        "每周",
        "企业登记信息",
        "库表、文件",
        "18",
        "301001/000001",
        "摘要",
        "MySQL",
        "C 字符型",
        "名称",
        "是",
        "数据库",
        "无条件共享",
        "1",
        "3",
        "某局",
        "11130100MB0123456F",
    ];
    for format in [FileFormat::Xlsx, FileFormat::Csv] {
        let p = one(format, &[header.clone(), row.clone()]);
        let i = &p.input;
        assert_eq!(i.name.as_deref(), Some("企业登记信息"));
        assert_eq!(i.code.as_deref(), Some("301001/000001"));
        assert_eq!(i.update_cycle.as_deref(), Some("weekly"));
        assert_eq!(i.class.as_ref().unwrap().lei, Some(3));
        assert_eq!(i.open.as_ref().unwrap().open, Some(true));
        let share = i.share.as_ref().unwrap();
        assert_eq!(share.kind.as_deref(), Some("unconditional"));
        assert_eq!(share.modes.clone().unwrap(), ["sync", "file"]);
        let item = &i.items.as_ref().unwrap()[0];
        assert_eq!((item.data_type.as_deref(), item.length), (Some("C"), Some(18)));
        assert_eq!(p.provider_name.as_deref(), Some("某局"));
        assert_eq!(p.provider_credit_code.as_deref(), Some("11130100MB0123456F"));
        // locate names the column as the file writes it.
        assert_eq!(p.locate("name"), (2, "资源名称".to_owned()));
        assert_eq!(p.locate("update_cycle"), (2, "更新频率".to_owned()));
    }
}

#[test]
fn header_below_a_title_row() {
    let title = vec!["某市市场监督管理局政务信息资源目录（2025 年）"];
    let p = one(FileFormat::Xlsx, &[title, MIN_HEADER.to_vec(), min_row("301001/000001", "名称")]);
    assert_eq!(p.first_row, 3);
    assert_eq!(p.locate("items[0].name"), (3, "信息项名称".to_owned()));
}

#[test]
fn chinese_values_to_api_values() {
    type Get = dyn Fn(&ParsedEntry) -> Option<String>;
    let cases: [(usize, &str, &Get, &str); 12] = [
        (8, "有条件共享", &|p| p.input.share.as_ref().unwrap().kind.clone(), "conditional"),
        (8, "不予共享", &|p| p.input.share.as_ref().unwrap().kind.clone(), "not_shared"),
        (8, "conditional", &|p| p.input.share.as_ref().unwrap().kind.clone(), "conditional"),
        (8, "部分共享", &|p| p.input.share.as_ref().unwrap().kind.clone(), "部分共享"),
        (11, "每半年", &|p| p.input.update_cycle.clone(), "half_yearly"),
        (11, "实时", &|p| p.input.update_cycle.clone(), "realtime"),
        (11, "每季度", &|p| p.input.update_cycle.clone(), "quarterly"),
        (11, "每年", &|p| p.input.update_cycle.clone(), "yearly"),
        (11, "不定期", &|p| p.input.update_cycle.clone(), "irregular"),
        (11, "monthly", &|p| p.input.update_cycle.clone(), "monthly"),
        (11, "每两年", &|p| p.input.update_cycle.clone(), "每两年"),
        (6, "日期时间型", &|p| p.input.items.as_ref().unwrap()[0].data_type.clone(), "T"),
    ];
    for (col, text, get, want) in cases {
        let mut row = min_row("301001/000001", "名称");
        row[col] = text;
        let p = one(FileFormat::Csv, &[MIN_HEADER.to_vec(), row]);
        assert_eq!(get(&p).as_deref(), Some(want), "{text}");
    }
    let modes = |text: &str| {
        let mut row = min_row("301001/000001", "名称");
        row[9] = text;
        one(FileFormat::Csv, &[MIN_HEADER.to_vec(), row]).input.share.unwrap().modes.unwrap()
    };
    assert_eq!(modes("接口"), ["query", "verify"]);
    assert_eq!(modes("库表"), ["sync"]);
    assert_eq!(modes("文件；接口"), ["file", "query", "verify"]);
    assert_eq!(modes("query,api"), ["query", "api"]);
    assert_eq!(modes("传真"), ["传真"]);
    assert!(modes("").is_empty());
}

#[test]
fn yes_no_secret_grade_related() {
    let mut header = MIN_HEADER.to_vec();
    header.extend(["是否基础信息项", "涉密属性", "数据分级", "关联资源代码", "信息资源分类（细目）"]);
    let mut row = min_row("301001001/000001", "名称");
    row[10] = "否";
    row.extend(["是", "非涉密", "重要数据", "101001/000001；201002/000003,301001/000009、", "1"]);
    let p = one(FileFormat::Xlsx, &[header.clone(), row.clone()]);
    assert_eq!(p.input.open.as_ref().unwrap().open, Some(false));
    assert_eq!(p.input.items.as_ref().unwrap()[0].basic, Some(true));
    assert_eq!(p.input.secret, Some(false));
    assert_eq!(p.input.grade.as_deref(), Some("重要"));
    assert_eq!(p.input.related.clone().unwrap(), ["101001/000001", "201002/000003", "301001/000009"]);
    assert_eq!(p.input.class.as_ref().unwrap().ximu, Some(1));
    row[13] = "涉密";
    assert_eq!(one(FileFormat::Xlsx, &[header, row]).input.secret, Some(true));
}

#[test]
fn class_is_taken_from_the_code_when_class_columns_are_blank() {
    let p = one(FileFormat::Csv, &[MIN_HEADER.to_vec(), min_row("203010/000001", "名称")]);
    let c = p.input.class.as_ref().unwrap();
    assert_eq!((c.lei, c.xiang, c.mu, c.ximu), (Some(2), Some(3), Some(10), None));
    assert_eq!(p.locate("class.xiang"), (2, "信息资源代码".to_owned()));
}

#[test]
fn export_writes_chinese_values() {
    let bytes = export(FileFormat::Csv, &sample_entries(), "").unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    let col = |h: &str| headers.iter().position(|x| x == h).unwrap();
    let get = |r: usize, h: &str| rows[r][col(h)].clone();
    assert_eq!(get(0, "共享类型"), "有条件共享");
    assert_eq!(get(0, "共享方式类型"), "接口");
    assert_eq!(get(0, "共享方式"), "verify,query");
    assert_eq!(get(0, "更新周期"), "每日");
    assert_eq!(get(0, "是否基础信息项"), "是");
    assert_eq!(get(3, "是否基础信息项"), "否");
    assert_eq!(get(0, "是否向社会开放"), "否");
    assert_eq!(get(0, "涉密属性"), "非涉密");
    assert_eq!(get(0, "数据分级"), "重要");
    assert_eq!(get(0, "信息项数据分级"), "重要");
    assert_eq!(get(1, "信息项共享类型"), "有条件共享");
    assert_eq!(get(2, "信息项共享类型"), "不予共享");
    assert_eq!(get(2, "信息项数据分级"), "核心");
    assert_eq!(get(3, "信息项共享类型"), "");
    assert_eq!(get(4, "共享类型"), "不予共享");
    assert_eq!(get(4, "更新周期"), "每半年");
    assert_eq!(get(4, "信息资源分类（细目）"), "1");
    assert_eq!(get(4, "信息资源代码"), "301001001/000002");
    assert_eq!(get(4, "信息项名称"), "");
    assert_eq!(get(5, "共享类型"), "无条件共享");
    assert_eq!(get(5, "共享方式类型"), "文件、库表、接口");
    assert_eq!(get(5, "更新周期"), "实时");
    assert_eq!(get(5, "是否向社会开放"), "是");
    assert_eq!(get(5, "数据类型"), "C");
    assert_eq!(get(6, "数据类型"), "T");
    assert_eq!(get(5, "发布日期"), "2025-03-04");
}

#[test]
fn provincial_template_item_rows_that_differ_set_item_share_type_and_grade() {
    let mut header = MIN_HEADER.to_vec();
    header.push("数据分级");
    let row = |item: &'static str, share: &'static str, grade: &'static str| {
        let mut r = min_row("301001/000001", item);
        r[8] = share;
        r.push(grade);
        r
    };
    let rows = vec![
        header,
        row("名称", "有条件共享", "一般"),
        row("代码", "conditional", "一般"),
        row("法定代表人身份证号", "不予共享", "重要"),
        row("地址", "", ""),
    ];
    let p = one(FileFormat::Xlsx, &rows);
    assert_eq!(p.input.share.as_ref().unwrap().kind.as_deref(), Some("conditional"));
    assert_eq!(p.input.grade.as_deref(), Some("一般"));
    let items = p.input.items.as_ref().unwrap();
    let share: Vec<Option<&str>> = items.iter().map(|i| i.share_type.as_deref()).collect();
    assert_eq!(share, [None, None, Some("not_shared"), None]);
    let grade: Vec<Option<&str>> = items.iter().map(|i| i.grade.as_deref()).collect();
    assert_eq!(grade, [None, None, Some("重要"), None]);
    assert_eq!(p.locate("items[2].share_type"), (4, "共享类型".to_owned()));
    assert_eq!(p.locate("items[2].grade"), (4, "数据分级".to_owned()));
}

#[test]
fn locate_item_and_entry_fields() {
    let entries = sample_entries();
    for format in [FileFormat::Xlsx, FileFormat::Csv] {
        let parsed = parse(format, &export(format, &entries, "").unwrap()).unwrap();
        let (p, q, r) = (&parsed[0], &parsed[1], &parsed[2]);
        assert_eq!(p.locate("items[0].name"), (2, "信息项名称".to_owned()));
        assert_eq!(p.locate("items[2].data_type"), (4, "数据类型".to_owned()));
        assert_eq!(p.locate("items[3].length"), (5, "数据长度".to_owned()));
        assert_eq!(p.locate("items[1].basic"), (3, "是否基础信息项".to_owned()));
        assert_eq!(p.locate("items[2].share_type"), (4, "信息项共享类型".to_owned()));
        assert_eq!(p.locate("items[2].grade"), (4, "信息项数据分级".to_owned()));
        assert_eq!(p.locate("items[2]"), (4, "信息项名称".to_owned()));
        assert_eq!(p.locate("items[9].name"), (2, "信息项名称".to_owned()));
        assert_eq!(p.locate("items"), (2, "信息项名称".to_owned()));
        assert_eq!(p.locate("name"), (2, "信息资源名称".to_owned()));
        assert_eq!(p.locate("code"), (2, "信息资源代码".to_owned()));
        assert_eq!(p.locate("class.mu"), (2, "信息资源分类（目）".to_owned()));
        assert_eq!(p.locate("share.legal_basis"), (2, "不予共享依据".to_owned()));
        assert_eq!(p.locate("share.condition"), (2, "共享条件".to_owned()));
        assert_eq!(p.locate("share.modes[1]"), (2, "共享方式".to_owned()));
        assert_eq!(p.locate("share.type"), (2, "共享类型".to_owned()));
        assert_eq!(p.locate("open.open"), (2, "是否向社会开放".to_owned()));
        assert_eq!(p.locate("format.type"), (2, "信息资源格式类型".to_owned()));
        assert_eq!(q.locate("related[1]"), (6, "关联资源代码".to_owned()));
        assert_eq!(q.locate("items"), (6, "信息项名称".to_owned()));
        assert_eq!(r.locate("open.condition"), (7, "开放条件".to_owned()));
        assert_eq!(r.locate("secret"), (7, "涉密属性".to_owned()));
        assert_eq!(r.locate("items[3].data_type"), (10, "数据类型".to_owned()));
        assert_eq!(r.locate("something.else"), (7, "something.else".to_owned()));
    }
    let parsed = parse(FileFormat::Json, &export(FileFormat::Json, &entries, "").unwrap()).unwrap();
    assert_eq!(parsed[2].locate("items[3].data_type"), (3, "items[3].data_type".to_owned()));
}

#[test]
fn locate_points_at_the_row_a_value_came_from() {
    // The legal basis is only on the third row of the entry (merged or sparse cells).
    let mut header = MIN_HEADER.to_vec();
    header.push("不予共享依据");
    let mut r2 = min_row("301001/000001", "名称");
    r2.push("");
    let mut r3 = min_row("301001/000001", "代码");
    r3.push("《某条例》");
    let p = one(FileFormat::Csv, &[header, r2, r3]);
    assert_eq!(p.locate("share.legal_basis"), (3, "不予共享依据".to_owned()));
    assert_eq!(p.locate("share.condition"), (2, "共享条件".to_owned()));
    assert_eq!(p.locate("share.modes"), (2, "共享方式类型".to_owned()));
}
