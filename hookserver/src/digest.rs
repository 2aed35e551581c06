//! Content digests: the identity of a module (SHA-256 of its bytes) and of a response
//! (the ETag: module, hook and request body together).

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::protocol::HookKind;

/// A SHA-256 digest. Modules are cached, deduplicated and persisted by this value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// Parses the 64 lowercase or uppercase hex digits that [`Digest::hex`] writes.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Digest(bytes))
    }

    /// A digest computed elsewhere (by a hasher over a structured input).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// Identifies what a hook version answers with: its module, its script (for a script
    /// hook, run by a shared adapter module) and the options its output is checked under.
    /// Stable across restarts and replicas.
    pub fn of_version(module: &Digest, script: Option<&Digest>, options: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(module.0);
        match script {
            Some(script) => {
                hasher.update([1]);
                hasher.update(script.0);
            }
            None => hasher.update([0]),
        }
        hasher.update(options);
        Digest(hasher.finalize().into())
    }

    /// The ETag of one call: a hook is a pure function of (version, hook, body), so equal
    /// digests mean equal answers.
    pub fn of_call(version: &Digest, hook: HookKind, body: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(version.0);
        hasher.update(hook.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(body);
        Digest(hasher.finalize().into())
    }

    /// Lowercase hex, 64 characters.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex characters, enough to tell modules apart in logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.short())
    }
}

/// A `std::hash::Hasher` that feeds SHA-256, for turning a `Hash` value (the engine's
/// compatibility hash) into a digest that is stable across processes.
#[derive(Default)]
pub struct StableHasher(Sha256);

impl StableHasher {
    pub fn finish_digest(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}

impl std::hash::Hasher for StableHasher {
    fn finish(&self) -> u64 {
        let bytes: [u8; 32] = self.0.clone().finalize().into();
        u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ])
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_the_sha256_of_the_bytes() {
        let digest = Digest::of(b"hello");
        assert_eq!(
            digest.hex(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn hex_round_trips() {
        let digest = Digest::of(b"module");
        assert_eq!(Digest::from_hex(&digest.hex()), Some(digest));
        assert_eq!(Digest::from_hex(&digest.hex()[1..]), None);
        assert_eq!(Digest::from_hex("zz"), None);
    }

    #[test]
    fn version_fingerprint_depends_on_module_script_and_options() {
        let module = Digest::of(b"module");
        let script = Digest::of(b"script");
        let loose = Digest::of_version(&module, None, br#"{"strict":false}"#);
        assert_ne!(
            loose,
            Digest::of_version(&module, None, br#"{"strict":true}"#)
        );
        assert_ne!(
            loose,
            Digest::of_version(&Digest::of(b"other"), None, br#"{"strict":false}"#)
        );
        let scripted = Digest::of_version(&module, Some(&script), br#"{"strict":false}"#);
        assert_ne!(loose, scripted);
        assert_ne!(
            scripted,
            Digest::of_version(&module, Some(&Digest::of(b"v2")), br#"{"strict":false}"#)
        );
        assert_eq!(
            loose,
            Digest::of_version(&module, None, br#"{"strict":false}"#)
        );
    }

    #[test]
    fn call_digest_depends_on_every_input() {
        let module = Digest::of(b"module");
        let base = Digest::of_call(&module, HookKind::Sync, b"{}");
        assert_ne!(base, Digest::of_call(&module, HookKind::Finalize, b"{}"));
        assert_ne!(base, Digest::of_call(&module, HookKind::Sync, b"{ }"));
        assert_ne!(
            base,
            Digest::of_call(&Digest::of(b"other"), HookKind::Sync, b"{}")
        );
        assert_eq!(base, Digest::of_call(&module, HookKind::Sync, b"{}"));
    }
}
