//! xlsx: reading with calamine, writing with rust_xlsxwriter, and the import template.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use shuqiao_domain::entry::Entry;

use crate::columns::{ALL, Col};
use crate::sheet::{self, Value};
use crate::table::Row;
use crate::{ExportError, ImportError};

/// The sheet of the catalog (read from it if present, else from the first sheet).
pub(crate) const SHEET: &str = "信息资源目录";
const GUIDE: &str = "填写说明";

pub(crate) fn read_rows(bytes: &[u8]) -> Result<Vec<Row>, Vec<ImportError>> {
    if bytes.is_empty() {
        return Err(vec![ImportError::new(1, "", "文件为空 (empty file)")]);
    }
    let unreadable = |e: calamine::XlsxError| {
        vec![ImportError::new(0, "", format!("无法读取 xlsx 文件 (unreadable xlsx file): {e}"))]
    };
    let mut wb: Xlsx<_> = Reader::new(Cursor::new(bytes)).map_err(unreadable)?;
    let names = wb.sheet_names();
    let Some(name) = names.iter().find(|n| n.trim() == SHEET).or_else(|| names.first()).cloned() else {
        return Err(vec![ImportError::new(1, "", "文件为空：没有工作表 (empty file: no sheet)")]);
    };
    let range = wb.worksheet_range(&name).map_err(unreadable)?;
    let first = range.start().map_or(0, |(r, _)| r as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row { number: first + i + 1, cells: cells.iter().map(cell_text).collect() })
        .collect())
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
            #[allow(clippy::cast_possible_truncation)]
            let n = *f as i64;
            n.to_string()
        }
        Data::Float(f) => f.to_string(),
        Data::String(s) => s.clone(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
        Data::Empty => String::new(),
    }
}

fn xlsx_err(e: XlsxError) -> ExportError {
    ExportError::Xlsx(e.to_string())
}

/// Writes the catalog sheet: bold frozen header row, column widths, then the rows.
fn write_catalog(ws: &mut Worksheet, rows: impl Iterator<Item = Vec<Value>>) -> Result<(), XlsxError> {
    ws.set_name(SHEET)?;
    let bold = Format::new().set_bold().set_text_wrap().set_align(FormatAlign::Center).set_background_color(0xDDEBF7);
    for (c, col) in (0u16..).zip(ALL) {
        ws.write_string_with_format(0, c, col.header(), &bold)?;
        ws.set_column_width(c, col.width())?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (r, row) in (1u32..).zip(rows) {
        for (c, v) in (0u16..).zip(row) {
            match v {
                Value::Text(s) if !s.is_empty() => {
                    ws.write_string(r, c, s)?;
                }
                Value::Int(n) => {
                    #[allow(clippy::cast_precision_loss)]
                    ws.write_number(r, c, n as f64)?;
                }
                Value::Text(_) | Value::Blank => {}
            }
        }
    }
    Ok(())
}

pub(crate) fn write(entries: &[Entry]) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    write_catalog(wb.add_worksheet(), entries.iter().flat_map(sheet::entry_rows)).map_err(xlsx_err)?;
    wb.save_to_buffer().map_err(xlsx_err)
}

/// The template: headers, one example row, and a sheet 填写说明 (column, required, meaning and allowed values).
pub(crate) fn template() -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    write_catalog(wb.add_worksheet(), std::iter::once(ALL.iter().map(|&c| example(c)).collect())).map_err(xlsx_err)?;
    write_guide(wb.add_worksheet()).map_err(xlsx_err)?;
    wb.save_to_buffer().map_err(xlsx_err)
}

fn write_guide(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_name(GUIDE)?;
    let bold = Format::new().set_bold().set_background_color(0xDDEBF7);
    let wrap = Format::new().set_text_wrap();
    for (c, (h, w)) in (0u16..).zip([("列名", 22.0), ("是否必填", 10.0), ("说明及可选值", 90.0)]) {
        ws.write_string_with_format(0, c, h, &bold)?;
        ws.set_column_width(c, w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (r, col) in (1u32..).zip(ALL) {
        let (required, text) = guide(col);
        ws.write_string(r, 0, col.header())?;
        ws.write_string(r, 1, required)?;
        ws.write_string_with_format(r, 2, text, &wrap)?;
    }
    let notes = [
        "每行填写一个信息项；同一信息资源的各行信息资源代码相同且连续，信息资源的各列在各行重复填写（或留空）。",
        "信息资源代码可只填分类码（如 301001），由平台分配顺序码；已发布的代码不可修改。",
        "列的顺序可以调整；列名可用常见同义词（如「资源名称」「资源代码」）。",
    ];
    let start = u32::try_from(ALL.len()).unwrap_or(0) + 2;
    for (r, note) in (start..).zip(notes) {
        ws.write_string(r, 0, note)?;
    }
    Ok(())
}

fn example(col: Col) -> Value {
    let t = |s: &str| Value::Text(s.to_owned());
    match col {
        Col::Lei => Value::Int(3),
        Col::Xiang => Value::Int(1),
        Col::Mu => Value::Int(1),
        Col::Ximu => Value::Blank,
        Col::Code => t("301001/000001"),
        Col::Name => t("企业基本登记信息"),
        Col::Provider => t("某市市场监督管理局"),
        Col::Unit => t("登记注册科"),
        Col::CreditCode => t("11130100MB0123456F"),
        Col::Summary => t("本市登记注册的企业的名称、统一社会信用代码、住所、法定代表人等基本信息。"),
        Col::FormatCategory => t("数据库"),
        Col::FormatType => t("PostgreSQL"),
        Col::ItemName => t("统一社会信用代码"),
        Col::DataType => t("C"),
        Col::Length => Value::Int(18),
        Col::Basic => t("是"),
        Col::ShareType => t("有条件共享"),
        Col::ShareCondition => t("用于企业相关政务服务事项办理"),
        Col::LegalBasis => Value::Blank,
        Col::Channel => t("共享平台"),
        Col::ModesZh => t("接口"),
        Col::Open => t("否"),
        Col::OpenCondition => Value::Blank,
        Col::UpdateCycle => t("每日"),
        Col::PublishedOn => Value::Blank,
        Col::Related => Value::Blank,
        Col::Secret => t("非涉密"),
        Col::Grade => t("一般"),
        Col::Modes => t("query,verify"),
        Col::ItemShareType => Value::Blank,
        Col::ItemGrade => Value::Blank,
    }
}

fn guide(col: Col) -> (&'static str, &'static str) {
    const REQ: &str = "必填";
    const OPT: &str = "选填";
    match col {
        Col::Lei => (OPT, "1 基础 / 2 主题 / 3 部门；留空时取自信息资源代码"),
        Col::Xiang => (OPT, "2 位数字，如 1 或 01；留空时取自信息资源代码"),
        Col::Mu => (OPT, "3 位数字；留空时取自信息资源代码"),
        Col::Ximu => (OPT, "3 位数字，可空"),
        Col::Code => (REQ, "分类码/顺序码，如 301001/000123；或只填分类码 301001 由平台分配顺序码"),
        Col::Name => (REQ, "不超过 100 个字符"),
        Col::Provider => (OPT, "提供方部门名称；导入时以导入人的部门为准"),
        Col::Unit => (OPT, "提供方内部部门（处室）"),
        Col::CreditCode => (OPT, "提供方 18 位统一社会信用代码"),
        Col::Summary => (REQ, "信息资源内容的简要说明"),
        Col::FormatCategory => (REQ, "电子文件 / 电子表格 / 数据库 / 图形图像 / 流媒体 / 自描述格式 / 服务接口"),
        Col::FormatType => (REQ, "如 xlsx、pdf、OFD、PostgreSQL、达梦、KingbaseES、API"),
        Col::ItemName => (REQ, "每行一个信息项"),
        Col::DataType => (
            REQ,
            "C 字符型 / N 数值型 / Y 货币型 / D 日期型 / T 日期时间型 / L 逻辑型 / M 备注型 / G 通用型 / \
             B 双精度型 / I 整型 / F 浮点型（填字母即可）",
        ),
        Col::Length => (REQ, "整数"),
        Col::Basic => (OPT, "是 / 否；基础类信息资源的基础信息项须无条件共享"),
        Col::ShareType => (REQ, "无条件共享 / 有条件共享 / 不予共享"),
        Col::ShareCondition => (OPT, "有条件共享时必填"),
        Col::LegalBasis => (OPT, "不予共享时必填：法律、行政法规或党中央、国务院政策依据"),
        Col::Channel => {
            (OPT, "共享平台 / 邮件 / 拷盘 / 介质交换（纸质报表） / 介质交换（电子文档） / 其他（仅供参考，不导入）")
        }
        Col::ModesZh => (OPT, "库表（sync） / 接口（query、verify） / 文件（file），多个用「、」分隔；不予共享时可空"),
        Col::Open => (REQ, "是 / 否"),
        Col::OpenCondition => (OPT, "向社会有条件开放时填写"),
        Col::UpdateCycle => (REQ, "实时 / 每日 / 每周 / 每月 / 每季度 / 每半年 / 每年 / 不定期"),
        Col::PublishedOn => (OPT, "YYYY-MM-DD，发布时由平台填写（不导入）"),
        Col::Related => (OPT, "关联的信息资源代码，多个用 ; 或 ， 分隔"),
        Col::Secret => (OPT, "非涉密（涉密数据不得登记）"),
        Col::Grade => (OPT, "一般 / 重要 / 核心（GB/T 43697）"),
        Col::Modes => {
            (OPT, "扩展列：共享方式的接口名 query / verify / sync / file / api，用逗号分隔；填写时优先于共享方式类型")
        }
        Col::ItemShareType => (OPT, "扩展列：信息项自身的共享类型（留空则同信息资源）"),
        Col::ItemGrade => (OPT, "扩展列：信息项自身的数据分级（留空则无）"),
    }
}
