//! The backend under test: the URL (a template with `{hook}`), resolved once to a socket
//! address, and [`Connection`], one keep-alive HTTP/1.1 connection that a worker owns for
//! the whole run (re-opened only when the server closes it or an exchange fails).

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::BodyExt as _;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::requests::{HookKind, SplicedBody};

/// A target that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "--url {url:?}: {reason}; expected a template like \
         http://127.0.0.1:8080/hooks/hello-world/{{hook}}"
    )]
    BadUrl { url: String, reason: String },
    #[error("cannot resolve the host of {url}")]
    Resolve {
        url: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot connect to {url} ({addr}): is the server running and listening there?")]
    Unreachable {
        url: String,
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where requests go: the URL with `{hook}` filled in, split into what each request needs.
#[derive(Debug, Clone)]
pub struct Target {
    url: String,
    addr: SocketAddr,
    host: HeaderValue,
    path: Uri,
}

impl Target {
    /// Fills `{hook}` into `template`, checks it is a plain `http://` URL and resolves its
    /// host (once: reconnections do not look it up again).
    pub async fn resolve(template: &str, hook: HookKind) -> Result<Self> {
        let url = template.replace("{hook}", hook.as_str());
        let bad = |reason: &str| Error::BadUrl {
            url: template.to_string(),
            reason: reason.to_string(),
        };
        if !url.contains("://") {
            return Err(bad("the URL must start with http://"));
        }
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https is not supported (the client speaks plain HTTP/1.1, to keep its own \
                     cost out of the numbers); serve the backend on http",
                ));
            }
            _ => return Err(bad("the URL must start with http://")),
        }
        let authority = uri.authority().ok_or_else(|| bad("the URL has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse::<Uri>()
            .map_err(|_| bad("the path is not valid"))?;
        let host_header =
            HeaderValue::from_str(authority.as_str()).map_err(|_| bad("the host is not valid"))?;
        let addr = tokio::net::lookup_host((host, port))
            .await
            .and_then(|mut addrs| {
                addrs
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))
            })
            .map_err(|source| Error::Resolve {
                url: url.clone(),
                source,
            })?;
        Ok(Self {
            url,
            addr,
            host: host_header,
            path,
        })
    }

    /// The URL requests go to (`{hook}` filled in).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Opens a connection, reporting failure as [`Error::Unreachable`].
    pub async fn connect_or_fail(&self) -> Result<Connection> {
        Connection::open(self.addr)
            .await
            .map_err(|source| Error::Unreachable {
                url: self.url.clone(),
                addr: self.addr,
                source,
            })
    }

    /// Opens a connection.
    pub async fn connect(&self) -> io::Result<Connection> {
        Connection::open(self.addr).await
    }

    /// The connection in a worker's `slot`, ready for a request: the one there, or a new
    /// one when there is none or the server closed it (a server may close a keep-alive
    /// connection between requests: that is no failure). Also says whether it was opened
    /// now.
    pub async fn ready_connection<'a>(
        &self,
        slot: &'a mut Option<Connection>,
    ) -> io::Result<(&'a mut Connection, bool)> {
        if let Some(connection) = slot
            && !connection.ready().await
        {
            *slot = None;
        }
        Ok(match slot {
            Some(connection) => (connection, false),
            None => (slot.insert(self.connect().await?), true),
        })
    }

    /// Sends `request` on the connection in `slot` ([`Target::ready_connection`]). After a
    /// failure, drop the connection: its state is unknown.
    pub async fn send(
        &self,
        slot: &mut Option<Connection>,
        request: Request<SplicedBody>,
    ) -> std::result::Result<Answer, SendError> {
        let (connection, _) = self
            .ready_connection(slot)
            .await
            .map_err(|_| SendError::Connect)?;
        let (status, body) = connection
            .exchange(request)
            .await
            .map_err(|_| SendError::Connection)?;
        Ok(Answer { status, body })
    }

    /// A GET of the URL, without a body: for a server's status pages (`/hooks`, `/readyz`).
    pub fn get(&self) -> Request<SplicedBody> {
        let mut request = Request::new(SplicedBody::empty());
        *request.uri_mut() = self.path.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static("hookload/0.1"));
        request
    }

    /// The POST of `body` as metacontroller sends it: JSON with a Content-Length.
    pub fn request(&self, body: SplicedBody) -> Request<SplicedBody> {
        let length = body.len();
        let mut request = Request::new(body);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.path.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        headers.insert(USER_AGENT, HeaderValue::from_static("hookload/0.1"));
        request
    }
}

/// A whole answer to [`Target::send`].
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Why [`Target::send`] got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No connection could be opened.
    Connect,
    /// The connection broke before the whole answer was in.
    Connection,
}

/// One keep-alive HTTP/1.1 connection. Dropping it closes the socket, even with an answer
/// still outstanding (after a timeout).
#[derive(Debug)]
pub struct Connection {
    sender: http1::SendRequest<SplicedBody>,
    driver: JoinHandle<()>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        // Errors surface in the request that meets them; the driver just ends.
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender, driver })
    }

    /// Waits until the connection can take a request; false when it is closed (by the
    /// server after an answer, say) and a new one is needed.
    pub async fn ready(&mut self) -> bool {
        !self.sender.is_closed() && self.sender.ready().await.is_ok()
    }

    /// Sends `request` and reads the whole answer.
    pub async fn exchange(
        &mut self,
        request: Request<SplicedBody>,
    ) -> std::result::Result<(StatusCode, Bytes), hyper::Error> {
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn resolve(template: &str) -> Result<Target> {
        Target::resolve(template, HookKind::Finalize).await
    }

    #[tokio::test]
    async fn fills_in_the_hook_and_splits_the_url() {
        let target = resolve("http://127.0.0.1:9000/hello-world/{hook}?x=1")
            .await
            .expect("target");
        assert_eq!(
            target.url(),
            "http://127.0.0.1:9000/hello-world/finalize?x=1"
        );
        assert_eq!(target.addr, "127.0.0.1:9000".parse().expect("addr"));
        assert_eq!(target.path, "/hello-world/finalize?x=1");
        assert_eq!(target.host, "127.0.0.1:9000");
        let v6 = resolve("http://[::1]/h").await.expect("ipv6");
        assert_eq!(v6.addr, "[::1]:80".parse().expect("addr"));
    }

    #[tokio::test]
    async fn bad_urls_say_what_is_expected() {
        for (url, says) in [
            ("https://127.0.0.1/x", "https is not supported"),
            ("127.0.0.1:80/x", "must start with http://"),
            ("http://", "not a URL"),
        ] {
            let err = resolve(url).await.expect_err(url).to_string();
            assert!(err.contains(says), "{url}: {err}");
            assert!(err.contains("{hook}"), "{url}: {err}");
        }
    }
}
