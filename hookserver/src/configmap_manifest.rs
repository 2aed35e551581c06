//! `hookserver configmap`: a ready-to-apply ConfigMap manifest carrying a hook module or
//! script.
//!
//! The manifest is written by hand rather than through a YAML library: its shape is fixed, and
//! every value that is not a plain name is emitted as a JSON string, which YAML reads as a
//! double-quoted scalar.

use std::io::Write as _;

use base64::Engine as _;

use crate::options::HookOptions;
use crate::script::ScriptFiles;
use crate::source::configmap::{ANNOTATION_PREFIX, DEFAULT_SELECTOR, MODULE_GZ_KEY, MODULE_KEY};

/// The API server refuses a ConfigMap whose data and binaryData add up to more than this.
pub const MAX_CONFIGMAP_DATA: usize = 1 << 20;

/// What goes into the manifest.
pub struct ManifestSpec<'a> {
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub content: Content<'a>,
    /// Compress even when the plain module would fit (modules only).
    pub gzip: bool,
    /// `KEY=VALUE` hook options, validated, written as `hookserver.io/KEY` annotations.
    pub options: &'a [(String, String)],
}

/// What the hook is.
pub enum Content<'a> {
    Module(&'a [u8]),
    /// A script: its entry becomes data key `hook.jsonnet` or `hook.js`, the other files keep
    /// their names.
    Script(&'a ScriptFiles),
}

/// Why no manifest could be written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "the module is {module} bytes and {compressed} gzip-compressed, over the {MAX_CONFIGMAP_DATA} \
         bytes a ConfigMap holds: build it smaller (opt-level \"s\", lto, strip) or serve it \
         from a directory with --modules"
    )]
    TooLarge { module: usize, compressed: usize },
    #[error(
        "the script's files take {0} bytes, over the {MAX_CONFIGMAP_DATA} bytes a ConfigMap \
         holds: serve it from a directory with --modules"
    )]
    ScriptTooLarge(usize),
    #[error("cannot compress the module: {0}")]
    Compress(#[from] std::io::Error),
    #[error("{0}")]
    Option(String),
}

/// The manifest text (YAML).
pub fn manifest(spec: &ManifestSpec<'_>) -> Result<String, ManifestError> {
    // Validate the options exactly as the server will read them back.
    let pairs = spec.options.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    HookOptions::with_defaults(Default::default())
        .with_overrides(pairs)
        .map_err(|err| ManifestError::Option(err.to_string()))?;

    let payload = match spec.content {
        Content::Module(module) => module_payload(module, spec.gzip)?,
        Content::Script(files) => script_payload(files)?,
    };
    let (label_key, label_value) = DEFAULT_SELECTOR
        .split_once('=')
        .unwrap_or((DEFAULT_SELECTOR, "true"));

    let mut out = String::new();
    out.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata:\n");
    out.push_str(&format!("  name: {}\n", spec.name));
    if let Some(namespace) = spec.namespace {
        out.push_str(&format!("  namespace: {namespace}\n"));
    }
    out.push_str(&format!(
        "  labels:\n    {label_key}: {}\n",
        quote(label_value)
    ));
    if !spec.options.is_empty() {
        out.push_str("  annotations:\n");
        for (key, value) in spec.options {
            out.push_str(&format!("    {ANNOTATION_PREFIX}{key}: {}\n", quote(value)));
        }
    }
    if !payload.text.is_empty() {
        out.push_str("data:\n");
        for (key, text) in &payload.text {
            out.push_str(&format!("  {key}: {}\n", quote(text)));
        }
    }
    if !payload.binary.is_empty() {
        out.push_str("binaryData:\n");
        for (key, bytes) in &payload.binary {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            out.push_str(&format!("  {key}: {encoded}\n"));
        }
    }
    Ok(out)
}

/// The ConfigMap's `data` (text) and `binaryData` entries.
#[derive(Default)]
struct Payload {
    text: Vec<(String, String)>,
    binary: Vec<(String, Vec<u8>)>,
}

fn module_payload(module: &[u8], gzip_anyway: bool) -> Result<Payload, ManifestError> {
    let (key, bytes) = if gzip_anyway || module.len() > MAX_CONFIGMAP_DATA {
        let compressed = gzip(module)?;
        if compressed.len() > MAX_CONFIGMAP_DATA {
            return Err(ManifestError::TooLarge {
                module: module.len(),
                compressed: compressed.len(),
            });
        }
        (MODULE_GZ_KEY, compressed)
    } else {
        (MODULE_KEY, module.to_vec())
    };
    Ok(Payload {
        text: Vec::new(),
        binary: vec![(key.to_string(), bytes)],
    })
}

/// Text files go to `data` (readable in `kubectl get -o yaml`), anything else to
/// `binaryData`; the server reads both back as the script's files.
fn script_payload(files: &ScriptFiles) -> Result<Payload, ManifestError> {
    let size = files.size() as usize;
    if size > MAX_CONFIGMAP_DATA {
        return Err(ManifestError::ScriptTooLarge(size));
    }
    let mut payload = Payload::default();
    for (name, bytes) in &files.files {
        let key = if *name == files.entry {
            files.language.entry_file().to_string()
        } else {
            name.clone()
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => payload.text.push((key, text.to_string())),
            Err(_) => payload.binary.push((key, bytes.clone())),
        }
    }
    Ok(payload)
}

fn quote(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

/// The module as `module.wasm.gz` holds it (the source reads it back with `GzDecoder`).
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(module: &'a [u8], options: &'a [(String, String)]) -> ManifestSpec<'a> {
        ManifestSpec {
            name: "hello",
            namespace: Some("hookserver"),
            content: Content::Module(module),
            gzip: false,
            options,
        }
    }

    #[test]
    fn small_modules_stay_plain_with_label_and_annotations() {
        let options = [("timeout".to_string(), "2s".to_string())];
        let text = manifest(&spec(b"\0asm", &options)).expect("manifest");
        assert!(
            text.contains("  name: hello\n  namespace: hookserver\n"),
            "{text}"
        );
        assert!(
            text.contains("    hookserver.io/module: \"true\"\n"),
            "{text}"
        );
        assert!(
            text.contains("    hookserver.io/timeout: \"2s\"\n"),
            "{text}"
        );
        assert!(
            text.ends_with("binaryData:\n  module.wasm: AGFzbQ==\n"),
            "{text}"
        );
    }

    #[test]
    fn large_modules_are_compressed_and_huge_ones_refused() {
        let compressible = vec![7u8; MAX_CONFIGMAP_DATA + 1];
        let text = manifest(&spec(&compressible, &[])).expect("manifest");
        assert!(
            text.contains("  module.wasm.gz: "),
            "compressed automatically"
        );

        // Pseudo-random bytes do not compress.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..MAX_CONFIGMAP_DATA + 1)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let err = manifest(&spec(&noise, &[])).expect_err("too large");
        assert!(
            err.to_string().contains("serve it from a directory"),
            "{err}"
        );
    }

    #[test]
    fn options_are_checked_before_writing() {
        let options = [("timout".to_string(), "2s".to_string())];
        let err = manifest(&spec(b"\0asm", &options)).expect_err("typo");
        assert!(
            err.to_string().contains("unknown option \"timout\""),
            "{err}"
        );
    }

    #[test]
    fn scripts_become_data_with_the_entry_renamed() {
        let files = ScriptFiles::new(
            crate::script::Language::Jsonnet,
            "catset.jsonnet".to_string(),
            [
                (
                    "catset.jsonnet",
                    &b"local lib = import 'lib.libsonnet';\n{\"a\": 1}"[..],
                ),
                ("lib.libsonnet", b"{}"),
                ("blob.bin", b"\xff\x00"),
            ]
            .into_iter()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect(),
        )
        .expect("script");
        let text = manifest(&ManifestSpec {
            content: Content::Script(&files),
            ..spec(b"", &[])
        })
        .expect("manifest");
        assert!(
            text.contains(
                "data:\n  hook.jsonnet: \"local lib = import 'lib.libsonnet';\\n{\\\"a\\\": 1}\"\n  lib.libsonnet: \"{}\"\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("binaryData:\n  blob.bin: /wA=\n"), "{text}");
    }
}
