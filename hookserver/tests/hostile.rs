//! Hostile and broken modules: each is stopped at its limit with the right error, and the
//! server keeps serving everyone else.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;

/// (hook, module, options, request, status, text the body must contain)
type Case = (
    &'static str,
    Vec<u8>,
    &'static str,
    &'static str,
    u16,
    &'static str,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "loop",
            wat_module("loop"),
            "timeout = \"300ms\"",
            COMPOSITE_WITH_CHILDREN,
            500,
            "hook \"loop\" sync timed out after 300ms",
        ),
        (
            "sleep",
            wat_module("sleep"),
            "timeout = \"300ms\"",
            COMPOSITE_WITH_CHILDREN,
            500,
            "timed out after 300ms",
        ),
        (
            "grow",
            wat_module("grow"),
            "memory = \"16Mi\"",
            COMPOSITE_WITH_CHILDREN,
            500,
            "exceeded its memory limit of 16MiB",
        ),
        (
            "flood",
            wat_module("flood"),
            "max-response = \"256Ki\"",
            COMPOSITE_WITH_CHILDREN,
            500,
            "wrote more than the response limit of 256KiB",
        ),
        (
            "trap",
            wat_module("trap"),
            "",
            COMPOSITE_WITH_CHILDREN,
            500,
            "trapped: wasm `unreachable` instruction executed",
        ),
        (
            "recurse",
            wat_module("recurse"),
            "",
            COMPOSITE_WITH_CHILDREN,
            500,
            "trapped: call stack exhausted",
        ),
        (
            "exit3",
            wat_module("exit3"),
            "",
            COMPOSITE_WITH_CHILDREN,
            500,
            "exited with code 3; stderr: boom: the parent has no spec",
        ),
        (
            "stderr-flood",
            wat_module("stderr-flood"),
            "max-stderr = \"4Ki\"",
            COMPOSITE_WITH_CHILDREN,
            500,
            "exited with code 1; stderr: …\u{fffd}\u{fffd}",
        ),
        (
            "no-children",
            printer(r#"{"status":{"ready":true}}"#),
            "",
            COMPOSITE_WITH_CHILDREN,
            500,
            "the response has no `children` although the controller declares child types",
        ),
        (
            "null-children",
            printer(r#"{"children":null}"#),
            "",
            COMPOSITE_WITH_CHILDREN,
            500,
            "has no `children`",
        ),
        (
            "not-json",
            printer("children: []"),
            "",
            COMPOSITE_WITH_CHILDREN,
            500,
            "stdout is not valid JSON",
        ),
        (
            "silent",
            printer(""),
            "",
            COMPOSITE_WITH_CHILDREN,
            500,
            "the hook wrote nothing to stdout",
        ),
        (
            "no-attachments",
            printer(r#"{"labels":{"a":"b"}}"#),
            "",
            DECORATOR_WITH_ATTACHMENTS,
            500,
            "has no `attachments`",
        ),
        (
            "typo-strict",
            printer(r#"{"children":[],"chidlren":[]}"#),
            "strict = true",
            COMPOSITE_WITH_CHILDREN,
            500,
            "strict: unknown top-level field `chidlren`",
        ),
        (
            "no-start",
            wat_module("no-start"),
            "",
            COMPOSITE_WITH_CHILDREN,
            503,
            "no `_start` export: build the hook as a WASI command",
        ),
        (
            "foreign-import",
            wat_module("foreign-import"),
            "",
            COMPOSITE_WITH_CHILDREN,
            503,
            "imports `env::host_call`, which the host does not provide",
        ),
        (
            "not-wasm",
            b"#!/bin/sh\necho '{}'\n".to_vec(),
            "",
            COMPOSITE_WITH_CHILDREN,
            503,
            "not a valid WebAssembly module",
        ),
    ]
}

#[test]
fn each_hostile_module_gets_the_right_error() {
    let modules = ModuleDir::new();
    let cases = cases();
    for (name, module, options, ..) in &cases {
        modules.put(name, module);
        if !options.is_empty() {
            modules.put_options(name, options);
        }
    }
    let server = Server::start(&modules, &[]);
    for (name, _, _, request, status, reason) in &cases {
        let response = server.post(&format!("/hooks/{name}/sync"), request);
        assert_eq!(response.status(), *status, "{name}");
        let body = response.text().expect("body");
        assert!(body.contains(reason), "{name}: {body:?} lacks {reason:?}");
    }
    let stderr_flood = server
        .post("/hooks/stderr-flood/sync", COMPOSITE_WITH_CHILDREN)
        .text()
        .expect("body");
    assert!(
        stderr_flood.trim_end().ends_with("last words"),
        "{stderr_flood}"
    );
    assert!(
        stderr_flood.len() < 2048,
        "error bodies stay short: {}",
        stderr_flood.len()
    );

    // Modules that never loaded are listed as failed with their reason.
    let failed = server.hook_status("foreign-import").expect("listed");
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["lastError"]["message"]
            .as_str()
            .expect("message")
            .contains("env::host_call")
    );

    // The same output is fine where it is safe: a decorator without attachment types may
    // answer labels only, and loose mode lets an unknown field through.
    assert_eq!(
        server
            .post("/hooks/no-attachments/sync", DECORATOR_NO_ATTACHMENTS)
            .status(),
        200
    );
    modules.put_options("typo-strict", "strict = false");
    wait_for("strict to be switched off", || {
        server
            .hook_status("typo-strict")
            .is_some_and(|s| s["options"]["strict"] == false)
    });
    assert_eq!(
        server
            .post("/hooks/typo-strict/sync", COMPOSITE_WITH_CHILDREN)
            .status(),
        200
    );
}

#[test]
fn a_good_hook_keeps_answering_while_bad_ones_loop() {
    let modules = ModuleDir::new();
    modules.put("hello-world", &example_hook("hello-world"));
    modules.put("loop", &wat_module("loop"));
    modules.put_options("loop", "timeout = \"3s\"");
    modules.put("sleep", &wat_module("sleep"));
    modules.put_options("sleep", "timeout = \"3s\"");
    let server = Server::start(&modules, &[]);
    let bad_done = AtomicUsize::new(0);

    std::thread::scope(|scope| {
        let mut bad = Vec::new();
        for i in 0..4 {
            let (server, bad_done) = (&server, &bad_done);
            let hook = if i % 2 == 0 { "loop" } else { "sleep" };
            bad.push(scope.spawn(move || {
                let response = server.post(&format!("/hooks/{hook}/sync"), COMPOSITE_WITH_CHILDREN);
                bad_done.fetch_add(1, Ordering::SeqCst);
                response.status()
            }));
        }
        wait_for("the bad hooks to be running", || {
            server.metric(r#"hookserver_instantiations_total{hook="loop"}"#) == 2.0
                && server.metric(r#"hookserver_instantiations_total{hook="sleep"}"#) == 2.0
        });
        let request = hello_request("sync");
        for i in 0..20 {
            // Different bodies, so the response cache cannot answer.
            let body = request.replace("Your Name", &format!("Visitor {i}"));
            let response = server.post("/hooks/hello-world/sync", &body);
            assert_eq!(response.status(), 200);
        }
        assert_eq!(
            bad_done.load(Ordering::SeqCst),
            0,
            "the good hook answered 20 times while every bad call was still running"
        );
        for handle in bad {
            assert_eq!(handle.join().expect("bad call"), 500);
        }
    });

    // And afterwards: nothing is left running, and everyone is served.
    let loop_status = server.hook_status("loop").expect("listed");
    assert_eq!(loop_status["running"], 0);
    assert_eq!(
        server
            .post("/hooks/hello-world/sync", &hello_request("sync"))
            .status(),
        200
    );
    assert_eq!(server.get("/healthz").status(), 200);
}
