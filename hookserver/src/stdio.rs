//! In-memory stdout and stderr for one invocation.
//!
//! stdout is capped: a write past the response limit stops the hook at once (a trap carrying
//! [`OutputLimitExceeded`]) instead of letting it run on to its timeout. stderr is a tail:
//! only the last bytes are kept, because the end of a log says why a program failed, and a
//! chatty hook is not an error.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// The largest single write the guest is told it may make; it splits larger ones.
const WRITE_PERMIT: usize = 64 << 10;

/// Raised (as a trap) when a hook writes more than its response limit.
#[derive(Debug, thiserror::Error)]
#[error("response exceeds the limit of {limit} bytes")]
pub struct OutputLimitExceeded {
    pub limit: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave a byte buffer inconsistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// stdout: everything the hook writes, up to `limit` bytes.
#[derive(Clone)]
pub struct CappedOutput {
    inner: Arc<Mutex<Capped>>,
    limit: u64,
}

#[derive(Default)]
struct Capped {
    buffer: BytesMut,
    exceeded: bool,
}

impl CappedOutput {
    pub fn new(limit: u64) -> Self {
        CappedOutput {
            inner: Arc::default(),
            limit,
        }
    }

    /// Takes what was written so far.
    pub fn take(&self) -> Bytes {
        std::mem::take(&mut lock(&self.inner).buffer).freeze()
    }

    /// Whether the hook tried to write past the limit (however it reacted to the refusal).
    pub fn exceeded(&self) -> bool {
        lock(&self.inner).exceeded
    }

    fn append(&self, bytes: &[u8]) -> Result<(), OutputLimitExceeded> {
        let mut inner = lock(&self.inner);
        if (inner.buffer.len() + bytes.len()) as u64 > self.limit {
            inner.exceeded = true;
            return Err(OutputLimitExceeded { limit: self.limit });
        }
        inner.buffer.extend_from_slice(bytes);
        Ok(())
    }
}

/// stderr: the last `limit` bytes the hook wrote, and how many came before them.
#[derive(Clone)]
pub struct TailOutput {
    inner: Arc<Mutex<Tail>>,
}

#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
    dropped: u64,
    limit: usize,
}

impl TailOutput {
    pub fn new(limit: u64) -> Self {
        TailOutput {
            inner: Arc::new(Mutex::new(Tail {
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
                ..Tail::default()
            })),
        }
    }

    /// The kept tail as text (lossy UTF-8), prefixed by a note when older output was dropped.
    pub fn text(&self) -> String {
        let tail = lock(&self.inner);
        let (front, back) = tail.bytes.as_slices();
        let text = String::from_utf8_lossy(&[front, back].concat()).into_owned();
        if tail.dropped > 0 {
            format!("[{} earlier bytes dropped] {text}", tail.dropped)
        } else {
            text
        }
    }

    fn append(&self, bytes: &[u8]) {
        let mut tail = lock(&self.inner);
        let limit = tail.limit;
        let keep = bytes.len().min(limit);
        let skipped = bytes.len() - keep;
        tail.bytes.extend(&bytes[skipped..]);
        let excess = tail.bytes.len().saturating_sub(limit);
        tail.bytes.drain(..excess);
        tail.dropped += (skipped + excess) as u64;
    }
}

/// One implementation of wasmtime-wasi's stream traits for both sinks.
trait Sink: Clone + Send + Sync + 'static {
    fn write_all(&self, bytes: &[u8]) -> Result<(), StreamError>;
}

impl Sink for CappedOutput {
    fn write_all(&self, bytes: &[u8]) -> Result<(), StreamError> {
        self.append(bytes)
            .map_err(|e| StreamError::Trap(wasmtime::Error::new(e)))
    }
}

impl Sink for TailOutput {
    fn write_all(&self, bytes: &[u8]) -> Result<(), StreamError> {
        self.append(bytes);
        Ok(())
    }
}

/// Adapts a [`Sink`] to the stream traits WASI needs.
struct SinkStream<S>(S);

impl<S: Sink> OutputStream for SinkStream<S> {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.write_all(&bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: the cap is enforced on write, so an oversized response traps
        // instead of blocking forever on a full buffer.
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl<S: Sink> Pollable for SinkStream<S> {
    async fn ready(&mut self) {}
}

impl<S: Sink> AsyncWrite for SinkStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(
            self.0
                .write_all(buf)
                .map(|()| buf.len())
                .map_err(|e| io::Error::other(e.to_string())),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

macro_rules! stdout_stream {
    ($sink:ty) => {
        impl IsTerminal for $sink {
            fn is_terminal(&self) -> bool {
                false
            }
        }

        impl StdoutStream for $sink {
            fn p2_stream(&self) -> Box<dyn OutputStream> {
                Box::new(SinkStream(self.clone()))
            }

            fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
                Box::new(SinkStream(self.clone()))
            }
        }
    };
}

stdout_stream!(CappedOutput);
stdout_stream!(TailOutput);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_output_refuses_writes_past_the_limit() {
        let out = CappedOutput::new(5);
        assert!(out.append(b"abc").is_ok());
        assert!(out.append(b"def").is_err());
        assert!(out.exceeded());
        assert!(out.append(b"de").is_ok());
        assert_eq!(out.take(), Bytes::from_static(b"abcde"));
    }

    #[test]
    fn tail_keeps_the_last_bytes_and_counts_the_rest() {
        let tail = TailOutput::new(4);
        tail.append(b"ab");
        assert_eq!(tail.text(), "ab");
        tail.append(b"cdef");
        assert_eq!(tail.text(), "[2 earlier bytes dropped] cdef");
        tail.append(b"0123456789");
        assert_eq!(tail.text(), "[12 earlier bytes dropped] 6789");
    }

    #[test]
    fn empty_tail_keeps_nothing() {
        let tail = TailOutput::new(0);
        tail.append(b"lost");
        assert_eq!(tail.text(), "[4 earlier bytes dropped] ");
    }
}
