//! The paper's headline: memory of 100 distinct hooks, against 100 webhook processes.
//!
//! hookserver serves 100 distinct modules (hello-world with a custom section making each
//! copy unique, as the paper made one source into many, so deduplication cannot help) from
//! a warm disk cache. RSS and PSS are read right after start, after calling the first 1,
//! 10, 25, 50 and all 100 hooks once, and after the hooks have been idle past
//! `--module-idle`, when their compiled code should have left memory. Then Python standard-
//! library webhook processes serving the same hook (conformance/reference/webhook.py, one
//! per hook, as metacontroller's examples are deployed), 1 to 100 of them, each called once.
//!
//! Prints a table and writes `target/bench/memory.json` (the shape conformance/bench/report.py
//! reads). RSS counts every page a process maps, shared ones included; PSS divides shared
//! pages among the processes sharing them, so 100 Python processes are not charged 100
//! times for one interpreter binary.
//!
//! `make hooks && cargo build --release -p hookserver && cargo bench -p hookserver --bench many_hooks`

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::ffi::OsStr;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Backend, pss_mib, rss_mib};

const HOOKS: usize = 100;
const STEPS: [usize; 6] = [1, 10, 25, 50, 75, 100];
const IDLE: Duration = Duration::from_secs(10);

/// One reading: how many hooks, RSS and PSS in MiB.
type Reading = (usize, f64, f64);

fn main() {
    let root = support::root();
    let request = std::fs::read_to_string(root.join("examples/hello-world/requests/sync.json"))
        .expect("request");
    let client = reqwest::blocking::Client::new();
    let call = |url: String| {
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .body(request.clone())
            .send()
            .expect("call");
        assert_eq!(response.status(), 200);
    };

    let hello = common::example_hook("hello-world");
    let modules = tempfile::tempdir().expect("modules dir");
    for i in 0..HOOKS {
        let module = common::variant(&hello, &format!("copy-{i}"));
        std::fs::write(modules.path().join(format!("hello-{i}.wasm")), module).expect("write");
    }
    let cache = tempfile::tempdir().expect("cache dir");
    let idle = format!("{}s", IDLE.as_secs());
    let args = [
        OsStr::new("--modules"),
        modules.path().as_os_str(),
        OsStr::new("--cache-dir"),
        cache.path().as_os_str(),
        OsStr::new("--module-idle"),
        OsStr::new(&idle),
    ];

    // Compile everything once, so that the measured start reads the disk cache.
    let started = Instant::now();
    drop(Backend::hookserver(&args));
    let first_start = started.elapsed();
    let started = Instant::now();
    let server = Backend::hookserver(&args);
    let restart = started.elapsed();
    let pid = server.pid();
    let at_start = (0, rss_mib(pid), pss_mib(pid));
    let mut hookserver: Vec<Reading> = Vec::new();
    let mut called = 0;
    let mut first_calls = Duration::ZERO;
    for step in STEPS {
        while called < step {
            let started = Instant::now();
            call(format!("{}/hooks/hello-{called}/sync", server.url));
            first_calls += started.elapsed();
            called += 1;
        }
        hookserver.push((step, rss_mib(pid), pss_mib(pid)));
    }
    // Well past the idle time: expiry is noticed on a maintenance tick (every 5 s), and moka
    // checks time-to-idle on its own coarser clock.
    let wait = IDLE + Duration::from_secs(20);
    std::thread::sleep(wait);
    let after_idle = (HOOKS, rss_mib(pid), pss_mib(pid));
    drop(server);

    let mut pythons = Vec::with_capacity(HOOKS);
    let mut python: Vec<Reading> = Vec::new();
    for step in STEPS {
        while pythons.len() < step {
            let mut command = Command::new("python3");
            command
                .arg(root.join("conformance/reference/webhook.py"))
                .args(["--port", "0", "--quiet"]);
            let backend = Backend::start(command);
            call(format!("{}/hello-world/sync", backend.url));
            pythons.push(backend);
        }
        let rss = pythons.iter().map(|p| rss_mib(p.pid())).sum::<f64>();
        let pss = pythons.iter().map(|p| pss_mib(p.pid())).sum::<f64>();
        python.push((step, rss, pss));
    }
    drop(pythons);

    println!("first start, compiling {HOOKS} modules: {first_start:.1?}");
    println!("restart to ready with {HOOKS} cached modules: {restart:.1?}");
    println!(
        "first call of each hook (loaded from the disk cache): mean {:.2?}",
        first_calls / HOOKS as u32
    );
    println!("\n{:<44} {:>9} {:>9}", "", "RSS MiB", "PSS MiB");
    let row = |label: String, (_, rss, pss): Reading| {
        println!("{label:<44} {rss:>9.1} {pss:>9.1}");
    };
    row(
        format!("hookserver, {HOOKS} hooks, right after start"),
        at_start,
    );
    for reading in &hookserver {
        row(format!("hookserver, {} hooks called", reading.0), *reading);
    }
    row(
        format!("hookserver, after {}s idle", wait.as_secs()),
        after_idle,
    );
    for reading in &python {
        row(
            format!("Python webhooks, {} processes", reading.0),
            *reading,
        );
    }

    let points = |readings: &[Reading], pss: bool| {
        readings
            .iter()
            .map(|(hooks, rss, p)| json!({"hooks": hooks, "rss_mib": if pss { *p } else { *rss }}))
            .collect::<Vec<_>>()
    };
    let out = json!({
        "title": "Resident memory against hooks called",
        "command": "cargo bench -p hookserver --bench many_hooks",
        "series": [
            {"name": "hookserver, one process (RSS)", "points": points(&hookserver, false)},
            {"name": "Python, one process per hook (RSS)", "points": points(&python, false)},
            {"name": "Python, one process per hook (PSS)", "points": points(&python, true)},
        ],
        "hookserver": {
            "hooks": HOOKS,
            "first_start_s": first_start.as_secs_f64(),
            "restart_to_ready_ms": restart.as_secs_f64() * 1e3,
            "first_call_mean_ms": first_calls.as_secs_f64() * 1e3 / HOOKS as f64,
            "rss_at_start_mib": at_start.1,
            "rss_all_called_mib": hookserver.last().map_or(0.0, |r| r.1),
            "rss_after_idle_mib": after_idle.1,
            "idle_wait_s": wait.as_secs(),
        },
        "python": {
            "processes": HOOKS,
            "rss_mib": python.last().map_or(0.0, |r| r.1),
            "pss_mib": python.last().map_or(0.0, |r| r.2),
        },
    });
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(
        dir.join("memory.json"),
        serde_json::to_string_pretty(&out).expect("JSON"),
    )
    .expect("write memory.json");
    println!("\nwrote target/bench/memory.json");
}
