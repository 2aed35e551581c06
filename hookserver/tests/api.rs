//! The HTTP API over a real socket: every hook kind, ETag, and every error row.

mod common;

use common::*;
use serde_json::Value;

fn hello_server(extra_args: &[&str]) -> (ModuleDir, Server) {
    let modules = ModuleDir::new();
    modules.put("hello-world", &example_hook("hello-world"));
    let server = Server::start(&modules, extra_args);
    (modules, server)
}

#[test]
fn sync_finalize_and_customize_answer_through_the_server() {
    let (_modules, server) = hello_server(&[]);

    let response = server.post("/hooks/hello-world/sync", &hello_request("sync"));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["children"][0]["kind"], "Pod");
    assert_eq!(
        body["children"][0]["spec"]["containers"][0]["command"][1],
        "Hello, Your Name!"
    );

    let response = server.post("/hooks/hello-world/finalize", &hello_request("finalize"));
    assert_eq!(response.status(), 200);
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["finalized"], false, "a Pod still exists: {body}");
    assert_eq!(body["children"], serde_json::json!([]));

    let response = server.post("/hooks/hello-world/customize", &hello_request("customize"));
    assert_eq!(response.status(), 200);
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["relatedResources"], serde_json::json!([]));
}

#[test]
fn etag_round_trip_answers_304_without_running_the_hook() {
    let (_modules, server) = hello_server(&[]);
    let request = hello_request("sync");
    let first = server.post("/hooks/hello-world/sync", &request);
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().expect("ascii").to_string();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");

    let instantiations = r#"hookserver_instantiations_total{hook="hello-world"}"#;
    let before = server.metric(instantiations);
    let again = server.post_with(
        "/hooks/hello-world/sync",
        &request,
        &[
            ("content-type", "application/json"),
            ("if-none-match", &etag),
        ],
    );
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.text().expect("body").is_empty());
    assert_eq!(
        server.metric(instantiations),
        before,
        "304 must not run the hook"
    );

    // Same ETag, different request: the client's copy is stale, so the hook runs.
    let changed = request.replace("Your Name", "Someone Else");
    let fresh = server.post_with(
        "/hooks/hello-world/sync",
        &changed,
        &[
            ("content-type", "application/json"),
            ("if-none-match", &etag),
        ],
    );
    assert_eq!(fresh.status(), 200);
    assert_ne!(fresh.headers()["etag"], etag.as_str());
}

#[test]
fn identical_requests_are_answered_from_the_response_cache() {
    let (_modules, server) = hello_server(&[]);
    let request = hello_request("sync");
    let first = server
        .post("/hooks/hello-world/sync", &request)
        .text()
        .expect("body");
    let second = server
        .post("/hooks/hello-world/sync", &request)
        .text()
        .expect("body");
    assert_eq!(first, second);
    assert_eq!(
        server.metric(r#"hookserver_instantiations_total{hook="hello-world"}"#),
        1.0
    );
    assert_eq!(
        server.metric(r#"hookserver_response_cache_lookups_total{result="hit"}"#),
        1.0
    );
}

/// One row per error the API can answer before or around a hook: status and a body that
/// says what was wrong.
#[test]
fn every_request_error_has_its_status_and_a_reason() {
    let (modules, server) = hello_server(&[]);
    modules.put("tiny-requests", &example_hook("hello-world"));
    modules.put_options("tiny-requests", "max-request = \"1Ki\"");
    server.wait_for_module("tiny-requests", &example_hook("hello-world"));
    let sync = hello_request("sync");
    let json = [("content-type", "application/json")];

    let cases: Vec<(&str, reqwest::blocking::Response, u16, &str)> = vec![
        (
            "unknown hook name",
            server.post("/hooks/nope/sync", &sync),
            404,
            "no hook named \"nope\"",
        ),
        (
            "unknown hook kind",
            server.post("/hooks/hello-world/reconcile", &sync),
            404,
            "unknown hook \"reconcile\"",
        ),
        (
            "unknown path",
            server.post("/sync", &sync),
            404,
            "no route for POST /sync",
        ),
        (
            "no content type",
            server.post_with("/hooks/hello-world/sync", &sync, &[]),
            415,
            "unsupported content type (none)",
        ),
        (
            "form content type",
            server.post_with(
                "/hooks/hello-world/sync",
                &sync,
                &[("content-type", "application/x-www-form-urlencoded")],
            ),
            415,
            "send the request as Content-Type: application/json",
        ),
        (
            "invalid JSON",
            server.post_with("/hooks/hello-world/sync", "{\"parent\":", &json),
            400,
            "request body is not valid JSON",
        ),
        (
            "not an object",
            server.post_with("/hooks/hello-world/sync", "[1,2]", &json),
            400,
            "must be a JSON object",
        ),
        (
            "neither parent nor object",
            server.post_with("/hooks/hello-world/sync", "{\"controller\":{}}", &json),
            400,
            "must have a `parent` (CompositeController) or an `object`",
        ),
        (
            "children not a map",
            server.post_with(
                "/hooks/hello-world/sync",
                "{\"parent\":{},\"children\":[]}",
                &json,
            ),
            400,
            "`children` must be an object keyed by Kind.version",
        ),
        (
            "body over the hook's limit",
            server.post("/hooks/tiny-requests/sync", &sync),
            413,
            "exceeds the limit of 1KiB",
        ),
        (
            "hook failure",
            server.post_with("/hooks/hello-world/sync", "{\"parent\":{}}", &json),
            500,
            "exited with code 1; stderr: hello-world: `parent.metadata.name` is missing",
        ),
    ];
    for (what, response, status, reason) in cases {
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8",
            "{what}"
        );
        let body = response.text().expect("body");
        assert!(body.contains(reason), "{what}: {body:?} lacks {reason:?}");
    }

    let wrong_method = server.get("/hooks/hello-world/sync");
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "POST");
}

#[test]
fn a_full_queue_answers_429_with_retry_after() {
    let modules = ModuleDir::new();
    // Busy for a second, then answers: one runs, one waits, the next is refused.
    modules.put("sleepy", &wat_module("spin"));
    modules.put_options("sleepy", "max-instances = 1");
    let server = Server::start(&modules, &["--queue-depth", "1"]);

    std::thread::scope(|scope| {
        let running = scope.spawn(|| server.post("/hooks/sleepy/sync", COMPOSITE_WITH_CHILDREN));
        wait_for("the first call to start", || {
            server.metric(r#"hookserver_instantiations_total{hook="sleepy"}"#) == 1.0
        });
        let queued = scope.spawn(|| server.post("/hooks/sleepy/sync", COMPOSITE_WITH_CHILDREN));
        wait_for("the second call to queue", || {
            server
                .hook_status("sleepy")
                .is_some_and(|s| s["waiting"] == 1)
        });

        let refused = server.post("/hooks/sleepy/sync", COMPOSITE_WITH_CHILDREN);
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()["retry-after"], "1");
        assert!(
            refused
                .text()
                .expect("body")
                .contains("is busy: no instance became free within its timeout")
        );
        assert_eq!(
            server.metric(r#"hookserver_overloaded_total{hook="sleepy"}"#),
            1.0
        );

        assert_eq!(running.join().expect("first call").status(), 200);
        // The queued call ran once the first one's slot was freed.
        assert_eq!(queued.join().expect("queued call").status(), 200);
    });
}

#[test]
fn status_endpoints_describe_the_server() {
    let (_modules, server) = hello_server(&[]);
    assert_eq!(server.get("/healthz").status(), 200);
    assert_eq!(server.get("/readyz").status(), 200);

    let hello = server.hook_status("hello-world").expect("listed");
    assert_eq!(hello["state"], "ready");
    assert_eq!(
        hello["digest"],
        format!("sha256:{}", digest(&example_hook("hello-world")))
    );
    assert_eq!(hello["options"]["limits"]["timeout"], "5s");
    assert_eq!(hello["lastError"], Value::Null);

    server.post("/hooks/hello-world/sync", &hello_request("sync"));
    let metrics = server.get("/metrics").text().expect("metrics");
    for family in [
        "hookserver_requests_total{hook=\"hello-world\",kind=\"sync\",code=\"200\"} 1",
        "hookserver_request_duration_seconds_count{hook=\"hello-world\",kind=\"sync\"} 1",
        "hookserver_module_cache_lookups_total{result=\"compiled\"} 1",
        "hookserver_compile_duration_seconds_count 1",
        "hookserver_hooks{state=\"ready\"} 1",
    ] {
        assert!(metrics.contains(family), "missing {family:?} in\n{metrics}");
    }
}

#[test]
fn sigterm_finishes_in_flight_requests_then_exits_cleanly() {
    let modules = ModuleDir::new();
    modules.put("spin", &wat_module("spin"));
    let server = Server::start(&modules, &[]);
    let url = server.url.clone();

    std::thread::scope(|scope| {
        let in_flight = scope.spawn(|| server.post("/hooks/spin/sync", COMPOSITE_WITH_CHILDREN));
        wait_for("the call to start", || {
            server.metric(r#"hookserver_instantiations_total{hook="spin"}"#) == 1.0
        });
        terminate(server.pid());
        let response = in_flight.join().expect("in-flight call");
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().expect("body"), "{\"children\":[]}");
    });
    assert_eq!(server.wait_exit(), Some(0));
    let refused = reqwest::blocking::Client::new()
        .post(format!("{url}/hooks/spin/sync"))
        .send();
    assert!(refused.is_err(), "no new connections after shutdown");
}
