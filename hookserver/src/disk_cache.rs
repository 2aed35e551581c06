//! Precompiled modules on disk, so a restart or a module evicted from memory loads in well
//! under a millisecond instead of compiling again.
//!
//! Layout: `DIR/<engine compatibility digest>/<module digest>.cwasm`. An artifact is written
//! once (temp file in the same directory, then rename) and never modified, so a reader
//! sees either nothing or a whole file. A new engine build writes to a new subdirectory.

use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

use crate::digest::Digest;

/// A disk-cache operation that failed. The server keeps serving from memory.
#[derive(Debug, thiserror::Error)]
pub enum DiskCacheError {
    #[error(
        "cannot create cache directory {}: {source} (pass a writable --cache-dir)",
        path.display()
    )]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source} (is the cache dir full or read-only?)", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load {}: {reason}; it will be recompiled", path.display())]
    Load { path: PathBuf, reason: String },
}

/// The artifact directory for one engine configuration.
#[derive(Clone, Debug)]
pub struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    /// Opens (creating if needed) the subdirectory of `root` for `compatibility`.
    pub fn open(root: &Path, compatibility: Digest) -> Result<Self, DiskCacheError> {
        let dir = root.join(&compatibility.hex()[..16]);
        std::fs::create_dir_all(&dir).map_err(|source| DiskCacheError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(DiskCache { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.hex()))
    }

    /// Loads the artifact for `digest`; `Ok(None)` when there is none.
    pub fn load(&self, engine: &Engine, digest: &Digest) -> Result<Option<Module>, DiskCacheError> {
        let path = self.path(digest);
        if !path.exists() {
            return Ok(None);
        }
        // SAFETY: `deserialize_file` trusts that the file is an artifact this engine
        // produced. Only this process writes into the cache dir, by atomic rename, into a
        // subdirectory named after the engine's compatibility hash; wasmtime itself checks
        // the header and engine settings and refuses anything else.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(module) => Ok(Some(module)),
            Err(err) => Err(DiskCacheError::Load {
                path,
                reason: err.to_string(),
            }),
        }
    }

    /// Whether an artifact for `digest` exists.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).exists()
    }

    /// Removes an artifact that failed to load, so it is rewritten.
    pub fn discard(&self, digest: &Digest) {
        let _ = std::fs::remove_file(self.path(digest));
    }

    /// Writes the artifact for `digest` atomically. An existing artifact is kept.
    pub fn store(&self, digest: &Digest, artifact: &[u8]) -> Result<(), DiskCacheError> {
        let path = self.path(digest);
        if path.exists() {
            return Ok(());
        }
        let write_err = |source| DiskCacheError::Write {
            path: path.clone(),
            source,
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(&self.dir)
            .map_err(write_err)?;
        temp.write_all(artifact).map_err(write_err)?;
        temp.as_file().sync_data().map_err(write_err)?;
        temp.persist(&path).map_err(|e| write_err(e.error))?;
        Ok(())
    }
}
