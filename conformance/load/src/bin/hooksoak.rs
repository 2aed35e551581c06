//! `hooksoak`: minutes of mixed traffic against a real `hookserver`, with hooks replaced
//! while it runs; fails on any unexpected answer or when the server's memory grows.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use hookload::soak::{self, SoakConfig, Sources};

/// Start hookserver on a temporary modules directory, send it mixed metacontroller traffic
/// (several hooks, 0 to 1000 Pods per request, a failing and a timing-out hook) at a fixed
/// rate while switching hooks to other modules and options, and check every answer and the
/// server's memory.
///
/// Prints a line per interval (throughput, outcomes, latency percentiles, RSS and PSS) and
/// a summary; writes every figure as JSON. Exits 1 when an answer was unexpected, the
/// server's RSS grew after the warm-up, the rate was not sustained or the server exited;
/// 2 when the soak could not run.
#[derive(Debug, Parser)]
#[command(name = "hooksoak", version)]
struct Args {
    /// The hookserver binary to start (release or debug build)
    #[arg(long, value_name = "PATH")]
    hookserver: PathBuf,
    /// The example hooks, as `make hooks` builds them
    #[arg(long, value_name = "DIR", default_value = "target/hooks")]
    hooks: PathBuf,
    /// The conformance fixtures (fixture-fail.wasm, fixture-slow.wasm)
    #[arg(long, value_name = "DIR", default_value = "target/wasm32-wasip1/hook")]
    fixtures: PathBuf,
    /// The script adapters, as `make adapters` builds them
    #[arg(long, value_name = "DIR", default_value = "target/adapters")]
    adapters: PathBuf,
    /// Requests per second, all hooks together (the default takes about 15% of a core with
    /// a release build of the server, half a core with a debug build)
    #[arg(long, value_name = "PER_SECOND", default_value_t = 50.0, value_parser = positive_rate)]
    rate: f64,
    /// How long the load runs
    #[arg(long, default_value = "10m", value_parser = duration)]
    duration: Duration,
    /// Left out of the memory verdict while caches fill [default: a fifth of --duration,
    /// at most 1m]
    #[arg(long, value_parser = humantime::parse_duration)]
    warmup: Option<Duration>,
    /// One line of the table
    #[arg(long, default_value = "10s", value_parser = duration)]
    interval: Duration,
    /// How often a hook is switched to its other module or options
    #[arg(long, default_value = "10s", value_parser = duration)]
    change_every: Duration,
    /// The most requests in flight (connections)
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Longest wait for one answer
    #[arg(long, default_value = "10s", value_parser = duration)]
    timeout: Duration,
    /// Where to write the report as JSON
    #[arg(long, value_name = "FILE", default_value = "target/soak/report.json")]
    json: PathBuf,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of requests per second, e.g. 100 or 0.5"
        )),
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be above zero".to_string()),
        Err(err) => Err(format!("{err}; write it like 60s, 500ms or 10m")),
    }
}

impl Args {
    fn config(&self) -> SoakConfig {
        let mut config = SoakConfig::new(&self.hookserver);
        config.sources = Sources {
            hooks: self.hooks.clone(),
            fixtures: self.fixtures.clone(),
        };
        config.adapters = self.adapters.clone();
        config.rate = self.rate;
        config.duration = self.duration;
        config.warmup = self
            .warmup
            .unwrap_or_else(|| SoakConfig::default_warmup(self.duration));
        config.interval = self.interval;
        config.change_every = self.change_every;
        config.concurrency = usize::from(self.concurrency);
        config.timeout = self.timeout;
        config
    }
}

fn main() -> ExitCode {
    match soak(&Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hooksoak: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn soak(args: &Args) -> anyhow::Result<ExitCode> {
    let config = args.config();
    println!(
        "hooksoak: {} for {:?} at {} req/s (warm-up {:?}), report in {}",
        config.hookserver.display(),
        config.duration,
        config.rate,
        config.warmup,
        args.json.display()
    );
    let mut stdout = std::io::stdout();
    let report = soak::run(&config, &mut |text: &str| {
        // Shown as it happens, even when stdout is a pipe.
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    })?;
    print!("\n{}", report.summary());
    write_json(&args.json, &report)?;
    if !report.passed {
        eprintln!(
            "hooksoak: the soak failed; the server's log and modules are kept beside {}",
            report.server.log
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn write_json(path: &Path, report: &soak::SoakReport) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {} for the report", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(report).context("cannot write the report as JSON")?;
    std::fs::write(path, json).with_context(|| {
        format!(
            "cannot write the report to {}; pass another --json",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Args, String> {
        let mut argv = vec!["hooksoak", "--hookserver", "target/release/hookserver"];
        argv.extend_from_slice(flags);
        Args::try_parse_from(argv).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_make_soak() {
        let config = parse(&[]).expect("args").config();
        assert_eq!(config.duration, Duration::from_secs(600));
        assert_eq!(config.warmup, Duration::from_secs(60));
        assert_eq!(config.rate, 50.0);
        assert_eq!(config.concurrency, 32);
        assert_eq!(config.sources.hooks, Path::new("target/hooks"));
    }

    #[test]
    fn a_short_run_warms_up_for_a_fifth_of_it() {
        let config = parse(&["--duration", "60s", "--rate", "20.5"])
            .expect("args")
            .config();
        assert_eq!(config.warmup, Duration::from_secs(12));
        assert_eq!(config.rate, 20.5);
        let config = parse(&["--duration", "60s", "--warmup", "0s"])
            .expect("args")
            .config();
        assert_eq!(config.warmup, Duration::ZERO);
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        for (flags, says) in [
            (&["--rate", "0"][..], "not a positive number"),
            (&["--duration", "10"], "write it like 60s"),
            (&["--interval", "0s"], "must be above zero"),
            (&["--concurrency", "0"], "0 is not in 1..=1024"),
        ] {
            let err = parse(flags).expect_err(says);
            assert!(err.contains(says), "{flags:?}: {err}");
        }
        let missing = Args::try_parse_from(["hooksoak"])
            .expect_err("no --hookserver")
            .to_string();
        assert!(missing.contains("--hookserver <PATH>"), "{missing}");
    }
}
