//! Newtypes that parse: resource codes (信息资源代码), classification codes, unified social credit codes
//! (GB 32100), region codes (GB/T 2260). An invalid value cannot exist past the boundary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodeError(pub String);

/// 信息资源分类: 类 (1 basic, 2 thematic, 3 departmental) + 项 (2 digits) + 目 (3 digits) + optional 细目 (3 digits).
/// Written as `101001` or, with 细目, `101001001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassCode {
    pub lei: u8,
    pub xiang: u8,
    pub mu: u16,
    pub ximu: Option<u16>,
}

impl ClassCode {
    /// Checks ranges: lei 1..=3, xiang 1..=99, mu 1..=999, ximu 1..=999.
    pub fn new(lei: u8, xiang: u8, mu: u16, ximu: Option<u16>) -> Result<Self, CodeError> {
        if !(1..=3).contains(&lei) {
            return Err(CodeError(format!("信息资源分类的“类”须为 1、2 或 3 (lei must be 1..=3, got {lei})")));
        }
        if !(1..=99).contains(&xiang) {
            return Err(CodeError(format!("信息资源分类的“项”须在 01–99 之间 (xiang must be 1..=99, got {xiang})")));
        }
        if !(1..=999).contains(&mu) {
            return Err(CodeError(format!("信息资源分类的“目”须在 001–999 之间 (mu must be 1..=999, got {mu})")));
        }
        if let Some(x) = ximu
            && !(1..=999).contains(&x)
        {
            return Err(CodeError(format!("信息资源分类的“细目”须在 001–999 之间 (ximu must be 1..=999, got {x})")));
        }
        Ok(ClassCode { lei, xiang, mu, ximu })
    }
    pub fn to_json(self) -> crate::entry::ClassJson {
        crate::entry::ClassJson { lei: self.lei, xiang: self.xiang, mu: self.mu, ximu: self.ximu }
    }
}

impl fmt::Display for ClassCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}{:03}", self.lei, self.xiang, self.mu)?;
        if let Some(x) = self.ximu {
            write!(f, "{x:03}")?;
        }
        Ok(())
    }
}

impl FromStr for ClassCode {
    type Err = CodeError;
    /// Accepts 6 digits (`101001`) or 9 digits with 细目 (`101001001`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if !(b.len() == 6 || b.len() == 9) || !b.iter().all(u8::is_ascii_digit) {
            return Err(CodeError(format!(
                "信息资源分类码须为 6 位或 9 位数字 (class code must be 6 or 9 digits, got `{s}`)"
            )));
        }
        let lei = digits(&b[0..1]) as u8;
        let xiang = digits(&b[1..3]) as u8;
        let mu = digits(&b[3..6]) as u16;
        let ximu = if b.len() == 9 { Some(digits(&b[6..9]) as u16) } else { None };
        ClassCode::new(lei, xiang, mu, ximu)
    }
}

/// The value of a run of ASCII digits (callers check the bytes are digits and the run is short).
fn digits(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |acc, d| acc.saturating_mul(10).saturating_add(u32::from(d.wrapping_sub(b'0'))))
}

impl ResourceCode {
    /// A resource code from its parts; `seq` must be 1..=999999.
    pub fn new(class: ClassCode, seq: u32) -> Result<Self, CodeError> {
        if !(1..=999_999).contains(&seq) {
            return Err(CodeError(format!(
                "信息资源顺序码须在 000001–999999 之间 (sequence number must be 1..=999999, got {seq})"
            )));
        }
        Ok(ResourceCode { class, seq })
    }
}

/// 信息资源代码 `分类码/顺序码`, e.g. `101001/000123`: the class part and a 6-digit sequence number ≥ 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceCode {
    pub class: ClassCode,
    pub seq: u32,
}

impl fmt::Display for ResourceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:06}", self.class, self.seq)
    }
}

impl FromStr for ResourceCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((class, seq)) = s.split_once('/') else {
            return Err(CodeError(format!(
                "信息资源代码须为“分类码/顺序码”，如 101001/000123 (resource code must be `class/seq`, got `{s}`)"
            )));
        };
        let class: ClassCode = class.parse()?;
        let sb = seq.as_bytes();
        if sb.len() != 6 || !sb.iter().all(u8::is_ascii_digit) {
            return Err(CodeError(format!(
                "信息资源顺序码须为 6 位数字 (sequence number must be exactly 6 digits, got `{seq}`)"
            )));
        }
        ResourceCode::new(class, digits(sb))
    }
}

impl Serialize for ResourceCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// 统一社会信用代码 (GB 32100-2015): 18 characters from `0-9A-HJ-NPQRTUWXY`, the last a check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses and verifies the check character.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let n = s.chars().count();
        if n != 18 {
            return Err(CodeError(format!("统一社会信用代码须为 18 位 (credit code must be 18 characters, got {n})")));
        }
        let first17: String = s.chars().take(17).collect();
        let Some(got) = s.chars().nth(17) else {
            return Err(CodeError("统一社会信用代码须为 18 位 (credit code must be 18 characters)".into()));
        };
        let expected = Self::check_char(&first17)?;
        credit_value(got, 18)?;
        if got != expected {
            return Err(CodeError(format!(
                "统一社会信用代码校验位错误 (check character mismatch: expected {expected})"
            )));
        }
        Ok(CreditCode(s.to_owned()))
    }
    /// The check character for the first 17 characters (used to generate valid codes for the demo and tests).
    /// Characters 3–8 (the registration authority's region code) must be digits.
    pub fn check_char(first17: &str) -> Result<char, CodeError> {
        let n = first17.chars().count();
        if n != 17 {
            return Err(CodeError(format!(
                "统一社会信用代码本体须为 17 位 (credit code body must be 17 characters, got {n})"
            )));
        }
        let mut sum = 0u32;
        for (i, (c, w)) in first17.chars().zip(CREDIT_WEIGHTS).enumerate() {
            let pos = i + 1;
            let v = credit_value(c, pos)?;
            if (3..=8).contains(&pos) && !c.is_ascii_digit() {
                return Err(CodeError(format!(
                    "统一社会信用代码第 3–8 位须为行政区划代码数字 (characters 3-8 must be digits of the region code; \
                     position {pos} is `{c}`)"
                )));
            }
            sum += v * w;
        }
        let check = (31 - sum % 31) % 31;
        Ok(CREDIT_CHARSET.as_bytes().get(check as usize).map_or('0', |&b| char::from(b)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 行政区划代码 (GB/T 2260): 6 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    National,
    Provincial,
    Municipal,
    County,
}

impl RegionLevel {
    /// The API name: `national`, `provincial`, `municipal`, `county`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::National => "national",
            RegionLevel::Provincial => "provincial",
            RegionLevel::Municipal => "municipal",
            RegionLevel::County => "county",
        }
    }
}

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let b = s.as_bytes();
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return Err(CodeError(format!("行政区划代码须为 6 位数字 (region code must be 6 digits, got `{s}`)")));
        }
        let v = digits(b);
        if v == NATIONAL {
            return Ok(RegionCode(v));
        }
        let province = v / 10_000;
        if !(11..=82).contains(&province) {
            return Err(CodeError(format!(
                "行政区划代码的省级部分须在 11–82 之间 (province part must be 11..=82, got {province:02})"
            )));
        }
        Ok(RegionCode(v))
    }
    /// The level the code's shape implies: `100000` national, `xx0000` provincial, `xxxx00` municipal, else county.
    pub fn implied_level(self) -> RegionLevel {
        if self.0 == NATIONAL {
            RegionLevel::National
        } else if self.0.is_multiple_of(10_000) {
            RegionLevel::Provincial
        } else if self.0.is_multiple_of(100) {
            RegionLevel::Municipal
        } else {
            RegionLevel::County
        }
    }
    /// The region one level up (`130102` → `130100` → `130000`), `None` for a province or the nation.
    pub fn parent(self) -> Option<RegionCode> {
        match self.implied_level() {
            RegionLevel::National | RegionLevel::Provincial => None,
            RegionLevel::Municipal => Some(RegionCode(self.0 / 10_000 * 10_000)),
            RegionLevel::County => Some(RegionCode(self.0 / 100 * 100)),
        }
    }
    /// The code as a number (`130100`).
    pub fn value(self) -> u32 {
        self.0
    }
    /// Whether `self` is `other` or lies under it (`130102` is within `130100`, `130000` and `100000`).
    pub fn is_within(self, other: RegionCode) -> bool {
        let mut cur = Some(self);
        while let Some(c) = cur {
            if c == other {
                return true;
            }
            cur = c.parent();
        }
        other.0 == NATIONAL
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// 公民身份号码 (GB 11643-1999): 18 characters, the last a check character (0-9 or X).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdCardNumber(String);

impl IdCardNumber {
    /// 17 digits (6-digit address code, 8-digit birth date, 3-digit sequence) and a check character `0-9` or
    /// uppercase `X` (ISO 7064 MOD 11-2). Lowercase `x` is rejected with a message saying so.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let b = s.as_bytes();
        if s.chars().count() != 18 {
            return Err(CodeError(format!(
                "公民身份号码须为 18 位 (ID card number must be 18 characters, got {})",
                s.chars().count()
            )));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(CodeError("公民身份号码前 17 位须为数字 (the first 17 characters must be digits)".into()));
        }
        if b[17] == b'x' {
            return Err(CodeError("公民身份号码校验位须为大写 X (check character must be uppercase X)".into()));
        }
        if !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(CodeError("公民身份号码校验位须为 0–9 或 X (check character must be 0-9 or X)".into()));
        }
        let year = digits(&b[6..10]) as i32;
        let month = digits(&b[10..12]) as u8;
        let day = digits(&b[12..14]) as u8;
        let valid_date = time::Month::try_from(month)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(year, m, day).ok())
            .is_some_and(|d| d.year() >= 1800);
        if !valid_date {
            return Err(CodeError(format!("公民身份号码中的出生日期无效 (invalid birth date `{}`)", &s[6..14])));
        }
        let sum: u32 = b[..17].iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        let expected = char::from(ID_CHECK[(sum % 11) as usize]);
        if char::from(b[17]) != expected {
            return Err(CodeError(format!("公民身份号码校验位错误 (check character mismatch: expected {expected})")));
        }
        Ok(IdCardNumber(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const NATIONAL: u32 = 100_000;

/// GB 32100-2015 character set: digits and uppercase letters without I, O, S, V, Z; value = index.
const CREDIT_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// GB 11643-1999 weights and check characters.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The value of one credit-code character at 1-based position `pos`, or an error naming it.
fn credit_value(c: char, pos: usize) -> Result<u32, CodeError> {
    if c.is_ascii_lowercase() {
        return Err(CodeError(format!(
            "统一社会信用代码须使用大写字母 (credit code must be uppercase; position {pos} is `{c}`)"
        )));
    }
    match CREDIT_CHARSET.find(c) {
        Some(i) if c.is_ascii() => Ok(i as u32),
        _ => Err(CodeError(format!(
            "统一社会信用代码含非法字符 (invalid character `{c}` at position {pos}; allowed: 0-9 A-H J-N P Q R T U W X Y)"
        ))),
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl FromStr for RegionCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionCode::parse(s)
    }
}

impl fmt::Display for IdCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdCardNumber {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdCardNumber::parse(s)
    }
}

/// Serializes as its string form and deserializes through its parser, so an invalid value fails deserialization.
macro_rules! serde_via_str {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_via_str!(ClassCode, CreditCode, RegionCode, IdCardNumber);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn class_code_display_and_parse() {
        let c = ClassCode::new(1, 1, 1, None).unwrap();
        assert_eq!(c.to_string(), "101001");
        let c = ClassCode::new(3, 12, 45, Some(7)).unwrap();
        assert_eq!(c.to_string(), "312045007");
        assert_eq!("312045007".parse::<ClassCode>().unwrap(), c);
        assert_eq!("101001".parse::<ClassCode>().unwrap(), ClassCode::new(1, 1, 1, None).unwrap());
    }

    #[test]
    fn class_code_rejects_bad_shapes_and_ranges() {
        for bad in [
            "",
            "10100",
            "1010011",
            "10100100",
            "1010010010",
            "a01001",
            "401001",
            "001001",
            "100001",
            "101000",
            "101001000",
            "１01001",
            "+01001",
        ] {
            assert!(bad.parse::<ClassCode>().is_err(), "{bad} should be rejected");
        }
        assert!(ClassCode::new(0, 1, 1, None).is_err());
        assert!(ClassCode::new(4, 1, 1, None).is_err());
        assert!(ClassCode::new(1, 0, 1, None).is_err());
        assert!(ClassCode::new(1, 100, 1, None).is_err());
        assert!(ClassCode::new(1, 1, 0, None).is_err());
        assert!(ClassCode::new(1, 1, 1000, None).is_err());
        assert!(ClassCode::new(1, 1, 1, Some(0)).is_err());
        assert!(ClassCode::new(1, 1, 1, Some(1000)).is_err());
        assert!(ClassCode::new(3, 99, 999, Some(999)).is_ok());
    }

    #[test]
    fn resource_code_round_trip() {
        let r: ResourceCode = "101001/000123".parse().unwrap();
        assert_eq!(r.class, ClassCode::new(1, 1, 1, None).unwrap());
        assert_eq!(r.seq, 123);
        assert_eq!(r.to_string(), "101001/000123");
        let r: ResourceCode = "301002003/999999".parse().unwrap();
        assert_eq!(r.to_string(), "301002003/999999");
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"301002003/999999\"");
        assert_eq!(serde_json::from_str::<ResourceCode>(&json).unwrap(), r);
        assert!(serde_json::from_str::<ResourceCode>("\"101001/000000\"").is_err());
    }

    #[test]
    fn resource_code_rejects() {
        for bad in [
            "101001",
            "101001/",
            "/000123",
            "101001/000000",
            "101001/00123",
            "101001/0001234",
            "101001/00012a",
            "101001/000123/1",
            "101001 /000123",
            "401001/000001",
            "101001/-00001",
            "101001/+00001",
        ] {
            assert!(bad.parse::<ResourceCode>().is_err(), "{bad} should be rejected");
        }
        assert!(ResourceCode::new(ClassCode::new(1, 1, 1, None).unwrap(), 0).is_err());
        assert!(ResourceCode::new(ClassCode::new(1, 1, 1, None).unwrap(), 1_000_000).is_err());
    }

    /// Real codes of registered enterprises, each checked independently (Python) before being put here.
    const REAL_CREDIT_CODES: [&str; 5] =
        ["91110000600037341L", "91350100M000100Y43", "91110108551385082Q", "914403001922038216", "91310000132149237G"];

    #[test]
    fn credit_code_accepts_real_codes() {
        for c in REAL_CREDIT_CODES {
            let parsed = CreditCode::parse(c).unwrap();
            assert_eq!(parsed.as_str(), c);
            assert_eq!(CreditCode::check_char(&c[..17]).unwrap(), c.chars().last().unwrap());
        }
    }

    #[test]
    fn credit_code_rejects_tampering() {
        for c in REAL_CREDIT_CODES {
            // Change each character to every other allowed character: the check must catch every single change.
            for pos in 0..18 {
                for repl in CREDIT_CHARSET.chars() {
                    let mut chars: Vec<char> = c.chars().collect();
                    if chars[pos] == repl || ((2..8).contains(&pos) && !repl.is_ascii_digit()) {
                        continue;
                    }
                    chars[pos] = repl;
                    let tampered: String = chars.into_iter().collect();
                    assert!(CreditCode::parse(&tampered).is_err(), "{tampered} accepted");
                }
            }
        }
        let e = CreditCode::parse("91110000600037341M").unwrap_err();
        assert!(e.0.contains("expected L"), "{e}");
        assert!(e.0.contains("校验位"), "{e}");
    }

    #[test]
    fn credit_code_rejects_bad_shapes() {
        let lower = CreditCode::parse("91350100m000100y43").unwrap_err();
        assert!(lower.0.contains("uppercase"), "{lower}");
        assert!(CreditCode::parse("91110000600037341").is_err());
        assert!(CreditCode::parse("91110000600037341LL").is_err());
        assert!(CreditCode::parse("").is_err());
        // I, O, S, V, Z are not in the character set.
        assert!(CreditCode::parse("91110000600037341I").is_err());
        assert!(CreditCode::parse("9111000060003734OL").is_err());
        // Non-digit in the region part (positions 3-8), even with a matching check character.
        let body = "911A0000600037341";
        assert!(CreditCode::check_char(body).unwrap_err().0.contains("3-8"));
        assert!(CreditCode::parse("９1110000600037341L").is_err());
        assert!(CreditCode::parse("91110000600037341Ｌ").is_err());
    }

    #[test]
    fn region_code() {
        let r = RegionCode::parse("130102").unwrap();
        assert_eq!(r.implied_level(), RegionLevel::County);
        assert_eq!(r.parent().unwrap().to_string(), "130100");
        assert_eq!(r.parent().unwrap().implied_level(), RegionLevel::Municipal);
        assert_eq!(r.parent().unwrap().parent().unwrap().to_string(), "130000");
        assert_eq!(RegionCode::parse("130000").unwrap().implied_level(), RegionLevel::Provincial);
        assert_eq!(RegionCode::parse("130000").unwrap().parent(), None);
        let n = RegionCode::parse("100000").unwrap();
        assert_eq!(n.implied_level(), RegionLevel::National);
        assert_eq!(n.parent(), None);
        assert!(r.is_within(RegionCode::parse("130000").unwrap()));
        assert!(r.is_within(n));
        assert!(!r.is_within(RegionCode::parse("110000").unwrap()));
        for bad in ["", "13010", "1301020", "13010a", "000000", "100001", "830000", "990000", "090000"] {
            assert!(RegionCode::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(RegionCode::parse("820000").is_ok());
        assert!(RegionCode::parse("110000").is_ok());
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"130102\"");
    }

    #[test]
    fn id_card_number() {
        // The example of GB 11643-1999 and one more, both with checks computed independently.
        assert!(IdCardNumber::parse("11010519491231002X").is_ok());
        assert!(IdCardNumber::parse("440524188001010014").is_ok());
        let e = IdCardNumber::parse("110105194912310021").unwrap_err();
        assert!(e.0.contains("expected X"), "{e}");
        assert!(IdCardNumber::parse("11010519491231002x").unwrap_err().0.contains("uppercase"));
        assert!(IdCardNumber::parse("11010519491231002").is_err());
        assert!(IdCardNumber::parse("1101051949123100A2").is_err());
        // Valid check character but impossible birth dates (2023-02-29, month 13).
        for body in ["11010520230229001", "11010519491331002"] {
            let full = format!("{body}{}", id_check(body));
            let e = IdCardNumber::parse(&full).unwrap_err();
            assert!(e.0.contains("birth date"), "{full}: {e}");
        }
    }

    fn id_check(body: &str) -> char {
        let sum: u32 = body.bytes().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        char::from(ID_CHECK[(sum % 11) as usize])
    }

    fn class_strategy() -> impl Strategy<Value = ClassCode> {
        (1u8..=3, 1u8..=99, 1u16..=999, proptest::option::of(1u16..=999))
            .prop_map(|(l, x, m, xm)| ClassCode::new(l, x, m, xm).unwrap())
    }

    proptest! {
        #[test]
        fn resource_code_parse_display_round_trip(class in class_strategy(), seq in 1u32..=999_999) {
            let r = ResourceCode::new(class, seq).unwrap();
            let s = r.to_string();
            prop_assert_eq!(s.parse::<ResourceCode>().unwrap(), r);
            prop_assert_eq!(s.parse::<ResourceCode>().unwrap().to_string(), s);
        }

        #[test]
        fn credit_code_parse_display_round_trip(
            head in proptest::collection::vec(proptest::sample::select(CREDIT_CHARSET.chars().collect::<Vec<_>>()), 2),
            region in 0u32..1_000_000,
            tail in proptest::collection::vec(proptest::sample::select(CREDIT_CHARSET.chars().collect::<Vec<_>>()), 9),
        ) {
            let body: String =
                head.iter().copied().chain(format!("{region:06}").chars()).chain(tail.iter().copied()).collect();
            let code = format!("{body}{}", CreditCode::check_char(&body).unwrap());
            let parsed = CreditCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.to_string(), code.clone());
            prop_assert_eq!(code.parse::<CreditCode>().unwrap(), parsed);
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,24}") {
            let _ = s.parse::<ResourceCode>();
            let _ = s.parse::<ClassCode>();
            let _ = CreditCode::parse(&s);
            let _ = RegionCode::parse(&s);
            let _ = IdCardNumber::parse(&s);
        }
    }
}
