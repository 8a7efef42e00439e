//! File exchange (文件交换): the provider's cataloger uploads versions (streamed, checksummed); consumers with a
//! `file` grant list and download them, resuming with `Range`; refusals, bad checksums and ranges beyond the end
//! are clear errors that leave nothing behind; every download is audited; other departments see nothing.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::X;
use crate::harness::Backend;
use crate::on_both;

/// `n` bytes that differ from position to position (so that a misplaced range would not compare equal).
fn content(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

async fn upload(x: &X, user: &str, code: &str, name: &str, body: Vec<u8>, sum: Option<&str>) -> (StatusCode, Value) {
    let mut req =
        x.s.http
            .post(x.s.url(&format!("catalog/{code}/files?name={}", enc(name))))
            .bearer_auth(x.tok(user))
            .header("content-type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .body(body);
    if let Some(s) = sum {
        req = req.header("x-shuqiao-sha256", s);
    }
    let (st, _, v) = x.s.send(req).await;
    (st, v)
}

/// A download: status, headers and the raw bytes.
async fn download(x: &X, user: &str, code: &str, id: &str, range: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req =
        x.s.http
            .get(x.s.url(&format!("data/{code}/files/{id}")))
            .bearer_auth(x.tok(user))
            .header("x-shuqiao-case", "SJZ-FILE-0001");
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let resp = req.send().await.unwrap();
    let st = resp.status();
    let h = resp.headers().clone();
    (st, h, resp.bytes().await.unwrap().to_vec())
}

fn problem(bytes: &[u8], status: StatusCode) -> Value {
    let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    assert_eq!(v["status"], status.as_u16(), "{v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    v
}

async fn files_upload_list_download(b: Backend) {
    let x = X::new(b).await;
    let code = x.entry(&["query", "file"]).await;
    let data = content(3 * 1024 * 1024 + 17);
    let sum = sha(&data);

    // Only the providing department's catalogers upload.
    let (st, v) = upload(&x, "scjg_user", &code, "户籍统计.xlsx", data.clone(), Some(&sum)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = upload(&x, "scjg_catalog", &code, "户籍统计.xlsx", data.clone(), Some(&sum)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = upload(&x, "gat_user", &code, "户籍统计.xlsx", data.clone(), Some(&sum)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    // Bad names and checksums.
    let (st, v) = upload(&x, "gat_catalog", &code, "../户籍统计.xlsx", data.clone(), None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "name", "{v}");
    let (st, v) = upload(&x, "gat_catalog", &code, "户籍统计.xlsx", data.clone(), Some("abc")).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A checksum that does not match what arrived: refused, and nothing stored — no row, no bytes.
    let wrong = sha(b"something else");
    let (st, v) = upload(&x, "gat_catalog", &code, "户籍统计.xlsx", data.clone(), Some(&wrong)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "X-Shuqiao-Sha256", "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains(&sum), "{v}");
    let (st, list) = x.get("gat_catalog", &format!("data/{code}/files")).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["items"], json!([]), "{list}");
    let stored = |dir: &std::path::Path| -> usize {
        std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()).filter(|e| e.path().is_file()).count()).unwrap_or(0)
    };
    let files_dir = x.s.data.path().join("files");
    assert_eq!(stored(&files_dir), 0);
    assert_eq!(stored(&files_dir.join("incoming")), 0, "a refused upload left its partial file");

    // Two versions of one name, and one checked through Content-Digest (RFC 9530).
    let (st, v1) = upload(&x, "gat_catalog", &code, "户籍统计.xlsx", data.clone(), Some(&sum)).await;
    assert_eq!(st, StatusCode::CREATED, "{v1}");
    assert_eq!((v1["version"].as_i64(), v1["size"].as_u64()), (Some(1), Some(data.len() as u64)), "{v1}");
    assert_eq!(v1["sha256"], sum.as_str());
    let small = content(1000);
    let digest = base64_of(&Sha256::digest(&small));
    let req =
        x.s.http
            .post(x.s.url(&format!("catalog/{code}/files?name={}", enc("户籍统计.xlsx"))))
            .bearer_auth(x.tok("gat_catalog"))
            .header("content-digest", format!("sha-256=:{digest}:"))
            .body(small.clone());
    let (st, _, v2) = x.s.send(req).await;
    assert_eq!(st, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version"], 2, "{v2}");
    assert_eq!(v2["content_type"], "application/octet-stream", "{v2}");
    assert_eq!(stored(&files_dir), 2);
    let id1 = v1["id"].as_str().unwrap().to_owned();

    // No grant yet: the consumer can neither list nor download, and the refusal is audited.
    let (st, v) = x.get("scjg_user", &format!("data/{code}/files")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, _, body) = download(&x, "scjg_user", &code, &id1, None).await;
    problem(&body, StatusCode::FORBIDDEN);
    assert_eq!(st, StatusCode::FORBIDDEN);
    let refused = x.events_of("data.file").await;
    assert!(refused.iter().any(|e| e["result"] == "refused" && e["actor_name"] == "scjg_user"), "{refused:#?}");

    // A grant for queries only does not open the files.
    let g = x.grant(&code, &["姓名"], &["query"], json!({})).await;
    let (st, v) = x.get("scjg_user", &format!("data/{code}/files")).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("file"), "{v}");
    let (st, r) = x
        .post("gat_review", &format!("grants/{}/revoke", g["id"].as_str().unwrap()), json!({"reason": "改为文件方式"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");

    let g = x.grant(&code, &["姓名"], &["file"], json!({})).await;
    let gid = g["id"].as_str().unwrap().to_owned();
    let (st, list) = x.get("scjg_user", &format!("data/{code}/files")).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["version"], 2, "newest first: {list}");
    let (st, page) = x.get("scjg_user", &format!("data/{code}/files?limit=1")).await;
    assert_eq!(st, StatusCode::OK);
    let cursor = page["next_cursor"].as_str().expect("a second page").to_owned();
    let (_, page2) = x.get("scjg_user", &format!("data/{code}/files?limit=1&cursor={cursor}")).await;
    assert_eq!(page2["items"][0]["version"], 1, "{page2}");

    // The whole file, then a resume: the first million bytes and the rest add up to the file.
    let (st, h, whole) = download(&x, "scjg_user", &code, &id1, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(whole.len(), data.len());
    assert!(whole == data, "the downloaded bytes differ from the uploaded ones");
    assert_eq!(h["x-shuqiao-sha256"], sum.as_str());
    assert_eq!(h["accept-ranges"], "bytes");
    assert!(h["content-disposition"].to_str().unwrap().contains("%E6%88%B7"), "{h:?}");
    let (st, h, head) = download(&x, "scjg_user", &code, &id1, Some("bytes=0-999999")).await;
    assert_eq!(st, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.len(), 1_000_000);
    assert_eq!(h["content-range"].to_str().unwrap(), format!("bytes 0-999999/{}", data.len()));
    let (st, _, tail) = download(&x, "scjg_user", &code, &id1, Some("bytes=1000000-")).await;
    assert_eq!(st, StatusCode::PARTIAL_CONTENT);
    assert!([head, tail].concat() == data, "the resumed parts do not add up to the file");
    let (st, _, last) = download(&x, "scjg_user", &code, &id1, Some("bytes=-17")).await;
    assert_eq!(st, StatusCode::PARTIAL_CONTENT);
    assert_eq!(last, data[data.len() - 17..]);

    // A range beyond the end: 416 with the size, nothing sent, audited as refused.
    let (st, h, body) = download(&x, "scjg_user", &code, &id1, Some("bytes=99999999-")).await;
    assert_eq!(st, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(h["content-range"].to_str().unwrap(), format!("bytes */{}", data.len()));
    problem(&body, StatusCode::RANGE_NOT_SATISFIABLE);
    let (st, _, body) = download(&x, "scjg_user", &code, "no-such-file", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{}", String::from_utf8_lossy(&body));

    // Every download is in the log with its grant, file, checksum, range and case.
    let events = x.events_of("data.file").await;
    let ok: Vec<&Value> = events.iter().filter(|e| e["result"] == "ok").collect();
    assert_eq!(ok.len(), 4, "{events:#?}");
    for e in &ok {
        assert_eq!(e["object"], format!("grant:{gid}"), "{e}");
        assert_eq!(e["detail"]["sha256"], sum.as_str(), "{e}");
        assert_eq!(e["case_ref"], "SJZ-FILE-0001", "{e}");
        assert_eq!(e["department"], x.dept["gat"].as_str(), "{e}");
    }
    assert!(ok.iter().any(|e| e["detail"]["range"] == json!({"start": 1_000_000, "bytes": data.len() - 1_000_000})));
    assert!(
        events.iter().any(|e| e["result"] == "refused" && e["detail"]["reason"].as_str().unwrap().contains("范围"))
    );
    let uploads = x.events_of("file.upload").await;
    assert_eq!(uploads.len(), 2, "{uploads:#?}");

    // Another department sees nothing and changes nothing.
    let rst_user = x.s.login("rst_user").await;
    let rst_catalog = x.s.login("rst_catalog").await;
    let (st, v) = x.s.get(&format!("data/{code}/files"), &rst_user).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let req = x.s.http.get(x.s.url(&format!("data/{code}/files/{id1}"))).bearer_auth(&rst_user);
    let (st, _, v) = x.s.send(req).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let req =
        x.s.http.post(x.s.url(&format!("catalog/{code}/files?name=x.csv"))).bearer_auth(&rst_catalog).body("a,b\n");
    let (st, _, v) = x.s.send(req).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(stored(&files_dir), 2);

    // Revoked: no more downloads.
    let (st, r) = x.post("gat_review", &format!("grants/{gid}/revoke"), json!({"reason": "业务结束"})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, _, body) = download(&x, "scjg_user", &code, &id1, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&body));

    // An entry that does not offer files takes no uploads.
    let other = x.entry(&["query"]).await;
    let (st, v) = upload(&x, "gat_catalog", &other, "a.csv", b"a,b\n".to_vec(), None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
}
on_both!(files_upload_list_download, files_upload_list_download);

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
