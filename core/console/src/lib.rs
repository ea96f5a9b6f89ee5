//! The Omni-Chat web console as data: every file under `assets/`, embedded
//! at build time (`build.rs` writes the table), so the binary serves the
//! console with no files beside it and building needs no Node toolchain.
//!
//! This crate knows nothing about HTTP servers or the rest of omnigate: the
//! api crate looks assets up here and serves them. The console itself is
//! plain ES modules and CSS talking only to the JSON API and the live event
//! WebSocket.

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its path under `assets/`, such as `js/app.js`.
    pub path: &'static str,
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    /// A strong ETag (quoted) derived from the content.
    pub etag: &'static str,
    /// The content.
    pub bytes: &'static [u8],
}

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The `Content-Security-Policy` of the console's pages: scripts, styles
/// and connections only from the console's own origin (no inline script or
/// style), media also from `blob:` for previews, images also from `blob:`,
/// `data:` and any https host (a shop's product pictures live on its own
/// image host, which no fixed list can name; an image runs no code), no
/// framing, no `<base>`, forms only to itself.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data: https:; media-src 'self' blob:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

/// The paths the console's client-side router handles; each is answered
/// with [`index`] so a reload or a bookmark lands on the right screen.
/// A `{id}` segment stands for a conversation id.
pub const PAGES: [&str; 11] = [
    "/",
    "/login",
    "/inbox",
    "/conversations/{id}",
    "/history",
    "/supervisor",
    "/admin",
    "/admin/channels",
    "/admin/flows",
    "/admin/shops",
    "/admin/plugins",
];

/// The asset at `path` (relative to `assets/`, without a leading slash).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The page every console route answers with.
pub fn index() -> &'static Asset {
    asset("index.html").expect("assets/index.html is embedded")
}

/// Every embedded asset, sorted by path.
pub fn all() -> &'static [Asset] {
    ASSETS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_type_and_a_distinct_etag() {
        assert!(
            all().len() >= 3,
            "{:?}",
            all().iter().map(|a| a.path).collect::<Vec<_>>()
        );
        let mut etags: Vec<_> = all().iter().map(|a| a.etag).collect();
        etags.sort_unstable();
        etags.dedup();
        assert_eq!(etags.len(), all().len());
        assert!(index().content_type.starts_with("text/html"));
    }

    #[test]
    fn the_page_loads_only_external_scripts_and_styles() {
        let html = std::str::from_utf8(index().bytes).unwrap();
        assert!(html.contains("<script type=\"module\" src=\"/assets/"));
        for forbidden in ["<style", "style=", "onclick", "onload", "javascript:"] {
            assert!(!html.contains(forbidden), "index.html contains {forbidden}");
        }
        for inline in html.split("<script").skip(1) {
            let (tag, rest) = inline.split_once('>').unwrap();
            assert!(tag.contains("src="), "inline script in index.html");
            assert!(rest.starts_with("</script>"), "inline script in index.html");
        }
    }

    #[test]
    fn scripts_never_write_html() {
        for asset in all().iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.bytes).unwrap();
            for forbidden in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!text.contains(forbidden), "{} uses {forbidden}", asset.path);
            }
        }
    }
}
