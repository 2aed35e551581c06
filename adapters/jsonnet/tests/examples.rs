//! The Jsonnet example hooks in `examples/scripts/jsonnet` answer exactly as the Rust ports
//! they mirror: for every request fixture of the port, and for variations of them that
//! walk the ports' other paths (including their refusals).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The example hook pairs: (Rust port crate dir, jsonnet script, the port's handler).
type Handler = fn(&str, &[u8]) -> Result<Vec<u8>, String>;

fn hello_world(hook: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    hello_world::hooks()
        .handle(hook, input)
        .map_err(|e| e.to_string())
}

fn catset(hook: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    catset::hooks()
        .handle(hook, input)
        .map_err(|e| e.to_string())
}

fn service_per_pod(hook: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    service_per_pod::hooks()
        .handle(hook, input)
        .map_err(|e| e.to_string())
}

const PAIRS: [(&str, &str, Handler); 3] = [
    ("hello-world", "hello-world-jsonnet.jsonnet", hello_world),
    (
        "service-per-pod",
        "service-per-pod-jsonnet.jsonnet",
        service_per_pod,
    ),
    ("catset", "catset-jsonnet.jsonnet", catset),
];

fn script(name: &str) -> PathBuf {
    workspace().join("examples/scripts/jsonnet").join(name)
}

/// The hook a fixture is for, from its file name.
fn hook_of(fixture: &Path) -> &'static str {
    let stem = fixture
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("file name");
    if stem.starts_with("finalize") {
        "finalize"
    } else if stem.starts_with("customize") {
        "customize"
    } else {
        "sync"
    }
}

/// Runs both on `request`; both must succeed with equal JSON, or both fail with the Rust
/// port's message inside the jsonnet error.
fn assert_same(port: Handler, jsonnet_script: &Path, hook: &str, request: &Value, what: &str) {
    let input = serde_json::to_vec(request).expect("serialize");
    let rust = port(hook, &input);
    let args = [
        "example".into(),
        hook.into(),
        jsonnet_script.as_os_str().to_owned(),
    ];
    let jsonnet = jsonnet_adapter::run(args, &mut input.as_slice()).map_err(|e| e.to_string());
    match (rust, jsonnet) {
        (Ok(rust), Ok(jsonnet)) => {
            let rust: Value = serde_json::from_slice(&rust).expect("rust JSON");
            let jsonnet: Value = serde_json::from_str(&jsonnet).expect("jsonnet JSON");
            assert_eq!(jsonnet, rust, "{what}: {hook}");
        }
        (Err(rust), Err(jsonnet)) => {
            assert!(
                jsonnet.contains(&rust),
                "{what}: {hook}: rust says\n{rust}\njsonnet says\n{jsonnet}"
            );
        }
        (rust, jsonnet) => panic!("{what}: {hook}: rust {rust:?}, jsonnet {jsonnet:?}"),
    }
}

#[test]
fn every_fixture_gets_the_rust_ports_answer() {
    let mut compared = 0;
    for (crate_dir, script_name, port) in PAIRS {
        let dir = workspace()
            .join("examples")
            .join(crate_dir)
            .join("requests");
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("requests dir")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        fixtures.sort();
        assert!(!fixtures.is_empty(), "no fixtures in {}", dir.display());
        for fixture in fixtures {
            let request: Value =
                serde_json::from_slice(&std::fs::read(&fixture).expect("read")).expect("JSON");
            let what = fixture.display().to_string();
            assert_same(
                port,
                &script(script_name),
                hook_of(&fixture),
                &request,
                &what,
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 8, "hello-world 3, service-per-pod 2, catset 3");
}

#[test]
fn every_script_passes_the_load_check() {
    for (_, script_name, _) in PAIRS {
        let args = [
            "example".into(),
            "check".into(),
            script(script_name).into_os_string(),
        ];
        jsonnet_adapter::run(args, &mut std::io::empty()).expect(script_name);
    }
}

fn fixture(crate_dir: &str, name: &str) -> Value {
    let path = workspace()
        .join("examples")
        .join(crate_dir)
        .join("requests")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

#[test]
fn hello_world_variations() {
    let script = script("hello-world-jsonnet.jsonnet");
    let base = fixture("hello-world", "sync.json");
    let whos = [
        json!("Your Name"),
        json!(""),
        json!("  \u{3000}"),
        json!(" padded "),
        Value::Null,
        json!(42),
    ];
    for who in whos {
        let mut request = base.clone();
        request["parent"]["spec"]["who"] = who.clone();
        assert_same(
            hello_world,
            &script,
            "sync",
            &request,
            &format!("who {who}"),
        );
    }
    for spec in [Value::Null, json!([1]), json!({})] {
        let mut request = base.clone();
        request["parent"]["spec"] = spec.clone();
        assert_same(
            hello_world,
            &script,
            "sync",
            &request,
            &format!("spec {spec}"),
        );
    }
    let mut request = base.clone();
    request["parent"]["metadata"]["name"] = json!("");
    assert_same(hello_world, &script, "sync", &request, "empty name");

    // Finalize with and without Pods left; a succeeded and a running Pod.
    let finalize = fixture("hello-world", "finalize.json");
    let mut empty = finalize.clone();
    empty["children"]["Pod.v1"] = json!({});
    assert_same(hello_world, &script, "finalize", &empty, "no pods left");
    let mut running = finalize.clone();
    running["children"]["Pod.v1"]["your-name"]["status"]["phase"] = json!("Running");
    running["finalizing"] = json!(false);
    assert_same(hello_world, &script, "sync", &running, "running pod");
    let mut null_group = base.clone();
    null_group["children"]["Pod.v1"] = Value::Null;
    assert_same(hello_world, &script, "sync", &null_group, "null group");
}

#[test]
fn service_per_pod_variations() {
    let script = script("service-per-pod-jsonnet.jsonnet");
    let base = fixture("service-per-pod", "sync.json");
    let ports = [
        "80:8080",
        " 80:8080 , 443:8443,",
        "9090:metrics",
        "80",
        "080:00080",
        "80:8080,80:9090",
        "0:80",
        "70000:80",
        "80:Bad",
        "80:-x",
        "x:80",
        "80:a--b",
        "80:90:100",
        " , ",
        "",
        "80:x,81:x",
    ];
    for text in ports {
        let mut request = base.clone();
        request["object"]["metadata"]["annotations"]["service-per-pod-ports"] = json!(text);
        assert_same(
            service_per_pod,
            &script,
            "sync",
            &request,
            &format!("ports {text:?}"),
        );
    }
    for replicas in [
        json!(0),
        json!(1),
        json!(5),
        Value::Null,
        json!(-1),
        json!("3"),
        json!(3.5),
    ] {
        let mut request = base.clone();
        request["object"]["spec"]["replicas"] = replicas.clone();
        assert_same(
            service_per_pod,
            &script,
            "sync",
            &request,
            &format!("replicas {replicas}"),
        );
    }
    for label in [
        json!("statefulset.kubernetes.io/pod-name"),
        json!("  "),
        json!(7),
    ] {
        let mut request = base.clone();
        request["object"]["metadata"]["annotations"]["service-per-pod-label"] = label.clone();
        assert_same(
            service_per_pod,
            &script,
            "sync",
            &request,
            &format!("label {label}"),
        );
    }
    let mut request = base.clone();
    request["object"]["metadata"]["annotations"]
        .as_object_mut()
        .expect("annotations")
        .remove("service-per-pod-label");
    assert_same(
        service_per_pod,
        &script,
        "sync",
        &request,
        "no label annotation",
    );

    // Finalize: Services left or not, v2 spellings, a sync while finalizing.
    let finalize = fixture("service-per-pod", "finalize.json");
    let mut gone = finalize.clone();
    gone["attachments"]["Service.v1"] = json!({});
    assert_same(
        service_per_pod,
        &script,
        "finalize",
        &gone,
        "no services left",
    );
    let mut v2 = finalize.clone();
    let object = v2.as_object_mut().expect("request");
    let parent = object.remove("object").expect("object");
    let children = object.remove("attachments").expect("attachments");
    object.insert("parent".into(), parent);
    object.insert("children".into(), children);
    assert_same(service_per_pod, &script, "finalize", &v2, "v2 spelling");
    assert_same(
        service_per_pod,
        &script,
        "sync",
        &finalize,
        "sync while finalizing",
    );
}

/// A change to a request.
type Edit = fn(&mut Value);

/// A CatSet Pod as observed, from the template of the fixture's parent.
fn observed_pod(request: &Value, ordinal: u64, phase: &str, ready: &str, deleting: bool) -> Value {
    let name = format!("nginx-backend-{ordinal}");
    let mut pod = request["parent"]["spec"]["template"].clone();
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["name"] = json!(name);
    pod["metadata"]["namespace"] = json!("default");
    pod["status"] = json!({
        "phase": phase,
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": ready}],
    });
    if deleting {
        pod["metadata"]["deletionTimestamp"] = json!("2025-11-24T10:00:00Z");
    }
    pod
}

fn with_pods(request: &Value, pods: &[(u64, &str, &str, bool)]) -> Value {
    let mut request = request.clone();
    let mut group = serde_json::Map::new();
    for &(ordinal, phase, ready, deleting) in pods {
        let pod = observed_pod(&request, ordinal, phase, ready, deleting);
        group.insert(format!("nginx-backend-{ordinal}"), pod);
    }
    request["children"]["Pod.v1"] = Value::Object(group);
    request
}

#[test]
fn catset_variations() {
    let script = script("catset-jsonnet.jsonnet");
    let base = fixture("catset", "sync.json");
    let ready = ("Running", "True", false);
    let states = [
        vec![],
        vec![(0, ready)],
        vec![(0, ready), (1, ("Pending", "False", false))],
        vec![(0, ready), (1, ready), (2, ready), (3, ready), (4, ready)],
        vec![(0, ready), (1, ("Running", "True", true)), (2, ready)],
        vec![(0, ready), (2, ready), (5, ready)],
        vec![(1, ready)],
    ];
    for replicas in [
        json!(0),
        json!(1),
        json!(3),
        Value::Null,
        json!(-2),
        json!("3"),
    ] {
        for pods in &states {
            for finalizing in [false, true] {
                let pods: Vec<(u64, &str, &str, bool)> = pods
                    .iter()
                    .map(|&(o, (phase, ready, deleting))| (o, phase, ready, deleting))
                    .collect();
                let mut request = with_pods(&base, &pods);
                request["parent"]["spec"]["replicas"] = replicas.clone();
                request["finalizing"] = json!(finalizing);
                let hook = if finalizing { "finalize" } else { "sync" };
                let what = format!("replicas {replicas}, pods {pods:?}");
                assert_same(catset, &script, hook, &request, &what);
            }
        }
    }

    // PVCs of higher ordinals are kept, in ordinal order (leading zeros allowed).
    let mut request = with_pods(&base, &[(0, "Running", "True", false)]);
    let pvc = request["children"]["PersistentVolumeClaim.v1"]["www-nginx-backend-0"].clone();
    for name in [
        "www-nginx-backend-10",
        "www-nginx-backend-007",
        "www-nginx-backend-x",
        "other-1",
    ] {
        let mut claim = pvc.clone();
        claim["metadata"]["name"] = json!(name);
        request["children"]["PersistentVolumeClaim.v1"][name] = claim;
    }
    assert_same(catset, &script, "sync", &request, "retained claims");

    // Template shapes: no claims, a same-named volume, a selector mismatch, bad fields.
    let edits: [(&str, Edit); 9] = [
        ("no claims", |r| {
            r["parent"]["spec"]["volumeClaimTemplates"] = Value::Null
        }),
        ("same-named volume", |r| {
            r["parent"]["spec"]["template"]["spec"]["volumes"] =
                json!([{"name": "www", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}])
        }),
        ("no service name", |r| {
            r["parent"]["spec"]["serviceName"] = Value::Null
        }),
        ("selector mismatch", |r| {
            r["parent"]["spec"]["selector"]["matchLabels"]["tier"] = json!("web")
        }),
        ("claim label mismatch", |r| {
            r["parent"]["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"]["app"] = json!("x")
        }),
        ("no template", |r| {
            r["parent"]["spec"]["template"] = Value::Null
        }),
        ("template not an object", |r| {
            r["parent"]["spec"]["template"] = json!("x")
        }),
        ("unnamed claim", |r| {
            r["parent"]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] = json!("")
        }),
        ("duplicate claim", |r| {
            let claim = r["parent"]["spec"]["volumeClaimTemplates"][0].clone();
            r["parent"]["spec"]["volumeClaimTemplates"] = json!([claim.clone(), claim]);
        }),
    ];
    for (what, edit) in edits {
        let mut request = with_pods(&base, &[(0, "Running", "True", false)]);
        edit(&mut request);
        assert_same(catset, &script, "sync", &request, what);
    }
}
