//! The `js` binary as hookserver runs it: argv, stdin, stdout, stderr, exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const REQUEST: &str = r#"{"parent": {"metadata": {"name": "web"}}, "children": {}}"#;

fn script(name: &str) -> String {
    format!("{}/tests/scripts/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_js"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the js binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write the request");
    child.wait_with_output().expect("the js binary ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn console_writes_to_stderr_and_stdout_holds_only_the_response() {
    let out = run(&["console", "sync", &script("console.js")], REQUEST);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, r#"{"children":[]}"#);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "loading console.js",
            r#"log line {"n":1}"#,
            "info line",
            "debug line",
            "warn line",
            "error line Error: shown with its stack",
        ],
        "{stderr}"
    );
    assert!(lines[6].contains("console.js:8"), "{stderr}");
}

#[test]
fn a_failure_exits_1_with_the_message_on_stderr_and_nothing_on_stdout() {
    let out = run(&["throws", "sync", &script("throws.js")], REQUEST);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("TypeError: the hook broke on purpose"),
        "{stderr}"
    );
}

#[test]
fn check_reads_no_stdin_and_prints_nothing() {
    let out = run(&["echo", "check", &script("echo.js")], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn bad_argv_is_a_usage_error() {
    for args in [&[][..], &["echo", "sync"], &["echo", "reconcile", "x.js"]] {
        let out = run(args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("usage: js NAME HOOK SCRIPT") || stderr.starts_with("unknown hook"),
            "{args:?}: {stderr}"
        );
    }
}
