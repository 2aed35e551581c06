//! One hook invocation: a fresh WASI context and Store from a pre-linked `InstancePre`,
//! `_start`, and everything dropped when it returns.
//!
//! Guests run as async calls on the caller's task. WASI preview1 is linked in its async
//! form, so no WASI call blocks the thread; Wasm code yields to the executor every epoch
//! tick, so a busy hook shares its worker thread; and at the deadline the call is
//! interrupted (Wasm code) or dropped (a guest waiting in a host call, such as a sleep), so
//! its instance slot is free the moment the timeout is reported.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime::{InstancePre, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::engine::{HostState, Runtime};
use crate::options::{Limits, format_bytes};
use crate::protocol::HookKind;
use crate::script::{GUEST_DIR, ScriptDir};
use crate::stdio::{CappedOutput, TailOutput};

/// Table growth beyond this is refused: no hook needs a million function references.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// How long after its deadline a guest blocked in a host call is dropped. Wasm code is
/// interrupted at the deadline itself; this only covers calls that never return to Wasm.
const HOST_CALL_GRACE: Duration = Duration::from_millis(100);

/// What to run: the module, which hook, the request body and the limits.
pub struct Call<'a> {
    pub name: &'a str,
    /// `argv[1]`: a hook kind, or [`crate::script::CHECK_VERB`] for an adapter's load check.
    pub verb: &'a str,
    pub body: Bytes,
    pub limits: &'a Limits,
    /// For a script hook: its files, preopened read-only, and the entry as `argv[2]`.
    pub script: Option<&'a ScriptDir>,
}

impl<'a> Call<'a> {
    /// A call of hook `hook` (sync, finalize, customize).
    pub fn hook(
        name: &'a str,
        hook: HookKind,
        body: Bytes,
        limits: &'a Limits,
        script: Option<&'a ScriptDir>,
    ) -> Self {
        Call {
            name,
            verb: hook.as_str(),
            body,
            limits,
            script,
        }
    }
}

/// A hook that exited 0.
#[derive(Debug)]
pub struct Output {
    pub stdout: Bytes,
    pub stderr: String,
}

/// Every way a hook can fail: one closed set, turned into HTTP in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `proc_exit` with a non-zero code (a Rust panic with `panic = "abort"` is a trap).
    Exit { code: i32 },
    /// The guest trapped: unreachable, out-of-bounds access, stack overflow, ...
    Trap { reason: String },
    /// Ran past its wall-clock limit.
    Timeout { limit: Duration },
    /// Tried to grow linear memory past its limit (and then failed).
    MemoryLimit { limit: u64, requested: u64 },
    /// Wrote more than the response limit to stdout.
    OutputTooLarge { limit: u64 },
    /// Exited 0 but printed something metacontroller must not receive.
    InvalidOutput { reason: String },
    /// The host could not create the instance (for example the instance pool is exhausted).
    Instantiate { reason: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Exit { code } => write!(f, "exited with code {code}"),
            Failure::Trap { reason } => write!(f, "trapped: {reason}"),
            Failure::Timeout { limit } => write!(
                f,
                "timed out after {} (raise the hook's `timeout` option if it needs longer)",
                humantime::format_duration(*limit)
            ),
            Failure::MemoryLimit { limit, requested } => write!(
                f,
                "exceeded its memory limit of {} (tried to grow to {}; raise the hook's \
                 `memory` option if it needs more)",
                format_bytes(*limit),
                format_bytes(*requested)
            ),
            Failure::OutputTooLarge { limit } => write!(
                f,
                "wrote more than the response limit of {} to stdout (raise the hook's \
                 `max-response` option if the response is legitimately this large)",
                format_bytes(*limit)
            ),
            Failure::InvalidOutput { reason } => {
                write!(f, "returned an invalid response: {reason}")
            }
            Failure::Instantiate { reason } => write!(f, "could not be instantiated: {reason}"),
        }
    }
}

/// A failure and the tail of what the hook wrote to stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFailure {
    pub failure: Failure,
    pub stderr: String,
}

/// Refuses memory growth past the hook's limit and remembers that it did, so a trap that
/// follows (an allocator aborting) is reported as the limit it really is.
pub struct MemoryLimiter {
    limit: u64,
    refused: Option<u64>,
}

impl MemoryLimiter {
    pub fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit,
            refused: None,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            self.refused = Some(desired as u64);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Preopens a script hook's files read-only at [`GUEST_DIR`], writing them again first if
/// they went missing from disk (the files are kept in memory for this).
fn preopen_script(wasi: &mut WasiCtxBuilder, script: &ScriptDir) -> Result<(), String> {
    // Script files are small and freshly written (in the page cache): reading them on the
    // calling thread costs less than a hop to the blocking pool per read.
    wasi.allow_blocking_current_thread(true);
    let open = |wasi: &mut WasiCtxBuilder| {
        wasi.preopened_dir(&script.path, GUEST_DIR, FsPerms::ReadOnly)
            .map(|_| ())
    };
    if open(wasi).is_ok() {
        return Ok(());
    }
    tracing::warn!(dir = %script.path.display(), "a script hook's files are gone from disk; writing them again");
    script.restore().map_err(|err| {
        format!(
            "cannot restore the script's files in {}: {err}",
            script.path.display()
        )
    })?;
    open(wasi).map_err(|err| {
        format!(
            "cannot open the script's files in {}: {err}",
            script.path.display()
        )
    })
}

/// Runs one call to completion (or to its limit).
pub async fn invoke(
    runtime: &Runtime,
    pre: &InstancePre<HostState>,
    call: Call<'_>,
) -> Result<Output, HookFailure> {
    let stdout = CappedOutput::new(call.limits.max_response);
    let stderr = TailOutput::new(call.limits.max_stderr);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(call.body))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    match call.script {
        None => {
            wasi.args(&[call.name, call.verb]);
        }
        Some(script) => {
            wasi.args(&[call.name, call.verb, &script.guest_entry]);
            preopen_script(&mut wasi, script).map_err(|reason| HookFailure {
                failure: Failure::Instantiate { reason },
                stderr: String::new(),
            })?;
        }
    }
    let wasi = wasi.build_p1();

    let mut store = Store::new(
        runtime.engine(),
        HostState {
            wasi,
            limiter: MemoryLimiter::new(call.limits.memory),
        },
    );
    store.limiter(|state| &mut state.limiter);
    let deadline = Instant::now() + call.limits.timeout;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            // tokio's yield_now lets the worker poll for I/O before resuming the guest; a
            // plain self-wake would leave sockets unpolled while busy guests take turns.
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });

    let run = async {
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(Stage::Instantiate)?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(Stage::Run)?;
        start.call_async(&mut store, ()).await.map_err(Stage::Run)
    };
    let result = tokio::time::timeout(call.limits.timeout + HOST_CALL_GRACE, run).await;

    let failure = match result {
        Ok(Ok(())) => None,
        Err(_elapsed) => Some(Failure::Timeout {
            limit: call.limits.timeout,
        }),
        Ok(Err(Stage::Instantiate(err))) => Some(instantiate_failure(&store, call.limits, &err)),
        Ok(Err(Stage::Run(err))) => match err.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => None,
            Some(I32Exit(code)) => Some(Failure::Exit { code: *code }),
            None => Some(classify(&store, &stdout, call.limits, &err)),
        },
    };
    // A call the executor resumed late can finish past its deadline before the interrupt
    // or the timer fires: an answer after the deadline is a timeout all the same.
    let failure = match failure {
        None if Instant::now() > deadline => Some(Failure::Timeout {
            limit: call.limits.timeout,
        }),
        failure => failure,
    };
    match failure {
        None => Ok(Output {
            stdout: stdout.take(),
            stderr: stderr.text(),
        }),
        Some(failure) => Err(HookFailure {
            failure,
            stderr: stderr.text(),
        }),
    }
}

/// Where a call failed: creating the instance, or running it.
enum Stage {
    Instantiate(wasmtime::Error),
    Run(wasmtime::Error),
}

/// Names the cause of an error from `_start`. Limits come first: a trap that follows a
/// refused memory growth is the limit's fault, not the guest's.
fn classify(
    store: &Store<HostState>,
    stdout: &CappedOutput,
    limits: &Limits,
    err: &wasmtime::Error,
) -> Failure {
    if let Some(requested) = store.data().limiter.refused {
        return Failure::MemoryLimit {
            limit: limits.memory,
            requested,
        };
    }
    if stdout.exceeded() {
        return Failure::OutputTooLarge {
            limit: limits.max_response,
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Failure::Timeout {
            limit: limits.timeout,
        },
        Some(Trap::StackOverflow) => Failure::Trap {
            reason: "call stack exhausted (unbounded recursion?)".to_string(),
        },
        Some(trap) => Failure::Trap {
            reason: trap
                .to_string()
                .trim_start_matches("wasm trap: ")
                .to_string(),
        },
        // Not a trap (e.g. an exit status WASI refuses): the root cause says what
        // happened; the outer layers only add a backtrace.
        None => Failure::Trap {
            reason: err.root_cause().to_string(),
        },
    }
}

fn instantiate_failure(
    store: &Store<HostState>,
    limits: &Limits,
    err: &wasmtime::Error,
) -> Failure {
    match store.data().limiter.refused {
        Some(requested) => Failure::MemoryLimit {
            limit: limits.memory,
            requested,
        },
        None => Failure::Instantiate {
            reason: err.root_cause().to_string(),
        },
    }
}
