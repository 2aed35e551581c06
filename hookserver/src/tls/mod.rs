//! HTTPS for `hookserver serve`: the certificate and key (re-read when their files change),
//! the optional check of client certificates, and the listener that runs handshakes.
//!
//! rustls with the ring provider, the same rustls build the Kubernetes client links.
//! Metacontroller's Go client speaks HTTP/1.1 to hooks, so that is the only protocol
//! offered in ALPN.

pub mod listener;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{InconsistentKeys, RootCertStore, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::watched::{LoadError, ReadError, Watched};

pub use listener::TlsListener;

/// The files `--tls-cert`, `--tls-key` and `--client-ca` name.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM private key of the first certificate.
    pub key: PathBuf,
    /// PEM bundle of the CAs whose client certificates are accepted; `None` asks for none.
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(
        "{}: {}: --tls-cert must hold PEM CERTIFICATE blocks, the server's certificate first",
        path.display(), describe_pem(error)
    )]
    BadCertificatePem { path: PathBuf, error: pem::Error },
    #[error(
        "{}: {}: --tls-key must hold one PEM private key (PRIVATE KEY, RSA PRIVATE KEY or \
         EC PRIVATE KEY), unencrypted",
        path.display(), describe_pem(error)
    )]
    BadKeyPem { path: PathBuf, error: pem::Error },
    #[error(
        "{}: the key cannot be used ({error}); give an RSA, ECDSA (P-256/P-384) or Ed25519 key",
        path.display()
    )]
    UnusableKey { path: PathBuf, error: rustls::Error },
    #[error(
        "the key in {} does not belong to the certificate in {}: give the key the certificate \
         was issued for (a renewal replaces both files)",
        key.display(), cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{}: not a usable certificate ({error})", path.display())]
    BadCertificate { path: PathBuf, error: rustls::Error },
    #[error(
        "--client-ca {}: {reason}: give a PEM bundle of the CA certificates that sign client \
         certificates",
        path.display()
    )]
    BadClientCa { path: PathBuf, reason: String },
    #[error("cannot set up TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// A PEM error in words (the library's own message prints the marker as a list of bytes).
fn describe_pem(error: &pem::Error) -> String {
    match error {
        pem::Error::NoItemsFound => "nothing of the expected kind in it".to_string(),
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line".to_string(),
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_string(),
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64".to_string(),
        other => other.to_string(),
    }
}

/// The server side of TLS for `files`. The certificate and key are re-read when they change
/// (see [`crate::watched`]); a client CA bundle is read once.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let keys = {
        let (cert, key) = (files.cert.clone(), files.key.clone());
        let provider = provider.clone();
        Watched::load(
            vec![files.cert.clone(), files.key.clone()],
            "TLS certificate",
            move |contents| certified_key(&cert, &key, &contents[0], &contents[1], &provider),
        )
        .map_err(|err| match err {
            LoadError::Read(err) => TlsError::Read(err),
            LoadError::Invalid(err) => err,
        })?
    };
    let verifier = match &files.client_ca {
        None => WebPkiClientVerifier::no_client_auth(),
        Some(path) => {
            let bundle = std::fs::read(path).map_err(|error| ReadError {
                path: path.clone(),
                error,
            })?;
            client_verifier(path, &bundle, provider.clone())?
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(CurrentKey(keys)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A certificate chain and its key, checked to belong together.
pub fn certified_key(
    cert_path: &Path,
    key_path: &Path,
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|chain| {
            if chain.is_empty() {
                Err(pem::Error::NoItemsFound)
            } else {
                Ok(chain)
            }
        })
        .map_err(|error| TlsError::BadCertificatePem {
            path: cert_path.to_path_buf(),
            error,
        })?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| TlsError::BadKeyPem {
        path: key_path.to_path_buf(),
        error,
    })?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| TlsError::UnusableKey {
            path: key_path.to_path_buf(),
            error,
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // As rustls does: a key that cannot tell its public half is not refused for it.
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::KeyMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        }),
        Err(error) => Err(TlsError::BadCertificate {
            path: cert_path.to_path_buf(),
            error,
        }),
    }
}

/// Requires a client certificate that chains to a CA in `bundle`: a client without one is
/// refused during the handshake, before any HTTP is read.
fn client_verifier(
    path: &Path,
    bundle: &[u8],
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let bad = |reason: String| TlsError::BadClientCa {
        path: path.to_path_buf(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(bundle) {
        let cert = cert.map_err(|err| bad(err.to_string()))?;
        roots
            .add(cert)
            .map_err(|err| bad(format!("a certificate cannot be a trust anchor ({err})")))?;
    }
    if roots.is_empty() {
        return Err(bad("no CERTIFICATE block found".to_string()));
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|err| bad(err.to_string()))
}

/// Hands every handshake the certificate in force, so a reload reaches new connections
/// without a restart (open connections keep the one they started with).
#[derive(Debug)]
struct CurrentKey(Arc<Watched<CertifiedKey>>);

impl ResolvesServerCert for CurrentKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }
}
