//! Catalog import and export (SPEC §4): the department spreadsheet template (xlsx and CSV, one row per
//! information item with the entry's columns repeated), JSON, and DCAT-AP 3 JSON-LD for the open part.
//!
//! Import is two-stage: [`parse`] reports every *structural* problem of a file (headers, non-integer numbers,
//! bad 是/否, rows of one entry that disagree, …) with row and column, and otherwise yields loose
//! [`EntryInput`]s; the platform then validates each with `validate_entry` and maps the field errors back to the
//! file with [`ParsedEntry::locate`].
//!
//! Value mapping between the spreadsheet and the API (both directions; API values are accepted as well):
//! - 共享类型 无条件共享 / 有条件共享 / 不予共享 ↔ `unconditional` / `conditional` / `not_shared`;
//! - 共享方式类型 库表 ↔ `sync`, 接口 ↔ `query` + `verify` (and `api`), 文件 ↔ `file`; the extension column
//!   共享方式 holds the exact API mode names (`query,verify`) and wins over 共享方式类型 when filled;
//! - 更新周期 实时 / 每日 / 每周 / 每月 / 每季度 / 每半年 / 每年 / 不定期 ↔ `realtime` … `irregular`;
//! - 是 / 否 ↔ `true` / `false`; 涉密属性 非涉密 / 涉密 ↔ `secret` false / true;
//! - 数据类型 `C`, `C 字符型` or `字符型` → `C`; 数据分级 一般 / 重要 / 核心 as in the API;
//! - 关联资源代码 separated by `;`, `；`, `,`, `，` or `、`.
//!
//! Per-item share type and grade: the extension columns 信息项共享类型 and 信息项数据分级 hold them exactly (and
//! then 共享类型 and 数据分级 are entry columns like any other). Without them (provincial templates), an item
//! row whose 共享类型 or 数据分级 differs from the entry's value (its first filled row) sets that item's
//! `share_type` or `grade`.

mod columns;
mod csv;
mod dcat;
mod json;
mod sheet;
mod table;
mod values;
mod xlsx;

use std::collections::HashMap;
use std::sync::Arc;

use shuqiao_domain::entry::{Entry, EntryInput};

use crate::columns::Col;

/// One entry read from a file, not yet validated.
#[derive(Debug, Clone)]
pub struct ParsedEntry {
    /// Loose input; the platform validates it with `validate_entry`.
    pub input: EntryInput,
    /// From 信息资源提供方 (or `provider.name` in JSON).
    pub provider_name: Option<String>,
    /// From 信息资源提供方代码 (or `provider.credit_code` in JSON).
    pub provider_credit_code: Option<String>,
    /// From 提供方内部部门 (or `provider.unit` in JSON).
    pub provider_unit: Option<String>,
    /// 1-based row in the sheet/CSV (header row is 1) or 1-based index in JSON.
    pub first_row: usize,
    origin: Origin,
}

#[derive(Debug, Clone)]
enum Origin {
    Json,
    Table(TableOrigin),
}

/// Where each value of a spreadsheet entry came from.
#[derive(Debug, Clone)]
struct TableOrigin {
    /// Header text per column, as written in the file (canonical name for columns the file lacks).
    headers: Arc<Vec<String>>,
    /// Row each entry-level value was taken from.
    rows: HashMap<Col, usize>,
    /// The class was derived from the code (the file has no filled class columns).
    class_from_code: bool,
    /// The column the share modes came from.
    modes_col: Col,
    items: Vec<ItemOrigin>,
}

#[derive(Debug, Clone)]
struct ItemOrigin {
    row: usize,
    share_col: Col,
    grade_col: Col,
}

impl ParsedEntry {
    /// Maps a validation field path (e.g. `name`, `items[2].data_type`, `share.legal_basis`, `code`) to
    /// `(row, column header)` in the source file; for JSON: `(index + 1, field path)`.
    pub fn locate(&self, field: &str) -> (usize, String) {
        match &self.origin {
            Origin::Json => (self.first_row, field.to_owned()),
            Origin::Table(t) => table::locate(t, self.first_row, field),
        }
    }
}

/// One problem of an imported file, as served in the 422 answer of `POST /catalog/import`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

impl ImportError {
    pub(crate) fn new(row: usize, column: impl Into<String>, message: impl Into<String>) -> Self {
        ImportError { row, column: column.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("xlsx: {0}")]
    Xlsx(String),
    #[error("csv: {0}")]
    Csv(String),
    #[error("json: {0}")]
    Json(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Xlsx,
    Csv,
    Json,
    Dcat,
}

impl FileFormat {
    /// From a `Content-Type` header (parameters such as `charset` are ignored).
    pub fn from_content_type(ct: &str) -> Option<FileFormat> {
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(FileFormat::Xlsx),
            "text/csv" | "application/csv" | "text/comma-separated-values" => Some(FileFormat::Csv),
            "application/json" | "text/json" => Some(FileFormat::Json),
            "application/ld+json" => Some(FileFormat::Dcat),
            _ => None,
        }
    }

    /// From a `?format=` value, an extension or a file name (`xlsx`, `.csv`, `目录.json`, `dcat`, `jsonld`).
    pub fn from_name(ext_or_format: &str) -> Option<FileFormat> {
        let s = ext_or_format.trim().to_ascii_lowercase();
        let ext = s.rsplit('.').next().unwrap_or("");
        match ext {
            "xlsx" => Some(FileFormat::Xlsx),
            "csv" => Some(FileFormat::Csv),
            "json" => Some(FileFormat::Json),
            "dcat" | "jsonld" | "json-ld" => Some(FileFormat::Dcat),
            _ => None,
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Json => "application/json",
            FileFormat::Dcat => "application/ld+json",
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
            FileFormat::Dcat => "jsonld",
        }
    }
}

/// Parses a whole file. Every structural error (unknown or missing required header, non-integer length, bad
/// 是/否, rows of one entry that disagree on an entry column, empty or unreadable file) is reported with row and
/// column, all at once; nothing is returned on error. Row 0 means the file as a whole.
pub fn parse(format: FileFormat, bytes: &[u8]) -> Result<Vec<ParsedEntry>, Vec<ImportError>> {
    match format {
        FileFormat::Xlsx => table::parse_rows(xlsx::read_rows(bytes)?),
        FileFormat::Csv => table::parse_rows(csv::read_rows(bytes)?),
        FileFormat::Json => json::parse(bytes),
        FileFormat::Dcat => Err(vec![ImportError::new(
            0,
            "",
            "不支持导入 DCAT 文件，请使用 xlsx、CSV 或 JSON (DCAT import is not supported)",
        )]),
    }
}

/// Exports entries. `base_url` (e.g. `https://data.example.gov.cn`) forms the IRIs of the DCAT export.
pub fn export(format: FileFormat, entries: &[Entry], base_url: &str) -> Result<Vec<u8>, ExportError> {
    match format {
        FileFormat::Xlsx => xlsx::write(entries),
        FileFormat::Csv => csv::write(entries),
        FileFormat::Json => json::export(entries),
        FileFormat::Dcat => dcat::export(entries, base_url),
    }
}

/// The import template: headers, one example row, and a second sheet 填写说明 with the allowed values.
pub fn template_xlsx() -> Result<Vec<u8>, ExportError> {
    xlsx::template()
}
