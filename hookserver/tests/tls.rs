//! `hookserver serve` over TLS, with client certificates, bearer tokens and basic auth, as
//! metacontroller 4.16+ calls it: the real binary, a real TLS client, and a CA, server and
//! client certificates made for each test.

mod common;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
struct Leaf {
    cert: String,
    key: String,
    der: Vec<u8>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for 127.0.0.1 and localhost; `serial` tells renewals apart.
    fn server(&self, serial: u64) -> Leaf {
        self.leaf(serial, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate, as metacontroller's `clientTLS` Secret holds.
    fn client(&self) -> Leaf {
        self.leaf(7, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, serial: u64, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into().expect("DNS name")),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        params
            .distinguished_name
            .push(DnType::CommonName, "hookserver");
        params.serial_number = Some(serial.into());
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

/// A directory of PEM and credential files, written the way Kubernetes updates a mounted
/// Secret: each file replaced whole.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn put(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let temp = self.dir.path().join(format!(".{name}.partial"));
        std::fs::write(&temp, content).expect("write");
        std::fs::rename(&temp, &path).expect("rename");
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn put_pair(&self, leaf: &Leaf) {
        self.put("tls.key", &leaf.key);
        self.put("tls.crt", &leaf.cert);
    }

    /// `--tls-cert` and `--tls-key` for the files `put_pair` writes.
    fn tls_args(&self) -> Vec<OsString> {
        vec![
            "--tls-cert".into(),
            self.path("tls.crt").into(),
            "--tls-key".into(),
            self.path("tls.key").into(),
        ]
    }
}

/// A running `hookserver serve` whose stderr (its log) the test can search; killed on drop.
struct TlsServer {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
    _modules: ModuleDir,
    _cache: tempfile::TempDir,
}

impl TlsServer {
    /// Serves the hello-world example with `args` and waits until it is ready, asking
    /// `/readyz` with `client`.
    fn start(args: &[OsString], client: &Client) -> Self {
        let server = Self::launch(args);
        wait_for("the server to be ready", || {
            client
                .get(format!("{}/readyz", server.url))
                .send()
                .is_ok_and(|response| response.status() == StatusCode::OK)
        });
        server
    }

    fn launch(args: &[OsString]) -> Self {
        let modules = ModuleDir::new();
        modules.put("hello-world", &example_hook("hello-world"));
        // Busy for about a second: a request that is in flight when SIGTERM comes.
        modules.put("spin", &wat_module("spin"));
        let cache = tempfile::tempdir().expect("cache dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookserver"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--modules"])
            .arg(modules.path())
            .arg("--cache-dir")
            .arg(cache.path())
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hookserver");

        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                lines.lock().expect("log").push(line);
            }
        });

        let url = announced_url(&mut child);
        TlsServer {
            child,
            url,
            log,
            _modules: modules,
            _cache: cache,
        }
    }

    /// The host and port, for raw connections.
    fn address(&self) -> &str {
        self.url
            .split_once("://")
            .map(|(_, address)| address)
            .expect("URL with a scheme")
    }

    /// How many log lines there are so far: a mark for [`TlsServer::wait_for_log`].
    fn log_mark(&self) -> usize {
        self.log.lock().expect("log").len()
    }

    /// Waits for a log line after `mark` that contains every one of `needles`.
    fn wait_for_log(&self, mark: usize, needles: &[&str]) -> String {
        let mut found = None;
        wait_for(&format!("a log line with {needles:?}"), || {
            let log = self.log.lock().expect("log");
            found = log[mark..]
                .iter()
                .find(|line| needles.iter().all(|needle| line.contains(needle)))
                .cloned();
            found.is_some()
        });
        found.expect("found")
    }

    fn sync(&self, client: &Client) -> reqwest::Result<Response> {
        client
            .post(format!("{}/hooks/hello-world/sync", self.url))
            .header("content-type", "application/json")
            .body(hello_request("sync"))
            .send()
    }
}

impl TlsServer {
    /// Waits for the process to exit by itself and returns its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        wait_for_exit(&mut self.child)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS client that trusts `ca` and, with `identity`, presents that client certificate.
/// It opens a new connection per request.
fn tls_client(ca: &Ca, identity: Option<&Leaf>) -> Client {
    let mut builder = Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA certificate"),
        )
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .timeout(PATIENCE);
    if let Some(leaf) = identity {
        let pem = format!("{}{}", leaf.cert, leaf.key);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    builder.build().expect("TLS client")
}

fn peer_certificate(response: &Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("the server's certificate")
        .to_vec()
}

/// The hello-world answer, checked.
fn assert_hello(response: Response) {
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().expect("JSON");
    assert_eq!(answer["children"][0]["metadata"]["name"], "your-name");
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn https_serves_hooks_and_prints_an_https_address() {
    let ca = Ca::new("test CA");
    let server_leaf = ca.server(1);
    let files = Files::new();
    files.put_pair(&server_leaf);
    let client = tls_client(&ca, None);
    let server = TlsServer::start(&files.tls_args(), &client);

    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let response = server.sync(&client).expect("TLS request");
    assert_eq!(peer_certificate(&response), server_leaf.der);
    assert_hello(response);
    // With no credentials configured, every route is open.
    let hooks = client
        .get(format!("{}/hooks", server.url))
        .send()
        .expect("GET /hooks");
    assert_eq!(hooks.status(), StatusCode::OK);
}

#[test]
fn plain_http_on_the_tls_port_gets_400_naming_https() {
    let ca = Ca::new("test CA");
    let files = Files::new();
    files.put_pair(&ca.server(1));
    let client = tls_client(&ca, None);
    let server = TlsServer::start(&files.tls_args(), &client);

    let plain = Client::builder().timeout(PATIENCE).build().expect("client");
    let response = plain
        .get(format!("http://{}/healthz", server.address()))
        .send()
        .expect("an answer, not a reset");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().expect("body");
    assert!(
        body.contains("serves HTTPS") && body.contains("https://"),
        "{body}"
    );

    // The server is unharmed.
    assert_hello(server.sync(&client).expect("TLS request"));
}

#[test]
fn stalled_handshakes_do_not_hold_up_other_clients() {
    let ca = Ca::new("test CA");
    let files = Files::new();
    files.put_pair(&ca.server(1));
    let client = tls_client(&ca, None);
    let server = TlsServer::start(&files.tls_args(), &client);

    // Clients that connect and never finish a handshake, some silent, some stopping after
    // the first byte of a ClientHello. Run one after the other, their handshake timeouts
    // would add up to far more than PATIENCE, the client's own timeout.
    let stalled: Vec<TcpStream> = (0..8)
        .map(|index| {
            let mut stream = TcpStream::connect(server.address()).expect("connect");
            if index % 2 == 1 {
                stream.write_all(&[0x16]).expect("write");
            }
            stream
        })
        .collect();
    assert_hello(
        server
            .sync(&client)
            .expect("TLS request past stalled handshakes"),
    );
    drop(stalled);
}

#[test]
fn sigterm_finishes_in_flight_tls_requests_then_exits_cleanly() {
    let ca = Ca::new("test CA");
    let files = Files::new();
    files.put_pair(&ca.server(1));
    let client = tls_client(&ca, None);
    let mut server = TlsServer::start(&files.tls_args(), &client);
    let url = server.url.clone();
    let started = r#"hookserver_instantiations_total{hook="spin"} 1"#;

    std::thread::scope(|scope| {
        let in_flight = scope.spawn(|| {
            client
                .post(format!("{url}/hooks/spin/sync"))
                .header("content-type", "application/json")
                .body(COMPOSITE_WITH_CHILDREN)
                .send()
                .expect("in-flight call")
        });
        wait_for("the call to start", || {
            client
                .get(format!("{url}/metrics"))
                .send()
                .and_then(Response::text)
                .is_ok_and(|text| text.lines().any(|line| line == started))
        });
        terminate(server.child.id());
        let response = in_flight.join().expect("in-flight call");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().expect("body"), "{\"children\":[]}");
    });
    assert_eq!(server.wait_exit(), Some(0));
    let refused = client.get(format!("{url}/healthz")).send();
    assert!(refused.is_err(), "no new connections after shutdown");
}

#[test]
fn a_renewed_certificate_reaches_new_connections_and_a_broken_one_is_ignored() {
    let ca = Ca::new("test CA");
    let first = ca.server(1);
    let files = Files::new();
    files.put_pair(&first);
    let client = tls_client(&ca, None);
    let server = TlsServer::start(&files.tls_args(), &client);
    // A new client each time: a resumed TLS session reuses the certificate it started with
    // (metacontroller's Go client keeps no session cache, so it always sees the current one).
    let presented = || {
        let fresh = tls_client(&ca, None);
        peer_certificate(&server.sync(&fresh).expect("TLS request"))
    };
    assert_eq!(presented(), first.der);

    // A renewal: new key, new certificate, same names.
    let second = ca.server(2);
    files.put_pair(&second);
    wait_for("the renewed certificate", || presented() == second.der);

    // Not a certificate at all: logged, naming the file, and the renewed pair keeps serving.
    let mark = server.log_mark();
    files.put("tls.crt", "-----BEGIN CERTIFICATE-----\nnot base64\n");
    let line = server.wait_for_log(
        mark,
        &["TLS certificate", "not usable", "tls.crt", "still using"],
    );
    assert!(
        line.contains("a PEM section has no END line: --tls-cert must hold PEM CERTIFICATE"),
        "{line}"
    );
    assert_eq!(presented(), second.der);

    // A valid certificate whose key is not the one in tls.key (half of a renewal).
    let third = ca.server(3);
    let mark = server.log_mark();
    files.put("tls.crt", &third.cert);
    server.wait_for_log(mark, &["does not belong to the certificate", "still using"]);
    assert_eq!(presented(), second.der);

    // The other half arrives: the pair is whole again and served.
    files.put("tls.key", &third.key);
    wait_for("the third certificate", || presented() == third.der);
}

#[test]
fn client_certificates_must_come_from_the_client_ca() {
    let ca = Ca::new("test CA");
    let other_ca = Ca::new("another CA");
    let files = Files::new();
    files.put_pair(&ca.server(1));
    let client_ca = files.put("client-ca.crt", &ca.pem());
    let probe_port = unused_port();
    let mut args = files.tls_args();
    args.extend([
        "--client-ca".into(),
        client_ca.into(),
        "--probe-listen".into(),
        format!("127.0.0.1:{probe_port}").into(),
    ]);
    let metacontroller = tls_client(&ca, Some(&ca.client()));
    let server = TlsServer::start(&args, &metacontroller);

    assert_hello(
        server
            .sync(&metacontroller)
            .expect("request with a client certificate"),
    );

    let anonymous = tls_client(&ca, None);
    let refused = server
        .sync(&anonymous)
        .expect_err("no client certificate must be refused");
    assert!(
        !refused.is_timeout(),
        "refused, not left hanging: {refused}"
    );

    let stranger = tls_client(&ca, Some(&other_ca.client()));
    let refused = server
        .sync(&stranger)
        .expect_err("a certificate from another CA must be refused");
    assert!(
        !refused.is_timeout(),
        "refused, not left hanging: {refused}"
    );
    server.wait_for_log(0, &["TLS handshake failed"]);

    // The kubelet has no certificate: it probes the plain probe port, which serves nothing
    // else.
    let plain = Client::builder().timeout(PATIENCE).build().expect("client");
    let probe = |path: &str| {
        plain
            .get(format!("http://127.0.0.1:{probe_port}{path}"))
            .send()
            .expect("probe port")
            .status()
    };
    assert_eq!(probe("/readyz"), StatusCode::OK);
    assert_eq!(probe("/healthz"), StatusCode::OK);
    assert_eq!(probe("/hooks"), StatusCode::NOT_FOUND);
}

#[test]
fn bearer_tokens_right_wrong_missing_and_rotated() {
    let ca = Ca::new("test CA");
    let files = Files::new();
    files.put_pair(&ca.server(1));
    let tokens = files.put(
        "tokens",
        "# metacontroller's authorization Secret\nright-token\n",
    );
    let mut args = files.tls_args();
    args.extend(["--auth-token-file".into(), tokens.into()]);
    let client = tls_client(&ca, None);
    let server = TlsServer::start(&args, &client);
    let sync_with = |token: Option<&str>| {
        let mut request = client
            .post(format!("{}/hooks/hello-world/sync", server.url))
            .header("content-type", "application/json")
            .body(hello_request("sync"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().expect("TLS request")
    };

    assert_hello(sync_with(Some("right-token")));

    let wrong = sync_with(Some("wrong-token"));
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        r#"Bearer realm="hookserver""#
    );
    let body = wrong.text().expect("body");
    assert!(
        body.starts_with("unauthorized: the bearer token is not one of those in --auth-token-file"),
        "{body}"
    );
    assert!(
        !body.contains("wrong-token") && !body.contains("right-token"),
        "{body}"
    );

    let missing = sync_with(None);
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body = missing.text().expect("body");
    assert!(
        body.starts_with(
            "unauthorized: no Authorization header: send `Authorization: Bearer TOKEN`"
        ),
        "{body}"
    );

    // Probes stay open; the hook list, metrics and unknown paths do not.
    let get = |path: &str, token: Option<&str>| {
        let mut request = client.get(format!("{}{path}", server.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().expect("GET").status()
    };
    assert_eq!(get("/healthz", None), StatusCode::OK);
    assert_eq!(get("/readyz", None), StatusCode::OK);
    assert_eq!(get("/hooks", None), StatusCode::UNAUTHORIZED);
    assert_eq!(get("/metrics", None), StatusCode::UNAUTHORIZED);
    assert_eq!(get("/nowhere", None), StatusCode::UNAUTHORIZED);
    assert_eq!(get("/hooks", Some("right-token")), StatusCode::OK);
    assert_eq!(get("/metrics", Some("right-token")), StatusCode::OK);

    // Rotation: the new token first joins the old one, then replaces it.
    files.put("tokens", "right-token\nnew-token\n");
    wait_for("the new token", || {
        sync_with(Some("new-token")).status() == StatusCode::OK
    });
    assert_hello(sync_with(Some("right-token")));
    files.put("tokens", "new-token\n");
    wait_for("the old token to be dropped", || {
        sync_with(Some("right-token")).status() == StatusCode::UNAUTHORIZED
    });
    assert_hello(sync_with(Some("new-token")));
}

#[test]
fn basic_auth_right_wrong_user_wrong_password_and_missing() {
    let ca = Ca::new("test CA");
    let files = Files::new();
    files.put_pair(&ca.server(1));
    let users = files.put("users", "metacontroller:s3cr3t\n");
    let mut args = files.tls_args();
    args.extend(["--basic-auth-file".into(), users.into()]);
    let client = tls_client(&ca, None);
    let server = TlsServer::start(&args, &client);
    let sync_as = |credentials: Option<(&str, &str)>| {
        let mut request = client
            .post(format!("{}/hooks/hello-world/sync", server.url))
            .header("content-type", "application/json")
            .body(hello_request("sync"));
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        request.send().expect("TLS request")
    };

    assert_hello(sync_as(Some(("metacontroller", "s3cr3t"))));

    for (user, password) in [("intruder", "s3cr3t"), ("metacontroller", "guess")] {
        let refused = sync_as(Some((user, password)));
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "{user}:{password}"
        );
        assert_eq!(
            refused.headers()["www-authenticate"],
            r#"Basic realm="hookserver", charset="UTF-8""#
        );
        let body = refused.text().expect("body");
        assert!(
            body.contains("the user name or the password is wrong"),
            "{body}"
        );
        assert!(
            !body.contains(password) && !body.contains("s3cr3t"),
            "{body}"
        );
    }

    let missing = sync_as(None);
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(
        missing
            .text()
            .expect("body")
            .contains("no Authorization header: send HTTP Basic credentials"),
    );
    let bearer = client
        .get(format!("{}/hooks", server.url))
        .bearer_auth("s3cr3t")
        .send()
        .expect("GET");
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    assert!(
        bearer
            .text()
            .expect("body")
            .contains("bearer tokens are not accepted here")
    );
}

#[test]
fn with_tokens_and_users_either_is_accepted_and_both_are_offered() {
    let ca = Ca::new("test CA");
    let files = Files::new();
    files.put_pair(&ca.server(1));
    let tokens = files.put("tokens", "right-token\n");
    let users = files.put("users", "metacontroller:s3cr3t\n");
    let mut args = files.tls_args();
    args.extend([
        "--auth-token-file".into(),
        tokens.into(),
        "--basic-auth-file".into(),
        users.into(),
    ]);
    let client = tls_client(&ca, None);
    let server = TlsServer::start(&args, &client);
    let hooks = || client.get(format!("{}/hooks", server.url));

    let by_token = hooks().bearer_auth("right-token").send().expect("GET");
    assert_eq!(by_token.status(), StatusCode::OK);
    let by_user = hooks()
        .basic_auth("metacontroller", Some("s3cr3t"))
        .send()
        .expect("GET");
    assert_eq!(by_user.status(), StatusCode::OK);

    let missing = hooks().send().expect("GET");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = missing
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().expect("text"))
        .collect();
    assert_eq!(
        challenges,
        [
            r#"Bearer realm="hookserver""#,
            r#"Basic realm="hookserver", charset="UTF-8""#
        ]
    );
}

/// Runs `hookserver serve ARGS`, which must fail at start; returns its exit code and stderr.
fn serve_fails(args: &[OsString]) -> (Option<i32>, String) {
    let modules = ModuleDir::new();
    let cache = tempfile::tempdir().expect("cache dir");
    let child = Command::new(env!("CARGO_BIN_EXE_hookserver"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--modules"])
        .arg(modules.path())
        .arg("--cache-dir")
        .arg(cache.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hookserver");
    let pid = child.id();
    let (sender, output) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    let deadline = Instant::now() + PATIENCE;
    let output = loop {
        if let Ok(output) = output.recv_timeout(Duration::from_millis(100)) {
            break output.expect("hookserver output");
        }
        if Instant::now() > deadline {
            terminate(pid);
            panic!("hookserver {args:?} started instead of failing");
        }
    };
    assert!(
        output.stdout.is_empty(),
        "it must not have started listening: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn os(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.iter().map(|arg| arg.as_ref().to_os_string()).collect()
}

#[test]
fn flags_that_do_not_go_together_are_refused() {
    let (code, stderr) = serve_fails(&os(&[&"--tls-cert", &"tls.crt"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--tls-key <FILE>"), "{stderr}");

    let (code, stderr) = serve_fails(&os(&[&"--tls-key", &"tls.key"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--tls-cert <FILE>"), "{stderr}");

    let (code, stderr) = serve_fails(&os(&[&"--client-ca", &"ca.crt"]));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--tls-cert <FILE>"), "{stderr}");
}

#[test]
fn bad_files_stop_the_start_with_what_to_fix() {
    let ca = Ca::new("test CA");
    let files = Files::new();
    let leaf = ca.server(1);
    let other = ca.server(2);
    let cert = files.put("tls.crt", &leaf.cert);
    let key = files.put("tls.key", &leaf.key);
    let other_key = files.put("other.key", &other.key);
    let garbage = files.put("garbage.pem", "this is not PEM\n");
    let missing = files.path("missing.crt");
    let tls = |cert: &Path, key: &Path| os(&[&"--tls-cert", &cert, &"--tls-key", &key]);
    let failure = |args: Vec<OsString>| {
        let (code, stderr) = serve_fails(&args);
        assert_eq!(code, Some(1), "{stderr}");
        stderr
    };

    let stderr = failure(tls(&missing, &key));
    assert!(
        stderr.contains(&format!("error: cannot read {}", missing.display())),
        "{stderr}"
    );

    let stderr = failure(tls(&garbage, &key));
    assert!(stderr.contains(&garbage.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("--tls-cert must hold PEM CERTIFICATE blocks"),
        "{stderr}"
    );

    let stderr = failure(tls(&cert, &garbage));
    assert!(
        stderr.contains("--tls-key must hold one PEM private key"),
        "{stderr}"
    );

    let stderr = failure(tls(&cert, &other_key));
    assert!(
        stderr.contains(&format!(
            "the key in {} does not belong to the certificate in {}",
            other_key.display(),
            cert.display()
        )),
        "{stderr}"
    );

    let mut args = tls(&cert, &key);
    args.extend(os(&[&"--client-ca", &garbage]));
    let stderr = failure(args);
    assert!(stderr.contains("--client-ca"), "{stderr}");
    assert!(stderr.contains("no CERTIFICATE block found"), "{stderr}");

    let empty = files.put("tokens", "# filled in by the deployment\n");
    let stderr = failure(os(&[&"--auth-token-file", &empty]));
    assert!(stderr.contains("no token in it"), "{stderr}");

    let users = files.put("users", "metacontroller:s3cr3t\nno-password-here\n");
    let stderr = failure(os(&[&"--basic-auth-file", &users]));
    assert!(
        stderr.contains("line 2: expected USER:PASSWORD"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cr3t") && !stderr.contains("no-password-here"),
        "{stderr}"
    );
}
