//! When requests are sent.
//!
//! - [`Mode::Closed`]: each connection sends its next request as soon as the previous answer
//!   is in (flat out; the server's speed sets the pace).
//! - [`Mode::Rate`]: open loop. Request `n` is due at `start + n / rate`, whatever happens to
//!   earlier ones. A [`Pacer`] thread releases one permit per slot as it falls due; idle
//!   connections take the permits in order; when every connection is busy, due slots wait,
//!   like events in metacontroller's work queue waiting for a free worker. Latency is
//!   measured from the slot's due time, not from when it could be sent, so a server that
//!   falls behind shows the queueing it causes (no coordinated omission). Slots still
//!   waiting when the run ends are reported as unsent, not silently dropped.
//!
//! Why a thread: Tokio's timer wakes on whole milliseconds, so sleeping on it until each due
//! time would add up to a millisecond of the generator's own lateness to every latency (more
//! than hookserver's whole answer). The pacer sleeps on the OS clock with a 1 µs timer
//! slack, and wakes a worker through a semaphore: tens of microseconds late, not hundreds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every connection sends as fast as answers come back.
    Closed,
    /// A fixed arrival rate in requests per second (open loop).
    Rate(f64),
}

/// The open-loop timetable: slot `n` is due `n / rate` seconds after the start.
#[derive(Debug, Clone, Copy)]
pub struct Timetable {
    start: Instant,
    rate: f64,
}

impl Timetable {
    /// Slots at `rate` per second from `start`.
    pub fn new(start: Instant, rate: f64) -> Self {
        Self { start, rate }
    }

    /// When slot `n` is due.
    pub fn due(&self, n: u64) -> Instant {
        self.start + Duration::from_secs_f64(n as f64 / self.rate)
    }

    /// The first slot due at or after `offset` from the start.
    fn first_at(&self, offset: Duration) -> u64 {
        let mut n = (offset.as_secs_f64() * self.rate).ceil() as u64;
        // Float rounding can land one off either way; settle it on `due` itself.
        while n > 0 && self.due(n - 1) >= self.start + offset {
            n -= 1;
        }
        while self.due(n) < self.start + offset {
            n += 1;
        }
        n
    }

    /// How many slots fall due in `[from, to)` (offsets from the start).
    pub fn slots_between(&self, from: Duration, to: Duration) -> u64 {
        self.first_at(to).saturating_sub(self.first_at(from))
    }
}

/// The open-loop clock: a thread that adds one permit to [`Pacer::permits`] at each due
/// time until `end`, then closes it (so workers waiting for a slot stop).
#[derive(Debug)]
pub struct Pacer {
    permits: Arc<Semaphore>,
    timetable: Timetable,
}

impl Pacer {
    /// Starts the pacer thread for the slots of `timetable` due before `end`.
    pub fn start(timetable: Timetable, end: Instant) -> std::io::Result<Self> {
        let permits = Arc::new(Semaphore::new(0));
        let released = Arc::clone(&permits);
        // Not joined: it ends by itself at `end` at the latest, sooner once closed.
        std::thread::Builder::new()
            .name("hookload-pacer".to_string())
            .spawn(move || pace(timetable, end, &released))?;
        Ok(Self { permits, timetable })
    }

    /// One permit per due slot; closed when the run ends.
    pub fn permits(&self) -> &Semaphore {
        &self.permits
    }

    /// The slots it releases.
    pub fn timetable(&self) -> &Timetable {
        &self.timetable
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.permits.close();
    }
}

fn pace(timetable: Timetable, end: Instant, permits: &Semaphore) {
    precise_sleeps();
    let mut next = 0;
    while !permits.is_closed() {
        let due = timetable.due(next);
        if due >= end {
            break;
        }
        sleep_until(due);
        // Everything due by now: after a late wake-up, catch up in one go.
        let now = Instant::now();
        let mut released = 0;
        while timetable.due(next) <= now && timetable.due(next) < end {
            next += 1;
            released += 1;
        }
        permits.add_permits(released);
    }
    while !permits.is_closed() && Instant::now() < end {
        // In steps, so a run that is dropped early does not keep this thread long.
        sleep_until(end.min(Instant::now() + Duration::from_millis(50)));
    }
    permits.close();
}

fn sleep_until(when: Instant) {
    let now = Instant::now();
    if when > now {
        std::thread::sleep(when - now);
    }
}

/// Asks Linux to wake this thread within 1 µs of the time asked (the default slack is 50 µs).
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and only affects this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1_000 as libc::c_ulong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_evenly_spaced() {
        let start = Instant::now();
        let table = Timetable::new(start, 200.0);
        assert_eq!(table.due(0), start);
        assert_eq!(table.due(1) - start, Duration::from_millis(5));
        assert_eq!(table.due(1000) - start, Duration::from_secs(5));
    }

    #[test]
    fn counts_slots_in_a_window() {
        let table = Timetable::new(Instant::now(), 100.0);
        let s = Duration::from_secs;
        assert_eq!(table.slots_between(s(0), s(1)), 100);
        assert_eq!(table.slots_between(s(2), s(12)), 1000);
        let odd = Timetable::new(Instant::now(), 3.0);
        // Due at 0, 1/3, 2/3 | 1, 4/3, 5/3 | 2 ...
        assert_eq!(odd.slots_between(s(0), s(1)), 3);
        assert_eq!(odd.slots_between(Duration::from_millis(500), s(2)), 4);
        let fractional = Timetable::new(Instant::now(), 0.5);
        assert_eq!(fractional.slots_between(s(0), s(5)), 3);
    }

    #[test]
    fn the_pacer_releases_each_slot_on_time_then_closes() {
        let start = Instant::now();
        let end = start + Duration::from_millis(300);
        let pacer = Pacer::start(Timetable::new(start, 100.0), end).expect("thread");
        let mut lateness = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut slot = 0;
            while let Ok(permit) = pacer.permits().acquire().await {
                permit.forget();
                let due = start + Duration::from_millis(10 * slot);
                lateness.push(Instant::now().saturating_duration_since(due));
                slot += 1;
            }
        });
        assert!(Instant::now() >= end);
        assert_eq!(lateness.len(), 30, "slots due in 300 ms at 100/s");
        lateness.sort();
        // Not early, and most well under Tokio's 1 ms timer tick.
        assert!(lateness[15] < Duration::from_micros(500), "{lateness:?}");
    }
}
