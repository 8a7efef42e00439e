//! CSV: the same columns as the xlsx, UTF-8 with an optional BOM (export writes one so that Excel opens it as
//! UTF-8).

use shuqiao_domain::entry::Entry;

use crate::table::Row;
use crate::{ExportError, ImportError, sheet};

const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) fn read_rows(bytes: &[u8]) -> Result<Vec<Row>, Vec<ImportError>> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(vec![ImportError::new(
            0,
            "",
            "CSV 文件不是 UTF-8 编码，请在 Excel 中另存为「CSV UTF-8」 (the CSV file is not UTF-8)",
        )]);
    }
    let mut reader = ::csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => rows.push(Row { number: i + 1, cells: r.iter().map(str::to_owned).collect() }),
            Err(e) => errors.push(ImportError::new(i + 1, "", format!("无法读取 CSV 行 (unreadable CSV row): {e}"))),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

pub(crate) fn write(entries: &[Entry]) -> Result<Vec<u8>, ExportError> {
    let err = |e: ::csv::Error| ExportError::Csv(e.to_string());
    let mut writer = ::csv::WriterBuilder::new().from_writer(BOM.to_vec());
    writer.write_record(sheet::headers()).map_err(err)?;
    for e in entries {
        for row in sheet::entry_rows(e) {
            writer.write_record(row.iter().map(sheet::Value::to_text)).map_err(err)?;
        }
    }
    writer.into_inner().map_err(|e| ExportError::Csv(e.to_string()))
}
