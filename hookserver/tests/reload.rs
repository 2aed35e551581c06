//! Module changes while serving: hot replacement, keep-last-good, removal, deduplication and
//! the disk cache across restarts.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::*;

#[test]
fn replacing_a_module_while_requests_run_fails_none_of_them() {
    let modules = ModuleDir::new();
    let hello = example_hook("hello-world");
    modules.put("hello-world", &hello);
    let server = Server::start(&modules, &[]);
    let done = AtomicBool::new(false);
    let request = hello_request("sync");

    std::thread::scope(|scope| {
        let mut clients = Vec::new();
        for client in 0..3 {
            let (server, done, request) = (&server, &done, &request);
            clients.push(scope.spawn(move || {
                let mut answered = 0;
                while !done.load(Ordering::SeqCst) {
                    let body =
                        request.replace("Your Name", &format!("client {client} #{answered}"));
                    let response = server.post("/hooks/hello-world/sync", &body);
                    assert_eq!(
                        response.status(),
                        200,
                        "{}",
                        response.text().unwrap_or_default()
                    );
                    answered += 1;
                }
                answered
            }));
        }
        for version in 0..5 {
            let next = variant(&hello, &format!("v{version}"));
            modules.put("hello-world", &next);
            server.wait_for_module("hello-world", &next);
        }
        done.store(true, Ordering::SeqCst);
        let answered: usize = clients.into_iter().map(|c| c.join().expect("client")).sum();
        assert!(answered > 0);
    });
}

#[test]
fn a_bad_replacement_keeps_the_old_version_serving() {
    let modules = ModuleDir::new();
    let hello = example_hook("hello-world");
    modules.put("hello-world", &hello);
    let server = Server::start(&modules, &[]);

    modules.put("hello-world", b"\0asm but not really");
    wait_for("the failed load to be reported", || {
        server
            .hook_status("hello-world")
            .is_some_and(|s| s["state"] == "degraded")
    });
    let status = server.hook_status("hello-world").expect("listed");
    assert_eq!(status["digest"], format!("sha256:{}", digest(&hello)));
    assert!(
        status["lastError"]["message"]
            .as_str()
            .expect("message")
            .contains("not a valid WebAssembly module")
    );
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

    // Bad options are refused the same way.
    modules.put("hello-world", &hello);
    wait_for("recovery", || {
        server
            .hook_status("hello-world")
            .is_some_and(|s| s["state"] == "ready")
    });
    modules.put_options("hello-world", "timeout = \"forever\"");
    wait_for("the bad options to be reported", || {
        server
            .hook_status("hello-world")
            .is_some_and(|s| s["state"] == "degraded")
    });
    let message = server.hook_status("hello-world").expect("listed")["lastError"]["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(
        message.contains("option \"timeout\" has invalid value \"forever\""),
        "{message}"
    );
    assert_eq!(
        server
            .post("/hooks/hello-world/sync", &hello_request("sync"))
            .status(),
        200
    );
    assert_eq!(
        server.metric(r#"hookserver_load_failing{hook="hello-world"}"#),
        1.0
    );
}

#[test]
fn a_removed_module_stops_serving() {
    let modules = ModuleDir::new();
    modules.put("hello-world", &example_hook("hello-world"));
    let server = Server::start(&modules, &[]);
    assert_eq!(
        server
            .post("/hooks/hello-world/sync", &hello_request("sync"))
            .status(),
        200
    );
    modules.remove("hello-world");
    wait_for("the hook to be removed", || {
        server.hook_status("hello-world").is_none()
    });
    let response = server.post("/hooks/hello-world/sync", &hello_request("sync"));
    assert_eq!(response.status(), 404);
}

#[test]
fn names_with_the_same_bytes_compile_once() {
    let modules = ModuleDir::new();
    let hello = example_hook("hello-world");
    for name in ["first", "second", "third"] {
        modules.put(name, &hello);
    }
    let server = Server::start(&modules, &[]);
    assert_eq!(
        server.metric(r#"hookserver_module_cache_lookups_total{result="compiled"}"#),
        1.0
    );
    for name in ["first", "second", "third"] {
        let response = server.post(&format!("/hooks/{name}/sync"), &hello_request("sync"));
        assert_eq!(response.status(), 200);
    }
}

#[test]
fn a_restart_with_a_warm_disk_cache_loads_instead_of_compiling() {
    let modules = ModuleDir::new();
    modules.put("hello-world", &example_hook("hello-world"));
    let cache = tempfile::tempdir().expect("cache dir");

    let first = Server::start_with_cache(&modules, cache.path(), &[]);
    assert_eq!(
        first.metric(r#"hookserver_module_cache_lookups_total{result="compiled"}"#),
        1.0
    );
    drop(first);

    let second = Server::start_with_cache(&modules, cache.path(), &[]);
    assert_eq!(
        second.metric(r#"hookserver_module_cache_lookups_total{result="compiled"}"#),
        0.0
    );
    assert_eq!(
        second.metric(r#"hookserver_module_cache_lookups_total{result="disk"}"#),
        1.0
    );
    assert_eq!(
        second
            .post("/hooks/hello-world/sync", &hello_request("sync"))
            .status(),
        200
    );
}

#[test]
fn idle_modules_leave_memory_and_reload_from_disk() {
    let modules = ModuleDir::new();
    modules.put("hello-world", &example_hook("hello-world"));
    let server = Server::start(&modules, &["--module-idle", "1s"]);
    assert_eq!(
        server
            .post("/hooks/hello-world/sync", &hello_request("sync"))
            .status(),
        200
    );
    wait_for("the idle module to be unloaded", || {
        let list: serde_json::Value = server.get("/hooks").json().expect("JSON");
        list["modulesInMemory"] == 0
    });
    let body = hello_request("sync").replace("Your Name", "after idle");
    assert_eq!(server.post("/hooks/hello-world/sync", &body).status(), 200);
    assert_eq!(
        server.metric(r#"hookserver_module_cache_lookups_total{result="disk"}"#),
        1.0
    );
}
