//! Hook changes while the load runs: every `every`, the next hook that has two versions
//! (in turn: hello-world's options, swap's module, slow's options) is switched to its
//! other version, and the server must show the new version in `GET /hooks` within `every`.
//!
//! Which answers are right around a switch:
//! 1. Both versions' outcomes are accepted from now on; then the switch waits until every
//!    request sent before that is over ([`InFlight::settle`]). A request sent earlier that
//!    reached the server late could otherwise meet the new version while accepting only
//!    the old one.
//! 2. The files are written (whole, see [`super::files`]).
//! 3. `GET /hooks` is polled until the hook shows the new version (digest and options);
//!    from then on only the new version's outcome is accepted: the server replaces a
//!    hook's route before `GET /hooks` can show it, so every request sent later meets it.
//!    Not shown in time is an unexpected outcome, and both stay accepted.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::expect::{Unexpected, UnexpectedKind, excerpt};
use super::files::{self, ModulesDir};
use super::plan::Plan;
use super::record::{Change, Recorder};
use super::status::{self, StatusPages};

/// How often `GET /hooks` is read while waiting for a change to show.
const POLL: Duration = Duration::from_millis(50);

/// Per worker, requests started and finished: lets a switch wait for the requests sent
/// before it without a lock on the request path.
#[derive(Debug)]
pub struct InFlight {
    workers: Vec<[AtomicU64; 2]>,
}

impl InFlight {
    pub fn new(workers: usize) -> Self {
        Self {
            workers: (0..workers)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
        }
    }

    /// Worker `worker` starts a request. Call before reading what the request accepts.
    pub fn begin(&self, worker: usize) {
        self.workers[worker][0].fetch_add(1, Ordering::SeqCst);
    }

    /// Worker `worker`'s request is over.
    pub fn end(&self, worker: usize) {
        self.workers[worker][1].fetch_add(1, Ordering::SeqCst);
    }

    /// Waits until every request begun before this call has ended. A request begun after
    /// it reads what is accepted after the caller changed it (sequentially consistent
    /// counters and flags).
    pub async fn settle(&self) {
        let begun: Vec<u64> = self
            .workers
            .iter()
            .map(|w| w[0].load(Ordering::SeqCst))
            .collect();
        while self
            .workers
            .iter()
            .zip(&begun)
            .any(|(w, &begun)| w[1].load(Ordering::SeqCst) < begun)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// What the changes need from the run.
#[derive(Debug)]
pub struct Changer<'a> {
    pub plan: &'a Plan,
    pub modules: &'a ModulesDir,
    pub in_flight: &'a InFlight,
    pub recorder: &'a Mutex<Recorder>,
    /// The load's start, the period of changes, and the load's end.
    pub start: Instant,
    pub every: Duration,
    pub end: Instant,
}

impl Changer<'_> {
    /// Runs the changes until the last one that has `every` left before `end`; see the
    /// module docs. Fails only when a file cannot be written.
    pub async fn run(&self, pages: &mut StatusPages) -> files::Result<()> {
        let plan = self.plan;
        let changing: Vec<usize> = (0..plan.hooks.len())
            .filter(|&h| plan.hooks[h].versions.len() > 1)
            .collect();
        let mut serving = vec![0usize; plan.hooks.len()];
        for turn in 0u32.. {
            let at = self.start + self.every * (turn + 1);
            if changing.is_empty() || at + self.every > self.end {
                break;
            }
            tokio::time::sleep_until(at.into()).await;
            let index = changing[turn as usize % changing.len()];
            let to = (serving[index] + 1) % plan.hooks[index].versions.len();
            self.switch(pages, index, serving[index], to).await?;
            serving[index] = to;
        }
        Ok(())
    }

    /// Switches hook `index` from version `from` to `to`; see the module docs.
    async fn switch(
        &self,
        pages: &mut StatusPages,
        index: usize,
        from: usize,
        to: usize,
    ) -> files::Result<()> {
        let hook = &self.plan.hooks[index];
        hook.accept(1 << from | 1 << to);
        self.in_flight.settle().await;
        let written_at = Instant::now();
        self.modules.replace(&hook.files(from), &hook.files(to))?;
        let version = &hook.versions[to];
        let (seen_after, last) = wait_for(
            pages,
            hook.name,
            |entry| version.is_shown_by(entry),
            self.every,
        )
        .await;
        let mut recorder = self.recorder.lock().expect("recorder");
        match seen_after {
            Some(_) => hook.accept(1 << to),
            None => {
                recorder.event(
                    written_at,
                    Unexpected::new(
                        UnexpectedKind::ChangeNotSeen,
                        format!(
                            "hook {:?} switched to {} {:.1} s after the start, but GET /hooks \
                             did not show it within {:?}; last seen: {last}",
                            hook.name,
                            version.label,
                            (written_at - self.start).as_secs_f64(),
                            self.every
                        ),
                    ),
                );
            }
        }
        recorder.change(
            written_at,
            Change {
                at_s: 0.0,
                hook: hook.name,
                from: hook.versions[from].label,
                to: version.label,
                seen_after,
            },
        );
        Ok(())
    }
}

/// Polls `GET /hooks` until hook `name`'s entry passes `shown`, at most `limit`. Returns
/// how long that took (`None`: not in time) and the last entry read, for an error message.
async fn wait_for(
    pages: &mut StatusPages,
    name: &str,
    shown: impl Fn(&serde_json::Value) -> bool,
    limit: Duration,
) -> (Option<Duration>, String) {
    let written = Instant::now();
    let mut last = "nothing".to_string();
    while written.elapsed() < limit {
        match pages.hooks().await {
            Ok(hooks) => match status::entry(&hooks, name) {
                Some(entry) if shown(entry) => return (Some(written.elapsed()), String::new()),
                Some(entry) => last = excerpt(entry.to_string().as_bytes()),
                None => last = format!("no hook {name:?}"),
            },
            Err(err) => last = err.to_string(),
        }
        tokio::time::sleep(POLL).await;
    }
    (None, last)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settling_waits_for_requests_begun_before_and_only_those() {
        let in_flight = Arc::new(InFlight::new(2));
        in_flight.begin(0);
        in_flight.begin(1);
        in_flight.end(1);
        let settled = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (in_flight, settled) = (in_flight.clone(), settled.clone());
            tokio::spawn(async move {
                in_flight.settle().await;
                settled.store(true, Ordering::SeqCst);
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!settled.load(Ordering::SeqCst), "worker 0 is still busy");
        // A request begun after settle started does not hold it up.
        in_flight.begin(1);
        in_flight.end(0);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("settled")
            .expect("task");
        assert!(settled.load(Ordering::SeqCst));
    }
}
