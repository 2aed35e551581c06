//! The `hookload` binary over a socket: the JSON report, the table, and failing fast.

mod common;

use std::process::{Command, Output};

use common::{Behaviour, dead_url, hook_server};

async fn hookload(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_hookload"))
            .args(args)
            .output()
            .expect("run hookload")
    })
    .await
    .expect("join")
}

fn args(url: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--url".to_string(), url.to_string()];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_is_one_object_with_the_figures_scripts_read() {
    let (url, seen) = hook_server(Behaviour::Answer).await;
    let quick = [
        "--duration",
        "500ms",
        "--warmup",
        "100ms",
        "--concurrency",
        "2",
    ];
    let out = hookload(args(
        &url,
        &[&quick[..], &["--json", "--expect-json"]].concat(),
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let requests = report["requests"].as_u64().expect("requests");
    assert!(requests > 0);
    assert_eq!(report["errors"]["total"], 0);
    assert_eq!(report["mode"], "closed");
    assert_eq!(report["url"], url.replace("{hook}", "sync"));
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(
            report["latency_ms"][key].as_f64().expect(key) > 0.0,
            "{key}"
        );
    }
    assert!(report["throughput"].as_f64().expect("throughput") > 0.0);
    assert!(report["client_cpu"]["seconds"].is_number());
    let warmup = report["warmup_requests"].as_u64().expect("warmup");
    assert_eq!(seen.requests(), 1 + warmup + requests);

    let out = hookload(args(
        &url,
        &[&quick[..], &["--rate", "50", "--hook", "customize"]].concat(),
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).expect("utf-8");
    for expected in [
        "open loop at 50.0 req/s",
        "/hello-world/customize",
        "p99.9",
        "errors      none",
    ] {
        assert!(table.contains(expected), "{expected:?} in\n{table}");
    }
}

#[tokio::test]
async fn an_unreachable_url_exits_2_naming_it() {
    let url = dead_url().await;
    let out = hookload(args(&url, &[])).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&url.replace("{hook}", "sync")), "{stderr}");
    assert!(stderr.contains("is the server running"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn a_bad_flag_is_a_usage_error() {
    let out = hookload(args("http://127.0.0.1:1/{hook}", &["--rate=-3"])).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--rate"), "{stderr}");
    assert!(stderr.contains("not a positive number"), "{stderr}");
}
