//! The server under test: a `hookserver serve` child process on 127.0.0.1 with a port the
//! kernel picks, its log in a file, stopped when dropped.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the server prints on stdout once it listens, before the address.
const LISTENING: &str = "hookserver listening on http://";

/// A server that cannot be started or stopped cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot start {binary}: {source}; build it (cargo build --release -p hookserver) and pass its path to --hookserver"
    )]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the server's log {path}: {source}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{binary} did not print \"{LISTENING}ADDR\" within {waited:?} ({why}); its log \
         ({log}) ends with:\n{tail}"
    )]
    NoAddress {
        binary: PathBuf,
        waited: Duration,
        why: String,
        log: PathBuf,
        tail: String,
    },
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A running server; see the module docs.
#[derive(Debug)]
pub struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    /// Set once the process has been waited for.
    status: Option<ExitStatus>,
}

impl Server {
    /// Runs `binary serve ARGS --listen 127.0.0.1:0`, stderr into `log`, and waits up to
    /// `wait` for the address it prints.
    pub fn start(binary: &Path, args: &[OsString], log: &Path, wait: Duration) -> Result<Self> {
        let log_file = std::fs::File::create(log).map_err(|source| Error::Log {
            path: log.to_path_buf(),
            source,
        })?;
        let mut child = Command::new(binary)
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|source| Error::Spawn {
                binary: binary.to_path_buf(),
                source,
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (found, address) = mpsc::channel();
        // Reads stdout to its end, so the server never blocks on a full pipe.
        std::thread::Builder::new()
            .name("hooksoak-server-stdout".to_string())
            .spawn(move || {
                let mut found = Some(found);
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.strip_prefix(LISTENING)
                        && let Some(found) = found.take()
                    {
                        let _ = found.send(addr.trim().to_string());
                    }
                }
            })
            .map_err(|source| Error::Spawn {
                binary: binary.to_path_buf(),
                source,
            })?;
        let no_address = |why: String| Error::NoAddress {
            binary: binary.to_path_buf(),
            waited: wait,
            why,
            log: log.to_path_buf(),
            tail: log_tail(log),
        };
        let addr = match address.recv_timeout(wait) {
            Ok(text) => text
                .parse::<SocketAddr>()
                .map_err(|_| no_address(format!("{text:?} is not an address"))),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(no_address("timed out".to_string())),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(no_address("its stdout closed; it exited".to_string()))
            }
        };
        let mut server = Self {
            child,
            addr: "127.0.0.1:0".parse().expect("an address"),
            log: log.to_path_buf(),
            status: None,
        };
        // On failure the server is dropped here, which stops the process.
        server.addr = addr?;
        Ok(server)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log file (stderr).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// How it ended, if it has (without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Asks it to stop (SIGTERM: it finishes in-flight requests) and waits up to `grace`,
    /// then kills it. Returns how it ended if it had ended by itself before.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let before = self.exited();
        if before.is_some() {
            return before;
        }
        #[cfg(unix)]
        // SAFETY: kill(2) with a pid of our own child that has not been waited for.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.status = self.child.wait().ok();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// The last lines of the log, for an error message.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    if tail.is_empty() {
        "(nothing)".to_string()
    } else {
        tail
    }
}
