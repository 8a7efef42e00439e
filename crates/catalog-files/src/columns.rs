//! The spreadsheet columns (`data/catalog-template-columns.tsv` plus three precise extensions), their header
//! synonyms, and header matching by name.

use std::collections::HashMap;

use crate::ImportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Col {
    Lei,
    Xiang,
    Mu,
    Ximu,
    Code,
    Name,
    Provider,
    Unit,
    CreditCode,
    Summary,
    FormatCategory,
    FormatType,
    ItemName,
    DataType,
    Length,
    Basic,
    ShareType,
    ShareCondition,
    LegalBasis,
    Channel,
    ModesZh,
    Open,
    OpenCondition,
    UpdateCycle,
    PublishedOn,
    Related,
    Secret,
    Grade,
    /// Extension: the API mode names, e.g. `query,verify`.
    Modes,
    /// Extension: the item's own share type (blank: the entry's).
    ItemShareType,
    /// Extension: the item's own grade.
    ItemGrade,
}

/// Every column in export order.
pub(crate) const ALL: [Col; 31] = [
    Col::Lei,
    Col::Xiang,
    Col::Mu,
    Col::Ximu,
    Col::Code,
    Col::Name,
    Col::Provider,
    Col::Unit,
    Col::CreditCode,
    Col::Summary,
    Col::FormatCategory,
    Col::FormatType,
    Col::ItemName,
    Col::DataType,
    Col::Length,
    Col::Basic,
    Col::ShareType,
    Col::ShareCondition,
    Col::LegalBasis,
    Col::Channel,
    Col::ModesZh,
    Col::Open,
    Col::OpenCondition,
    Col::UpdateCycle,
    Col::PublishedOn,
    Col::Related,
    Col::Secret,
    Col::Grade,
    Col::Modes,
    Col::ItemShareType,
    Col::ItemGrade,
];

/// Columns that describe one information item (the rest repeat the entry on each row).
pub(crate) const ITEM_COLS: [Col; 6] =
    [Col::ItemName, Col::DataType, Col::Length, Col::Basic, Col::ItemShareType, Col::ItemGrade];

impl Col {
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The header as in the template.
    pub(crate) fn header(self) -> &'static str {
        self.names()[0]
    }

    /// The header first, then accepted synonyms (compared after [`normalize`]).
    fn names(self) -> &'static [&'static str] {
        match self {
            Col::Lei => &["信息资源分类（类）", "分类（类）", "资源分类（类）", "类"],
            Col::Xiang => &["信息资源分类（项）", "分类（项）", "资源分类（项）", "项"],
            Col::Mu => &["信息资源分类（目）", "分类（目）", "资源分类（目）", "目"],
            Col::Ximu => &["信息资源分类（细目）", "分类（细目）", "资源分类（细目）", "细目"],
            Col::Code => &["信息资源代码", "资源代码", "目录代码", "信息资源编码", "资源编码", "code"],
            Col::Name => &["信息资源名称", "资源名称", "目录名称", "name"],
            Col::Provider => {
                &["信息资源提供方", "提供方", "资源提供方", "提供方名称", "信息资源提供单位", "提供单位", "提供部门"]
            }
            Col::Unit => &["提供方内部部门", "内部部门", "提供方内设机构", "内设机构", "处室"],
            Col::CreditCode => &["信息资源提供方代码", "提供方代码", "提供方统一社会信用代码", "统一社会信用代码"],
            Col::Summary => &["信息资源摘要", "资源摘要", "摘要", "信息资源描述", "资源描述", "summary"],
            Col::FormatCategory => &["信息资源格式分类", "资源格式分类", "格式分类"],
            Col::FormatType => &["信息资源格式类型", "资源格式类型", "格式类型", "信息资源格式", "资源格式"],
            Col::ItemName => &["信息项名称", "数据项名称", "字段名称", "字段名", "信息项"],
            Col::DataType => &["数据类型", "信息项数据类型", "字段类型", "data_type"],
            Col::Length => &["数据长度", "长度", "字段长度", "信息项长度", "length"],
            Col::Basic => &["是否基础信息项", "基础信息项", "是否基础项"],
            Col::ShareType => &["共享类型", "共享属性", "资源共享类型"],
            Col::ShareCondition => &["共享条件"],
            Col::LegalBasis => &["不予共享依据", "不共享依据", "不予共享理由"],
            Col::Channel => &["共享方式分类"],
            Col::ModesZh => &["共享方式类型"],
            Col::Open => &["是否向社会开放", "是否开放", "开放属性", "是否向社会公众开放", "是否向社会开放共享"],
            Col::OpenCondition => &["开放条件"],
            Col::UpdateCycle => &["更新周期", "更新频率", "更新频次", "update_cycle"],
            Col::PublishedOn => &["发布日期", "发布时间"],
            Col::Related => &["关联资源代码", "关联资源", "关联信息资源代码"],
            Col::Secret => &["涉密属性", "是否涉密"],
            Col::Grade => &["数据分级", "数据级别", "数据安全级别", "分级"],
            Col::Modes => &["共享方式", "共享方式（接口名）", "modes"],
            Col::ItemShareType => &["信息项共享类型"],
            Col::ItemGrade => &["信息项数据分级", "信息项分级"],
        }
    }

    /// Export column width, in characters.
    pub(crate) fn width(self) -> f64 {
        match self {
            Col::Lei | Col::Xiang | Col::Mu | Col::Ximu => 8.0,
            Col::Name | Col::Provider | Col::Summary | Col::ShareCondition | Col::LegalBasis => 30.0,
            Col::OpenCondition | Col::Related => 24.0,
            _ => 16.0,
        }
    }
}

/// Headers that are recognised and ignored (serial numbers, remarks).
const IGNORED: [&str; 5] = ["序号", "编号", "备注", "说明", "no"];

/// Compares headers leniently: no whitespace, no required-field stars, ASCII lower case, full-width brackets.
pub(crate) fn normalize(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '＊' | '※'))
        .map(|c| match c {
            '(' => '（',
            ')' => '）',
            c => c.to_ascii_lowercase(),
        })
        .collect::<String>()
        .replace("（必填）", "")
        .replace("（选填）", "")
}

fn lookup() -> HashMap<String, Col> {
    let mut m = HashMap::new();
    for col in ALL {
        for name in col.names() {
            m.insert(normalize(name), col);
        }
    }
    m
}

/// The file's header row, matched to columns.
#[derive(Debug)]
pub(crate) struct Header {
    /// Position of each column in the row, by [`Col::index`].
    pub(crate) pos: [Option<usize>; ALL.len()],
    /// Header text per column as in the file; the canonical header for columns the file lacks.
    pub(crate) text: Vec<String>,
}

impl Header {
    pub(crate) fn has(&self, col: Col) -> bool {
        self.pos[col.index()].is_some()
    }
    pub(crate) fn text(&self, col: Col) -> &str {
        self.text.get(col.index()).map_or("", String::as_str)
    }
}

/// How many cells of a row are known headers (to find the header row below a title row).
pub(crate) fn known_count(cells: &[String]) -> usize {
    let m = lookup();
    cells.iter().filter(|c| m.contains_key(&normalize(c))).count()
}

/// Matches a header row. Unknown and duplicate headers and missing required ones are reported at `row`.
pub(crate) fn match_header(cells: &[String], row: usize, errors: &mut Vec<ImportError>) -> Header {
    let m = lookup();
    let mut pos = [None; ALL.len()];
    let mut text: Vec<String> = ALL.iter().map(|c| c.header().to_owned()).collect();
    for (i, cell) in cells.iter().enumerate() {
        let n = normalize(cell);
        if n.is_empty() || IGNORED.contains(&n.as_str()) {
            continue;
        }
        match m.get(&n) {
            Some(&col) => {
                if pos[col.index()].is_some() {
                    errors.push(ImportError::new(
                        row,
                        cell.trim(),
                        format!("列「{}」重复：与另一列同为「{}」 (duplicate column)", cell.trim(), col.header()),
                    ));
                } else {
                    pos[col.index()] = Some(i);
                    if let Some(t) = text.get_mut(col.index()) {
                        *t = cell.trim().to_owned();
                    }
                }
            }
            None => errors.push(ImportError::new(
                row,
                cell.trim(),
                format!("无法识别的列「{}」 (unknown column)", cell.trim()),
            )),
        }
    }
    let header = Header { pos, text };
    let required = [
        Col::Name,
        Col::Summary,
        Col::FormatCategory,
        Col::FormatType,
        Col::ItemName,
        Col::DataType,
        Col::Length,
        Col::ShareType,
        Col::Open,
        Col::UpdateCycle,
    ];
    for col in required {
        if !header.has(col) {
            errors.push(missing(row, col.header()));
        }
    }
    let has_class = header.has(Col::Lei) && header.has(Col::Xiang) && header.has(Col::Mu);
    if !header.has(Col::Code) && !has_class {
        errors.push(missing(row, Col::Code.header()));
    }
    header
}

fn missing(row: usize, header: &str) -> ImportError {
    ImportError::new(row, header, format!("缺少必需的列「{header}」 (missing required column)"))
}
