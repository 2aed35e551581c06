//! Runs cases against hook backends: maps logical hook names to URLs, runs a bounded number
//! of cases at once, and checks every step's answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::Value;

use crate::assert::{compact, json_equal};
use crate::case::{Case, Step, read_json, request_body};

/// Where each logical hook lives.
#[derive(Debug, Default, Clone)]
pub struct Targets {
    /// `--base URL`: hook NAME is at `URL/hooks/NAME/KIND`.
    pub base: Option<String>,
    /// `--target NAME=URL`: hook NAME is at `URL/KIND` (or `URL` with `{hook}` replaced).
    pub explicit: BTreeMap<String, String>,
}

impl Targets {
    /// The URL of hook `name`'s `kind`, if the backend has it.
    pub fn url(&self, name: &str, kind: &str) -> Option<String> {
        if let Some(url) = self.explicit.get(name) {
            return Some(if url.contains("{hook}") {
                url.replace("{hook}", kind)
            } else {
                format!("{}/{kind}", url.trim_end_matches('/'))
            });
        }
        let base = self.base.as_ref()?;
        Some(format!(
            "{}/hooks/{name}/{kind}",
            base.trim_end_matches('/')
        ))
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub targets: Targets,
    /// Capabilities the backend declares (`--with`); cases requiring others are skipped.
    pub capabilities: BTreeSet<String>,
    /// Cases run at once.
    pub jobs: usize,
    /// Longest wait for one answer; a case that hangs fails here.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    Failed { step: usize, reason: String },
    Skipped { reason: String },
}

#[derive(Debug, Clone)]
pub struct CaseResult {
    pub id: String,
    pub name: String,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// Runs `cases`, calling `on_result` as each finishes (from worker threads, one at a time).
pub fn run(
    cases: &[Case],
    config: &RunConfig,
    on_result: impl Fn(&CaseResult) + Sync,
) -> Vec<CaseResult> {
    let client = Client::builder()
        .timeout(config.timeout)
        .build()
        .expect("an HTTP client with default TLS settings");
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(cases.len()));
    std::thread::scope(|scope| {
        for _ in 0..config.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(index) else { break };
                    let started = Instant::now();
                    let outcome = run_case(&client, case, config);
                    let result = CaseResult {
                        id: case.id.clone(),
                        name: case.name.clone(),
                        outcome,
                        elapsed: started.elapsed(),
                    };
                    let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
                    on_result(&result);
                    results.push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

fn run_case(client: &Client, case: &Case, config: &RunConfig) -> Outcome {
    let missing: Vec<&String> = case
        .requires
        .iter()
        .filter(|c| !config.capabilities.contains(*c))
        .collect();
    if !missing.is_empty() {
        return Outcome::Skipped {
            reason: format!(
                "requires {} (pass --with to declare it)",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    }
    let mut previous_etag: Option<String> = None;
    for (index, step) in case.steps.iter().enumerate() {
        let hook = step.hook.as_deref().unwrap_or(&case.hook);
        let Some(url) = config.targets.url(hook, &step.kind) else {
            return Outcome::Skipped {
                reason: format!("no target for hook {hook:?} (use --base or --target {hook}=URL)"),
            };
        };
        let result = match step.concurrent {
            Some(copies) => run_concurrent(client, case, step, &url, copies),
            None => run_step(client, case, step, &url, previous_etag.as_deref()),
        };
        match result {
            Ok(etag) => previous_etag = etag,
            Err(reason) => {
                return Outcome::Failed {
                    step: index + 1,
                    reason,
                };
            }
        }
    }
    Outcome::Passed
}

/// Sends `copies` of a step at once; passes when at least one answer meets `expect`.
fn run_concurrent(
    client: &Client,
    case: &Case,
    step: &Step,
    url: &str,
    copies: usize,
) -> Result<Option<String>, String> {
    let results: Vec<Result<Option<String>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..copies.max(1))
            .map(|_| scope.spawn(|| run_step(client, case, step, url, None)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a request thread panicked".into()))
            })
            .collect()
    });
    let mut misses = Vec::new();
    for result in results {
        match result {
            Ok(etag) => return Ok(etag),
            Err(reason) => misses.push(reason),
        }
    }
    Err(format!(
        "none of {copies} simultaneous answers met the expectation; first: {}",
        misses.first().map_or("", String::as_str)
    ))
}

/// Sends one step and checks the answer; returns the answer's ETag.
fn run_step(
    client: &Client,
    case: &Case,
    step: &Step,
    url: &str,
    previous_etag: Option<&str>,
) -> Result<Option<String>, String> {
    let body = request_body(step, &case.dir)?;
    let method = reqwest::Method::from_bytes(step.method.as_bytes())
        .map_err(|_| format!("invalid method {:?}", step.method))?;
    let mut request = client.request(method, url).body(body);
    if let Some(content_type) = &step.content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in &step.headers {
        request = request.header(name, value);
    }
    if step.if_none_match_previous {
        let etag =
            previous_etag.ok_or("ifNoneMatchPrevious, but the previous answer carried no ETag")?;
        request = request.header("if-none-match", etag);
    }
    let response = request
        .send()
        .map_err(|err| format!("POST {url}: {}", describe_error(&err)))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let etag = headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response
        .text()
        .map_err(|err| format!("reading the answer: {err}"))?;
    let expect = &step.expect;
    let show_body = || shorten(&text);

    if let Some(expected) = &expect.status
        && !expected.contains(status)
    {
        return Err(format!(
            "status: expected {}, got {status} ({})",
            expected.describe(),
            show_body()
        ));
    }
    for (name, expected) in &expect.headers {
        let got = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        let ok = match (expected, got) {
            (Value::Bool(present), got) => *present == got.is_some(),
            (Value::String(part), Some(got)) => got.to_lowercase().contains(&part.to_lowercase()),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "header {name}: expected {}, got {}",
                compact(expected),
                got.map_or_else(|| "nothing".to_string(), |g| format!("{g:?}"))
            ));
        }
    }
    if expect.body_empty && !text.is_empty() {
        return Err(format!("body: expected none, got {}", show_body()));
    }
    for part in &expect.body_contains {
        if !text.contains(part.as_str()) {
            return Err(format!(
                "body: expected it to contain {part:?}, got {}",
                show_body()
            ));
        }
    }
    if !expect.json.is_empty() || expect.golden.is_some() {
        let json: Value = serde_json::from_str(&text)
            .map_err(|err| format!("body: expected JSON, got {} ({err})", show_body()))?;
        for assertion in &expect.json {
            assertion
                .check(&json)
                .map_err(|m| format!("{}: expected {}, got {}", m.what, m.expected, m.got))?;
        }
        if let Some(golden) = &expect.golden {
            let want = read_json(&case.dir, golden)?;
            if !json_equal(&want, &json) {
                return Err(format!(
                    "body differs from {}: expected {}, got {}",
                    golden.display(),
                    compact(&want),
                    compact(&json)
                ));
            }
        }
    }
    Ok(etag)
}

fn describe_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer within the timeout".to_string()
    } else if err.is_connect() {
        "cannot connect".to_string()
    } else {
        err.to_string()
    }
}

fn shorten(text: &str) -> String {
    let line = text.trim().replace('\n', " ");
    if line.len() > 300 {
        let mut end = 300;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{:?}…", &line[..end])
    } else {
        format!("{line:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_names_to_urls() {
        let mut targets = Targets {
            base: Some("http://a:8080/".to_string()),
            ..Targets::default()
        };
        targets
            .explicit
            .insert("x".to_string(), "http://b/x".to_string());
        targets
            .explicit
            .insert("y".to_string(), "http://c/{hook}-y".to_string());
        assert_eq!(
            targets.url("hello", "sync").as_deref(),
            Some("http://a:8080/hooks/hello/sync")
        );
        assert_eq!(
            targets.url("x", "finalize").as_deref(),
            Some("http://b/x/finalize")
        );
        assert_eq!(targets.url("y", "sync").as_deref(), Some("http://c/sync-y"));
        targets.base = None;
        assert_eq!(targets.url("hello", "sync"), None);
    }
}
