//! Outbound HTTP through the host, the sandbox's only way out.
//!
//! The host sends the request only if its host name is listed under
//! `allowed_hosts` in the plugin's manifest; otherwise [`Error::ForbiddenHost`]
//! names the key to change. Bodies are whole byte vectors: plugins talk to
//! JSON APIs, not streams; [`Multipart`] builds the `multipart/form-data`
//! body providers take file uploads in. The host refuses a request body
//! over its cap (128 MiB by default) with [`Error::TooLarge`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::omnigate::plugin::http as host;
pub use host::{Error, Method};

/// A request being built; send it with [`Request::send`].
#[derive(Debug, Clone)]
pub struct Request {
    inner: host::Request,
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            inner: host::Request {
                method,
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
            },
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Request {
        Request::new(Method::Get, url)
    }

    /// A POST request.
    pub fn post(url: impl Into<String>) -> Request {
        Request::new(Method::Post, url)
    }

    /// Adds a header (repeated names are kept, in order).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>`, as most provider APIs want.
    pub fn bearer(self, token: &str) -> Request {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: Serialize>(mut self, body: &T) -> Result<Request, crate::json::JsonError> {
        self.inner.body = crate::json::to_vec(body)?;
        Ok(self.header("content-type", "application/json"))
    }

    /// Sets a raw body (SOAP envelopes, form bodies).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.inner.body = body.into();
        self
    }

    /// Sets a `multipart/form-data` body and its content type (with the
    /// boundary).
    pub fn multipart(mut self, form: Multipart<'_>) -> Request {
        let (content_type, body) = form.finish();
        self.inner.body = body;
        self.header("content-type", content_type)
    }

    /// Gives up sooner than the host's own limit.
    pub fn timeout_ms(mut self, timeout_ms: u32) -> Request {
        self.inner.timeout_ms = Some(timeout_ms);
        self
    }

    /// The request as the host will receive it, for tests.
    pub fn as_host_request(&self) -> &host::Request {
        &self.inner
    }

    /// Sends the request through the host and waits for the response.
    pub fn send(self) -> Result<Response, Error> {
        host::send(&self.inner).map(|inner| Response { inner })
    }
}

/// A response of any status.
#[derive(Debug, Clone)]
pub struct Response {
    inner: host::Response,
}

impl Response {
    /// Wraps a host response, for tests of response handling.
    pub fn from_host(inner: host::Response) -> Response {
        Response { inner }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.inner.status)
    }

    /// The first header named `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    /// The raw body, taken out of the response: a media download handed
    /// on as it came, without a second copy in the plugin's memory.
    pub fn into_body(self) -> Vec<u8> {
        self.inner.body
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, crate::json::JsonError> {
        crate::json::parse(&self.inner.body)
    }

    /// `Retry-After` in milliseconds, from either form providers send
    /// (`35` or `2.0` seconds); dates are ignored.
    pub fn retry_after_ms(&self) -> Option<u64> {
        let value: f64 = self.header("retry-after")?.trim().parse().ok()?;
        (value.is_finite() && value >= 0.0).then(|| (value * 1000.0).round() as u64)
    }
}

/// A `multipart/form-data` body (RFC 7578), as file uploads take it.
///
/// Parts borrow their content and the body is written once, at its exact
/// size, by [`Request::multipart`]: a plugin uploading a file holds it
/// twice (as read, and in the body), never more. The boundary is chosen
/// then, so that it occurs in no part.
#[derive(Debug, Default, Clone)]
pub struct Multipart<'a> {
    parts: Vec<FormPart<'a>>,
}

#[derive(Debug, Clone)]
struct FormPart<'a> {
    name: String,
    file: Option<(String, String)>,
    body: std::borrow::Cow<'a, [u8]>,
}

impl<'a> Multipart<'a> {
    /// An empty form.
    pub fn new() -> Multipart<'a> {
        Multipart::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Multipart<'a> {
        self.parts.push(FormPart {
            name: name.into(),
            file: None,
            body: std::borrow::Cow::Owned(value.into().into_bytes()),
        });
        self
    }

    /// Adds a file field: `Content-Disposition` with `filename`, and its
    /// own `Content-Type`.
    pub fn file(
        mut self,
        name: impl Into<String>,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        bytes: &'a [u8],
    ) -> Multipart<'a> {
        self.parts.push(FormPart {
            name: name.into(),
            file: Some((filename.into(), content_type.into())),
            body: std::borrow::Cow::Borrowed(bytes),
        });
        self
    }

    /// The `Content-Type` header value and the body.
    pub fn finish(self) -> (String, Vec<u8>) {
        let boundary = self.boundary();
        let heads: Vec<String> = self
            .parts
            .iter()
            .map(|part| {
                let mut head = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
                    escape_quoted(&part.name)
                );
                if let Some((filename, content_type)) = &part.file {
                    head.push_str(&format!(
                        "; filename=\"{}\"\r\nContent-Type: {}",
                        escape_quoted(filename),
                        content_type.replace(['\r', '\n'], " ")
                    ));
                }
                head.push_str("\r\n\r\n");
                head
            })
            .collect();
        let closing = format!("--{boundary}--\r\n");
        let size = heads.iter().map(String::len).sum::<usize>()
            + self.parts.iter().map(|p| p.body.len() + 2).sum::<usize>()
            + closing.len();
        let mut body = Vec::with_capacity(size);
        for (head, part) in heads.iter().zip(&self.parts) {
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(closing.as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    /// A boundary that occurs in no part (RFC 2046: at most 70 characters
    /// from a safe set).
    fn boundary(&self) -> String {
        let mut n: u64 = 0;
        loop {
            let candidate = format!("omnigate-form-boundary-{n:016x}");
            if !self
                .parts
                .iter()
                .any(|p| contains(&p.body, candidate.as_bytes()))
            {
                return candidate;
            }
            n += 1;
        }
    }
}

/// A field name or file name inside `"..."`, as browsers write it
/// (WHATWG HTML: `"` as `%22`, CR and LF as `%0D` and `%0A`).
fn escape_quoted(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    haystack
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == first)
        .any(|(i, _)| haystack.get(i + 1..i + 1 + rest.len()) == Some(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_is_rfc_7578() {
        let png = b"\x89PNG\r\n\x1a\nbytes";
        let req = Request::post("https://api.telegram.org/botT/sendPhoto").multipart(
            Multipart::new()
                .text("chat_id", "111222333")
                .text("caption", "Fatura \"son\"")
                .file("photo", "ürün \"1\".png", "image/png", png),
        );
        let host = req.as_host_request();
        let content_type = host
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_default()
            .to_owned();
        assert!(
            !boundary.is_empty() && boundary.len() <= 70,
            "{content_type}"
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n111222333\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nFatura \"son\"\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"ürün %221%22.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        expected.extend_from_slice(png);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(host.body, expected);
        assert_eq!(host.body.capacity(), host.body.len());
    }

    #[test]
    fn boundary_never_occurs_in_a_part() {
        let first = Multipart::new().text("a", "x").boundary();
        let (content_type, body) = Multipart::new()
            .file(
                "file",
                "a.bin",
                "application/octet-stream",
                first.as_bytes(),
            )
            .finish();
        assert!(!content_type.ends_with(&first));
        let boundary = content_type.rsplit('=').next().unwrap_or_default();
        let occurrences = body
            .windows(boundary.len())
            .filter(|w| *w == boundary.as_bytes())
            .count();
        assert_eq!(occurrences, 2, "opening and closing delimiters only");
    }

    fn response(headers: &[(&str, &str)], body: &str) -> Response {
        Response::from_host(host::Response {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn builder_sets_json_and_auth() {
        let req = Request::post("https://graph.facebook.com/v25.0/1/messages")
            .bearer("t0k")
            .json(&serde_json::json!({"to": "905321112233"}));
        let req = match req {
            Ok(req) => req,
            Err(e) => panic!("{e}"),
        };
        let host = req.as_host_request();
        assert_eq!(host.method, Method::Post);
        assert!(
            host.headers
                .contains(&("authorization".into(), "Bearer t0k".into()))
        );
        assert!(
            host.headers
                .contains(&("content-type".into(), "application/json".into()))
        );
        assert_eq!(host.body, br#"{"to":"905321112233"}"#);
    }

    #[test]
    fn retry_after_reads_both_forms() {
        assert_eq!(
            response(&[("Retry-After", "35")], "").retry_after_ms(),
            Some(35_000)
        );
        assert_eq!(
            response(&[("retry-after", "2.0")], "").retry_after_ms(),
            Some(2_000)
        );
        assert_eq!(
            response(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], "").retry_after_ms(),
            None
        );
        assert_eq!(response(&[], "").retry_after_ms(), None);
    }

    #[test]
    fn response_parses_json() {
        let r = response(&[], r#"{"ok":false,"error_code":429}"#);
        let v: Result<serde_json::Value, _> = r.json();
        assert!(v.is_ok_and(|v| v["error_code"] == 429));
        assert!(!r.is_success());
    }
}
