//! An [`axum::serve::Listener`] that hands axum finished TLS connections.
//!
//! Handshakes run concurrently, one task per connection, each bounded by
//! [`HANDSHAKE_TIMEOUT`]: a client that connects and then stalls (or is slow) holds only its
//! own task, never the accept loop. Finished connections reach axum through a channel.
//!
//! When axum stops accepting (graceful shutdown), it drops the listener; the accept task
//! sees the channel close and closes the socket, so new connections are refused while the
//! requests in flight finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Longest a client may take from connecting to a finished handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for axum to take them.
const READY_BACKLOG: usize = 64;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The answer to a plain-HTTP request on the TLS port: a clear status instead of a reset,
/// which metacontroller quotes in the parent's `SyncError` event.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Connection: close\r\n\
Content-Length: 133\r\n\
\r\n\
this port serves HTTPS, not plain HTTP: use an https:// URL (in metacontroller: \
webhook.url https://..., or service.protocol: https)\n";

/// TLS connections accepted on a TCP socket.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp` (a task of its own) with `config`.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (sender, ready) = mpsc::channel(READY_BACKLOG);
        tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), sender));
        Ok(TlsListener { ready, local_addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task only ends once this receiver is gone, so this cannot happen
            // while axum is calling; wait instead of inventing a connection.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(connection) => connection,
                Err(err) => {
                    // Out of file descriptors, mostly: wait for some to be freed, as axum's
                    // own TCP listener does.
                    tracing::error!(error = %err, "cannot accept a connection; retrying in 1s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = ready.closed() => return,
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&acceptor, stream)).await {
                Ok(Ok(tls)) => {
                    // Fails only when the server has stopped accepting: drop the connection.
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(Refused::PlainHttp)) => {
                    tracing::info!(%peer, "plain HTTP on the TLS port; answered 400")
                }
                Ok(Err(Refused::NotTls)) => tracing::debug!(%peer, "not a TLS client; closed"),
                Ok(Err(Refused::Io(err))) => {
                    tracing::info!(%peer, error = %err, "TLS handshake failed")
                }
                Err(_) => tracing::debug!(
                    %peer, "no TLS handshake within {}s; closed", HANDSHAKE_TIMEOUT.as_secs()
                ),
            }
        });
    }
}

/// Why a connection did not become a TLS connection.
#[derive(Debug)]
enum Refused {
    PlainHttp,
    NotTls,
    /// rustls reports certificate and protocol failures as I/O errors.
    Io(std::io::Error),
}

async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
) -> Result<TlsStream<TcpStream>, Refused> {
    // A response is several TLS records; without this each may wait for the last ACK.
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    let read = stream.peek(&mut first).await.map_err(Refused::Io)?;
    if read == 0 {
        return Err(Refused::NotTls);
    }
    if first[0] != TLS_HANDSHAKE {
        // HTTP methods start with an uppercase letter.
        if first[0].is_ascii_uppercase() {
            refuse_plain_http(stream).await;
            return Err(Refused::PlainHttp);
        }
        return Err(Refused::NotTls);
    }
    acceptor.accept(stream).await.map_err(Refused::Io)
}

async fn refuse_plain_http(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    // Read the request first: closing a socket with unread data resets the connection, and
    // the client would see the reset instead of the answer.
    let _ = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut sink)).await;
    if stream.write_all(PLAIN_HTTP_ANSWER).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    // Let the client close first, for the same reason.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_http_answer_has_the_right_length() {
        let text = std::str::from_utf8(PLAIN_HTTP_ANSWER).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let declared: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .expect("Content-Length")
            .parse()
            .expect("number");
        assert_eq!(declared, body.len());
    }
}
