//! Outbound HTTP through the host, the sandbox's only way out.
//!
//! The host sends the request only if its host name is listed under
//! `allowed_hosts` in the plugin's manifest; otherwise [`Error::ForbiddenHost`]
//! names the key to change. Bodies are whole byte vectors: plugins talk to
//! JSON APIs, not streams.

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

#[cfg(test)]
mod tests {
    use super::*;

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
