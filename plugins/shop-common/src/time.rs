//! Shop timestamps to RFC 3339, which the interface's `created-at` wants.

/// `2025-01-31T14:05:00` or `2025-01-31 14:05:00` (with optional
/// fractional seconds) as RFC 3339, adding `offset` (`+03:00`) when the
/// shop sent none; text that already ends in `Z` or an offset passes
/// unchanged. `None` when it is not a date and time of that shape.
pub fn to_rfc3339(text: &str, offset: &str) -> Option<String> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() >= 19
        && bytes[..19].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T' || *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 6);
    out.push_str(&text[..10]);
    out.push('T');
    out.push_str(&text[11..]);
    let rest = &text[19..];
    let has_zone = rest.ends_with('Z') || rest.contains('+') || rest.contains('-');
    if !has_zone {
        out.push_str(offset);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_offset_only_when_missing() {
        assert_eq!(
            to_rfc3339("2025-01-31T14:05:00", "+03:00").as_deref(),
            Some("2025-01-31T14:05:00+03:00")
        );
        assert_eq!(
            to_rfc3339("2025-01-31 14:05:00.123", "+03:00").as_deref(),
            Some("2025-01-31T14:05:00.123+03:00")
        );
        assert_eq!(
            to_rfc3339("2025-01-31T14:05:00Z", "+03:00").as_deref(),
            Some("2025-01-31T14:05:00Z")
        );
        assert_eq!(
            to_rfc3339("2025-01-31T14:05:00-05:00", "+03:00").as_deref(),
            Some("2025-01-31T14:05:00-05:00")
        );
        assert_eq!(to_rfc3339("31.01.2025", "+03:00"), None);
    }
}
