//! Mounting a published entry's data (挂接资源): a table or an API behind one of the department's nodes, and the
//! check of the source's columns against the entry's items.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::response::Response;
use serde_json::json;
use shuqiao_app::catalog::{self as catalog_uc, parse_path_code};
use shuqiao_app::exchange::mounts::{self, MountInput};
use shuqiao_domain::roles::Role;

use super::cases::{CasePage, Errors, field, form, render, validation, with_options};
use crate::console::forms::FormData;
use crate::console::view::{self, redirect_flash};
use crate::console::{Ctx, Fail, Posted};

fn split_list(s: &str) -> Vec<String> {
    s.split([',', '，', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

async fn mount_page(c: &Ctx, class: &str, seq: &str, f: Option<&FormData>, errors: Errors) -> Result<Response, Fail> {
    let t = c.t;
    let code = parse_path_code(class, seq)?;
    let entry = catalog_uc::get(&c.p, &c.who, code, None).await?;
    let current = mounts::get(&c.p, &c.who, code).await.ok();
    let mut meta = vec![(t.get("app.resource").to_owned(), format!("{}（{code}）", entry.entry.name))];
    match &current {
        Some(m) => {
            meta.push((t.get("mount.kind").to_owned(), m.mount.kind.clone()));
            meta.push((t.get("mount.node").to_owned(), m.mount.node.clone()));
            meta.push((t.get("mount.source").to_owned(), m.mount.source.to_string()));
            meta.push((t.get("mount.key_columns").to_owned(), m.mount.key_columns.join(", ")));
            let map = m.mount.column_map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("；");
            meta.push((t.get("mount.column_map").to_owned(), map));
            let check = match &m.check {
                None => "—".to_owned(),
                Some(ch) => {
                    let head = if ch.ok { t.get("mount.check.ok") } else { t.get("mount.check.bad") };
                    let problems: Vec<String> =
                        ch.problems.iter().map(|p| format!("{}：{}", p.severity, t.msg(&p.message))).collect();
                    format!(
                        "{head}（{}）{}",
                        t.datetime(&ch.checked_at),
                        if problems.is_empty() { String::new() } else { format!(" {}", problems.join("；")) }
                    )
                }
            };
            meta.push((t.get("mount.check").to_owned(), check));
        }
        None => meta.push((t.get("entry.mount").to_owned(), t.get("entry.mount.none").to_owned())),
    }
    let own_cataloger =
        c.who.has(Role::Cataloger) && c.who.department.as_deref() == Some(entry.entry.provider.id.as_str());
    let mut forms = Vec::new();
    if own_cataloger {
        let nodes = shuqiao_app::exchange::nodes::list(&c.p, &c.who, None, 100).await.unwrap_or_default();
        let node_options = nodes.into_iter().map(|n| (n.id, n.name)).collect();
        let kinds =
            ["table", "api"].iter().map(|k| ((*k).to_owned(), t.get(&format!("mount.kind.{k}")).to_owned())).collect();
        let mut fields = vec![
            with_options(field(t, "kind", "mount.kind", "select", f, &errors), kinds),
            with_options(field(t, "node", "mount.node", "select", f, &errors), node_options),
            field(t, "source_name", "mount.source_name", "text", f, &errors),
            field(t, "source_table", "mount.source_table", "text", f, &errors),
            field(t, "source_url", "mount.source_url", "text", f, &errors),
            field(t, "key_columns", "mount.key_columns", "text", f, &errors),
            field(t, "change_column", "mount.change_column", "text", f, &errors),
            field(t, "column_map", "mount.column_map_lines", "textarea", f, &errors),
        ];
        if f.is_none()
            && let Some(m) = &current
        {
            for x in &mut fields {
                x.value = match x.name {
                    "kind" => m.mount.kind.clone(),
                    "node" => m.mount.node.clone(),
                    "source_name" => m.mount.source.get("name").and_then(|v| v.as_str()).unwrap_or("").to_owned(),
                    "source_table" => m.mount.source.get("table").and_then(|v| v.as_str()).unwrap_or("").to_owned(),
                    "source_url" => m.mount.source.get("url").and_then(|v| v.as_str()).unwrap_or("").to_owned(),
                    "key_columns" => m.mount.key_columns.join(","),
                    "change_column" => m.mount.change_column.clone().unwrap_or_default(),
                    "column_map" => {
                        m.mount.column_map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")
                    }
                    _ => String::new(),
                };
            }
        }
        let mut save =
            form("mount", format!("/catalog/{code}/mount"), t.get("mount.save"), fields, t.get("mount.save"));
        save.open = current.is_none() || !errors.is_empty();
        forms.push(save);
        if current.is_some() {
            forms.push(form(
                "check",
                format!("/catalog/{code}/mount/check"),
                t.get("mount.run_check"),
                Vec::new(),
                t.get("mount.run_check"),
            ));
        }
    }
    let title = t.get("entry.mount");
    let href = format!("/catalog/{code}");
    let l = view::layout(
        c,
        title,
        "/catalog",
        &[("/catalog", t.get("catalog.title")), (&href, &entry.entry.name), ("", title)],
    );
    render(CasePage {
        l,
        status: String::new(),
        status_class: String::new(),
        meta,
        forms,
        has_errors: !errors.is_empty(),
    })
}

pub async fn show(c: Ctx, Path((class, seq)): Path<(String, String)>) -> Result<Response, Fail> {
    mount_page(&c, &class, &seq, None, Vec::new()).await
}

pub async fn save(Path((class, seq)): Path<(String, String)>, Posted { c, f }: Posted) -> Result<Response, Fail> {
    let code = parse_path_code(&class, &seq)?;
    let kind = f.text("kind");
    let source = if kind.as_deref() == Some("api") {
        json!({"url": f.text("source_url").unwrap_or_default()})
    } else {
        json!({"name": f.text("source_name").unwrap_or_default(), "table": f.text("source_table").unwrap_or_default()})
    };
    let column_map: BTreeMap<String, String> = f
        .get("column_map")
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once(['=', '＝']))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect();
    let input = MountInput {
        kind,
        node: f.text("node"),
        source: Some(source),
        key_columns: Some(split_list(f.get("key_columns").unwrap_or(""))),
        change_column: f.text("change_column"),
        column_map: Some(column_map),
    };
    match mounts::put(&c.p, &c.who, code, &input).await {
        Ok(_) => Ok(redirect_flash(&c, &format!("/catalog/{code}/mount"), "flash.saved", "")),
        Err(e) => mount_page(&c, &class, &seq, Some(&f), validation(e)?).await,
    }
}

pub async fn check(Path((class, seq)): Path<(String, String)>, Posted { c, .. }: Posted) -> Result<Response, Fail> {
    let code = parse_path_code(&class, &seq)?;
    mounts::check(&c.p, &c.who, code).await?;
    Ok(redirect_flash(&c, &format!("/catalog/{code}/mount"), "flash.checked", ""))
}
