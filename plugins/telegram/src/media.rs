//! Inbound file download (reference 2): `getFile` gives a `file_path`,
//! fetched from `https://api.telegram.org/file/bot<TOKEN>/<file_path>`.

use omnigate_plugin_sdk::attachments;
use omnigate_plugin_sdk::channel::{FetchedMedia, ProviderError};
use serde::Deserialize;
use serde_json::json;

use crate::api;

#[derive(Deserialize)]
struct TgFile {
    #[serde(default)]
    file_path: Option<String>,
    #[serde(default)]
    file_size: Option<u64>,
}

/// The file server answers `application/octet-stream` for everything, so
/// the type comes from the path's extension.
fn mime_of(path: &str) -> &'static str {
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "oga" | "ogg" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "tgs" => "application/x-tgsticker",
        "zip" => "application/zip",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Downloads the file `file_id` names.
pub fn fetch(file_id: &str) -> Result<FetchedMedia, ProviderError> {
    let file: TgFile = api::call("getFile", &json!({ "file_id": file_id }))?;
    // No path means the file is over the bot download limit (20 MB).
    let Some(path) = file.file_path else {
        return Err(ProviderError::Rejected(format!(
            "Telegram gives no download for this file ({} bytes; bots may download 20 MB)",
            file.file_size.unwrap_or_default()
        )));
    };
    let response = api::download(&path)?;
    let mime = match mime_of(&path) {
        "application/octet-stream" => response
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_owned(),
        known => known.to_owned(),
    };
    Ok(FetchedMedia {
        mime,
        bytes: response.into_body(),
        filename: path.rsplit('/').next().map(str::to_owned),
    })
}

/// A file the plugin could not read: too large for its budget or gone is
/// final (the agent is told why); a slow or failing disk may recover.
pub fn attachment_error(error: attachments::Error) -> ProviderError {
    match &error {
        attachments::Error::TooLarge(_) => ProviderError::UnsupportedContent(error.describe()),
        attachments::Error::OutOfScope(_) | attachments::Error::NotFound(_) => {
            ProviderError::Rejected(error.describe())
        }
        attachments::Error::Timeout | attachments::Error::Storage(_) => {
            ProviderError::TransientUpstream(error.describe())
        }
    }
}
