//! The server's status pages, over one keep-alive connection: `/readyz` until the first
//! load is done, and `/hooks` for the version each hook serves.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::expect::excerpt;
use crate::requests::HookKind;
use crate::target::{self, Connection, Target};

/// A status page that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Target(#[from] target::Error),
    #[error("GET {url}: {what}")]
    Get { url: String, what: String },
    #[error(
        "the server was not ready within {waited:?}: GET /readyz last answered {last}; see \
         the server's log"
    )]
    NotReady { waited: Duration, last: String },
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// See the module docs.
#[derive(Debug)]
pub struct StatusPages {
    readyz: Target,
    hooks: Target,
    connection: Option<Connection>,
}

impl StatusPages {
    /// The pages of the server at `addr`.
    pub async fn new(addr: SocketAddr) -> Result<Self> {
        // The hook kind is not used: these URLs have no {hook}.
        let readyz = format!("http://{addr}/readyz");
        let hooks = format!("http://{addr}/hooks");
        Ok(Self {
            readyz: Target::resolve(&readyz, HookKind::Sync).await?,
            hooks: Target::resolve(&hooks, HookKind::Sync).await?,
            connection: None,
        })
    }

    async fn get(&mut self, which: fn(&Self) -> &Target) -> Result<(u16, bytes::Bytes)> {
        let target = which(self).clone();
        let failed = |what: String| Error::Get {
            url: target.url().to_string(),
            what,
        };
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            target.send(&mut self.connection, target.get()),
        )
        .await;
        match answer {
            Ok(Ok(answer)) => Ok((answer.status.as_u16(), answer.body)),
            Ok(Err(err)) => {
                self.connection = None;
                Err(failed(format!("{err:?}")))
            }
            Err(_) => {
                self.connection = None;
                Err(failed("no answer within 10s".to_string()))
            }
        }
    }

    /// Waits until `/readyz` answers `200`, at most `wait`; gives up early when `alive`
    /// says the server is gone.
    pub async fn wait_ready(
        &mut self,
        wait: Duration,
        mut alive: impl FnMut() -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + wait;
        let mut last = "nothing".to_string();
        while Instant::now() < deadline && alive() {
            match self.get(|pages| &pages.readyz).await {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => last = format!("{status} {}", excerpt(&body)),
                Err(err) => last = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::NotReady { waited: wait, last })
    }

    /// The entries of `GET /hooks`, one per hook.
    pub async fn hooks(&mut self) -> Result<Vec<Value>> {
        let (status, body) = self.get(|pages| &pages.hooks).await?;
        let url = self.hooks.url().to_string();
        if status != 200 {
            return Err(Error::Get {
                url,
                what: format!("answered {status} {}", excerpt(&body)),
            });
        }
        let page: Value = serde_json::from_slice(&body).map_err(|err| Error::Get {
            url: url.clone(),
            what: format!("the answer is not JSON ({err}): {}", excerpt(&body)),
        })?;
        match page.get("hooks") {
            Some(Value::Array(hooks)) => Ok(hooks.clone()),
            _ => Err(Error::Get {
                url,
                what: format!("the answer has no \"hooks\" array: {}", excerpt(&body)),
            }),
        }
    }
}

/// The entry of hook `name` in `hooks` (from [`StatusPages::hooks`]).
pub fn entry<'a>(hooks: &'a [Value], name: &str) -> Option<&'a Value> {
    hooks.iter().find(|hook| hook["name"] == name)
}
