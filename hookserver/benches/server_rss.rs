//! The server's resident memory before and after 10,000 hook requests over HTTP.
//!
//! Starts the release binary on an ephemeral port serving the example hooks, sends 10,000
//! sync requests that differ from each other (so the response cache cannot answer) from
//! four client threads, and reads VmRSS and VmHWM from /proc.
//!
//! `make hooks && cargo build --release -p hookserver && cargo bench -p hookserver --bench server_rss`

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const REQUESTS: usize = 10_000;
const CLIENTS: usize = 4;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let binary = root.join("target/release/hookserver");
    assert!(
        binary.exists(),
        "{}: run `cargo build --release -p hookserver` first",
        binary.display()
    );
    let cache = tempfile::tempdir().expect("cache dir");
    let mut child = Command::new(&binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--modules"])
        .arg(root.join("target/hooks"))
        .arg("--cache-dir")
        .arg(cache.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hookserver");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let url = line
        .trim()
        .trim_start_matches("hookserver listening on ")
        .to_string();
    let client = reqwest::blocking::Client::new();
    while client
        .get(format!("{url}/readyz"))
        .send()
        .map_or(true, |r| r.status() != 200)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.id();
    let before = memory(pid);

    let template = std::fs::read_to_string(root.join("examples/hello-world/requests/sync.json"))
        .expect("request");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let (template, url) = (&template, &url);
            scope.spawn(move || {
                let client = reqwest::blocking::Client::new();
                for i in (c..REQUESTS).step_by(CLIENTS) {
                    let body = template.replace("Your Name", &format!("visitor {i}"));
                    let response = client
                        .post(format!("{url}/hooks/hello-world/sync"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .expect("request");
                    assert_eq!(response.status(), 200);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let after = memory(pid);
    let _ = child.kill();
    let _ = child.wait();

    println!(
        "{REQUESTS} distinct hello-world sync requests over HTTP from {CLIENTS} clients in {elapsed:.2?} ({:.0}/s)",
        REQUESTS as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  RSS ready: {} KiB, after: {} KiB, peak: {} KiB",
        before.0, after.0, after.1
    );
}

/// (VmRSS, VmHWM) in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
