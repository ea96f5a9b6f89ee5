//! Which hosts a plugin may reach: the manifest's `allowed_hosts`, checked
//! by the host before the embedder's HTTP client sees the request.

use crate::manifest::ALLOWED_HOSTS_KEY;

/// A plugin's allowed hosts: exact names, or `*.example.com` for any
/// subdomain of `example.com` (not the bare name, which must be listed on
/// its own).
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    patterns: Vec<String>,
}

impl Allowlist {
    /// From validated manifest patterns.
    #[must_use]
    pub fn new(patterns: &[String]) -> Allowlist {
        Allowlist {
            patterns: patterns.iter().map(|p| p.to_ascii_lowercase()).collect(),
        }
    }

    /// The host of `url` when the allowlist admits it; otherwise a message
    /// for the plugin that names the URL's host and the manifest key.
    pub fn check(&self, url: &str) -> Result<String, String> {
        let host = host_of(url)?;
        if self.patterns.iter().any(|p| matches(p, &host)) {
            Ok(host)
        } else {
            Err(format!(
                "host `{host}` is not in the manifest's `{ALLOWED_HOSTS_KEY}`; add it there to allow it"
            ))
        }
    }
}

fn matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        None => pattern == host,
    }
}

/// The lower-cased host of an `http(s)://` URL. User info is refused
/// outright: `https://allowed.com@evil.com/` must not read as allowed.
fn host_of(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!("`{url}`: user info in URLs is not allowed"));
    }
    if authority.starts_with('[') {
        return Err(format!(
            "`{url}`: IP literals are not allowed; use a host name"
        ));
    }
    let host = authority.split(':').next().unwrap_or_default();
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Allowlist {
        Allowlist::new(&["graph.facebook.com".into(), "*.myshopify.com".into()])
    }

    #[test]
    fn exact_and_wildcard_hosts_pass() {
        let l = list();
        assert_eq!(
            l.check("https://graph.facebook.com/v25.0/1/messages"),
            Ok("graph.facebook.com".into())
        );
        assert!(l.check("https://GRAPH.facebook.com:443/x").is_ok());
        assert!(l.check("https://acme.myshopify.com/admin").is_ok());
        assert!(l.check("https://graph.facebook.com./x").is_ok());
    }

    #[test]
    fn everything_else_is_refused_naming_the_key() {
        let l = list();
        for url in [
            "https://myshopify.com/",
            "https://evilmyshopify.com/",
            "https://graph.facebook.com.evil.net/",
            "https://graph.facebook.com@evil.net/",
            "https://[::1]/",
            "ftp://graph.facebook.com/",
            "https:///path",
        ] {
            assert!(l.check(url).is_err(), "{url} passed");
        }
        let message = l.check("https://evil.net/").err().unwrap_or_default();
        assert!(message.contains("`allowed_hosts`") && message.contains("evil.net"));
    }
}
