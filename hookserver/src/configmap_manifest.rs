//! `hookserver configmap`: a ready-to-apply ConfigMap manifest carrying a hook module.
//!
//! The manifest is written by hand rather than through a YAML library: its shape is fixed, and
//! every value that is not a plain name is emitted as a JSON string, which YAML reads as a
//! double-quoted scalar.

use std::io::Write as _;

use base64::Engine as _;

use crate::options::HookOptions;
use crate::source::configmap::{ANNOTATION_PREFIX, DEFAULT_SELECTOR, MODULE_GZ_KEY, MODULE_KEY};

/// The API server refuses a ConfigMap whose data and binaryData add up to more than this.
pub const MAX_CONFIGMAP_DATA: usize = 1 << 20;

/// What goes into the manifest.
pub struct ManifestSpec<'a> {
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    pub module: &'a [u8],
    /// Compress even when the plain module would fit.
    pub gzip: bool,
    /// `KEY=VALUE` hook options, validated, written as `hookserver.io/KEY` annotations.
    pub options: &'a [(String, String)],
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

    let (key, payload) = if spec.gzip || spec.module.len() > MAX_CONFIGMAP_DATA {
        let compressed = gzip(spec.module)?;
        if compressed.len() > MAX_CONFIGMAP_DATA {
            return Err(ManifestError::TooLarge {
                module: spec.module.len(),
                compressed: compressed.len(),
            });
        }
        (MODULE_GZ_KEY, compressed)
    } else {
        (MODULE_KEY, spec.module.to_vec())
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
    let encoded = base64::engine::general_purpose::STANDARD.encode(&payload);
    out.push_str(&format!("binaryData:\n  {key}: {encoded}\n"));
    Ok(out)
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
            module,
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
}
