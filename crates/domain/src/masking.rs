//! Masking (脱敏, SPEC §7) and data-subject identifiers (SPEC §9), as pure functions.
//!
//! Masking works on characters, not bytes, so Chinese text is cut where a reader expects. The keyed rules (`hash`,
//! subject hashes) take the platform's subject key as a parameter; they are HMAC-SHA256, hex, under different
//! domain-separation prefixes so that a masked value can never be matched against the audit log's subject hashes.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::codes::{CreditCode, IdCardNumber};
use crate::sharing::MaskRule;

/// What a masked-out character becomes.
const STAR: char = '*';
/// What replaces the part of an address below the district (a fixed length, so that the length does not leak).
const ADDRESS_TAIL: &str = "****";

/// HMAC-SHA256 of `msg` under `key`, lowercase hex.
pub fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty string would only ever come from a bug.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(msg);
            hex::encode(m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Keeps the first `head` and last `tail` characters and stars the rest; a value too short to keep anything
/// meaningful is starred entirely.
fn keep_ends(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n <= head + tail {
        return std::iter::repeat_n(STAR, n).collect();
    }
    let mut out = String::with_capacity(s.len());
    out.extend(&chars[..head]);
    out.extend(std::iter::repeat_n(STAR, n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// `id_card`: keep the first 6 (the address code) and the last 4 characters.
pub fn mask_id_card(s: &str) -> String {
    keep_ends(s, 6, 4)
}

/// `phone`: keep the first 3 and the last 4 characters.
pub fn mask_phone(s: &str) -> String {
    keep_ends(s, 3, 4)
}

/// Two-character surnames (复姓) that are kept whole.
const COMPOUND_SURNAMES: [&str; 20] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "令狐", "夏侯",
    "独孤", "端木", "南宫", "西门", "轩辕", "呼延",
];

/// `name`: keep the surname (one character, or a known two-character surname), star the rest.
pub fn mask_name(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let keep = if COMPOUND_SURNAMES.iter().any(|c| s.starts_with(c)) && chars.len() > 2 { 2 } else { 1 };
    if chars.len() <= 1 {
        return s.to_owned();
    }
    let mut out: String = chars[..keep].iter().collect();
    out.extend(std::iter::repeat_n(STAR, chars.len() - keep));
    out
}

/// `address`: keep up to the district — cut after the first 区, 县 or 市 that follows a 市 — or, where no such
/// place is found, the first 6 characters; the rest becomes a fixed `****`.
pub fn mask_address(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let cut = chars
        .iter()
        .position(|&c| c == '市')
        .and_then(|city| {
            chars[city + 1..].iter().position(|&c| matches!(c, '区' | '县' | '市')).map(|i| city + 1 + i + 1)
        })
        .unwrap_or(6);
    if cut >= chars.len() {
        return s.to_owned();
    }
    let mut out: String = chars[..cut].iter().collect();
    out.push_str(ADDRESS_TAIL);
    out
}

/// `hash`: a keyed hash, the same for the same value under the same platform (joinable), not readable.
pub fn mask_hash(key: &[u8], s: &str) -> String {
    hmac_hex(key, format!("shuqiao-mask-v1|{s}").as_bytes())
}

/// Applies a rule to one text value.
pub fn mask_text(rule: MaskRule, key: &[u8], s: &str) -> Option<String> {
    Some(match rule {
        MaskRule::None => s.to_owned(),
        MaskRule::IdCard => mask_id_card(s),
        MaskRule::Phone => mask_phone(s),
        MaskRule::Name => mask_name(s),
        MaskRule::Address => mask_address(s),
        MaskRule::Hash => mask_hash(key, s),
        MaskRule::Redact => return None,
    })
}

/// Applies a rule to one JSON value: null stays null, `redact` gives null, `none` keeps the value as it is, other
/// rules mask the value's text (numbers and booleans are masked as their text).
pub fn mask_value(rule: MaskRule, key: &[u8], v: &Value) -> Value {
    match (rule, v) {
        (_, Value::Null) => Value::Null,
        (MaskRule::None, v) => v.clone(),
        (MaskRule::Redact, _) => Value::Null,
        (rule, Value::String(s)) => mask_text(rule, key, s).map_or(Value::Null, Value::String),
        (rule, other) => mask_text(rule, key, &value_text(other)).map_or(Value::Null, Value::String),
    }
}

/// The text of a scalar JSON value as a source would show it (`"a"` → `a`, `12` → `12`).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Kinds of data-subject identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    /// 公民身份号码 (GB 11643).
    IdCard,
    /// 统一社会信用代码 (GB 32100).
    CreditCode,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::IdCard => "id_card",
            SubjectKind::CreditCode => "credit_code",
        }
    }
    pub fn parse(s: &str) -> Option<SubjectKind> {
        match s {
            "id_card" => Some(SubjectKind::IdCard),
            "credit_code" => Some(SubjectKind::CreditCode),
            _ => None,
        }
    }
}

/// The kind of identifier an item holds, judged by its name (公民身份号码, 身份证号, 统一社会信用代码, …).
pub fn subject_kind_of_item(name: &str) -> Option<SubjectKind> {
    let n: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    if n.contains("身份号码") || n.contains("身份证号") || n.contains("身份证件号") || n.contains("证件号码")
    {
        Some(SubjectKind::IdCard)
    } else if n.contains("信用代码") {
        Some(SubjectKind::CreditCode)
    } else {
        None
    }
}

/// The kind of a value that passes the GB 11643 ID-card check or the GB 32100 credit-code check.
pub fn subject_kind_of_value(v: &str) -> Option<SubjectKind> {
    let v = v.trim();
    if v.len() != 18 {
        return None;
    }
    if IdCardNumber::parse(v).is_ok() {
        Some(SubjectKind::IdCard)
    } else if CreditCode::parse(v).is_ok() {
        Some(SubjectKind::CreditCode)
    } else {
        None
    }
}

/// The normal form of an identifier before hashing: trimmed, uppercase (a lowercase `x` check character and an
/// uppercase one are the same person).
pub fn normalize_identifier(v: &str) -> String {
    v.trim().to_ascii_uppercase()
}

/// The keyed hash of a subject identifier as stored in the audit log: `<kind>:<hex HMAC-SHA256>`.
pub fn subject_hash(key: &[u8], kind: SubjectKind, id: &str) -> String {
    SubjectHasher::new(key).hash(kind, id)
}

/// The subject of one value of an item: by the item's name, or by the value passing a code check.
pub fn subject_of(key: &[u8], item: &str, v: &Value) -> Option<String> {
    subject_of_kind(key, subject_kind_of_item(item), v)
}

/// [`subject_of`] with the item's kind worked out once ([`subject_kind_of_item`]) for the many values of a column.
pub fn subject_of_kind(key: &[u8], item_kind: Option<SubjectKind>, v: &Value) -> Option<String> {
    SubjectHasher::new(key).of_kind(item_kind, v)
}

/// [`subject_hash`] and [`subject_of_kind`] with the key's HMAC state prepared once, for the many values of a table
/// sync's page (preparing it hashes two blocks, 40 % of hashing a subject).
#[derive(Clone)]
pub struct SubjectHasher(Option<Hmac<Sha256>>);

impl SubjectHasher {
    pub fn new(key: &[u8]) -> SubjectHasher {
        // HMAC accepts keys of any length, so this cannot fail; `None` would only ever come from a bug.
        SubjectHasher(<Hmac<Sha256> as KeyInit>::new_from_slice(key).ok())
    }

    /// [`subject_hash`].
    pub fn hash(&self, kind: SubjectKind, id: &str) -> String {
        let digest = match &self.0 {
            Some(m) => {
                let mut m = m.clone();
                m.update(b"shuqiao-subject-v1|");
                m.update(kind.as_str().as_bytes());
                m.update(b"|");
                m.update(normalize_identifier(id).as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
            None => String::new(),
        };
        format!("{}:{digest}", kind.as_str())
    }

    /// [`subject_of_kind`].
    pub fn of_kind(&self, item_kind: Option<SubjectKind>, v: &Value) -> Option<String> {
        let number;
        let text = match v {
            // A number not of an identifier item names a subject only as an 18-digit integer (a sign, a point or
            // an exponent fails both code checks): the others are not written out to be checked.
            Value::Number(n)
                if item_kind.is_none()
                    && !n
                        .as_u64()
                        .is_some_and(|u| (100_000_000_000_000_000..1_000_000_000_000_000_000).contains(&u)) =>
            {
                return None;
            }
            Value::String(s) => s.trim(),
            Value::Number(n) => {
                number = n.to_string();
                number.as_str()
            }
            _ => return None,
        };
        // Only an item named for identifiers, or an 18-character value passing a code check, names a subject.
        if text.is_empty() || (item_kind.is_none() && text.len() != 18) {
            return None;
        }
        let kind = item_kind.or_else(|| subject_kind_of_value(text))?;
        Some(self.hash(kind, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn id_card_and_phone_keep_their_ends() {
        assert_eq!(mask_id_card("130102199003071234"), "130102********1234");
        assert_eq!(mask_id_card("13010219900307123X"), "130102********123X");
        assert_eq!(mask_id_card("1234567890"), "**********");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0311-86688123"), "031******8123");
        assert_eq!(mask_phone("1234567"), "*******");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn names_keep_the_surname() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("李小明"), "李**");
        assert_eq!(mask_name("欧阳修"), "欧阳*");
        assert_eq!(mask_name("欧阳"), "欧*");
        assert_eq!(mask_name("王"), "王");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn addresses_keep_the_district() {
        assert_eq!(mask_address("河北省石家庄市长安区建设北大街1号"), "河北省石家庄市长安区****");
        assert_eq!(mask_address("河北省保定市涞水县城关镇"), "河北省保定市涞水县****");
        assert_eq!(mask_address("河北省石家庄市辛集市幸福路3号"), "河北省石家庄市辛集市****");
        assert_eq!(mask_address("北京市海淀区中关村大街27号"), "北京市海淀区****");
        // No 市 followed by a district: the first 6 characters.
        assert_eq!(mask_address("某某村东头三百米"), "某某村东头三****");
        assert_eq!(mask_address("短地址"), "短地址");
        assert_eq!(mask_address("河北省石家庄市长安区"), "河北省石家庄市长安区");
    }

    #[test]
    fn hash_is_keyed_and_stable() {
        let a = mask_hash(KEY, "130102199003071234");
        assert_eq!(a.len(), 64);
        assert_eq!(a, mask_hash(KEY, "130102199003071234"));
        assert_ne!(a, mask_hash(b"another key", "130102199003071234"));
        assert!(!a.contains("1301021990"));
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn values() {
        assert_eq!(mask_value(MaskRule::Redact, KEY, &json!("x")), Value::Null);
        assert_eq!(mask_value(MaskRule::None, KEY, &json!(12)), json!(12));
        assert_eq!(mask_value(MaskRule::Phone, KEY, &json!(13812345678u64)), json!("138****5678"));
        assert_eq!(mask_value(MaskRule::Name, KEY, &Value::Null), Value::Null);
        assert_eq!(mask_text(MaskRule::Redact, KEY, "x"), None);
    }

    #[test]
    fn subjects_by_name_and_by_check() {
        assert_eq!(subject_kind_of_item("公民身份号码"), Some(SubjectKind::IdCard));
        assert_eq!(subject_kind_of_item("身份证号"), Some(SubjectKind::IdCard));
        assert_eq!(subject_kind_of_item("法定代表人身份证号码"), Some(SubjectKind::IdCard));
        assert_eq!(subject_kind_of_item("统一社会信用代码"), Some(SubjectKind::CreditCode));
        assert_eq!(subject_kind_of_item("姓名"), None);
        // 11010519491231002X is the GB 11643 example; 91350100M000100Y43 a valid credit code.
        assert_eq!(subject_kind_of_value("11010519491231002X"), Some(SubjectKind::IdCard));
        assert_eq!(subject_kind_of_value("110105194912310021"), None, "wrong check character");
        assert_eq!(subject_kind_of_value("91350100M000100Y43"), Some(SubjectKind::CreditCode));
        assert_eq!(subject_kind_of_value("张三"), None);
        let h = subject_of(KEY, "备注", &json!("11010519491231002X")).unwrap();
        assert!(h.starts_with("id_card:") && h.len() == "id_card:".len() + 64, "{h}");
        assert_eq!(subject_of(KEY, "公民身份号码", &json!(" 11010519491231002x ")), Some(h.clone()));
        assert_ne!(subject_of(b"other", "公民身份号码", &json!("11010519491231002X")), Some(h.clone()));
        assert!(subject_of(KEY, "姓名", &json!("张三")).is_none());
        assert!(subject_of(KEY, "公民身份号码", &json!("")).is_none());
        assert!(subject_of(KEY, "统一社会信用代码", &json!("91350100M000100Y43")).unwrap().starts_with("credit_code:"));
        // Never equal to the masking hash of the same value.
        assert!(!h.ends_with(&mask_hash(KEY, "11010519491231002X")));
    }

    #[test]
    fn a_prepared_hasher_hashes_as_the_key_does() {
        let h = SubjectHasher::new(KEY);
        for id in ["11010519491231002X", " 11010519491231002x", "91350100M000100Y43"] {
            assert_eq!(h.hash(SubjectKind::IdCard, id), subject_hash(KEY, SubjectKind::IdCard, id));
            assert_eq!(h.hash(SubjectKind::CreditCode, id), subject_hash(KEY, SubjectKind::CreditCode, id));
        }
        // The same keyed hash, computed from scratch: HMAC-SHA256 of the versioned message.
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY).unwrap();
        m.update(b"shuqiao-subject-v1|id_card|11010519491231002X");
        let expected = format!("id_card:{}", hex::encode(m.finalize().into_bytes()));
        assert_eq!(h.hash(SubjectKind::IdCard, "11010519491231002x"), expected);
        assert_ne!(SubjectHasher::new(b"other").hash(SubjectKind::IdCard, "11010519491231002X"), expected);
    }

    #[test]
    fn numbers_name_a_subject_as_18_digit_identifiers_only() {
        let h = SubjectHasher::new(KEY);
        // An ID number held as a number, in any column, is the same subject as the text.
        let as_text = h.of_kind(None, &json!("110101199003074514")).unwrap();
        assert_eq!(h.of_kind(None, &json!(110101199003074514u64)), Some(as_text.clone()));
        assert_eq!(h.of_kind(Some(SubjectKind::IdCard), &json!(110101199003074514u64)), Some(as_text));
        // Other numbers are not subjects: a height, a count, a failing check digit, a negative or fractional one.
        for v in [json!(168.5), json!(42), json!(110101199003074515u64), json!(-11010119900307451i64), json!(1.1e17)] {
            assert_eq!(h.of_kind(None, &v), None, "{v}");
        }
        // In an identifier item, a number is hashed as its text, whatever its length.
        assert!(h.of_kind(Some(SubjectKind::IdCard), &json!(42)).is_some());
    }
}
