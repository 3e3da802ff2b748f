//! Which servers `wss://` trusts: the usual web roots plus `--ca`, checked by
//! rustls's WebPKI verifier. A refused certificate's SHA-256 fingerprint is
//! kept, so the client can say which certificate it refused and how to trust
//! it (a self-signed server's: `--ca FILE`, after comparing the fingerprint
//! banterd logs at start).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The rustls settings for `wss://` and the verifier behind them.
#[derive(Debug)]
pub struct Trust {
    pub config: Arc<rustls::ClientConfig>,
    verifier: Arc<Remembering>,
}

impl Trust {
    /// The usual web roots, plus `ca` (a PEM file of one or more
    /// certificates) when given.
    pub fn new(ca: Option<&Path>) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = ca {
            let certs = CertificateDer::pem_file_iter(ca)
                .with_context(|| format!("cannot read {}", ca.display()))?;
            let mut added = 0;
            for cert in certs {
                let cert =
                    cert.with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
                roots
                    .add(cert)
                    .with_context(|| format!("{} holds an unusable certificate", ca.display()))?;
                added += 1;
            }
            anyhow::ensure!(added > 0, "{} holds no certificate", ca.display());
        }
        // The provider is named rather than taken from the process default, so
        // another crate turning on a second rustls provider cannot make it ambiguous.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .context("TLS setup")?;
        let verifier = Arc::new(Remembering {
            inner,
            refused: Mutex::new(None),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS setup")?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            verifier,
        })
    }

    /// What to do about the certificate refused since the last call, if any.
    pub fn hint(&self) -> Option<String> {
        let fingerprint = self.verifier.refused.lock().ok()?.take()?;
        Some(format!(
            "the server's certificate (SHA-256 {fingerprint}) is not trusted; if it is your \
             banterd's self-signed one (banterd logs its fingerprint at start), start banter \
             with --ca FILE, e.g. --ca banter-data/tls/self-signed-cert.pem"
        ))
    }
}

/// rustls's WebPKI check, remembering the fingerprint of a certificate it refuses.
#[derive(Debug)]
struct Remembering {
    inner: Arc<WebPkiServerVerifier>,
    refused: Mutex<Option<String>>,
}

impl ServerCertVerifier for Remembering {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if verdict.is_err() {
            if let Ok(mut refused) = self.refused.lock() {
                *refused = Some(fingerprint(end_entity));
            }
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `AB:CD:...`, as banterd logs it and `openssl x509 -fingerprint -sha256` prints it.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        assert!(Trust::new(Some(&path)).is_err());
        assert!(Trust::new(Some(&dir.path().join("missing.pem"))).is_err());
        assert!(Trust::new(None).is_ok());
    }
}
