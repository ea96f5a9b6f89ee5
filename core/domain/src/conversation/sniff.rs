//! What a file is, judged by its first bytes, never by its name or the
//! client's word: an upload named `invoice.pdf` that is really a Windows
//! executable must not reach a customer as a PDF.

use super::channel::MediaKind;

/// Bytes needed to recognise every supported type.
pub const SNIFF_BYTES: usize = 64;

/// The MIME type and media kind of a file starting with `head`, or `None`
/// for types omnigate does not carry.
#[must_use]
pub fn sniff(head: &[u8]) -> Option<(&'static str, MediaKind)> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let found = if starts(b"\xFF\xD8\xFF") {
        ("image/jpeg", MediaKind::Image)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        ("image/png", MediaKind::Image)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        ("image/gif", MediaKind::Image)
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        ("image/webp", MediaKind::Image)
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        ("audio/wav", MediaKind::Audio)
    } else if starts(b"%PDF-") {
        ("application/pdf", MediaKind::Document)
    } else if at(4, b"ftyp") {
        // ISO base media: the brand tells audio (M4A) from video.
        if at(8, b"M4A ") {
            ("audio/mp4", MediaKind::Audio)
        } else if at(8, b"qt  ") {
            ("video/quicktime", MediaKind::Video)
        } else if at(8, b"3gp") {
            ("video/3gpp", MediaKind::Video)
        } else {
            ("video/mp4", MediaKind::Video)
        }
    } else if starts(b"OggS") {
        ("audio/ogg", MediaKind::Audio)
    } else if starts(b"ID3") || starts(b"\xFF\xFB") || starts(b"\xFF\xF3") || starts(b"\xFF\xF2") {
        ("audio/mpeg", MediaKind::Audio)
    } else if starts(b"#!AMR") {
        ("audio/amr", MediaKind::Audio)
    } else if starts(b"\x1A\x45\xDF\xA3") {
        ("video/webm", MediaKind::Video)
    } else if starts(b"PK\x03\x04") {
        // Office documents are ZIP containers; which one is not visible in
        // the first bytes, so they travel as ZIP-based documents.
        ("application/zip", MediaKind::Document)
    } else if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        ("application/msword", MediaKind::Document)
    } else if is_plain_text(head) {
        ("text/plain", MediaKind::Document)
    } else {
        return None;
    };
    Some(found)
}

/// UTF-8 text without control characters other than whitespace. A file cut
/// in the middle of a multi-byte character still counts.
fn is_plain_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_content() {
        let cases: [(&[u8], Option<&str>); 9] = [
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", Some("image/jpeg")),
            (b"\x89PNG\r\n\x1a\n\x00\x00", Some("image/png")),
            (b"RIFF\x00\x00\x00\x00WEBPVP8 ", Some("image/webp")),
            (b"%PDF-1.7\n", Some("application/pdf")),
            (b"\x00\x00\x00\x18ftypmp42", Some("video/mp4")),
            (b"OggS\x00\x02", Some("audio/ogg")),
            ("Sipariş numaram 1001\n".as_bytes(), Some("text/plain")),
            (b"MZ\x90\x00\x03\x00\x00\x00", None),
            (b"\x7FELF\x02\x01\x01", None),
        ];
        for (head, expected) in cases {
            assert_eq!(sniff(head).map(|(mime, _)| mime), expected, "{head:?}");
        }
    }

    #[test]
    fn a_name_does_not_make_a_type() {
        // An executable is refused whatever it is called; only bytes count.
        assert_eq!(sniff(b"MZ\x90\x00"), None);
        assert_eq!(sniff(b""), None);
    }
}
