//! The adapter's contract, script by script (tests/scripts): what a nodejs-server hook
//! answers, and how each way of failing is reported.

use std::path::PathBuf;

use js_adapter::{Error, Hook, Invocation};

const REQUEST: &str = r#"{
  "controller": {"kind": "CompositeController"},
  "parent": {"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "web"}, "spec": {}},
  "children": {"ConfigMap.v1": {}},
  "related": {},
  "finalizing": false
}"#;

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name)
}

fn invocation(hook: Hook, name: &str) -> Invocation {
    Invocation {
        name: "test".to_string(),
        hook,
        script: script(name),
    }
}

/// Runs `sync` with `request`; the response as text, or the error message.
fn sync_with(name: &str, request: &str) -> Result<String, Error> {
    js_adapter::run(&invocation(Hook::Sync, name), request.as_bytes())
        .map(|response| response.expect("sync answers"))
}

fn sync(name: &str) -> Result<String, Error> {
    sync_with(name, REQUEST)
}

fn check(name: &str) -> Result<(), Error> {
    js_adapter::run(&invocation(Hook::Check, name), b"").map(|response| assert!(response.is_none()))
}

#[track_caller]
fn failure(result: Result<String, Error>) -> (Error, String) {
    let err = result.expect_err("the call fails");
    let text = err.to_string();
    (err, text)
}

#[test]
fn the_export_gets_the_parsed_body() {
    assert_eq!(
        sync("echo.js").unwrap(),
        r#"{"children":[],"status":{"seen":"web"}}"#
    );
}

#[test]
fn async_functions_are_awaited() {
    assert_eq!(
        sync("async.js").unwrap(),
        r#"{"children":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"}}]}"#
    );
}

#[test]
fn explicit_promises_resolve_through_the_job_queue_and_see_the_context() {
    for hook in [Hook::Sync, Hook::Finalize, Hook::Customize] {
        let response =
            js_adapter::run(&invocation(hook, "promise.js"), REQUEST.as_bytes()).unwrap();
        assert_eq!(
            response.unwrap(),
            format!(
                r#"{{"children":[],"status":{{"method":"POST","url":"/hooks/test/{hook}","contentType":"application/json","finalizing":false}}}}"#
            )
        );
    }
}

#[test]
fn a_plain_function_may_answer_without_a_promise() {
    assert_eq!(
        sync("plain-function.js").unwrap(),
        r#"{"relatedResources":[]}"#
    );
}

#[test]
fn a_string_body_is_sent_as_it_is() {
    assert_eq!(
        sync("string-body.js").unwrap(),
        r#"{ "children" : [ ] , "z": 1 }"#
    );
}

#[test]
fn require_loads_siblings_json_and_folders_relative_to_the_requiring_file() {
    assert_eq!(
        sync("require-sibling.js").unwrap(),
        r#"{"children":[],"status":{"greeting":"Hello, web!","replicas":3,"label":"from-settings","sameModule":true,"thisIsExports":true,"dirname":true}}"#
    );
}

#[test]
fn require_cycles_see_partial_exports() {
    assert_eq!(
        sync("cycle-a.js").unwrap(),
        r#"{"children":[],"status":{"b":"set before requiring b"}}"#
    );
}

#[test]
fn require_of_a_node_builtin_fails_naming_it() {
    let (err, text) = failure(sync("require-fs.js"));
    assert!(matches!(err, Error::Load { .. }), "{text}");
    assert!(
        text.contains("Cannot load module 'fs': 'fs' is a Node.js built-in module"),
        "{text}"
    );
    // Line 1, column 11 or 12 (where `require` starts), not shifted by the wrapper.
    assert!(
        text.contains("require-fs.js:1:1"),
        "the stack names line and column: {text}"
    );
    assert!(
        !text.contains("\nError\n"),
        "the stack's header has the message: {text}"
    );
    let err = check("require-fs.js").unwrap_err();
    assert!(err.to_string().contains("'fs'"), "{err}");
}

#[test]
fn require_of_a_package_or_missing_file_fails_clearly() {
    let (err, text) = failure(sync("require-package.js"));
    assert!(matches!(err, Error::Rejected { .. }), "{text}");
    assert!(text.contains("Cannot find module 'lodash'"), "{text}");
    assert!(text.contains("bundle"), "{text}");

    let response = sync("require-missing.js").unwrap();
    assert!(
        response.contains(r#""code":"MODULE_NOT_FOUND""#)
            && response.contains("Cannot find module './no-such-file'")
            && response.contains("no-such-file.js"),
        "{response}"
    );
}

#[test]
fn a_status_other_than_200_fails_with_the_body() {
    let (err, text) = failure(sync("status-500.js"));
    assert!(matches!(err, Error::Status { .. }), "{text}");
    assert!(text.contains("status 500 instead of 200"), "{text}");
    // The body is the stack the script caught: the error and where it happened.
    assert!(
        text.contains("cannot read property 'field' of undefined"),
        "{text}"
    );
    assert!(text.contains("status-500.js:4"), "{text}");

    let (_, text) = failure(sync("status-422.js"));
    assert!(
        text.contains(
            r#"status 422 instead of 200, with body: {"reason":"parent.spec.replicas is negative"}"#
        ),
        "{text}"
    );
}

#[test]
fn a_thrown_error_fails_with_its_stack() {
    let (err, text) = failure(sync("throws.js"));
    assert!(matches!(err, Error::Threw { .. }), "{text}");
    assert!(text.contains("the hook function threw"), "{text}");
    assert!(
        text.contains("TypeError: the hook broke on purpose"),
        "{text}"
    );
    assert!(text.contains("throws.js:2"), "{text}");
}

#[test]
fn a_rejected_promise_fails_with_the_reason() {
    let (err, text) = failure(sync("rejects.js"));
    assert!(matches!(err, Error::Rejected { .. }), "{text}");
    assert!(text.contains("promise was rejected"), "{text}");
    assert!(
        text.contains("catch it: Error: rejected on purpose"),
        "{text}"
    );
    assert!(text.contains("rejects.js:3"), "{text}");

    let (_, text) = failure(sync("rejects-string.js"));
    assert!(text.ends_with("catch it: a plain string reason"), "{text}");
}

#[test]
fn a_promise_that_never_settles_fails() {
    let (err, text) = failure(sync("never-settles.js"));
    assert!(matches!(err, Error::NeverSettled { .. }), "{text}");
    assert!(text.contains("never settled"), "{text}");
}

#[test]
fn check_reports_a_syntax_error_with_file_and_line() {
    let err = check("syntax-error.js").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Load { .. }), "{text}");
    assert!(text.contains("SyntaxError"), "{text}");
    assert!(text.contains("syntax-error.js:3:"), "{text}");
    // A sync call fails the same way.
    let (_, text) = failure(sync("syntax-error.js"));
    assert!(text.contains("syntax-error.js:3:"), "{text}");
}

#[test]
fn check_reports_exports_that_are_not_a_function() {
    let err = check("not-a-function.js").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::NotAFunction { .. }), "{text}");
    assert!(
        text.contains("module.exports is not a function (got object)"),
        "{text}"
    );
}

#[test]
fn check_passes_a_good_script_and_runs_its_top_level() {
    check("echo.js").unwrap();
    check("require-sibling.js").unwrap();
    let err = check("top-level-throw.js").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Error: top level failed"), "{text}");
    assert!(text.contains("top-level-throw.js:2"), "{text}");
}

#[test]
fn invalid_request_json_fails() {
    for request in ["{not json", "", "  \n"] {
        let (err, text) = failure(sync_with("echo.js", request));
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{request:?}: {text}"
        );
        assert!(
            text.starts_with("the sync request on stdin is not valid JSON"),
            "{text}"
        );
    }
}

#[test]
fn bad_answers_are_refused() {
    for (kind, expected) in [
        ("array", "has a body that is an array"),
        ("null", "has a body that is null"),
        ("missing", "has a body that is undefined"),
        ("number", "has a body that is a number (5)"),
        ("notJson", "has a string body that is not JSON"),
        ("jsonArray", "has a string body holding JSON array"),
        ("bare", "has no `status` and no `body`"),
    ] {
        let request = format!(r#"{{"parent": {{}}, "kind": "{kind}"}}"#);
        let (err, text) = failure(sync_with("bad-bodies.js", &request));
        assert!(matches!(err, Error::BadAnswer { .. }), "{kind}: {text}");
        assert!(text.contains(expected), "{kind}: {text}");
    }
}

#[test]
fn a_hashbang_line_and_use_strict_work() {
    assert_eq!(
        sync("hashbang.js").unwrap(),
        r#"{"children":[],"status":{"strict":true}}"#
    );
}

#[test]
fn a_missing_script_is_named() {
    let (err, text) = failure(sync("no-such-script.js"));
    assert!(matches!(err, Error::ReadScript { .. }), "{text}");
    assert!(text.contains("no-such-script.js"), "{text}");
}
