//! The console's message catalog: every user-facing string of the console, in Simplified Chinese (the default)
//! and English. Templates and handlers look strings up by key; a missing key shows the key itself, which a unit
//! test catches for the keys the code names.

use time::{Date, OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

macro_rules! catalog {
    ($($key:literal => $zh:literal, $en:literal;)*) => {
        fn lookup(key: &str) -> Option<(&'static str, &'static str)> {
            match key {
                $($key => Some(($zh, $en)),)*
                _ => None,
            }
        }
        #[cfg(test)]
        const KEYS: &[&str] = &[$($key),*];
    };
}

catalog! {
    "app.name" => "数桥 · 政务数据共享交换平台", "Shuqiao · Government Data Sharing";
    "app.short" => "数桥", "Shuqiao";
    "lang.switch" => "English", "中文";
    "lang.switch.code" => "en", "zh";
    "skip" => "跳到正文", "Skip to content";
    "nav.home" => "工作台", "Home";
    "nav.catalog" => "目录检索", "Catalog";
    "nav.applications" => "共享申请", "Applications";
    "nav.grants" => "授权", "Grants";
    "nav.objections" => "疑义", "Objections";
    "nav.demands" => "需求", "Demands";
    "nav.audit" => "审计", "Audit";
    "nav.monitor" => "监测", "Monitoring";
    "nav.departments" => "部门", "Departments";
    "nav.users" => "用户", "Users";
    "nav.clients" => "接口客户端", "API clients";
    "nav.nodes" => "前置节点", "Nodes";
    "nav.import" => "导入目录", "Import";
    "nav.new_entry" => "编制目录", "New entry";
    "nav.main" => "主导航", "Main navigation";
    "crumbs" => "当前位置", "Breadcrumbs";
    "logout" => "退出", "Log out";
    "login.title" => "登录", "Log in";
    "login.username" => "用户名", "Username";
    "login.password" => "密码", "Password";
    "login.submit" => "登录", "Log in";
    "login.hint" => "演示账号的密码均为 Demo@2026", "Every demo account's password is Demo@2026";
    "login.required" => "请输入用户名和密码", "Enter your username and password";
    "flash.logged_out" => "已退出登录", "You have logged out";
    "flash.welcome" => "登录成功", "Logged in";
    "err.404.title" => "页面不存在", "Page not found";
    "err.404.text" => "您访问的页面不存在，或者您无权知道它存在。", "The page does not exist, or you may not know that it exists.";
    "err.403.title" => "无权访问", "Forbidden";
    "err.403.text" => "您的账号无权执行此操作。", "Your account may not do this.";
    "err.409.title" => "状态已变化", "Changed meanwhile";
    "err.400.title" => "请求有误", "Bad request";
    "err.429.title" => "操作过于频繁", "Too many requests";
    "err.500.title" => "服务器内部错误", "Internal error";
    "err.500.text" => "出现了意外错误，已记录。请稍后再试。", "Something went wrong; it has been logged. Please try again later.";
    "err.csrf" => "表单已失效（可能已在其他窗口退出或表单过期），请返回重新提交。", "The form has expired (you may have logged out elsewhere); go back and submit it again.";
    "err.back_home" => "返回工作台", "Back to the home page";
    "err.form" => "表单有误，请按提示修改后重新提交。", "The form has errors; correct them and submit again.";
    "err.stale" => "该对象已被他人修改，您的修改未保存。请查看最新内容后重试。", "Someone changed this meanwhile; your change was not saved. Review the current version and try again.";
    "home.title" => "工作台", "Home";
    "home.inbox" => "待办事项", "Waiting for you";
    "home.inbox.empty" => "目前没有待办事项。", "Nothing is waiting for you.";
    "home.kind" => "类型", "Kind";
    "home.item" => "事项", "Item";
    "home.action" => "需要", "Action";
    "home.deadline" => "办理期限", "Deadline";
    "home.since" => "提交时间", "Since";
    "home.overdue" => "已超期", "Overdue";
    "home.roles" => "角色", "Roles";
    "home.department" => "部门", "Department";
    "home.quick" => "常用操作", "Shortcuts";
    "kind.application" => "共享申请", "Application";
    "kind.objection" => "疑义", "Objection";
    "kind.catalog_entry" => "目录审核", "Catalog entry";
    "kind.demand" => "需求", "Demand";
    "action.answer" => "答复", "Answer";
    "action.coordinate" => "协调裁决", "Coordinate";
    "action.review" => "审核发布", "Review";
    "action.route" => "分派", "Route";
    "action.resubmit" => "修改后重新申请", "Resubmit";
    "list.empty" => "没有符合条件的记录。", "No records match.";
    "list.filter" => "筛选", "Filter";
    "list.reset" => "清除", "Reset";
    "list.next" => "下一页", "Next page";
    "list.first" => "第一页", "First page";
    "list.prev" => "上一页", "Previous page";
    "list.total" => "共", "Total";
    "list.sort" => "点击排序", "Sort";
    "list.all" => "全部", "All";
    "list.page_rows" => "每页", "Per page";
    "side" => "视角", "Side";
    "side.consumer" => "我方申请", "As consumer";
    "side.provider" => "向我方申请", "As provider";
    "side.all" => "全部（主管部门）", "All (authority)";
    "status" => "状态", "Status";
    "catalog.title" => "目录检索", "Catalog search";
    "catalog.q" => "关键词", "Keywords";
    "catalog.q.placeholder" => "如：企业 登记", "e.g. 企业 登记";
    "catalog.search" => "检索", "Search";
    "catalog.results" => "条结果", "results";
    "catalog.facets" => "分面筛选", "Facets";
    "facet.provider" => "提供方", "Provider";
    "facet.class" => "分类", "Class";
    "facet.share_type" => "共享类型", "Share type";
    "facet.open" => "开放", "Open";
    "facet.update_cycle" => "更新周期", "Update cycle";
    "facet.status" => "状态", "Status";
    "facet.region" => "行政区划", "Region";
    "facet.remove" => "取消此筛选", "Remove this filter";
    "sort.relevance" => "相关度", "Relevance";
    "sort.code" => "资源代码", "Code";
    "sort.name" => "名称", "Name";
    "sort.updated" => "更新时间", "Updated";
    "entry.code" => "信息资源代码", "Resource code";
    "entry.name" => "信息资源名称", "Name";
    "entry.class" => "信息资源分类", "Class";
    "entry.provider" => "提供方", "Provider";
    "entry.summary" => "摘要", "Summary";
    "entry.format" => "信息资源格式", "Format";
    "entry.format.category" => "格式分类", "Format category";
    "entry.format.type" => "格式类型", "Format type";
    "entry.items" => "信息项", "Items";
    "entry.item.name" => "信息项名称", "Item name";
    "entry.item.data_type" => "数据类型", "Data type";
    "entry.item.length" => "长度", "Length";
    "entry.item.basic" => "基础项", "Basic";
    "entry.item.share_type" => "共享类型", "Share type";
    "entry.item.grade" => "分级", "Grade";
    "entry.share" => "共享属性", "Sharing";
    "entry.share.type" => "共享类型", "Share type";
    "entry.share.condition" => "共享条件", "Condition";
    "entry.share.legal_basis" => "不予共享/有条件共享依据", "Legal basis";
    "entry.share.modes" => "共享方式", "Modes";
    "entry.open" => "开放属性", "Open data";
    "entry.open.condition" => "开放条件", "Open condition";
    "entry.update_cycle" => "更新周期", "Update cycle";
    "entry.published_on" => "发布日期", "Published on";
    "entry.related" => "关联资源代码", "Related codes";
    "entry.grade" => "数据分级", "Grade";
    "entry.status" => "状态", "Status";
    "entry.version" => "版本", "Version";
    "entry.versions" => "历史版本", "Versions";
    "entry.comment" => "退回意见", "Return comment";
    "entry.updated_at" => "最后修改", "Last changed";
    "entry.mount" => "挂接状态", "Mount";
    "entry.mount.none" => "尚未挂接数据", "No data mounted yet";
    "entry.who_may_apply" => "谁可以申请", "Who may apply";
    "entry.apply" => "申请使用", "Apply";
    "entry.submit" => "提交审核", "Submit for review";
    "entry.publish" => "审核发布", "Publish";
    "entry.return" => "退回", "Return";
    "entry.retire" => "撤销", "Retire";
    "entry.edit" => "修改", "Edit";
    "entry.save" => "保存草稿", "Save draft";
    "entry.new.title" => "编制目录", "Compile a catalog entry";
    "entry.edit.title" => "修改目录", "Edit entry";
    "entry.code.hint" => "只填分类码（如 301001）时平台自动分配顺序码", "Give only the class part (e.g. 301001) and the platform assigns the sequence number";
    "entry.items.hint" => "每行一个信息项：名称,类型,长度,是否基础项(是/否),分级（可省）", "One item per line: name,type,length,basic (yes/no),grade (optional)";
    "entry.return.comment" => "退回意见", "Comment";
    "who.unconditional" => "无条件共享：任何部门说明用途后即可获得授权。", "Unconditional: any department is granted access at once after stating its purpose.";
    "who.conditional" => "有条件共享：由提供方审核员在期限内答复。", "Conditional: the provider's reviewer answers within the deadline.";
    "who.not_shared" => "不予共享：申请将依据法定依据被拒绝，可申请协商。", "Not shared: applications are refused on the legal basis; a dispute can follow.";
    "share.unconditional" => "无条件共享", "Unconditional";
    "share.conditional" => "有条件共享", "Conditional";
    "share.not_shared" => "不予共享", "Not shared";
    "open.true" => "开放", "Open";
    "open.false" => "不开放", "Not open";
    "yes" => "是", "Yes";
    "no" => "否", "No";
    "cycle.realtime" => "实时", "Real time";
    "cycle.daily" => "每日", "Daily";
    "cycle.weekly" => "每周", "Weekly";
    "cycle.monthly" => "每月", "Monthly";
    "cycle.quarterly" => "每季度", "Quarterly";
    "cycle.half_yearly" => "每半年", "Half-yearly";
    "cycle.yearly" => "每年", "Yearly";
    "cycle.irregular" => "不定期", "Irregular";
    "mode.query" => "联机查询", "Query";
    "mode.verify" => "核验", "Verify";
    "mode.sync" => "库表交换", "Table sync";
    "mode.file" => "文件", "File";
    "mode.api" => "接口服务", "API";
    "estatus.draft" => "草稿", "Draft";
    "estatus.submitted" => "待审核", "Submitted";
    "estatus.published" => "已发布", "Published";
    "estatus.returned" => "已退回", "Returned";
    "estatus.retired" => "已撤销", "Retired";
    "estatus.superseded" => "历史版本", "Superseded";
    "astatus.submitted" => "待答复", "Submitted";
    "astatus.approved" => "已同意", "Approved";
    "astatus.refused" => "已拒绝", "Refused";
    "astatus.returned" => "已退回", "Returned";
    "astatus.disputed" => "协商中", "Disputed";
    "gstatus.active" => "有效", "Active";
    "gstatus.suspended" => "已暂停", "Suspended";
    "gstatus.revoked" => "已撤销", "Revoked";
    "gstatus.expired" => "已到期", "Expired";
    "ostatus.submitted" => "待答复", "Submitted";
    "ostatus.confirmed" => "已确认更正", "Confirmed";
    "ostatus.rejected" => "已驳回", "Rejected";
    "dstatus.submitted" => "待分派", "Submitted";
    "dstatus.routed" => "已分派", "Routed";
    "dstatus.answered" => "已答复", "Answered";
    "dstatus.declined" => "已拒绝", "Declined";
    "purpose.administrative_basis" => "行政依据", "Administrative basis";
    "purpose.work_reference" => "工作参考", "Work reference";
    "purpose.data_verification" => "数据校核", "Data verification";
    "purpose.business_collaboration" => "业务协同", "Business collaboration";
    "purpose.other" => "其他", "Other";
    "mask.none" => "不脱敏", "None";
    "mask.id_card" => "身份证号（保留前6后4）", "ID card (first 6, last 4)";
    "mask.phone" => "电话（保留前3后4）", "Phone (first 3, last 4)";
    "mask.name" => "姓名（保留姓）", "Name (surname)";
    "mask.address" => "地址（保留到区县）", "Address (to district)";
    "mask.hash" => "加密散列", "Keyed hash";
    "mask.redact" => "屏蔽", "Redact";
    "app.resource" => "信息资源", "Resource";
    "app.consumer" => "申请部门", "Consumer";
    "app.provider" => "提供部门", "Provider";
    "app.items" => "申请信息项", "Items";
    "app.purpose" => "使用用途", "Purpose";
    "app.purpose.kind" => "用途类别", "Purpose kind";
    "app.purpose.text" => "用途说明", "Purpose details";
    "app.basis" => "依据（法定职责或业务事项）", "Basis (legal duty or business)";
    "app.modes" => "共享方式", "Modes";
    "app.valid_until" => "有效期至", "Valid until";
    "app.deadline" => "答复期限", "Answer due";
    "app.deadline.expected" => "如需审核，提供方应在此日期前答复", "If review is needed, the provider must answer by";
    "app.deadline.uncovered" => "（节假日日历未覆盖该年份，仅按周末计算）", "(the holiday calendar does not cover that year; weekends only)";
    "app.created_at" => "申请时间", "Applied";
    "app.history" => "办理记录", "History";
    "app.refusal" => "拒绝理由", "Refusal";
    "app.new.title" => "申请使用信息资源", "Apply for a resource";
    "app.submit" => "提交申请", "Submit application";
    "app.detail" => "申请详情", "Application";
    "app.approve" => "同意", "Approve";
    "app.refuse" => "拒绝", "Refuse";
    "app.return" => "退回", "Return";
    "app.dispute" => "申请协商", "Dispute";
    "app.coordinate" => "协调裁决", "Decide";
    "app.reason" => "理由", "Reason";
    "app.legal_basis" => "法律依据", "Legal basis";
    "app.comment" => "退回说明", "Comment";
    "app.masking" => "脱敏规则", "Masking";
    "app.quota.requests" => "每日请求上限", "Requests per day";
    "app.quota.records" => "每日记录上限", "Records per day";
    "app.decision" => "裁决", "Decision";
    "app.grant" => "授权", "Grant";
    "app.confirm.refuse" => "确定拒绝此申请？", "Refuse this application?";
    "grant.title" => "授权", "Grants";
    "nav.subscriptions" => "库表订阅", "Subscriptions";
    "sub.title" => "库表订阅", "Table subscriptions";
    "sub.detail" => "订阅详情", "Subscription";
    "sub.node" => "本部门前置节点", "Our node";
    "sub.target" => "目标表", "Target table";
    "sub.phase" => "阶段", "Phase";
    "sub.checkpoint" => "已应用批次", "Applied batch";
    "sub.published" => "已发布批次", "Published batch";
    "sub.lag" => "延迟", "Lag";
    "sub.lag_value" => "行 / 秒", "rows / s";
    "sub.rows" => "已写入 / 已删除行", "Rows written / deleted";
    "sub.full" => "全量同步次数", "Full passes";
    "sub.caught_up" => "最近追平", "Last caught up";
    "sub.applied_at" => "最近应用", "Last applied";
    "sub.held" => "暂停交付原因", "Held because";
    "sub.error" => "最近错误", "Last error";
    "sub.batches" => "交付批次（来源追溯）", "Batches (provenance)";
    "sub.seq" => "批次", "Batch";
    "sub.kind" => "类型", "Kind";
    "sub.upserts" => "写入", "Upserts";
    "sub.deletes" => "删除", "Deletes";
    "sub.checksum" => "校验和 (SHA-256)", "Checksum (SHA-256)";
    "sub.read_at" => "读取", "Read";
    "sub.applied" => "应用", "Applied";
    "sub.pause" => "暂停", "Pause";
    "sub.resume" => "恢复", "Resume";
    "sub.cancel" => "取消订阅", "Cancel";
    "sub.confirm.cancel" => "取消后不可恢复，未交付的批次将被丢弃。确定取消？", "Cancelling cannot be undone; undelivered batches are dropped. Cancel?";
    "sub.new" => "订阅到本部门的库表", "Subscribe a table of ours";
    "sub.subscribe" => "订阅", "Subscribe";
    "sub.target_hint" => "字母、数字、下划线，可带模式名", "letters, digits, underscores; optionally schema.table";
    "sstatus.active" => "同步中", "Active";
    "sstatus.paused" => "已暂停", "Paused";
    "sstatus.cancelled" => "已取消", "Cancelled";
    "sphase.full" => "全量", "Full pass";
    "sphase.changes" => "增量", "Changes";
    "grant.detail" => "授权详情", "Grant";
    "grant.valid" => "有效期", "Validity";
    "grant.recertify" => "需重新认证", "Needs re-certification";
    "grant.last_used" => "最近使用", "Last used";
    "grant.suspend" => "暂停", "Suspend";
    "grant.resume" => "恢复", "Resume";
    "grant.revoke" => "撤销", "Revoke";
    "grant.confirm.revoke" => "撤销后不可恢复，确定撤销此授权？", "Revoking cannot be undone. Revoke this grant?";
    "obj.title" => "疑义", "Objections";
    "obj.record_key" => "记录标识", "Record key";
    "obj.description" => "说明", "Description";
    "dem.title" => "需求", "Demands";
    "dem.new" => "提出数据需求", "Describe a data need";
    "dem.submit" => "提交需求", "Submit the demand";
    "dem.items" => "需要的信息项（用逗号分隔）", "Items needed (comma-separated)";
    "dem.routed_to" => "承办部门", "Routed to";
    "dem.route" => "分派", "Route";
    "dem.answer" => "答复", "Answer";
    "dem.decline" => "无法提供的理由", "Reason for declining";
    "obj.new" => "提出疑义", "Report a wrong record";
    "obj.submit" => "提交疑义", "Submit the objection";
    "obj.evidence" => "证据", "Evidence";
    "obj.correction" => "更正内容", "Correction";
    "obj.confirm" => "确认并更正", "Confirm and correct";
    "obj.reject" => "驳回", "Reject";
    "flash.objection" => "疑义已提交", "Objection submitted";
    "flash.demand" => "需求已提交", "Demand submitted";
    "flash.answered" => "已办理", "Done";
    "dem.description" => "需求描述", "Description";
    "created" => "创建时间", "Created";
    "updated" => "更新时间", "Updated";
    "audit.title" => "审计日志", "Audit log";
    "audit.seq" => "序号", "Seq";
    "audit.time" => "时间", "Time";
    "audit.actor" => "操作人", "Actor";
    "audit.action" => "动作", "Action";
    "audit.object" => "对象", "Object";
    "audit.result" => "结果", "Result";
    "audit.purpose" => "用途", "Purpose";
    "audit.from" => "起始日期", "From";
    "audit.to" => "截止日期", "To";
    "audit.verify" => "验证审计链", "Verify the chain";
    "audit.verify.ok" => "审计链完整：未发现篡改、插入或删除。", "The chain is intact: nothing changed, inserted or removed.";
    "audit.verify.bad" => "审计链在以下事件处断裂：", "The chain breaks at event:";
    "audit.verify.events" => "事件数", "Events";
    "audit.verify.head" => "链头", "Head";
    "audit.verify.checkpoints" => "签名检查点", "Signed checkpoints";
    "dept.name" => "名称", "Name";
    "dept.kind.government" => "政务部门", "Government department";
    "dept.kind.institution" => "授权组织", "Authorised institution";
    "admin.create" => "创建", "Create";
    "admin.new_department" => "登记部门", "Register a department";
    "admin.new_user" => "创建用户", "Create a user";
    "admin.new_client" => "创建接口客户端", "Create an API client";
    "admin.new_node" => "登记前置节点", "Register a node";
    "admin.token_once" => "客户端令牌只显示这一次，请立即妥善保存", "The client token is shown only this once; store it safely now";
    "node.public_key" => "公钥（ed25519，十六进制）", "Public key (ed25519, hex)";
    "mount.kind" => "挂接方式", "Kind";
    "mount.kind.table" => "库表", "Table";
    "mount.kind.api" => "接口", "API";
    "mount.node" => "前置节点", "Node";
    "mount.source" => "数据源", "Source";
    "mount.source_name" => "数据源名称（节点配置中的 name）", "Source name (its name in the node's configuration)";
    "mount.source_table" => "表或视图", "Table or view";
    "mount.source_url" => "接口地址（接口挂接）", "Upstream URL (API mounts)";
    "mount.key_columns" => "主键列（用逗号分隔）", "Key columns (comma-separated)";
    "mount.change_column" => "变更标识列（时间戳或递增编号）", "Change column (timestamp or increasing id)";
    "mount.column_map" => "信息项与列的对应", "Items to columns";
    "mount.column_map_lines" => "信息项与列的对应（每行一项：信息项=列名）", "Items to columns (one per line: item=column)";
    "mount.check" => "最近一次检查", "Last check";
    "mount.check.ok" => "检查通过", "Check passed";
    "mount.check.bad" => "检查未通过", "Check failed";
    "mount.save" => "保存挂接", "Save the mount";
    "mount.run_check" => "检查挂接", "Check the mount";
    "flash.checked" => "已检查挂接", "Mount checked";
    "flash.created" => "已创建", "Created";
    "dept.credit_code" => "统一社会信用代码", "Credit code";
    "dept.region" => "行政区划", "Region";
    "dept.kind" => "类型", "Kind";
    "user.username" => "用户名", "Username";
    "user.display_name" => "姓名", "Display name";
    "user.roles" => "角色", "Roles";
    "client.name" => "名称", "Name";
    "client.id" => "客户端编号", "Client id";
    "node.name" => "名称", "Name";
    "node.connected" => "连接状态", "Connected";
    "node.last_seen" => "最近在线", "Last seen";
    "import.title" => "导入目录", "Import the catalog";
    "import.file" => "文件（xlsx、csv 或 json）", "File (xlsx, csv or json)";
    "import.submit" => "导入", "Import";
    "import.template" => "下载 Excel 模板", "Download the Excel template";
    "import.hint" => "文件中任何一行有误时不会导入任何内容；所有错误按行列出。", "If any row is wrong nothing is imported; every error is listed by row.";
    "import.errors" => "导入失败，请修改以下问题后重新上传：", "Nothing was imported; fix these problems and upload again:";
    "import.row" => "行", "Row";
    "import.column" => "列", "Column";
    "import.message" => "问题", "Problem";
    "import.done" => "导入成功，新增草稿条数：", "Imported; new drafts:";
    "import.empty" => "请选择要导入的文件", "Choose a file to import";
    "monitor.title" => "监测与统计", "Monitoring";
    "monitor.apps_by_state" => "共享申请（按状态）", "Applications by state";
    "monitor.entries_by_share" => "目录（按共享类型）", "Entries by share type";
    "monitor.entries_by_class" => "目录（按分类）", "Entries by class";
    "lei.1" => "基础信息资源", "Basic resources";
    "lei.2" => "主题信息资源", "Thematic resources";
    "lei.3" => "部门信息资源", "Departmental resources";
    "monitor.overdue" => "超期未答复申请", "Overdue applications";
    "monitor.volume_by_day" => "数据访问量（近30天，按日）", "Data accesses (last 30 days, by day)";
    "monitor.volume_by_dept" => "数据访问量（近30天，按使用部门）", "Data accesses (last 30 days, by consumer department)";
    "flash.saved" => "已保存", "Saved";
    "flash.submitted" => "已提交审核", "Submitted for review";
    "flash.published" => "已发布", "Published";
    "flash.returned" => "已退回", "Returned";
    "flash.retired" => "已撤销", "Retired";
    "flash.applied" => "申请已提交", "Application submitted";
    "flash.approved" => "已同意，授权已生成", "Approved; the grant was created";
    "flash.refused" => "已拒绝", "Refused";
    "flash.disputed" => "已申请协商", "Dispute raised";
    "flash.coordinated" => "已裁决", "Decided";
    "flash.grant_changed" => "授权状态已更新", "Grant updated";
    "flash.sub_changed" => "订阅状态已更新", "Subscription updated";
    "flash.sub_created" => "已订阅，首次全量同步即将开始", "Subscribed: the first full pass starts now";
    "field.required" => "必填", "required";
    "confirm.generic" => "确定执行此操作？", "Are you sure?";
    "date.today" => "今天", "today";
}

/// Looks strings up in one language.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tr(pub Lang);

impl Tr {
    /// The string for `key`; the key itself if the catalog lacks it.
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        match (lookup(key), self.0) {
            (Some((zh, _)), Lang::Zh) => zh,
            (Some((_, en)), Lang::En) => en,
            (None, _) => key,
        }
    }

    /// `prefix.value`, e.g. `("astatus", "approved")`; the value itself when the catalog lacks it.
    pub fn label<'a>(&self, prefix: &str, value: &'a str) -> &'a str {
        let key = format!("{prefix}.{value}");
        match (lookup(&key), self.0) {
            (Some((zh, _)), Lang::Zh) => zh,
            (Some((_, en)), Lang::En) => en,
            (None, _) => value,
        }
    }

    pub fn lang(&self) -> Lang {
        self.0
    }

    /// A message of the use cases, written `中文 (English)`, in this language.
    pub fn msg(&self, m: &str) -> String {
        pick(m, self.0)
    }

    /// A date (`YYYY-MM-DD` or an RFC 3339 timestamp) as people read it: `2026年12月2日` in Chinese.
    pub fn date(&self, s: &str) -> String {
        match parse_day(s) {
            Some(d) => self.day(d),
            None => s.to_owned(),
        }
    }

    pub fn day(&self, d: Date) -> String {
        match self.0 {
            Lang::Zh => format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day()),
            Lang::En => format!("{} {} {}", d.day(), &format!("{:?}", d.month())[..3], d.year()),
        }
    }

    /// A timestamp with its time of day in China time: `2026年12月2日 09:30`.
    pub fn datetime(&self, s: &str) -> String {
        match OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
            Ok(t) => {
                let t = t.to_offset(china());
                format!("{} {:02}:{:02}", self.day(t.date()), t.hour(), t.minute())
            }
            Err(_) => self.date(s),
        }
    }
}

pub fn china() -> UtcOffset {
    UtcOffset::from_whole_seconds(8 * 3600).unwrap_or(UtcOffset::UTC)
}

fn parse_day(s: &str) -> Option<Date> {
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t.to_offset(china()).date());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.get(..10)?, fmt).ok()
}

/// Splits `中文 (English)` by language; a message without the English part is returned whole.
pub fn pick(m: &str, lang: Lang) -> String {
    let m = m.trim();
    if let Some(open) = m.rfind(" (")
        && m.ends_with(')')
    {
        let zh = m[..open].trim_end();
        let en = &m[open + 2..m.len() - 1];
        if !zh.is_empty() && !en.is_empty() {
            return match lang {
                Lang::Zh => zh.to_owned(),
                Lang::En => en.to_owned(),
            };
        }
    }
    m.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        for k in KEYS {
            let (zh, en) = lookup(k).unwrap();
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
        let mut sorted = KEYS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), KEYS.len(), "duplicate keys");
    }

    #[test]
    fn dates_in_chinese() {
        let t = Tr(Lang::Zh);
        assert_eq!(t.date("2026-12-02"), "2026年12月2日");
        assert_eq!(t.datetime("2026-12-01T17:30:00Z"), "2026年12月2日 01:30");
        assert_eq!(Tr(Lang::En).date("2026-12-02"), "2 Dec 2026");
    }

    #[test]
    fn picks_the_language_of_a_message() {
        let m = "信息资源不存在 (no such catalog entry)";
        assert_eq!(pick(m, Lang::Zh), "信息资源不存在");
        assert_eq!(pick(m, Lang::En), "no such catalog entry");
        assert_eq!(pick("只有中文", Lang::En), "只有中文");
    }
}
