//! TLS for `hongbao serve --tls-cert FILE --tls-key FILE`: rustls with ring's primitives,
//! TLS 1.2 and 1.3, HTTP/1.1 only. The handshake runs on the connection's own task, under the
//! same header timeout as a request head, so a client that opens a connection and says nothing
//! holds it no longer with TLS than without.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::run::StartError;

/// The certificate chain and private key files, both PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate first, then any intermediates.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1), readable by no one but its owner and group.
    pub key: PathBuf,
}

/// Reads the files into an acceptor.
///
/// # Errors
/// [`StartError::Config`] naming the file that is missing, unreadable, not PEM, readable by
/// everyone (a key), or a key that does not match the certificate. Never shows key bytes.
pub(crate) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, StartError> {
    let cert_file = files.cert.display();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(Iterator::collect)
        .map_err(|e| StartError::Config(format!("--tls-cert {cert_file}: not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(StartError::Config(format!("--tls-cert {cert_file}: no certificate in it")));
    }
    key_is_private(&files.key)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| StartError::Config(format!("--tls-key {}: not a PEM private key ({e})", files.key.display())))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            StartError::Config(format!("--tls-key {} does not fit --tls-cert {cert_file}: {e}", files.key.display()))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// ring's provider: it builds with a C compiler alone (aws-lc needs CMake). It has no
/// post-quantum key exchange, for which rustls marks it deprecated.
fn provider() -> rustls::crypto::CryptoProvider {
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

/// Refuses a private key file that every local user may read: whoever reads it can be this
/// server. Group-readable is allowed (the `ssl-cert` group convention).
fn key_is_private(path: &Path) -> Result<(), StartError> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| StartError::Config(format!("--tls-key {}: cannot read it ({e})", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode();
        if mode & 0o007 != 0 {
            return Err(StartError::Config(format!(
                "--tls-key {} is readable by every user (mode {:o}); run `chmod 600` on it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    Ok(())
}
