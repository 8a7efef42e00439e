//! Submitted forms: `application/x-www-form-urlencoded` and `multipart/form-data` (the import upload), read
//! into one list of fields. Repeated names (checkboxes) keep every value.

#[derive(Debug, Default)]
pub struct FormData {
    fields: Vec<(String, String)>,
    /// An uploaded file: (field name, file name, bytes).
    pub file: Option<(String, String, Vec<u8>)>,
}

impl FormData {
    pub fn parse(content_type: &str, body: &[u8]) -> Option<FormData> {
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "multipart/form-data" => {
                let boundary = content_type
                    .split(';')
                    .filter_map(|p| p.trim().strip_prefix("boundary="))
                    .next()?
                    .trim_matches('"');
                parse_multipart(boundary, body)
            }
            "application/x-www-form-urlencoded" | "" => {
                let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
                Some(FormData { fields, file: None })
            }
            _ => None,
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; `None` when missing or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// Fields whose names start with `prefix`, with the prefix removed (e.g. `mask.<item>`).
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_owned(), v.clone())))
            .collect()
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

/// A small multipart reader: parts separated by `--boundary`, each with headers, a blank line and the content.
fn parse_multipart(boundary: &str, body: &[u8]) -> Option<FormData> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut out = FormData::default();
    let mut pos = find(body, delim, 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        // Skip the CRLF after the delimiter.
        pos += 2;
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = std::str::from_utf8(body.get(pos..head_end)?).ok()?;
        let content_start = head_end + 4;
        let next = find(body, delim, content_start)?;
        // The content ends before the CRLF that precedes the next delimiter.
        let content = body.get(content_start..next.checked_sub(2)?)?;
        let disposition = head.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?;
        let param = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(key))
                .map(|v| v.trim_matches('"').to_owned())
        };
        let name = param("name=")?;
        match param("filename=") {
            Some(filename) => out.file = Some((name, filename, content.to_vec())),
            None => out.fields.push((name, String::from_utf8_lossy(content).into_owned())),
        }
        pos = next + delim.len();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urlencoded_with_repeated_names() {
        let f =
            FormData::parse("application/x-www-form-urlencoded", "a=1&items=%E5%A7%93%E5%90%8D&items=x&b=+".as_bytes())
                .unwrap();
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.all("items"), vec!["姓名", "x"]);
        assert_eq!(f.text("b"), None);
    }

    #[test]
    fn reads_multipart() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n--XyZ--\r\n";
        let f = FormData::parse("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap();
        assert_eq!(f.get("_csrf"), Some("tok"));
        let (name, filename, bytes) = f.file.unwrap();
        assert_eq!((name.as_str(), filename.as_str()), ("file", "a.csv"));
        assert_eq!(bytes, b"x,y\r\n1,2");
    }
}
