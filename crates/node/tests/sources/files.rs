use std::time::Duration;

use shuqiao_exchange::Reply;

use crate::conformance::{self, COLUMNS, ROWS, row};

fn cells(i: usize) -> Vec<String> {
    let (sfzh, xm, age, born, score, note, updated) = row(i);
    vec![sfzh, xm, age.to_string(), born, score.to_string(), note.unwrap_or_default(), updated]
}

fn write_csv(path: &std::path::Path, rows: usize) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(COLUMNS).unwrap();
    for i in 0..rows {
        w.write_record(cells(i)).unwrap();
    }
    w.flush().unwrap();
}

#[tokio::test]
async fn csv_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("residents.csv");
    write_csv(&path, ROWS);
    let sources = conformance::sources(&format!("csv://{}", path.display()), dir.path());
    conformance::run(&sources, false).await;

    // The file is read again when it changes.
    tokio::time::sleep(Duration::from_millis(20)).await;
    write_csv(&path, 3);
    let f = std::fs::File::options().append(true).open(&path).unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5)).unwrap();
    let q = shuqiao_node::plan::QueryRequest {
        table: "residents",
        columns: &["sfzh".to_owned()],
        key_columns: &["sfzh".to_owned()],
        filters: &[],
        after: None,
        limit: 100,
    };
    match sources.query("s", &q).await {
        Reply::Rows { rows, .. } => assert_eq!(rows.len(), 3),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn xlsx_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hukou.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("residents").unwrap();
    for (c, name) in COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    for i in 0..ROWS {
        let r = (i + 1) as u32;
        let (sfzh, xm, age, born, score, note, updated) = row(i);
        sheet.write_string(r, 0, sfzh).unwrap();
        sheet.write_string(r, 1, xm).unwrap();
        sheet.write_number(r, 2, age as f64).unwrap();
        sheet.write_string(r, 3, born).unwrap();
        sheet.write_number(r, 4, score).unwrap();
        if let Some(n) = note {
            sheet.write_string(r, 5, n).unwrap();
        }
        sheet.write_string(r, 6, updated).unwrap();
    }
    book.add_worksheet().set_name("other").unwrap().write_string(0, 0, "x").unwrap();
    book.save(&path).unwrap();
    let sources = conformance::sources(&format!("xlsx://{}", path.display()), dir.path());
    conformance::run(&sources, false).await;
    match sources.columns("s", "other").await {
        Reply::Columns { columns } => assert_eq!(columns.len(), 1),
        other => panic!("{other:?}"),
    }
}
