//! A value parsed from files and parsed again whenever their content changes: the TLS
//! certificate and key, the bearer tokens, the basic-auth users.
//!
//! Kubernetes updates a mounted Secret by swapping a symlink, and cert-manager renews a
//! certificate without restarting anyone, so these files change under a running server. A
//! task re-reads them every [`RELOAD_INTERVAL`] and compares the bytes; the files are small.
//! A new content that fails to parse is logged and the previous value keeps serving: a
//! half-written or wrong file must never take the server down or lock everybody out.

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

/// How often watched files are read again.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// A file could not be read at start-up.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {error} (check the path, and that the server's user may read it)", path.display())]
pub struct ReadError {
    pub path: PathBuf,
    /// Shown in the message, so not a `source` as well.
    pub error: std::io::Error,
}

/// A watched value could not be loaded at start-up.
#[derive(Debug, thiserror::Error)]
pub enum LoadError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The content is not usable; the error names the file and what to fix.
    #[error(transparent)]
    Invalid(E),
}

/// The latest value that parsed. Cheap to read: one uncontended lock and an `Arc` clone.
#[derive(Debug)]
pub struct Watched<T> {
    current: RwLock<Arc<T>>,
}

impl<T: Send + Sync + 'static> Watched<T> {
    /// Reads `files` and parses their contents (in the order given) with `parse`; then keeps
    /// doing so every [`RELOAD_INTERVAL`] for as long as the returned value is alive.
    ///
    /// `what` names the value in logs ("TLS certificate"). Errors from `parse` must name the
    /// file at fault and say how to fix it: they are shown as they are.
    pub fn load<E, F>(
        files: Vec<PathBuf>,
        what: &'static str,
        parse: F,
    ) -> Result<Arc<Self>, LoadError<E>>
    where
        E: std::error::Error + Send + Sync + 'static,
        F: Fn(&[Vec<u8>]) -> Result<T, E> + Send + Sync + 'static,
    {
        Self::load_every(RELOAD_INTERVAL, files, what, parse)
    }

    fn load_every<E, F>(
        interval: Duration,
        files: Vec<PathBuf>,
        what: &'static str,
        parse: F,
    ) -> Result<Arc<Self>, LoadError<E>>
    where
        E: std::error::Error + Send + Sync + 'static,
        F: Fn(&[Vec<u8>]) -> Result<T, E> + Send + Sync + 'static,
    {
        let contents = read_all_blocking(&files)?;
        let value = parse(&contents).map_err(LoadError::Invalid)?;
        let watched = Arc::new(Watched {
            current: RwLock::new(Arc::new(value)),
        });
        let watcher = Watcher {
            interval,
            files,
            what,
            parse,
        };
        tokio::spawn(watcher.run(Arc::downgrade(&watched), contents));
        Ok(watched)
    }

    /// A value that never changes, for tests of what reads it.
    #[cfg(test)]
    pub(crate) fn fixed(value: T) -> Self {
        Watched {
            current: RwLock::new(Arc::new(value)),
        }
    }

    /// The value in force.
    pub fn get(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, value: T) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(value);
    }
}

fn read_all_blocking(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, ReadError> {
    files
        .iter()
        .map(|path| {
            std::fs::read(path).map_err(|error| ReadError {
                path: path.clone(),
                error,
            })
        })
        .collect()
}

async fn read_all(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, ReadError> {
    let mut contents = Vec::with_capacity(files.len());
    for path in files {
        let bytes = tokio::fs::read(path).await.map_err(|error| ReadError {
            path: path.clone(),
            error,
        })?;
        contents.push(bytes);
    }
    Ok(contents)
}

/// What the reload task needs besides the value it feeds.
struct Watcher<F> {
    interval: Duration,
    files: Vec<PathBuf>,
    what: &'static str,
    parse: F,
}

impl<F> Watcher<F> {
    /// Re-reads the files until the value is dropped. `seen` is the content last acted on,
    /// so a bad file is reported once, not every interval.
    async fn run<T, E>(self, watched: Weak<Watched<T>>, mut seen: Vec<Vec<u8>>)
    where
        T: Send + Sync + 'static,
        E: Display,
        F: Fn(&[Vec<u8>]) -> Result<T, E>,
    {
        let what = self.what;
        let every = self.interval.as_secs_f64();
        let mut last_read_error = None;
        loop {
            tokio::time::sleep(self.interval).await;
            let Some(watched) = watched.upgrade() else {
                return;
            };
            let contents = match read_all(&self.files).await {
                Ok(contents) => contents,
                Err(err) => {
                    let message = err.to_string();
                    if last_read_error.as_ref() != Some(&message) {
                        tracing::error!(
                            "{what}: {message}; still using the one loaded before, and trying \
                             again every {every}s"
                        );
                        last_read_error = Some(message);
                    }
                    continue;
                }
            };
            last_read_error = None;
            if contents == seen {
                continue;
            }
            match (self.parse)(&contents) {
                Ok(value) => {
                    watched.replace(value);
                    tracing::info!("{what}: reloaded from {}", list(&self.files));
                }
                Err(err) => tracing::error!(
                    "{what}: the new content is not usable: {err}; still using the one loaded \
                     before. Fix the file: it is checked again every {every}s"
                ),
            }
            seen = contents;
        }
    }
}

fn list(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_millis(10);

    #[derive(Debug, thiserror::Error)]
    #[error("{0:?} is not a number")]
    struct NotANumber(String);

    fn parse_number(contents: &[Vec<u8>]) -> Result<u32, NotANumber> {
        let text = String::from_utf8_lossy(&contents[0]);
        text.trim()
            .parse()
            .map_err(|_| NotANumber(text.into_owned()))
    }

    #[tokio::test]
    async fn a_change_is_picked_up_and_a_bad_one_keeps_the_last_good_value() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("n");
        std::fs::write(&path, "1").expect("write");
        let watched =
            Watched::load_every(QUICK, vec![path.clone()], "number", parse_number).expect("load");
        assert_eq!(*watched.get(), 1);

        std::fs::write(&path, "2").expect("write");
        wait_until(|| *watched.get() == 2).await;

        // A bad file, then no file: the last good value stays through many intervals.
        std::fs::write(&path, "two").expect("write");
        tokio::time::sleep(QUICK * 20).await;
        assert_eq!(*watched.get(), 2);
        std::fs::remove_file(&path).expect("remove");
        tokio::time::sleep(QUICK * 20).await;
        assert_eq!(*watched.get(), 2);

        // And the watcher is still there for the fix.
        std::fs::write(&path, "3").expect("write");
        wait_until(|| *watched.get() == 3).await;
    }

    #[tokio::test]
    async fn start_up_fails_on_a_missing_or_bad_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("n");
        let missing =
            Watched::load(vec![path.clone()], "number", parse_number).expect_err("missing file");
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        assert!(missing.to_string().contains(&path.display().to_string()));

        std::fs::write(&path, "x").expect("write");
        let bad = Watched::load(vec![path], "number", parse_number).expect_err("bad file");
        assert_eq!(bad.to_string(), "\"x\" is not a number");
    }

    async fn wait_until(condition: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !condition() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the value never changed"
            );
            tokio::time::sleep(QUICK).await;
        }
    }
}
