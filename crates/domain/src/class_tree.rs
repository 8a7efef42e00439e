//! The classification tree of the national 目录编制指南 (SPEC §4): 类 1 基础信息资源 (five national basic
//! resources), 类 2 主题信息资源 (the twelve themes of the 2017 integration and sharing plan), 类 3 部门信息资源
//! (项 01–99 by department, unnamed here). 目 and 细目 are local (001–999).

use crate::codes::ClassCode;

const LEI: [(u8, &str); 3] = [(1, "基础信息资源"), (2, "主题信息资源"), (3, "部门信息资源")];

const BASIC: [&str; 5] =
    ["人口基础信息", "法人单位基础信息", "自然资源和空间地理基础信息", "社会信用基础信息", "电子证照基础信息"];

const THEMES: [&str; 12] = [
    "健康保障",
    "社会保障",
    "食品药品安全",
    "安全生产",
    "价格监管",
    "能源安全",
    "信用体系",
    "城乡建设",
    "社区治理",
    "生态环保",
    "应急维稳",
    "公共服务",
];

/// The name of a 类 (`1` → 基础信息资源), `None` if there is no such 类.
pub fn lei_name(lei: u8) -> Option<&'static str> {
    LEI.iter().find(|(l, _)| *l == lei).map(|(_, n)| *n)
}

/// The name of a 项 under a 类 (`(1, 1)` → 人口基础信息). `None` if the node does not exist, and also for the
/// 项 of 类 3, which exist (01–99) but are named by each department.
pub fn xiang_name(lei: u8, xiang: u8) -> Option<&'static str> {
    let i = usize::from(xiang).checked_sub(1)?;
    match lei {
        1 => BASIC.get(i).copied(),
        2 => THEMES.get(i).copied(),
        _ => None,
    }
}

/// The largest 项 of a 类: 5 basic resources, 12 themes, 99 departmental.
pub fn max_xiang(lei: u8) -> Option<u8> {
    match lei {
        1 => Some(BASIC.len() as u8),
        2 => Some(THEMES.len() as u8),
        3 => Some(99),
        _ => None,
    }
}

/// Every named node: `(lei, xiang, name)`, for the console's class picker and the search facets.
pub fn named_nodes() -> impl Iterator<Item = (u8, u8, &'static str)> {
    let basic = BASIC.iter().zip(1u8..).map(|(n, x)| (1, x, *n));
    let themes = THEMES.iter().zip(1u8..).map(|(n, x)| (2, x, *n));
    basic.chain(themes)
}

/// Checks that a class is a node of the tree; the error names the part at fault.
pub fn check(class: ClassCode) -> Result<(), String> {
    check_part(class).map_err(|(_, m)| m)
}

/// Like [`check`], but the error also says which part (`lei`, `xiang`, `mu`, `ximu`) is wrong.
pub fn check_part(class: ClassCode) -> Result<(), (&'static str, String)> {
    let Some(max) = max_xiang(class.lei) else {
        return Err(("lei", format!("“类”须为 1、2 或 3 (lei must be 1, 2 or 3, got {})", class.lei)));
    };
    if !(1..=max).contains(&class.xiang) {
        let name = lei_name(class.lei).unwrap_or_default();
        return Err((
            "xiang",
            format!(
                "{name}的“项”须在 01–{max:02} 之间 (xiang of lei {} must be 1..={max}, got {})",
                class.lei, class.xiang
            ),
        ));
    }
    if !(1..=999).contains(&class.mu) {
        return Err(("mu", format!("“目”须在 001–999 之间 (mu must be 1..=999, got {})", class.mu)));
    }
    if let Some(x) = class.ximu
        && !(1..=999).contains(&x)
    {
        return Err(("ximu", format!("“细目”须在 001–999 之间 (ximu must be 1..=999, got {x})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(lei: u8, xiang: u8, mu: u16) -> ClassCode {
        ClassCode { lei, xiang, mu, ximu: None }
    }

    #[test]
    fn names() {
        assert_eq!(lei_name(1), Some("基础信息资源"));
        assert_eq!(lei_name(2), Some("主题信息资源"));
        assert_eq!(lei_name(3), Some("部门信息资源"));
        assert_eq!(lei_name(0), None);
        assert_eq!(lei_name(4), None);
        assert_eq!(xiang_name(1, 1), Some("人口基础信息"));
        assert_eq!(xiang_name(1, 5), Some("电子证照基础信息"));
        assert_eq!(xiang_name(1, 6), None);
        assert_eq!(xiang_name(1, 0), None);
        assert_eq!(xiang_name(2, 1), Some("健康保障"));
        assert_eq!(xiang_name(2, 12), Some("公共服务"));
        assert_eq!(xiang_name(2, 13), None);
        assert_eq!(xiang_name(3, 1), None);
        assert_eq!(named_nodes().count(), 17);
    }

    #[test]
    fn tree_bounds() {
        assert!(check(c(1, 1, 1)).is_ok());
        assert!(check(c(1, 5, 999)).is_ok());
        assert_eq!(check_part(c(1, 6, 1)).unwrap_err().0, "xiang");
        assert_eq!(check_part(c(1, 0, 1)).unwrap_err().0, "xiang");
        assert!(check(c(2, 12, 1)).is_ok());
        assert_eq!(check_part(c(2, 13, 1)).unwrap_err().0, "xiang");
        assert!(check(c(3, 99, 1)).is_ok());
        assert_eq!(check_part(c(3, 100, 1)).unwrap_err().0, "xiang");
        assert_eq!(check_part(c(4, 1, 1)).unwrap_err().0, "lei");
        assert_eq!(check_part(c(3, 1, 0)).unwrap_err().0, "mu");
        assert_eq!(check_part(c(3, 1, 1000)).unwrap_err().0, "mu");
        assert_eq!(check_part(ClassCode { ximu: Some(0), ..c(3, 1, 1) }).unwrap_err().0, "ximu");
        assert!(check(ClassCode { ximu: Some(999), ..c(3, 1, 1) }).is_ok());
        assert!(check(c(1, 6, 1)).unwrap_err().contains("xiang"));
    }
}
