//! One soak from start to end: the files, the server, the load, the changes, the table as
//! it goes, and the report.

use std::ffi::OsString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::changer::{Changer, InFlight};
use super::expect::{Expected, Unexpected, UnexpectedKind, judge};
use super::files::ModulesDir;
use super::plan::Plan;
use super::record::Recorder;
use super::report::{self, Measured, ServerReport, SoakReport};
use super::server::Server;
use super::status::{self, StatusPages};
use super::usage::{self, Sampler};
use super::{Error, Result, SoakConfig};
use crate::schedule::{Pacer, Timetable};
use crate::target::{SendError, Target};

/// Longest wait for the server to print its address, and then to be ready (a debug build
/// compiling every module on a cold cache takes a while).
const START_WAIT: Duration = Duration::from_secs(180);
/// How often the server's memory is read.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How often the table is brought up to date.
const TICK: Duration = Duration::from_millis(500);

/// Runs a soak as `config` says; `progress` gets the table over time, a line per interval
/// as each one closes, and the unexpected outcomes as they are found. The temporary
/// directory (modules, cache, the server's log) is removed when the soak passes and kept
/// otherwise.
pub fn run(config: &SoakConfig, progress: &mut dyn FnMut(&str)) -> Result<SoakReport> {
    config.check()?;
    let plan = Arc::new(Plan::build(&config.sources, config.nonce)?);
    let mut work = tempfile::Builder::new()
        .prefix("hooksoak-")
        .tempdir()
        .map_err(io("create a temporary directory (is TMPDIR writable?)"))?;
    // Kept until the soak is known to have passed.
    work.disable_cleanup(true);
    let modules = ModulesDir::create(work.path().join("modules"))?;
    for (name, bytes) in plan.initial_files() {
        modules.write(&name, bytes)?;
    }
    let args: Vec<OsString> = vec![
        "--modules".into(),
        modules.path().into(),
        "--adapters".into(),
        config.adapters.clone().into(),
        "--cache-dir".into(),
        work.path().join("cache").into(),
        "--response-cache-idle".into(),
        humantime::format_duration(config.response_cache_idle())
            .to_string()
            .into(),
    ];
    let log = work.path().join("server.log");
    let report = Server::start(&config.hookserver, &args, &log, START_WAIT)
        .map_err(Error::from)
        .and_then(|mut server| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(io("start the client runtime"))?;
            runtime.block_on(soak(config, plan, &modules, &mut server, progress))
        });
    match report {
        Ok(report) => {
            if report.passed {
                work.disable_cleanup(false);
            }
            Ok(report)
        }
        Err(err) => Err(Error::Kept {
            dir: work.path().to_path_buf(),
            source: Box::new(err),
        }),
    }
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        what: format!("cannot {what}"),
        source,
    }
}

/// What the workers share.
struct Shared {
    plan: Arc<Plan>,
    /// Per entry of the mix.
    targets: Vec<Target>,
    pacer: Pacer,
    end: Instant,
    timeout: Duration,
    next_slot: AtomicU64,
    next_body: AtomicU64,
    in_flight: InFlight,
    recorder: Mutex<Recorder>,
    /// `spec.who` of the reference requests (see [`super::expect`]).
    reference_who: String,
}

async fn soak(
    config: &SoakConfig,
    plan: Arc<Plan>,
    modules: &ModulesDir,
    server: &mut Server,
    progress: &mut dyn FnMut(&str),
) -> Result<SoakReport> {
    let addr = server.addr();
    let pid = server.pid();
    let mut pages = StatusPages::new(addr).await?;
    pages
        .wait_ready(START_WAIT, || usage::read(pid).is_some())
        .await?;
    check_first_versions(&plan, &mut pages, server).await?;
    let mut targets = Vec::with_capacity(plan.entries.len());
    for entry in &plan.entries {
        let name = plan.hooks[entry.hook].name;
        let url = format!("http://{addr}/hooks/{name}/{{hook}}");
        targets.push(Target::resolve(&url, entry.kind).await?);
    }
    let reference_who = plan.entries[0].template.who(plan.reference);

    let start = Instant::now();
    let end = start + config.duration;
    let sampler = Sampler::start(pid, start, SAMPLE_EVERY).map_err(io("start a thread"))?;
    let timetable = Timetable::new(start, config.rate);
    let shared = Arc::new(Shared {
        targets,
        pacer: Pacer::start(timetable, end).map_err(io("start a thread"))?,
        end,
        timeout: config.timeout,
        next_slot: AtomicU64::new(0),
        next_body: AtomicU64::new(0),
        in_flight: InFlight::new(config.concurrency),
        recorder: Mutex::new(Recorder::new(start, config.interval, plan.entries.len())),
        reference_who,
        plan,
    });
    let mut workers = JoinSet::new();
    for worker_index in 0..config.concurrency {
        workers.spawn(worker(Arc::clone(&shared), worker_index));
    }

    let changer = Changer {
        plan: &shared.plan,
        modules,
        in_flight: &shared.in_flight,
        recorder: &shared.recorder,
        start,
        every: config.change_every,
        end,
    };
    let changes = changer.run(&mut pages);
    tokio::pin!(changes);
    let mut changes_over = false;
    let mut failed_change = None;
    let intervals = config
        .duration
        .as_nanos()
        .div_ceil(config.interval.as_nanos()) as usize;
    let mut table = Table::new(config, timetable, intervals);
    progress(&SoakReport::header());
    let mut stopped_at = None;
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            result = &mut changes, if !changes_over => {
                changes_over = true;
                if let Err(err) = result {
                    failed_change = Some(err);
                    shared.pacer.permits().close();
                    stopped_at.get_or_insert_with(Instant::now);
                }
            }
            joined = workers.join_next() => match joined {
                None => break,
                Some(Ok(())) => {}
                Some(Err(err)) => {
                    return Err(Error::Worker(err.to_string()));
                }
            },
            _ = tick.tick() => {
                if sampler.server_gone() && stopped_at.is_none() {
                    let now = Instant::now();
                    stopped_at = Some(now);
                    shared.pacer.permits().close();
                    shared.recorder.lock().expect("recorder").event(
                        now,
                        Unexpected::new(UnexpectedKind::ServerExited, format!(
                            "the server (pid {pid}) exited {:.1} s after the start; the load \
                             stopped", (now - start).as_secs_f64()
                        )),
                    );
                }
                table.print_ready(&shared.recorder, &sampler.samples(), false, progress);
            }
        }
    }
    if let Some(err) = failed_change {
        return Err(err.into());
    }
    let samples = sampler.finish();
    table.print_ready(&shared.recorder, &samples, true, progress);
    let exited = server.stop(Duration::from_secs(10));
    let loaded = stopped_at.unwrap_or(end).min(end) - start;
    let warmup_s = config.warmup.as_secs_f64();
    let rss: Vec<(f64, u64)> = samples.iter().map(|s| (s.at_s, s.rss_bytes)).collect();
    let recorder = shared.recorder.lock().expect("recorder");
    Ok(SoakReport::new(Measured {
        config,
        plan: &shared.plan,
        recorder: &recorder,
        due: timetable.slots_between(Duration::ZERO, loaded),
        intervals,
        samples,
        flatness: config
            .flat
            .judge(&rss, warmup_s)
            .map_err(|err| err.to_string()),
        server: ServerReport {
            pid,
            exited: exited.map(|status| status.to_string()),
            log: server.log().display().to_string(),
        },
    }))
}

/// Fails unless every hook serves its first version: a soak that starts with a hook that
/// did not load would report only that.
async fn check_first_versions(plan: &Plan, pages: &mut StatusPages, server: &Server) -> Result<()> {
    let hooks = pages.hooks().await?;
    for hook in &plan.hooks {
        let version = &hook.versions[0];
        let entry = status::entry(&hooks, hook.name);
        if !entry.is_some_and(|entry| version.is_shown_by(entry)) {
            return Err(Error::NotServing {
                name: hook.name,
                version: version.label,
                shown: entry.map_or("no such hook".to_string(), |e| e.to_string()),
                log: server.log().to_path_buf(),
            });
        }
    }
    Ok(())
}

/// One connection's loop: take the next due slot, send its entry's request, judge the
/// answer, write it down; until the run ends.
async fn worker(shared: Arc<Shared>, index: usize) {
    let mut connection = None;
    loop {
        let Ok(permit) = shared.pacer.permits().acquire().await else {
            break;
        };
        permit.forget();
        let slot = shared.next_slot.fetch_add(1, Ordering::Relaxed);
        if Instant::now() >= shared.end {
            break;
        }
        let due = shared.pacer.timetable().due(slot);
        let at = shared.plan.wheel.pick(slot);
        let entry = &shared.plan.entries[at];
        let hook = &shared.plan.hooks[entry.hook];
        let n = if entry.identical {
            0
        } else {
            shared.next_body.fetch_add(1, Ordering::Relaxed)
        };
        let target = &shared.targets[at];
        // Begun before reading what is accepted: see `InFlight::settle`.
        shared.in_flight.begin(index);
        let accepting = hook.accepting();
        let request = target.request(entry.template.body(n));
        let answer =
            tokio::time::timeout(shared.timeout, target.send(&mut connection, request)).await;
        let done = Instant::now();
        shared.in_flight.end(index);
        let verdict = match answer {
            Ok(Ok(answer)) => {
                let accepted: Vec<&Expected> = entry
                    .expected
                    .iter()
                    .enumerate()
                    .filter(|(version, _)| accepting & (1 << version) != 0)
                    .map(|(_, expected)| expected)
                    .collect();
                judge(
                    &accepted,
                    answer.status.as_u16(),
                    &answer.body,
                    &entry.template.who(n),
                    &shared.reference_who,
                )
            }
            Ok(Err(err)) => {
                connection = None;
                let (kind, detail) = match err {
                    SendError::Connect => (UnexpectedKind::Connect, "cannot connect to"),
                    SendError::Connection => (
                        UnexpectedKind::Connection,
                        "the connection broke before the whole answer was in from",
                    ),
                };
                super::expect::Verdict::Unexpected(Unexpected::new(
                    kind,
                    format!("{detail} {}", target.url()),
                ))
            }
            Err(_) => {
                // Its state is unknown (an answer may still come): never reuse it.
                connection = None;
                super::expect::Verdict::Unexpected(Unexpected::new(
                    UnexpectedKind::Timeout,
                    format!(
                        "no whole answer from {} within {:?}",
                        target.url(),
                        shared.timeout
                    ),
                ))
            }
        };
        shared.recorder.lock().expect("recorder").request(
            at,
            || entry.name(&shared.plan.hooks),
            due,
            done,
            verdict,
        );
    }
}

/// Prints the table over time: each interval once all its due requests are written down
/// (or the run is over), and each unexpected outcome kept as an example.
struct Table {
    interval: Duration,
    warmup: Duration,
    duration: Duration,
    timetable: Timetable,
    intervals: usize,
    next_row: usize,
    next_example: usize,
}

impl Table {
    fn new(config: &SoakConfig, timetable: Timetable, intervals: usize) -> Self {
        Self {
            interval: config.interval,
            warmup: config.warmup,
            duration: config.duration,
            timetable,
            intervals,
            next_row: 0,
            next_example: 0,
        }
    }

    fn print_ready(
        &mut self,
        recorder: &Mutex<Recorder>,
        samples: &[usage::Sample],
        all: bool,
        progress: &mut dyn FnMut(&str),
    ) {
        let recorder = recorder.lock().expect("recorder");
        for example in &recorder.examples[self.next_example..] {
            progress(&format!(
                "  unexpected at {:.1} s{}: {}: {}\n",
                example.at_s,
                example
                    .entry
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                example.unexpected.kind,
                example.unexpected.detail
            ));
        }
        self.next_example = recorder.examples.len();
        while self.next_row < self.intervals {
            let index = self.next_row;
            let from = self.interval * index as u32;
            let to = (from + self.interval).min(self.duration);
            let due = self.timetable.slots_between(from, to);
            let over = self.timetable.due(0) + to <= Instant::now();
            let complete = over && recorder.requests_in(index) >= due;
            if !(all || complete) {
                break;
            }
            let empty = Default::default();
            let interval = recorder.intervals.get(index).unwrap_or(&empty);
            let row = report::interval_report(
                index,
                interval,
                self.interval.as_secs_f64(),
                self.warmup.as_secs_f64(),
                samples,
            );
            progress(&report::row(&row));
            self.next_row += 1;
        }
    }
}
