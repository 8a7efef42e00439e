//! Compiling and editing catalog entries (every validation message at its field, the input kept, a stale form
//! detected), and the import of the department's Excel/CSV/JSON file with its per-row error report.

use askama::Template;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shuqiao_app::AppError;
use shuqiao_app::catalog::{self as uc, EntryView, parse_path_code};
use shuqiao_app::catalog_io::{self, Importer};
use shuqiao_catalog_files::FileFormat;
use shuqiao_domain::entry::{ClassInput, EntryInput, FormatInput, ItemInput, OpenInput, ShareInput, api_str};
use shuqiao_domain::roles::Role;
use shuqiao_domain::validate::{MODES, SHARE_TYPES, UPDATE_CYCLES};

use super::html;
use crate::console::forms::FormData;
use crate::console::view::{self, Layout, redirect_flash};
use crate::console::{Ctx, Fail, Posted};

// ---- compile and edit ----

pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub error: String,
    pub hint: String,
}

#[derive(Template)]
#[template(path = "entry_form.html")]
struct EntryForm {
    l: Layout,
    action: String,
    fields: Vec<Field>,
    format_categories: Vec<(String, bool)>,
    share_types: Vec<(String, String, bool)>,
    cycles: Vec<(String, String, bool)>,
    modes: Vec<(String, String, bool)>,
    grades: Vec<(String, bool)>,
    open: bool,
    updated_at: String,
    errors: Vec<String>,
    has_errors: bool,
    stale: bool,
}

const CATEGORIES: [&str; 7] = ["电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述格式", "服务接口"];

/// The form's values, from a submitted form or an existing entry.
#[derive(Default, Clone)]
struct EntryValues {
    class: String,
    name: String,
    summary: String,
    format_category: String,
    format_type: String,
    items: String,
    share_type: String,
    share_condition: String,
    share_legal_basis: String,
    modes: Vec<String>,
    open: bool,
    open_condition: String,
    update_cycle: String,
    related: String,
    grade: String,
}

impl EntryValues {
    fn from_form(f: &FormData) -> EntryValues {
        let s = |k: &str| f.get(k).unwrap_or("").to_owned();
        EntryValues {
            class: s("class").trim().to_owned(),
            name: s("name"),
            summary: s("summary"),
            format_category: s("format_category"),
            format_type: s("format_type"),
            items: s("items"),
            share_type: s("share_type"),
            share_condition: s("share_condition"),
            share_legal_basis: s("share_legal_basis"),
            modes: f.all("modes"),
            open: f.get("open").is_some(),
            open_condition: s("open_condition"),
            update_cycle: s("update_cycle"),
            related: s("related"),
            grade: s("grade"),
        }
    }

    fn from_entry(v: &EntryView) -> EntryValues {
        let e = &v.entry;
        EntryValues {
            class: e.code.to_string(),
            name: e.name.clone(),
            summary: e.summary.clone(),
            format_category: api_str(&e.format.category).unwrap_or_default(),
            format_type: e.format.kind.clone(),
            items: e
                .items
                .iter()
                .map(|i| {
                    format!(
                        "{},{},{},{},{}",
                        i.name,
                        api_str(&i.data_type).unwrap_or_default(),
                        i.length,
                        if i.basic { "是" } else { "否" },
                        i.grade.as_ref().and_then(api_str).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            share_type: api_str(&e.share.kind).unwrap_or_default(),
            share_condition: e.share.condition.clone().unwrap_or_default(),
            share_legal_basis: e.share.legal_basis.clone().unwrap_or_default(),
            modes: e.share.modes.iter().filter_map(api_str).collect(),
            open: e.open.open,
            open_condition: e.open.condition.clone().unwrap_or_default(),
            update_cycle: api_str(&e.update_cycle).unwrap_or_default(),
            related: e.related.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            grade: e.grade.as_ref().and_then(api_str).unwrap_or_default(),
        }
    }

    /// The API input these values stand for. The class comes from the code field (`301001` or `301001/000123`);
    /// items are one per line, `name,type,length,basic,grade`.
    fn input(&self) -> EntryInput {
        let digits: String = self.class.split('/').next().unwrap_or("").chars().filter(char::is_ascii_digit).collect();
        let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i64>().ok());
        let class = ClassInput { lei: num(0..1), xiang: num(1..3), mu: num(3..6), ximu: num(6..9) };
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let items = self
            .items
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let cols: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
                let col = |i: usize| cols.get(i).copied().filter(|s| !s.is_empty());
                ItemInput {
                    name: col(0).map(str::to_owned),
                    data_type: col(1).map(str::to_owned),
                    length: col(2).and_then(|s| s.parse().ok()),
                    basic: Some(matches!(col(3), Some("是" | "yes" | "true" | "1"))),
                    share_type: None,
                    grade: col(4).map(str::to_owned),
                }
            })
            .collect();
        EntryInput {
            code: opt(&self.class),
            class: Some(class),
            name: opt(&self.name),
            summary: opt(&self.summary),
            format: Some(FormatInput { category: opt(&self.format_category), kind: opt(&self.format_type) }),
            items: Some(items),
            share: Some(ShareInput {
                kind: opt(&self.share_type),
                condition: opt(&self.share_condition),
                legal_basis: opt(&self.share_legal_basis),
                modes: Some(self.modes.clone()),
            }),
            open: Some(OpenInput { open: Some(self.open), condition: opt(&self.open_condition) }),
            update_cycle: opt(&self.update_cycle),
            related: Some(
                self.related
                    .split([',', '，', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            secret: Some(false),
            grade: opt(&self.grade),
            ..EntryInput::default()
        }
    }
}

/// The form field an API field error belongs to (`items[2].length` → `items`, `class.lei` → `class`).
fn form_field(api_field: &str) -> &'static str {
    let head = api_field.split(['.', '[']).next().unwrap_or("");
    match (head, api_field) {
        ("code" | "class", _) => "class",
        ("format", f) if f.contains("category") => "format_category",
        ("format", _) => "format_type",
        ("share", f) if f.contains("condition") => "share_condition",
        ("share", f) if f.contains("legal_basis") => "share_legal_basis",
        ("share", f) if f.contains("modes") => "modes",
        ("share", _) => "share_type",
        ("open", _) => "open_condition",
        ("name", _) => "name",
        ("summary", _) => "summary",
        ("items", _) => "items",
        ("update_cycle", _) => "update_cycle",
        ("related", _) => "related",
        ("grade", _) => "grade",
        _ => "",
    }
}

fn render_form(
    c: &Ctx,
    editing: Option<&str>,
    v: &EntryValues,
    errors: &[(String, String)],
    updated_at: &str,
    stale: bool,
) -> Result<Response, Fail> {
    let t = c.t;
    let err_of = |name: &str| -> String {
        errors
            .iter()
            .filter(|(f, _)| form_field(f) == name)
            .map(|(f, m)| if f.starts_with("items[") { format!("{f}: {}", t.msg(m)) } else { t.msg(m) })
            .collect::<Vec<_>>()
            .join("；")
    };
    let field = |name: &'static str, key: &str, value: &str, hint: &str| Field {
        name,
        label: t.get(key).to_owned(),
        value: value.to_owned(),
        error: err_of(name),
        hint: if hint.is_empty() { String::new() } else { t.get(hint).to_owned() },
    };
    let fields = vec![
        field("class", "entry.code", &v.class, "entry.code.hint"),
        field("name", "entry.name", &v.name, ""),
        field("summary", "entry.summary", &v.summary, ""),
        field("format_category", "entry.format.category", &v.format_category, ""),
        field("format_type", "entry.format.type", &v.format_type, ""),
        field("items", "entry.items", &v.items, "entry.items.hint"),
        field("share_type", "entry.share.type", &v.share_type, ""),
        field("share_condition", "entry.share.condition", &v.share_condition, ""),
        field("share_legal_basis", "entry.share.legal_basis", &v.share_legal_basis, ""),
        field("modes", "entry.share.modes", "", ""),
        field("open_condition", "entry.open.condition", &v.open_condition, ""),
        field("update_cycle", "entry.update_cycle", &v.update_cycle, ""),
        field("related", "entry.related", &v.related, ""),
        field("grade", "entry.grade", &v.grade, ""),
    ];
    let unplaced: Vec<String> =
        errors.iter().filter(|(f, _)| form_field(f).is_empty()).map(|(f, m)| format!("{f}: {}", t.msg(m))).collect();
    let title = if editing.is_some() { t.get("entry.edit.title") } else { t.get("entry.new.title") };
    let entry_href = editing.map(|code| format!("/catalog/{code}")).unwrap_or_default();
    let mut crumbs: Vec<(&str, &str)> = vec![("/catalog", t.get("catalog.title"))];
    if editing.is_some() {
        crumbs.push((entry_href.as_str(), v.name.as_str()));
    }
    crumbs.push(("", title));
    let l = view::layout(c, title, "/catalog", &crumbs);
    let page = EntryForm {
        l,
        action: match editing {
            Some(code) => format!("/catalog/{code}/edit"),
            None => "/catalog/new".into(),
        },
        fields,
        format_categories: CATEGORIES.iter().map(|s| ((*s).to_owned(), v.format_category == *s)).collect(),
        share_types: SHARE_TYPES
            .iter()
            .map(|s| ((*s).to_owned(), t.label("share", s).to_owned(), v.share_type == *s))
            .collect(),
        cycles: UPDATE_CYCLES
            .iter()
            .map(|s| ((*s).to_owned(), t.label("cycle", s).to_owned(), v.update_cycle == *s))
            .collect(),
        modes: MODES
            .iter()
            .map(|s| ((*s).to_owned(), t.label("mode", s).to_owned(), v.modes.iter().any(|m| m == s)))
            .collect(),
        grades: ["一般", "重要", "核心"].iter().map(|s| ((*s).to_owned(), v.grade == *s)).collect(),
        open: v.open,
        updated_at: updated_at.to_owned(),
        has_errors: !errors.is_empty(),
        errors: unplaced,
        stale,
    };
    let status = if errors.is_empty() && !stale { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut r = html(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

pub async fn new_form(c: Ctx) -> Result<Response, Fail> {
    c.who.require(&[Role::Cataloger])?;
    let v = EntryValues {
        share_type: "conditional".into(),
        update_cycle: "daily".into(),
        format_category: "数据库".into(),
        ..EntryValues::default()
    };
    render_form(&c, None, &v, &[], "", false)
}

fn field_errors(e: AppError) -> Result<Vec<(String, String)>, Fail> {
    match e {
        AppError::Validation(errs) => Ok(errs.into_iter().map(|f| (f.field, f.message)).collect()),
        other => Err(other.into()),
    }
}

pub async fn create(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let v = EntryValues::from_form(&f);
    match uc::create(&c.p, &c.who, &v.input()).await {
        Ok(created) => Ok(redirect_flash(&c, &format!("/catalog/{}", created.entry.code), "flash.saved", "")),
        Err(e) => render_form(&c, None, &v, &field_errors(e)?, "", false),
    }
}

pub async fn edit_form(c: Ctx, Path((class, seq)): Path<(String, String)>) -> Result<Response, Fail> {
    let code = parse_path_code(&class, &seq)?;
    let view = uc::get(&c.p, &c.who, code, None).await?;
    if !(c.who.has(Role::Cataloger) && c.who.department.as_deref() == Some(view.entry.provider.id.as_str())) {
        return Err(AppError::Forbidden(
            "只有提供方的目录编制员可以修改 (only the provider's cataloger may edit)".into(),
        )
        .into());
    }
    render_form(&c, Some(&code.to_string()), &EntryValues::from_entry(&view), &[], &view.updated_at, false)
}

pub async fn update(Path((class, seq)): Path<(String, String)>, Posted { c, f }: Posted) -> Result<Response, Fail> {
    let code = parse_path_code(&class, &seq)?;
    let mut v = EntryValues::from_form(&f);
    v.class = code.to_string();
    let current = uc::get(&c.p, &c.who, code, None).await?;
    let seen = f.get("updated_at").unwrap_or("");
    // The form was opened on an older version: say so instead of overwriting someone else's change.
    if seen != current.updated_at {
        return render_form(&c, Some(&code.to_string()), &v, &[], &current.updated_at, true);
    }
    match uc::update(&c.p, &c.who, code, &v.input()).await {
        Ok(_) => Ok(redirect_flash(&c, &format!("/catalog/{code}"), "flash.saved", "")),
        Err(e) => render_form(&c, Some(&code.to_string()), &v, &field_errors(e)?, seen, false),
    }
}

// ---- import ----

pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    l: Layout,
    errors: Vec<RowError>,
    error: String,
}

fn import_page(c: &Ctx, errors: Vec<RowError>, error: String) -> Result<Response, Fail> {
    let t = c.t;
    let l = view::layout(
        c,
        t.get("import.title"),
        "/catalog/import",
        &[("/catalog", t.get("catalog.title")), ("", t.get("import.title"))],
    );
    let bad = !errors.is_empty() || !error.is_empty();
    let mut r = html(&ImportPage { l, errors, error })?;
    if bad {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn import_form(c: Ctx) -> Result<Response, Fail> {
    c.who.require(&[Role::Cataloger])?;
    import_page(&c, Vec::new(), String::new())
}

pub async fn import(Posted { c, f }: Posted) -> Result<Response, Fail> {
    let t = c.t;
    let Some((_, filename, bytes)) = f.file.as_ref().filter(|(_, _, b)| !b.is_empty()) else {
        return import_page(&c, Vec::new(), t.get("import.empty").to_owned());
    };
    let ext = filename.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let Some(format) = FileFormat::from_name(&ext).filter(|f| !matches!(f, FileFormat::Dcat)) else {
        return import_page(
            &c,
            Vec::new(),
            t.msg("不支持的文件类型：请上传 xlsx、csv 或 json (unsupported file type: upload xlsx, csv or json)"),
        );
    };
    match catalog_io::import(&c.p, Importer::Cataloger(&c.who), format, bytes, &|_, _| {}).await {
        Ok(n) => Ok(redirect_flash(&c, "/catalog?status=draft&sort=updated", "import.done", &n.to_string())),
        Err(AppError::Import(errs)) => import_page(
            &c,
            errs.into_iter().map(|e| RowError { row: e.row, column: e.column, message: t.msg(&e.message) }).collect(),
            String::new(),
        ),
        Err(AppError::Validation(errs)) => import_page(
            &c,
            errs.into_iter().map(|e| RowError { row: 0, column: e.field, message: t.msg(&e.message) }).collect(),
            String::new(),
        ),
        Err(e) => Err(e.into()),
    }
}

/// `GET /catalog/template.xlsx` (any logged-in user).
pub async fn template(_c: Ctx) -> Result<Response, Fail> {
    let bytes = catalog_io::template()?;
    Ok((
        [
            (header::CONTENT_TYPE, FileFormat::Xlsx.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog-template.xlsx\"".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
