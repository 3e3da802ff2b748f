//! The web door: the browser client, served from files embedded in the
//! binary (`assets/`), so `banterd` alone is all there is to run. The page
//! speaks banter/1 over `/ws` like any other JSON client; this module only
//! serves its files.
//!
//! Every file is answered with a strong `ETag` (a hash of its bytes) and
//! `Cache-Control: no-cache`, so a browser revalidates and gets
//! `304 Not Modified` until the binary changes. Every answer carries a strict
//! `Content-Security-Policy`: scripts, styles and images only from this
//! server, no inline script or style, no plugins, no framing, and
//! connections only back to this server (its `ws`/`wss` included), so text
//! that slipped into the page as markup still could not run or send
//! anything elsewhere.

use std::hash::{DefaultHasher, Hasher};
use std::sync::LazyLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
struct Asset {
    /// The URL path it is served at.
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("assets/index.html"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/style.css"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/app.js"),
    },
    Asset {
        path: "/protocol.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/protocol.js"),
    },
    Asset {
        path: "/commands.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/commands.js"),
    },
    Asset {
        path: "/view.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/view.js"),
    },
    Asset {
        path: "/icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("assets/icon.svg"),
    },
];

/// The entity tag of each asset, in the order of [`ASSETS`]: computed once.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let mut hasher = DefaultHasher::new();
            hasher.write(asset.body.as_bytes());
            HeaderValue::from_str(&format!("\"{:016x}\"", hasher.finish()))
                .expect("hex is a valid header value")
        })
        .collect()
});

/// The routes of the page's files, for the HTTP listener to merge.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS
        .iter()
        .enumerate()
        .fold(Router::new(), |router, (index, asset)| {
            router.route(
                asset.path,
                get(move |headers: HeaderMap| async move { serve(index, &headers) }),
            )
        })
}

fn serve(index: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[index];
    let etag = &ETAGS[index];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| matches_etag(tags, etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.body.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if !fresh {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        content_security_policy(request),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `If-None-Match`: `*`, or a comma-separated list holding our tag (a weak
/// `W/` form of it matches too, as RFC 9110 asks for this header).
fn matches_etag(tags: &str, etag: &HeaderValue) -> bool {
    let ours = etag.to_str().unwrap_or_default();
    tags.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag == ours || tag.strip_prefix("W/").is_some_and(|weak| weak == ours)
    })
}

/// The policy, with this server's own `ws:` and `wss:` origins named when the
/// `Host` header is a plain host and port (older browsers do not count them
/// in `'self'`). Anything else in `Host` is left out rather than echoed.
fn content_security_policy(request: &HeaderMap) -> HeaderValue {
    let host = request
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let sockets = host
        .map(|host| format!(" ws://{host} wss://{host}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'{sockets}; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy holds only header-safe characters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_a_star() {
        let etag = HeaderValue::from_static("\"0123\"");
        assert!(matches_etag("\"0123\"", &etag));
        assert!(matches_etag("\"9\", W/\"0123\"", &etag));
        assert!(matches_etag("*", &etag));
        assert!(!matches_etag("\"0124\"", &etag));
        assert!(!matches_etag("", &etag));
    }

    #[test]
    fn the_policy_names_only_a_well_formed_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        let policy = content_security_policy(&headers);
        let policy = policy.to_str().unwrap();
        assert!(policy.contains("connect-src 'self' ws://127.0.0.1:8081 wss://127.0.0.1:8081;"));
        assert!(policy.contains("script-src 'self';"));
        headers.insert(header::HOST, HeaderValue::from_static("evil; script-src *"));
        let policy = content_security_policy(&headers);
        assert!(policy.to_str().unwrap().contains("connect-src 'self';"));
    }

    #[test]
    fn every_asset_has_its_own_tag() {
        let mut tags: Vec<_> = ETAGS.iter().collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
    }
}
