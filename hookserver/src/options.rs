//! Per-hook options: the limits a hook runs under and how strictly its output is checked.
//!
//! Every source speaks the same flat `key = value` vocabulary (a `NAME.toml` file beside a
//! module in a directory, annotations on a ConfigMap), so parsing and validation live here
//! once. Unknown keys are errors: a misspelt limit that silently falls back to the default is
//! worse than a hook that refuses to load.

use std::time::Duration;

use serde::Serialize;

/// The keys a hook's options may set, in the order they are documented.
pub const OPTION_KEYS: &[&str] = &[
    "timeout",
    "memory",
    "max-response",
    "max-request",
    "max-stderr",
    "max-instances",
    "strict",
];

/// Largest linear memory a wasm32 module can address.
const MAX_MEMORY: u64 = 4 << 30;
/// One Wasm page: no module can run with less.
const MIN_MEMORY: u64 = 64 << 10;
/// Longer than any sensible webhook timeout; beyond it a hook is surely stuck.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// What one hook invocation may consume. Set on each Store, never shared between hooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Wall-clock time for one invocation, from instantiation to exit.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// Largest linear memory, in bytes.
    pub memory: u64,
    /// Largest response (stdout), in bytes.
    pub max_response: u64,
    /// Largest request body accepted, in bytes.
    pub max_request: u64,
    /// Bytes of stderr kept (the tail); older output is dropped, never an error.
    pub max_stderr: u64,
    /// Instances of this hook running at once; further requests queue.
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            memory: 64 << 20,
            max_response: 8 << 20,
            max_request: 32 << 20,
            max_stderr: 64 << 10,
            max_instances: 16,
        }
    }
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// Everything configurable about one hook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookOptions {
    pub limits: Limits,
    /// Reject unknown or duplicate top-level response fields, as metacontroller's
    /// `responseUnMarshallMode: strict` would, but with a message naming the field.
    pub strict: bool,
}

impl HookOptions {
    /// Options with the server's defaults.
    pub fn with_defaults(limits: Limits) -> Self {
        HookOptions {
            limits,
            strict: false,
        }
    }

    /// Applies `key = value` overrides on top of `self`, validating each one.
    pub fn with_overrides<'a>(
        mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, OptionsError> {
        for (key, value) in pairs {
            self.set(key, value.trim())?;
        }
        Ok(self)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), OptionsError> {
        let invalid = |expected: &'static str| OptionsError::Invalid {
            key: key.to_string(),
            value: value.to_string(),
            expected,
        };
        let limits = &mut self.limits;
        match key {
            "timeout" => {
                let timeout = humantime::parse_duration(value)
                    .map_err(|_| invalid("a duration such as 2s or 500ms, at most 10m"))?;
                if timeout.is_zero() || timeout > MAX_TIMEOUT {
                    return Err(invalid("a duration above 0 and at most 10m"));
                }
                limits.timeout = timeout;
            }
            "memory" => {
                limits.memory = parse_bytes(value)
                    .filter(|m| (MIN_MEMORY..=MAX_MEMORY).contains(m))
                    .ok_or_else(|| invalid("a size between 64Ki and 4Gi, such as 32Mi"))?;
            }
            "max-response" => {
                limits.max_response = parse_nonzero_bytes(value)
                    .ok_or_else(|| invalid("a size such as 8Mi (above 0)"))?;
            }
            "max-request" => {
                limits.max_request = parse_nonzero_bytes(value)
                    .ok_or_else(|| invalid("a size such as 32Mi (above 0)"))?;
            }
            "max-stderr" => {
                limits.max_stderr = parse_bytes(value)
                    .ok_or_else(|| invalid("a size such as 64Ki (0 keeps no stderr)"))?;
            }
            "max-instances" => {
                limits.max_instances = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid("a whole number of instances, at least 1"))?;
            }
            "strict" => {
                self.strict = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid("true or false")),
                };
            }
            _ => {
                return Err(OptionsError::UnknownKey {
                    key: key.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// A hook option that could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptionsError {
    #[error("unknown option {key:?}: valid options are {}", OPTION_KEYS.join(", "))]
    UnknownKey { key: String },
    #[error("option {key:?} has invalid value {value:?}: expected {expected}")]
    Invalid {
        key: String,
        value: String,
        expected: &'static str,
    },
}

fn parse_nonzero_bytes(text: &str) -> Option<u64> {
    parse_bytes(text).filter(|n| *n > 0)
}

/// Parses a byte size the way Kubernetes quantities and humans write it: `1048576`,
/// `64Ki`, `64KiB`, `8Mi`, `1Gi`, or decimal `500k`, `8M`, `1G` (with or without `B`).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim_start() {
        "" | "B" => 1,
        "Ki" | "KiB" => 1 << 10,
        "Mi" | "MiB" => 1 << 20,
        "Gi" | "GiB" => 1 << 30,
        "k" | "K" | "kB" | "KB" => 1_000,
        "M" | "MB" => 1_000_000,
        "G" | "GB" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// Formats a byte count the way users write it in options (`64MiB`), exact where possible.
pub fn format_bytes(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_kubernetes_and_human_units() {
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("64Ki"), Some(64 << 10));
        assert_eq!(parse_bytes("64KiB"), Some(64 << 10));
        assert_eq!(parse_bytes("8Mi"), Some(8 << 20));
        assert_eq!(parse_bytes("1Gi"), Some(1 << 30));
        assert_eq!(parse_bytes("500k"), Some(500_000));
        assert_eq!(parse_bytes("2 MB"), Some(2_000_000));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("12Qi"), None);
        assert_eq!(parse_bytes("99999999999999999999Gi"), None);
    }

    #[test]
    fn sizes_format_exactly() {
        assert_eq!(format_bytes(64 << 20), "64MiB");
        assert_eq!(format_bytes(64 << 10), "64KiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
    }

    #[test]
    fn overrides_apply_on_top_of_defaults() {
        let options = HookOptions::with_defaults(Limits::default())
            .with_overrides([
                ("timeout", "2s"),
                ("memory", "32Mi"),
                ("max-instances", "4"),
                ("strict", "true"),
            ])
            .expect("valid options");
        assert_eq!(options.limits.timeout, Duration::from_secs(2));
        assert_eq!(options.limits.memory, 32 << 20);
        assert_eq!(options.limits.max_instances, 4);
        assert!(options.strict);
        assert_eq!(options.limits.max_response, Limits::default().max_response);
    }

    #[test]
    fn bad_options_name_the_key_and_what_is_expected() {
        let defaults = HookOptions::with_defaults(Limits::default());
        let err = defaults
            .clone()
            .with_overrides([("timout", "2s")])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown option \"timout\": valid options are timeout, memory, max-response, \
             max-request, max-stderr, max-instances, strict"
        );
        let err = defaults
            .clone()
            .with_overrides([("memory", "1Ki")])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "option \"memory\" has invalid value \"1Ki\": expected a size between 64Ki and 4Gi, \
             such as 32Mi"
        );
        assert!(
            defaults
                .clone()
                .with_overrides([("timeout", "0s")])
                .is_err()
        );
        assert!(
            defaults
                .clone()
                .with_overrides([("strict", "yes")])
                .is_err()
        );
        assert!(defaults.with_overrides([("max-instances", "0")]).is_err());
    }
}
