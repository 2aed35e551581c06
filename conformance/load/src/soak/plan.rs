//! What a soak runs: the hooks it installs, each in one or two versions with what each
//! version answers, and the mix of requests over them.
//!
//! Requests are hookload's hello-world CompositeController requests (see
//! [`crate::requests`]), from 0 to 1000 observed Pods (1.5 KB to 3.5 MB). The hooks are
//! those that give such a request a known outcome:
//! - example hooks that answer it: hello-world (Rust, and its JavaScript and Jsonnet
//!   ports), configmap-list-v2, namespace-list-v2 and update-strategy. Their expected
//!   answers come from the examples' own Rust code, run here on the same request
//!   ([`metahook::CompositeHooks::handle`] is what the module's `main` runs);
//! - `fail`, the fixture that exits with code 3, and `slow`, the fixture that spins for
//!   500 ms, served with a `timeout` of 100 or 150 ms: both answer `500` with an exact text;
//! - `swap`, whose module alternates between hello-world and configmap-list-v2 while the
//!   soak runs; `hello-world` and `slow` alternate between two options files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};

use metahook::CompositeHooks;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::expect::Expected;
use super::wheel::Wheel;
use crate::requests::{self, HookKind, RequestTemplate};

/// A plan that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}; {hint}")]
    Missing {
        path: PathBuf,
        hint: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Requests(#[from] requests::Error),
    #[error(
        "the mix sends {entry} requests, but the hook's own code refuses them ({reason}), so \
         no answer can be expected; fix the mix in conformance/load/src/soak/plan.rs"
    )]
    Oracle { entry: String, reason: String },
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the files of the hooks are.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The example hooks as `make hooks` leaves them (`NAME.wasm`, scripts, `*.libsonnet`).
    pub hooks: PathBuf,
    /// The conformance fixtures (`fixture-fail.wasm`, `fixture-slow.wasm`).
    pub fixtures: PathBuf,
}

/// Which directory of [`Sources`] a file comes from.
#[derive(Debug, Clone, Copy)]
enum Dir {
    Hooks,
    Fixtures,
}

impl Sources {
    fn read(&self, dir: Dir, file: &str) -> Result<Vec<u8>> {
        let (dir, hint) = match dir {
            Dir::Hooks => (&self.hooks, "build the example hooks first (make hooks)"),
            Dir::Fixtures => (
                &self.fixtures,
                "build the fixtures first (cargo build --profile hook --target wasm32-wasip1 \
                 -p conformance-fixtures)",
            ),
        };
        let path = dir.join(file);
        std::fs::read(&path).map_err(|source| Error::Missing { path, hint, source })
    }
}

/// How a version of a hook answers the soak's requests.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// As this example's Rust code does.
    Answers(fn() -> CompositeHooks),
    /// Exits with `code` after writing `stderr` (a line).
    Exits { code: i32, stderr: &'static str },
    /// Runs past its `timeout` option, shown as `limit`.
    TimesOut { limit: &'static str },
}

/// One version of a hook: its files and what it answers.
#[derive(Debug)]
pub struct Version {
    /// How the report names it.
    pub label: &'static str,
    /// The module or script, installed as `NAME.EXT`.
    pub extension: &'static str,
    pub bytes: Vec<u8>,
    /// `NAME.toml`, if any.
    pub options: Option<String>,
    /// What `GET /hooks` shows once this version serves: JSON pointers into the hook's
    /// entry and their values (the module digest is checked too, for modules).
    pub shows: Vec<(&'static str, Value)>,
    pub behaviour: Behaviour,
}

impl Version {
    /// The digest `GET /hooks` shows for a module (`None` for a script, which the server
    /// digests with its files).
    pub fn digest(&self) -> Option<String> {
        (self.extension == "wasm").then(|| format!("sha256:{:x}", Sha256::digest(&self.bytes)))
    }

    /// Whether `entry`, a hook's entry in `GET /hooks`, shows this version serving.
    pub fn is_shown_by(&self, entry: &Value) -> bool {
        entry["state"] == "ready"
            && self
                .digest()
                .is_none_or(|digest| entry["digest"].as_str() == Some(digest.as_str()))
            && self
                .shows
                .iter()
                .all(|(pointer, value)| entry.pointer(pointer) == Some(value))
    }
}

/// A hook the soak installs. Versions after the first are what the soak switches to.
#[derive(Debug)]
pub struct Hook {
    pub name: &'static str,
    pub versions: Vec<Version>,
    /// Other files the hook needs beside it (a Jsonnet library).
    pub extras: Vec<(&'static str, Vec<u8>)>,
    /// Bit `i` set: version `i`'s outcome is accepted now (both around a switch).
    accepting: AtomicU8,
}

impl Hook {
    fn new(name: &'static str, versions: Vec<Version>) -> Self {
        Self {
            name,
            versions,
            extras: Vec::new(),
            accepting: AtomicU8::new(1),
        }
    }

    /// The versions whose outcome a request sent now accepts, as bits.
    pub fn accepting(&self) -> u8 {
        self.accepting.load(Ordering::Acquire)
    }

    /// Accepts the outcomes of the versions in `mask` from now on.
    pub fn accept(&self, mask: u8) {
        self.accepting.store(mask, Ordering::Release);
    }
}

/// One kind of request in the mix.
#[derive(Debug)]
pub struct Entry {
    /// Index into [`Plan::hooks`].
    pub hook: usize,
    pub kind: HookKind,
    pub children: usize,
    /// The same body every time (a resync: answered from the response cache), instead of a
    /// distinct one per request.
    pub identical: bool,
    /// Share of the traffic, out of the sum of all weights.
    pub weight: u32,
    pub template: RequestTemplate,
    /// The outcome of each version of the hook.
    pub expected: Vec<Expected>,
}

/// The whole plan.
#[derive(Debug)]
pub struct Plan {
    pub hooks: Vec<Hook>,
    pub entries: Vec<Entry>,
    pub wheel: Wheel,
    /// The body number of the reference requests expected answers are made from; never
    /// sent (see [`super::expect`]).
    pub reference: u64,
}

/// The mix: (hook, kind, observed Pods, identical, weight out of 100). Mostly small
/// requests, as metacontroller sends most; a 1000-Pod request (3.5 MB) 2 times in 100;
/// resyncs of an unchanged parent; a failing and a timing-out hook.
const MIX: &[(&str, HookKind, usize, bool, u32)] = &[
    ("hello-world", HookKind::Sync, 0, false, 17),
    ("hello-world", HookKind::Sync, 1, false, 14),
    ("hello-world", HookKind::Sync, 10, false, 10),
    ("hello-world", HookKind::Sync, 10, true, 8),
    ("hello-world", HookKind::Sync, 100, false, 4),
    ("hello-world", HookKind::Sync, 1000, false, 1),
    ("hello-world", HookKind::Finalize, 0, false, 2),
    ("hello-world", HookKind::Finalize, 1, false, 4),
    ("hello-world", HookKind::Customize, 1, false, 4),
    ("configmap-list", HookKind::Sync, 1, false, 5),
    ("configmap-list", HookKind::Sync, 100, false, 1),
    ("namespace-list", HookKind::Sync, 10, false, 4),
    ("update-strategy", HookKind::Sync, 1, false, 4),
    // Scripts cost tens of ms beyond 10 Pods: small requests only.
    ("hello-world-js", HookKind::Sync, 1, false, 3),
    ("hello-world-js", HookKind::Sync, 10, false, 1),
    ("hello-world-jsonnet", HookKind::Sync, 1, false, 3),
    ("hello-world-jsonnet", HookKind::Sync, 10, false, 1),
    ("swap", HookKind::Sync, 1, false, 8),
    ("swap", HookKind::Sync, 100, false, 1),
    ("swap", HookKind::Sync, 1000, false, 1),
    ("fail", HookKind::Sync, 1, false, 3),
    // Each call spins until its timeout: 100-150 ms of a core.
    ("slow", HookKind::Sync, 0, false, 1),
];

/// What fixture-fail writes on stderr before it exits with code 3.
const FIXTURE_FAIL_STDERR: &str = "fixture-fail: the parent has no spec.size; set it and retry";

/// The hooks, read from `sources`.
fn hooks(sources: &Sources) -> Result<Vec<Hook>> {
    // A version named after its file, without options.
    let file = |dir, file: &'static str, behaviour| -> Result<Version> {
        let extension = file.rsplit('.').next().unwrap_or_default();
        Ok(Version {
            label: file,
            extension,
            bytes: sources.read(dir, file)?,
            options: None,
            shows: Vec::new(),
            behaviour,
        })
    };
    let example = |name, oracle| file(Dir::Hooks, name, Behaviour::Answers(oracle));
    let hello_world = |label, memory: &str, bytes: u64| -> Result<Version> {
        Ok(Version {
            label,
            options: Some(format!("memory = \"{memory}\"\n")),
            shows: vec![("/options/limits/memory", json!(bytes))],
            ..example("hello-world.wasm", hello_world::hooks)?
        })
    };
    let slow = |label, limit: &'static str| -> Result<Version> {
        Ok(Version {
            label,
            options: Some(format!("timeout = \"{limit}\"\n")),
            shows: vec![("/options/limits/timeout", json!(limit))],
            ..file(
                Dir::Fixtures,
                "fixture-slow.wasm",
                Behaviour::TimesOut { limit },
            )?
        })
    };
    let mut jsonnet = Hook::new(
        "hello-world-jsonnet",
        vec![example("hello-world-jsonnet.jsonnet", hello_world::hooks)?],
    );
    jsonnet.extras = vec![(
        "hooks.libsonnet",
        sources.read(Dir::Hooks, "hooks.libsonnet")?,
    )];
    Ok(vec![
        // Options that make a new version with the same answers.
        Hook::new(
            "hello-world",
            vec![
                hello_world("memory 96Mi", "96Mi", 96 << 20)?,
                hello_world("memory 128Mi", "128Mi", 128 << 20)?,
            ],
        ),
        Hook::new(
            "configmap-list",
            vec![example("configmap-list-v2.wasm", configmap_list_v2::hooks)?],
        ),
        Hook::new(
            "namespace-list",
            vec![example("namespace-list-v2.wasm", namespace_list_v2::hooks)?],
        ),
        Hook::new(
            "update-strategy",
            vec![example("update-strategy.wasm", update_strategy::hooks)?],
        ),
        Hook::new(
            "hello-world-js",
            vec![example("hello-world-js.js", hello_world::hooks)?],
        ),
        jsonnet,
        // Another module with other answers.
        Hook::new(
            "swap",
            vec![
                example("hello-world.wasm", hello_world::hooks)?,
                example("configmap-list-v2.wasm", configmap_list_v2::hooks)?,
            ],
        ),
        Hook::new(
            "fail",
            vec![file(
                Dir::Fixtures,
                "fixture-fail.wasm",
                Behaviour::Exits {
                    code: 3,
                    stderr: FIXTURE_FAIL_STDERR,
                },
            )?],
        ),
        // Options that change the error text.
        Hook::new(
            "slow",
            vec![
                slow("timeout 100ms", "100ms")?,
                slow("timeout 150ms", "150ms")?,
            ],
        ),
    ])
}

impl Plan {
    /// Reads the hooks from `sources` and works out the outcome of every entry of the mix;
    /// `nonce` goes into every request (see [`RequestTemplate::new`]).
    pub fn build(sources: &Sources, nonce: u32) -> Result<Self> {
        let hooks = hooks(sources)?;
        let reference = u64::MAX;
        let mut templates: HashMap<(&'static str, usize), RequestTemplate> = HashMap::new();
        let mut entries = Vec::with_capacity(MIX.len());
        for &(name, kind, children, identical, weight) in MIX {
            let hook = hooks
                .iter()
                .position(|hook| hook.name == name)
                .expect("every hook of MIX is in hooks()");
            let template = match templates.get(&(kind.as_str(), children)) {
                Some(template) => template.clone(),
                None => {
                    let template = RequestTemplate::new(kind, children, nonce)?;
                    templates.insert((kind.as_str(), children), template.clone());
                    template
                }
            };
            let mut entry = Entry {
                hook,
                kind,
                children,
                identical,
                weight,
                template,
                expected: Vec::new(),
            };
            let body = entry.template.full_body(reference);
            for version in &hooks[hook].versions {
                let expected = outcome(name, kind, version.behaviour, &body).map_err(|reason| {
                    Error::Oracle {
                        entry: entry.name(&hooks),
                        reason,
                    }
                })?;
                entry.expected.push(expected);
            }
            entries.push(entry);
        }
        let weights: Vec<u32> = entries.iter().map(|e| e.weight).collect();
        let wheel = Wheel::new(&weights).expect("MIX has weights");
        Ok(Self {
            hooks,
            entries,
            wheel,
            reference,
        })
    }

    /// The files to install for the first version of every hook: (file name, contents).
    pub fn initial_files(&self) -> Vec<(String, &[u8])> {
        let mut files = Vec::new();
        for hook in &self.hooks {
            files.extend(hook.files(0));
            for (name, bytes) in &hook.extras {
                files.push((name.to_string(), bytes.as_slice()));
            }
        }
        files
    }
}

impl Hook {
    /// The files of version `at`: the module or script, and the options if it has any.
    pub fn files(&self, at: usize) -> Vec<(String, &[u8])> {
        let version = &self.versions[at];
        let mut files = vec![(
            format!("{}.{}", self.name, version.extension),
            version.bytes.as_slice(),
        )];
        if let Some(toml) = &version.options {
            files.push((self.options_file(), toml.as_bytes()));
        }
        files
    }

    /// `NAME.toml`.
    pub fn options_file(&self) -> String {
        format!("{}.toml", self.name)
    }
}

impl Entry {
    /// How the report names it: `hello-world sync 1000`, `... 10 identical`.
    pub fn name(&self, hooks: &[Hook]) -> String {
        format!(
            "{} {} {}{}",
            hooks[self.hook].name,
            self.kind,
            self.children,
            if self.identical { " identical" } else { "" }
        )
    }
}

/// The outcome of calling hook `name` (`kind`) with `body`, when it behaves as `behaviour`.
fn outcome(
    name: &str,
    kind: HookKind,
    behaviour: Behaviour,
    body: &[u8],
) -> std::result::Result<Expected, String> {
    Ok(match behaviour {
        Behaviour::Answers(hooks) => {
            let answer = hooks()
                .handle(kind.as_str(), body)
                .map_err(|err| err.to_string())?;
            Expected::Answer(serde_json::from_slice(&answer).map_err(|err| err.to_string())?)
        }
        // The server's texts for these failures (hookserver/src/http/error.rs, invoke.rs).
        Behaviour::Exits { code, stderr } => Expected::Error {
            label: "exits (fail)",
            status: 500,
            body: format!("hook {name:?} {kind} exited with code {code}; stderr: {stderr}\n"),
        },
        Behaviour::TimesOut { limit } => Expected::Error {
            label: "times out (slow)",
            status: 500,
            body: format!(
                "hook {name:?} {kind} timed out after {limit} (raise the hook's `timeout` \
                 option if it needs longer)\n"
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_to_100_and_names_only_known_hooks() {
        assert_eq!(MIX.iter().map(|m| m.4).sum::<u32>(), 100);
        let known = [
            "hello-world",
            "configmap-list",
            "namespace-list",
            "update-strategy",
            "hello-world-js",
            "hello-world-jsonnet",
            "swap",
            "fail",
            "slow",
        ];
        for (name, ..) in MIX {
            assert!(known.contains(name), "{name}");
        }
        for name in known {
            assert!(MIX.iter().any(|m| m.0 == name), "{name} gets no traffic");
        }
    }

    #[test]
    fn expected_answers_come_from_the_examples_own_code() {
        let template = RequestTemplate::new(HookKind::Sync, 3, 7).expect("template");
        let body = template.full_body(u64::MAX);
        let Ok(Expected::Answer(answer)) = outcome(
            "swap",
            HookKind::Sync,
            Behaviour::Answers(hello_world::hooks),
            &body,
        ) else {
            panic!("hello-world answers");
        };
        assert_eq!(answer["status"]["pods"], 3);
        assert_eq!(
            answer["children"][0]["spec"]["containers"][0]["command"][1],
            format!("Hello, {}!", template.who(u64::MAX))
        );
        let Ok(Expected::Answer(listed)) = outcome(
            "x",
            HookKind::Sync,
            Behaviour::Answers(configmap_list_v2::hooks),
            &body,
        ) else {
            panic!("configmap-list-v2 answers");
        };
        assert_eq!(listed["children"][0]["metadata"]["name"], "hello-list");
        // configmap-list-v2 has no finalize hook: the plan refuses such an entry.
        let finalize = RequestTemplate::new(HookKind::Finalize, 1, 7).expect("template");
        let refused = outcome(
            "x",
            HookKind::Finalize,
            Behaviour::Answers(configmap_list_v2::hooks),
            &finalize.full_body(0),
        );
        assert!(
            refused
                .expect_err("no finalize")
                .contains("does not implement")
        );
    }

    #[test]
    fn failures_are_the_servers_exact_texts() {
        let exits = outcome(
            "fail",
            HookKind::Sync,
            Behaviour::Exits {
                code: 3,
                stderr: FIXTURE_FAIL_STDERR,
            },
            b"{}",
        );
        assert_eq!(
            exits,
            Ok(Expected::Error {
                label: "exits (fail)",
                status: 500,
                body: "hook \"fail\" sync exited with code 3; stderr: fixture-fail: the parent \
                       has no spec.size; set it and retry\n"
                    .to_string()
            })
        );
        let Ok(Expected::Error { body, .. }) = outcome(
            "slow",
            HookKind::Sync,
            Behaviour::TimesOut { limit: "150ms" },
            b"{}",
        ) else {
            panic!("an error");
        };
        assert!(
            body.starts_with("hook \"slow\" sync timed out after 150ms (raise"),
            "{body}"
        );
    }

    #[test]
    fn a_version_is_recognized_by_state_digest_and_options() {
        let version = Version {
            label: "timeout 150ms",
            extension: "wasm",
            bytes: b"\0asm".to_vec(),
            options: Some("timeout = \"150ms\"\n".to_string()),
            shows: vec![("/options/limits/timeout", json!("150ms"))],
            behaviour: Behaviour::TimesOut { limit: "150ms" },
        };
        let digest = version.digest().expect("a module has a digest");
        assert_eq!(digest.len(), "sha256:".len() + 64);
        let entry = |state: &str, digest: &str, timeout: &str| {
            json!({"state": state, "digest": digest,
                   "options": {"limits": {"timeout": timeout}}})
        };
        assert!(version.is_shown_by(&entry("ready", &digest, "150ms")));
        assert!(!version.is_shown_by(&entry("loading", &digest, "150ms")));
        assert!(!version.is_shown_by(&entry("ready", "sha256:00", "150ms")));
        assert!(!version.is_shown_by(&entry("ready", &digest, "100ms")));
        assert!(!version.is_shown_by(&json!({})));
    }
}
