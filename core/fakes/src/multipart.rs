//! A strict `multipart/form-data` reader (RFC 7578 over RFC 2046's
//! framing), so the fakes check an upload's shape the way a provider's
//! front end does instead of trusting it: the boundary from the
//! `Content-Type`, CRLF line ends, a `Content-Disposition: form-data` with
//! a `name` on every part, the closing delimiter.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The `name` parameter.
    pub name: String,
    /// The `filename` parameter, for file parts.
    pub filename: Option<String>,
    /// The part's own `Content-Type`.
    pub content_type: Option<String>,
    /// The content, exactly.
    pub body: Vec<u8>,
}

impl Part {
    /// The content as text (lossy), for fields.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The parts of `body`, sent with `content_type`, or why it is not a
/// well-formed form.
///
/// # Errors
/// A message naming the first thing wrong.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(format!(
            "content type `{essence}` is not multipart/form-data"
        ));
    }
    let boundary = params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .ok_or("the content type has no boundary")?;
    if boundary.is_empty() || boundary.len() > 70 {
        return Err("the boundary must be 1 to 70 characters".into());
    }
    let opening = format!("--{boundary}\r\n");
    let delimiter = format!("\r\n--{boundary}");
    let mut rest = body
        .strip_prefix(opening.as_bytes())
        .ok_or("the body does not start with the boundary delimiter and CRLF")?;
    let mut parts = Vec::new();
    loop {
        let end = find(rest, delimiter.as_bytes()).ok_or("a part is not closed by a delimiter")?;
        parts.push(part(&rest[..end])?);
        let after = &rest[end + delimiter.len()..];
        if let Some(next) = after.strip_prefix(b"\r\n") {
            rest = next;
        } else if let Some(tail) = after.strip_prefix(b"--") {
            if !(tail.is_empty() || tail == b"\r\n") {
                return Err("bytes after the closing delimiter".into());
            }
            return Ok(parts);
        } else {
            return Err("a delimiter is followed by neither CRLF nor `--`".into());
        }
    }
}

fn part(raw: &[u8]) -> Result<Part, String> {
    let split = find(raw, b"\r\n\r\n").ok_or("a part has no blank line after its headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "a part's headers are not UTF-8")?;
    let mut disposition = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("`{line}` is not a header"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => disposition = Some(value.trim().to_owned()),
            "content-type" => content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let disposition = disposition.ok_or("a part has no Content-Disposition")?;
    let fields = parameters(&disposition);
    if !fields
        .first()
        .is_some_and(|(k, v)| k.eq_ignore_ascii_case("form-data") && v.is_none())
    {
        return Err(format!("`{disposition}` is not form-data"));
    }
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.clone())
    };
    let name = get("name").ok_or("a part's Content-Disposition has no name")?;
    Ok(Part {
        name,
        filename: get("filename"),
        content_type,
        body: raw[split + 4..].to_vec(),
    })
}

/// `form-data; name="a"; filename="b;c"` as (key, value) pairs, quotes
/// honoured.
fn parameters(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut items = Vec::new();
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((k, v)) => {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                out.push((k.trim().to_owned(), Some(v.to_owned())));
            }
            None => out.push((item.to_owned(), None)),
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn reads_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nimage/png\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n--XyZ--\r\n";
        let parts = parse(CT, body).expect("parses");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "type");
        assert_eq!(parts[0].text(), "image/png");
        assert_eq!(parts[1].filename.as_deref(), Some("a;b.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].body, b"\x89PNG\r\n--X");
    }

    #[test]
    fn refuses_malformed_bodies() {
        let ok = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--";
        assert!(parse(CT, ok).is_ok());
        assert!(parse("application/json", ok).is_err());
        assert!(parse("multipart/form-data", ok).is_err());
        assert!(parse("multipart/form-data; boundary=Other", ok).is_err());
        let bare_lf = b"--XyZ\nContent-Disposition: form-data; name=\"a\"\n\n1\n--XyZ--";
        assert!(parse(CT, bare_lf).is_err());
        let unclosed = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1";
        assert!(parse(CT, unclosed).is_err());
        let nameless = b"--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--";
        assert!(parse(CT, nameless).is_err());
        let attachment =
            b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--XyZ--";
        assert!(parse(CT, attachment).is_err());
    }
}
