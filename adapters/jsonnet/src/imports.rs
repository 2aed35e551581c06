//! Import resolution as jsonnetd has it.
//!
//! jsonnetd runs go-jsonnet with its default file importer and no library paths, from the
//! directory that holds the hooks. So `import "x.libsonnet"` is looked up in the importing
//! file's directory (for the entry script: the script's directory), an absolute path is
//! taken as it is, and nothing else is searched. Paths are cleaned lexically, as Go's
//! `path.Join` does.
//!
//! jrsonnet's own `FileImportResolver` cannot be used: it canonicalizes paths, which WASI
//! preview1 does not support, and it would fall back to the working directory.

use std::io::ErrorKind as IoErrorKind;
use std::path::{Component, Path, PathBuf};
use std::{fs, io};

use jrsonnet_evaluator::error::{ErrorKind, Result};
use jrsonnet_evaluator::{AsPathLike, ImportResolver, SourcePath};
use jrsonnet_gcmodule::Acyclic;
use jrsonnet_ir::{SourceFifo, SourceFile};

/// Resolves imports relative to the importing file and reads them from the file system.
///
/// The entry script is read before evaluation starts (to report an unreadable script
/// clearly), and handed to the resolver so it is not read twice.
#[derive(Acyclic)]
pub struct ScriptImports {
    entry: PathBuf,
    entry_code: Vec<u8>,
}

impl ScriptImports {
    /// A resolver whose entry script `path` has the contents `code`.
    pub fn new(path: PathBuf, code: Vec<u8>) -> Self {
        ScriptImports {
            entry: path,
            entry_code: code,
        }
    }

    /// The entry script as jrsonnet identifies files.
    pub fn entry(&self) -> SourcePath {
        SourcePath::new(SourceFile::new(self.entry.clone()))
    }
}

/// Where `import "target"` in the file `from` points: `target` joined to `from`'s
/// directory, cleaned.
pub fn resolve(from: &Path, target: &Path) -> PathBuf {
    let dir = from.parent().unwrap_or(Path::new(""));
    clean(&dir.join(target))
}

/// Lexical cleaning as Go's `path.Clean`: drops `.`, folds `name/..`, keeps leading `..` of
/// a relative path and drops `..` right after the root.
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                Some(Component::ParentDir | Component::CurDir) | None => out.push(".."),
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

impl ImportResolver for ScriptImports {
    fn resolve_from(&self, from: &SourcePath, path: &dyn AsPathLike) -> Result<SourcePath> {
        let target = path.as_path();
        // Only files import files: the request arrives as code too (as in jsonnetd), but it
        // is checked to be JSON first, so it cannot hold an import.
        let Some(from_file) = from.downcast_ref::<SourceFile>() else {
            return Err(ErrorKind::ImportNotSupported(from.clone(), target.to_owned()).into());
        };
        let resolved = resolve(from_file.path(), target.as_ref());
        match fs::metadata(&resolved) {
            Ok(meta) if meta.is_dir() => Err(ErrorKind::ImportIsADirectory(SourcePath::new(
                SourceFile::new(resolved),
            ))
            .into()),
            Ok(_) => Ok(SourcePath::new(SourceFile::new(resolved))),
            Err(error) if error.kind() == IoErrorKind::NotFound => {
                Err(ErrorKind::ImportFileNotFound(from.clone(), target.to_owned()).into())
            }
            Err(error) => Err(io_error(&resolved, &error)),
        }
    }

    fn load_file_contents(&self, resolved: &SourcePath) -> Result<Vec<u8>> {
        // The request, passed as code like jsonnetd's `TLACode`, arrives as an in-memory
        // "fifo" file.
        if let Some(SourceFifo(_, code)) = resolved.downcast_ref::<SourceFifo>() {
            return Ok(code.to_vec());
        }
        let Some(file) = resolved.downcast_ref::<SourceFile>() else {
            return Err(ErrorKind::ImportIo(format!("cannot load {resolved}")).into());
        };
        if file.path() == self.entry {
            return Ok(self.entry_code.clone());
        }
        fs::read(file.path()).map_err(|error| io_error(file.path(), &error))
    }
}

fn io_error(path: &Path, error: &io::Error) -> jrsonnet_evaluator::Error {
    ErrorKind::ImportIo(format!("cannot read {}: {error}", path.display())).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_relative_to_the_importing_file() {
        let resolve = |from: &str, target: &str| resolve(Path::new(from), Path::new(target));
        assert_eq!(
            resolve("/hook/main.jsonnet", "lib.libsonnet"),
            Path::new("/hook/lib.libsonnet")
        );
        assert_eq!(
            resolve("/hook/main.jsonnet", "./sub/../lib.libsonnet"),
            Path::new("/hook/lib.libsonnet")
        );
        assert_eq!(
            resolve("/hook/sub/a.libsonnet", "../b.libsonnet"),
            Path::new("/hook/b.libsonnet")
        );
        assert_eq!(
            resolve("/hook/main.jsonnet", "/etc/x.libsonnet"),
            Path::new("/etc/x.libsonnet")
        );
        // As jsonnetd, which opens `hook.jsonnet` in its working directory.
        assert_eq!(
            resolve("main.jsonnet", "lib.libsonnet"),
            Path::new("lib.libsonnet")
        );
        assert_eq!(
            resolve("main.jsonnet", "../up.libsonnet"),
            Path::new("../up.libsonnet")
        );
    }

    #[test]
    fn cleaning_follows_go_path_clean() {
        for (input, want) in [
            ("/hook/../../x", "/x"),
            ("a/./b/../c", "a/c"),
            ("../../a", "../../a"),
            ("a/..", "."),
            ("", "."),
        ] {
            assert_eq!(clean(Path::new(input)), Path::new(want), "{input}");
        }
    }
}
