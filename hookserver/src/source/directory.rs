//! A local directory as a hook source. Each of these is hook `NAME`, with optional options
//! in `DIR/NAME.toml`:
//!
//! - `DIR/NAME.wasm`: a module;
//! - `DIR/NAME.jsonnet`: a jsonnet script, which may import the `*.libsonnet` files beside it
//!   (as with jsonnetd, whose working directory holds every hook and library);
//! - `DIR/NAME.js`: a JavaScript script of one file;
//! - `DIR/NAME/` holding `hook.jsonnet` or `hook.js`: a script whose files are every file in
//!   that directory (the same layout as a ConfigMap's data).
//!
//! The directory is polled (twice a second by default) rather than watched with inotify:
//! polling works the same on every file system, including Kubernetes volume mounts that
//! swap symlinks, and listing a directory of a few hundred files costs microseconds.
//! A hook is re-read only when the size or modification time of one of its files changes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use super::{Artifact, SourceEvent, SourceId, check_name};
use crate::options::HookOptions;
use crate::script::{Language, ScriptFiles};

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

/// The stamps of every file a hook is read from (a missing options file included as None).
type HookStamp = Vec<(PathBuf, Option<Stamp>)>;

/// How a hook is defined in the directory.
#[derive(Clone, Debug, PartialEq)]
enum Form {
    Module(PathBuf),
    /// A script: the entry and every file that becomes part of the hook, entry included.
    Script {
        language: Language,
        entry: PathBuf,
        files: Vec<PathBuf>,
    },
    /// More than one file or directory defines the same name.
    Conflict(Vec<PathBuf>),
}

impl Form {
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Form::Module(path) => vec![path.clone()],
            Form::Script { files, .. } => files.clone(),
            Form::Conflict(paths) => paths.clone(),
        }
    }

    fn origin(&self) -> PathBuf {
        match self {
            Form::Module(path) | Form::Script { entry: path, .. } => path.clone(),
            Form::Conflict(paths) => paths.first().cloned().unwrap_or_default(),
        }
    }
}

/// Every hook the directory defines now, by name. Entries whose names start with `.` are
/// skipped: editors' temporary files, and the `..data` links of a Kubernetes volume.
fn find_hooks(dir: &Path) -> std::io::Result<BTreeMap<String, Form>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| !file_name(path).starts_with('.'))
        .collect();
    entries.sort();
    let libraries: Vec<PathBuf> = entries
        .iter()
        .filter(|path| extension(path) == "libsonnet" && path.is_file())
        .cloned()
        .collect();

    let mut found: BTreeMap<String, Vec<Form>> = BTreeMap::new();
    for path in entries {
        let form = if path.is_dir() {
            script_directory(&path)
        } else {
            match extension(&path) {
                "wasm" => Some(Form::Module(path.clone())),
                ext => Language::from_extension(ext).map(|language| {
                    let mut files = vec![path.clone()];
                    if language == Language::Jsonnet {
                        files.extend(libraries.iter().cloned());
                    }
                    Form::Script {
                        language,
                        entry: path.clone(),
                        files,
                    }
                }),
            }
        };
        if let Some(form) = form {
            let name = match path.is_dir() {
                true => file_name(&path),
                false => path.file_stem().and_then(|s| s.to_str()).unwrap_or(""),
            };
            found.entry(name.to_string()).or_default().push(form);
        }
    }
    Ok(found
        .into_iter()
        .map(|(name, mut forms)| {
            let form = if forms.len() == 1 {
                forms.remove(0)
            } else {
                Form::Conflict(forms.iter().map(Form::origin).collect())
            };
            (name, form)
        })
        .collect())
}

/// The hook at `path` read as the directory source would read it: a module (`.wasm`), a
/// script (`.jsonnet` with the `*.libsonnet` beside it, `.js`) or a script directory.
pub fn artifact_at(path: &Path) -> Result<Artifact, String> {
    let form = if path.is_dir() {
        script_directory(path).ok_or_else(|| {
            format!(
                "{} holds neither {} nor {}",
                path.display(),
                Language::Jsonnet.entry_file(),
                Language::Js.entry_file()
            )
        })?
    } else {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        let name = file_name(path).to_string();
        find_hooks(parent.unwrap_or(Path::new(".")))
            .map_err(|err| format!("cannot list the directory of {}: {err}", path.display()))?
            .into_values()
            .find(|form| file_name(&form.origin()) == name)
            .unwrap_or_else(|| Form::Module(path.to_path_buf()))
    };
    read_artifact(&form).map_err(|err| match err {
        ReadError::Io(message) | ReadError::Invalid(message) => message,
    })
}

/// `DIR/NAME/` is a script hook when it holds `hook.jsonnet` or `hook.js`.
fn script_directory(path: &Path) -> Option<Form> {
    let language = Language::ALL
        .into_iter()
        .find(|language| path.join(language.entry_file()).is_file())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|file| !file_name(file).starts_with('.') && file.is_file())
        .collect();
    files.sort();
    Some(Form::Script {
        language,
        entry: path.join(language.entry_file()),
        files,
    })
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn extension(path: &Path) -> &str {
    path.extension().and_then(|e| e.to_str()).unwrap_or("")
}

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
        let hooks = match find_hooks(&self.dir) {
            Ok(hooks) => hooks,
            Err(err) => {
                // Keep serving what we have: a transient unmount must not drop every hook.
                tracing::error!(
                    dir = %self.dir.display(),
                    error = %err,
                    "cannot list the hooks directory; keeping the hooks already loaded"
                );
                return None;
            }
        };
        let mut current = HashMap::new();
        let mut forms = HashMap::new();
        for (name, form) in hooks {
            let mut stamp: HookStamp = form
                .files()
                .into_iter()
                .map(|path| {
                    let stamp = Stamp::of(&path);
                    (path, stamp)
                })
                .collect();
            let options = self.dir.join(format!("{name}.toml"));
            stamp.push((options.clone(), Stamp::of(&options)));
            current.insert(name.clone(), stamp);
            forms.insert(name, form);
        }

        let mut events = Vec::new();
        let mut unreadable = Vec::new();
        for (name, stamp) in &current {
            if self.seen.get(name) != Some(stamp) {
                let (event, retry) = self.read_hook(name, &forms[name]);
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
    fn read_hook(&self, name: &str, form: &Form) -> (SourceEvent, bool) {
        let origin = form.origin().display().to_string();
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
        let artifact = match read_artifact(form) {
            Ok(artifact) => artifact,
            Err(ReadError::Io(error)) => return (invalid(error), true),
            Err(ReadError::Invalid(error)) => return (invalid(error), false),
        };
        let upsert = SourceEvent::Upsert {
            source: self.id.clone(),
            name: name.to_string(),
            origin,
            artifact,
            options,
        };
        (upsert, false)
    }
}

/// Why a hook's files did not make an artifact.
enum ReadError {
    /// An I/O error: worth another try.
    Io(String),
    /// Bad content or layout: it stays bad until the files change.
    Invalid(String),
}

fn read_artifact(form: &Form) -> Result<Artifact, ReadError> {
    let read = |path: &Path| {
        std::fs::read(path)
            .map_err(|err| ReadError::Io(format!("cannot read {}: {err}", path.display())))
    };
    match form {
        Form::Module(path) => Ok(Artifact::Module(read(path)?)),
        Form::Script {
            language,
            entry,
            files,
        } => {
            let mut contents = BTreeMap::new();
            for path in files {
                contents.insert(file_name(path).to_string(), read(path)?);
            }
            ScriptFiles::new(*language, file_name(entry).to_string(), contents)
                .map(Artifact::Script)
                .map_err(|err| ReadError::Invalid(format!("{}: {err}", entry.display())))
        }
        Form::Conflict(paths) => Err(ReadError::Invalid(format!(
            "{} all define this hook: keep one",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
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
            matches!(&source.scan().expect("listed")[..], [SourceEvent::Upsert { artifact: Artifact::Module(bytes), .. }] if bytes == b"two!")
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

    fn script_of(event: &SourceEvent) -> (&str, &ScriptFiles) {
        match event {
            SourceEvent::Upsert {
                name,
                artifact: Artifact::Script(files),
                ..
            } => (name, files),
            other => panic!("expected a script upsert, got {other:?}"),
        }
    }

    #[test]
    fn scripts_are_hooks_with_their_libraries_and_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path();
        let mut source = DirectorySource::new(path.to_path_buf(), defaults(), Duration::ZERO);
        std::fs::write(path.join("a.jsonnet"), "function(request) {}").expect("write");
        std::fs::write(path.join("lib.libsonnet"), "{}").expect("write");
        std::fs::write(path.join("b.js"), "module.exports = () => 0").expect("write");
        std::fs::create_dir(path.join("c")).expect("mkdir");
        std::fs::write(path.join("c/hook.js"), "module.exports = require('./u')").expect("write");
        std::fs::write(path.join("c/u.js"), "module.exports = () => 0").expect("write");
        std::fs::create_dir(path.join("not-a-hook")).expect("mkdir");
        std::fs::write(path.join(".a.jsonnet.swp"), "x").expect("write");

        let mut events = source.scan().expect("listed");
        events.sort_by_key(|e| script_of(e).0.to_string());
        let scripts: Vec<_> = events.iter().map(script_of).collect();
        let names = |files: &ScriptFiles| files.files.keys().cloned().collect::<Vec<_>>();
        assert_eq!(scripts.len(), 3, "{events:?}");
        assert_eq!(scripts[0].0, "a");
        assert_eq!(scripts[0].1.language, Language::Jsonnet);
        assert_eq!(names(scripts[0].1), ["a.jsonnet", "lib.libsonnet"]);
        assert_eq!((scripts[1].0, scripts[1].1.entry.as_str()), ("b", "b.js"));
        assert_eq!(names(scripts[1].1), ["b.js"]);
        assert_eq!(
            (scripts[2].0, scripts[2].1.entry.as_str()),
            ("c", "hook.js")
        );
        assert_eq!(names(scripts[2].1), ["hook.js", "u.js"]);

        // A library changes: every jsonnet hook is read again, nothing else.
        std::fs::write(path.join("lib.libsonnet"), "{ x: 1 }").expect("write");
        let events = source.scan().expect("listed");
        assert_eq!(events.len(), 1);
        assert_eq!(script_of(&events[0]).0, "a");

        // Two definitions of one name: refused with both named.
        std::fs::write(path.join("b.wasm"), b"\0asm").expect("write");
        let events = source.scan().expect("listed");
        assert!(
            matches!(&events[..], [SourceEvent::Invalid { name, error, .. }]
                if name == "b" && error.contains("b.js") && error.contains("b.wasm") && error.contains("keep one")),
            "{events:?}"
        );
    }
}
