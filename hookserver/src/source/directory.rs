//! A local directory as a module source: `DIR/NAME.wasm` is hook `NAME`, with optional
//! options in `DIR/NAME.toml`.
//!
//! The directory is polled (twice a second by default) rather than watched with inotify:
//! polling works the same on every file system, including Kubernetes volume mounts that
//! swap symlinks, and listing a directory of a few hundred files costs microseconds.
//! A file is re-read only when its size or modification time changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use super::{SourceEvent, SourceId, check_name};
use crate::options::HookOptions;

/// What identifies a version of a file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

/// The stamps of a hook's module and options files.
type HookStamp = (Stamp, Option<Stamp>);

pub struct DirectorySource {
    id: SourceId,
    dir: PathBuf,
    defaults: HookOptions,
    interval: Duration,
    seen: HashMap<String, HookStamp>,
}

impl DirectorySource {
    pub fn new(dir: PathBuf, defaults: HookOptions, interval: Duration) -> Self {
        DirectorySource {
            id: format!("dir:{}", dir.display()).into(),
            dir,
            defaults,
            interval,
            seen: HashMap::new(),
        }
    }

    /// An identifier for readiness tracking and logs.
    pub fn id(&self) -> SourceId {
        self.id.clone()
    }

    /// Polls until the receiver is gone.
    pub async fn run(mut self, events: mpsc::Sender<SourceEvent>) {
        let id = self.id();
        let mut synced = false;
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let (scanner, changes) = match tokio::task::spawn_blocking(move || {
                let changes = self.scan();
                (self, changes)
            })
            .await
            {
                Ok(result) => result,
                Err(err) => {
                    tracing::error!(source = %id, error = %err, "directory scan panicked; stopping");
                    return;
                }
            };
            self = scanner;
            // None: the directory could not be listed; not ready until it can be.
            let Some(changes) = changes else { continue };
            for event in changes {
                if events.send(event).await.is_err() {
                    return;
                }
            }
            if !synced {
                synced = true;
                if events
                    .send(SourceEvent::Synced { source: id.clone() })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }

    /// Lists the directory and returns an event for every hook that changed since last time;
    /// `None` when the directory cannot be listed.
    fn scan(&mut self) -> Option<Vec<SourceEvent>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) => {
                // Keep serving what we have: a transient unmount must not drop every hook.
                tracing::error!(
                    dir = %self.dir.display(),
                    error = %err,
                    "cannot list the modules directory; keeping the hooks already loaded"
                );
                return None;
            }
        };
        let mut current = HashMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "wasm")
                && let Some(name) = path.file_stem().and_then(|stem| stem.to_str())
                && let Some(stamp) = Stamp::of(&path)
            {
                let options = Stamp::of(&path.with_extension("toml"));
                current.insert(name.to_string(), (stamp, options));
            }
        }

        let mut events = Vec::new();
        let mut unreadable = Vec::new();
        for (name, stamp) in &current {
            if self.seen.get(name) != Some(stamp) {
                let (event, retry) = self.read_hook(name);
                if retry {
                    unreadable.push(name.clone());
                }
                events.push(event);
            }
        }
        for name in self.seen.keys() {
            if !current.contains_key(name) {
                events.push(SourceEvent::Remove {
                    source: self.id.clone(),
                    name: name.clone(),
                });
            }
        }
        // Forget what could not be read, so the next scan tries again.
        for name in unreadable {
            current.remove(&name);
        }
        self.seen = current;
        Some(events)
    }

    /// The event for hook `name`, and whether it failed for a reason worth retrying (an
    /// I/O error rather than bad content).
    fn read_hook(&self, name: &str) -> (SourceEvent, bool) {
        let module_path = self.dir.join(format!("{name}.wasm"));
        let origin = module_path.display().to_string();
        let invalid = |error: String| SourceEvent::Invalid {
            source: self.id.clone(),
            name: name.to_string(),
            origin: origin.clone(),
            error,
        };
        if let Err(error) = check_name(name) {
            return (invalid(format!("{error} (rename the file)")), false);
        }
        let options_path = self.dir.join(format!("{name}.toml"));
        let options = match read_options(&options_path, &self.defaults) {
            Ok(options) => options,
            Err(OptionsFileError::Unreadable(error)) => return (invalid(error), true),
            Err(OptionsFileError::Invalid(error)) => return (invalid(error), false),
        };
        match std::fs::read(&module_path) {
            Ok(bytes) => (
                SourceEvent::Upsert {
                    source: self.id.clone(),
                    name: name.to_string(),
                    origin,
                    bytes,
                    options,
                },
                false,
            ),
            Err(err) => (
                invalid(format!("cannot read {}: {err}", module_path.display())),
                true,
            ),
        }
    }
}

/// Why an options file was not applied.
#[derive(Debug, PartialEq)]
enum OptionsFileError {
    /// An I/O error: worth another try.
    Unreadable(String),
    /// Bad content: it stays bad until the file changes.
    Invalid(String),
}

/// Reads `NAME.toml` (flat `key = value` pairs, the same keys as ConfigMap annotations).
fn read_options(path: &Path, defaults: &HookOptions) -> Result<HookOptions, OptionsFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(defaults.clone()),
        Err(err) => {
            return Err(OptionsFileError::Unreadable(format!(
                "cannot read {}: {err}",
                path.display()
            )));
        }
    };
    parse_options(path, &text, defaults).map_err(OptionsFileError::Invalid)
}

fn parse_options(path: &Path, text: &str, defaults: &HookOptions) -> Result<HookOptions, String> {
    let in_file = |message: String| format!("{}: {message}", path.display());
    let table: toml::Table = text
        .parse()
        .map_err(|err: toml::de::Error| in_file(err.message().to_string()))?;
    let mut pairs = Vec::with_capacity(table.len());
    for (key, value) in &table {
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(in_file(format!(
                    "option {key:?} must be a string, number or boolean, not a {}",
                    other.type_str()
                )));
            }
        };
        pairs.push((key.as_str(), value));
    }
    defaults
        .clone()
        .with_overrides(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .map_err(|err| in_file(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Limits;

    fn defaults() -> HookOptions {
        HookOptions::with_defaults(Limits::default())
    }

    #[test]
    fn options_files_are_optional_and_validated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.toml");
        assert_eq!(read_options(&path, &defaults()), Ok(defaults()));

        std::fs::write(
            &path,
            "timeout = \"2s\"\nmax-instances = 3\nstrict = true\n",
        )
        .expect("write");
        let options = read_options(&path, &defaults()).expect("valid");
        assert_eq!(options.limits.timeout, Duration::from_secs(2));
        assert_eq!(options.limits.max_instances, 3);
        assert!(options.strict);

        std::fs::write(&path, "timeout = [1]").expect("write");
        let err = read_options(&path, &defaults()).unwrap_err();
        assert!(
            matches!(&err, OptionsFileError::Invalid(e) if e.contains("must be a string, number or boolean")),
            "{err:?}"
        );

        std::fs::write(&path, "memroy = \"1Mi\"").expect("write");
        let err = read_options(&path, &defaults()).unwrap_err();
        assert!(
            matches!(&err, OptionsFileError::Invalid(e) if e.contains("unknown option \"memroy\"")),
            "{err:?}"
        );
    }

    #[test]
    fn an_unlistable_directory_reports_nothing_not_an_empty_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("not-there");
        let mut source = DirectorySource::new(missing, defaults(), Duration::from_secs(1));
        assert!(source.scan().is_none());
    }

    #[test]
    fn scan_reports_added_changed_and_removed_hooks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut source =
            DirectorySource::new(dir.path().to_path_buf(), defaults(), Duration::from_secs(1));
        assert_eq!(source.scan().map(|e| e.len()), Some(0));

        std::fs::write(dir.path().join("a.wasm"), b"one").expect("write");
        std::fs::write(dir.path().join("notes.txt"), b"ignored").expect("write");
        let events = source.scan().expect("listed");
        assert!(matches!(&events[..], [SourceEvent::Upsert { name, .. }] if name == "a"));
        assert_eq!(
            source.scan().map(|e| e.len()),
            Some(0),
            "unchanged files are not re-read"
        );

        std::fs::write(dir.path().join("a.wasm"), b"two!").expect("write");
        assert!(
            matches!(&source.scan().expect("listed")[..], [SourceEvent::Upsert { bytes, .. }] if bytes == b"two!")
        );

        std::fs::write(dir.path().join("a.toml"), "strict = true").expect("write");
        assert!(
            matches!(&source.scan().expect("listed")[..], [SourceEvent::Upsert { options, .. }] if options.strict)
        );

        std::fs::write(dir.path().join("Bad_Name.wasm"), b"x").expect("write");
        assert!(matches!(
            &source.scan().expect("listed")[..],
            [SourceEvent::Invalid { .. }]
        ));

        std::fs::remove_file(dir.path().join("a.wasm")).expect("remove");
        assert!(
            matches!(&source.scan().expect("listed")[..], [SourceEvent::Remove { name, .. }] if name == "a")
        );
    }
}
