//! `hookload`: load a metacontroller hook backend and report throughput, latency and errors.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use hookload::{HookKind, Mode, RunConfig};

/// Send realistic metacontroller hook requests (hello-world CompositeController) to a
/// backend over HTTP and report throughput, latency percentiles and errors.
///
/// Without --rate, each of --concurrency connections sends flat out (closed loop). With
/// --rate, requests are due at fixed intervals whatever the answers (open loop), at most
/// --concurrency in flight, and latency counts from each request's due time.
#[derive(Debug, Parser)]
#[command(name = "hookload", version)]
struct Args {
    /// The hook's URL; {hook} becomes the hook kind, e.g.
    /// http://127.0.0.1:8080/hooks/hello-world/{hook}
    #[arg(long, value_name = "TEMPLATE")]
    url: String,
    /// Which hook to call
    #[arg(long, value_enum, default_value_t = HookKind::Sync)]
    hook: HookKind,
    /// Observed Pods in each request (0: tiny requests; hello-world itself owns 1)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=1000))]
    children: u16,
    /// Open loop: requests per second, sent on schedule whatever the answers
    #[arg(long, value_name = "PER_SECOND", value_parser = positive_rate)]
    rate: Option<f64>,
    /// Connections: each sends flat out, or with --rate, the most requests in flight
    /// (default 5, metacontroller's --workers)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// How long to measure, after the warm-up
    #[arg(long, default_value = "10s", value_parser = nonzero_duration)]
    duration: Duration,
    /// Sent before measuring and left out of the figures
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Longest wait for one whole answer (metacontroller's default webhook timeout)
    #[arg(long, default_value = "10s", value_parser = nonzero_duration)]
    timeout: Duration,
    /// Tokio worker threads of the load generator (keep it low on a small machine: the
    /// server under test needs the cores)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
    /// Count a 200 whose body is not a JSON object as an error
    #[arg(long)]
    expect_json: bool,
    /// Send one identical request over and over (a resync storm) instead of distinct ones
    #[arg(long)]
    identical: bool,
    /// Print the report as one JSON object
    #[arg(long)]
    json: bool,
    /// Add one line per second of the window to the table (the JSON always has it)
    #[arg(long)]
    timeline: bool,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of requests per second, e.g. 200 or 0.5"
        )),
    }
}

fn nonzero_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be above zero".to_string()),
        Err(err) => Err(format!("{err}; write it like 10s, 500ms or 2m")),
    }
}

impl Args {
    fn config(&self) -> RunConfig {
        let mut config = RunConfig::new(&self.url);
        config.hook = self.hook;
        config.children = usize::from(self.children);
        config.mode = self.rate.map_or(Mode::Closed, Mode::Rate);
        config.concurrency = usize::from(self.concurrency);
        config.duration = self.duration;
        config.warmup = self.warmup;
        config.timeout = self.timeout;
        config.threads = usize::from(self.threads);
        config.expect_json = self.expect_json;
        config.identical = self.identical;
        config
    }
}

fn main() -> ExitCode {
    match load(&Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hookload: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn load(args: &Args) -> anyhow::Result<ExitCode> {
    let report = hookload::run_blocking(&args.config())?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).context("cannot write the report as JSON")?
        );
    } else {
        print!("{}", report.table(args.timeline));
    }
    if report.ok == 0 {
        eprintln!(
            "hookload: no request to {} succeeded in the window; see the errors above",
            report.url
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Args, String> {
        let mut argv = vec!["hookload", "--url", "http://127.0.0.1:1/{hook}"];
        argv.extend_from_slice(flags);
        Args::try_parse_from(argv).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_a_closed_loop_on_five_connections() {
        let config = parse(&[]).expect("args").config();
        assert_eq!(config.mode, Mode::Closed);
        assert_eq!(
            (config.concurrency, config.threads, config.children),
            (5, 1, 1)
        );
        assert_eq!(config.duration, Duration::from_secs(10));
        assert_eq!(config.warmup, Duration::from_secs(2));
        assert_eq!(config.hook, HookKind::Sync);
    }

    #[test]
    fn flags_reach_the_config() {
        let config = parse(&[
            "--hook",
            "customize",
            "--rate",
            "250.5",
            "--children",
            "1000",
            "--duration",
            "1m",
            "--warmup",
            "0s",
            "--threads",
            "2",
            "--expect-json",
        ])
        .expect("args")
        .config();
        assert_eq!(config.mode, Mode::Rate(250.5));
        assert_eq!(config.hook, HookKind::Customize);
        assert_eq!(config.children, 1000);
        assert_eq!(config.duration, Duration::from_secs(60));
        assert!(config.warmup.is_zero() && config.expect_json);
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        for (flags, says) in [
            (&["--rate", "0"][..], "not a positive number"),
            (&["--rate", "fast"], "not a positive number"),
            (&["--children", "1001"], "1001 is not in 0..=1000"),
            (&["--concurrency", "0"], "0 is not in 1..=1024"),
            (&["--duration", "10"], "write it like 10s"),
            (&["--duration", "0s"], "must be above zero"),
            (
                &["--hook", "sink"],
                "possible values: sync, finalize, customize",
            ),
        ] {
            let err = parse(flags).expect_err(says);
            assert!(err.contains(says), "{flags:?}: {err}");
        }
        let missing = Args::try_parse_from(["hookload"])
            .expect_err("no --url")
            .to_string();
        assert!(missing.contains("--url <TEMPLATE>"), "{missing}");
    }
}
