//! The case format: a file of JSON describing requests to a hook and what the answers must
//! be. Cases are data, so anyone can add one without touching the runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::assert::Assertion;
use crate::generate::Generate;

/// One case: a first step (its fields written at the top level) and optional later steps.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseFile {
    /// A one-line title; the file path is the case's id.
    pub name: Option<String>,
    /// Why the case exists, for readers.
    #[serde(default)]
    pub description: Option<String>,
    /// The logical hook name, mapped to a URL at run time.
    pub hook: String,
    /// Capabilities the backend must declare (`--with`), e.g. `etag` or `hookserver`.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Free-form labels for `--only` and reports (e.g. `protocol`, `example`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Further steps, run in order after the first.
    #[serde(default)]
    pub then: Vec<Step>,
    /// The first step.
    #[serde(flatten)]
    pub first: Step,
}

/// One request and what its answer must be.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Another hook than the case's, for this step.
    #[serde(default)]
    pub hook: Option<String>,
    /// `sync`, `finalize` or `customize`: the last path segment of the URL (any other
    /// word is sent as is, to test how a backend refuses it).
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The request body as JSON.
    #[serde(default)]
    pub request: Option<Value>,
    /// The request body from a file, relative to the case file.
    #[serde(default)]
    pub request_file: Option<PathBuf>,
    /// A request built by the generator (see [`Generate`]).
    #[serde(default)]
    pub generate: Option<Generate>,
    /// The request body as raw text, for malformed requests.
    #[serde(default)]
    pub raw_body: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    /// `Content-Type`; `null` sends none.
    #[serde(default = "default_content_type")]
    pub content_type: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Send `If-None-Match` with the ETag the previous step's answer carried.
    #[serde(default)]
    pub if_none_match_previous: bool,
    /// Send this many copies at once; the step passes when at least one answer meets
    /// `expect` (for overload: one of N simultaneous calls is refused).
    #[serde(default)]
    pub concurrent: Option<usize>,
    pub expect: Expect,
}

fn default_kind() -> String {
    "sync".to_string()
}

fn default_method() -> String {
    "POST".to_string()
}

fn default_content_type() -> Option<String> {
    Some("application/json".to_string())
}

/// What the answer must be. Everything listed must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// The status, or any of several (`[304, 412]`).
    #[serde(default)]
    pub status: Option<StatusSet>,
    /// Response headers: a string must be contained in the value (case-insensitive name),
    /// `true` means present, `false` absent.
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
    /// JSONPath assertions on the body, which must then be JSON.
    #[serde(default)]
    pub json: Vec<Assertion>,
    /// Text the body must contain (error bodies are plain text).
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// The body must be empty (a 304).
    #[serde(default)]
    pub body_empty: bool,
    /// A file (relative to the case) whose JSON the body must equal exactly.
    #[serde(default)]
    pub golden: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StatusSet {
    One(u16),
    Any(Vec<u16>),
}

impl StatusSet {
    pub fn contains(&self, status: u16) -> bool {
        match self {
            StatusSet::One(expected) => *expected == status,
            StatusSet::Any(expected) => expected.contains(&status),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            StatusSet::One(expected) => expected.to_string(),
            StatusSet::Any(expected) => format!("{expected:?}"),
        }
    }
}

/// A case loaded from disk, with its id and steps ready to run.
#[derive(Debug)]
pub struct Case {
    /// The path relative to the cases directory, without `.json`.
    pub id: String,
    pub name: String,
    pub hook: String,
    pub requires: Vec<String>,
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
    /// The directory of the case file: request and golden files are relative to it.
    pub dir: PathBuf,
}

/// A case file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct CaseError {
    pub path: PathBuf,
    pub message: String,
}

impl Case {
    /// Every `*.json` case under `root` (recursively), sorted by id. A directory named
    /// `requests` or `golden` holds data, not cases.
    pub fn load_all(root: &Path) -> Result<Vec<Case>, CaseError> {
        let mut files = Vec::new();
        collect(root, &mut files).map_err(|err| CaseError {
            path: root.to_path_buf(),
            message: format!("cannot list cases: {err}"),
        })?;
        files.sort();
        files.iter().map(|file| Case::load(root, file)).collect()
    }

    fn load(root: &Path, file: &Path) -> Result<Case, CaseError> {
        let fail = |message: String| CaseError {
            path: file.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|err| fail(err.to_string()))?;
        let case: CaseFile =
            serde_json::from_str(&text).map_err(|err| fail(format!("not a valid case: {err}")))?;
        let id = file
            .strip_prefix(root)
            .unwrap_or(file)
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        let mut steps = vec![case.first];
        steps.extend(case.then);
        for (index, step) in steps.iter().enumerate() {
            let sources = [
                step.request.is_some(),
                step.request_file.is_some(),
                step.generate.is_some(),
                step.raw_body.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(fail(format!(
                    "step {} must have exactly one of request, requestFile, generate, rawBody",
                    index + 1
                )));
            }
        }
        Ok(Case {
            name: case.name.unwrap_or_else(|| id.clone()),
            id,
            hook: case.hook,
            requires: case.requires,
            tags: case.tags,
            steps,
            dir: file.parent().unwrap_or(root).to_path_buf(),
        })
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            let data_dir = path
                .file_name()
                .is_some_and(|n| n == "requests" || n == "golden");
            if !data_dir {
                collect(&path, files)?;
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// The request body a step sends.
pub fn request_body(step: &Step, dir: &Path) -> Result<Vec<u8>, String> {
    if let Some(raw) = &step.raw_body {
        return Ok(raw.clone().into_bytes());
    }
    if let Some(request) = &step.request {
        return serde_json::to_vec(request).map_err(|e| e.to_string());
    }
    if let Some(file) = &step.request_file {
        let path = dir.join(file);
        return std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()));
    }
    if let Some(generate) = &step.generate {
        let request = generate.build(&step.kind)?;
        return serde_json::to_vec(&request).map_err(|e| e.to_string());
    }
    Err("the step has no request".to_string())
}

/// Reads a JSON file relative to a case.
pub fn read_json(dir: &Path, file: &Path) -> Result<Value, String> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
