//! Charts as SVG, drawn on the server: horizontal bars (counts by category) and a line (a value by day).
//! Labels are escaped; colours have enough contrast on white.

use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const BAR: &str = "#0b5cad";
const BAR_ALT: &str = "#b3261e";

/// Horizontal bars, one per `(label, value)`, with the value at the end of each bar. `alert` labels are red.
pub fn bars(title: &str, data: &[(String, u64)], alert: &[&str]) -> String {
    let row = 26;
    let label_w = 150;
    let width = 520;
    let plot_w = width - label_w - 60;
    let height = 30 + row * data.len().max(1);
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    for (i, (label, value)) in data.iter().enumerate() {
        let y = 10 + i * row;
        let w = (u64::try_from(plot_w).unwrap_or(0) * value / max).max(u64::from(*value > 0));
        let colour = if alert.contains(&label.as_str()) { BAR_ALT } else { BAR };
        let short: String = label.chars().take(12).collect();
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" font-size="13" fill="#1f2933">{}</text><rect x="{label_w}" y="{}" width="{w}" height="18" fill="{colour}" rx="2"><title>{}: {value}</title></rect><text x="{}" y="{}" font-size="13" fill="#1f2933">{value}</text>"##,
            label_w - 8,
            y + 14,
            esc(&short),
            y + 1,
            esc(label),
            label_w + usize::try_from(w).unwrap_or(0) + 6,
            y + 14,
        );
    }
    if data.is_empty() {
        let _ = write!(s, r##"<text x="10" y="24" font-size="13" fill="#52606d">—</text>"##);
    }
    s.push_str("</svg>");
    s
}

/// A line of `(label, value)` points (e.g. days), with the first and last label under the axis.
pub fn line(title: &str, data: &[(String, u64)]) -> String {
    let (width, height, left, bottom) = (520usize, 200usize, 40usize, 30usize);
    let plot_w = width - left - 15;
    let plot_h = height - bottom - 15;
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let n = data.len().max(2) - 1;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{}"><title>{}</title><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#9aa5b1"/><text x="{}" y="20" text-anchor="end" font-size="12" fill="#52606d">{max}</text><text x="{}" y="{}" text-anchor="end" font-size="12" fill="#52606d">0</text>"##,
        esc(title),
        esc(title),
        15 + plot_h,
        left + plot_w,
        15 + plot_h,
        left - 6,
        left - 6,
        15 + plot_h,
    );
    let points: Vec<String> = data
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let x = left + plot_w * i / n;
            let y = 15 + plot_h - usize::try_from(u64::try_from(plot_h).unwrap_or(0) * v / max).unwrap_or(0);
            format!("{x},{y}")
        })
        .collect();
    let _ = write!(s, r##"<polyline fill="none" stroke="#b3261e" stroke-width="2" points="{}"/>"##, points.join(" "));
    for ((label, v), p) in data.iter().zip(&points) {
        let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
        let _ = write!(
            s,
            r##"<circle cx="{x}" cy="{y}" r="3" fill="#b3261e"><title>{}: {v}</title></circle>"##,
            esc(label)
        );
    }
    if let (Some((first, _)), Some((last, _))) = (data.first(), data.last()) {
        let _ = write!(
            s,
            r##"<text x="{left}" y="{}" font-size="12" fill="#52606d">{}</text><text x="{}" y="{}" text-anchor="end" font-size="12" fill="#52606d">{}</text>"##,
            height - 8,
            esc(first),
            left + plot_w,
            height - 8,
            esc(last)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_escape_labels_and_scale() {
        let svg = bars("t<", &[("a&b".into(), 10), ("c".into(), 5)], &["c"]);
        assert!(svg.contains("a&amp;b") && svg.contains("t&lt;"));
        assert!(svg.contains(r#"width="310""#) && svg.contains(r#"width="155""#), "{svg}");
        assert!(svg.contains(BAR_ALT));
    }

    #[test]
    fn line_has_a_point_per_value() {
        let svg = line("x", &[("1".into(), 0), ("2".into(), 3), ("3".into(), 1)]);
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
