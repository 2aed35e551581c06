//! Module sources: where hooks come from. A source only reports what it sees, as
//! [`SourceEvent`]s into one channel; the registry is the single writer that turns them into
//! routes (compiling first, so a bad version never replaces a good one).

pub mod configmap;
pub mod directory;

use std::sync::Arc;

use crate::digest::Digest;
use crate::options::HookOptions;
use crate::script::ScriptFiles;

/// Which source an event came from (`dir:PATH`, `configmap:NAMESPACE`). A hook name belongs
/// to the source that first defined it; another source defining the same name is refused.
pub type SourceId = Arc<str>;

/// A change a source observed.
#[derive(Debug)]
pub enum SourceEvent {
    /// A hook appeared or changed: prepare `artifact` and serve it under `name`.
    Upsert {
        source: SourceId,
        name: String,
        origin: String,
        artifact: Artifact,
        options: HookOptions,
    },
    /// A hook's source is present but unusable (unreadable, bad options, bad name).
    /// The version being served, if any, keeps serving.
    Invalid {
        source: SourceId,
        name: String,
        origin: String,
        error: String,
    },
    /// A hook is gone: stop serving it.
    Remove { source: SourceId, name: String },
    /// The source finished its initial listing; the server is ready when all sources are.
    Synced { source: SourceId },
    /// The source cannot reach its hooks right now (API server down, access refused); shown
    /// by `/readyz` while the source has not synced. Hooks already loaded keep serving.
    Unavailable { source: SourceId, error: String },
}

/// What a hook is made of.
#[derive(Debug)]
pub enum Artifact {
    /// A Wasm module (hook ABI v1).
    Module(Vec<u8>),
    /// A script, run by its language's adapter module.
    Script(ScriptFiles),
}

impl Artifact {
    /// The identity of this version: the module's SHA-256, or the script files' digest.
    pub fn digest(&self) -> Digest {
        match self {
            Artifact::Module(bytes) => Digest::of(bytes),
            Artifact::Script(files) => files.digest(),
        }
    }

    /// Bytes shipped: the module, or all the script's files.
    pub fn size(&self) -> u64 {
        match self {
            Artifact::Module(bytes) => bytes.len() as u64,
            Artifact::Script(files) => files.size(),
        }
    }

    /// What it is, for messages: `module`, `jsonnet script`, `js script`.
    pub fn kind(&self) -> &'static str {
        match self {
            Artifact::Module(_) => "module",
            Artifact::Script(files) => match files.language {
                crate::script::Language::Jsonnet => "jsonnet script",
                crate::script::Language::Js => "js script",
            },
        }
    }
}

/// What became of a source's latest change to a hook, published by the registry for sources
/// that report back to where the hook came from (Kubernetes Events on a ConfigMap).
#[derive(Clone, Debug)]
pub struct LoadOutcome {
    pub source: SourceId,
    pub name: String,
    /// The origin the event named, so a stale outcome can be told from a current one.
    pub origin: String,
    pub result: Result<Loaded, LoadRefused>,
}

/// A version that now serves.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// `module` or `LANGUAGE script` (see [`Artifact::kind`]).
    pub kind: &'static str,
    pub digest: Digest,
    pub size: u64,
}

/// A version that does not serve, and why.
#[derive(Clone, Debug)]
pub struct LoadRefused {
    pub message: String,
    /// Whether an earlier version of the hook keeps serving.
    pub previous_serves: bool,
}

/// Hook names become URL path segments and (later) Kubernetes object names, so they follow
/// the Kubernetes rules for a name: lowercase alphanumerics, `-` and `.`, at most 253.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let valid_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !name.is_empty() && name.len() <= 253 && valid_chars && valid_ends {
        Ok(())
    } else {
        Err(format!(
            "invalid hook name {name:?}: use lowercase letters, digits, '-' and '.', starting \
             and ending with a letter or digit (at most 253 characters)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_follow_kubernetes_rules() {
        for good in ["hello-world", "a", "v1.2", "x9"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Hello",
            "-a",
            "a-",
            "a_b",
            "a b",
            "a/b",
            &"a".repeat(254),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
