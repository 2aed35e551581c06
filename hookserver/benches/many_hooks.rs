//! The paper's headline: memory of 100 distinct hooks, against 100 webhook processes.
//!
//! hookserver serves 100 distinct modules (hello-world with a custom section making each
//! copy unique, as the paper made one source into many, so deduplication cannot help) from
//! a warm disk cache. RSS (and PSS) is read right after start, after calling every hook
//! once, and after the hooks have been idle past `--module-idle`, when their compiled code
//! should have left memory. Then 100 Python standard-library webhook processes serving the
//! same hook (conformance/reference/webhook.py), measured the same way.
//!
//! `make hooks && cargo build --release -p hookserver && cargo bench -p hookserver --bench many_hooks`

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::ffi::OsStr;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Backend, pss_mib, rss_mib};

const HOOKS: usize = 100;
const IDLE: Duration = Duration::from_secs(10);

fn main() {
    let root = support::root();
    let request = std::fs::read_to_string(root.join("examples/hello-world/requests/sync.json"))
        .expect("request");
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
    let client = reqwest::blocking::Client::new();
    let call_all = |url: &dyn Fn(usize) -> String| {
        for i in 0..HOOKS {
            let response = client
                .post(url(i))
                .header("content-type", "application/json")
                .body(request.clone())
                .send()
                .expect("call");
            assert_eq!(response.status(), 200);
        }
    };

    // Compile everything once, so that the measured start reads the disk cache.
    let started = Instant::now();
    drop(Backend::hookserver(&args));
    println!(
        "first start, compiling {HOOKS} modules: {:.1?}",
        started.elapsed()
    );

    let started = Instant::now();
    let server = Backend::hookserver(&args);
    let ready = started.elapsed();
    let pid = server.pid();
    println!("restart to ready with {HOOKS} cached modules: {ready:.1?}");
    let report = |when: &str| {
        println!(
            "  hookserver, {when:<34} RSS {:>6.1} MiB  PSS {:>6.1} MiB",
            rss_mib(pid),
            pss_mib(pid)
        );
    };
    report("right after start");
    let first_call = Instant::now();
    let url = |i: usize| format!("{}/hooks/hello-{i}/sync", server.url);
    call_all(&url);
    println!(
        "  (calling each of the {HOOKS} hooks once took {:.1?})",
        first_call.elapsed()
    );
    report("with all called");
    // Well past the idle time: expiry is noticed on a maintenance tick (every 5 s), and moka
    // checks time-to-idle on its own coarser clock.
    let wait = IDLE + Duration::from_secs(20);
    std::thread::sleep(wait);
    report(&format!("after {}s idle", wait.as_secs()));
    drop(server);

    let mut pythons = Vec::with_capacity(HOOKS);
    for _ in 0..HOOKS {
        let mut command = Command::new("python3");
        command
            .arg(root.join("conformance/reference/webhook.py"))
            .args(["--port", "0", "--quiet"]);
        pythons.push(Backend::start(command));
    }
    let sum = |read: fn(u32) -> f64| pythons.iter().map(|p| read(p.pid())).sum::<f64>();
    println!(
        "  {HOOKS} Python webhooks, started          RSS {:>6.1} MiB  PSS {:>6.1} MiB",
        sum(rss_mib),
        sum(pss_mib)
    );
    let url = |i: usize| format!("{}/hello-world/sync", pythons[i].url);
    call_all(&url);
    println!(
        "  {HOOKS} Python webhooks, all called       RSS {:>6.1} MiB  PSS {:>6.1} MiB",
        sum(rss_mib),
        sum(pss_mib)
    );
}
