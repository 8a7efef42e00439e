//! Unified social credit codes (统一社会信用代码, GB 32100-2015) for the demo departments.
//!
//! Layout: registration authority `1` (机构编制), organisation kind (`1` 机关, `2` 事业单位), the 6-digit region
//! code, the 9-character organisation code of GB 11714 (8 characters and its own check character), then the
//! GB 32100 check character, computed by the domain crate so that the demo and the validator cannot disagree.

use shuqiao_domain::codes::CreditCode;

/// GB 11714 check character of an 8-character organisation code: weights 3,7,9,10,5,8,4,2 over the values of
/// the characters (digits 0–9, letters A=10 … Z=35); `11 - sum % 11`, where 10 is written `X` and 11 is `0`.
pub(crate) fn org_check_char(body: &str) -> Option<char> {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    if body.chars().count() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(WEIGHTS) {
        let v = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            'A'..='Z' => u32::from(c) - u32::from('A') + 10,
            _ => return None,
        };
        sum += v * w;
    }
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        n => char::from_digit(n, 10),
    }
}

/// The full 18-character code, or `None` if a part is malformed.
pub(crate) fn credit_code(kind: char, region: &str, org_body: &str) -> Option<String> {
    let org = format!("{org_body}{}", org_check_char(org_body)?);
    let first17 = format!("1{kind}{region}{org}");
    if first17.chars().count() != 17 {
        return None;
    }
    let check = CreditCode::check_char(&first17).ok()?;
    Some(format!("{first17}{check}"))
}

/// The 8-character organisation-code body of the `n`-th demo department: deterministic, distinct for distinct
/// `n`, and shaped like the codes that 机构编制 authorities assign (leading zeros, then digits).
pub(crate) fn org_body(n: u64) -> String {
    // An odd multiplier modulo 10^7 is a bijection on 0..10^7, so bodies never collide.
    let scrambled = (n.wrapping_mul(7_368_787).wrapping_add(1_402_117)) % 10_000_000;
    format!("0{scrambled:07}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_check_char_matches_known_codes() {
        // 00000000 → sum 0 → 11 → '0'
        assert_eq!(org_check_char("00000000"), Some('0'));
        // D2143569: 13*3+2*7+1*9+4*10+3*5+5*8+6*4+9*2 = 199, 199 % 11 = 1 → 10 → 'X'
        assert_eq!(org_check_char("D2143569"), Some('X'));
        assert_eq!(org_check_char("1234567"), None);
    }

    #[test]
    fn org_bodies_are_distinct() {
        let mut seen: Vec<String> = (0..200).map(org_body).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 200);
    }
}
