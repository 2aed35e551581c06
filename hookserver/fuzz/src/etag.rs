//! The ETag of a call and `If-None-Match` matching, on hostile headers and bodies.
//!
//! Input: byte 0 picks the hook kind; the bytes up to the first newline after it are the
//! `If-None-Match` header as a client sent it; the rest is the request body.

use axum::http::HeaderValue;
use hookserver::digest::Digest;
use hookserver::pipeline::etag_matches;
use hookserver::protocol::HookKind;

/// Checks the ETag of one call and the matching of one `If-None-Match` header against it.
pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let hook = HookKind::ALL[usize::from(selector) % HookKind::ALL.len()];
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (rest, &[][..]),
    };
    let version = Digest::of(b"fuzz version");
    let etag = Digest::of_call(&version, hook, body);
    let hex = etag.hex();

    // Stable: every replica and restart computes the same value.
    assert_eq!(etag, Digest::of_call(&version, hook, body));
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(etag.to_string(), format!("sha256:{hex}"));
    // The hook kind and the version are part of the call: a sync answer is never offered
    // for a finalize call, nor one version's answer for another's.
    for other in HookKind::ALL.into_iter().filter(|&kind| kind != hook) {
        assert_ne!(
            etag,
            Digest::of_call(&version, other, body),
            "{hook} vs {other}"
        );
    }
    assert_ne!(etag, Digest::of_call(&Digest::of(b"other"), hook, body));

    // The ETag header the server sends is a valid header value, and naming it matches.
    let sent = format!("\"{hex}\"");
    assert!(HeaderValue::from_str(&sent).is_ok(), "{sent}");
    for named in [sent.clone(), format!("W/{sent}"), hex.clone()] {
        assert!(etag_matches(&named, &etag), "{named}");
    }
    // A longer or shorter token is a different ETag, never a prefix match.
    assert!(!etag_matches(&format!("\"{hex}0\""), &etag));
    assert!(!etag_matches(&format!("\"{}\"", &hex[..63]), &etag));

    // The header as the server reads it (`to_str` drops non-visible-ASCII values).
    let Ok(value) = HeaderValue::from_bytes(header) else {
        return;
    };
    let Ok(text) = value.to_str() else {
        return;
    };
    let matched = etag_matches(text, &etag);
    if matched {
        assert!(text.contains(&hex), "{text:?} matched without naming {hex}");
    }
    // Whatever else a client lists, naming the ETag in the list matches.
    for named in [&sent, &format!("W/{sent}")] {
        assert!(etag_matches(&format!("{text}, {named}"), &etag), "{text:?}");
        assert!(etag_matches(&format!("{named},{text}"), &etag), "{text:?}");
    }
    // The answer depends on this call only: another body's ETag is not matched by a
    // header that does not name it.
    let other = Digest::of_call(&version, hook, &[body, &b" "[..]].concat());
    if !text.contains(&other.hex()) {
        assert!(!etag_matches(text, &other), "{text:?}");
    }
}
