//! The catalog entry (信息资源) of SPEC §4 in two shapes: [`EntryInput`], what a client sends (loose, so that
//! validation can report every problem at once), and [`Entry`], a validated entry as stored and served
//! (field names fixed by API.md).

use serde::{Deserialize, Serialize};
use time::Date;

use crate::codes::{ClassCode, ResourceCode};

/// Lifecycle state of one version of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Published,
    Returned,
    Retired,
    /// A published version replaced by a newer published version; still readable in `/versions`.
    Superseded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Published => "published",
            Status::Returned => "returned",
            Status::Retired => "retired",
            Status::Superseded => "superseded",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Draft, Status::Submitted, Status::Published, Status::Returned, Status::Retired, Status::Superseded]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
    /// Versions that have been public at some time (visible to every department).
    pub fn is_public(self) -> bool {
        matches!(self, Status::Published | Status::Retired | Status::Superseded)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Submitted => "待审核",
            Status::Published => "已发布",
            Status::Returned => "已退回",
            Status::Retired => "已撤销",
            Status::Superseded => "历史版本",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareType {
    Unconditional,
    Conditional,
    NotShared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Query,
    Verify,
    Sync,
    File,
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateCycle {
    Realtime,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
    Irregular,
}

/// 数据类型 of an information item: C 字符型, N 数值型, Y 货币型, D 日期型, T 日期时间型, L 逻辑型, M 备注型,
/// G 通用型, B 双精度型, I 整型, F 浮点型.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    C,
    N,
    Y,
    D,
    T,
    L,
    M,
    G,
    B,
    I,
    F,
}

/// Data grade per GB/T 43697.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grade {
    #[serde(rename = "一般")]
    General,
    #[serde(rename = "重要")]
    Important,
    #[serde(rename = "核心")]
    Core,
}

/// 信息资源格式分类.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FormatCategory {
    #[serde(rename = "电子文件")]
    ElectronicFile,
    #[serde(rename = "电子表格")]
    Spreadsheet,
    #[serde(rename = "数据库")]
    Database,
    #[serde(rename = "图形图像")]
    Image,
    #[serde(rename = "流媒体")]
    StreamingMedia,
    #[serde(rename = "自描述格式")]
    SelfDescribing,
    #[serde(rename = "服务接口")]
    ServiceInterface,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    /// 提供方内部部门 (optional internal office).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    pub category: FormatCategory,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub data_type: DataType,
    pub length: u32,
    pub basic: bool,
    pub share_type: Option<ShareType>,
    pub grade: Option<Grade>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    #[serde(rename = "type")]
    pub kind: ShareType,
    pub condition: Option<String>,
    pub legal_basis: Option<String>,
    pub modes: Vec<Mode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    pub open: bool,
    pub condition: Option<String>,
}

/// The class as in API.md: `{"lei": 1, "xiang": 1, "mu": 1, "ximu": null}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassJson {
    pub lei: u8,
    pub xiang: u8,
    pub mu: u16,
    pub ximu: Option<u16>,
}

/// A validated catalog entry as stored and served. Field names and order follow API.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub code: ResourceCode,
    pub class: ClassJson,
    pub name: String,
    pub provider: Provider,
    pub summary: String,
    pub format: Format,
    pub items: Vec<Item>,
    pub share: Share,
    pub open: Open,
    pub update_cycle: UpdateCycle,
    pub published_on: Option<Date>,
    pub related: Vec<ResourceCode>,
    pub secret: bool,
    /// Entry-level data grade (GB/T 43697), an extension of the 13 core elements.
    pub grade: Option<Grade>,
    pub status: Status,
    pub version: u32,
}

/// What validation of an [`EntryInput`] yields: the content of an entry, without lifecycle fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySpec {
    pub class: ClassCode,
    /// The full code if the client gave one; `None` if it gave only the classification part (the platform then
    /// assigns the next sequence number).
    pub code: Option<ResourceCode>,
    pub name: String,
    pub summary: String,
    pub format: Format,
    pub items: Vec<Item>,
    pub share: Share,
    pub open: Open,
    pub update_cycle: UpdateCycle,
    pub related: Vec<ResourceCode>,
    pub grade: Option<Grade>,
    pub unit: Option<String>,
}

impl EntrySpec {
    /// Builds the stored entry from validated content and the lifecycle fields the platform owns.
    pub fn into_entry(self, code: ResourceCode, provider: Provider, status: Status, version: u32) -> Entry {
        let provider = Provider { unit: self.unit.clone().or(provider.unit), ..provider };
        Entry {
            code,
            class: self.class.to_json(),
            name: self.name,
            provider,
            summary: self.summary,
            format: self.format,
            items: self.items,
            share: self.share,
            open: self.open,
            update_cycle: self.update_cycle,
            published_on: None,
            related: self.related,
            secret: false,
            grade: self.grade,
            status,
            version,
        }
    }
}

/// What a client sends to create or edit an entry. Loose on purpose: every string is checked by
/// [`crate::validate::validate_entry`], which reports all problems at once. Read-only fields of the served JSON
/// (`provider`, `status`, `version`, `published_on`) are accepted so that a GET → edit → PUT round trip works, and
/// ignored.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    pub code: Option<String>,
    pub class: Option<ClassInput>,
    pub name: Option<String>,
    pub provider: Option<serde_json::Value>,
    pub summary: Option<String>,
    pub format: Option<FormatInput>,
    pub items: Option<Vec<ItemInput>>,
    pub share: Option<ShareInput>,
    pub open: Option<OpenInput>,
    pub update_cycle: Option<String>,
    pub published_on: Option<serde_json::Value>,
    pub related: Option<Vec<String>>,
    pub secret: Option<bool>,
    pub grade: Option<String>,
    pub status: Option<serde_json::Value>,
    pub version: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassInput {
    pub lei: Option<i64>,
    pub xiang: Option<i64>,
    pub mu: Option<i64>,
    pub ximu: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FormatInput {
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub name: Option<String>,
    pub data_type: Option<String>,
    pub length: Option<i64>,
    pub basic: Option<bool>,
    pub share_type: Option<String>,
    pub grade: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShareInput {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub condition: Option<String>,
    pub legal_basis: Option<String>,
    pub modes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpenInput {
    pub open: Option<bool>,
    pub condition: Option<String>,
}

impl From<&Entry> for EntryInput {
    /// The input that reproduces an entry's content (used by export → import and by edit forms).
    fn from(e: &Entry) -> Self {
        EntryInput {
            code: Some(e.code.to_string()),
            class: Some(ClassInput {
                lei: Some(e.class.lei.into()),
                xiang: Some(e.class.xiang.into()),
                mu: Some(e.class.mu.into()),
                ximu: e.class.ximu.map(i64::from),
            }),
            name: Some(e.name.clone()),
            provider: None,
            summary: Some(e.summary.clone()),
            format: Some(FormatInput { category: api_str(&e.format.category), kind: Some(e.format.kind.clone()) }),
            items: Some(
                e.items
                    .iter()
                    .map(|i| ItemInput {
                        name: Some(i.name.clone()),
                        data_type: api_str(&i.data_type),
                        length: Some(i.length.into()),
                        basic: Some(i.basic),
                        share_type: i.share_type.as_ref().and_then(api_str),
                        grade: i.grade.as_ref().and_then(api_str),
                    })
                    .collect(),
            ),
            share: Some(ShareInput {
                kind: api_str(&e.share.kind),
                condition: e.share.condition.clone(),
                legal_basis: e.share.legal_basis.clone(),
                modes: Some(e.share.modes.iter().filter_map(api_str).collect()),
            }),
            open: Some(OpenInput { open: Some(e.open.open), condition: e.open.condition.clone() }),
            update_cycle: api_str(&e.update_cycle),
            published_on: None,
            related: Some(e.related.iter().map(ToString::to_string).collect()),
            secret: Some(e.secret),
            grade: e.grade.as_ref().and_then(api_str),
            status: None,
            version: None,
        }
    }
}

/// The API string of an enum value (`"conditional"`, `"重要"`, …).
pub fn api_str<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned))
}
