//! The web page's files, embedded in the binary at build time
//! (`src/server/web/`): what each is called on the wire, its content type
//! and its ETag. The page needs nothing else: no build step, no CDN, and it
//! fetches only this service's own API. Served by
//! [`routes::page`](super::routes::web).

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The file name under `/ui/` (`index.html` is also `/`).
    pub name: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
    /// A strong ETag: `"` + the first 16 hex digits of its SHA-256 + `"`.
    pub etag: String,
}

/// The page itself, served at `/`.
pub const INDEX: &str = "index.html";

const FILES: [(&str, &str, &[u8]); 4] = [
    (
        INDEX,
        "text/html; charset=utf-8",
        include_bytes!("web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("web/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("web/style.css"),
    ),
    ("icon.svg", "image/svg+xml", include_bytes!("web/icon.svg")),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, body)| {
            let digest = Sha256::digest(body);
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            Asset {
                name,
                content_type,
                body,
                etag: format!("\"{hex}\""),
            }
        })
        .collect()
});

/// The embedded file called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// Every embedded file.
pub fn all() -> &'static [Asset] {
    &ASSETS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_found_by_name_with_a_distinct_strong_etag() {
        let mut etags: Vec<&str> = all().iter().map(|a| a.etag.as_str()).collect();
        etags.sort_unstable();
        etags.dedup();
        assert_eq!(etags.len(), FILES.len());
        for (name, ..) in FILES {
            let a = find(name).unwrap();
            assert!(!a.body.is_empty(), "{name}");
            assert!(a.etag.starts_with('"') && a.etag.len() == 18, "{name}");
        }
        assert!(find("nope.js").is_none());
    }

    #[test]
    fn the_page_loads_only_its_own_files_and_no_inline_code() {
        let html = std::str::from_utf8(find(INDEX).unwrap().body).unwrap();
        for name in ["app.js", "style.css", "icon.svg"] {
            assert!(html.contains(&format!("/ui/{name}")), "{name}");
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>") && !html.contains("style="));
    }
}
