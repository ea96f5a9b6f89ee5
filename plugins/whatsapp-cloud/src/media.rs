//! Media (reference 1.6): inbound download (the media id gives a
//! short-lived URL, about 5 minutes, fetched with the same bearer token),
//! and the upload of an appliance attachment before it is sent by id.

use omnigate_plugin_sdk::attachments;
use omnigate_plugin_sdk::channel::{FetchedMedia, ProviderError};
use omnigate_plugin_sdk::crypto;
use omnigate_plugin_sdk::http::{Multipart, Request};
use omnigate_plugin_sdk::types::Media;
use serde::{Deserialize, Deserializer};

use crate::{errors, graph};

/// `GET /{version}/{media-id}`'s answer.
#[derive(Deserialize)]
struct MediaUrl {
    url: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default, deserialize_with = "lenient_size")]
    file_size: Option<u64>,
}

/// `file_size` is often a string (`"303833"`) and sometimes a number.
fn lenient_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Media ids are digits; anything else would change the request's path.
fn valid_id(reference: &str) -> bool {
    !reference.is_empty()
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Downloads the media `reference` names, checking the size and sha256 the
/// Graph API announced: a truncated or corrupted transfer is transient.
pub fn fetch(reference: &str) -> Result<FetchedMedia, ProviderError> {
    if !valid_id(reference) {
        return Err(ProviderError::NotFound(format!(
            "`{reference}` is not a WhatsApp media id"
        )));
    }
    let info: MediaUrl =
        graph::send_ok(Request::get(format!("{}/{reference}", graph::base_url())))?
            .json()
            .map_err(|e| {
                ProviderError::TransientUpstream(format!("unreadable media answer: {e}"))
            })?;
    let download = graph::send(Request::get(info.url.as_str()))?;
    if !download.is_success() {
        // The download host answers without a Graph envelope; an expired
        // URL (404) means asking for a new one, i.e. trying again.
        return Err(
            match errors::from_status(download.status(), download.retry_after_ms()) {
                ProviderError::NotFound(m) => ProviderError::TransientUpstream(format!(
                    "the media URL expired or is unknown ({m})"
                )),
                other => other,
            },
        );
    }
    let sent_type = download.header("content-type").map(str::to_owned);
    // Taken, not copied: a 100 MB document is held once more only while
    // it is handed back to the host.
    let bytes = download.into_body();
    if let Some(size) = info.file_size
        && size != bytes.len() as u64
    {
        return Err(ProviderError::TransientUpstream(format!(
            "media download has {} bytes, the Graph API announced {size}",
            bytes.len()
        )));
    }
    // Only a hex SHA-256 is checked: any other form of the field is not
    // one this plugin can compare, and refusing every download over it
    // would make the media unreachable.
    if let Some(expected) = info
        .sha256
        .as_deref()
        .map(str::trim)
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        let actual = hex::encode(crypto::sha256(&bytes));
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(ProviderError::TransientUpstream(
                "media download does not match the announced sha256".into(),
            ));
        }
    }
    let mime = info
        .mime_type
        .or(sent_type)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Ok(FetchedMedia {
        mime,
        bytes,
        filename: None,
    })
}

/// `POST /{version}/{phone-number-id}/media`'s answer.
#[derive(Deserialize)]
struct Uploaded {
    id: String,
}

/// Uploads the appliance attachment `media` names (reference 1.6:
/// `multipart/form-data` with `file`, its `type` and
/// `messaging_product=whatsapp`) and returns the media id to send it by.
/// The type sent is the one the appliance read from the bytes.
pub fn upload(media: &Media) -> Result<String, ProviderError> {
    let file = attachments::read(&media.reference).map_err(attachment_error)?;
    let filename = media
        .filename
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| file.filename_or_default());
    let form = Multipart::new()
        .file("file", filename, file.content_type.as_str(), &file.bytes)
        .text("type", file.content_type.as_str())
        .text("messaging_product", "whatsapp");
    let url = format!("{}/{}/media", graph::base_url(), graph::phone_number_id()?);
    let response = graph::send_ok(Request::post(url).multipart(form))?;
    let uploaded: Uploaded = response.json().map_err(|e| {
        ProviderError::TransientUpstream(format!("unreadable answer to a media upload: {e}"))
    })?;
    if !valid_id(&uploaded.id) {
        return Err(ProviderError::TransientUpstream(format!(
            "the media upload answered an unusable id `{}`",
            uploaded.id
        )));
    }
    Ok(uploaded.id)
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
