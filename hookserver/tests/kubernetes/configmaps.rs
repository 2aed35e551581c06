//! ConfigMap hooks: load, update, break and mend, gzip, annotations, several namespaces, a
//! directory beside them, and an API server restart.

use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::common::{ModuleDir, digest, example_hook, hello_request, printer, variant, wait_for};
use crate::{serve_configmaps, serve_configmaps_logged, ship, ship_raw, wait_for_event};

const BROKEN: &[u8] = b"this is not a WebAssembly module";

#[test]
fn configmap_hooks_load_update_survive_a_bad_version_and_go() {
    let cluster = Cluster::shared();
    let ns = cluster.namespace("lifecycle");
    let hello = example_hook("hello-world");
    let other = printer(r#"{"children":[]}"#);
    ship(cluster, &ns, "hello-world", &hello, &[]);
    ship(cluster, &ns, "other", &other, &[]);
    // Not a hook: no label.
    cluster.kubectl(&[
        "create",
        "configmap",
        "plain",
        "-n",
        &ns,
        "--from-literal=a=b",
    ]);

    let server = serve_configmaps(&cluster.admin_kubeconfig(), &["--namespace", &ns]);
    server.wait_ready();
    // Ready means the initial list is loaded, not merely listed: no waiting here.
    for (name, module) in [("hello-world", &hello), ("other", &other)] {
        let status = server.hook_status(name).expect("listed");
        assert_eq!(status["state"], "ready", "{status}");
        assert_eq!(status["digest"], format!("sha256:{}", digest(module)));
        assert_eq!(status["origin"], format!("configmap {ns}/{name}"));
    }
    assert!(server.hook_status("plain").is_none());
    let response = server.post("/hooks/hello-world/sync", &hello_request("sync"));
    assert_eq!(response.status(), 200);
    wait_for_event(cluster, &ns, "hello-world", "Loaded", &digest(&hello));

    // An update serves within moments of the apply.
    let v2 = variant(&hello, "v2");
    let applied = Instant::now();
    ship(cluster, &ns, "hello-world", &v2, &[]);
    server.wait_for_module("hello-world", &v2);
    eprintln!(
        "ConfigMap update to new version serving: {:?} (apply included)",
        applied.elapsed()
    );

    // A broken version: the previous one keeps serving, and everyone can see why.
    ship_raw(cluster, &ns, "hello-world", BROKEN);
    wait_for("the broken version to be reported", || {
        server
            .hook_status("hello-world")
            .is_some_and(|status| status["state"] == "degraded")
    });
    let status = server.hook_status("hello-world").expect("listed");
    assert_eq!(status["digest"], format!("sha256:{}", digest(&v2)));
    assert_eq!(
        server.metric(r#"hookserver_load_failing{hook="hello-world"}"#),
        1.0
    );
    assert_eq!(
        server
            .post("/hooks/hello-world/sync", &hello_request("sync"))
            .status(),
        200
    );
    wait_for_event(
        cluster,
        &ns,
        "hello-world",
        "LoadFailed",
        "the previous version keeps serving",
    );

    // Mended.
    ship(cluster, &ns, "hello-world", &hello, &[]);
    server.wait_for_module("hello-world", &hello);
    wait_for("the failure to clear", || {
        server
            .hook_status("hello-world")
            .is_some_and(|status| status["state"] == "ready" && status["lastError"].is_null())
    });

    // Deleted: gone from the routes.
    cluster.kubectl(&["delete", "configmap", "hello-world", "-n", &ns]);
    wait_for("the hook to go", || {
        server.hook_status("hello-world").is_none()
    });
    assert_eq!(
        server
            .post("/hooks/hello-world/sync", &hello_request("sync"))
            .status(),
        404
    );
    // Losing the label is leaving too.
    cluster.kubectl(&[
        "label",
        "configmap",
        "other",
        "-n",
        &ns,
        "hookserver.io/module-",
    ]);
    wait_for("the unlabelled hook to go", || {
        server.hook_status("other").is_none()
    });
}

#[test]
fn gzip_modules_and_annotations_set_options() {
    let cluster = Cluster::shared();
    let ns = cluster.namespace("options");
    let hello = example_hook("hello-world");
    let manifest = crate::configmap_manifest(
        &hello,
        &[
            "--name",
            "zipped",
            "--gzip",
            "--option",
            "timeout=1500ms",
            "--option",
            "strict=true",
        ],
    );
    assert!(manifest.contains("module.wasm.gz:"), "{manifest}");
    cluster.kubectl_stdin(&["apply", "-n", &ns, "-f", "-"], &manifest);

    let server = serve_configmaps(&cluster.admin_kubeconfig(), &["--namespace", &ns]);
    server.wait_ready();
    let status = server.hook_status("zipped").expect("listed");
    assert_eq!(status["digest"], format!("sha256:{}", digest(&hello)));
    assert_eq!(status["options"]["limits"]["timeout"], "1s 500ms");
    assert_eq!(status["options"]["strict"], true);
    assert_eq!(
        server
            .post("/hooks/zipped/sync", &hello_request("sync"))
            .status(),
        200
    );

    // A misspelt option is refused by name; the hook keeps its last good options.
    cluster.kubectl(&[
        "annotate",
        "configmap",
        "zipped",
        "-n",
        &ns,
        "hookserver.io/timout=2s",
    ]);
    wait_for_event(
        cluster,
        &ns,
        "zipped",
        "LoadFailed",
        "unknown annotation hookserver.io/timout",
    );
    let status = server.hook_status("zipped").expect("listed");
    assert_eq!(status["state"], "degraded");
    assert_eq!(status["options"]["limits"]["timeout"], "1s 500ms");

    // A module under data (text) instead of binaryData is explained.
    cluster.kubectl(&[
        "create",
        "configmap",
        "misplaced",
        "-n",
        &ns,
        "--from-literal=module.wasm=AGFzbQ==",
    ]);
    cluster.kubectl(&[
        "label",
        "configmap",
        "misplaced",
        "-n",
        &ns,
        "hookserver.io/module=true",
    ]);
    wait_for_event(
        cluster,
        &ns,
        "misplaced",
        "LoadFailed",
        "binary modules go under binaryData",
    );
    assert_eq!(
        server.hook_status("misplaced").expect("listed")["state"],
        "failed"
    );
}

#[test]
fn several_namespaces_name_hooks_namespace_dot_name() {
    let cluster = Cluster::shared();
    let (a, b) = (cluster.namespace("team-a"), cluster.namespace("team-b"));
    let (in_a, in_b) = (printer(r#"{"from":"a"}"#), printer(r#"{"from":"b"}"#));
    ship(cluster, &a, "greeter", &in_a, &[]);
    ship(cluster, &b, "greeter", &in_b, &[]);

    let server = serve_configmaps(
        &cluster.admin_kubeconfig(),
        &["--namespace", &a, "--namespace", &b],
    );
    server.wait_ready();
    for (ns, module) in [(&a, &in_a), (&b, &in_b)] {
        let status = server
            .hook_status(&format!("{ns}.greeter"))
            .expect("qualified name");
        assert_eq!(status["digest"], format!("sha256:{}", digest(module)));
    }
    assert!(server.hook_status("greeter").is_none());
}

#[test]
fn a_directory_and_configmaps_serve_together_and_names_do_not_collide() {
    let cluster = Cluster::shared();
    let ns = cluster.namespace("mixed");
    let modules = ModuleDir::new();
    let from_dir = printer(r#"{"from":"dir"}"#);
    modules.put("shared", &from_dir);
    ship(cluster, &ns, "from-configmap", &printer("{}"), &[]);

    let modules_arg = modules.path().display().to_string();
    let server = serve_configmaps(
        &cluster.admin_kubeconfig(),
        &["--namespace", &ns, "--modules", &modules_arg],
    );
    server.wait_ready();
    assert!(server.hook_status("from-configmap").is_some());

    // The name is the directory's: the ConfigMap is refused, and told why.
    ship(cluster, &ns, "shared", &printer(r#"{"from":"cm"}"#), &[]);
    wait_for_event(
        cluster,
        &ns,
        "shared",
        "LoadFailed",
        "is already served from",
    );
    let status = server.hook_status("shared").expect("listed");
    assert_eq!(status["digest"], format!("sha256:{}", digest(&from_dir)));
    // Removing the refused ConfigMap leaves the directory's hook alone.
    cluster.kubectl(&["delete", "configmap", "shared", "-n", &ns]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = server.hook_status("shared").expect("still listed");
    assert_eq!(status["digest"], format!("sha256:{}", digest(&from_dir)));
}

/// How long a change may take to arrive after the API server is back: the watch retries
/// with kube's default backoff, 0.8 s doubling up to 30 s, each delay plus up to as much
/// again in jitter, so a retry can be a minute away after a long outage; and a loaded
/// machine adds the time to restart the API server.
const AFTER_OUTAGE: Duration = Duration::from_secs(150);

fn wait_after_outage(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + AFTER_OUTAGE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The API server stops (etcd keeps the data) and comes back on the same address.
///
/// While it is down, hooks already loaded keep answering and `/readyz` stays 200: the replica
/// can still answer every hook it has, and turning every replica unready at once because the
/// control plane restarts would make an API server restart an outage of every controller
/// that calls hookserver. Changes made after it is back (an update, a new hook, a deletion)
/// arrive through the same watch. The outage is kept short, so the watch's backoff stays at a
/// few seconds and the test finishes quickly; the deadline allows for the worst case.
#[test]
fn hooks_keep_serving_through_an_api_server_restart_and_changes_after_it_arrive() {
    let cluster = Cluster::start();
    let ns = cluster.namespace("restart");
    let answers = |n: u32| format!(r#"{{"children":[],"n":{n}}}"#);
    let (one, changing, changed, two) = (
        printer(&answers(1)),
        printer(&answers(2)),
        printer(&answers(3)),
        printer(&answers(4)),
    );
    ship(&cluster, &ns, "one", &one, &[]);
    ship(&cluster, &ns, "changing", &changing, &[]);

    let server = serve_configmaps_logged(&cluster.admin_kubeconfig(), &["--namespace", &ns]);
    server.wait_ready();
    let answer = |name: &str| {
        let response = server.post(&format!("/hooks/{name}/sync"), &hello_request("sync"));
        assert_eq!(response.status(), 200, "hook {name}");
        response.text().expect("body")
    };

    cluster.stop_apiserver();
    server.wait_for_log(&["ConfigMap watch failed", "is the API server reachable?"]);
    // Called for the first time now: each answer comes from running the hook.
    assert_eq!(answer("one"), answers(1));
    assert_eq!(answer("changing"), answers(2));
    let ready = server.get("/readyz");
    assert_eq!(ready.status(), 200, "still ready");
    assert_eq!(ready.text().expect("body"), "ready\n");

    cluster.restart_apiserver();
    ship(&cluster, &ns, "changing", &changed, &[]);
    ship(&cluster, &ns, "two", &two, &[]);
    cluster.kubectl(&["delete", "configmap", "one", "-n", &ns]);
    let serves = |name: &str, module: &[u8]| {
        server
            .hook_status(name)
            .is_some_and(|status| status["digest"] == format!("sha256:{}", digest(module)))
    };
    wait_after_outage("the update, the new hook and the deletion", || {
        serves("changing", &changed) && serves("two", &two) && server.hook_status("one").is_none()
    });
    assert_eq!(answer("changing"), answers(3));
    assert_eq!(answer("two"), answers(4));
    // Nothing doubled: exactly the hooks the namespace holds.
    let hooks: serde_json::Value = server.get("/hooks").json().expect("hooks");
    let mut names: Vec<&str> = hooks["hooks"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|hook| hook["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["changing", "two"]);
}

#[test]
fn script_configmaps_serve_through_the_adapters_and_refuse_syntax_errors() {
    let cluster = Cluster::shared();
    let ns = cluster.namespace("scripts");
    // A jsonnet hook of two files, shipped the way a user would: `hookserver configmap`.
    let dir = tempfile::tempdir().expect("dir");
    let script = dir.path().join("greeter.jsonnet");
    std::fs::write(
        &script,
        "local lib = import 'lib.libsonnet';\n\
         function(request) { status: { greeting: lib.greet(request.parent.spec.who) }, children: [] }\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("lib.libsonnet"),
        "{ greet(who):: 'Hello, ' + who + '!' }\n",
    )
    .expect("write");
    let apply = |path: &std::path::Path| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hookserver"))
            .arg("configmap")
            .arg(path)
            .output()
            .expect("hookserver configmap");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let manifest = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(manifest.contains("  hook.jsonnet: "), "{manifest}");
        cluster.kubectl_stdin(&["apply", "-n", &ns, "-f", "-"], &manifest);
    };
    apply(&script);

    let adapters = crate::common::adapters_dir();
    let server = serve_configmaps(
        &cluster.admin_kubeconfig(),
        &[
            "--namespace",
            &ns,
            "--adapters",
            adapters.to_str().expect("utf-8"),
        ],
    );
    server.wait_ready();
    let request = r#"{"parent":{"metadata":{"name":"p"},"spec":{"who":"Ada"}},"children":{}}"#;
    let greeting = |server: &crate::common::Server| {
        let response = server.post("/hooks/greeter/sync", request);
        assert_eq!(response.status(), 200);
        let value: serde_json::Value = response.json().expect("JSON");
        value["status"]["greeting"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(greeting(&server), "Hello, Ada!");
    let status = server.hook_status("greeter").expect("listed");
    assert_eq!(status["adapter"]["language"], "jsonnet", "{status}");
    wait_for_event(cluster, &ns, "greeter", "Loaded", "serves jsonnet script");

    // A syntax error is refused where the user looks: an Event, and the old one serves.
    std::fs::write(&script, "function(request) { status: {,\n").expect("write");
    apply(&script);
    wait_for_event(cluster, &ns, "greeter", "LoadFailed", "hook.jsonnet");
    assert_eq!(greeting(&server), "Hello, Ada!");
}
