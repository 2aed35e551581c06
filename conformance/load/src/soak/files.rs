//! The server's modules directory. Files are written whole: first to a hidden temporary
//! file beside them (the server skips names starting with a dot), then renamed into place,
//! so the server, which polls the directory, never reads half a module.

use std::path::{Path, PathBuf};

/// A file that cannot be written or removed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {source}; is the temporary directory full or read-only?")]
pub struct Error {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The directory; see the module docs.
#[derive(Debug, Clone)]
pub struct ModulesDir {
    path: PathBuf,
}

impl ModulesDir {
    /// Creates the directory `path`.
    pub fn create(path: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&path).map_err(|source| Error {
            action: "create",
            path: path.clone(),
            source,
        })?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes file `name` whole.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let partial = self.path.join(format!(".{name}.partial"));
        let path = self.path.join(name);
        let fail = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| Error {
                action,
                path,
                source,
            }
        };
        std::fs::write(&partial, bytes).map_err(fail("write", &partial))?;
        std::fs::rename(&partial, &path).map_err(fail("rename into place", &path))
    }

    /// Removes file `name`, if it is there.
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.path.join(name);
        match std::fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(Error {
                action: "remove",
                path,
                source: err,
            }),
            _ => Ok(()),
        }
    }

    /// Replaces the files `old` with the files `new`: writes those that are new or differ,
    /// removes those no longer there. Returns the names written.
    pub fn replace(&self, old: &[(String, &[u8])], new: &[(String, &[u8])]) -> Result<Vec<String>> {
        let mut written = Vec::new();
        for (name, bytes) in new {
            if !old.iter().any(|(n, b)| n == name && b == bytes) {
                self.write(name, bytes)?;
                written.push(name.clone());
            }
        }
        for (name, _) in old {
            if !new.iter().any(|(n, _)| n == name) {
                self.remove(name)?;
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_writes_what_changed_and_removes_what_went() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = ModulesDir::create(root.path().join("modules")).expect("dir");
        let files = |list: &[(&str, &'static [u8])]| -> Vec<(String, &'static [u8])> {
            list.iter().map(|(n, b)| (n.to_string(), *b)).collect()
        };
        let first = files(&[
            ("slow.wasm", b"module"),
            ("slow.toml", b"timeout = \"1s\"\n"),
        ]);
        for (name, bytes) in &first {
            dir.write(name, bytes).expect("write");
        }
        let second = files(&[
            ("slow.wasm", b"module"),
            ("slow.toml", b"timeout = \"2s\"\n"),
        ]);
        let written = dir.replace(&first, &second).expect("replace");
        assert_eq!(written, ["slow.toml"], "the module is the same");
        let read = |name: &str| std::fs::read(dir.path().join(name)).ok();
        assert_eq!(
            read("slow.toml").as_deref(),
            Some(&b"timeout = \"2s\"\n"[..])
        );
        let third = files(&[("slow.wasm", b"other")]);
        assert_eq!(
            dir.replace(&second, &third).expect("replace"),
            ["slow.wasm"]
        );
        assert_eq!(read("slow.toml"), None, "options removed");
        assert_eq!(read("slow.wasm").as_deref(), Some(&b"other"[..]));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["slow.wasm"], "no temporary file left");
    }
}
