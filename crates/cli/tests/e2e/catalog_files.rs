//! Catalog import and export over HTTP and on the command line (SPEC §4 "Import/export"): xlsx, CSV, JSON and
//! DCAT; all-or-nothing import with row/column errors; a JSON export re-imported into an empty platform.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::catalog::{fields, path};
use crate::harness::{Backend, Server, bin, entry_json};
use crate::on_both;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The headers of `data/catalog-template-columns.tsv`, in order.
fn template_headers() -> Vec<String> {
    let tsv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/catalog-template-columns.tsv"))
        .expect("template columns");
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

/// One spreadsheet row (one information item) with the entry's values repeated.
#[derive(Clone)]
struct SheetRow(HashMap<&'static str, String>);

impl SheetRow {
    fn entry(code: &str, name: &str, credit_code: &str) -> SheetRow {
        let class = code.split('/').next().unwrap();
        let mut m = HashMap::new();
        for (k, v) in [
            ("信息资源分类（类）", &class[0..1]),
            ("信息资源分类（项）", &class[1..3]),
            ("信息资源分类（目）", &class[3..6]),
            ("信息资源代码", code),
            ("信息资源名称", name),
            ("信息资源提供方", "河北省公安厅"),
            ("信息资源提供方代码", credit_code),
            ("信息资源摘要", "导入测试用的信息资源摘要"),
            ("信息资源格式分类", "数据库"),
            ("信息资源格式类型", "PostgreSQL"),
            ("是否基础信息项", "否"),
            ("共享类型", "有条件共享"),
            ("共享条件", "仅限行政审批业务使用"),
            ("共享方式分类", "共享平台"),
            ("共享方式类型", "接口"),
            ("是否向社会开放", "否"),
            ("更新周期", "每日"),
            ("涉密属性", "非涉密"),
            ("数据分级", "一般"),
        ] {
            m.insert(k, v.to_owned());
        }
        SheetRow(m)
    }
    fn item(mut self, name: &str, data_type: &str, length: u32) -> SheetRow {
        self.0.insert("信息项名称", name.to_owned());
        self.0.insert("数据类型", data_type.to_owned());
        self.0.insert("数据长度", length.to_string());
        self
    }
    fn set(mut self, header: &'static str, value: &str) -> SheetRow {
        self.0.insert(header, value.to_owned());
        self
    }
}

fn is_number_col(h: &str) -> bool {
    matches!(h, "信息资源分类（类）" | "信息资源分类（项）" | "信息资源分类（目）" | "数据长度")
}

fn xlsx_bytes(rows: &[SheetRow]) -> Vec<u8> {
    let headers = template_headers();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, h) in headers.iter().enumerate() {
            let Some(v) = row.0.get(h.as_str()) else { continue };
            let (r, c) = (r as u32 + 1, c as u16);
            match v.parse::<f64>() {
                Ok(n) if is_number_col(h) => ws.write_number(r, c, n).unwrap(),
                _ => ws.write_string(r, c, v).unwrap(),
            };
        }
    }
    wb.save_to_buffer().unwrap()
}

fn csv_bytes(rows: &[SheetRow]) -> Vec<u8> {
    let headers = template_headers();
    let mut out = headers.join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = headers.iter().map(|h| row.0.get(h.as_str()).cloned().unwrap_or_default()).collect();
        for c in &cells {
            assert!(!c.contains(',') && !c.contains('"'), "keep test CSV simple: {c}");
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

/// POSTs a file to /catalog/import.
async fn import(s: &Server, token: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = s
        .http
        .post(s.url("catalog/import"))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("import request");
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// GETs a raw body: status, content type, bytes.
async fn get_raw(s: &Server, p: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = s.http.get(s.url(p)).bearer_auth(token).send().await.expect("request");
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

async fn me(s: &Server, token: &str) -> Value {
    let (st, me) = s.get("me", token).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    me
}

/// Total entries the authority can see (all current versions of every department).
async fn count_all(s: &Server, authority: &str) -> u64 {
    let (st, body) = s.get("catalog?limit=1&status=draft,submitted,returned,published,retired", authority).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["total"].as_u64().unwrap()
}

/// Checks an imported entry: a version-1 draft of the caller's department.
async fn assert_draft_of(s: &Server, token: &str, code: &str, name: &str, dept: &Value, items: &[&str]) -> Value {
    let (st, e) = s.get(&path(code), token).await;
    assert_eq!(st, StatusCode::OK, "{code}: {e}");
    assert_eq!(e["name"], name, "{e}");
    assert_eq!(e["status"], "draft", "{e}");
    assert_eq!(e["version"], 1, "{e}");
    assert_eq!(e["provider"]["id"], dept["id"], "{e}");
    assert_eq!(e["provider"]["credit_code"], dept["credit_code"], "{e}");
    let got: Vec<&str> = e["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(got, items, "{e}");
    e
}

async fn import_formats(b: Backend) {
    let s = Server::demo(b).await;
    let cat = s.login("gat_catalog").await;
    let auth = s.login("authority").await;
    let dept = me(&s, &cat).await["department"].clone();
    let cc = dept["credit_code"].as_str().unwrap().to_owned();
    let before = count_all(&s, &auth).await;

    // xlsx: two entries of two items each, plus two new entries with only the classification code.
    let a = SheetRow::entry("303901/000001", "导入测试表格资源甲", &cc);
    let b2 = SheetRow::entry("303901/000002", "导入测试表格资源乙", &cc)
        .set("共享类型", "无条件共享")
        .set("共享条件", "")
        .set("共享方式类型", "库表")
        .set("是否向社会开放", "是")
        .set("更新周期", "每月");
    let c = SheetRow::entry("303903", "导入测试分类码资源丙", &cc);
    let d = SheetRow::entry("303903", "导入测试分类码资源丁", &cc);
    let rows = vec![
        a.clone().item("统一社会信用代码", "C", 18),
        a.item("企业名称", "C", 200),
        b2.clone().item("登记日期", "D", 8),
        b2.item("注册资本", "N", 18),
        c.clone().item("许可证编号", "C", 50),
        c.item("许可事项", "C", 200),
        d.clone().item("案件编号", "C", 50),
        d.item("立案日期", "D", 8),
    ];
    let (st, body) = import(&s, &cat, XLSX, xlsx_bytes(&rows)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 4}));
    let e = assert_draft_of(&s, &cat, "303901/000001", "导入测试表格资源甲", &dept, &["统一社会信用代码", "企业名称"])
        .await;
    assert_eq!(e["share"]["type"], "conditional", "{e}");
    assert_eq!(e["share"]["condition"], "仅限行政审批业务使用", "{e}");
    assert_eq!(e["items"][0]["length"], 18, "{e}");
    assert_eq!(e["update_cycle"], "daily");
    assert_eq!(e["open"]["open"], false);
    let modes: Vec<&str> = e["share"]["modes"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(modes.contains(&"query") && modes.contains(&"verify"), "{e}");
    let e = assert_draft_of(&s, &cat, "303901/000002", "导入测试表格资源乙", &dept, &["登记日期", "注册资本"]).await;
    assert_eq!(e["share"]["type"], "unconditional", "{e}");
    assert_eq!(e["share"]["modes"], json!(["sync"]), "{e}");
    assert_eq!(e["open"]["open"], true);
    assert_eq!(e["update_cycle"], "monthly");
    assert_eq!(e["items"][0]["data_type"], "D");
    assert_draft_of(&s, &cat, "303903/000001", "导入测试分类码资源丙", &dept, &["许可证编号", "许可事项"]).await;
    assert_draft_of(&s, &cat, "303903/000002", "导入测试分类码资源丁", &dept, &["案件编号", "立案日期"]).await;

    // CSV.
    let e1 = SheetRow::entry("303904/000001", "导入测试逗号文件资源甲", &cc);
    let e2 = SheetRow::entry("303904/000002", "导入测试逗号文件资源乙", &cc);
    let rows = vec![e1.clone().item("证照编号", "C", 50), e1.item("发证日期", "D", 8), e2.item("持证人", "C", 100)];
    let (st, body) = import(&s, &cat, "text/csv; charset=utf-8", csv_bytes(&rows)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 2}));
    assert_draft_of(&s, &cat, "303904/000001", "导入测试逗号文件资源甲", &dept, &["证照编号", "发证日期"]).await;
    assert_draft_of(&s, &cat, "303904/000002", "导入测试逗号文件资源乙", &dept, &["持证人"]).await;

    // JSON.
    let mut j1 = entry_json("303905", "导入测试结构化资源甲");
    j1["code"] = json!("303905/000007");
    let j2 = entry_json("303905", "导入测试结构化资源乙");
    let (st, body) = import(&s, &cat, "application/json", serde_json::to_vec(&json!([j1, j2])).unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"imported": 2}));
    assert_draft_of(&s, &cat, "303905/000007", "导入测试结构化资源甲", &dept, &["统一社会信用代码", "企业名称"]).await;
    assert_draft_of(&s, &cat, "303905/000008", "导入测试结构化资源乙", &dept, &["统一社会信用代码", "企业名称"]).await;

    assert_eq!(count_all(&s, &auth).await, before + 8);
    // Imported drafts are not visible to other departments.
    let other = s.login("scjg_user").await;
    let (st, _) = s.get(&path("303901/000001"), &other).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A consumer may not import.
    let user = s.login("gat_user").await;
    let j3 = entry_json("303905", "导入测试结构化资源丙");
    let (st, body) = import(&s, &user, "application/json", serde_json::to_vec(&json!([j3])).unwrap()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
}
on_both!(import_formats, import_formats);

/// (row, column) pairs of a 422 import answer.
fn row_errors(body: &Value) -> BTreeSet<(u64, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {body}"))
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
            (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn import_errors(b: Backend) {
    let s = Server::demo(b).await;
    let cat = s.login("gat_catalog").await;
    let auth = s.login("authority").await;
    let cc = me(&s, &cat).await["department"]["credit_code"].as_str().unwrap().to_owned();
    let scjg = s.login("scjg_user").await;
    let other_cc = me(&s, &scjg).await["department"]["credit_code"].as_str().unwrap().to_owned();
    assert_ne!(cc, other_cc);
    let before = count_all(&s, &auth).await;

    let a = SheetRow::entry("303906/000001", "导入错误测试资源甲", &cc);
    let rows = vec![
        a.clone().item("统一社会信用代码", "C", 18), // row 2
        a.item("企业名称", "X", 200),                // row 3: bad data type
        SheetRow::entry("303906/000002", "导入错误测试资源乙", &other_cc).item("姓名", "C", 50), // row 4
        SheetRow::entry("303906/000003", "", &cc).item("地址", "C", 200), // row 5: no name
        SheetRow::entry("303906/000004", "导入错误测试资源丁", &cc).item("电话", "C", 20), // row 6: fine
    ];
    let want: BTreeSet<(u64, String)> =
        [(3, "数据类型"), (4, "信息资源提供方代码"), (5, "信息资源名称")].map(|(r, c)| (r, c.to_owned())).into();
    for (ct, bytes) in [(XLSX, xlsx_bytes(&rows)), ("text/csv", csv_bytes(&rows))] {
        let (st, body) = import(&s, &cat, ct, bytes).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{ct}: {body}");
        assert_eq!(row_errors(&body), want, "{ct}: {body}");
    }
    // Nothing imported, not even the valid entries.
    assert_eq!(count_all(&s, &auth).await, before);
    for code in ["303906/000001", "303906/000002", "303906/000003", "303906/000004"] {
        let (st, body) = s.get(&path(code), &cat).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{code}: {body}");
    }
    let (st, body) = s.get(&format!("catalog?q={}", crate::catalog::enc("导入错误测试资源丁")), &cat).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!crate::catalog::codes(&body).contains(&"303906/000004".to_owned()), "{body}");

    // JSON: errors name the entry (1-based) and the field.
    let good = entry_json("303907", "导入错误测试结构化甲");
    let mut bad = entry_json("303907", "导入错误测试结构化乙");
    bad["items"][1]["data_type"] = json!("X");
    bad["update_cycle"] = json!("hourly");
    let (st, body) = import(&s, &cat, "application/json", serde_json::to_vec(&json!([good, bad])).unwrap()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let got = row_errors(&body);
    assert!(got.contains(&(2, "items[1].data_type".to_owned())), "{body}");
    assert!(got.contains(&(2, "update_cycle".to_owned())), "{body}");
    assert!(got.iter().all(|(r, _)| *r == 2), "{body}");
    assert_eq!(count_all(&s, &auth).await, before);

    // A duplicate of an existing code is refused.
    let (st, existing) = s.get("catalog?limit=1&status=published&class=3", &cat).await;
    assert_eq!(st, StatusCode::OK);
    let existing_code = existing["items"][0]["code"].as_str().unwrap().to_owned();
    let mut dup = entry_json(existing_code.split('/').next().unwrap(), "导入错误测试重复代码");
    dup["code"] = json!(existing_code);
    let (st, body) = import(&s, &cat, "application/json", serde_json::to_vec(&json!([dup])).unwrap()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(row_errors(&body), BTreeSet::from([(1, "code".to_owned())]), "{body}");

    // Wrong or missing Content-Type → 400.
    let json_body = serde_json::to_vec(&json!([entry_json("303907", "导入错误测试类型")])).unwrap();
    for ct in ["text/plain", "application/ld+json", "application/pdf"] {
        let (st, body) = import(&s, &cat, ct, json_body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{ct}: {body}");
    }
    let resp = s.http.post(s.url("catalog/import")).bearer_auth(&cat).body(json_body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // An unreadable xlsx is a 422 with a row-0 problem or a 400, never a 500 and never an import.
    let (st, body) = import(&s, &cat, XLSX, b"not a spreadsheet".to_vec()).await;
    assert!(st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST, "{st} {body}");
    assert_eq!(count_all(&s, &auth).await, before);
}
on_both!(import_errors, import_errors);

async fn export_formats(b: Backend) {
    let s = Server::demo(b).await;
    let user = s.login("scjg_user").await;
    let (st, body) = s.get("catalog?status=published&limit=1", &user).await;
    assert_eq!(st, StatusCode::OK);
    let published = body["total"].as_u64().unwrap();

    let (st, ct, bytes) = get_raw(&s, "catalog/export?format=json", &user).await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("application/json"), "{ct}");
    let list: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(list.len() as u64, published);
    assert!(list.iter().all(|e| e["status"] == "published"));

    let (st, ct, bytes) = get_raw(&s, "catalog/export?format=csv", &user).await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let text = String::from_utf8(bytes).unwrap();
    let header = text.trim_start_matches('\u{feff}').lines().next().unwrap().to_owned();
    for h in ["信息资源代码", "信息资源名称", "信息项名称", "数据类型", "共享类型"] {
        assert!(header.contains(h), "{header}");
    }
    assert!(text.contains("企业登记信息"));

    let (st, ct, bytes) = get_raw(&s, "catalog/export?format=xlsx", &user).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, XLSX);
    let rows = first_sheet_rows(bytes);
    assert!(rows[0].contains(&"信息资源名称".to_owned()), "{:?}", rows[0]);
    let name_col = rows[0].iter().position(|h| h == "信息资源名称").unwrap();
    assert!(rows.iter().any(|r| r.get(name_col).is_some_and(|n| n == "企业登记信息")));

    let (st, ct, bytes) = get_raw(&s, "catalog/export?format=dcat", &user).await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("application/ld+json"), "{ct}");
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(doc.get("@context").is_some(), "{}", &doc.to_string()[..200.min(doc.to_string().len())]);

    let (st, body) = s.get("catalog/export?format=pdf", &user).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), vec!["format"]);
    let (st, _) = s.call(reqwest::Method::GET, "catalog/export?format=json", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The template: first sheet, first row = the template headers.
    let (st, ct, bytes) = get_raw(&s, "catalog/template", &user).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, XLSX);
    let rows = first_sheet_rows(bytes);
    let want = template_headers();
    assert!(rows[0].len() >= want.len(), "{:?}", rows[0]);
    assert_eq!(&rows[0][..want.len()], &want[..], "template headers");
    // …and the template, as filled, imports.
    assert!(rows.len() >= 2, "example row");
}
on_both!(export_formats, export_formats);

fn first_sheet_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
    let range = wb.worksheet_range_at(0).expect("a sheet").expect("readable sheet");
    range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

/// Runs the CLI on a store; returns (success, stdout, stderr).
fn cli(args: &[&str], data: &std::path::Path, database: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args).arg("--data").arg(data);
    if let Some(db) = database {
        cmd.arg("--database").arg(db);
    }
    cmd.env("SHUQIAO_LOG", "warn");
    let out = cmd.output().expect("run shuqiao");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Registers the demo's regions and departments (same codes, same credit codes) in an empty platform.
async fn copy_organisation(from: &Server, from_token: &str, to: &Server, admin: &str) {
    let (st, regions) = from.get("regions", from_token).await;
    assert_eq!(st, StatusCode::OK, "{regions}");
    let mut regions = regions["items"].as_array().unwrap().clone();
    let rank = |l: &str| ["national", "provincial", "municipal", "county"].iter().position(|x| *x == l).unwrap();
    regions.sort_by_key(|r| (rank(r["level"].as_str().unwrap()), r["code"].as_str().unwrap().to_owned()));
    for r in &regions {
        let (st, body) =
            to.post("regions", admin, json!({"code": r["code"], "name": r["name"], "level": r["level"]})).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
    }
    let (st, depts) = from.get("departments?limit=500", from_token).await;
    assert_eq!(st, StatusCode::OK, "{depts}");
    assert!(depts["next_cursor"].is_null());
    let mut pending: Vec<Value> = depts["items"].as_array().unwrap().clone();
    let mut ids: HashMap<String, String> = HashMap::new();
    while !pending.is_empty() {
        let n = pending.len();
        let mut rest = Vec::new();
        for d in pending {
            let parent = match d["parent"].as_str() {
                None => None,
                Some(p) => match ids.get(p) {
                    Some(id) => Some(id.clone()),
                    None => {
                        rest.push(d);
                        continue;
                    }
                },
            };
            let (st, body) = to
                .post(
                    "departments",
                    admin,
                    json!({"name": d["name"], "credit_code": d["credit_code"], "region": d["region"],
                           "parent": parent, "kind": d["kind"]}),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{body}");
            ids.insert(d["id"].as_str().unwrap().to_owned(), body["id"].as_str().unwrap().to_owned());
        }
        assert!(rest.len() < n, "unresolvable parents");
        pending = rest;
    }
}

async fn export_reimport(b: Backend) {
    let demo = Server::demo(b).await;
    let user = demo.login("gat_user").await;
    let (st, _, bytes) = get_raw(&demo, "catalog/export?format=json", &user).await;
    assert_eq!(st, StatusCode::OK);
    let original: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    assert!(original.len() > 100);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    std::fs::write(&out, &bytes).unwrap();

    let empty = Server::empty(b).await;
    let admin = empty.login("admin").await;
    copy_organisation(&demo, &user, &empty, &admin).await;
    drop(demo);
    let (data, database, _) = empty.stop();

    // A bad file first: non-zero exit, row/column messages on stderr, nothing imported.
    let mut bad = original[..3].to_vec();
    bad[1]["items"][0]["data_type"] = json!("X");
    bad[2]["provider"]["credit_code"] = json!("91130000MA0000000X");
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, serde_json::to_vec(&bad).unwrap()).unwrap();
    let (ok, _, stderr) =
        cli(&["catalog", "import", bad_path.to_str().unwrap(), "--publish"], data.path(), database.as_deref());
    assert!(!ok, "bad import must fail: {stderr}");
    assert!(stderr.contains("row 2") && stderr.contains("items[0].data_type"), "{stderr}");
    assert!(stderr.contains("row 3") && stderr.contains("credit_code"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    // A bad spreadsheet: the messages name the row and the column header.
    let a = SheetRow::entry("303906/000001", "命令行导入错误测试", "91130000MA0000000X");
    let rows = vec![a.clone().item("统一社会信用代码", "C", 18), a.item("企业名称", "X", 200)];
    let csv_path = dir.path().join("bad.csv");
    std::fs::write(&csv_path, csv_bytes(&rows)).unwrap();
    let (ok, _, stderr) = cli(&["catalog", "import", csv_path.to_str().unwrap()], data.path(), database.as_deref());
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("row 3") && stderr.contains("数据类型"), "{stderr}");
    assert!(stderr.contains("row 2") && stderr.contains("信息资源提供方代码"), "{stderr}");
    let (ok, stdout, stderr) =
        cli(&["catalog", "export", dir.path().join("none.json").to_str().unwrap()], data.path(), database.as_deref());
    assert!(ok, "{stdout} {stderr}");
    let none: Vec<Value> = serde_json::from_slice(&std::fs::read(dir.path().join("none.json")).unwrap()).unwrap();
    assert!(none.is_empty(), "nothing imported");

    // The good file.
    let (ok, stdout, stderr) =
        cli(&["catalog", "import", out.to_str().unwrap(), "--publish"], data.path(), database.as_deref());
    assert!(ok, "{stdout} {stderr}");
    assert!(stdout.contains(&format!("imported {} entries", original.len())), "{stdout}");

    let s = Server::spawn(b, "serve", data, database).await;
    let admin = s.login("admin").await;
    let (st, _, bytes) = get_raw(&s, "catalog/export?format=json", &admin).await;
    assert_eq!(st, StatusCode::OK);
    let copy: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(copy.len(), original.len());
    let by_code: HashMap<&str, &Value> = copy.iter().map(|e| (e["code"].as_str().unwrap(), e)).collect();
    for e in &original {
        let code = e["code"].as_str().unwrap();
        let c = by_code.get(code).unwrap_or_else(|| panic!("{code} missing"));
        for f in [
            "name",
            "class",
            "summary",
            "format",
            "items",
            "share",
            "open",
            "update_cycle",
            "related",
            "secret",
            "grade",
        ] {
            assert_eq!(c[f], e[f], "{code}: {f}");
        }
        assert_eq!(c["provider"]["credit_code"], e["provider"]["credit_code"], "{code}");
        assert_eq!(c["provider"]["name"], e["provider"]["name"], "{code}");
        assert_eq!(c["status"], "published", "{code}");
    }
    // The copy is searchable.
    let (st, body) = s.get(&format!("catalog?q={}&limit=5", crate::catalog::enc("企业 登记")), &admin).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["name"], "企业登记信息", "{body}");
    assert!(body["total"].as_u64().unwrap() > 0);
    let (_, all) = s.get("catalog?limit=1", &admin).await;
    assert_eq!(all["total"].as_u64().unwrap(), original.len() as u64, "{all}");
}
on_both!(export_reimport, export_reimport);
