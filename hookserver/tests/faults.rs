//! Faults on the request path: a hook's module replaced or deleted while a call to it runs,
//! and SIGTERM under load.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use serde_json::Value;

/// What nap.wat answers, 3 s after it starts.
const NAP_ANSWER: &str = r#"{"children":[],"status":{"slept":true}}"#;

fn instantiations(hook: &str) -> String {
    format!(r#"hookserver_instantiations_total{{hook="{hook}"}}"#)
}

#[test]
fn calls_in_flight_finish_on_their_version_when_the_module_is_replaced_or_deleted() {
    let modules = ModuleDir::new();
    let nap = wat_module("nap");
    modules.put("replaced", &nap);
    modules.put("deleted", &nap);
    let server = Server::start(&modules, &[]);
    let replacement_answer = r#"{"children":[],"status":{"version":2}}"#;
    let replacement = printer(replacement_answer);

    std::thread::scope(|scope| {
        let calls = ["replaced", "deleted"].map(|hook| {
            let server = &server;
            scope
                .spawn(move || server.post(&format!("/hooks/{hook}/sync"), COMPOSITE_WITH_CHILDREN))
        });
        wait_for("both calls to be running", || {
            ["replaced", "deleted"]
                .iter()
                .all(|hook| server.metric(&instantiations(hook)) == 1.0)
        });
        modules.put("replaced", &replacement);
        modules.remove("deleted");
        server.wait_for_module("replaced", &replacement);
        wait_for("the deleted hook to leave the route table", || {
            server.hook_status("deleted").is_none()
        });
        assert!(
            calls.iter().all(|call| !call.is_finished()),
            "the changes must land while both calls still sleep (3 s, against a reload of \
             about 100 ms); otherwise this test proves nothing"
        );

        // New calls see the change at once ...
        let after = server.post("/hooks/replaced/sync", COMPOSITE_WITH_CHILDREN);
        assert_eq!(after.status(), 200);
        assert_eq!(after.text().expect("body"), replacement_answer);
        let gone = server.post("/hooks/deleted/sync", COMPOSITE_WITH_CHILDREN);
        assert_eq!(gone.status(), 404);
        assert_eq!(
            gone.text().expect("body"),
            "no hook named \"deleted\" is loaded (see GET /hooks for the hooks being served)\n"
        );

        // ... and the calls in flight finish on the version they started with.
        for call in calls {
            let response = call.join().expect("call in flight");
            assert_eq!(response.status(), 200);
            assert_eq!(response.text().expect("body"), NAP_ANSWER);
        }
    });
}

/// Slow calls in flight when SIGTERM arrives.
const NAPS: usize = 4;
/// Threads sending hello-world calls back to back, across the shutdown.
const LOADERS: usize = 6;

/// How one HTTP exchange ended, read byte by byte off the socket.
enum Exchange {
    /// A complete response: status code and body.
    Answered(u16, Vec<u8>),
    /// No byte of a response: the connection was refused, or closed or reset before one.
    Refused(String),
    /// Part of a response and then nothing: what a shutdown must never do.
    Cut(String),
}

/// A minimal HTTP/1.1 client that keeps its connection alive between calls (as
/// metacontroller's does) and tells a refusal from a cut-off response, which a full client
/// library folds into one error.
struct RawClient {
    address: String,
    connection: Option<BufReader<TcpStream>>,
}

impl RawClient {
    fn post(&mut self, path: &str, body: &str) -> Exchange {
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => match TcpStream::connect(&self.address) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(PATIENCE))
                        .expect("read timeout");
                    BufReader::new(stream)
                }
                Err(err) => return Exchange::Refused(format!("connect: {err}")),
            },
        };
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        );
        if let Err(err) = connection.get_mut().write_all(request.as_bytes()) {
            return Exchange::Refused(format!("write: {err}"));
        }
        let mut status_line = String::new();
        match connection.read_line(&mut status_line) {
            Ok(0) => return Exchange::Refused("closed before a response".into()),
            Err(err) if status_line.is_empty() => {
                return Exchange::Refused(format!("read: {err}"));
            }
            Err(err) => return Exchange::Cut(format!("{status_line:?} then {err}")),
            Ok(_) => {}
        }
        let Some(status) = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
        else {
            return Exchange::Cut(format!("not a status line: {status_line:?}"));
        };
        let (mut length, mut close) = (None, false);
        loop {
            let mut header = String::new();
            match connection.read_line(&mut header) {
                Ok(0) | Err(_) => return Exchange::Cut(format!("{status_line:?}, headers cut")),
                Ok(_) if header == "\r\n" => break,
                Ok(_) => {}
            }
            let header = header.to_ascii_lowercase();
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse::<usize>().ok();
            }
            close |= header.starts_with("connection:") && header.contains("close");
        }
        let Some(length) = length else {
            return Exchange::Cut(format!("{status_line:?} without content-length"));
        };
        let mut body = vec![0; length];
        if let Err(err) = connection.read_exact(&mut body) {
            return Exchange::Cut(format!("{status_line:?}, body cut: {err}"));
        }
        if !close {
            self.connection = Some(connection);
        }
        Exchange::Answered(status, body)
    }
}

/// What one loader saw.
#[derive(Default)]
struct LoadReport {
    answered: usize,
    refused: usize,
    /// How the first refused call ended (connection refused, closed before a response).
    first_refusal: Option<String>,
    /// Anything but a correct 200 or a clean refusal after SIGTERM.
    problems: Vec<String>,
}

/// Calls hello-world back to back until the server has refused three calls in a row.
fn load(
    address: &str,
    request: &str,
    loader: usize,
    terminating: &AtomicBool,
    answered: &AtomicUsize,
) -> LoadReport {
    let mut client = RawClient {
        address: address.to_string(),
        connection: None,
    };
    let mut report = LoadReport::default();
    let mut refused_in_a_row = 0;
    for call in 0.. {
        // A different visitor per call: the response cache cannot answer, every call runs.
        let who = format!("Loader {loader}-{call}");
        match client.post(
            "/hooks/hello-world/sync",
            &request.replace("Your Name", &who),
        ) {
            Exchange::Answered(status, body) => {
                refused_in_a_row = 0;
                report.answered += 1;
                answered.fetch_add(1, Ordering::SeqCst);
                let greeting = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|answer| {
                        answer["children"][0]["spec"]["containers"][0]["command"][1]
                            .as_str()
                            .map(str::to_string)
                    });
                if status != 200 || greeting.as_deref() != Some(&format!("Hello, {who}!")) {
                    report.problems.push(format!(
                        "{who}: {status} {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
            }
            Exchange::Refused(why) => {
                report.refused += 1;
                if !terminating.load(Ordering::SeqCst) {
                    report
                        .problems
                        .push(format!("{who} refused before SIGTERM: {why}"));
                }
                report.first_refusal.get_or_insert(why);
                refused_in_a_row += 1;
                if refused_in_a_row == 3 {
                    break;
                }
            }
            Exchange::Cut(what) => report.problems.push(format!("{who}: {what}")),
        }
    }
    report
}

#[test]
fn sigterm_under_load_finishes_accepted_calls_refuses_new_ones_and_exits_0() {
    let modules = ModuleDir::new();
    modules.put("nap", &wat_module("nap"));
    modules.put("hello-world", &example_hook("hello-world"));
    let server = Server::start(&modules, &[]);
    let address = server
        .url
        .strip_prefix("http://")
        .expect("an http URL")
        .to_string();
    let request = hello_request("sync");
    let terminating = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);

    std::thread::scope(|scope| {
        let naps: Vec<_> = (0..NAPS)
            .map(|_| {
                let server = &server;
                scope.spawn(move || {
                    let response = server.post("/hooks/nap/sync", COMPOSITE_WITH_CHILDREN);
                    (response.status(), response.text().expect("whole body"))
                })
            })
            .collect();
        let loaders: Vec<_> = (0..LOADERS)
            .map(|loader| {
                let (address, request) = (&address, &request);
                let (terminating, answered) = (&terminating, &answered);
                scope.spawn(move || load(address, request, loader, terminating, answered))
            })
            .collect();
        wait_for("the slow calls to be running", || {
            server.metric(&instantiations("nap")) == NAPS as f64
        });
        wait_for("the load to be flowing", || {
            answered.load(Ordering::SeqCst) >= 10 * LOADERS
        });

        // Set first: from here on a refusal is what the loaders should see.
        terminating.store(true, Ordering::SeqCst);
        terminate(server.pid());

        // New connections are refused while the accepted calls are still running.
        wait_for("new connections to be refused", || {
            TcpStream::connect(&address).is_err()
        });
        assert!(
            naps.iter().any(|nap| !nap.is_finished()),
            "the slow calls must still be running when new connections are refused (they \
             sleep 3 s); otherwise this test proves nothing about them"
        );

        for nap in naps {
            let (status, body) = nap.join().expect("slow call");
            assert_eq!(status, 200, "{body}");
            assert_eq!(body, NAP_ANSWER);
        }
        for (loader, handle) in loaders.into_iter().enumerate() {
            let report = handle.join().expect("loader");
            assert!(
                report.problems.is_empty(),
                "loader {loader}: {:#?}",
                report.problems
            );
            assert!(report.answered > 0 && report.refused > 0, "loader {loader}");
            eprintln!(
                "loader {loader}: {} answered, {} refused, first: {:?}",
                report.answered, report.refused, report.first_refusal
            );
        }
    });
    assert_eq!(server.wait_exit(), Some(0), "exit status after SIGTERM");
}
