//! Faults in the cache directory, through the real server: damaged disk-cache artifacts
//! (detected, recompiled, never run) and a cache dir that is read-only or full (the server
//! still serves, and says why).
//!
//! The read-only and full cases mount a tmpfs over the cache dir. The server runs in a mount
//! namespace of its own for that (`unshare`), so the mounts exist only there and vanish with
//! the server, however the test ends; nothing is left mounted on the machine. That needs
//! root, or unprivileged user namespaces: where neither is available those tests fail and
//! say so.

mod common;

use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

const COMPILED: &str = r#"hookserver_module_cache_lookups_total{result="compiled"}"#;
const FROM_DISK: &str = r#"hookserver_module_cache_lookups_total{result="disk"}"#;
const CORRUPT: &str = r#"hookserver_disk_cache_errors_total{error="corrupt"}"#;
const WRITE_FAILED: &str = r#"hookserver_disk_cache_errors_total{error="write"}"#;

/// A hook that answers `{"status":{"from":TAG},"children":[]}`.
fn tagged(tag: &str) -> (Vec<u8>, String) {
    let output = format!(r#"{{"status":{{"from":"{tag}"}},"children":[]}}"#);
    (printer(&output), output)
}

/// The answer of hook `name` to a sync request; fails the test on anything but 200.
fn answer(server: &Server, name: &str) -> String {
    let response = server.post(&format!("/hooks/{name}/sync"), &hello_request("sync"));
    let status = response.status();
    let text = response.text().expect("body");
    assert_eq!(status, 200, "hook {name}: {text}");
    text
}

/// `hookserver serve` over `modules` and `cache`, its log kept; ready.
fn serve(modules: &ModuleDir, cache: &Path) -> Server {
    let args: Vec<OsString> = vec![
        "--modules".into(),
        modules.path().into(),
        "--cache-dir".into(),
        cache.into(),
    ];
    let server = Server::launch_argv(&serve_argv(&args), &[], true);
    server.wait_ready();
    server
}

/// Stops the server as Kubernetes would, and waits until it has exited.
fn stop(server: Server) {
    terminate(server.pid());
    server.wait_exit();
}

/// A module's files in the disk cache.
struct Artifact {
    cwasm: PathBuf,
    sum: PathBuf,
}

/// The artifact of `module` in `cache` (under the engine's subdirectory); fails if absent.
fn artifact(cache: &Path, module: &[u8]) -> Artifact {
    let name = digest(module);
    for entry in std::fs::read_dir(cache).expect("cache dir").flatten() {
        let cwasm = entry.path().join(format!("{name}.cwasm"));
        if cwasm.is_file() {
            return Artifact {
                sum: entry.path().join(format!("{name}.sum")),
                cwasm,
            };
        }
    }
    panic!("no artifact {name}.cwasm under {}", cache.display());
}

/// Whether the artifact is whole: its checksum file names the module, the size and the
/// CRC-32 of the file as it is now.
fn assert_whole(artifact: &Artifact, module: &[u8]) {
    let bytes = std::fs::read(&artifact.cwasm).expect("artifact");
    let sum = std::fs::read_to_string(&artifact.sum).expect("checksum file");
    assert_eq!(
        sum,
        format!(
            "hookserver-cwasm-v1 module={} size={} crc32={:08x}\n",
            digest(module),
            bytes.len(),
            crc32fast::hash(&bytes)
        ),
        "{} does not match its checksum file",
        artifact.cwasm.display()
    );
}

/// The file range of the `.text` section (the machine code) of an ELF64 little-endian
/// artifact, as wasmtime writes them.
fn text_section(elf: &[u8]) -> Range<usize> {
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap()) as usize;
    assert_eq!(&elf[..5], b"\x7fELF\x02", "an ELF64 artifact");
    let (headers, size, count, names) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |index: usize| headers + index * size;
    let names_at = u64_at(header(names) + 0x18);
    (0..count)
        .map(header)
        .find(|&at| {
            let name = &elf[names_at + u32_at(at)..];
            name.starts_with(b".text\0")
        })
        .map(|at| {
            let (offset, len) = (u64_at(at + 0x18), u64_at(at + 0x20));
            offset..offset + len
        })
        .expect("a .text section")
}

/// Serves `hook` (and `other`, a module that answers differently) once to fill the cache,
/// applies `damage` to `hook`'s artifact, and restarts: the hook must answer as before, the
/// log name the rejected file, and the rewritten artifact load on the next restart without a
/// compile.
fn restart_after(damage: impl FnOnce(&Artifact, &Artifact), expected_reason: &str) {
    let modules = ModuleDir::new();
    // Tags of one length: the two artifacts have the same size, so only the content differs.
    let (hook, hook_answer) = tagged("first");
    let (other, other_answer) = tagged("other");
    modules.put("hook", &hook);
    modules.put("other", &other);
    let cache = tempfile::tempdir().expect("cache dir");

    let first = serve(&modules, cache.path());
    assert_eq!(answer(&first, "hook"), hook_answer);
    stop(first);
    let (damaged, untouched) = (
        artifact(cache.path(), &hook),
        artifact(cache.path(), &other),
    );
    assert_whole(&damaged, &hook);
    damage(&damaged, &untouched);

    let second = serve(&modules, cache.path());
    // The original module's answer: the damaged file was not run.
    assert_eq!(answer(&second, "hook"), hook_answer);
    assert_eq!(answer(&second, "other"), other_answer);
    let line = second.wait_for_log(&[
        "rejected",
        &damaged.cwasm.display().to_string(),
        expected_reason,
        "compiling it again",
    ]);
    assert!(line.contains("WARN"), "{line}");
    assert_eq!(second.metric(CORRUPT), 1.0);
    assert_eq!(
        second.metric(COMPILED),
        1.0,
        "only the damaged one compiles"
    );
    stop(second);
    assert_whole(&damaged, &hook);

    let third = serve(&modules, cache.path());
    assert_eq!(third.metric(COMPILED), 0.0);
    assert_eq!(third.metric(FROM_DISK), 2.0);
    assert_eq!(third.metric(CORRUPT), 0.0);
    assert_eq!(answer(&third, "hook"), hook_answer);
    assert!(!third.log().contains("rejected"), "{}", third.log());
}

#[test]
fn a_truncated_artifact_is_rejected_recompiled_and_rewritten() {
    restart_after(
        |artifact, _| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&artifact.cwasm)
                .expect("open artifact");
            let len = file.metadata().expect("metadata").len();
            file.set_len(len / 2).expect("truncate");
        },
        "truncated",
    );
}

#[test]
fn an_artifact_with_flipped_code_bytes_is_rejected_not_run() {
    restart_after(
        |artifact, _| {
            let mut bytes = std::fs::read(&artifact.cwasm).expect("artifact");
            let code = text_section(&bytes);
            assert!(code.len() >= 16, "code section {code:?}");
            let middle = code.start + code.len() / 2;
            for byte in &mut bytes[middle..middle + 8] {
                *byte ^= 0xff;
            }
            std::fs::write(&artifact.cwasm, &bytes).expect("write artifact");
        },
        "hashes to",
    );
}

/// The other hook's artifact under this hook's name is valid code that would answer
/// differently: only the checksum can tell.
#[test]
fn another_modules_artifact_under_this_name_is_never_run() {
    restart_after(
        |artifact, other| {
            let size = |path: &Path| std::fs::metadata(path).expect("artifact").len();
            assert_eq!(size(&artifact.cwasm), size(&other.cwasm));
            std::fs::copy(&other.cwasm, &artifact.cwasm).expect("copy artifact");
        },
        "hashes to",
    );
}

/// Both files copied over, so the artifact matches its checksum: the checksum names the
/// module it belongs to.
#[test]
fn another_modules_artifact_and_checksum_under_this_name_are_never_run() {
    restart_after(
        |artifact, other| {
            std::fs::copy(&other.cwasm, &artifact.cwasm).expect("copy artifact");
            std::fs::copy(&other.sum, &artifact.sum).expect("copy checksum");
        },
        "not of sha256:",
    );
}

/// What an older hookserver left: an artifact without a checksum is unverified.
#[test]
fn an_artifact_without_a_checksum_is_unverified_and_recompiled() {
    restart_after(
        |artifact, _| std::fs::remove_file(&artifact.sum).expect("remove checksum"),
        "unverified",
    );
}

// ---- A cache dir that cannot be written ----

/// The command that runs the server in a mount namespace of its own: `unshare -rm` (with a
/// user namespace, so that it works without root where unprivileged user namespaces are
/// allowed), else `unshare -m` (root). Probed once by mounting a tmpfs.
fn namespace_prefix() -> &'static [OsString] {
    static PREFIX: OnceLock<Vec<OsString>> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let target = tempfile::tempdir().expect("probe dir");
        let mut tried = Vec::new();
        for prefix in [&["unshare", "-rm"][..], &["unshare", "-m"][..]] {
            let output = Command::new(prefix[0])
                .args(&prefix[1..])
                .args(["sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$0\""])
                .arg(target.path())
                .stdin(Stdio::null())
                .output();
            match output {
                Ok(output) if output.status.success() => {
                    return prefix.iter().map(OsString::from).collect();
                }
                Ok(output) => tried.push(format!(
                    "{}: {}",
                    prefix.join(" "),
                    String::from_utf8_lossy(&output.stderr).trim()
                )),
                Err(err) => tried.push(format!("{}: {err}", prefix.join(" "))),
            }
        }
        panic!(
            "these tests mount a tmpfs over the cache dir in a private mount namespace, and \
             this environment cannot: they need unshare(1) from util-linux and either root \
             with CAP_SYS_ADMIN or unprivileged user namespaces (in a container: \
             --cap-add SYS_ADMIN and a seccomp profile that allows unshare and mount). \
             Tried: {}",
            tried.join("; ")
        )
    })
}

/// Mounts an empty read-only tmpfs over `$CACHE`.
const READ_ONLY: &str = r#"mount -t tmpfs -o ro,size=64k tmpfs "$CACHE""#;
/// Mounts a 64 KiB tmpfs over `$CACHE` and fills it to the last block.
const FULL: &str = concat!(
    r#"mount -t tmpfs -o size=64k tmpfs "$CACHE"; "#,
    r#"cat /dev/zero > "$CACHE/filler" 2>/dev/null || true"#
);
/// Makes the existing `$CACHE` read-only (a cache baked into an image).
const READ_ONLY_BIND: &str = concat!(
    r#"mount --bind "$CACHE" "$CACHE"; "#,
    r#"mount -o remount,bind,ro "$CACHE""#
);

/// `hookserver serve` over `modules` with cache dir `cache`, in a mount namespace where
/// `setup` (shell, `$CACHE` naming the cache dir) ran first; its log kept; ready.
fn serve_mounted(
    setup: &str,
    modules: &ModuleDir,
    cache: &Path,
    extra: &[OsString],
    env: &[(&str, &std::ffi::OsStr)],
) -> Server {
    let mut argv: Vec<OsString> = namespace_prefix().to_vec();
    argv.extend(
        [
            "sh",
            "-c",
            &format!("set -e; {setup}; exec \"$@\""),
            "setup",
        ]
        .map(OsString::from),
    );
    let mut args: Vec<OsString> = vec![
        "--modules".into(),
        modules.path().into(),
        "--cache-dir".into(),
        cache.into(),
    ];
    args.extend(extra.iter().cloned());
    argv.extend(serve_argv(&args));
    let mut all_env = vec![("CACHE", cache.as_os_str())];
    all_env.extend_from_slice(env);
    let server = Server::launch_argv(&argv, &all_env, true);
    server.wait_ready();
    server
}

/// A jsonnet hook that greets the parent by name.
const GREETER: &str = "
function(request) {
  status: { greeting: 'hi ' + request.parent.metadata.name },
  children: [],
}
";

/// A module hook and a jsonnet hook, the adapters, and the module's answer.
fn module_and_script() -> (ModuleDir, Vec<OsString>, String) {
    let modules = ModuleDir::new();
    let (hook, hook_answer) = tagged("module");
    modules.put("hook", &hook);
    modules.put_file("greeter.jsonnet", GREETER.as_bytes());
    let extra = vec![
        "--adapters".into(),
        adapters_dir().into(),
        "--module-idle".into(),
        "1s".into(),
    ];
    (modules, extra, hook_answer)
}

fn cache_problem(server: &Server) -> String {
    let list: Value = server.get("/hooks").json().expect("/hooks JSON");
    list["cacheProblem"]
        .as_str()
        .unwrap_or_else(|| panic!("no cacheProblem in /hooks: {list}"))
        .to_string()
}

/// Both hooks answer; the module keeps answering after it left the memory tier (it is
/// pinned, since the disk cannot give it back).
fn assert_both_serve(server: &Server, hook_answer: &str) {
    assert_eq!(answer(server, "hook"), hook_answer);
    let greeting: Value = serde_json::from_str(&answer(server, "greeter")).expect("JSON");
    assert_eq!(greeting["status"]["greeting"], "hi your-name");
    wait_for("idle modules to leave the memory tier", || {
        let list: Value = server.get("/hooks").json().expect("/hooks JSON");
        list["modulesInMemory"] == 0
    });
    let body = hello_request("sync").replace("Your Name", "after idle");
    let response = server.post("/hooks/hook/sync", &body);
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().expect("body"), hook_answer);
}

#[test]
fn a_read_only_cache_dir_still_serves_modules_and_scripts_and_says_why() {
    let (modules, extra, hook_answer) = module_and_script();
    let cache = tempfile::tempdir().expect("cache dir");
    let server = serve_mounted(READ_ONLY, &modules, cache.path(), &extra, &[]);

    let warning = server.wait_for_log(&[
        "the cache dir is not usable",
        &cache.path().display().to_string(),
        "Read-only file system",
        "--cache-dir a writable directory",
    ]);
    assert!(warning.contains("WARN"), "{warning}");
    server.wait_for_log(&["script hooks' files go to the temporary directory"]);
    assert!(cache_problem(&server).contains("Read-only file system"));
    assert_both_serve(&server, &hook_answer);
    assert_eq!(server.get("/readyz").status(), 200);
}

#[test]
fn a_full_cache_dir_still_serves_modules_and_scripts_and_says_why() {
    let (modules, extra, hook_answer) = module_and_script();
    let cache = tempfile::tempdir().expect("cache dir");
    let server = serve_mounted(FULL, &modules, cache.path(), &extra, &[]);

    server.wait_for_log(&[
        "the cache dir is not usable",
        &cache.path().display().to_string(),
        "No space left on device",
    ]);
    // Every module that could not be written says so, and is counted.
    server.wait_for_log(&["cannot write the compiled module to the disk cache"]);
    assert!(server.metric(WRITE_FAILED) >= 1.0);
    assert!(cache_problem(&server).contains("No space left on device"));
    assert_both_serve(&server, &hook_answer);
}

#[test]
fn without_any_writable_directory_script_hooks_fail_clearly_and_modules_serve() {
    let (modules, extra, hook_answer) = module_and_script();
    let cache = tempfile::tempdir().expect("cache dir");
    let temp = tempfile::tempdir().expect("temp dir");
    let setup = format!(r#"{READ_ONLY}; mount -t tmpfs -o ro,size=64k tmpfs "$TMPDIR""#);
    let server = serve_mounted(
        &setup,
        &modules,
        cache.path(),
        &extra,
        &[("TMPDIR", temp.path().as_os_str())],
    );

    assert_eq!(answer(&server, "hook"), hook_answer);
    let status = server.hook_status("greeter").expect("greeter listed");
    assert_eq!(status["state"], "failed", "{status}");
    let error = status["lastError"]["message"].as_str().expect("lastError");
    assert!(error.contains("script hooks cannot be served"), "{error}");
    assert!(error.contains("set TMPDIR"), "{error}");
    let response = server.post("/hooks/greeter/sync", &hello_request("sync"));
    assert_eq!(response.status(), 503);
    assert!(
        response
            .text()
            .expect("body")
            .contains("script hooks cannot be served")
    );
}

/// A cache filled earlier and then mounted read-only is still read: nothing compiles.
#[test]
fn a_read_only_cache_dir_with_artifacts_is_still_read() {
    let modules = ModuleDir::new();
    let (hook, hook_answer) = tagged("baked");
    modules.put("hook", &hook);
    let cache = tempfile::tempdir().expect("cache dir");
    stop(serve(&modules, cache.path()));

    let server = serve_mounted(READ_ONLY_BIND, &modules, cache.path(), &[], &[]);
    server.wait_for_log(&["the cache dir is not usable", "Read-only file system"]);
    assert_eq!(server.metric(COMPILED), 0.0);
    assert_eq!(server.metric(FROM_DISK), 1.0);
    assert_eq!(answer(&server, "hook"), hook_answer);
}
