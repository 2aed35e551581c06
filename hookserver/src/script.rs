//! Script hooks: a jsonnet or JavaScript hook shipped as source, run by a shared adapter
//! module (one compiled runtime per language serves every script hook of that language).
//!
//! A script hook's files are written once per version into a directory of their own, named
//! by their digest, which every call of that version preopens read-only at [`GUEST_DIR`].
//! The adapter gets the entry script's guest path as `argv[2]` (docs/abi.md, section 9).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;

/// Where a script hook's files appear inside the guest.
pub const GUEST_DIR: &str = "/hook";

/// The largest a script hook's files may be, all together. A ConfigMap holds at most 1 MiB;
/// a directory hook gets more room, but a script this big is a mistake, not a hook.
pub const MAX_SCRIPT_BYTES: u64 = 8 << 20;

/// The `argv[1]` that asks an adapter to check a script without running it (load time).
pub const CHECK_VERB: &str = "check";

/// A scripting language with an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Jsonnet,
    Js,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Jsonnet, Language::Js];

    /// The file extension of its scripts (`NAME.jsonnet`, `NAME.js`).
    pub fn extension(self) -> &'static str {
        match self {
            Language::Jsonnet => "jsonnet",
            Language::Js => "js",
        }
    }

    /// The entry script of a multi-file hook (a ConfigMap's data, a hook directory).
    pub fn entry_file(self) -> &'static str {
        match self {
            Language::Jsonnet => "hook.jsonnet",
            Language::Js => "hook.js",
        }
    }

    /// The adapter module's file name in the adapters directory.
    pub fn adapter_file(self) -> &'static str {
        match self {
            Language::Jsonnet => "jsonnet.wasm",
            Language::Js => "js.wasm",
        }
    }

    pub fn from_extension(extension: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.extension() == extension)
    }

    pub fn as_str(self) -> &'static str {
        self.extension()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A script hook's source as shipped: the entry script and the files it may import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFiles {
    pub language: Language,
    /// The file name of the entry script; a key of `files`.
    pub entry: String,
    /// File name -> contents. Names are plain file names (no directories).
    pub files: BTreeMap<String, Vec<u8>>,
}

impl ScriptFiles {
    /// Checks the names and the total size; every message says what to change.
    pub fn new(
        language: Language,
        entry: String,
        files: BTreeMap<String, Vec<u8>>,
    ) -> Result<Self, String> {
        if !files.contains_key(&entry) {
            return Err(format!("the entry script {entry:?} is missing"));
        }
        for name in files.keys() {
            check_file_name(name)?;
        }
        let total: u64 = files.values().map(|bytes| bytes.len() as u64).sum();
        if total > MAX_SCRIPT_BYTES {
            return Err(format!(
                "the script's files take {total} bytes, more than the {MAX_SCRIPT_BYTES} a \
                 script hook may have: trim them, or build the hook as a module"
            ));
        }
        Ok(ScriptFiles {
            language,
            entry,
            files,
        })
    }

    /// The identity of this version of the script: language, entry and every file (name and
    /// bytes, length-prefixed so no two different sets of files share an encoding).
    pub fn digest(&self) -> Digest {
        let mut hasher = Sha256::new();
        hasher.update(b"hookserver-script-v1\0");
        hasher.update(self.language.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(self.entry.as_bytes());
        hasher.update([0]);
        for (name, bytes) in &self.files {
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        Digest::from_bytes(hasher.finalize().into())
    }

    /// Total size of the files.
    pub fn size(&self) -> u64 {
        self.files.values().map(|bytes| bytes.len() as u64).sum()
    }

    /// The entry script's path inside the guest: what the adapter gets as `argv[2]`.
    pub fn guest_entry(&self) -> String {
        format!("{GUEST_DIR}/{}", self.entry)
    }
}

/// A file of a script hook is one plain name: it becomes a file in a directory of its own,
/// so a name that could climb out of it (or hide) is refused.
fn check_file_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if plain {
        Ok(())
    } else {
        Err(format!(
            "file name {name:?} is not allowed in a script hook: use letters, digits, '-', '_' \
             and '.' only (the names a ConfigMap key may have)"
        ))
    }
}

/// A script's files on disk, for as long as a version that uses them exists: the
/// directory is removed when the last holder is dropped.
#[derive(Debug)]
pub struct ScriptDir {
    pub path: PathBuf,
    pub files: Arc<ScriptFiles>,
    pub digest: Digest,
    /// `argv[2]` of every call, built once rather than per request.
    pub guest_entry: String,
}

impl ScriptDir {
    /// Writes the files again if something removed or changed them (a cleaner of the cache
    /// directory, a full disk at load time). Called when preopening the directory failed.
    pub fn restore(&self) -> std::io::Result<()> {
        write_files(&self.path, &self.files)
    }
}

impl Drop for ScriptDir {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.path.display(), error = %err, "cannot remove a script hook's files");
        }
    }
}

/// Writes script files into directories named by their digest, one per distinct script,
/// shared by every version and hook that has the same files.
pub struct ScriptStore {
    /// Where the files go, or why there is no such place (script hooks then fail to load
    /// with that reason; module hooks are unaffected).
    root: Result<PathBuf, String>,
    /// Keeps the root alive (and removes it at exit).
    _temp: Option<tempfile::TempDir>,
    live: Mutex<HashMap<Digest, Weak<ScriptDir>>>,
}

/// Why a script's files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScriptStoreError {
    #[error(
        "cannot write the script's files to {dir}: {source} (hookserver needs a writable \
         --cache-dir, or a writable temporary directory, for script hooks)"
    )]
    Write { dir: String, source: std::io::Error },
    #[error("script hooks cannot be served: {reason}")]
    Unavailable { reason: String },
}

impl ScriptStore {
    /// A store under `parent` (the cache dir), or under the system's temporary directory.
    /// Each process gets its own fresh root, so servers sharing a cache dir never share
    /// (or remove) each other's script files.
    pub fn new(parent: Option<&Path>) -> Result<Self, ScriptStoreError> {
        let temp = create_root(parent).map_err(|(dir, source)| ScriptStoreError::Write {
            dir: dir.display().to_string(),
            source,
        })?;
        Ok(Self::rooted(temp))
    }

    /// The server's store: under the cache dir; if that cannot be written (read-only or
    /// full), under the system's temporary directory; if neither, a store that refuses
    /// script hooks with the reason. Each fallback is logged with what to do about it.
    pub fn open(cache_dir: Option<&Path>) -> Self {
        let in_cache = match create_root(cache_dir) {
            Ok(temp) => return Self::rooted(temp),
            Err(failed) => failed,
        };
        let in_temp = match cache_dir {
            Some(_) => match create_root(None) {
                Ok(temp) => {
                    tracing::warn!(
                        dir = %in_cache.0.display(),
                        error = %in_cache.1,
                        fallback = %temp.path().display(),
                        "script hooks' files go to the temporary directory instead of the \
                         cache dir"
                    );
                    return Self::rooted(temp);
                }
                Err(failed) => Some(failed),
            },
            None => None,
        };
        let mut reason = format!(
            "their files cannot be written under {} ({})",
            in_cache.0.display(),
            in_cache.1
        );
        if let Some((dir, err)) = in_temp {
            reason.push_str(&format!(" nor under {} ({err})", dir.display()));
        }
        reason.push_str(
            "; give --cache-dir a writable directory with room, or set TMPDIR to one, and \
             restart",
        );
        tracing::warn!(%reason, "script hooks cannot be served; module hooks can");
        Self::unavailable(reason)
    }

    fn rooted(temp: tempfile::TempDir) -> Self {
        ScriptStore {
            root: Ok(temp.path().to_path_buf()),
            _temp: Some(temp),
            live: Mutex::new(HashMap::new()),
        }
    }

    fn unavailable(reason: String) -> Self {
        ScriptStore {
            root: Err(reason),
            _temp: None,
            live: Mutex::new(HashMap::new()),
        }
    }

    /// The directory holding `files`, written now unless a live version already has it.
    pub fn materialize(&self, files: ScriptFiles) -> Result<Arc<ScriptDir>, ScriptStoreError> {
        let root = self
            .root
            .as_ref()
            .map_err(|reason| ScriptStoreError::Unavailable {
                reason: reason.clone(),
            })?;
        let digest = files.digest();
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dir) = live.get(&digest).and_then(Weak::upgrade) {
            return Ok(dir);
        }
        let path = root.join(digest.hex());
        write_files(&path, &files).map_err(|source| ScriptStoreError::Write {
            dir: path.display().to_string(),
            source,
        })?;
        let dir = Arc::new(ScriptDir {
            path,
            guest_entry: files.guest_entry(),
            files: Arc::new(files),
            digest,
        });
        live.retain(|_, weak| weak.strong_count() > 0);
        live.insert(digest, Arc::downgrade(&dir));
        Ok(dir)
    }
}

/// A fresh root for one process's script files under `parent`, or under the system's
/// temporary directory, checked by writing into it; the error names the directory.
fn create_root(parent: Option<&Path>) -> Result<tempfile::TempDir, (PathBuf, std::io::Error)> {
    let dir = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let create = || {
        std::fs::create_dir_all(&dir)?;
        let temp = tempfile::Builder::new()
            .prefix(if parent.is_some() {
                "scripts-"
            } else {
                "hookserver-scripts-"
            })
            .tempdir_in(&dir)?;
        probe(temp.path())?;
        Ok(temp)
    };
    create().map_err(|err| (dir.clone(), err))
}

/// Writes and removes a one-byte file: a full file system refuses the byte even where it
/// still allows an empty directory.
fn probe(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(".probe");
    std::fs::write(&path, b"\n")?;
    std::fs::remove_file(&path)
}

/// Writes every file into `dir` (created if needed), replacing what is there.
fn write_files(dir: &Path, files: &ScriptFiles) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in &files.files {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entry: &str, pairs: &[(&str, &str)]) -> Result<ScriptFiles, String> {
        let files = pairs
            .iter()
            .map(|(name, text)| (name.to_string(), text.as_bytes().to_vec()))
            .collect();
        ScriptFiles::new(Language::Jsonnet, entry.to_string(), files)
    }

    #[test]
    fn names_are_plain_and_the_entry_must_exist() {
        assert!(files("hook.jsonnet", &[("hook.jsonnet", "{}")]).is_ok());
        let missing = files("hook.jsonnet", &[("lib.libsonnet", "{}")]).unwrap_err();
        assert!(missing.contains("entry script"), "{missing}");
        for bad in ["../x", "a/b", "..", ".", "", "a b"] {
            let err = files("hook.jsonnet", &[("hook.jsonnet", "{}"), (bad, "")]).unwrap_err();
            assert!(err.contains("not allowed"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_digest_covers_names_contents_and_entry() {
        let a = files("a.jsonnet", &[("a.jsonnet", "{}"), ("b.jsonnet", "[]")]).unwrap();
        let b = files("b.jsonnet", &[("a.jsonnet", "{}"), ("b.jsonnet", "[]")]).unwrap();
        let c = files("a.jsonnet", &[("a.jsonnet", "{ }"), ("b.jsonnet", "[]")]).unwrap();
        // Moving bytes from one file's end to the next file's name must change the digest.
        let d = files("a.jsonnet", &[("a.jsonnet", "{}b"), ("jsonnet", "[]")]);
        assert_ne!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
        if let Ok(d) = d {
            assert_ne!(a.digest(), d.digest());
        }
        assert_eq!(a.digest(), a.clone().digest());
    }

    #[test]
    fn directories_are_shared_while_used_and_removed_after() {
        let cache = tempfile::tempdir().unwrap();
        let store = ScriptStore::new(Some(cache.path())).unwrap();
        let script = files("hook.jsonnet", &[("hook.jsonnet", "{}")]).unwrap();
        let first = store.materialize(script.clone()).unwrap();
        let second = store.materialize(script).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(
            std::fs::read(first.path.join("hook.jsonnet")).unwrap(),
            b"{}"
        );

        // Deleted behind our back: restore puts it back.
        std::fs::remove_dir_all(&first.path).unwrap();
        first.restore().unwrap();
        assert!(first.path.join("hook.jsonnet").exists());

        let path = first.path.clone();
        drop((first, second));
        assert!(!path.exists());
    }
}
