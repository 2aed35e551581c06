//! Script hooks through the real server: jsonnet and JavaScript run by the adapters that
//! `make adapters` builds, sharing one compiled module per language.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const HELLO_JSONNET: &str = r#"
local lib = import 'greeting.libsonnet';
function(request) {
  status: { greeting: lib.greet(request.parent.spec.who) },
  children: [],
}
"#;

const HELLO_JS: &str = r#"
module.exports = async function (context) {
  const parent = context.request.body.parent;
  return { status: 200, body: { status: { greeting: `Hello, ${parent.spec.who}!` }, children: [] } };
};
"#;

fn sync_request(who: &str) -> String {
    serde_json::json!({
        "controller": {"kind": "CompositeController"},
        "parent": {"apiVersion": "example.com/v1", "kind": "HelloWorld",
                   "metadata": {"name": "p", "namespace": "default"}, "spec": {"who": who}},
        "children": {},
        "finalizing": false
    })
    .to_string()
}

fn serve(dir: &ModuleDir, extra: &[&str]) -> Server {
    let cache = tempfile::tempdir().expect("cache").keep();
    let mut args: Vec<OsString> = vec![
        "--modules".into(),
        dir.path().into(),
        "--cache-dir".into(),
        cache.into(),
        "--adapters".into(),
        adapters_dir().into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    let server = Server::launch(&args, &[]);
    server.wait_ready();
    server
}

fn answer(server: &Server, name: &str, kind: &str, body: &str) -> (u16, String) {
    let response = server.post(&format!("/hooks/{name}/{kind}"), body);
    let status = response.status().as_u16();
    (status, response.text().expect("body"))
}

fn greeting(server: &Server, name: &str, who: &str) -> String {
    let (status, text) = answer(server, name, "sync", &sync_request(who));
    assert_eq!(status, 200, "{name}: {text}");
    let value: Value = serde_json::from_str(&text).expect("JSON");
    value["status"]["greeting"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no greeting in {text}"))
        .to_string()
}

fn wait_until_state(server: &Server, name: &str, state: &str) -> Value {
    let mut last = Value::Null;
    wait_for(&format!("hook {name} to be {state}"), || {
        last = server.hook_status(name).unwrap_or(Value::Null);
        last["state"] == state
    });
    last
}

#[test]
fn jsonnet_and_js_hooks_answer_with_imports_and_show_their_adapter() {
    let dir = ModuleDir::new();
    dir.put_file(
        "greeting.libsonnet",
        br#"{ greet(who):: 'Hello, ' + who + '!' }"#,
    );
    dir.put_file("hello-jsonnet.jsonnet", HELLO_JSONNET.as_bytes());
    dir.put_file("hello-js.js", HELLO_JS.as_bytes());
    // A directory hook: every file in it is the hook's, and require() finds them.
    std::fs::create_dir(dir.path().join("hello-dir")).expect("mkdir");
    std::fs::write(
        dir.path().join("hello-dir/hook.js"),
        "const greet = require('./greet');\n\
         module.exports = (ctx) => Promise.resolve({status: 200, body: \
         {status: {greeting: greet(ctx.request.body.parent.spec.who)}, children: []}});\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("hello-dir/greet.js"),
        "module.exports = (who) => `Hi, ${who}!`;\n",
    )
    .expect("write");
    let server = serve(&dir, &[]);

    assert_eq!(greeting(&server, "hello-jsonnet", "Ada"), "Hello, Ada!");
    assert_eq!(greeting(&server, "hello-js", "Ada"), "Hello, Ada!");
    assert_eq!(greeting(&server, "hello-dir", "Ada"), "Hi, Ada!");

    let jsonnet = server.hook_status("hello-jsonnet").expect("listed");
    assert_eq!(jsonnet["adapter"]["language"], "jsonnet", "{jsonnet}");
    let js = server.hook_status("hello-js").expect("listed");
    assert_eq!(js["adapter"]["language"], "js", "{js}");
    assert_ne!(jsonnet["adapter"]["module"], js["adapter"]["module"]);
    assert_eq!(
        server.hook_status("hello-dir").expect("listed")["adapter"]["module"],
        js["adapter"]["module"],
        "both JS hooks run on the one JS adapter"
    );

    // A library changes: the jsonnet hook that imports it answers with the new one.
    dir.put_file(
        "greeting.libsonnet",
        br#"{ greet(who):: 'Howdy, ' + who + '!' }"#,
    );
    wait_for("the new library to serve", || {
        greeting(&server, "hello-jsonnet", "Ada") == "Howdy, Ada!"
    });
}

#[test]
fn many_distinct_scripts_share_one_compiled_adapter() {
    const HOOKS: usize = 20;
    let dir = ModuleDir::new();
    for i in 0..HOOKS {
        let script = format!(
            "function(request) {{ status: {{ greeting: 'hook {i} greets ' + request.parent.spec.who }}, children: [] }}\n"
        );
        dir.put_file(&format!("greeter-{i}.jsonnet"), script.as_bytes());
    }
    let server = serve(&dir, &[]);
    let mut adapters = Vec::new();
    let mut digests = Vec::new();
    for i in 0..HOOKS {
        let name = format!("greeter-{i}");
        assert_eq!(
            greeting(&server, &name, "Bo"),
            format!("hook {i} greets Bo")
        );
        let status = server.hook_status(&name).expect("listed");
        adapters.push(status["adapter"]["module"].clone());
        digests.push(status["digest"].clone());
    }
    adapters.dedup();
    assert_eq!(adapters.len(), 1, "one adapter module: {adapters:?}");
    digests.sort_by_key(|d| d.to_string());
    digests.dedup();
    assert_eq!(digests.len(), HOOKS, "each script has its own digest");
    assert_eq!(
        server.metric("hookserver_module_cache_lookups_total{result=\"compiled\"}"),
        1.0,
        "the adapter is compiled once for all {HOOKS} hooks"
    );
}

#[test]
fn a_broken_script_is_refused_at_load_and_the_good_version_keeps_serving() {
    let dir = ModuleDir::new();
    dir.put_file(
        "greeting.libsonnet",
        br#"{ greet(who):: 'Hello, ' + who + '!' }"#,
    );
    dir.put_file("hello.jsonnet", HELLO_JSONNET.as_bytes());
    dir.put_file("hello-js.js", HELLO_JS.as_bytes());
    let server = serve(&dir, &[]);
    assert_eq!(greeting(&server, "hello", "Ada"), "Hello, Ada!");

    // A syntax error: refused with the file and line, the old version answers.
    dir.put_file("hello.jsonnet", b"function(request) {\n  status: {,\n}\n");
    let status = wait_until_state(&server, "hello", "degraded");
    let error = status["lastError"]["message"].as_str().expect("message");
    assert!(
        error.contains("jsonnet adapter refused hello.jsonnet") && error.contains(":2"),
        "{error}"
    );
    assert_eq!(greeting(&server, "hello", "Ada"), "Hello, Ada!");

    dir.put_file(
        "hello-js.js",
        b"module.exports = function (ctx) {\n  return {;\n};\n",
    );
    let status = wait_until_state(&server, "hello-js", "degraded");
    let error = status["lastError"]["message"].as_str().expect("message");
    assert!(
        error.contains("js adapter refused hello-js.js") && error.contains("hello-js.js"),
        "{error}"
    );
    assert_eq!(greeting(&server, "hello-js", "Ada"), "Hello, Ada!");
    assert!(
        server.metric("hookserver_load_failures_total{hook=\"hello-js\"}") >= 1.0,
        "counted as a load failure"
    );

    // Fixed: serving again.
    dir.put_file("hello-js.js", HELLO_JS.replace("Hello", "Hey").as_bytes());
    wait_until_state(&server, "hello-js", "ready");
    assert_eq!(greeting(&server, "hello-js", "Ada"), "Hey, Ada!");
}

#[test]
fn script_failures_reach_the_error_body_under_the_hooks_limits() {
    let dir = ModuleDir::new();
    dir.put_file(
        "fails.jsonnet",
        b"function(request) error 'no greeting for ' + request.parent.spec.who\n",
    );
    dir.put_file(
        "rejects.js",
        b"module.exports = async () => { throw new Error('cannot greet today'); };\n",
    );
    dir.put_file(
        "refuses.js",
        b"module.exports = async () => ({status: 422, body: 'who is required'});\n",
    );
    dir.put_file(
        "spins.js",
        b"module.exports = async () => { for (;;) {} };\n",
    );
    dir.put_options("spins", "timeout = \"300ms\"\n");
    let server = serve(&dir, &[]);

    let (status, body) = answer(&server, "fails", "sync", &sync_request("Ada"));
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("no greeting for Ada"), "{body}");

    let (status, body) = answer(&server, "rejects", "sync", &sync_request("Ada"));
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("cannot greet today"), "{body}");

    let (status, body) = answer(&server, "refuses", "sync", &sync_request("Ada"));
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("422") && body.contains("who is required"),
        "{body}"
    );

    let (status, body) = answer(&server, "spins", "sync", &sync_request("Ada"));
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("timed out after 300ms"), "{body}");
}

#[test]
fn the_etag_covers_the_script() {
    let dir = ModuleDir::new();
    dir.put_file("hello-js.js", HELLO_JS.as_bytes());
    let server = serve(&dir, &[]);
    let request = sync_request("Ada");
    let first = server.post("/hooks/hello-js/sync", &request);
    let etag = first.headers()["etag"].to_str().expect("etag").to_string();
    let again = server.post_with(
        "/hooks/hello-js/sync",
        &request,
        &[
            ("content-type", "application/json"),
            ("if-none-match", &etag),
        ],
    );
    assert_eq!(again.status(), 304);

    dir.put_file("hello-js.js", HELLO_JS.replace("Hello", "Hey").as_bytes());
    wait_for("the new script to serve", || {
        greeting(&server, "hello-js", "Ada") == "Hey, Ada!"
    });
    let changed = server.post_with(
        "/hooks/hello-js/sync",
        &request,
        &[
            ("content-type", "application/json"),
            ("if-none-match", &etag),
        ],
    );
    assert_eq!(changed.status(), 200, "a new script is a new ETag");
    assert_ne!(changed.headers()["etag"].to_str().expect("etag"), etag);
}

#[test]
fn script_files_removed_from_disk_are_written_again() {
    let dir = ModuleDir::new();
    dir.put_file("hello-js.js", HELLO_JS.as_bytes());
    let cache = tempfile::tempdir().expect("cache");
    let args: Vec<OsString> = vec![
        "--modules".into(),
        dir.path().into(),
        "--cache-dir".into(),
        cache.path().into(),
        "--adapters".into(),
        adapters_dir().into(),
    ];
    let server = Server::launch(&args, &[]);
    server.wait_ready();
    assert_eq!(greeting(&server, "hello-js", "Ada"), "Hello, Ada!");
    // A cache cleaner wipes the script directories.
    for entry in std::fs::read_dir(cache.path()).expect("cache") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("scripts-"))
        {
            for script in std::fs::read_dir(&path).expect("scripts") {
                std::fs::remove_dir_all(script.expect("entry").path()).expect("remove");
            }
        }
    }
    assert_eq!(greeting(&server, "hello-js", "Bo"), "Hello, Bo!");
}

#[test]
fn without_adapters_a_script_is_refused_with_the_remedy() {
    let dir = ModuleDir::new();
    dir.put_file("hello-js.js", HELLO_JS.as_bytes());
    let server = Server::start(&dir, &[]);
    let status = wait_until_state(&server, "hello-js", "failed");
    let error = status["lastError"]["message"].as_str().expect("message");
    assert!(
        error.contains("--adapters DIR") && error.contains("js.wasm"),
        "{error}"
    );
    let (code, body) = answer(&server, "hello-js", "sync", &sync_request("Ada"));
    assert_eq!(code, 503, "{body}");
}

/// Every example script (examples/scripts/LANG/PORT-LANG.EXT) against its Rust port
/// (examples/PORT), on every sample request of the port.
#[test]
fn example_scripts_answer_exactly_like_their_rust_ports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = ModuleDir::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for language in ["jsonnet", "js"] {
        let scripts = root.join("examples/scripts").join(language);
        for entry in std::fs::read_dir(&scripts).expect("examples/scripts") {
            let path = entry.expect("entry").path();
            let file = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            std::fs::copy(&path, dir.path().join(&file)).expect("copy");
            let suffix = format!("-{language}.{language}");
            if let Some(port) = file.strip_suffix(&suffix) {
                pairs.push((
                    file.trim_end_matches(&format!(".{language}")).to_string(),
                    port.to_string(),
                ));
            }
        }
    }
    assert!(pairs.len() >= 6, "three scripts per language: {pairs:?}");
    for (_, port) in &pairs {
        dir.put(port, &example_hook(port));
    }
    let server = serve(&dir, &[]);

    let mut compared = 0;
    let mut differences = Vec::new();
    for (script, port) in &pairs {
        for request in requests_of(&root.join("examples"), port) {
            let kind = request_kind(&request);
            let body = std::fs::read_to_string(&request).expect("request");
            let (port_status, port_answer) = answer(&server, port, &kind, &body);
            let (script_status, script_answer) = answer(&server, script, &kind, &body);
            compared += 1;
            let same = port_status == script_status
                && (port_status != 200
                    || serde_json::from_str::<Value>(&port_answer).ok()
                        == serde_json::from_str::<Value>(&script_answer).ok());
            if !same {
                differences.push(format!(
                    "{script} vs {port} on {}:\n  port   {port_status} {port_answer}\n  script {script_status} {script_answer}",
                    request.display()
                ));
            }
        }
    }
    assert!(compared >= 15, "only {compared} requests compared");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// The port's sample requests: `examples/PORT/requests/*.json`, or, for a crate's other
/// binary, `examples/CRATE/requests/PORT/*.json`.
fn requests_of(examples: &Path, port: &str) -> Vec<PathBuf> {
    let own = examples.join(port).join("requests");
    let dir = if own.is_dir() {
        own
    } else {
        std::fs::read_dir(examples)
            .expect("examples/")
            .map(|entry| entry.expect("entry").path().join("requests").join(port))
            .find(|dir| dir.is_dir())
            .unwrap_or_else(|| panic!("no sample requests for {port}"))
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("requests/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn request_kind(file: &Path) -> String {
    let stem = file.file_stem().expect("stem").to_string_lossy();
    stem.split(['-', '.', '_'])
        .next()
        .unwrap_or(&stem)
        .to_string()
}
