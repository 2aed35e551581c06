//! The library against real servers on 127.0.0.1 (see common/): counts, error accounting,
//! distinct bodies, open-loop queueing and request sizes.

mod common;

use std::time::{Duration, Instant};

use common::{Behaviour, dead_url, dropping_server, hook_server};
use hookload::{Mode, Report, RunConfig};

fn config(url: &str, duration_ms: u64) -> RunConfig {
    let mut config = RunConfig::new(url);
    config.duration = Duration::from_millis(duration_ms);
    config.warmup = Duration::ZERO;
    config.concurrency = 2;
    config
}

async fn run(config: &RunConfig) -> Report {
    hookload::run(config).await.expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_sends_one_body_over_and_over() {
    let (url, seen) = hook_server(Behaviour::Answer).await;
    let mut config = config(&url, 300);
    config.identical = true;
    let report = run(&config).await;
    assert!(report.requests > 10, "{}", report.table(true));
    assert_eq!(report.errors.total, 0);
    // The probe is body 0, like every request after it.
    assert_eq!(seen.distinct_bodies(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_counts_every_request_and_every_body_is_distinct() {
    let (url, seen) = hook_server(Behaviour::Answer).await;
    let mut config = config(&url, 1000);
    config.warmup = Duration::from_millis(200);
    config.concurrency = 3;
    let report = run(&config).await;

    assert!(report.requests > 50, "{}", report.table(true));
    assert_eq!(report.errors.total, 0);
    assert_eq!(report.ok, report.requests);
    assert!(report.warmup_requests > 0, "the warm-up sent requests");
    // Everything the server got is accounted for: probe + warm-up + measured.
    assert_eq!(
        seen.requests(),
        1 + report.warmup_requests + report.requests
    );
    assert_eq!(
        seen.distinct_bodies() as u64,
        seen.requests(),
        "no body sent twice"
    );
    assert_eq!(report.connections, 3, "kept alive: no reconnection");
    assert_eq!(report.mode, "closed");
    assert!(report.rate.is_none());
    let latency = &report.latency_ms;
    assert!(0.0 < latency.p50 && latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    assert!(
        report.elapsed_s >= 1.0 && report.elapsed_s < 1.5,
        "{}",
        report.elapsed_s
    );
    let expected = report.requests as f64 / report.elapsed_s;
    assert!((report.throughput - expected).abs() < 1e-6);
    assert_eq!(report.response_bytes, 49);
    assert_eq!(
        report.timeline.iter().map(|s| s.requests).sum::<u64>(),
        report.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_failures_are_errors_by_status_and_not_in_the_latency() {
    let (url, seen) = hook_server(Behaviour::FailEvery(3)).await;
    let report = run(&config(&url, 800)).await;

    assert!(report.requests > 30, "{}", report.table(false));
    assert_eq!(seen.requests(), 1 + report.requests);
    assert_eq!(
        report.errors.by_kind.status.get(&500),
        Some(&seen.spoiled())
    );
    assert_eq!(report.errors.total, seen.spoiled());
    assert_eq!(report.ok + report.errors.total, report.requests);
    assert_eq!(report.probe_status, 200);
    assert!(report.table(false).contains("HTTP 500: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_counted_and_their_connections_replaced() {
    let (url, seen) = hook_server(Behaviour::HangEvery(5)).await;
    let mut config = config(&url, 1000);
    config.timeout = Duration::from_millis(400);
    let report = run(&config).await;

    assert!(seen.spoiled() > 0, "{}", report.table(false));
    assert_eq!(report.errors.by_kind.timeout, seen.spoiled());
    assert_eq!(report.errors.total, report.errors.by_kind.timeout);
    assert_reopened(&report, seen.spoiled());
    assert_eq!(seen.requests(), 1 + report.requests);
    // Answers that came are fast; the hung ones are not in the latency.
    assert!(report.latency_ms.max < 400.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_are_counted_and_reopened() {
    let (url, seen) = dropping_server(4).await;
    let report = run(&config(&url, 800)).await;

    assert!(seen.spoiled() > 5, "{}", report.table(false));
    assert_eq!(report.errors.by_kind.connection, seen.spoiled());
    assert_eq!(report.errors.total, seen.spoiled());
    assert_reopened(&report, seen.spoiled());
    assert_eq!(seen.requests(), 1 + report.requests);
}

/// Each of `broken` connections was replaced, but for those that broke as the run ended
/// (at most one per worker).
fn assert_reopened(report: &Report, broken: u64) {
    let range = broken..=broken + report.concurrency as u64;
    assert!(
        range.contains(&report.connections),
        "{} connections, {broken} broken",
        report.connections
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_json_counts_answers_that_are_not_objects() {
    let (url, seen) = hook_server(Behaviour::ArrayEvery(4)).await;
    let mut config = config(&url, 600);
    config.expect_json = true;
    let report = run(&config).await;
    assert!(seen.spoiled() > 0);
    assert_eq!(report.errors.by_kind.invalid_body, seen.spoiled());
    assert_eq!(report.errors.total, seen.spoiled());

    // Without the flag a 200 is a 200.
    let (url, _) = hook_server(Behaviour::ArrayEvery(4)).await;
    let report = run(&config_without_json(&url)).await;
    assert_eq!(report.errors.total, 0);
}

fn config_without_json(url: &str) -> RunConfig {
    config(url, 300)
}

/// One request at a time, 20 ms each: 50 per second at most.
const SLOW: Behaviour = Behaviour::Serialized(Duration::from_millis(20));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_latency_grows_when_the_rate_exceeds_capacity() {
    let (url, _) = hook_server(SLOW).await;
    let mut over = config(&url, 1200);
    over.mode = Mode::Rate(100.0);
    over.concurrency = 4;
    over.timeline_slice = Duration::from_millis(200);
    let report = run(&over).await;
    let rate = report.rate.as_ref().expect("rate report");

    assert_eq!(rate.due, 120);
    assert!(
        rate.unsent > 20,
        "the server could not keep up: {}",
        report.table(true)
    );
    assert_eq!(rate.unsent + report.requests, rate.due);
    assert!(rate.achieved < 80.0, "{}", report.table(true));
    // Requests queue for a connection: latency from the due time keeps growing, while the
    // time from send stays about 4 x 20 ms (4 connections before one lock).
    assert!(report.latency_ms.max > 300.0, "{}", report.table(true));
    assert!(
        report.latency_ms.max > 3.0 * report.service_ms.max,
        "{}",
        report.table(true)
    );
    let means: Vec<f64> = report
        .timeline
        .iter()
        .filter(|s| s.ok > 0)
        .map(|s| s.mean_ms)
        .collect();
    assert!(means.len() >= 3, "{}", report.table(true));
    assert!(
        means.windows(2).all(|pair| pair[1] > pair[0]),
        "latency grows slice after slice: {means:?}"
    );

    // Below capacity the same server answers each request in about 20 ms, flat.
    let (url, _) = hook_server(SLOW).await;
    let mut under = config(&url, 1000);
    under.mode = Mode::Rate(20.0);
    let calm = run(&under).await;
    let calm_rate = calm.rate.as_ref().expect("rate report");
    assert_eq!(
        (calm_rate.due, calm_rate.unsent, calm.requests),
        (20, 0, 20)
    );
    assert!(
        calm.latency_ms.max * 3.0 < report.latency_ms.max,
        "{}",
        calm.table(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sends_on_schedule_when_the_server_keeps_up() {
    let (url, seen) = hook_server(Behaviour::Answer).await;
    let mut config = config(&url, 1000);
    config.mode = Mode::Rate(200.0);
    config.warmup = Duration::from_millis(250);
    let report = run(&config).await;
    let rate = report.rate.as_ref().expect("rate report");

    assert_eq!((rate.due, report.requests, rate.unsent), (200, 200, 0));
    assert_eq!(report.warmup_requests, 50);
    assert!((rate.achieved - 200.0).abs() < 1e-9);
    assert_eq!(seen.requests(), 1 + 50 + 200);
    assert_eq!(seen.distinct_bodies() as u64, seen.requests());
    // Unloaded, a request goes out at its due time: the generator's own lateness is small
    // next to the answer (no whole-millisecond timer ticks).
    let lateness = report.latency_ms.p50 - report.service_ms.p50;
    assert!((0.0..0.5).contains(&lateness), "{}", report.table(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_children_count_sets_the_request_size() {
    let mut sizes = Vec::new();
    for children in [0, 50, 500] {
        let (url, seen) = hook_server(Behaviour::Answer).await;
        let mut config = config(&url, 300);
        config.children = children;
        let report = run(&config).await;
        assert_eq!(*seen.last_children.lock().expect("lock"), Some(children));
        let at_server = seen.body_bytes.load(std::sync::atomic::Ordering::SeqCst) as f64
            / seen.requests() as f64;
        let reported = report.request_bytes as f64;
        assert!(
            (at_server - reported).abs() / reported < 0.01,
            "{at_server} vs {reported}"
        );
        sizes.push(reported);
    }
    let per_pod = (sizes[1] - sizes[0]) / 50.0;
    assert!(
        (2000.0..4000.0).contains(&per_pod),
        "{per_pod} bytes per Pod"
    );
    let predicted = sizes[0] + 500.0 * per_pod;
    assert!((sizes[2] - predicted).abs() / predicted < 0.02, "{sizes:?}");
}

#[tokio::test]
async fn an_unreachable_target_fails_fast_and_names_the_url() {
    let url = dead_url().await;
    let started = Instant::now();
    let err = hookload::run(&config(&url, 5000))
        .await
        .expect_err("nothing listens");
    let message = err.to_string();
    let concrete = url.replace("{hook}", "sync");
    assert!(message.contains(&concrete), "{message}");
    assert!(message.contains("cannot connect"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_url_without_the_hook_fails_fast_with_the_servers_answer() {
    let (url, _) = hook_server(Behaviour::Answer).await;
    let wrong = url.replace("/hello-world/", "/hooks/hello-world/");
    let err = hookload::run(&config(&wrong, 5000)).await.expect_err("404");
    let message = err.to_string();
    assert!(message.contains("answered 404"), "{message}");
    assert!(
        message.contains(&wrong.replace("{hook}", "sync")),
        "{message}"
    );
    assert!(message.contains("check --url"), "{message}");
}
