//! Shared test harness: the real `hookserver` binary on an ephemeral 127.0.0.1 port, a
//! modules directory the test controls, and the modules the tests serve.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::Value;

/// How long any wait in these tests may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A module built by `make hooks` from examples/NAME.
pub fn example_hook(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/hooks")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "cannot read {}: {err}; build the example hooks first with `make hooks`",
            path.display()
        )
    })
}

/// The script adapters built by `make adapters`.
pub fn adapters_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/adapters");
    for adapter in ["jsonnet.wasm", "js.wasm"] {
        assert!(
            dir.join(adapter).is_file(),
            "{} is missing; build the script adapters first with `make adapters`",
            dir.join(adapter).display()
        );
    }
    dir
}

/// A module from tests/wasm/NAME.wat.
pub fn wat_module(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wasm")
        .join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A hook that prints `output` to stdout and exits 0, whatever the request.
pub fn printer(output: &str) -> Vec<u8> {
    let escaped: String = output.bytes().map(|b| format!("\\{b:02x}")).collect();
    let text = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
              (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 64) "{escaped}")
            (func (export "_start")
              (i32.store (i32.const 0) (i32.const 64))
              (i32.store (i32.const 4) (i32.const {len}))
              (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        len = output.len()
    );
    wat::parse_str(text).expect("printer module")
}

/// The same module with a custom section appended: identical behaviour, different digest
/// (how the paper made one source into many distinct modules).
pub fn variant(module: &[u8], tag: &str) -> Vec<u8> {
    let name = b"hookserver-test-variant";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut bytes = module.to_vec();
    bytes.push(0); // custom section id
    let mut size = payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        bytes.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    bytes.extend_from_slice(&payload);
    bytes
}

/// Hex SHA-256, as `/hooks` reports it (after `sha256:`).
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A request body from examples/hello-world/requests/NAME.json.
pub fn hello_request(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/hello-world/requests")
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A CompositeController sync request that declares Pod children.
pub const COMPOSITE_WITH_CHILDREN: &str = r#"{"controller":{"kind":"CompositeController"},"parent":{"apiVersion":"example.com/v1","kind":"Thing","metadata":{"name":"a","namespace":"default"}},"children":{"Pod.v1":{}},"related":{},"finalizing":false}"#;

/// A DecoratorController sync request with no attachment types.
pub const DECORATOR_NO_ATTACHMENTS: &str = r#"{"controller":{"kind":"DecoratorController"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"}},"attachments":{},"related":{},"finalizing":false}"#;

/// A DecoratorController sync request that declares Service attachments.
pub const DECORATOR_WITH_ATTACHMENTS: &str = r#"{"controller":{"kind":"DecoratorController"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"}},"attachments":{"Service.v1":{}},"related":{},"finalizing":false}"#;

/// A directory of modules the test writes into while the server watches it.
pub struct ModuleDir {
    dir: tempfile::TempDir,
}

impl ModuleDir {
    pub fn new() -> Self {
        ModuleDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes NAME.wasm atomically (as a deployment tool would).
    pub fn put(&self, name: &str, bytes: &[u8]) {
        self.write_atomically(&format!("{name}.wasm"), bytes);
    }

    /// Writes any file (a script, a library) atomically.
    pub fn put_file(&self, file: &str, bytes: &[u8]) {
        self.write_atomically(file, bytes);
    }

    /// Writes NAME.toml, the hook's options.
    pub fn put_options(&self, name: &str, toml: &str) {
        self.write_atomically(&format!("{name}.toml"), toml.as_bytes());
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir.path().join(format!("{name}.wasm"))).expect("remove");
    }

    fn write_atomically(&self, file: &str, bytes: &[u8]) {
        let temp = self.dir.path().join(format!(".{file}.partial"));
        std::fs::write(&temp, bytes).expect("write");
        std::fs::rename(&temp, self.dir.path().join(file)).expect("rename");
    }
}

/// The argv of `hookserver serve ARGS` as the tests run it: an ephemeral port, polling
/// every 100ms.
pub fn serve_argv(args: &[OsString]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = [
        env!("CARGO_BIN_EXE_hookserver"),
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--poll-interval",
        "100ms",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    argv.extend(args.iter().cloned());
    argv
}

/// A running `hookserver serve`, killed on drop.
pub struct Server {
    child: Child,
    pub url: String,
    client: Client,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Serves `modules` with a fresh cache directory.
    pub fn start(modules: &ModuleDir, extra_args: &[&str]) -> Self {
        let cache = tempfile::tempdir().expect("cache dir").keep();
        Self::start_with_cache(modules, &cache, extra_args)
    }

    /// Serves `modules` with the given cache directory.
    pub fn start_with_cache(modules: &ModuleDir, cache: &Path, extra_args: &[&str]) -> Self {
        let mut args = vec![
            OsString::from("--modules"),
            modules.path().into(),
            "--cache-dir".into(),
            cache.into(),
        ];
        args.extend(extra_args.iter().map(OsString::from));
        let server = Self::launch(&args, &[]);
        server.wait_ready();
        server
    }

    /// Starts `hookserver serve ARGS` (on an ephemeral port, polling every 100ms) with extra
    /// environment, and returns once it listens, ready or not.
    pub fn launch(args: &[OsString], env: &[(&str, &OsStr)]) -> Self {
        Self::launch_argv(&serve_argv(args), env, false)
    }

    /// Runs `argv`: a [`serve_argv`], possibly behind a wrapper that ends by exec'ing it (so
    /// the process is the server's), and returns once it listens. With `keep_log`, its
    /// stderr is collected for [`Server::log`] (and still shown with the test's output).
    pub fn launch_argv(argv: &[OsString], env: &[(&str, &OsStr)], keep_log: bool) -> Self {
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(if keep_log {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {:?}: {err}", argv[0]));
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    eprintln!("{line}");
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let url = announced_url(&mut child);
        Server {
            child,
            url,
            client: Client::builder()
                .timeout(PATIENCE)
                .build()
                .expect("http client"),
            log,
        }
    }

    /// What the server logged so far (only for [`Server::launch_argv`] with `keep_log`).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until the log holds a line containing every one of `texts`; returns it.
    pub fn wait_for_log(&self, texts: &[&str]) -> String {
        let mut found = String::new();
        wait_for(&format!("a log line saying {texts:?}"), || {
            let log = self.log();
            match log
                .lines()
                .find(|line| texts.iter().all(|text| line.contains(text)))
            {
                Some(line) => {
                    found = line.to_string();
                    true
                }
                None => false,
            }
        });
        found
    }

    pub fn wait_ready(&self) {
        wait_for("the server to be ready", || {
            self.get("/readyz").status() == 200
        });
    }

    pub fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .expect("GET")
    }

    /// POSTs `body` as JSON.
    pub fn post(&self, path: &str, body: &str) -> Response {
        self.post_with(path, body, &[("content-type", "application/json")])
    }

    /// POSTs `body` with exactly the given headers.
    pub fn post_with(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().expect("POST")
    }

    /// The `/hooks` entry for `name`, if it is listed.
    pub fn hook_status(&self, name: &str) -> Option<Value> {
        let list: Value = self.get("/hooks").json().expect("/hooks JSON");
        list["hooks"]
            .as_array()
            .expect("hooks array")
            .iter()
            .find(|hook| hook["name"] == name)
            .cloned()
    }

    /// Waits until hook `name` serves the module with these bytes.
    pub fn wait_for_module(&self, name: &str, bytes: &[u8]) {
        let expected = format!("sha256:{}", digest(bytes));
        wait_for(&format!("hook {name} to serve {expected}"), || {
            self.hook_status(name)
                .is_some_and(|status| status["digest"] == expected.as_str())
        });
    }

    /// The value of one metric sample line (`name{labels}`), 0 when absent.
    pub fn metric(&self, sample: &str) -> f64 {
        let text = self.get("/metrics").text().expect("metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .map_or(0.0, |value| value.trim().parse().expect("metric value"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory in bytes (`VmRSS` of /proc/PID/status; Linux only).
    pub fn rss(&self) -> u64 {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{path}: {err}; resident memory is read from procfs"));
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS line in {path}"));
        kib << 10
    }

    /// Waits for the process to exit by itself and returns its exit code.
    pub fn wait_exit(mut self) -> Option<i32> {
        wait_for_exit(&mut self.child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` until it holds; fails the test after [`PATIENCE`].
pub fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends SIGTERM to a process.
pub fn terminate(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -TERM {pid}");
}

/// The URL a starting `hookserver serve` prints as its first line on stdout
/// (`hookserver listening on http://ADDR`, or `https://` with TLS).
pub fn announced_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (lines, first_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = lines.send(line);
    });
    let line = first_line
        .recv_timeout(PATIENCE)
        .expect("hookserver printed its address");
    line.trim()
        .strip_prefix("hookserver listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string()
}

/// Waits (up to [`PATIENCE`]) for a process to exit by itself and returns its exit code.
pub fn wait_for_exit(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("hookserver did not exit");
}
