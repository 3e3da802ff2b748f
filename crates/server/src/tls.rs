//! TLS for every door (rustls with ring; no OpenSSL): the certificate, its
//! reload on SIGHUP, and the handshake every TLS connection goes through.
//!
//! The certificate and key live behind one [`ReloadableKey`], which every
//! door's rustls config asks at each handshake: a reload swaps the pair for
//! new handshakes while connections already open keep theirs. A reload that
//! cannot read or check the new files changes nothing.
//!
//! A pair is checked when it is loaded, so an operator hears of a mistake at
//! start rather than from a client: the key must belong to the certificate
//! and the certificate must be valid now. `--tls-self-signed` makes a pair
//! for `localhost` and the listen addresses with rcgen and keeps it in the
//! data directory, so the fingerprint the log shows stays the same across
//! restarts.
//!
//! Handshakes run in the connection's own task under
//! `--tls-handshake-timeout`, holding a connection-limit slot like any
//! connection, so slow or garbage handshakes cost the client, not the server.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{bail, Context};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::metrics::Metrics;

/// Where the certificate and key come from.
#[derive(Debug, Clone)]
enum Source {
    /// `--tls-cert` and `--tls-key`, re-read on reload.
    Files { cert: PathBuf, key: PathBuf },
    /// `--tls-self-signed --in-memory`: made at start, nothing to reload.
    Generated,
}

/// TLS as configured: the current pair and an acceptor per kind of door.
pub struct Tls {
    source: Source,
    key: Arc<ReloadableKey>,
    /// For the text and IRC doors: no ALPN.
    lines: TlsAcceptor,
    /// For the HTTP listener: ALPN `http/1.1`, what it serves.
    http: TlsAcceptor,
    handshake_timeout: Duration,
    metrics: Arc<Metrics>,
}

/// Which acceptor a listener uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsDoor {
    /// The text door (and any other line-based door).
    Lines,
    /// HTTPS and WSS.
    Http,
}

impl Tls {
    /// TLS as `config` asks for it, or `None` when no certificate is configured.
    /// Fails, with a sentence an operator can act on, when the files cannot be
    /// read, the key does not match, or the certificate is not valid now.
    pub fn from_config(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Option<Self>> {
        let (source, pair) = match (&config.tls_cert, &config.tls_key, config.tls_self_signed) {
            (None, None, false) => return Ok(None),
            (Some(cert), Some(key), false) => {
                let pair = load_pair(cert, key)?;
                let source = Source::Files {
                    cert: cert.clone(),
                    key: key.clone(),
                };
                (source, pair)
            }
            (None, None, true) => self_signed(config)?,
            (_, _, true) => {
                bail!("--tls-self-signed cannot be combined with --tls-cert or --tls-key")
            }
            (Some(_), None, _) => {
                bail!("--tls-cert needs --tls-key, the certificate's private key")
            }
            (None, Some(_), _) => bail!("--tls-key needs --tls-cert, the key's certificate"),
        };
        info!(
            fingerprint = %fingerprint(&pair.cert[0]),
            "TLS certificate loaded (SHA-256 fingerprint)"
        );
        let key = Arc::new(ReloadableKey(RwLock::new(Arc::new(pair))));
        Ok(Some(Self {
            source,
            lines: TlsAcceptor::from(server_config(&key, &[])?),
            http: TlsAcceptor::from(server_config(&key, &[b"http/1.1"])?),
            key,
            handshake_timeout: config.tls_handshake_timeout(),
            metrics,
        }))
    }

    /// Re-reads the certificate and key for new handshakes; on any problem the
    /// current pair stays and the problem is returned. Returns the new
    /// certificate's SHA-256 fingerprint.
    pub fn reload(&self) -> anyhow::Result<String> {
        let Source::Files { cert, key } = &self.source else {
            bail!("the self-signed certificate of an --in-memory server has no files to reload");
        };
        let pair = load_pair(cert, key)?;
        let fingerprint = fingerprint(&pair.cert[0]);
        *self
            .key
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(pair);
        Ok(fingerprint)
    }

    /// Completes the server side of a handshake within the timeout; `None`
    /// (logged once, counted) when it fails, times out or the server stops.
    /// `name` is the listener's in logs and metrics (`text_tls`, `irc_tls`, `https`).
    pub async fn accept(
        &self,
        door: TlsDoor,
        name: &'static str,
        stream: TcpStream,
        peer: SocketAddr,
        shutdown: &CancellationToken,
    ) -> Option<TlsStream<TcpStream>> {
        let acceptor = match door {
            TlsDoor::Lines => &self.lines,
            TlsDoor::Http => &self.http,
        };
        let failure = tokio::select! {
            _ = shutdown.cancelled() => return None,
            done = tokio::time::timeout(self.handshake_timeout, acceptor.accept(stream)) => match done {
                Ok(Ok(stream)) => return Some(stream),
                Ok(Err(err)) => err.to_string(),
                Err(_) => format!("no handshake within {:?}", self.handshake_timeout),
            },
        };
        info!(%peer, door = name, reason = %failure, "TLS handshake failed; closing");
        self.metrics.tls_handshake_failed(name);
        None
    }
}

/// The pair new handshakes use; swapped by [`Tls::reload`].
#[derive(Debug)]
struct ReloadableKey(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for ReloadableKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .0
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        ))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// TLS 1.2 and 1.3, rustls' defaults otherwise.
fn server_config(key: &Arc<ReloadableKey>, alpn: &[&[u8]]) -> anyhow::Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS setup")?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(key) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Reads and checks a PEM certificate chain and its key.
fn load_pair(cert_path: &Path, key_path: &Path) -> anyhow::Result<CertifiedKey> {
    let cert_pem = std::fs::read(cert_path)
        .with_context(|| format!("cannot read the TLS certificate {}", cert_path.display()))?;
    let key_pem = std::fs::read(key_path)
        .with_context(|| format!("cannot read the TLS key {}", key_path.display()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| {
            anyhow::anyhow!(
                "{} is not a PEM certificate chain: {err}",
                cert_path.display()
            )
        })?;
    if chain.is_empty() {
        bail!("{} holds no PEM certificate", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|err| {
        anyhow::anyhow!(
            "{} is not a PEM private key (PKCS#8, RSA or EC): {err}",
            key_path.display()
        )
    })?;
    check_validity(&chain[0], &cert_path.display().to_string())?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|err| {
        anyhow::anyhow!(
            "the key {} does not belong to the certificate {}: {err}",
            key_path.display(),
            cert_path.display()
        )
    })
}

/// A certificate outside its validity period would fail every client.
fn check_validity(cert: &CertificateDer<'_>, what: &str) -> anyhow::Result<()> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|err| anyhow::anyhow!("the certificate {what} cannot be parsed: {err}"))?;
    let validity = parsed.validity();
    if !validity.is_valid() {
        bail!(
            "the certificate {what} is valid only from {} to {}, not now",
            validity.not_before,
            validity.not_after
        );
    }
    Ok(())
}

/// SHA-256 of the certificate as `AB:CD:...`, as `openssl x509 -fingerprint -sha256` shows it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = Sha256::digest(cert.as_ref());
    let mut text = String::with_capacity(digest.len() * 3);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02X}");
    }
    text
}

/// The names a self-signed certificate is for: `localhost`, loopback, and
/// the listen addresses that name one host.
fn self_signed_names(config: &Config) -> Vec<String> {
    let mut ips: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
    let listens = [
        Some(config.listen),
        config.tls_listen.0,
        config.http_listen.0,
        config.irc_listen.0,
        config.irc_tls_listen.0,
    ];
    for addr in listens.into_iter().flatten() {
        if !addr.ip().is_unspecified() && !ips.contains(&addr.ip()) {
            ips.push(addr.ip());
        }
    }
    std::iter::once("localhost".to_owned())
        .chain(ips.iter().map(IpAddr::to_string))
        .collect()
}

/// The pair for `--tls-self-signed`: the one kept in the data directory when
/// it is still valid, otherwise a new one (saved there unless `--in-memory`).
fn self_signed(config: &Config) -> anyhow::Result<(Source, CertifiedKey)> {
    let generate = || generate_self_signed(self_signed_names(config));
    if config.in_memory {
        let (cert, signing_key) = generate()?;
        let chain = vec![cert.der().clone()];
        let key = PrivateKeyDer::try_from(signing_key.serialize_der())
            .map_err(|err| anyhow::anyhow!("the generated key: {err}"))?;
        let pair = CertifiedKey::from_der(chain, key, &provider())?;
        return Ok((Source::Generated, pair));
    }
    let dir = config.data_dir.join("tls");
    let cert = dir.join("self-signed-cert.pem");
    let key = dir.join("self-signed-key.pem");
    let source = Source::Files {
        cert: cert.clone(),
        key: key.clone(),
    };
    if cert.exists() && key.exists() {
        match load_pair(&cert, &key)
            .and_then(|pair| renewal_due(&pair.cert[0]).map(|due| (pair, due)))
        {
            Ok((pair, None)) => return Ok((source, pair)),
            Ok((_, Some(why))) => info!("renewing the self-signed certificate: {why}"),
            Err(err) => warn!(%err, "replacing the stored self-signed certificate"),
        }
    }
    let (made, signing_key) = generate()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_private(&key, signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.pem())
        .with_context(|| format!("cannot write {}", cert.display()))?;
    info!(cert = %cert.display(), "generated a self-signed TLS certificate");
    let pair = load_pair(&cert, &key)?;
    Ok((source, pair))
}

/// How long a self-signed certificate is valid: a year, renewed at a start
/// within [`SELF_SIGNED_RENEW_BEFORE`] of its end (clients that pinned it see
/// a new fingerprint then, which the log gives).
const SELF_SIGNED_VALIDITY: time::Duration = time::Duration::days(365);

/// A start this close to a self-signed certificate's end makes a new one.
const SELF_SIGNED_RENEW_BEFORE: time::Duration = time::Duration::days(30);

/// The subject of banter's self-signed certificates.
const SELF_SIGNED_SUBJECT: &str = "banter self-signed certificate";

/// A new self-signed certificate for `names`, with banter's subject and
/// [`SELF_SIGNED_VALIDITY`] (from a day ago, for clocks a little behind).
fn generate_self_signed(
    names: Vec<String>,
) -> anyhow::Result<(rcgen::Certificate, rcgen::KeyPair)> {
    let failed = "cannot generate a self-signed certificate";
    let mut params = rcgen::CertificateParams::new(names).context(failed)?;
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(rcgen::DnType::CommonName, SELF_SIGNED_SUBJECT);
    subject.push(rcgen::DnType::OrganizationName, "banter");
    params.distinguished_name = subject;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + SELF_SIGNED_VALIDITY;
    let key = rcgen::KeyPair::generate().context(failed)?;
    let cert = params.self_signed(&key).context(failed)?;
    Ok((cert, key))
}

/// Why a stored self-signed certificate should be replaced: it ends within
/// [`SELF_SIGNED_RENEW_BEFORE`], or lasts longer than banter now makes them
/// (those of older releases ran to the year 4096).
fn renewal_due(cert: &CertificateDer<'_>) -> anyhow::Result<Option<String>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|err| anyhow::anyhow!("the stored certificate cannot be parsed: {err}"))?;
    let not_after = parsed.validity().not_after;
    let left = time::Duration::seconds(
        not_after.timestamp() - time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    Ok(if left < SELF_SIGNED_RENEW_BEFORE {
        Some(format!("it expires on {not_after}"))
    } else if left > SELF_SIGNED_VALIDITY + time::Duration::days(1) {
        Some(format!("it runs to {not_after}, longer than a year"))
    } else {
        None
    })
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_another_certificate_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let one = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let two = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, one.cert.pem()).unwrap();
        std::fs::write(&key, two.signing_key.serialize_pem()).unwrap();
        let err = load_pair(&cert, &key).unwrap_err().to_string();
        assert!(err.contains("does not belong to the certificate"), "{err}");
        std::fs::write(&key, one.signing_key.serialize_pem()).unwrap();
        load_pair(&cert, &key).unwrap();
    }

    #[test]
    fn the_fingerprint_is_colon_separated_sha256() {
        let der = CertificateDer::from(vec![1, 2, 3]);
        let text = fingerprint(&der);
        assert_eq!(text.len(), 32 * 3 - 1);
        assert!(text.starts_with("03:90:58:C6"), "{text}");
    }
}
