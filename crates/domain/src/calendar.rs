//! Working days (工作日): Monday–Friday, minus official holidays, plus make-up working days (调休). The calendar is
//! data (`data/cn-holidays.tsv`); years it does not cover are computed on weekends only and flagged.

use std::collections::{BTreeSet, HashSet};

use time::{Date, Duration, Month, Weekday};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar line {line}: {message}")]
pub struct CalendarError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Years the calendar covers.
    years: BTreeSet<i32>,
    /// Official holidays (including the weekends they absorb).
    off: HashSet<Date>,
    /// Make-up working days (调休上班日), usually weekends.
    work: HashSet<Date>,
}

/// A computed deadline and whether every year it touched is covered by the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Deadline {
    pub deadline: Date,
    pub covered: bool,
}

const BUILTIN_TSV: &str = include_str!("../../../data/cn-holidays.tsv");

impl Calendar {
    /// Parses the TSV format of `data/cn-holidays.tsv` (`# covers: 2024 2025 2026` header line names the covered
    /// years; lines `DATE<TAB>off|work<TAB>name`). A date outside the covered years is an error.
    pub fn from_tsv(text: &str) -> Result<Calendar, CalendarError> {
        let err = |line: usize, message: String| CalendarError { line, message };
        let mut cal = Calendar::default();
        // First pass: the `# covers:` header, wherever it is.
        let mut seen_covers = false;
        for (i, raw) in text.lines().enumerate() {
            let Some(rest) = raw.trim().strip_prefix('#') else { continue };
            let Some(years) = rest.trim_start().strip_prefix("covers:") else { continue };
            if seen_covers {
                return Err(err(i + 1, "duplicate `# covers:` line".into()));
            }
            seen_covers = true;
            for y in years.split_whitespace() {
                let year: i32 = y.parse().map_err(|_| err(i + 1, format!("`{y}` is not a year")))?;
                if !(1900..=9998).contains(&year) {
                    return Err(err(i + 1, format!("year {year} out of range 1900..=9998")));
                }
                cal.years.insert(year);
            }
        }
        // Second pass: the dates.
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let date_s = fields.next().unwrap_or_default().trim();
            let kind = fields
                .next()
                .map(str::trim)
                .ok_or_else(|| err(i + 1, "expected `DATE<TAB>off|work<TAB>name`".into()))?;
            let date = parse_date(date_s).ok_or_else(|| err(i + 1, format!("`{date_s}` is not a date YYYY-MM-DD")))?;
            if !cal.years.contains(&date.year()) {
                return Err(err(i + 1, format!("{date_s} is outside the covered years (see `# covers:`)")));
            }
            if cal.off.contains(&date) || cal.work.contains(&date) {
                return Err(err(i + 1, format!("{date_s} is listed twice")));
            }
            match kind {
                "off" => cal.off.insert(date),
                "work" => cal.work.insert(date),
                other => return Err(err(i + 1, format!("`{other}` is neither `off` nor `work`"))),
            };
        }
        Ok(cal)
    }
    /// The calendar shipped in the repository (`data/cn-holidays.tsv`, embedded at build time).
    /// Should the embedded file ever fail to parse (a unit test proves it does not), the result is an empty calendar
    /// that covers no year, so every deadline is computed on weekends only and flagged as uncertain.
    pub fn builtin() -> Calendar {
        Calendar::from_tsv(BUILTIN_TSV).unwrap_or_default()
    }
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }
    /// The years the calendar covers, ascending.
    pub fn covered_years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }
    /// Whether `date` is a working day; for uncovered years, Monday–Friday.
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.work.contains(&date) {
            return true;
        }
        if self.off.contains(&date) {
            return false;
        }
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
    }
    /// The `n`th working day after `from` (`from` itself never counts; `n = 0` gives `from`). `covered` is false if
    /// any year from `from` to the result is not covered by the calendar.
    ///
    /// Runs of uncovered years are crossed a week (five working days) at a time, so even a huge `n` is fast. If the
    /// result would be past the last representable date, the answer is that date, flagged as not covered.
    pub fn add_working_days(&self, from: Date, n: u32) -> Deadline {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            // Inside an uncovered stretch every week has exactly five working days: jump whole weeks, staying
            // clear of the next covered year.
            if left > 5 && !self.covers(d.year()) {
                let limit = self.years.range(d.year()..).next().and_then(|y| Date::from_ordinal_date(*y, 1).ok());
                let mut weeks = (left - 1) / 5;
                if let Some(limit) = limit {
                    let room = (limit - d).whole_days() / 7 - 1;
                    weeks = weeks.min(u32::try_from(room.max(0)).unwrap_or(0));
                }
                if weeks > 0 {
                    match d.checked_add(Duration::days(i64::from(weeks) * 7)) {
                        Some(next) => {
                            d = next;
                            left -= weeks * 5;
                            continue;
                        }
                        None => return Deadline { deadline: Date::MAX, covered: false },
                    }
                }
            }
            match d.next_day() {
                Some(next) => d = next,
                None => return Deadline { deadline: Date::MAX, covered: false },
            }
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        let covered = (from.year()..=d.year()).all(|y| self.covers(y));
        Deadline { deadline: d, covered }
    }
}

fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4
        || m.len() != 2
        || d.len() != 2
        || !(y.bytes().chain(m.bytes()).chain(d.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn shipped_calendar_parses() {
        let cal = Calendar::from_tsv(BUILTIN_TSV).unwrap();
        assert_eq!(cal.covered_years(), vec![2024, 2025, 2026]);
        assert!(cal.off.len() > 50 && cal.work.len() > 10);
        assert_eq!(Calendar::builtin().covered_years(), vec![2024, 2025, 2026]);
    }

    #[test]
    fn spring_festival_2025() {
        let cal = Calendar::builtin();
        // Friday 24 January → Sunday 26 January, a make-up working day.
        assert_eq!(
            cal.add_working_days(date!(2025 - 01 - 24), 1),
            Deadline { deadline: date!(2025 - 01 - 26), covered: true }
        );
        // Monday 27 January → the holiday runs 28 January–4 February → Wednesday 5 February.
        assert_eq!(
            cal.add_working_days(date!(2025 - 01 - 27), 1),
            Deadline { deadline: date!(2025 - 02 - 05), covered: true }
        );
        assert!(cal.is_working_day(date!(2025 - 01 - 26)));
        assert!(!cal.is_working_day(date!(2025 - 01 - 28)));
        assert!(cal.is_working_day(date!(2025 - 02 - 08)));
        assert!(!cal.is_working_day(date!(2025 - 02 - 09)));
        // 10 working days from 27 January: 5, 6, 7, 8 (Sat, make-up), 10, 11, 12, 13, 14, 17 February.
        assert_eq!(cal.add_working_days(date!(2025 - 01 - 27), 10).deadline, date!(2025 - 02 - 17));
    }

    #[test]
    fn national_day_2026() {
        let cal = Calendar::builtin();
        // Wednesday 30 September; 1–7 October off; Thursday 8 October is the next working day.
        assert_eq!(
            cal.add_working_days(date!(2026 - 09 - 30), 1),
            Deadline { deadline: date!(2026 - 10 - 08), covered: true }
        );
        // 8, 9, then Saturday 10 October (make-up working day).
        assert_eq!(cal.add_working_days(date!(2026 - 09 - 30), 3).deadline, date!(2026 - 10 - 10));
        assert!(!cal.is_working_day(date!(2026 - 10 - 05)));
        assert!(cal.is_working_day(date!(2026 - 10 - 10)));
        assert!(!cal.is_working_day(date!(2026 - 10 - 11)));
    }

    #[test]
    fn uncovered_years_are_flagged() {
        let cal = Calendar::builtin();
        assert!(!cal.covers(2027));
        assert!(!cal.covers(2023));
        let d = cal.add_working_days(date!(2027 - 03 - 01), 1);
        assert_eq!(d, Deadline { deadline: date!(2027 - 03 - 02), covered: false });
        // Wednesday 30 December 2026: 31 Dec, then 1 January 2027 (a Friday, weekends-only rule) …
        let d = cal.add_working_days(date!(2026 - 12 - 30), 5);
        assert_eq!(d, Deadline { deadline: date!(2027 - 01 - 06), covered: false });
        // … but a deadline that stays inside 2026 is covered.
        assert!(cal.add_working_days(date!(2026 - 12 - 29), 2).covered);
        // Starting in an uncovered year and ending in a covered one is flagged too.
        assert!(!cal.add_working_days(date!(2023 - 12 - 29), 3).covered);
        // Weekends still count as days off in uncovered years.
        assert!(!cal.is_working_day(date!(2027 - 01 - 02)));
        assert!(cal.is_working_day(date!(2027 - 01 - 04)));
    }

    #[test]
    fn zero_days_is_from() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.add_working_days(date!(2025 - 01 - 28), 0),
            Deadline { deadline: date!(2025 - 01 - 28), covered: true }
        );
        assert!(!cal.add_working_days(date!(2030 - 01 - 01), 0).covered);
    }

    /// The week-jumping fast path gives the same answers as a plain day-by-day count.
    #[test]
    fn fast_path_matches_day_by_day() {
        let cal = Calendar::builtin();
        let slow = |from: Date, n: u32| {
            let mut d = from;
            let mut left = n;
            while left > 0 {
                d = d.next_day().unwrap();
                if cal.is_working_day(d) {
                    left -= 1;
                }
            }
            d
        };
        for from in [
            date!(2022 - 06 - 15),
            date!(2023 - 12 - 20),
            date!(2023 - 12 - 30),
            date!(2026 - 11 - 28),
            date!(2027 - 01 - 01),
        ] {
            for n in [1, 4, 5, 6, 7, 10, 11, 50, 123, 260, 400, 1000] {
                assert_eq!(cal.add_working_days(from, n).deadline, slow(from, n), "{from} + {n}");
            }
        }
    }

    #[test]
    fn huge_n_is_fast_and_does_not_panic() {
        let cal = Calendar::builtin();
        let d = cal.add_working_days(date!(2025 - 01 - 01), u32::MAX);
        assert_eq!(d, Deadline { deadline: Date::MAX, covered: false });
        let d = cal.add_working_days(date!(2025 - 01 - 01), 100_000);
        assert!(!d.covered);
        assert!(d.deadline.year() > 2400);
    }

    #[test]
    fn empty_calendar_covers_nothing() {
        let cal = Calendar::from_tsv("").unwrap();
        assert!(!cal.covers(2025));
        let d = cal.add_working_days(date!(2025 - 01 - 27), 1);
        assert_eq!(d, Deadline { deadline: date!(2025 - 01 - 28), covered: false });
    }

    #[test]
    fn parse_errors_name_the_line() {
        let e = Calendar::from_tsv("# covers: 2025\n2026-01-01\toff\t元旦\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().starts_with("calendar line 2:"));
        assert_eq!(Calendar::from_tsv("# covers: 2025\n2025-02-30\toff\tx\n").unwrap_err().line, 2);
        assert_eq!(Calendar::from_tsv("# covers: 2025\n\n2025-01-01\tholiday\tx\n").unwrap_err().line, 3);
        assert_eq!(Calendar::from_tsv("# covers: 2025\n2025-01-01\n").unwrap_err().line, 2);
        assert_eq!(Calendar::from_tsv("# covers: 2025\n2025-01-01\toff\n2025-01-01\twork\n").unwrap_err().line, 3);
        assert_eq!(Calendar::from_tsv("# covers: 20x5\n").unwrap_err().line, 1);
        assert_eq!(Calendar::from_tsv("2025-01-01\toff\tx\n").unwrap_err().line, 1);
        // Name is optional; CRLF line ends are fine.
        let cal = Calendar::from_tsv("# covers: 2025\r\n2025-01-01\toff\r\n2025-01-26\twork\t春节\r\n").unwrap();
        assert!(!cal.is_working_day(date!(2025 - 01 - 01)));
        assert!(cal.is_working_day(date!(2025 - 01 - 26)));
    }
}
