//! An inbound webhook request as a provider would post it: what tests hand
//! to a plugin's `parse-webhook`, or post to `/webhooks/{channel}` of a
//! running omnigate.

/// One webhook request, exactly as the provider sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundWebhook {
    /// `POST` for deliveries, `GET` for WhatsApp's handshake.
    pub method: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The exact bytes the signature covers.
    pub body: Vec<u8>,
}

impl InboundWebhook {
    /// A POST of `body` with `headers`.
    #[must_use]
    pub fn post(headers: Vec<(String, String)>, body: Vec<u8>) -> InboundWebhook {
        InboundWebhook {
            method: "POST".to_owned(),
            query: Vec::new(),
            headers,
            body,
        }
    }

    /// The first value of header `name` (lower-case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The same request with header `name` replaced (or removed when
    /// `value` is `None`), for tests of tampered or missing signatures.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: Option<&str>) -> InboundWebhook {
        self.headers.retain(|(n, _)| n != name);
        if let Some(value) = value {
            self.headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// The same request with another body and the old headers (so the
    /// signature no longer matches).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> InboundWebhook {
        self.body = body.into();
        self
    }

    /// The query as a URL query string (`hub.mode=subscribe&...`), each
    /// part percent-encoded, names keeping their dots.
    #[must_use]
    pub fn query_string(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
