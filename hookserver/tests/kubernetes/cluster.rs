//! A real Kubernetes API server for the tests: etcd and kube-apiserver 1.20.2 on 127.0.0.1,
//! built once by `tests/kube/build-apiserver.sh` (from Debian's source package) and cached
//! outside the repository. There is no kubelet and no controller manager: objects are
//! stored and watched, which is all hookserver needs.
//!
//! If the server cannot be built or started, the tests fail; they never skip.

use std::ffi::OsStr;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The admin's bearer token (group system:masters).
const ADMIN_TOKEN: &str = "admin-token";
/// Starting takes about 5 s; a loaded CI machine may take several times that.
const START_PATIENCE: Duration = Duration::from_secs(120);

/// The directory holding kube-apiserver and kubectl, built on first use.
fn kube_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kube/build-apiserver.sh");
        let output = Command::new(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run build-apiserver.sh");
        assert!(
            output.status.success(),
            "{} failed: the Kubernetes tests need kube-apiserver (see the script's header)",
            script.display()
        );
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    })
}

/// The processes of every cluster are started from one thread that lives as long as the test
/// process, with SIGKILL as their parent-death signal: when the tests end, however they end,
/// no etcd or kube-apiserver is left behind. (Linux sends that signal when the spawning
/// *thread* exits, so it cannot be a test's own thread.)
fn spawn_tied(command: Command) -> Child {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, inbox) = mpsc::channel::<Job>();
        std::thread::spawn(move || {
            for (mut command, reply) in inbox {
                use std::os::unix::process::CommandExt as _;
                // SAFETY: prctl is async-signal-safe and touches only the child.
                unsafe {
                    command.pre_exec(|| {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                let _ = reply.send(command.spawn());
            }
            // Keep the thread (and with it the children) alive until the process exits.
            loop {
                std::thread::park();
            }
        });
        Mutex::new(jobs)
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .lock()
        .expect("spawner")
        .send((command, reply))
        .expect("spawner thread");
    answer.recv().expect("spawner reply").expect("spawn")
}

const DIR_PREFIX: &str = "hookserver-kube-";

/// The shared cluster is never dropped (its processes die with the test process), so its
/// directory, etcd's data included, is removed by a later run once its owner is gone.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with(DIR_PREFIX);
        let owner = std::fs::read_to_string(path.join("owner.pid")).unwrap_or_default();
        if ours && !owner.is_empty() && !Path::new("/proc").join(owner.trim()).exists() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// etcd and a kube-apiserver in their own temporary directory.
pub struct Cluster {
    dir: PathBuf,
    pub url: String,
    apiserver_port: u16,
    etcd_url: String,
    etcd: Mutex<Option<Child>>,
    apiserver: Mutex<Option<Child>>,
}

impl Cluster {
    /// The cluster most tests share; each test works in namespaces of its own.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(Cluster::start)
    }

    /// A cluster of one's own (for tests that stop its API server).
    pub fn start() -> Cluster {
        kube_bin();
        remove_stale_clusters();
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .expect("temp dir")
            .keep();
        std::fs::write(dir.join("owner.pid"), std::process::id().to_string()).expect("pid file");
        std::fs::create_dir_all(dir.join("certs")).expect("certs dir");
        std::fs::write(
            dir.join("tokens.csv"),
            format!("{ADMIN_TOKEN},admin,admin-uid,system:masters\n"),
        )
        .expect("tokens");
        // The key pair that signs and verifies ServiceAccount tokens (TokenRequest API).
        run_ok(
            Command::new("openssl")
                .args(["genrsa", "-out"])
                .arg(dir.join("sa.key"))
                .arg("2048"),
        );
        run_ok(
            Command::new("openssl")
                .args(["rsa", "-pubout", "-in"])
                .arg(dir.join("sa.key"))
                .arg("-out")
                .arg(dir.join("sa.pub")),
        );

        let (client_port, peer_port, apiserver_port) = (free_port(), free_port(), free_port());
        let etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let mut etcd = Command::new("etcd");
        etcd.arg("--data-dir")
            .arg(dir.join("etcd"))
            .args(["--name", "default"])
            .args([
                "--listen-client-urls",
                &etcd_url,
                "--advertise-client-urls",
                &etcd_url,
            ])
            .args([
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
            ])
            .args(["--initial-cluster", &format!("default={peer_url}")])
            .stdout(log_file(&dir, "etcd.log"))
            .stderr(log_file(&dir, "etcd.log"));
        let cluster = Cluster {
            url: format!("https://127.0.0.1:{apiserver_port}"),
            apiserver_port,
            etcd_url,
            etcd: Mutex::new(Some(spawn_tied(etcd))),
            apiserver: Mutex::new(None),
            dir,
        };
        cluster.start_apiserver();
        std::fs::write(
            cluster.admin_kubeconfig(),
            cluster.kubeconfig(ADMIN_TOKEN, "default"),
        )
        .expect("kubeconfig");
        cluster.wait_ready();
        cluster
    }

    fn start_apiserver(&self) {
        let dir = &self.dir;
        let mut apiserver = Command::new(kube_bin().join("kube-apiserver"));
        apiserver
            .args(["--etcd-servers", &self.etcd_url])
            .args([
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
            ])
            .args([
                "--secure-port",
                &self.apiserver_port.to_string(),
                "--insecure-port",
                "0",
            ])
            .arg("--cert-dir")
            .arg(dir.join("certs"))
            .arg("--token-auth-file")
            .arg(dir.join("tokens.csv"))
            .args(["--authorization-mode", "RBAC"])
            .args(["--service-account-issuer", "https://kubernetes.default.svc"])
            .args(["--api-audiences", "https://kubernetes.default.svc"])
            .arg("--service-account-key-file")
            .arg(dir.join("sa.pub"))
            .arg("--service-account-signing-key-file")
            .arg(dir.join("sa.key"))
            // No controller manager runs to make ServiceAccount token Secrets, and no
            // endpoints reconciler is needed on loopback.
            .args(["--disable-admission-plugins", "ServiceAccount"])
            .args(["--endpoint-reconciler-type", "none"])
            .args(["--service-cluster-ip-range", "10.96.0.0/24"])
            .stdout(log_file(dir, "apiserver.log"))
            .stderr(log_file(dir, "apiserver.log"));
        *self.apiserver.lock().expect("apiserver") = Some(spawn_tied(apiserver));
    }

    /// Waits until the API server answers /readyz.
    fn wait_ready(&self) {
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            let output = self.kubectl_output(&["get", "--raw", "/readyz"], None);
            if output.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kube-apiserver not ready after {START_PATIENCE:?}; its log is {}",
                self.dir.join("apiserver.log").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the API server (etcd keeps the data).
    pub fn stop_apiserver(&self) {
        if let Some(mut child) = self.apiserver.lock().expect("apiserver").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the API server again on the same port and waits until it is ready.
    pub fn restart_apiserver(&self) {
        self.stop_apiserver();
        self.start_apiserver();
        self.wait_ready();
    }

    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// A kubeconfig for `token` whose default namespace is `namespace` (as a pod's is its
    /// own), written to a new file.
    pub fn kubeconfig_for(&self, token: &str, namespace: &str) -> PathBuf {
        let path = tempfile::Builder::new()
            .suffix(".kubeconfig")
            .tempfile_in(&self.dir)
            .expect("kubeconfig file")
            .into_temp_path()
            .keep()
            .expect("keep kubeconfig");
        std::fs::write(&path, self.kubeconfig(token, namespace)).expect("kubeconfig");
        path
    }

    fn kubeconfig(&self, token: &str, namespace: &str) -> String {
        // The serving certificate file holds the certificate and the CA that signed it.
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: user\n  user:\n    token: {token}\n\
             contexts:\n- name: test\n  context: {{cluster: test, user: user, namespace: {namespace}}}\n\
             current-context: test\n",
            self.url,
            self.dir.join("certs/apiserver.crt").display()
        )
    }

    /// Runs kubectl as the admin; panics with its output if it fails.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.kubectl_with(&self.admin_kubeconfig(), args, None)
    }

    /// Runs kubectl as the admin with `stdin`; panics with its output if it fails.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> String {
        self.kubectl_with(&self.admin_kubeconfig(), args, Some(stdin))
    }

    /// Runs kubectl with a given kubeconfig; panics with its output if it fails.
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> String {
        let output = kubectl(kubeconfig, args, stdin);
        assert!(
            output.status.success(),
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs kubectl as the admin and returns its output, whatever its exit status.
    pub fn kubectl_output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        kubectl(&self.admin_kubeconfig(), args, stdin)
    }

    /// Creates a namespace with a name unique to this test run.
    pub fn namespace(&self, prefix: &str) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        self.kubectl(&["create", "namespace", &name]);
        name
    }

    /// A token for a ServiceAccount, from the TokenRequest API (what a pod would mount).
    pub fn service_account_token(&self, namespace: &str, account: &str) -> String {
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token");
        let request = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}"#;
        let answer = self.kubectl_stdin(&["create", "--raw", &path, "-f", "-"], request);
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("TokenRequest JSON");
        answer["status"]["token"]
            .as_str()
            .expect("token in TokenRequest status")
            .to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_apiserver();
        if let Some(mut child) = self.etcd.lock().expect("etcd").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs kubectl with `kubeconfig`, whatever its exit status.
pub fn kubectl_as(kubeconfig: &Path, args: &[&str]) -> Output {
    kubectl(kubeconfig, args, None)
}

/// The path of the kubectl that matches the test API server.
pub fn kubectl_path() -> PathBuf {
    kube_bin().join("kubectl")
}

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(kubectl_path())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("kubectl output")
}

fn log_file(dir: &Path, name: impl AsRef<OsStr>) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name.as_ref()))
        .expect("log file")
}

fn run_ok(command: &mut Command) {
    let output = command.output().expect("run command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
