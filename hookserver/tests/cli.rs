//! `hookserver run`, `inspect` and `configmap`, as a hook author uses them.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::*;

fn hookserver(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookserver"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hookserver");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("hookserver output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn run_answers_like_the_server() {
    let modules = ModuleDir::new();
    modules.put("hello-world", &example_hook("hello-world"));
    let module = modules.path().join("hello-world.wasm");
    let module = module.to_str().expect("utf-8 path");
    let request = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/hello-world/requests/sync.json");

    let from_file = hookserver(
        &["run", module, "sync", request.to_str().expect("path")],
        None,
    );
    assert!(from_file.status.success(), "{}", text(&from_file.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&from_file.stdout).expect("JSON");
    assert_eq!(answer["children"][0]["metadata"]["name"], "your-name");

    let from_stdin = hookserver(&["run", module, "sync"], Some(&hello_request("sync")));
    assert_eq!(from_stdin.stdout, from_file.stdout);

    let failing = hookserver(&["run", module, "sync"], Some("{\"parent\":{}}"));
    assert_eq!(failing.status.code(), Some(1));
    let stderr = text(&failing.stderr);
    assert!(
        stderr.contains("error: hook \"hello-world\" sync exited with code 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`parent.metadata.name` is missing"),
        "{stderr}"
    );

    let limited = hookserver(
        &["run", module, "sync", "--memory", "1Ki"],
        Some(&hello_request("sync")),
    );
    assert_eq!(limited.status.code(), Some(1));
    assert!(
        text(&limited.stderr).contains("option \"memory\" has invalid value \"1Ki\""),
        "{}",
        text(&limited.stderr)
    );
}

#[test]
fn inspect_says_whether_a_module_fits_abi_v1() {
    let modules = ModuleDir::new();
    let hello = example_hook("hello-world");
    modules.put("hello-world", &hello);
    modules.put("no-start", &wat_module("no-start"));
    modules.put("foreign-import", &wat_module("foreign-import"));
    let path = |name: &str| {
        modules
            .path()
            .join(format!("{name}.wasm"))
            .to_string_lossy()
            .into_owned()
    };

    let good = hookserver(&["inspect", &path("hello-world")], None);
    assert!(good.status.success(), "{}", text(&good.stderr));
    let report = text(&good.stdout);
    assert!(
        report.contains(&format!("digest:  sha256:{}", digest(&hello))),
        "{report}"
    );
    assert!(
        report.contains("wasi_snapshot_preview1::fd_write"),
        "{report}"
    );
    assert!(report.contains("ABI v1:  yes"), "{report}");

    for (name, problem) in [
        ("no-start", "no `_start` export"),
        ("foreign-import", "imports `env::host_call`"),
    ] {
        let bad = hookserver(&["inspect", &path(name)], None);
        assert_eq!(bad.status.code(), Some(1), "{name}");
        let report = text(&bad.stdout);
        assert!(report.contains("ABI v1:  no"), "{name}: {report}");
        assert!(report.contains(problem), "{name}: {report}");
    }
}

#[test]
fn configmap_prints_a_manifest_or_says_what_is_wrong() {
    let modules = ModuleDir::new();
    modules.put("hello-world", &example_hook("hello-world"));
    modules.put("not-wasm", b"just text");
    let module = modules.path().join("hello-world.wasm");
    let module = module.to_str().expect("utf-8 path");

    let output = hookserver(
        &[
            "configmap",
            module,
            "--namespace",
            "hooks",
            "--option",
            "timeout=2s",
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let manifest = text(&output.stdout);
    for expected in [
        "kind: ConfigMap\n",
        "  name: hello-world\n",
        "  namespace: hooks\n",
        "    hookserver.io/module: \"true\"\n",
        "    hookserver.io/timeout: \"2s\"\n",
        "  module.wasm: AGFzbQ",
    ] {
        assert!(
            manifest.contains(expected),
            "{expected:?} missing:\n{manifest}"
        );
    }

    let cases: [(&[&str], &str); 4] = [
        (
            &["configmap", "not-wasm.wasm"],
            "not a valid WebAssembly module",
        ),
        (
            &["configmap", "hello-world.wasm", "--name", "Bad_Name"],
            "--name: invalid hook name",
        ),
        (
            &["configmap", "hello-world.wasm", "--option", "timout=2s"],
            "unknown option \"timout\"",
        ),
        (
            &["configmap", "hello-world.wasm", "--namespace", "a.b"],
            "is not a namespace name",
        ),
    ];
    for (args, expected) in cases {
        let mut args = args.to_vec();
        let path = modules.path().join(args[1]);
        let path = path.to_str().expect("utf-8 path").to_string();
        args[1] = &path;
        let output = hookserver(&args, None);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(
            text(&output.stderr).contains(expected),
            "{args:?}: {expected:?} not in {}",
            text(&output.stderr)
        );
    }

    let output = hookserver(&["serve"], None);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("--modules"),
        "{}",
        text(&output.stderr)
    );
}
