//! Phone numbers between channels and shops. Channels hand over the
//! contact's number in international form, usually without `+`
//! (`905321112233`); shops keep whatever the customer typed
//! (`0532 111 22 33`, `+90 532 111 2233`).

/// The digits of `text`, with a leading `00` international prefix dropped.
pub fn digits(text: &str) -> String {
    let all: String = text.chars().filter(char::is_ascii_digit).collect();
    match all.strip_prefix("00") {
        Some(rest) if !text.trim_start().starts_with('+') => rest.to_owned(),
        _ => all,
    }
}

/// E.164 (`+905321112233`) from a number in international form with or
/// without `+`, spaces or dashes. `None` when fewer than 8 digits remain.
pub fn e164(text: &str) -> Option<String> {
    let digits = digits(text);
    (digits.len() >= 8 && digits.len() <= 15).then(|| format!("+{digits}"))
}

/// Turkey's national form (`05321112233`), which Turkish shops store,
/// from `905321112233`, `+90 532 111 22 33` or `5321112233`; `None` for
/// a number that is not Turkish.
pub fn turkish_national(text: &str) -> Option<String> {
    let digits = digits(text);
    let subscriber = match digits.len() {
        12 => digits.strip_prefix("90")?,
        11 => digits.strip_prefix('0')?,
        10 => digits.as_str(),
        _ => return None,
    };
    Some(format!("0{subscriber}"))
}

/// Whether two numbers are the same line, however each is written: equal
/// digits, or equal last ten digits (a national subscriber number) when
/// one side has a country or trunk prefix the other lacks.
pub fn same_number(a: &str, b: &str) -> bool {
    let (a, b) = (digits(a), digits(b));
    if a.len() < 7 || b.len() < 7 {
        return false;
    }
    if a == b {
        return true;
    }
    a.len() >= 10 && b.len() >= 10 && a[a.len() - 10..] == b[b.len() - 10..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(e164("905321112233").as_deref(), Some("+905321112233"));
        assert_eq!(e164("+90 532 111-22-33").as_deref(), Some("+905321112233"));
        assert_eq!(e164("0090 532 111 22 33").as_deref(), Some("+905321112233"));
        assert_eq!(e164("12"), None);
        assert_eq!(
            turkish_national("905321112233").as_deref(),
            Some("05321112233")
        );
        assert_eq!(
            turkish_national("0532 111 22 33").as_deref(),
            Some("05321112233")
        );
        assert_eq!(turkish_national("+14155550100"), None);
    }

    #[test]
    fn matches_across_forms() {
        assert!(same_number("905321112233", "0532 111 22 33"));
        assert!(same_number("+90 532 111 2233", "5321112233"));
        assert!(!same_number("905321112233", "905321112234"));
        assert!(!same_number("", ""));
    }
}
