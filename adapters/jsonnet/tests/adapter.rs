//! The adapter as hookserver uses it: `[NAME, HOOK, SCRIPT]`, the request on stdin, the
//! response or a failure. Scripts are written to a temporary directory, as the server's
//! `/hook` directory holds them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jsonnet_adapter::{Failure, run};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A hook directory with these files.
fn hook_dir(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn call(script: &Path, hook: &str, request: &str) -> Result<String, Failure> {
    let args = [
        "test-hook".into(),
        hook.into(),
        script.as_os_str().to_owned(),
    ];
    run(args, &mut request.as_bytes())
}

/// Runs `main.jsonnet` of a directory with `files` on `request`, as JSON.
fn eval(files: &[(&str, &str)], request: &str) -> Result<Value, String> {
    let dir = hook_dir(files);
    call(&dir.path().join("main.jsonnet"), "sync", request)
        .map(|out| serde_json::from_str(&out).expect("the adapter prints JSON"))
        .map_err(|failure| failure.to_string())
}

fn eval_ok(script: &str, request: &str) -> Value {
    eval(&[("main.jsonnet", script)], request).expect("evaluates")
}

fn eval_err(script: &str, request: &str) -> String {
    eval(&[("main.jsonnet", script)], request).expect_err("fails")
}

const REQUEST: &str = r#"{"parent": {"metadata": {"name": "web", "labels": {"a": "b"}}}, "children": {}, "finalizing": false}"#;

#[test]
fn the_request_reaches_the_script_as_an_object() {
    // jsonnetd passes the body with TLACode: the script sees a parsed object.
    let out = eval_ok(
        "function(request) { type: std.type(request), name: request.parent.metadata.name, \
         labels: request.parent.metadata.labels, finalizing: request.finalizing }",
        REQUEST,
    );
    assert_eq!(
        out,
        json!({"type": "object", "name": "web", "labels": {"a": "b"}, "finalizing": false})
    );
}

#[test]
fn output_is_formatted_as_jsonnetd_formats_it() {
    let dir = hook_dir(&[(
        "main.jsonnet",
        "function(request) { b: [1, 2.5, 'x', null, true], a: {}, c: [] }",
    )]);
    let out = call(&dir.path().join("main.jsonnet"), "sync", "{}").expect("evaluates");
    // go-jsonnet's layout: 3 spaces, sorted keys, `{ }`/`[ ]` when empty, final newline.
    assert_eq!(
        out,
        "{\n   \"a\": { },\n   \"b\": [\n      1,\n      2.5,\n      \"x\",\n      null,\n      true\n   ],\n   \"c\": [ ]\n}\n"
    );
}

#[test]
fn the_hook_kind_is_not_visible_to_the_script() {
    let dir = hook_dir(&[(
        "main.jsonnet",
        "function(request) { finalizing: request.finalizing }",
    )]);
    let script = dir.path().join("main.jsonnet");
    let sync = call(&script, "sync", REQUEST).expect("sync");
    assert_eq!(call(&script, "finalize", REQUEST).expect("finalize"), sync);
    assert_eq!(
        call(&script, "customize", REQUEST).expect("customize"),
        sync
    );
}

#[test]
fn an_echo_script_returns_the_request() {
    // jrsonnet turns this into its identity builtin, which has another parameter name.
    assert_eq!(
        eval_ok("function(request) request", REQUEST),
        serde_json::from_str::<Value>(REQUEST).expect("JSON")
    );
}

#[test]
fn a_script_that_is_not_a_function_ignores_the_request() {
    // As go-jsonnet does with top-level arguments for a non-function.
    assert_eq!(eval_ok("{ constant: 1 }", REQUEST), json!({"constant": 1}));
}

#[test]
fn sibling_and_nested_imports_resolve_against_the_importing_file() {
    let files = [
        (
            "main.jsonnet",
            "local lib = import 'lib.libsonnet';\n\
             local sub = import 'sub/inner.libsonnet';\n\
             function(request) { greeting: lib.greet(request.parent.metadata.name), \
             inner: sub.value, text: importstr 'data.txt' }",
        ),
        (
            "lib.libsonnet",
            "{ greet(name):: 'hello ' + name + (import 'suffix.libsonnet') }",
        ),
        ("suffix.libsonnet", "'!'"),
        // Relative to sub/, not to the entry script.
        (
            "sub/inner.libsonnet",
            "{ value: (import '../suffix.libsonnet') + (import 'leaf.libsonnet') }",
        ),
        ("sub/leaf.libsonnet", "'leaf'"),
        ("data.txt", "plain text"),
    ];
    assert_eq!(
        eval(&files, REQUEST).expect("evaluates"),
        json!({"greeting": "hello web!", "inner": "!leaf", "text": "plain text"})
    );
    let dir = hook_dir(&files);
    call(&dir.path().join("main.jsonnet"), "check", "").expect("check passes");
}

#[test]
fn a_missing_import_fails_and_names_it() {
    let err = eval_err(
        "local lib = import 'nope.libsonnet'; function(request) { a: lib }",
        REQUEST,
    );
    assert!(err.contains("nope.libsonnet"), "{err}");
    assert!(err.contains("main.jsonnet"), "{err}");
}

#[test]
fn json_unmarshal_behaves_as_in_jsonnetd() {
    let out = eval_ok(
        r#"local u = std.native('jsonUnmarshal');
        function(request) {
          object: u('{"b": [1, 2.5, "x", null, {"c": true}], "a": {}}'),
          // Go's json.Unmarshal: the last of duplicate keys wins.
          duplicate: u('{"k": 1, "k": 2}'),
          // null leaves Go's map nil, which go-jsonnet turns into an empty object.
          fromNull: u('null'),
          named: u(jsonStr='{"n": 1}'),
          fromAnnotation: u(request.parent.metadata.annotations.config).replicas,
        }"#,
        r#"{"parent": {"metadata": {"annotations": {"config": "{\"replicas\": 3}"}}}}"#,
    );
    assert_eq!(
        out,
        json!({
            "object": {"a": {}, "b": [1, 2.5, "x", null, {"c": true}]},
            "duplicate": {"k": 2},
            "fromNull": {},
            "named": {"n": 1},
            "fromAnnotation": 3,
        })
    );
}

#[test]
fn json_unmarshal_errors_are_jsonnetds() {
    let err = eval_err(
        "function(request) { a: std.native('jsonUnmarshal')('[1, 2]') }",
        "{}",
    );
    assert!(
        err.contains(
            "can't unmarshal JSON: json: cannot unmarshal array into Go value of type \
             map[string]interface {}"
        ),
        "{err}"
    );
    let err = eval_err(
        "function(request) { a: std.native('jsonUnmarshal')('{\"a\": ') }",
        "{}",
    );
    assert!(err.contains("can't unmarshal JSON: "), "{err}");
    let err = eval_err(
        "function(request) { a: std.native('jsonUnmarshal')('{} {}') }",
        "{}",
    );
    assert!(err.contains("can't unmarshal JSON: "), "{err}");
    let err = eval_err(
        "function(request) { a: std.native('jsonUnmarshal')(42) }",
        "{}",
    );
    assert!(
        err.contains("unexpected type float64 for 'jsonStr' arg"),
        "{err}"
    );
    let err = eval_err(
        "function(request) { a: std.native('jsonUnmarshal')(null) }",
        "{}",
    );
    assert!(
        err.contains("unexpected type <nil> for 'jsonStr' arg"),
        "{err}"
    );
}

#[test]
fn parse_int_behaves_as_in_jsonnetd() {
    let out = eval_ok(
        r#"local p = std.native('parseInt');
        function(request) {
          decimal: p('42', 10),
          negative: p('-17', 10),
          hex: p('ff', 16),
          binary: p('101', 2),
          // base 0: the prefix decides, as in Go.
          prefixed: [p('0x1F', 0), p('0o17', 0), p('017', 0), p('0b11', 0), p('1_000', 0)],
          // The base is truncated like Go's int(float64).
          fractionalBase: p('10', 10.9),
          named: p(intStr='7', base=8),
          big: p('9007199254740993', 10),
        }"#,
        "{}",
    );
    assert_eq!(
        out,
        json!({
            "decimal": 42, "negative": -17, "hex": 255, "binary": 5,
            "prefixed": [31, 15, 15, 3, 1000], "fractionalBase": 10, "named": 7,
            // float64(int64): rounds like Go does.
            "big": 9007199254740992_u64,
        })
    );
}

#[test]
fn parse_int_errors_are_jsonnetds() {
    let cases = [
        (
            "p('abc', 10)",
            r#"can't parse 'intStr': strconv.ParseInt: parsing "abc": invalid syntax"#,
        ),
        (
            "p('', 10)",
            r#"can't parse 'intStr': strconv.ParseInt: parsing "": invalid syntax"#,
        ),
        (
            "p('12', 1)",
            r#"can't parse 'intStr': strconv.ParseInt: parsing "12": invalid base 1"#,
        ),
        (
            "p('9223372036854775808', 10)",
            r#"can't parse 'intStr': strconv.ParseInt: parsing "9223372036854775808": value out of range"#,
        ),
        ("p(12, 10)", "unexpected type float64 for 'intStr' arg"),
        ("p('12', '10')", "unexpected type string for 'base' arg"),
    ];
    for (call, want) in cases {
        let script = format!("local p = std.native('parseInt'); function(request) {{ a: {call} }}");
        let err = eval_err(&script, "{}");
        assert!(err.contains(want), "{call}: {err}");
    }
    // Both parameters are required, as jsonnetd declares them.
    let err = eval_err(
        "function(request) { a: std.native('parseInt')('12') }",
        "{}",
    );
    assert!(err.contains("base"), "{err}");
}

#[test]
fn unknown_natives_are_null_as_in_go_jsonnet() {
    assert_eq!(
        eval_ok("function(request) { a: std.native('nope') }", "{}"),
        json!({"a": null})
    );
}

#[test]
fn a_runtime_error_fails_with_its_text_and_place() {
    let err = eval_err(
        "function(request)\n  { status: { a: error 'boom: ' + request.parent.metadata.name } }",
        REQUEST,
    );
    assert!(err.contains("for the sync request failed"), "{err}");
    assert!(err.contains("boom: web"), "{err}");
    assert!(err.contains("main.jsonnet:2:"), "{err}");
    let err = eval_err("function(request) { a: request.nope }", REQUEST);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn deep_recursion_fails_with_a_jsonnet_error() {
    let err = eval_err(
        "local f(n) = if n == 0 then 0 else 1 + f(n - 1); function(request) { a: f(100000) }",
        "{}",
    );
    assert!(err.contains("stack overflow"), "{err}");
    assert!(err.contains("more frames"), "the trace is cut: {err}");
    assert!(err.lines().count() < 15, "{err}");
}

#[test]
fn results_that_are_not_objects_are_refused() {
    for (script, got) in [
        ("function(request) [1]", "an array"),
        ("function(request) 'x'", "a string"),
        ("function(request) null", "null"),
        ("function(request) 3", "a number"),
    ] {
        let err = eval_err(script, "{}");
        assert!(
            err.contains(&format!("returned {got} for the sync request")),
            "{script}: {err}"
        );
        assert!(err.contains("one JSON object"), "{err}");
    }
}

#[test]
fn a_request_that_is_not_json_is_refused_clearly() {
    let script = "function(request) { a: 1 }";
    let err = eval_err(script, "{not json");
    assert!(
        err.contains("the sync request on stdin is not valid JSON"),
        "{err}"
    );
    assert!(err.contains("line 1 column 2"), "{err}");
    let err = eval_err(script, "  \n");
    assert!(err.contains("not valid JSON (it is empty)"), "{err}");
    // Valid jsonnet but not JSON: refused, so a request can never import files.
    let err = eval_err(script, "{a: import 'main.jsonnet'}");
    assert!(err.contains("not valid JSON"), "{err}");
    let err = eval_err(script, "{} {}");
    assert!(err.contains("not valid JSON"), "{err}");
}

#[test]
fn check_accepts_a_good_script_without_reading_stdin() {
    let dir = hook_dir(&[
        (
            "main.jsonnet",
            "local l = import 'l.libsonnet'; function(request) l.f(request)",
        ),
        ("l.libsonnet", "{ f(r):: { a: r } }"),
    ]);
    struct NoRead;
    impl std::io::Read for NoRead {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("check must not read stdin")
        }
    }
    let args = [
        "h".into(),
        "check".into(),
        dir.path().join("main.jsonnet").into_os_string(),
    ];
    assert_eq!(run(args, &mut NoRead).expect("check passes"), "");
}

#[test]
fn check_refuses_syntax_errors_with_file_line_and_column() {
    let dir = hook_dir(&[("main.jsonnet", "function(request) {\n  a: 1,\n  b: ,\n}")]);
    let script = dir.path().join("main.jsonnet");
    let err = call(&script, "check", "")
        .expect_err("syntax error")
        .to_string();
    assert!(err.contains("does not compile"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
    assert!(
        err.contains(&format!("{}:3:", script.display())),
        "names file and line: {err}"
    );
    // The same script fails on a request too.
    let err = call(&script, "sync", "{}")
        .expect_err("syntax error")
        .to_string();
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn check_refuses_unknown_variables_with_their_place() {
    let dir = hook_dir(&[("main.jsonnet", "function(request)\n  { a: requets.parent }")]);
    let script = dir.path().join("main.jsonnet");
    let err = call(&script, "check", "")
        .expect_err("unknown variable")
        .to_string();
    assert!(err.contains("undefined local: requets"), "{err}");
    assert!(err.contains(&format!("{}:2:", script.display())), "{err}");
    assert!(!err.contains("virtual:"), "{err}");
}

#[test]
fn check_follows_imports() {
    let dir = hook_dir(&[
        (
            "main.jsonnet",
            "local l = import 'l.libsonnet'; function(request) l",
        ),
        ("l.libsonnet", "{ a: import 'sub/broken.libsonnet' }"),
        ("sub/broken.libsonnet", "{ a: }"),
    ]);
    let err = call(&dir.path().join("main.jsonnet"), "check", "")
        .expect_err("broken import")
        .to_string();
    assert!(err.contains("broken.libsonnet:1:"), "{err}");

    let dir = hook_dir(&[(
        "main.jsonnet",
        "function(request) if false then import 'missing.libsonnet' else {}",
    )]);
    let err = call(&dir.path().join("main.jsonnet"), "check", "")
        .expect_err("missing import")
        .to_string();
    assert!(err.contains("missing.libsonnet"), "{err}");

    let dir = hook_dir(&[(
        "main.jsonnet",
        "function(request) { a: importstr 'missing.txt' }",
    )]);
    let err = call(&dir.path().join("main.jsonnet"), "check", "")
        .expect_err("missing importstr")
        .to_string();
    assert!(err.contains("missing.txt"), "{err}");
}

#[test]
fn check_does_not_evaluate() {
    // Fails for every request, but compiles.
    let dir = hook_dir(&[("main.jsonnet", "function(request) error 'not now'")]);
    call(&dir.path().join("main.jsonnet"), "check", "").expect("compiles");
}

#[test]
fn an_unreadable_script_is_named() {
    let err = call(Path::new("/nonexistent/hook.jsonnet"), "sync", "{}")
        .expect_err("missing script")
        .to_string();
    assert!(
        err.contains("cannot read the script /nonexistent/hook.jsonnet"),
        "{err}"
    );
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jsonnet"))
}

fn run_binary(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = binary()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the adapter");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

#[test]
fn the_binary_prints_the_response_or_exits_1_with_a_message() {
    let dir = hook_dir(&[(
        "main.jsonnet",
        "function(request) if request.fail then error 'asked to fail' else { ok: true }",
    )]);
    let script: PathBuf = dir.path().join("main.jsonnet");
    let script = script.to_str().expect("utf-8 path");

    let (code, stdout, stderr) = run_binary(&["my-hook", "sync", script], r#"{"fail": false}"#);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (0, "{\n   \"ok\": true\n}\n", "")
    );

    let (code, stdout, stderr) = run_binary(&["my-hook", "sync", script], r#"{"fail": true}"#);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(stderr.starts_with("my-hook: evaluating "), "{stderr}");
    assert!(stderr.contains("asked to fail"), "{stderr}");

    let (code, stdout, _) = run_binary(&["my-hook", "check", script], "");
    assert_eq!((code, stdout.as_str()), (0, ""));

    let (code, _, stderr) = run_binary(&["my-hook"], "");
    assert_eq!(code, 1);
    assert!(stderr.contains("NAME HOOK SCRIPT"), "{stderr}");
}
