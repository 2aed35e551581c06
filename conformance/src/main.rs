//! `hookconformance`: run the conformance cases against a hook backend.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use conformance::case::Case;
use conformance::report;
use conformance::run::{self, RunConfig, Targets};

/// Run metacontroller hook conformance cases against a backend over HTTP.
#[derive(Parser)]
#[command(name = "hookconformance", version)]
struct Args {
    /// Directory of case files (searched recursively)
    #[arg(long, default_value = "conformance/cases")]
    cases: PathBuf,
    /// Backend serving hook NAME at URL/hooks/NAME/{sync,finalize,customize}
    #[arg(long)]
    base: Option<String>,
    /// Hook NAME served at URL/{sync,finalize,customize} (or URL with {hook} replaced); repeatable
    #[arg(long = "target", value_name = "NAME=URL")]
    targets: Vec<String>,
    /// Capabilities the backend has, e.g. etag,hookserver; cases requiring others are skipped
    #[arg(long = "with", value_delimiter = ',')]
    capabilities: Vec<String>,
    /// Run only cases whose id matches (`*` is a wildcard) or that carry this tag; repeatable
    #[arg(long = "only", value_name = "PATTERN")]
    only: Vec<String>,
    /// Write a JUnit XML report here
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Cases run at once
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Longest wait for one answer
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// List the cases that would run, and stop
    #[arg(long)]
    list: bool,
    /// Before running, wait until GET URL answers 200 (at most --timeout)
    #[arg(long, value_name = "URL")]
    wait_for: Option<String>,
}

fn main() -> ExitCode {
    match run_suite(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("hookconformance: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run_suite(args: Args) -> anyhow::Result<bool> {
    let mut explicit = BTreeMap::new();
    for target in &args.targets {
        let (name, url) = target
            .split_once('=')
            .with_context(|| format!("--target {target:?}: expected NAME=URL"))?;
        explicit.insert(name.to_string(), url.to_string());
    }
    let cases: Vec<Case> = Case::load_all(&args.cases)?
        .into_iter()
        .filter(|case| args.only.is_empty() || args.only.iter().any(|p| selects(p, case)))
        .collect();
    if args.list {
        for case in &cases {
            println!("{}  [{}]  {}", case.id, case.tags.join(","), case.name);
        }
        return Ok(true);
    }
    if args.base.is_none() && explicit.is_empty() {
        bail!("no backend: pass --base URL or --target NAME=URL");
    }
    if let Some(url) = &args.wait_for {
        wait_for(url, args.timeout)?;
    }
    let config = RunConfig {
        targets: Targets {
            base: args.base,
            explicit,
        },
        capabilities: args.capabilities.into_iter().collect::<BTreeSet<_>>(),
        jobs: args.jobs,
        timeout: args.timeout,
    };
    let results = run::run(&cases, &config, |result| {
        println!("{}", report::line(result))
    });
    println!("{}", report::summary(&results));
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&results))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let (passed, failed, _) = report::counts(&results);
    if passed + failed == 0 {
        bail!("no case ran: check --base/--target, --with and --only");
    }
    Ok(failed == 0)
}

/// Polls `url` until it answers 200.
fn wait_for(url: &str, patience: Duration) -> anyhow::Result<()> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = std::time::Instant::now() + patience;
    loop {
        if client
            .get(url)
            .send()
            .is_ok_and(|r| r.status().as_u16() == 200)
        {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!(
                "{url} did not answer 200 within {}",
                humantime::format_duration(patience)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `pattern` selects `case`: a glob on its id, or one of its tags.
fn selects(pattern: &str, case: &Case) -> bool {
    case.tags.iter().any(|tag| tag == pattern) || glob(pattern, &case.id)
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(remainder) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=remainder.len())
                .filter(|i| remainder.is_char_boundary(*i))
                .any(|i| glob(rest, &remainder[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("examples/*", "examples/hello-world/sync-first"));
        assert!(glob("*sync*", "protocol/composite-sync"));
        assert!(glob("protocol/etag", "protocol/etag"));
        assert!(!glob("examples/*", "protocol/a"));
        assert!(!glob("a*b", "a-c"));
    }
}
