//! Percent-encoding for query strings and form bodies
//! (`application/x-www-form-urlencoded`), which the SDK leaves to plugins.

/// `text` with everything but RFC 3986 unreserved characters
/// percent-encoded, safe as a query or form value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `key=value&…` with both sides encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_utf8() {
        assert_eq!(encode("tişört mavi"), "ti%C5%9F%C3%B6rt%20mavi");
        assert_eq!(encode("a&b=c"), "a%26b%3Dc");
        assert_eq!(
            form(&[("grant_type", "refresh_token"), ("x", "1/2")]),
            "grant_type=refresh_token&x=1%2F2"
        );
    }
}
