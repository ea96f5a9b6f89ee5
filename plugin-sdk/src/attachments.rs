//! Files stored on the appliance, for a channel plugin to upload to its
//! provider.
//!
//! When an agent replies with a file, the outbound message's
//! [`Media::reference`](crate::types::Media) is the appliance's reference
//! to it, which the provider cannot reach. During that message's `send`
//! (and only then) [`read`] hands over the bytes, so the plugin can upload
//! them, e.g. as a [`multipart`](crate::http::Multipart) body. Any other
//! reference, or a read outside `send`, fails with
//! [`Error::OutOfScope`]. A file is refused with [`Error::TooLarge`] when
//! holding it twice (as read, and in the upload body) would not fit in
//! what is left of the plugin's `memory_mib`; report that to the agent
//! rather than failing the call.

use crate::bindings::omnigate::plugin::attachments as host;
pub use host::{Attachment, Error, TooLarge};

/// Reads the attachment `reference` names.
pub fn read(reference: &str) -> Result<Attachment, Error> {
    host::read(reference)
}

/// Whether `reference` has the form of an appliance attachment reference
/// (a SHA-256 in hex), as opposed to a URL or a provider's media id.
pub fn is_reference(reference: &str) -> bool {
    reference.len() == 64 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Attachment {
    /// The name it was uploaded under, else `file` with the extension of
    /// its type: providers show the name and some require one.
    pub fn filename_or_default(&self) -> String {
        if let Some(name) = self
            .filename
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            return name.to_owned();
        }
        let essence = self
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let extension = match essence.as_str() {
            "image/jpeg" => "jpg",
            "image/png" => "png",
            "image/gif" => "gif",
            "image/webp" => "webp",
            "application/pdf" => "pdf",
            "video/mp4" => "mp4",
            "video/3gpp" => "3gp",
            "audio/ogg" => "ogg",
            "audio/mpeg" => "mp3",
            "audio/mp4" | "audio/aac" => "m4a",
            "text/plain" => "txt",
            "application/zip" => "zip",
            _ => "bin",
        };
        format!("file.{extension}")
    }
}

impl Error {
    /// The failure in words an agent can act on (the generated `Display`
    /// only prints the variant).
    pub fn describe(&self) -> String {
        match self {
            Error::OutOfScope(m) => format!("not readable here: {m}"),
            Error::NotFound(m) => format!("the appliance no longer has the file: {m}"),
            Error::TooLarge(t) => format!(
                "the file has {} bytes; this channel's plugin can upload at most {} bytes",
                t.size_bytes, t.limit_bytes
            ),
            Error::Timeout => "reading the file took longer than the call's budget".to_owned(),
            Error::Storage(m) => format!("the appliance's storage failed: {m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_sha256_hex() {
        assert!(is_reference(&"ab".repeat(32)));
        assert!(!is_reference("https://example.com/a.jpg"));
        assert!(!is_reference("1234567890"));
        assert!(!is_reference(&"zz".repeat(32)));
    }

    #[test]
    fn default_file_names_follow_the_type() {
        let file = |content_type: &str, filename: Option<&str>| Attachment {
            bytes: Vec::new(),
            content_type: content_type.to_owned(),
            filename: filename.map(str::to_owned),
            size_bytes: 0,
        };
        assert_eq!(file("image/jpeg", None).filename_or_default(), "file.jpg");
        assert_eq!(
            file("application/pdf", Some(" ")).filename_or_default(),
            "file.pdf"
        );
        assert_eq!(
            file("audio/ogg; codecs=opus", None).filename_or_default(),
            "file.ogg"
        );
        assert_eq!(
            file("application/x-thing", None).filename_or_default(),
            "file.bin"
        );
        assert_eq!(
            file("application/pdf", Some("fatura.pdf")).filename_or_default(),
            "fatura.pdf"
        );
    }

    #[test]
    fn too_large_says_both_sizes() {
        let text = Error::TooLarge(TooLarge {
            size_bytes: 200,
            limit_bytes: 100,
        })
        .describe();
        assert!(
            text.contains("200 bytes") && text.contains("at most 100"),
            "{text}"
        );
    }
}
