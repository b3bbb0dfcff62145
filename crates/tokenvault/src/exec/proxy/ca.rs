//! The per-run certificate authority of `run --proxy`'s CONNECT mode, and the TLS settings of both
//! sides of the proxy.
//!
//! The CA is made for one run (`rcgen`, ECDSA P-256); its key lives only in this process's memory
//! and dies with it. Its certificate (public) is written into the CA bundle the child trusts,
//! together with the roots the child would have trusted anyway, so tunnelled hosts still verify.
//! Leaf certificates are made on demand for the allowed hosts the child CONNECTs to, and cached.
//! Upstream, the proxy trusts the bundled web roots plus, when set, the PEM file named by
//! `TOKENVAULT_PROXY_CA_FILE` (a private upstream, or a test's stand-in).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The extra upstream trust anchors (a PEM file) for the proxy's own connections.
pub const EXTRA_CA_VAR: &str = crate::envvars::TOKENVAULT_PROXY_CA_FILE;

pub struct RunCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM (public).
    pub pem: String,
    leaves: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
}

impl RunCa {
    pub fn new() -> Result<RunCa> {
        let mut params = CertificateParams::new(Vec::<String>::new())
            .context("cannot make the run's certificate authority")?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params
            .distinguished_name
            .push(DnType::CommonName, "tokenvault run --proxy (this run only)");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().context("cannot make the run's CA key")?;
        let cert = params
            .self_signed(&key)
            .context("cannot sign the run's CA certificate")?;
        Ok(RunCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// The server side of a MITM'd connection to `host`.
    pub fn server_config(&self, host: &str) -> Result<Arc<rustls::ServerConfig>> {
        let mut leaves = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = leaves.get(host) {
            return Ok(c.clone());
        }
        let mut params = CertificateParams::new(vec![host.to_owned()])
            .with_context(|| format!("cannot make a certificate for {host}"))?;
        params.distinguished_name.push(DnType::CommonName, host);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().context("cannot make a certificate key")?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .with_context(|| format!("cannot sign a certificate for {host}"))?;
        let der_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("TLS setup failed")?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der_key)
            .context("TLS setup failed")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        leaves.insert(host.to_owned(), config.clone());
        Ok(config)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client side: the bundled web roots plus `TOKENVAULT_PROXY_CA_FILE`'s certificates.
pub fn client_config(extra_ca: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                crate::error::hinted(
                    format!(
                        "cannot read the certificates in {} ({EXTRA_CA_VAR}): {e}",
                        path.display()
                    ),
                    format!("point {EXTRA_CA_VAR} at a PEM file of CA certificates, or unset it"),
                )
            })?;
        for c in certs {
            roots
                .add(c)
                .with_context(|| format!("a certificate in {} is not usable", path.display()))?;
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
