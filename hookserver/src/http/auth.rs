//! Who may call hooks: bearer tokens (`--auth-token-file`) and HTTP Basic credentials
//! (`--basic-auth-file`), the two `Authorization` headers metacontroller 4.16+ sends (a hook's
//! `authorization` or `basicAuth`). Client certificates are checked earlier, during the TLS
//! handshake (`crate::tls`).
//!
//! A request passes when any configured method accepts it; otherwise it is answered `401`
//! with one `WWW-Authenticate` challenge per method. Only digests of the secrets are kept,
//! and a presented secret is compared with every one of them in constant time, so neither
//! the time taken nor an error message tells an attacker anything about the secrets.
//!
//! The layer is added only when a file is configured: without one, requests pay nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::error::ApiError;
use crate::watched::{LoadError, ReadError, Watched};

/// The files `--auth-token-file` and `--basic-auth-file` name.
#[derive(Clone, Debug, Default)]
pub struct AuthFiles {
    /// One bearer token per line.
    pub tokens: Option<PathBuf>,
    /// One `USER:PASSWORD` per line.
    pub users: Option<PathBuf>,
}

impl AuthFiles {
    pub fn is_empty(&self) -> bool {
        self.tokens.is_none() && self.users.is_none()
    }
}

/// A credentials file that cannot be used. Messages never quote the file's content.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{}: not UTF-8 text", path.display())]
    NotText { path: PathBuf },
    #[error(
        "{}: no {what} in it: write one per line (blank lines and lines starting with # are \
         ignored)",
        path.display()
    )]
    Empty { path: PathBuf, what: &'static str },
    #[error("{} line {line}: a token cannot contain spaces or tabs", path.display())]
    TokenWithSpace { path: PathBuf, line: usize },
    #[error(
        "{} line {line}: expected USER:PASSWORD, with a user name and a password that are not \
         empty",
        path.display()
    )]
    NotUserPassword { path: PathBuf, line: usize },
}

/// SHA-256 digests of the accepted secrets.
#[derive(Debug)]
pub struct Secrets {
    digests: Vec<[u8; 32]>,
}

impl Secrets {
    /// Whether `secret` is one of them. Every digest is compared, each in constant time.
    pub fn accepts(&self, secret: &[u8]) -> bool {
        let presented: [u8; 32] = Sha256::digest(secret).into();
        let mut found = subtle::Choice::from(0);
        for digest in &self.digests {
            found |= digest.ct_eq(&presented);
        }
        found.into()
    }
}

/// The meaningful lines of a credentials file, with their line numbers.
fn lines<'a>(path: &Path, bytes: &'a [u8]) -> Result<Vec<(usize, &'a str)>, AuthFileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| AuthFileError::NotText {
        path: path.to_path_buf(),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .collect())
}

/// Parses a token file: one token per line.
pub fn parse_tokens(path: &Path, bytes: &[u8]) -> Result<Secrets, AuthFileError> {
    let mut digests = Vec::new();
    for (line, token) in lines(path, bytes)? {
        if token.contains([' ', '\t']) {
            return Err(AuthFileError::TokenWithSpace {
                path: path.to_path_buf(),
                line,
            });
        }
        digests.push(Sha256::digest(token.as_bytes()).into());
    }
    if digests.is_empty() {
        return Err(AuthFileError::Empty {
            path: path.to_path_buf(),
            what: "token",
        });
    }
    Ok(Secrets { digests })
}

/// Parses a basic-auth file: `USER:PASSWORD` per line. Like metacontroller, which trims the
/// user name and the password it reads from its Secret, spaces around either are dropped.
pub fn parse_users(path: &Path, bytes: &[u8]) -> Result<Secrets, AuthFileError> {
    let mut digests = Vec::new();
    for (line, entry) in lines(path, bytes)? {
        let not_user_password = || AuthFileError::NotUserPassword {
            path: path.to_path_buf(),
            line,
        };
        let (user, password) = entry.split_once(':').ok_or_else(not_user_password)?;
        let (user, password) = (user.trim(), password.trim());
        if user.is_empty() || password.is_empty() {
            return Err(not_user_password());
        }
        digests.push(Sha256::digest(format!("{user}:{password}")).into());
    }
    if digests.is_empty() {
        return Err(AuthFileError::Empty {
            path: path.to_path_buf(),
            what: "USER:PASSWORD line",
        });
    }
    Ok(Secrets { digests })
}

/// The configured methods and their current secrets.
#[derive(Debug)]
pub struct Authenticator {
    tokens: Option<Arc<Watched<Secrets>>>,
    users: Option<Arc<Watched<Secrets>>>,
    /// One `WWW-Authenticate` value per configured method.
    challenges: Vec<HeaderValue>,
    /// What a refused client should send instead, for error messages.
    accepted: String,
}

impl Authenticator {
    /// Loads the files (they are then re-read when they change); `None` when there are none.
    pub fn load(files: &AuthFiles) -> Result<Option<Arc<Self>>, AuthFileError> {
        if files.is_empty() {
            return Ok(None);
        }
        let tokens = files
            .tokens
            .as_ref()
            .map(|path| watch(path, "bearer tokens", parse_tokens))
            .transpose()?;
        let users = files
            .users
            .as_ref()
            .map(|path| watch(path, "basic-auth users", parse_users))
            .transpose()?;
        Ok(Some(Arc::new(Self::new(tokens, users))))
    }

    fn new(tokens: Option<Arc<Watched<Secrets>>>, users: Option<Arc<Watched<Secrets>>>) -> Self {
        let mut challenges = Vec::new();
        let mut accepted = Vec::new();
        if tokens.is_some() {
            challenges.push(HeaderValue::from_static(r#"Bearer realm="hookserver""#));
            accepted.push(
                "`Authorization: Bearer TOKEN` with a token from --auth-token-file (metacontroller: \
                 the hook's `authorization`)",
            );
        }
        if users.is_some() {
            challenges.push(HeaderValue::from_static(
                r#"Basic realm="hookserver", charset="UTF-8""#,
            ));
            accepted.push(
                "HTTP Basic credentials of a user in --basic-auth-file (metacontroller: the \
                 hook's `basicAuth`)",
            );
        }
        Authenticator {
            tokens,
            users,
            challenges,
            accepted: accepted.join(", or "),
        }
    }

    /// `Ok` when a configured method accepts the request's `Authorization` header; otherwise
    /// the reason, for the client.
    fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(format!("no Authorization header: send {}", self.accepted));
        };
        let Some((scheme, credentials)) = value
            .to_str()
            .ok()
            .and_then(|value| value.trim().split_once(' '))
        else {
            return Err(format!(
                "the Authorization header is not `SCHEME CREDENTIALS`: send {}",
                self.accepted
            ));
        };
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let Some(tokens) = &self.tokens else {
                return Err(format!(
                    "bearer tokens are not accepted here: send {}",
                    self.accepted
                ));
            };
            if tokens.get().accepts(credentials.as_bytes()) {
                return Ok(());
            }
            return Err(
                "the bearer token is not one of those in --auth-token-file: check the \
                        Secret the hook's `authorization.secretRef` names against that file"
                    .to_string(),
            );
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let Some(users) = &self.users else {
                return Err(format!(
                    "Basic credentials are not accepted here: send {}",
                    self.accepted
                ));
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .ok()
                .filter(|decoded| decoded.contains(&b':'));
            let Some(decoded) = decoded else {
                return Err("the Basic credentials are not base64 of USER:PASSWORD".to_string());
            };
            if users.get().accepts(&decoded) {
                return Ok(());
            }
            return Err("the user name or the password is wrong: they must match a \
                        USER:PASSWORD line of --basic-auth-file; check the Secret the hook's \
                        `basicAuth.secretRef` names"
                .to_string());
        }
        Err(format!(
            "the Authorization scheme is neither Bearer nor Basic: send {}",
            self.accepted
        ))
    }
}

fn watch(
    path: &Path,
    what: &'static str,
    parse: fn(&Path, &[u8]) -> Result<Secrets, AuthFileError>,
) -> Result<Arc<Watched<Secrets>>, AuthFileError> {
    let file = path.to_path_buf();
    Watched::load(vec![file.clone()], what, move |contents| {
        parse(&file, &contents[0])
    })
    .map_err(|err| match err {
        LoadError::Read(err) => AuthFileError::Read(err),
        LoadError::Invalid(err) => err,
    })
}

/// The middleware: passes an authenticated request on, answers `401` otherwise.
pub async fn require(
    State(auth): State<Arc<Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    match auth.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::info!(
                method = %request.method(), path = request.uri().path(), %reason,
                "request refused: not authenticated"
            );
            ApiError::Unauthorized {
                reason,
                challenges: auth.challenges.clone(),
            }
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(digests: &[&str]) -> Secrets {
        Secrets {
            digests: digests
                .iter()
                .map(|secret| Sha256::digest(secret.as_bytes()).into())
                .collect(),
        }
    }

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(value).expect("header"),
            );
        }
        headers
    }

    fn fixed(tokens: Option<&[&str]>, users: Option<&[&str]>) -> Authenticator {
        let watched = |values: &[&str]| Arc::new(Watched::fixed(secrets(values)));
        Authenticator::new(tokens.map(watched), users.map(watched))
    }

    fn basic(user_password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_password)
        )
    }

    #[test]
    fn token_files_skip_comments_and_refuse_what_cannot_be_a_token() {
        let path = Path::new("tokens");
        let tokens =
            parse_tokens(path, b"# rotated 2026-01\n\n  old-token  \nnew-token\n").expect("tokens");
        assert!(tokens.accepts(b"old-token"));
        assert!(tokens.accepts(b"new-token"));
        assert!(!tokens.accepts(b"# rotated 2026-01"));
        assert!(!tokens.accepts(b""));

        let spaced = parse_tokens(path, b"one\ntwo words\n").expect_err("space");
        assert_eq!(
            spaced.to_string(),
            "tokens line 2: a token cannot contain spaces or tabs"
        );
        let empty = parse_tokens(path, b"# nothing yet\n").expect_err("empty");
        assert!(empty.to_string().contains("no token in it"), "{empty}");
    }

    #[test]
    fn user_files_need_a_user_and_a_password_and_never_echo_them() {
        let path = Path::new("users");
        let users = parse_users(path, b"alice:s3cr3t\n bob : pass:with:colons \n").expect("users");
        assert!(users.accepts(b"alice:s3cr3t"));
        assert!(users.accepts(b"bob:pass:with:colons"));
        assert!(!users.accepts(b"alice:wrong"));

        for bad in ["alice", "alice:", ":s3cr3t"] {
            let err = parse_users(path, bad.as_bytes()).expect_err(bad);
            assert!(
                err.to_string()
                    .starts_with("users line 1: expected USER:PASSWORD")
            );
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn a_request_passes_when_any_configured_method_accepts_it() {
        let both = fixed(Some(&["tok"]), Some(&["alice:pw"]));
        assert_eq!(both.check(&headers(Some("Bearer tok"))), Ok(()));
        assert_eq!(both.check(&headers(Some("bearer   tok "))), Ok(()));
        assert_eq!(both.check(&headers(Some(&basic("alice:pw")))), Ok(()));

        let missing = both.check(&headers(None)).expect_err("missing");
        assert!(missing.starts_with("no Authorization header"), "{missing}");
        assert!(missing.contains("--auth-token-file") && missing.contains("--basic-auth-file"));

        let wrong = both
            .check(&headers(Some("Bearer nope")))
            .expect_err("wrong");
        assert!(
            wrong.contains("not one of those in --auth-token-file"),
            "{wrong}"
        );
        assert!(!wrong.contains("nope"));
        let wrong_user = both
            .check(&headers(Some(&basic("bob:pw"))))
            .expect_err("user");
        assert!(wrong_user.contains("user name or the password is wrong"));
        let garbled = both
            .check(&headers(Some("Basic %%%")))
            .expect_err("garbled");
        assert!(garbled.contains("not base64 of USER:PASSWORD"), "{garbled}");
        let other = both.check(&headers(Some("Digest x"))).expect_err("scheme");
        assert!(other.contains("neither Bearer nor Basic"), "{other}");
    }

    #[test]
    fn a_method_that_is_not_configured_is_refused_with_what_to_send() {
        let tokens_only = fixed(Some(&["tok"]), None);
        let refused = tokens_only
            .check(&headers(Some(&basic("alice:pw"))))
            .expect_err("basic");
        assert!(
            refused.starts_with(
                "Basic credentials are not accepted here: send `Authorization: Bearer TOKEN`"
            ),
            "{refused}"
        );
        assert_eq!(tokens_only.challenges.len(), 1);

        let users_only = fixed(None, Some(&["alice:pw"]));
        let refused = users_only
            .check(&headers(Some("Bearer tok")))
            .expect_err("bearer");
        assert!(
            refused.starts_with("bearer tokens are not accepted here"),
            "{refused}"
        );
    }
}
