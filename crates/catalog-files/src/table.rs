//! Spreadsheet rows (xlsx or CSV, already read into strings) → entries, and validation paths → cells.

use std::collections::HashMap;
use std::sync::Arc;

use shuqiao_domain::entry::{ClassInput, EntryInput, FormatInput, ItemInput, OpenInput, ShareInput};

use crate::columns::{self, Col, Header, ITEM_COLS};
use crate::values;
use crate::{ImportError, ItemOrigin, Origin, ParsedEntry, TableOrigin};

/// One row of the sheet with its 1-based row number.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) number: usize,
    pub(crate) cells: Vec<String>,
}

pub(crate) fn parse_rows(rows: Vec<Row>) -> Result<Vec<ParsedEntry>, Vec<ImportError>> {
    let rows: Vec<Row> = rows.into_iter().filter(|r| r.cells.iter().any(|c| !c.trim().is_empty())).collect();
    // The header is the first row unless a title row or two sit above it.
    let hidx = rows.iter().take(10).position(|r| columns::known_count(&r.cells) >= 3).unwrap_or(0);
    let Some(header_row) = rows.get(hidx) else {
        return Err(vec![ImportError::new(1, "", "文件为空 (empty file)")]);
    };
    let mut errors = Vec::new();
    let header = columns::match_header(&header_row.cells, header_row.number, &mut errors);
    let data = rows.get(hidx + 1..).unwrap_or_default();
    if data.is_empty() {
        errors.push(ImportError::new(header_row.number + 1, "", "没有数据行 (no data rows)"));
        return Err(errors);
    }
    let headers = Arc::new(header.text.clone());
    let groups = group(data, &header, &mut errors);
    let entries: Vec<ParsedEntry> = groups
        .iter()
        .map(|g| Builder { h: &header, errors: &mut errors, rows: HashMap::new() }.build(g, &headers))
        .collect();
    if errors.is_empty() {
        Ok(entries)
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

fn cell<'a>(h: &Header, row: &'a Row, col: Col) -> &'a str {
    h.pos[col.index()].and_then(|i| row.cells.get(i)).map_or("", |s| s.trim())
}

/// Consecutive rows with the same code (or, without a code, the same name and provider) form one entry; a
/// row whose code and name are blank continues the entry above (merged cells).
fn group<'a>(data: &'a [Row], h: &Header, errors: &mut Vec<ImportError>) -> Vec<Vec<&'a Row>> {
    /// A group of rows with its first filled code, name and provider.
    struct Group<'a> {
        rows: Vec<&'a Row>,
        keys: [&'a str; 3],
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for row in data {
        let keys = [Col::Code, Col::Name, Col::Provider].map(|c| cell(h, row, c));
        let [code, name, provider] = keys;
        // A bare classification code (`301001`, the platform assigns the sequence number) is shared by every new
        // entry of that class, so it identifies an entry only together with the name.
        let full_code = code.contains('/');
        let continues = groups.last_mut().filter(|g| {
            let [g_code, g_name, g_provider] = g.keys;
            if full_code {
                g_code == code
            } else if !code.is_empty() {
                g_code == code && (name.is_empty() || g_name.is_empty() || g_name == name)
            } else if !name.is_empty() {
                g_name == name && (provider.is_empty() || g_provider == provider)
            } else {
                true
            }
        });
        match continues {
            Some(g) => {
                for (k, v) in g.keys.iter_mut().zip(keys) {
                    if k.is_empty() {
                        *k = v;
                    }
                }
                g.rows.push(row);
            }
            None => {
                if full_code {
                    if let Some(first) = seen.get(code) {
                        errors.push(ImportError::new(
                            row.number,
                            h.text(Col::Code),
                            format!(
                                "信息资源代码「{code}」已在第 {first} 行出现；同一信息资源的各行须连续 \
                                 (duplicate code: rows of one entry must be consecutive)"
                            ),
                        ));
                    } else {
                        seen.insert(code, row.number);
                    }
                }
                groups.push(Group { rows: vec![row], keys });
            }
        }
    }
    groups.into_iter().map(|g| g.rows).collect()
}

/// The comparable form of a cell: API values for enumerations and lists, integers without `.0`.
fn canon(col: Col, raw: &str) -> String {
    match col {
        Col::ShareType | Col::ItemShareType => values::share_type(raw),
        Col::UpdateCycle => values::update_cycle(raw),
        Col::Grade | Col::ItemGrade => values::grade(raw),
        Col::DataType => values::data_type(raw),
        Col::Modes | Col::ModesZh => values::modes(raw).join(","),
        Col::Related => values::split_list(raw).collect::<Vec<_>>().join(";"),
        Col::Basic | Col::Open => values::yes_no(raw).map_or_else(|| raw.to_owned(), |b| b.to_string()),
        Col::Secret => values::secret(raw).map_or_else(|| raw.to_owned(), |b| b.to_string()),
        Col::Lei => values::integer(raw, true).map_or_else(|| raw.to_owned(), |n| n.to_string()),
        Col::Xiang | Col::Mu | Col::Ximu | Col::Length => {
            values::integer(raw, false).map_or_else(|| raw.to_owned(), |n| n.to_string())
        }
        _ => raw.to_owned(),
    }
}

struct Builder<'a> {
    h: &'a Header,
    errors: &'a mut Vec<ImportError>,
    rows: HashMap<Col, usize>,
}

impl Builder<'_> {
    /// The entry's value of a column: its first filled cell; other filled cells must agree unless `may_differ`.
    /// Cells that are not integers or 是/否 where the column needs one are reported each at its row.
    fn value(&mut self, g: &[&Row], col: Col, may_differ: bool) -> Option<String> {
        let mut first: Option<(String, &str, usize)> = None;
        for row in g {
            let raw = cell(self.h, row, col);
            if raw.is_empty() {
                continue;
            }
            let v = canon(col, raw);
            if !self.check(row.number, col, &v) {
                continue;
            }
            match &first {
                None => first = Some((v, raw, row.number)),
                Some((v0, raw0, r0)) if *v0 != v && !may_differ => self.errors.push(ImportError::new(
                    row.number,
                    self.h.text(col),
                    format!(
                        "同一信息资源的各行在「{}」列不一致：第 {r0} 行为「{raw0}」，本行为「{raw}」 \
                         (rows of one entry disagree)",
                        self.h.text(col)
                    ),
                )),
                Some(_) => {}
            }
        }
        first.map(|(v, _, r)| {
            self.rows.insert(col, r);
            v
        })
    }

    /// Whether a (canonical) cell value fits its column's type; reports it if not.
    fn check(&mut self, row: usize, col: Col, v: &str) -> bool {
        let h = self.h.text(col);
        let message = match col {
            Col::Lei | Col::Xiang | Col::Mu | Col::Ximu | Col::Length if v.parse::<i64>().is_err() => {
                format!("「{h}」的值「{v}」应为整数 (must be an integer)")
            }
            Col::Basic | Col::Open if v != "true" && v != "false" => {
                format!("「{h}」的值「{v}」应为「是」或「否」 (must be yes or no)")
            }
            Col::Secret if v != "true" && v != "false" => {
                format!("「{h}」的值「{v}」应为「非涉密」或「涉密」 (must be 非涉密 or 涉密)")
            }
            _ => return true,
        };
        self.errors.push(ImportError::new(row, h, message));
        false
    }

    fn int(&mut self, g: &[&Row], col: Col) -> Option<i64> {
        self.value(g, col, false).and_then(|v| v.parse().ok())
    }

    fn bool(&mut self, g: &[&Row], col: Col) -> Option<bool> {
        self.value(g, col, false).and_then(|v| v.parse().ok())
    }

    /// An item cell (never compared across rows).
    fn item_value(&mut self, row: &Row, col: Col) -> Option<String> {
        let raw = cell(self.h, row, col);
        if raw.is_empty() {
            return None;
        }
        let v = canon(col, raw);
        self.check(row.number, col, &v).then_some(v)
    }

    fn build(mut self, g: &[&Row], headers: &Arc<Vec<String>>) -> ParsedEntry {
        let first_row = g.first().map_or(0, |r| r.number);
        let code = self.value(g, Col::Code, false);
        let class_cols = [Col::Lei, Col::Xiang, Col::Mu, Col::Ximu];
        let [lei, xiang, mu, ximu] = class_cols.map(|c| self.int(g, c));
        let mut class_from_code = false;
        let class = if lei.is_some() || xiang.is_some() || mu.is_some() || ximu.is_some() {
            Some(ClassInput { lei, xiang, mu, ximu })
        } else {
            let c = code.as_deref().and_then(class_of_code);
            class_from_code = c.is_some();
            c
        };
        let name = self.value(g, Col::Name, false);
        let provider_name = self.value(g, Col::Provider, false);
        let provider_unit = self.value(g, Col::Unit, false);
        let provider_credit_code = self.value(g, Col::CreditCode, false);
        let summary = self.value(g, Col::Summary, false);
        let category = self.value(g, Col::FormatCategory, false);
        let kind = self.value(g, Col::FormatType, false);
        let format = (category.is_some() || kind.is_some()).then_some(FormatInput { category, kind });

        let legacy_share = !self.h.has(Col::ItemShareType);
        let legacy_grade = !self.h.has(Col::ItemGrade);
        let share_kind = self.value(g, Col::ShareType, legacy_share);
        let grade = self.value(g, Col::Grade, legacy_grade);
        let condition = self.value(g, Col::ShareCondition, false);
        let legal_basis = self.value(g, Col::LegalBasis, false);
        let modes_zh = self.value(g, Col::ModesZh, false);
        let modes_api = self.value(g, Col::Modes, false);
        let modes_col = if modes_api.is_some() || (self.h.has(Col::Modes) && !self.h.has(Col::ModesZh)) {
            Col::Modes
        } else {
            Col::ModesZh
        };
        let modes =
            modes_api.or(modes_zh).map_or_else(Vec::new, |m| values::split_list(&m).map(str::to_owned).collect());
        let open = self.bool(g, Col::Open);
        let open_condition = self.value(g, Col::OpenCondition, false);
        let update_cycle = self.value(g, Col::UpdateCycle, false);
        let related = self.value(g, Col::Related, false);
        let related = related.map_or_else(Vec::new, |r| values::split_list(&r).map(str::to_owned).collect());
        let secret = self.bool(g, Col::Secret);

        let mut items = Vec::new();
        let mut item_origins = Vec::new();
        for row in g {
            if ITEM_COLS.iter().all(|&c| cell(self.h, row, c).is_empty()) {
                continue;
            }
            let mut get = |c: Col| self.item_value(row, c);
            let length = get(Col::Length).and_then(|v| v.parse().ok());
            let basic = get(Col::Basic).and_then(|v| v.parse().ok());
            // An item without its own share type inherits the entry's: errors about it point at 共享类型.
            let (share_type, share_col) = if legacy_share {
                (get(Col::ShareType).filter(|v| Some(v) != share_kind.as_ref()), Col::ShareType)
            } else {
                let own = get(Col::ItemShareType);
                let col = if own.is_some() { Col::ItemShareType } else { Col::ShareType };
                (own, col)
            };
            let (item_grade, grade_col) = if legacy_grade {
                (get(Col::Grade).filter(|v| Some(v) != grade.as_ref()), Col::Grade)
            } else {
                (get(Col::ItemGrade), Col::ItemGrade)
            };
            items.push(ItemInput {
                name: get(Col::ItemName),
                data_type: get(Col::DataType),
                length,
                basic,
                share_type,
                grade: item_grade,
            });
            item_origins.push(ItemOrigin { row: row.number, share_col, grade_col });
        }

        let input = EntryInput {
            code,
            class,
            name,
            // `validate_entry` takes the internal office from `provider.unit`; the rest of `provider` is the
            // importing department's.
            provider: provider_unit.as_ref().map(|u| serde_json::json!({ "unit": u })),
            summary,
            format,
            items: Some(items),
            share: Some(ShareInput { kind: share_kind, condition, legal_basis, modes: Some(modes) }),
            open: Some(OpenInput { open, condition: open_condition }),
            update_cycle,
            published_on: None,
            related: Some(related),
            secret,
            grade,
            status: None,
            version: None,
        };
        let origin = TableOrigin {
            headers: Arc::clone(headers),
            rows: self.rows,
            class_from_code,
            modes_col,
            items: item_origins,
        };
        ParsedEntry {
            input,
            provider_name,
            provider_credit_code,
            provider_unit,
            first_row,
            origin: Origin::Table(origin),
        }
    }
}

/// The class of a code `301001/000123` (or of the bare class part `301001`, `301001001`).
fn class_of_code(code: &str) -> Option<ClassInput> {
    let class = code.split('/').next()?.trim();
    if !(class.len() == 6 || class.len() == 9) || !class.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| class.get(r).and_then(|s| s.parse::<i64>().ok());
    Some(ClassInput { lei: num(0..1), xiang: num(1..3), mu: num(3..6), ximu: num(6..9) })
}

/// `items[2].data_type` → (row of item 2, header of 数据类型); entry fields → (row the value came from, header).
pub(crate) fn locate(t: &TableOrigin, first_row: usize, field: &str) -> (usize, String) {
    let header = |col: Col| t.headers.get(col.index()).cloned().unwrap_or_else(|| col.header().to_owned());
    let entry = |col: Col| (t.rows.get(&col).copied().unwrap_or(first_row), header(col));
    if let Some(rest) = field.strip_prefix("items") {
        let Some((index, sub)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) else {
            return (first_row, header(Col::ItemName));
        };
        let item = index.parse::<usize>().ok().and_then(|i| t.items.get(i));
        let Some(item) = item else {
            return (first_row, header(Col::ItemName));
        };
        let col = match sub.trim_start_matches('.') {
            "data_type" => Col::DataType,
            "length" => Col::Length,
            "basic" => Col::Basic,
            "share_type" => item.share_col,
            "grade" => item.grade_col,
            _ => Col::ItemName,
        };
        return (item.row, header(col));
    }
    let base = field.split('[').next().unwrap_or(field);
    let col = match base {
        "code" => Col::Code,
        "class" | "class.lei" | "class.xiang" | "class.mu" | "class.ximu" if t.class_from_code => Col::Code,
        "class" | "class.lei" => Col::Lei,
        "class.xiang" => Col::Xiang,
        "class.mu" => Col::Mu,
        "class.ximu" => Col::Ximu,
        "name" => Col::Name,
        "provider" | "provider.name" | "provider.id" => Col::Provider,
        "provider.credit_code" => Col::CreditCode,
        "provider.unit" | "unit" => Col::Unit,
        "summary" => Col::Summary,
        "format" | "format.category" => Col::FormatCategory,
        "format.type" => Col::FormatType,
        "share" | "share.type" => Col::ShareType,
        "share.condition" => Col::ShareCondition,
        "share.legal_basis" => Col::LegalBasis,
        "share.modes" => t.modes_col,
        "share.channel" => Col::Channel,
        "open" | "open.open" => Col::Open,
        "open.condition" => Col::OpenCondition,
        "update_cycle" => Col::UpdateCycle,
        "published_on" => Col::PublishedOn,
        "related" => Col::Related,
        "secret" => Col::Secret,
        "grade" => Col::Grade,
        _ => return (first_row, field.to_owned()),
    };
    entry(col)
}
