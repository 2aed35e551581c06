//! Precompiled modules on disk, so a restart or a module evicted from memory loads in well
//! under a millisecond instead of compiling again.
//!
//! Layout, in `DIR/<engine compatibility digest>/`:
//!
//! - `<module digest>.cwasm`: the artifact exactly as wasmtime serialized it, so that loading
//!   maps the file instead of copying it into memory;
//! - `<module digest>.sum`: one line naming the module digest, the artifact's size and the
//!   CRC-32 of its bytes.
//!
//! Each file is written once (temp file in the same directory, synced, then renamed), the
//! checksum first and the artifact after it, and neither is modified afterwards. A reader
//! that finds an artifact therefore finds its checksum too, unless something other than this
//! process removed it. A new engine build writes to a new subdirectory.
//!
//! # What is checked before an artifact runs
//!
//! wasmtime maps a precompiled artifact and runs its machine code as it is: it checks the
//! header and the engine settings, not the code. So before handing a file to wasmtime,
//! [`DiskCache::load`] checks that
//!
//! 1. the checksum file exists and is well formed (an artifact without one, such as one
//!    written by an older hookserver or by a write that was interrupted, is unverified);
//! 2. it names the module digest that was asked for (an artifact and checksum copied over
//!    from another module are refused);
//! 3. the artifact has the recorded size (a truncated or extended file is refused without
//!    reading it);
//! 4. the CRC-32 of the artifact, read through in 64 KiB chunks from the file handle that is
//!    then mapped, equals the recorded one.
//!
//! A file that fails any check is never deserialized: it is deleted, with a warning naming
//! it, and the module compiled again from its bytes and written again (at once when a hook
//! is being loaded; a request that finds it gets `503` until the hook's source changes,
//! since the server keeps no module bytes).
//!
//! Why CRC-32 and not SHA-256: the check guards against corruption, not against an attacker
//! (see below), and that is what CRC-32 is made for (gzip and zip use it the same way). It
//! detects every damaged run of up to 32 bits for certain (a flipped byte, a torn sector
//! boundary) and lets other damage through with a probability of 2^-32. With hardware
//! support it checks a 500 KiB artifact in tens of microseconds; SHA-256 took several
//! hundred, a few times what the rest of a load from disk costs (`cargo bench -p hookserver
//! --bench runtime -- module_cache`).
//!
//! The artifact is read through the page cache and not kept: the module still maps the
//! file, so the memory figures of a file-backed module are unchanged.
//!
//! # What is assumed
//!
//! Only this process (or another hookserver sharing the directory) writes into the cache
//! directory, and never modifies a file in place. The checksum detects corruption (a disk
//! error, a truncated copy, a stray edit), not an attacker: whoever can write an artifact can
//! write its checksum too. Keep the directory writable by hookserver alone.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

use crate::digest::Digest;

/// The first word of a checksum file; a new layout changes it.
const SUM_FORMAT: &str = "hookserver-cwasm-v1";

/// A disk-cache operation that failed. The server keeps serving from memory.
#[derive(Debug, thiserror::Error)]
pub enum DiskCacheError {
    #[error(
        "cannot create cache directory {}: {source} (give --cache-dir a writable directory \
         with room for the compiled modules, in Kubernetes an emptyDir volume)",
        path.display()
    )]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot write into cache directory {}: {source} (give --cache-dir a writable \
         directory with room for the compiled modules, in Kubernetes an emptyDir volume)",
        path.display()
    )]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source} (is the cache dir full or read-only?)", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rejected {}: {reason}; it is not run, but deleted", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot load {}: {reason}; it is deleted", path.display())]
    Load { path: PathBuf, reason: String },
}

/// The artifact directory for one engine configuration.
#[derive(Clone, Debug)]
pub struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    /// Opens (creating if needed) the subdirectory of `root` for `compatibility`.
    pub fn open(root: &Path, compatibility: Digest) -> Result<Self, DiskCacheError> {
        let dir = root.join(&compatibility.hex()[..16]);
        std::fs::create_dir_all(&dir).map_err(|source| DiskCacheError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(DiskCache { dir })
    }

    /// The subdirectory of `root` for `compatibility` if it already exists: a cache that
    /// cannot be written may still be read.
    pub fn open_existing(root: &Path, compatibility: Digest) -> Option<Self> {
        let dir = root.join(&compatibility.hex()[..16]);
        dir.is_dir().then_some(DiskCache { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes and removes a one-byte file: fails on a read-only or full directory (a full
    /// one refuses the byte's block), so the server can say so at start instead of once
    /// per module.
    pub fn check_writable(&self) -> Result<(), DiskCacheError> {
        let not_writable = |source| DiskCacheError::NotWritable {
            path: self.dir.clone(),
            source,
        };
        let mut probe = tempfile::Builder::new()
            .prefix(".probe-")
            .tempfile_in(&self.dir)
            .map_err(not_writable)?;
        probe.write_all(b"\n").map_err(not_writable)?;
        probe.flush().map_err(not_writable)
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.hex()))
    }

    fn sum_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.sum", digest.hex()))
    }

    /// Loads the artifact for `digest` after checking it against its checksum file;
    /// `Ok(None)` when there is none.
    pub fn load(&self, engine: &Engine, digest: &Digest) -> Result<Option<Module>, DiskCacheError> {
        let path = self.path(digest);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(DiskCacheError::Load {
                    path,
                    reason: err.to_string(),
                });
            }
        };
        if let Err(reason) = self.verify(digest, &file) {
            return Err(DiskCacheError::Corrupt { path, reason });
        }
        // SAFETY: `deserialize_open_file` trusts that the file is an artifact this engine
        // produced, and maps it (private, copy-on-write) for as long as the module lives.
        // What was checked: the bytes of this very file handle have the size and CRC-32
        // recorded when this process's engine (or one with the same compatibility hash, which
        // names the directory) serialized the module `digest`; wasmtime checks the header and
        // engine settings. What is assumed (module docs): nothing but hookserver writes into
        // the cache dir, and no file there is modified in place, so the pages mapped later
        // are the bytes hashed now. Whoever can write there could forge the checksum too.
        match unsafe { Module::deserialize_open_file(engine, file) } {
            Ok(module) => Ok(Some(module)),
            Err(err) => Err(DiskCacheError::Load {
                path,
                reason: format!("{err:#}"),
            }),
        }
    }

    /// Checks `file`, the artifact of `digest`, against its checksum file; the error says
    /// what does not match.
    fn verify(&self, digest: &Digest, file: &File) -> Result<(), String> {
        let sum_path = self.sum_path(digest);
        let text = match std::fs::read_to_string(&sum_path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "it has no checksum file {} (written by an older hookserver, or its write \
                     was interrupted), so it is unverified",
                    sum_path.display()
                ));
            }
            Err(err) => return Err(format!("cannot read {}: {err}", sum_path.display())),
        };
        let sum = Checksum::parse(&text)
            .ok_or_else(|| format!("its checksum file {} is malformed", sum_path.display()))?;
        if sum.module != *digest {
            return Err(format!(
                "its checksum file says it is the artifact of module {}, not of {digest}",
                sum.module
            ));
        }
        let size = file
            .metadata()
            .map_err(|err| format!("cannot read its size: {err}"))?
            .len();
        if size != sum.size {
            return Err(format!(
                "it is {size} bytes long but was written with {} (truncated or overwritten)",
                sum.size
            ));
        }
        let (actual, read) = crc32_of(file).map_err(|err| format!("cannot read it: {err}"))?;
        if read != sum.size || actual != sum.crc32 {
            return Err(format!(
                "its content hashes to crc32 {actual:08x}, not to the {:08x} it was written \
                 with (the file changed on disk)",
                sum.crc32
            ));
        }
        Ok(())
    }

    /// Whether an artifact for `digest` and its checksum exist (a later load can find it).
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).exists() && self.sum_path(digest).exists()
    }

    /// Removes an artifact that failed to load, and its checksum, so both are rewritten.
    /// On a read-only directory this fails and the artifact is checked (and refused) again
    /// next time: harmless.
    pub fn discard(&self, digest: &Digest) {
        let _ = std::fs::remove_file(self.path(digest));
        let _ = std::fs::remove_file(self.sum_path(digest));
    }

    /// Writes the artifact for `digest` and its checksum, each atomically, the checksum
    /// first. An existing artifact is kept: `Ok(false)`.
    pub fn store(&self, digest: &Digest, artifact: &[u8]) -> Result<bool, DiskCacheError> {
        let path = self.path(digest);
        if path.exists() {
            return Ok(false);
        }
        let sum = Checksum {
            module: *digest,
            size: artifact.len() as u64,
            crc32: crc32fast::hash(artifact),
        };
        let sum_path = self.sum_path(digest);
        self.write_atomically(&sum_path, sum.render().as_bytes())?;
        self.write_atomically(&path, artifact)
            .inspect_err(|_| {
                // No checksum without its artifact: a full disk should not fill up with them.
                let _ = std::fs::remove_file(&sum_path);
            })
            .map(|()| true)
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), DiskCacheError> {
        let write_err = |source| DiskCacheError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(&self.dir)
            .map_err(write_err)?;
        temp.write_all(bytes).map_err(write_err)?;
        temp.as_file().sync_data().map_err(write_err)?;
        temp.persist(path).map_err(|e| write_err(e.error))?;
        Ok(())
    }
}

/// The CRC-32 of everything `reader` yields, read in 64 KiB chunks (never held whole in
/// memory), and the number of bytes read.
fn crc32_of(mut reader: impl Read) -> std::io::Result<(u32, u64)> {
    let mut hasher = crc32fast::Hasher::new();
    let mut buffer = [0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok((hasher.finalize(), total)),
            Ok(n) => {
                hasher.update(&buffer[..n]);
                total += n as u64;
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// The content of a checksum file:
/// `hookserver-cwasm-v1 module=<sha256 hex> size=<bytes> crc32=<8 hex digits>`.
#[derive(Debug, PartialEq)]
struct Checksum {
    module: Digest,
    size: u64,
    crc32: u32,
}

impl Checksum {
    fn render(&self) -> String {
        format!(
            "{SUM_FORMAT} module={} size={} crc32={:08x}\n",
            self.module.hex(),
            self.size,
            self.crc32
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let mut words = text.strip_suffix('\n')?.split(' ');
        if words.next()? != SUM_FORMAT {
            return None;
        }
        let module = Digest::from_hex(words.next()?.strip_prefix("module=")?)?;
        let size = words.next()?.strip_prefix("size=")?.parse().ok()?;
        let crc32 = words.next()?.strip_prefix("crc32=")?;
        let hex = crc32.len() == 8 && crc32.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || words.next().is_some() {
            return None;
        }
        let crc32 = u32::from_str_radix(crc32, 16).ok()?;
        Some(Checksum {
            module,
            size,
            crc32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_and_module() -> (Engine, Digest, Vec<u8>) {
        let engine = Engine::default();
        let wasm = b"\0asm\x01\0\0\0".to_vec();
        let artifact = Module::new(&engine, &wasm)
            .and_then(|module| module.serialize())
            .expect("an empty module compiles");
        (engine, Digest::of(&wasm), artifact)
    }

    fn reason(result: Result<Option<Module>, DiskCacheError>) -> String {
        match result {
            Err(DiskCacheError::Corrupt { reason, .. }) => reason,
            Err(other) => panic!("expected a checksum failure, got {other}"),
            Ok(_) => panic!("a damaged artifact was loaded"),
        }
    }

    #[test]
    fn the_checksum_file_round_trips_and_refuses_anything_else() {
        let sum = Checksum {
            module: Digest::of(b"module"),
            size: 12345,
            crc32: 0x0123_abcd,
        };
        assert_eq!(Checksum::parse(&sum.render()), Some(sum));
        let good = Checksum {
            module: Digest::of(b"m"),
            size: 1,
            crc32: 7,
        }
        .render();
        for bad in [
            good.trim_end().to_string(),
            good.replace(SUM_FORMAT, "hookserver-cwasm-v0"),
            good.replace("size=1", "size=-1"),
            good.replace("module=", "modul="),
            good.replace("crc32=00000007", "crc32=7"),
            good.replace("crc32=00000007", "crc32=+0000007"),
            format!("{} extra\n", good.trim_end()),
            String::new(),
        ] {
            assert_eq!(Checksum::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_stored_artifact_loads_and_any_damage_is_refused_before_deserializing() {
        let (engine, digest, artifact) = engine_and_module();
        let root = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(root.path(), Digest::of(b"engine")).unwrap();
        cache.check_writable().unwrap();
        assert!(cache.load(&engine, &digest).unwrap().is_none());

        cache.store(&digest, &artifact).unwrap();
        assert!(cache.contains(&digest));
        assert!(cache.load(&engine, &digest).unwrap().is_some());

        // A flipped byte in the middle.
        let mut flipped = artifact.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x40;
        std::fs::write(cache.path(&digest), &flipped).unwrap();
        assert!(reason(cache.load(&engine, &digest)).contains("hashes to"));

        // Truncated.
        std::fs::write(cache.path(&digest), &artifact[..middle]).unwrap();
        assert!(reason(cache.load(&engine, &digest)).contains("truncated"));

        // Another module's artifact and checksum under this module's name.
        let other = Digest::of(b"other");
        cache.store(&other, &artifact).unwrap();
        std::fs::copy(cache.path(&other), cache.path(&digest)).unwrap();
        std::fs::copy(cache.sum_path(&other), cache.sum_path(&digest)).unwrap();
        assert!(reason(cache.load(&engine, &digest)).contains("not of"));

        // The old layout: an artifact without a checksum is unverified.
        std::fs::write(cache.path(&digest), &artifact).unwrap();
        std::fs::remove_file(cache.sum_path(&digest)).unwrap();
        assert!(!cache.contains(&digest));
        assert!(reason(cache.load(&engine, &digest)).contains("unverified"));

        // Discarded, then written again: loads.
        cache.discard(&digest);
        assert!(!cache.path(&digest).exists());
        cache.store(&digest, &artifact).unwrap();
        assert!(cache.load(&engine, &digest).unwrap().is_some());
    }
}
