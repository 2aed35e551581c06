//! Where `require(id)` finds its file, as node resolves relative ids: beside the
//! requiring file, trying the exact path, then `.js`, `.json`, then `index.js` and
//! `index.json` in a folder of that name. Node's built-in modules and npm packages are
//! not available to a hook, and say so.
//!
//! Paths are joined and normalized lexically (no `canonicalize`): inside hookserver the
//! script lives in a preopened WASI folder, where resolving symlinks is not available and
//! not needed.

use std::path::{Component, Path, PathBuf};

/// Why an id could not be resolved. The text is the message of the JavaScript error
/// that `require` throws.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "Cannot load module '{id}': '{name}' is a Node.js built-in module, which hooks do not \
         have (a hook gets the request as context.request.body and needs no files, network \
         or processes); remove the require, or put a plain JavaScript replacement beside \
         the script and require it by a relative path"
    )]
    Builtin { id: String, name: String },

    #[error(
        "Cannot find module '{id}': only files beside the script can be required, by a \
         relative path such as './{id}.js'; npm packages are not installed for hooks, so \
         bundle them into the script (e.g. esbuild --bundle --platform=neutral) or copy \
         the file beside it"
    )]
    Package { id: String },

    #[error(
        "Cannot find module '{id}' (looked for {tried}); put the file beside the script or \
         fix the path"
    )]
    NotFound { id: String, tried: String },
}

/// Node's built-in modules (node 20); any `node:` id is one too.
const BUILTINS: &[&str] = &[
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// The built-in module an id names (`fs`, `fs/promises`, `node:fs`), if it names one.
pub fn builtin(id: &str) -> Option<&str> {
    if let Some(name) = id.strip_prefix("node:") {
        return Some(name);
    }
    let top = id.split('/').next().unwrap_or(id);
    BUILTINS.contains(&top).then_some(id)
}

/// Whether node reads `id` as a path (`./x`, `../x`, `/x`, `.`, `..`) rather than as the
/// name of a package or built-in.
fn is_path(id: &str) -> bool {
    id == "." || id == ".." || id.starts_with("./") || id.starts_with("../") || id.starts_with('/')
}

/// The file `require(id)` loads when called from a file in `dir`. `is_file` says whether
/// a path is a readable file (a parameter so that tests need no files).
pub fn resolve(
    dir: &Path,
    id: &str,
    is_file: impl Fn(&Path) -> bool,
) -> Result<PathBuf, ResolveError> {
    if !is_path(id) {
        return Err(match builtin(id) {
            Some(name) => ResolveError::Builtin {
                id: id.to_string(),
                name: name.to_string(),
            },
            None => ResolveError::Package { id: id.to_string() },
        });
    }
    let base = normalize(&dir.join(id));
    let mut candidates = Vec::with_capacity(5);
    // `require('./lib/')` means the folder, never a file named `lib`.
    if !id.ends_with('/') {
        candidates.push(base.clone());
        candidates.push(with_suffix(&base, ".js"));
        candidates.push(with_suffix(&base, ".json"));
    }
    candidates.push(base.join("index.js"));
    candidates.push(base.join("index.json"));
    if let Some(found) = candidates.iter().find(|path| is_file(path)) {
        return Ok(found.clone());
    }
    let tried = candidates
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(ResolveError::NotFound {
        id: id.to_string(),
        tried,
    })
}

/// `path` with `suffix` appended to its last component (`lib` -> `lib.js`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut text = path.as_os_str().to_owned();
    text.push(suffix);
    PathBuf::from(text)
}

/// Removes `.` and resolves `..` lexically. A relative path keeps the `..` that go above
/// its start; `..` at the root stays at the root.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &'static [&'static str]) -> impl Fn(&Path) -> bool {
        move |path| list.iter().any(|file| Path::new(file) == path)
    }

    #[test]
    fn normalizes_lexically() {
        for (path, want) in [
            ("/hook/./lib/../x.js", "/hook/x.js"),
            ("/hook/../../x.js", "/x.js"),
            ("a/../../b", "../b"),
            ("./a/./b", "a/b"),
            ("a/..", "."),
        ] {
            assert_eq!(normalize(Path::new(path)), PathBuf::from(want), "{path}");
        }
    }

    #[test]
    fn tries_exact_js_json_then_index() {
        let dir = Path::new("/hook");
        let found = |id, list| resolve(dir, id, files(list)).unwrap();
        assert_eq!(
            found("./a.js", &["/hook/a.js"]),
            PathBuf::from("/hook/a.js")
        );
        assert_eq!(
            found("./a", &["/hook/a.js", "/hook/a.json"]),
            PathBuf::from("/hook/a.js")
        );
        assert_eq!(
            found("./a", &["/hook/a.json"]),
            PathBuf::from("/hook/a.json")
        );
        assert_eq!(
            found("./lib", &["/hook/lib/index.js"]),
            PathBuf::from("/hook/lib/index.js")
        );
        assert_eq!(
            found("./lib/", &["/hook/lib", "/hook/lib/index.json"]),
            PathBuf::from("/hook/lib/index.json")
        );
        assert_eq!(found("../x", &["/x.js"]), PathBuf::from("/x.js"));
        assert_eq!(
            found("/abs/y.js", &["/abs/y.js"]),
            PathBuf::from("/abs/y.js")
        );
        // A relative entry script (tests run scripts by host paths like this).
        let found = resolve(
            Path::new("examples/js"),
            "./util",
            files(&["examples/js/util.js"]),
        );
        assert_eq!(found, Ok(PathBuf::from("examples/js/util.js")));
        let found = resolve(Path::new(""), "./util", files(&["util.js"]));
        assert_eq!(found, Ok(PathBuf::from("util.js")));
    }

    #[test]
    fn missing_files_list_what_was_tried() {
        let err = resolve(Path::new("/hook"), "./nope", files(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("Cannot find module './nope'"), "{text}");
        assert!(
            text.contains("/hook/nope.js") && text.contains("/hook/nope/index.json"),
            "{text}"
        );
    }

    #[test]
    fn builtins_and_packages_are_refused_by_name() {
        for id in [
            "fs",
            "fs/promises",
            "node:fs",
            "node:test",
            "http",
            "child_process",
        ] {
            let err = resolve(Path::new("/hook"), id, files(&[])).unwrap_err();
            assert!(matches!(err, ResolveError::Builtin { .. }), "{id}: {err}");
            assert!(err.to_string().contains(&format!("'{id}'")), "{err}");
        }
        let err = resolve(Path::new("/hook"), "lodash", files(&[])).unwrap_err();
        assert_eq!(
            err,
            ResolveError::Package {
                id: "lodash".into()
            }
        );
        assert!(err.to_string().contains("bundle"), "{err}");
    }
}
