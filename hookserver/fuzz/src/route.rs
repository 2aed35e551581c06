//! Routing and request parsing: one HTTP request through the real router, in process, with
//! a registry serving two copies of a tiny echo hook (its stdout is its stdin):
//!
//! - `echo`: loose output checks, `max-request` 256Ki;
//! - `echo-strict`: strict output checks, `max-request` 2Ki.
//!
//! Input is the request as text, close to HTTP/1.1:
//!
//! ```text
//! POST /hooks/echo/sync
//! content-type: application/json
//! if-none-match: "..."
//!
//! {"parent": {}}
//! ```
//!
//! The first line is `METHOD URI` (or just a URI, for `POST`), then `name: value` headers,
//! an empty line and the body. Lines a real server would refuse to parse are dropped, and a
//! `content-length` line gets the body's true length, as hyper frames a body before any
//! handler sees it.
//!
//! Each answer is compared with what the request path promises: the status follows from the
//! first check that fails (kind, name, content type, size, ETag, request shape, output guard); a
//! 200 is the hook's output with the ETag of this call, which a repeated call with
//! `If-None-Match` answers with 304 and a repeated call without it answers from the cache.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use hookserver::admission::Admission;
use hookserver::digest::Digest;
use hookserver::engine::{Runtime, RuntimeConfig};
use hookserver::http::{App, router};
use hookserver::metrics::Metrics;
use hookserver::module_cache::{MemoryTier, ModuleCache};
use hookserver::options::{HookOptions, Limits};
use hookserver::pipeline::etag_matches;
use hookserver::protocol::{HookKind, RequestShape, check_output};
use hookserver::registry::{HookVersion, Lookup, Readiness, Registry};
use hookserver::response_cache::ResponseCache;
use hookserver::source::{Artifact, SourceEvent};

/// The hooks served: name, options.
const HOOKS: [(&str, &[(&str, &str)]); 2] = [
    ("echo", &[("max-request", "256Ki")]),
    ("echo-strict", &[("max-request", "2Ki"), ("strict", "true")]),
];

/// A WASI command that copies stdin to stdout (up to 1 MiB, more than any `max-request`
/// above), so the output guard sees exactly the request body.
const ECHO_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (func (export "_start")
    (local $len i32) (local $done i32)
    ;; iovec at 0 (buffer, length), count at 8, data from 1024.
    (block $eof
      (loop $read
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $len)))
        (i32.store (i32.const 4) (i32.sub (i32.const 1048576) (local.get $len)))
        (br_if $eof (i32.eqz (i32.load (i32.const 4))))
        (br_if $eof (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $eof (i32.eqz (i32.load (i32.const 8))))
        (local.set $len (i32.add (local.get $len) (i32.load (i32.const 8))))
        (br $read)))
    (block $written
      (loop $write
        (br_if $written (i32.ge_u (local.get $done) (local.get $len)))
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $done)))
        (i32.store (i32.const 4) (i32.sub (local.get $len) (local.get $done)))
        (br_if $written
          (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $done (i32.add (local.get $done) (i32.load (i32.const 8))))
        (br $write)))))"#;

/// Sends one request (and, after a 200, its repeats) and checks every answer.
pub fn run(data: &[u8]) {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let harness = harness();
    harness.runtime.block_on(check(harness, &input));
}

/// The server, built once per process.
struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    registry: Arc<Registry>,
    /// Keeps the registry's event loop alive.
    _events: tokio::sync::mpsc::Sender<SourceEvent>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| Harness::start().unwrap_or_else(|err| panic!("{err}")))
}

impl Harness {
    fn start() -> Result<Harness, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| format!("cannot start a tokio runtime: {err}"))?;
        let (router, registry, events) = runtime.block_on(Self::serve())?;
        Ok(Harness {
            runtime,
            router,
            registry,
            _events: events,
        })
    }

    async fn serve() -> Result<
        (
            Router,
            Arc<Registry>,
            tokio::sync::mpsc::Sender<SourceEvent>,
        ),
        String,
    > {
        let wasm = Runtime::new(&RuntimeConfig::new(4)).map_err(|e| e.to_string())?;
        let metrics = Arc::new(Metrics::default());
        let tier = MemoryTier {
            capacity: 64 << 20,
            idle: Duration::from_secs(3600),
        };
        let modules = ModuleCache::new(wasm.clone(), tier, None, metrics.clone());
        let readiness = Arc::new(Readiness::default());
        let registry = Arc::new(Registry::new(
            Arc::new(modules),
            metrics.clone(),
            readiness.clone(),
            64,
        ));
        let (events, inbox) = tokio::sync::mpsc::channel(8);
        tokio::spawn(registry.clone().run(inbox));

        let echo = wat::parse_str(ECHO_WAT).map_err(|e| format!("echo hook: {e}"))?;
        for (name, overrides) in HOOKS {
            let options = HookOptions::with_defaults(Limits::default())
                .with_overrides(overrides.iter().copied())
                .map_err(|e| format!("{name}: {e}"))?;
            let event = SourceEvent::Upsert {
                source: Arc::from("fuzz"),
                name: name.to_string(),
                origin: "fuzz".to_string(),
                artifact: Artifact::Module(echo.clone()),
                options,
            };
            events
                .send(event)
                .await
                .map_err(|_| "the registry stopped".to_string())?;
        }
        for (name, _) in HOOKS {
            let mut waited = Duration::ZERO;
            loop {
                match registry.lookup(name) {
                    Lookup::Serving(_) => break,
                    Lookup::Failed(reason) => return Err(format!("{name} did not load: {reason}")),
                    Lookup::Loading | Lookup::Missing if waited < Duration::from_secs(60) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        waited += Duration::from_millis(10);
                    }
                    _ => return Err(format!("{name} was not loaded within 60s")),
                }
            }
        }

        // As the server does once it listens: `/readyz` answers 200 (no source to wait for).
        readiness.set_listening();
        let app = Arc::new(App {
            runtime: wasm,
            registry: registry.clone(),
            // Small, so that eviction runs too.
            responses: ResponseCache::new(1 << 20, Duration::from_secs(3600)),
            pool: Arc::new(Admission::new(4, usize::MAX)),
            metrics,
            readiness,
        });
        Ok((router(app), registry, events))
    }

    fn version(&self, name: &str) -> Option<Arc<HookVersion>> {
        match self.registry.lookup(name) {
            Lookup::Serving(version) => Some(version),
            _ => None,
        }
    }
}

/// One request, decoded from the fuzzer's bytes.
struct Input {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Input {
    fn parse(data: &[u8]) -> Option<Input> {
        let (head, body) = match data.windows(2).position(|pair| pair == b"\n\n") {
            Some(end) => (&data[..end], &data[end + 2..]),
            None => (data, &[][..]),
        };
        let mut lines = head.split(|&b| b == b'\n');
        let request_line = lines.next()?;
        let (method, target) = match request_line.iter().position(|&b| b == b' ') {
            Some(space) => (
                Method::from_bytes(&request_line[..space]).ok()?,
                &request_line[space + 1..],
            ),
            None => (Method::POST, request_line),
        };
        let uri = Uri::try_from(target).ok()?;
        let mut headers = HeaderMap::new();
        let mut framed = false;
        for line in lines {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let Ok(name) = HeaderName::from_bytes(line[..colon].trim_ascii()) else {
                continue;
            };
            let Ok(value) = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()) else {
                continue;
            };
            if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
                framed = true;
                continue;
            }
            headers.append(name, value);
        }
        if framed {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        Some(Input {
            method,
            uri,
            headers,
            body: Bytes::copy_from_slice(body),
        })
    }
}

/// An answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn send(harness: &Harness, input: &Input, if_none_match: Option<&str>) -> Answer {
    let mut request = Request::new(Body::from(input.body.clone()));
    *request.method_mut() = input.method.clone();
    *request.uri_mut() = input.uri.clone();
    *request.headers_mut() = input.headers.clone();
    if let Some(etag) = if_none_match {
        let value = HeaderValue::from_str(etag).expect("an ETag the server sent is a header value");
        request.headers_mut().insert(header::IF_NONE_MATCH, value);
    }
    let response = match harness.router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .expect("a response body is in memory")
        .to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

async fn check(harness: &Harness, input: &Input) {
    let answer = send(harness, input, None).await;
    let shown = || {
        format!(
            "{} {} -> {} {:?}",
            input.method,
            input.uri,
            answer.status,
            String::from_utf8_lossy(&answer.body)
        )
    };
    // Every status the API documents, less those this setup cannot cause (429: one request
    // at a time; 503: both hooks are loaded).
    let documented = [200, 304, 400, 404, 405, 413, 415, 500];
    assert!(
        documented.contains(&answer.status.as_u16()),
        "undocumented status: {}",
        shown()
    );

    let Some(call) = HookCall::of(input) else {
        return;
    };
    if answer.status != StatusCode::OK && answer.status != StatusCode::NOT_MODIFIED {
        // Every refusal is one line of plain text that metacontroller can quote.
        assert_eq!(
            answer.headers.get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("text/plain; charset=utf-8")),
            "{}",
            shown()
        );
        assert!(answer.body.ends_with(b"\n"), "{}", shown());
    }
    let expected = expect(harness, input, &call);
    match expected {
        Expect::Status(status) => assert_eq!(answer.status, status, "{}", shown()),
        Expect::Hook {
            version,
            hook,
            shape,
        } => {
            let etag = Digest::of_call(&version.fingerprint, hook, &input.body);
            let header = format!("\"{}\"", etag.hex());
            let named = input
                .headers
                .get(header::IF_NONE_MATCH)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| etag_matches(value, &etag));
            let accepted = check_output(shape, version.options.strict, &input.body).is_ok();
            let status = match (named, accepted) {
                (true, _) => StatusCode::NOT_MODIFIED,
                (false, true) => StatusCode::OK,
                (false, false) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            assert_eq!(answer.status, status, "{}", shown());
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                assert_eq!(answer.headers.get(header::ETAG), None, "{}", shown());
                return;
            }
            assert_eq!(
                answer.headers.get(header::ETAG).map(HeaderValue::as_bytes),
                Some(header.as_bytes()),
                "{}",
                shown()
            );
            if status == StatusCode::NOT_MODIFIED {
                assert!(answer.body.is_empty(), "{}", shown());
                return;
            }
            assert_eq!(
                answer.headers.get(header::CONTENT_TYPE),
                Some(&HeaderValue::from_static("application/json")),
                "{}",
                shown()
            );
            assert_eq!(answer.body, input.body, "the echo hook's answer, unchanged");

            // The client's copy is current: 304, nothing runs.
            let again = send(harness, input, Some(&header)).await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{}", shown());
            assert!(again.body.is_empty());
            assert_eq!(
                again.headers.get(header::ETAG).map(HeaderValue::as_bytes),
                Some(header.as_bytes())
            );
            // No ETag sent this time: the same answer (from the response cache).
            let mut plain = Input {
                method: input.method.clone(),
                uri: input.uri.clone(),
                headers: input.headers.clone(),
                body: input.body.clone(),
            };
            plain.headers.remove(header::IF_NONE_MATCH);
            let repeat = send(harness, &plain, None).await;
            assert_eq!(repeat.status, StatusCode::OK, "{}", shown());
            assert_eq!(repeat.body, answer.body);
            assert_eq!(
                repeat.headers.get(header::ETAG),
                answer.headers.get(header::ETAG)
            );
        }
    }
}

/// A request for `POST /hooks/{name}/{hook}`, with both segments as sent (still encoded).
struct HookCall {
    name: String,
    hook: String,
}

impl HookCall {
    fn of(input: &Input) -> Option<HookCall> {
        if input.method != Method::POST {
            return None;
        }
        let mut segments = input.uri.path().strip_prefix("/hooks/")?.split('/');
        let (name, hook) = (segments.next()?, segments.next()?);
        if segments.next().is_some() || name.is_empty() || hook.is_empty() {
            return None;
        }
        Some(HookCall {
            name: name.to_string(),
            hook: hook.to_string(),
        })
    }
}

/// What the request path must answer.
enum Expect {
    Status(StatusCode),
    /// The request reaches the pipeline: 304, or the echo hook runs and its output is
    /// checked.
    Hook {
        version: Arc<HookVersion>,
        hook: HookKind,
        shape: RequestShape,
    },
}

/// The checks of `POST /hooks/{name}/{hook}` in the documented order; the first that fails
/// decides the status.
fn expect(harness: &Harness, input: &Input, call: &HookCall) -> Expect {
    let (Some(name), Some(kind)) = (percent_decode(&call.name), percent_decode(&call.hook)) else {
        return Expect::Status(StatusCode::BAD_REQUEST);
    };
    let Ok(hook) = kind.parse::<HookKind>() else {
        return Expect::Status(StatusCode::NOT_FOUND);
    };
    let Some(version) = harness.version(&name) else {
        return Expect::Status(StatusCode::NOT_FOUND);
    };
    if !is_json(&input.headers) {
        return Expect::Status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    if input.body.len() as u64 > version.options.limits.max_request {
        return Expect::Status(StatusCode::PAYLOAD_TOO_LARGE);
    }
    match RequestShape::inspect(hook, &input.body) {
        // The ETag is checked before the body: a client naming this call's ETag has the
        // answer for these exact bytes already.
        Err(_) if names_etag(input, &version, hook) => Expect::Status(StatusCode::NOT_MODIFIED),
        Err(_) => Expect::Status(StatusCode::BAD_REQUEST),
        Ok(shape) => Expect::Hook {
            version,
            hook,
            shape,
        },
    }
}

/// Whether the request's `If-None-Match` names the ETag of this call.
fn names_etag(input: &Input, version: &HookVersion, hook: HookKind) -> bool {
    let etag = Digest::of_call(&version.fingerprint, hook, &input.body);
    input
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| etag_matches(value, &etag))
}

/// `application/json` or any `*/*+json`, parameters ignored, case-insensitive.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let value = String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase();
    let media_type = value.split(';').next().unwrap_or_default().trim();
    media_type == "application/json" || media_type.ends_with("+json")
}

/// A path segment as a router decodes it: `%XX` escapes to bytes (a `%` not followed by two
/// hex digits stays), and the result must be UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) if hex(high).is_some() && hex(low).is_some() => {
                let value = hex(high).unwrap_or(0) * 16 + hex(low).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(0));
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
