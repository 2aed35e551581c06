//! Small hook servers on 127.0.0.1 for the tests: an axum app that answers like a hook
//! (optionally failing, slow, hanging or answering non-JSON on some requests), and a raw
//! TCP server that drops some connections without answering. Each records what it got.

#![allow(dead_code)] // each test file uses some of these

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the hook server treats request number `n` (0 is the probe).
#[derive(Clone, Copy)]
pub enum Behaviour {
    Answer,
    /// 500 when `n % every == 1`.
    FailEvery(u64),
    /// Holds one lock for this long per request: one request at a time.
    Serialized(Duration),
    /// Sleeps 5 s (past any test timeout) when `n % every == 4`.
    HangEvery(u64),
    /// A 200 with a JSON array when `n % every == 1`.
    ArrayEvery(u64),
}

/// What a server saw.
#[derive(Default)]
pub struct Seen {
    pub requests: AtomicU64,
    /// Requests it failed, hung on, dropped or answered badly on purpose.
    pub spoiled: AtomicU64,
    pub bodies: Mutex<HashSet<[u8; 32]>>,
    pub body_bytes: AtomicU64,
    /// Pods observed in the last sync request seen.
    pub last_children: Mutex<Option<usize>>,
}

impl Seen {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn spoiled(&self) -> u64 {
        self.spoiled.load(Ordering::SeqCst)
    }

    pub fn distinct_bodies(&self) -> usize {
        self.bodies.lock().expect("lock").len()
    }

    /// Counts a request; returns its number.
    fn note(&self, body: &[u8]) -> u64 {
        self.bodies
            .lock()
            .expect("lock")
            .insert(Sha256::digest(body).into());
        self.body_bytes
            .fetch_add(body.len() as u64, Ordering::SeqCst);
        self.requests.fetch_add(1, Ordering::SeqCst)
    }
}

struct App {
    behaviour: Behaviour,
    seen: Arc<Seen>,
    lock: tokio::sync::Mutex<()>,
}

/// Serves hook `hello-world` at `/hello-world/{hook}` on a free port; returns the URL
/// template for it and what it sees.
pub async fn hook_server(behaviour: Behaviour) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Arc::new(App {
        behaviour,
        seen: Arc::clone(&seen),
        lock: tokio::sync::Mutex::new(()),
    });
    let router = Router::new()
        .route("/hello-world/{hook}", post(hook))
        .with_state(app);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    (format!("http://{addr}/hello-world/{{hook}}"), seen)
}

async fn hook(State(app): State<Arc<App>>, Path(hook): Path<String>, body: Bytes) -> Response {
    let n = app.seen.note(&body);
    if hook == "sync" {
        let request: serde_json::Value = serde_json::from_slice(&body).expect("JSON request");
        let pods = request["children"]["Pod.v1"]
            .as_object()
            .map(|pods| pods.len());
        *app.seen.last_children.lock().expect("lock") = pods;
    }
    let spoil = || app.seen.spoiled.fetch_add(1, Ordering::SeqCst);
    match app.behaviour {
        Behaviour::Answer => {}
        Behaviour::FailEvery(every) if n % every == 1 => {
            spoil();
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "hook failed on purpose\n",
            )
                .into_response();
        }
        Behaviour::Serialized(hold) => {
            let _one_at_a_time = app.lock.lock().await;
            tokio::time::sleep(hold).await;
        }
        Behaviour::HangEvery(every) if n % every == 4 => {
            spoil();
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        Behaviour::ArrayEvery(every) if n % every == 1 => {
            spoil();
            return "[]".into_response();
        }
        _ => {}
    }
    (
        [("content-type", "application/json")],
        r#"{"status":{"pods":1,"succeeded":0},"children":[]}"#,
    )
        .into_response()
}

/// A bare HTTP/1.1 server that answers `{}` on kept-alive connections, but closes the
/// connection without answering when `n % every == 2`.
pub async fn dropping_server(every: u64) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server_seen = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&server_seen);
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().expect("length");
                        }
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if seen.note(&body) % every == 2 {
                        seen.spoiled.fetch_add(1, Ordering::SeqCst);
                        return; // dropped: the connection closes unanswered
                    }
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                  content-length: 2\r\n\r\n{}";
                    if stream.get_mut().write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}/hello-world/{{hook}}"), seen)
}

/// A URL on 127.0.0.1 where nothing listens (a port just freed).
pub async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/hello-world/{{hook}}")
}
