//! Catalog import (all or nothing, every error with row and column) and export.

use std::collections::{HashMap, HashSet};

use shuqiao_catalog_files::{FileFormat, ImportError, ParsedEntry};
use shuqiao_domain::entry::Entry;
use shuqiao_domain::roles::Role;
use shuqiao_domain::validate::validate_entry;
use shuqiao_store::accounts::{self, DepartmentRow};
use shuqiao_store::catalog::{self, EntryRow};
use shuqiao_store::ts;

use crate::index::parse_entry;
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

/// Who imports: a cataloger through the API (entries become drafts of its department), or the operator on the
/// command line (each entry goes to the department named by its provider credit code; optionally published).
pub enum Importer<'a> {
    Cataloger(&'a Principal),
    Operator { publish: bool },
}

const PROVIDER_CODE_COLUMN: &str = "信息资源提供方代码";

/// Imports a file. Either every entry is imported or nothing is, and the error lists every problem found.
/// `progress(done, total)` is called as entries are written.
pub async fn import(
    p: &Platform,
    importer: Importer<'_>,
    format: FileFormat,
    bytes: &[u8],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<usize> {
    if let Importer::Cataloger(who) = &importer {
        who.require(&[Role::Cataloger])?;
    }
    let parsed = shuqiao_catalog_files::parse(format, bytes).map_err(AppError::Import)?;
    let mut c = p.store.reader().await?;
    let departments: HashMap<String, DepartmentRow> =
        accounts::all_departments(&mut c).await?.into_iter().map(|d| (d.credit_code.clone(), d)).collect();
    drop(c);
    let caller_dept = match &importer {
        Importer::Cataloger(who) => {
            let id = who.department()?;
            Some(departments.values().find(|d| d.id == id).cloned().ok_or_else(|| {
                AppError::Forbidden("此账号所属部门不存在 (the caller's department does not exist)".into())
            })?)
        }
        Importer::Operator { .. } => None,
    };
    let mut errors: Vec<ImportError> = Vec::new();
    let mut planned = Vec::with_capacity(parsed.len());
    let mut codes_in_file = HashSet::new();
    // Which of the file's full codes the store already has: one query per 500 codes, not one per entry.
    let mut existing = HashSet::new();
    {
        let mut c = p.store.reader().await?;
        let codes: Vec<String> = parsed
            .iter()
            .filter_map(|pe| pe.input.code.as_deref())
            .filter(|c| c.contains('/'))
            .map(|c| c.trim().to_owned())
            .collect();
        for chunk in codes.chunks(500) {
            existing.extend(catalog::existing_codes(&mut c, chunk).await?);
        }
    }
    for pe in &parsed {
        let dept = resolve_department(pe, caller_dept.as_ref(), &departments, &mut errors);
        match validate_entry(&pe.input, &p.rules) {
            Ok(spec) => {
                if let Some(code) = spec.code {
                    if !codes_in_file.insert(code) {
                        let (row, column) = pe.locate("code");
                        errors.push(ImportError {
                            row,
                            column,
                            message: format!("文件中信息资源代码 {code} 重复 (duplicate code in file)"),
                        });
                    } else if existing.contains(&code.to_string()) {
                        let (row, column) = pe.locate("code");
                        errors.push(ImportError {
                            row,
                            column,
                            message: format!("信息资源代码 {code} 已存在 (code already exists)"),
                        });
                    }
                }
                if let Some(d) = dept {
                    planned.push((spec, d));
                }
            }
            Err(field_errors) => {
                for fe in field_errors {
                    let (row, column) = pe.locate(&fe.field);
                    errors.push(ImportError { row, column, message: fe.message });
                }
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.row.cmp(&b.row).then_with(|| a.column.cmp(&b.column)));
        return Err(AppError::Import(errors));
    }
    let publish = matches!(importer, Importer::Operator { publish: true });
    let who = match &importer {
        Importer::Cataloger(w) => w.id.clone(),
        Importer::Operator { .. } => "operator".to_owned(),
    };
    let now_t = p.now();
    let now = ts(now_t);
    let total = planned.len();
    let mut taken = codes_in_file;
    let mut rows: Vec<EntryRow> = Vec::with_capacity(total);
    let mut tx = p.store.begin().await?;
    for (i, (spec, dept)) in planned.into_iter().enumerate() {
        // `taken` holds every full code of the file so that assigned sequence numbers avoid them; an entry's own
        // code (checked unique above) is released so that `insert_new` may take it.
        if let Some(code) = spec.code {
            taken.remove(&code);
        }
        let row =
            crate::catalog::insert_new(&mut tx, spec, &dept, &who, &now, &mut taken, publish.then_some(now_t)).await?;
        rows.push(row);
        progress(i + 1, total);
    }
    let actor = match &importer {
        Importer::Cataloger(w) => crate::audit::Actor::from(*w),
        Importer::Operator { .. } => {
            crate::audit::Actor { id: "operator".into(), name: "operator (CLI)".into(), department: None }
        }
    };
    let mut by_dept: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &rows {
        by_dept.entry(r.department_id.as_str()).or_default().push(r.code.as_str());
    }
    for (dept, codes) in by_dept {
        let ev = crate::audit::AuditEvent::new("catalog.import", format!("department:{dept}"))
            .department(dept.to_owned())
            .detail(serde_json::json!({"entries": codes.len(), "codes": codes, "published": publish}));
        crate::audit::record(&mut tx, p, &actor, ev).await?;
    }
    shuqiao_store::commit(tx).await?;
    crate::index::apply(p, &rows, &[]).await?;
    Ok(total)
}

fn resolve_department(
    pe: &ParsedEntry,
    caller: Option<&DepartmentRow>,
    departments: &HashMap<String, DepartmentRow>,
    errors: &mut Vec<ImportError>,
) -> Option<DepartmentRow> {
    let code = pe.provider_credit_code.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (row, column) = pe.locate("provider.credit_code");
    let column = if column.is_empty() { PROVIDER_CODE_COLUMN.to_owned() } else { column };
    match (caller, code) {
        (Some(dept), None) => Some(dept.clone()),
        (Some(dept), Some(code)) if code == dept.credit_code => Some(dept.clone()),
        (Some(_), Some(code)) => {
            errors.push(ImportError {
                row,
                column,
                message: format!(
                    "提供方代码 {code} 不是本部门 (only the caller's own department's entries can be imported)"
                ),
            });
            None
        }
        (None, Some(code)) => match departments.get(code) {
            Some(d) => Some(d.clone()),
            None => {
                errors.push(ImportError {
                    row,
                    column,
                    message: format!("提供方代码 {code} 未登记 (unknown department)"),
                });
                None
            }
        },
        (None, None) => {
            errors.push(ImportError {
                row,
                column,
                message: "缺少提供方代码 (the provider's credit code is required)".into(),
            });
            None
        }
    }
}

/// `GET /catalog/export`: every published entry, in the requested format.
pub async fn export(p: &Platform, format: FileFormat, base_url: &str) -> Result<Vec<u8>> {
    let mut c = p.store.reader().await?;
    let rows = catalog::published_all(&mut c).await?;
    let entries: Vec<Entry> = rows.iter().map(parse_entry).collect::<Result<_>>()?;
    shuqiao_catalog_files::export(format, &entries, base_url)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("export: {e}")))
}

/// The empty department template (xlsx) with instructions.
pub fn template() -> Result<Vec<u8>> {
    shuqiao_catalog_files::template_xlsx().map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}
