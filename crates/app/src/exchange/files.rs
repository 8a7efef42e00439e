//! File exchange (文件交换, SPEC §5 "file" mounts, §7 "File"): the providing department's catalogers upload
//! versions of the files of a published entry that offers the `file` mode; consumers whose grant includes `file`
//! list and download them, resumable with byte ranges. Uploads are streamed to disk and hashed as they arrive (never
//! held whole in memory), checked against the checksum the uploader states, and become visible only once on disk
//! and recorded with their audit event; every download (and every refused one) is audited before a byte leaves.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use shuqiao_domain::codes::ResourceCode;
use shuqiao_domain::entry::{Entry, Mode, Status};
use shuqiao_domain::roles::Role;
use shuqiao_store::files::{self as store, FileRow};
use shuqiao_store::ts;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::gateway::{Call, check_grant, quota_exceeded, resolve_grant};
use super::usage::{self, Exceeded};
use crate::audit::{Actor, AuditEvent, record};
use crate::platform::Principal;
use crate::{AppError, Platform, Result};

/// Largest file accepted.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024 * 1024;
/// Longest file name kept.
const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileView {
    pub id: String,
    pub resource: String,
    pub name: String,
    pub version: i64,
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
    pub uploaded_at: String,
    pub uploaded_by: String,
}

fn view(r: &FileRow) -> FileView {
    FileView {
        id: r.id.clone(),
        resource: r.resource.clone(),
        name: r.name.clone(),
        version: r.version,
        size: u64::try_from(r.size).unwrap_or(0),
        sha256: r.sha256.clone(),
        content_type: r.content_type.clone(),
        uploaded_at: r.uploaded_at.clone(),
        uploaded_by: r.uploaded_by.clone(),
    }
}

/// What an upload says about itself.
#[derive(Debug, Clone, Default)]
pub struct UploadMeta {
    /// `?name=`.
    pub name: Option<String>,
    pub content_type: Option<String>,
    /// The SHA-256 the uploader computed (hex), from `X-Shuqiao-Sha256` or `Content-Digest: sha-256=:…:`.
    pub sha256: Option<String>,
    /// `Content-Length`, if given: checked before anything is written.
    pub length: Option<u64>,
}

fn dir(p: &Platform) -> PathBuf {
    p.config.data_dir.join("files")
}

fn not_found() -> AppError {
    AppError::NotFound("信息资源不存在或未发布 (no such published entry)".into())
}

async fn entry_of(p: &Platform, code: &ResourceCode) -> Result<Entry> {
    let mut c = p.store.reader().await?;
    crate::sharing::published_entry(&mut c, &code.to_string()).await?.ok_or_else(not_found)
}

fn check_name(name: Option<&str>) -> Result<String> {
    let name = name.map(str::trim).unwrap_or_default();
    let bad = name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        return Err(AppError::field(
            "name",
            "文件名须为1至200个字符，且不含 / \\ 和控制字符 (name: 1 to 200 characters, no slashes or control characters)",
        ));
    }
    Ok(name.to_owned())
}

fn check_sha256(s: Option<&str>) -> Result<Option<String>> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(h.to_ascii_lowercase())),
        Some(_) => Err(AppError::field(
            "X-Shuqiao-Sha256",
            "校验值应为64位十六进制的 SHA-256 (the checksum must be a SHA-256 in 64 hex digits)",
        )),
    }
}

/// `POST /catalog/{class}/{seq}/files?name=` (cataloger of the providing department): stores a new version.
/// The caller's right is checked before the body is read; a body whose SHA-256 differs from the stated one is
/// refused (422) and leaves nothing behind.
pub async fn upload<S, E>(
    p: &Platform,
    who: &Principal,
    code: ResourceCode,
    meta: UploadMeta,
    mut body: S,
) -> Result<FileView>
where
    S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    let entry = entry_of(p, &code).await?;
    who.require(&[Role::Cataloger])?;
    if who.department.as_deref() != Some(entry.provider.id.as_str()) {
        return Err(AppError::Forbidden(
            "只有提供部门的目录编制员可以上传文件 (only the providing department's catalogers may upload files)".into(),
        ));
    }
    if !entry.share.modes.contains(&Mode::File) || entry.status != Status::Published {
        return Err(AppError::Conflict(
            "该信息资源未提供文件方式 (the entry does not offer the `file` mode; add it to share.modes first)".into(),
        ));
    }
    let name = check_name(meta.name.as_deref())?;
    let expected = check_sha256(meta.sha256.as_deref())?;
    if meta.length.is_some_and(|n| n > MAX_FILE_BYTES) {
        return Err(AppError::TooLarge(format!("文件超过 {MAX_FILE_BYTES} 字节 (the file is larger than allowed)")));
    }
    let content_type = meta
        .content_type
        .filter(|c| !c.is_empty() && c.len() <= 200 && c.is_ascii())
        .unwrap_or_else(|| "application/octet-stream".to_owned());

    let id = uuid::Uuid::new_v4().to_string();
    let dir = dir(p);
    let tmp_dir = dir.join("incoming");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(io_error)?;
    let tmp = tmp_dir.join(&id);
    // Whatever goes wrong from here on, the partial file goes.
    let guard = RemoveOnDrop(Some(tmp.clone()));
    let file = tokio::fs::File::create(&tmp).await.map_err(io_error)?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let mut hash = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("上传中断 (the upload broke off): {e}")))?;
        size += chunk.len() as u64;
        if size > MAX_FILE_BYTES {
            return Err(AppError::TooLarge(format!(
                "文件超过 {MAX_FILE_BYTES} 字节 (the file is larger than allowed)"
            )));
        }
        hash.update(&chunk);
        out.write_all(&chunk).await.map_err(io_error)?;
    }
    if let Some(n) = meta.length
        && n != size
    {
        return Err(AppError::BadRequest(format!(
            "收到 {size} 字节，Content-Length 为 {n} (received {size} bytes where Content-Length said {n})"
        )));
    }
    let sha256 = hex::encode(hash.finalize());
    if let Some(want) = &expected
        && *want != sha256
    {
        return Err(AppError::Validation(vec![shuqiao_domain::FieldError::new(
            "X-Shuqiao-Sha256",
            format!(
                "校验值不符：收到的文件为 {sha256} (checksum mismatch: the received file hashes to {sha256}); 未保存 (nothing was stored)"
            ),
        )]));
    }
    out.flush().await.map_err(io_error)?;
    let file = out.into_inner();
    file.sync_all().await.map_err(io_error)?;
    drop(file);
    let dest = dir.join(&id);
    tokio::fs::rename(&tmp, &dest).await.map_err(io_error)?;
    guard.disarm();
    // Until the row is committed, the stored bytes are nobody's: removed if recording fails.
    let guard = RemoveOnDrop(Some(dest));
    let row = FileRow {
        id: id.clone(),
        resource: code.to_string(),
        department: entry.provider.id.clone(),
        name,
        version: 0,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        sha256,
        content_type,
        uploaded_by: who.name.clone(),
        uploaded_at: ts(p.now()),
    };
    let mut tx = p.store.begin().await?;
    let row = FileRow { version: store::next_version(&mut tx, &row.resource, &row.name).await?, ..row };
    store::insert_file(&mut tx, &row).await?;
    let ev = AuditEvent::new("file.upload", format!("file:{id}"))
        .department(entry.provider.id.clone())
        .resource(row.resource.clone())
        .detail(json!({"name": row.name, "version": row.version, "size": size, "sha256": row.sha256}));
    record(&mut tx, p, &Actor::from(who), ev).await?;
    shuqiao_store::commit(tx).await?;
    guard.disarm();
    Ok(view(&row))
}

/// Removes a file when dropped, unless disarmed.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn io_error(e: std::io::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("file store: {e}"))
}

/// The caller may see the entry's files: the providing department, or a consumer with a usable `file` grant.
/// Returns the grant used (for consumers).
async fn access(p: &Platform, call: &Call<'_>, entry: &Entry) -> Result<Option<crate::sharing::grants::GrantView>> {
    if call.who.department.as_deref() == Some(entry.provider.id.as_str()) {
        return Ok(None);
    }
    call.who.require(&[Role::Consumer])?;
    let g = resolve_grant(p, call, &call.code.to_string(), Mode::File).await?;
    check_grant(&g, Mode::File, crate::catalog::today_cn(p.now()))?;
    Ok(Some(g))
}

/// `GET /data/{class}/{seq}/files`: the versions, newest first.
pub async fn list(p: &Platform, call: Call<'_>, after: Option<(&str, &str)>, limit: i64) -> Result<Vec<FileView>> {
    let entry = entry_of(p, &call.code).await?;
    access(p, &call, &entry).await?;
    let mut c = p.store.reader().await?;
    Ok(store::list_files(&mut c, &call.code.to_string(), after, limit).await?.iter().map(view).collect())
}

/// A download about to be sent: the file positioned at `start`, and how many bytes to send.
#[derive(Debug)]
pub struct Download {
    pub file: FileView,
    pub body: tokio::fs::File,
    pub start: u64,
    pub len: u64,
    /// Whether a range was asked for (206).
    pub partial: bool,
}

/// A byte range as `Range: bytes=…` asks it: `start-end`, `start-` or `-suffix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    From(u64, Option<u64>),
    Last(u64),
}

/// Parses one `bytes=` range; `None` for anything else (which is then ignored, as RFC 9110 allows).
pub fn parse_range(h: &str) -> Option<ByteRange> {
    let spec = h.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return b.parse().ok().map(ByteRange::Last);
    }
    let start = a.parse().ok()?;
    let end = if b.is_empty() { None } else { Some(b.parse().ok()?) };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some(ByteRange::From(start, end))
}

/// Error for a range that does not overlap the file (416).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsatisfiable {
    pub size: u64,
}

/// `(start, len)` of a range within a file of `size` bytes.
pub fn resolve_range(r: ByteRange, size: u64) -> std::result::Result<(u64, u64), Unsatisfiable> {
    match r {
        ByteRange::From(start, _) if start >= size => Err(Unsatisfiable { size }),
        ByteRange::From(start, end) => {
            let last = end.map_or(size - 1, |e| e.min(size - 1));
            Ok((start, last - start + 1))
        }
        ByteRange::Last(0) => Err(Unsatisfiable { size }),
        ByteRange::Last(n) => {
            let n = n.min(size);
            if n == 0 { Err(Unsatisfiable { size }) } else { Ok((size - n, n)) }
        }
    }
}

/// `GET /data/{class}/{seq}/files/{id}` with an optional range. The access is audited (and durable) before the
/// file is handed back; a refused one is audited too.
pub async fn download(p: &Platform, call: Call<'_>, id: &str, range: Option<ByteRange>) -> Result<Download> {
    let mut trace = (None::<String>, None::<String>, None::<FileView>, None::<(u64, u64)>);
    let outcome = download_inner(p, &call, id, range, &mut trace).await;
    let (result, reason) = match &outcome {
        Ok(_) => ("ok", None),
        Err(AppError::Internal(_)) => ("failed", Some("internal error".to_owned())),
        Err(e) => ("refused", Some(e.to_string())),
    };
    let (provider, grant, file, span) = trace;
    let mut detail = json!({
        "mode": "file", "file": id, "grant": grant,
        "name": file.as_ref().map(|f| f.name.clone()), "version": file.as_ref().map(|f| f.version),
        "sha256": file.as_ref().map(|f| f.sha256.clone()),
        "range": span.map(|(s, l)| json!({"start": s, "bytes": l})),
        "caller": match call.who.kind { crate::platform::PrincipalKind::User => "user", _ => "client" },
    });
    if let (Some(r), Some(obj)) = (reason, detail.as_object_mut()) {
        obj.insert("reason".into(), serde_json::Value::String(r));
    }
    let object = match &grant {
        Some(g) => format!("grant:{g}"),
        None => format!("entry:{}", call.code),
    };
    let mut ev = AuditEvent::new("data.file", object)
        .resource(call.code.to_string())
        .case_ref(call.case_ref.clone())
        .result(result)
        .detail(detail);
    if let Some(d) = provider {
        ev = ev.department(d);
    }
    p.audit_writer.append(Actor::from(call.who), ev).await?;
    outcome
}

type Trace = (Option<String>, Option<String>, Option<FileView>, Option<(u64, u64)>);

async fn download_inner(
    p: &Platform,
    call: &Call<'_>,
    id: &str,
    range: Option<ByteRange>,
    trace: &mut Trace,
) -> Result<Download> {
    let entry = entry_of(p, &call.code).await?;
    trace.0 = Some(entry.provider.id.clone());
    let grant = access(p, call, &entry).await?;
    trace.1 = grant.as_ref().map(|g| g.id.clone());
    let row = {
        let mut c = p.store.reader().await?;
        store::get_file(&mut c, &call.code.to_string(), id).await?
    }
    .ok_or_else(|| AppError::NotFound("文件不存在 (no such file)".into()))?;
    let file = view(&row);
    trace.2 = Some(file.clone());
    let (start, len) = match range {
        None => (0, file.size),
        Some(r) => resolve_range(r, file.size).map_err(|u| {
            AppError::RangeNotSatisfiable(
                format!(
                    "请求的范围超出文件末尾，文件共 {} 字节 (the range lies beyond the end of the file, which has {} bytes)",
                    u.size, u.size
                ),
                u.size,
            )
        })?,
    };
    trace.3 = Some((start, len));
    if let Some(g) = &grant {
        let quota = g.quota.unwrap_or_default();
        let now = p.now();
        let day = crate::catalog::today_cn(now).to_string();
        match usage::take_request(p, &g.id, &day, quota.requests_per_day, None, false).await? {
            Ok(_) => {}
            Err(Exceeded::Requests | Exceeded::Records) => {
                return Err(quota_exceeded("请求", quota.requests_per_day.unwrap_or(0), now));
            }
        }
        usage::add_records(p, &g.id, &day, 0, &ts(now)).await?;
    }
    let mut body = tokio::fs::File::open(dir(p).join(&file.id)).await.map_err(io_error)?;
    if start > 0 {
        body.seek(std::io::SeekFrom::Start(start)).await.map_err(io_error)?;
    }
    Ok(Download { file, body, start, len, partial: range.is_some() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99"), Some(ByteRange::From(0, Some(99))));
        assert_eq!(parse_range("bytes=100-"), Some(ByteRange::From(100, None)));
        assert_eq!(parse_range("bytes=-5"), Some(ByteRange::Last(5)));
        assert_eq!(parse_range("bytes=5-1"), None);
        assert_eq!(parse_range("bytes=0-1,4-5"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(resolve_range(ByteRange::From(0, Some(99)), 1000), Ok((0, 100)));
        assert_eq!(resolve_range(ByteRange::From(900, Some(5000)), 1000), Ok((900, 100)));
        assert_eq!(resolve_range(ByteRange::From(1000, None), 1000), Err(Unsatisfiable { size: 1000 }));
        assert_eq!(resolve_range(ByteRange::Last(10), 1000), Ok((990, 10)));
        assert_eq!(resolve_range(ByteRange::Last(5000), 1000), Ok((0, 1000)));
        assert_eq!(resolve_range(ByteRange::From(0, None), 0), Err(Unsatisfiable { size: 0 }));
    }

    #[test]
    fn names_and_checksums() {
        assert_eq!(check_name(Some(" 户籍统计2026.xlsx ")).unwrap(), "户籍统计2026.xlsx");
        assert!(check_name(Some("../etc/passwd")).is_err());
        assert!(check_name(Some("a\\b")).is_err());
        assert!(check_name(None).is_err());
        assert!(check_sha256(Some("xyz")).is_err());
        let h = "AB".repeat(32);
        assert_eq!(check_sha256(Some(&h)).unwrap(), Some("ab".repeat(32)));
    }
}
