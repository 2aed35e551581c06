//! How many instances of a hook run at once, and how many requests may wait for one.
//!
//! Each hook version has its own [`Admission`]: a semaphore of `max-instances` permits and a
//! bounded queue in front of it. A request that finds the queue full, or waits longer than
//! its hook's timeout in all, is refused with 429 and `Retry-After`, which metacontroller turns into
//! a requeue instead of an error. One busy hook therefore never delays the others beyond the
//! shared instance pool, which the server bounds separately.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The request was not admitted: the queue is full or the wait took too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no instance became free in time")]
pub struct Overloaded;

pub struct Admission {
    capacity: usize,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Admission {
    pub fn new(instances: u32, max_waiting: usize) -> Self {
        Admission {
            capacity: instances as usize,
            permits: Arc::new(Semaphore::new(instances as usize)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// A permit to run one instance, waiting until `deadline` at most.
    pub async fn admit(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, Overloaded> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let _slot = QueueSlot::take(self)?;
        let acquire = self.permits.clone().acquire_owned();
        match tokio::time::timeout_at(deadline, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore was closed (never done): either way, come back later.
            _ => Err(Overloaded),
        }
    }

    /// Instances running right now.
    pub fn running(&self) -> usize {
        self.capacity - self.permits.available_permits()
    }

    /// Requests waiting right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// A place in the queue, given back on drop (including when the request is cancelled).
struct QueueSlot<'a>(&'a AtomicUsize);

impl<'a> QueueSlot<'a> {
    fn take(admission: &'a Admission) -> Result<Self, Overloaded> {
        admission
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < admission.max_waiting).then_some(n + 1)
            })
            .map(|_| QueueSlot(&admission.waiting))
            .map_err(|_| Overloaded)
    }
}

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn in_secs(secs: f64) -> Instant {
        Instant::now() + Duration::from_secs_f64(secs)
    }

    #[tokio::test]
    async fn full_queue_is_refused_and_slots_come_back() {
        let admission = Arc::new(Admission::new(1, 1));
        let running = admission.admit(in_secs(5.0)).await.expect("free");
        let queued = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit(in_secs(5.0)).await.is_ok() })
        };
        while admission.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(admission.admit(in_secs(5.0)).await.err(), Some(Overloaded));
        drop(running);
        assert!(queued.await.expect("joined"));
        assert_eq!(admission.waiting(), 0);
    }

    #[tokio::test]
    async fn waiting_past_patience_is_refused() {
        let admission = Admission::new(1, 4);
        let _running = admission.admit(in_secs(1.0)).await.expect("free");
        let result = admission.admit(in_secs(0.02)).await;
        assert_eq!(result.err(), Some(Overloaded));
        assert_eq!(admission.waiting(), 0);
    }
}
