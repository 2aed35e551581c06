//! The baselines over real HTTP on 127.0.0.1, each started as `make bench` starts it: the
//! native server answers the hello-world sample requests with the very bytes the
//! hello-world library writes, and the Node.js and Python webhooks answer them with the
//! same JSON. With hookserver's own tests (the same library inside a Wasm module), that
//! shows all of them compute the same answer, so a benchmark compares like with like.
//!
//! Every server is stopped with SIGTERM and must exit with status 0.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const HOOKS: [&str; 3] = ["sync", "finalize", "customize"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// A sample request from examples/hello-world/requests.
fn sample(hook: &str) -> Vec<u8> {
    let path = repo().join(format!("examples/hello-world/requests/{hook}.json"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// A baseline running as a child process, killed if a test fails before stopping it.
struct Server {
    name: &'static str,
    child: Child,
    url: String,
    client: Client,
}

impl Server {
    /// Starts `command` and waits for its one stdout line, `{banner} http://127.0.0.1:PORT`.
    /// `missing` says what to install when the program is not found.
    fn start(name: &'static str, mut command: Command, banner: &str, missing: &str) -> Server {
        let mut child = command
            .current_dir(repo())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| {
                let program = command.get_program().to_string_lossy();
                match err.kind() {
                    std::io::ErrorKind::NotFound => {
                        panic!("{name}: {program} not found: {missing}")
                    }
                    _ => panic!("{name}: cannot start {command:?}: {err}"),
                }
            });
        let stdout = child.stdout.take().expect("stdout is piped");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = line_tx.send(line);
            // Keep reading, so that a later write cannot fail on a closed pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = Server {
            name,
            child,
            url: String::new(),
            client: Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        };
        let line = line_rx
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("{name}: no line on stdout within {START_TIMEOUT:?}"));
        let prefix = format!("{banner} http://127.0.0.1:");
        let port = line
            .strip_suffix('\n')
            .and_then(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{name}: expected the line {prefix:?}PORT, got {line:?}"));
        assert!(
            port.parse::<u16>().is_ok_and(|port| port != 0),
            "{name}: {line:?}"
        );
        server.url = format!("http://127.0.0.1:{port}");
        server
    }

    fn native() -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_native-baseline"));
        command.args(["--listen", "127.0.0.1:0"]);
        Server::start(
            "native-baseline",
            command,
            "native baseline listening on",
            "build it",
        )
    }

    fn node() -> Server {
        let mut command = Command::new("node");
        command.args(["conformance/baselines/node/server.js", "--port", "0"]);
        Server::start(
            "node baseline",
            command,
            "node webhook listening on",
            "install Node.js 20 (https://nodejs.org, or `apt-get install nodejs`) to test the \
             Node.js baseline",
        )
    }

    fn python() -> Server {
        let mut command = Command::new("python3");
        command.args(["conformance/reference/webhook.py", "--port", "0", "--quiet"]);
        Server::start(
            "python baseline",
            command,
            "reference webhook listening on",
            "install Python 3 (`apt-get install python3`) to test the Python baseline",
        )
    }

    /// POSTs `body` to `path` as JSON: the status, the Content-Type and the body.
    fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> (StatusCode, String, Vec<u8>) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json")
            .body(body.into())
            .send()
            .unwrap_or_else(|err| panic!("{}: POST {path}: {err}", self.name));
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap_or("(not text)").to_string())
            .unwrap_or_default();
        let body = response.bytes().expect("a response body").to_vec();
        (status, content_type, body)
    }

    /// The answer to a sample request, which must be 200 and JSON.
    fn answer(&self, path: &str, hook: &str) -> Value {
        let (status, content_type, body) = self.post(path, sample(hook));
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, StatusCode::OK, "{}: POST {path}: {text}", self.name);
        assert!(
            content_type.starts_with("application/json"),
            "{}: POST {path}: Content-Type {content_type:?}",
            self.name
        );
        serde_json::from_slice(&body)
            .unwrap_or_else(|err| panic!("{}: POST {path}: not JSON ({err}): {text}", self.name))
    }

    /// Sends SIGTERM and expects a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            sent.is_ok_and(|status| status.success()),
            "{}: kill -TERM {pid} failed",
            self.name
        );
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => {
                    assert!(
                        status.success(),
                        "{}: exited with {status} on SIGTERM",
                        self.name
                    );
                    return;
                }
                None if Instant::now() > deadline => {
                    panic!(
                        "{}: still running {STOP_TIMEOUT:?} after SIGTERM",
                        self.name
                    )
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn native_answers_with_the_bytes_of_the_hello_world_library() {
    let server = Server::native();
    let hooks = hello_world::hooks();
    for hook in HOOKS {
        let expected = hooks
            .handle(hook, &sample(hook))
            .expect("the library answers");
        for path in [
            format!("/hooks/hello-world/{hook}"),
            format!("/hello-world/{hook}"),
        ] {
            let (status, content_type, body) = server.post(&path, sample(hook));
            assert_eq!(
                status,
                StatusCode::OK,
                "POST {path}: {}",
                String::from_utf8_lossy(&body)
            );
            assert_eq!(content_type, "application/json", "POST {path}");
            assert_eq!(
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&expected),
                "POST {path}"
            );
        }
    }
    server.stop();
}

#[test]
fn native_answers_bad_json_400_refusals_500_and_unknown_hooks_404() {
    let server = Server::native();
    let (status, content_type, body) = server.post("/hooks/hello-world/sync", "{not json");
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(
        text.starts_with("bad request: the request body is not valid JSON: "),
        "{text}"
    );

    let (status, _, body) = server.post("/hooks/hello-world/sync", r#"{"parent":{}}"#);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "hook \"hello-world\" sync failed: `parent.metadata.name` is missing or not a string; \
         the parent must be a HelloWorld object as stored by the API server\n"
    );

    for path in [
        "/hooks/other/sync",
        "/hooks/hello-world/reconcile",
        "/hooks",
        "/a/b/c/d",
    ] {
        let (status, _, body) = server.post(path, sample("sync"));
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {path}: {text}");
    }
    server.stop();
}

/// The Node.js baseline runs examples/scripts/js/hello-world-js.js, the JS port.
#[test]
fn node_answers_like_native() {
    let native = Server::native();
    let node = Server::node();
    for hook in HOOKS {
        let expected = native.answer(&format!("/hooks/hello-world/{hook}"), hook);
        for path in [
            format!("/hello-world/{hook}"),
            format!("/hooks/hello-world/{hook}"),
        ] {
            assert_eq!(node.answer(&path, hook), expected, "node: POST {path}");
        }
    }
    let (status, _, body) = node.post("/hello-world/sync", "{not json");
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, body) = node.post("/hello-world/sync", r#"{"parent":{}}"#);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{text}");
    assert!(text.contains("`parent.metadata.name` is missing"), "{text}");
    let (status, _, _) = node.post("/other/sync", "{}");
    assert_eq!(status, StatusCode::NOT_FOUND);
    node.stop();
    native.stop();
}

/// The Python baseline is the conformance suite's reference webhook.
#[test]
fn python_answers_like_native() {
    let native = Server::native();
    let python = Server::python();
    for hook in HOOKS {
        let expected = native.answer(&format!("/hooks/hello-world/{hook}"), hook);
        let path = format!("/hello-world/{hook}");
        assert_eq!(python.answer(&path, hook), expected, "python: POST {path}");
    }
    let (status, _, body) = python.post("/hello-world/sync", "{not json");
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    python.stop();
    native.stop();
}
