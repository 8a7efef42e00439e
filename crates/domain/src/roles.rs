use serde::{Deserialize, Serialize};

/// The roles of SPEC §2. Names are fixed by API.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    SecurityAuditor,
    Authority,
    DepartmentAdmin,
    Cataloger,
    Reviewer,
    Consumer,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::PlatformAdmin,
        Role::SecurityAuditor,
        Role::Authority,
        Role::DepartmentAdmin,
        Role::Cataloger,
        Role::Reviewer,
        Role::Consumer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::SecurityAuditor => "security_auditor",
            Role::Authority => "authority",
            Role::DepartmentAdmin => "department_admin",
            Role::Cataloger => "cataloger",
            Role::Reviewer => "reviewer",
            Role::Consumer => "consumer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Chinese name shown in the console.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "系统管理员",
            Role::SecurityAuditor => "安全审计员",
            Role::Authority => "共享主管部门",
            Role::DepartmentAdmin => "部门管理员",
            Role::Cataloger => "目录编制员",
            Role::Reviewer => "审核员",
            Role::Consumer => "数据使用人",
        }
    }
}

/// Checks a set of roles given to one account (GB/T 39477-2020 separation of duties):
/// no account may hold both `platform_admin` and `security_auditor`. Returns the problems, each on `field`.
pub fn check_role_set(roles: &[String], field: &str) -> Result<Vec<Role>, Vec<crate::FieldError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in roles.iter().enumerate() {
        match Role::parse(r) {
            Some(role) if !out.contains(&role) => out.push(role),
            Some(_) => errors.push(crate::FieldError::new(format!("{field}[{i}]"), "角色重复 (duplicate role)")),
            None => {
                errors.push(crate::FieldError::new(format!("{field}[{i}]"), format!("未知角色 `{r}` (unknown role)")))
            }
        }
    }
    if out.contains(&Role::PlatformAdmin) && out.contains(&Role::SecurityAuditor) {
        errors.push(crate::FieldError::new(
            field,
            "系统管理员与安全审计员不得由同一账号担任 (platform_admin and security_auditor cannot be held by one account)",
        ));
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}
