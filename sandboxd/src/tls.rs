//! The per-sandbox CA: generated in memory at start, its certificate installed into the trust
//! stores, its key never written anywhere. Leaf certificates are minted per host on demand and
//! cached (rcgen + rustls with the ring provider).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Leaf certificates kept before the cache is emptied and refilled.
const CACHE_LIMIT: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("update-ca-certificates failed: {0}")]
    Update(String),
}

pub struct Authority {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    provider: Arc<CryptoProvider>,
    cache: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl Authority {
    pub fn generate(label: &str) -> Result<Authority, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Airlock");
        dn.push(DnType::CommonName, format!("Airlock sandbox CA {label}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key)?;
        Ok(Authority {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A leaf for `host` (DNS name or IP address), minted once and cached.
    pub fn leaf(&self, host: &str) -> Result<Arc<CertifiedKey>, TlsError> {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if let Some(hit) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&host) {
            return Ok(hit.clone());
        }
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.subject_alt_names = vec![match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.clone().try_into()?),
        }];
        params.distinguished_name.push(DnType::CommonName, host.clone());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = params.signed_by(&key, &self.issuer)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signer = self.provider.key_provider.load_private_key(der)?;
        let certified = Arc::new(CertifiedKey::new(vec![cert.der().clone(), self.cert_der.clone()], signer));
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(host, certified.clone());
        Ok(certified)
    }

    /// A server config presenting leaves for the client's SNI, or `fallback_host` without SNI.
    pub fn server_config(
        self: &Arc<Self>,
        fallback_host: &str,
    ) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let resolver = LeafResolver { authority: self.clone(), fallback: fallback_host.to_owned() };
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[derive(Debug)]
struct LeafResolver {
    authority: Arc<Authority>,
    fallback: String,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authority")
    }
}

impl ResolvesServerCert for LeafResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let host = hello.server_name().unwrap_or(&self.fallback);
        match self.authority.leaf(host) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(%host, error = %e, "cannot mint a leaf certificate");
                None
            }
        }
    }
}

/// Where the CA certificate goes. All configurable so tests never touch the host's trust store.
#[derive(Debug, Clone)]
pub struct TrustPaths {
    /// A PEM bundle with our CA, named by SSL_CERT_FILE, NODE_EXTRA_CA_CERTS and friends.
    pub bundle: PathBuf,
    /// The system store's drop-in directory file, if any.
    pub system_cert: Option<PathBuf>,
    /// `update-ca-certificates` (or equivalent) to run after writing `system_cert`.
    pub update_command: Option<PathBuf>,
}

fn write_public(path: &Path, pem: &str) -> Result<(), TlsError> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| TlsError::Io(dir.into(), e))?;
    }
    std::fs::write(path, pem).map_err(|e| TlsError::Io(path.into(), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| TlsError::Io(path.into(), e))
}

/// Install the CA certificate (public part only) where the sandbox's clients will trust it.
pub fn install(authority: &Authority, paths: &TrustPaths) -> Result<(), TlsError> {
    write_public(&paths.bundle, authority.cert_pem())?;
    if let Some(system) = &paths.system_cert {
        write_public(system, authority.cert_pem())?;
        if let Some(update) = paths.update_command.as_ref().filter(|p| p.exists()) {
            let out =
                std::process::Command::new(update).output().map_err(|e| TlsError::Io(update.clone(), e))?;
            if !out.status.success() {
                return Err(TlsError::Update(String::from_utf8_lossy(&out.stderr).into_owned()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_minted_per_host_and_cached() {
        let ca = Authority::generate("test").expect("ca");
        let a = ca.leaf("Example.test").expect("leaf");
        assert!(Arc::ptr_eq(&a, &ca.leaf("example.test").expect("leaf")), "cached, case-insensitive");
        assert_eq!(a.cert.len(), 2, "leaf + CA");
        assert!(ca.leaf("127.0.0.1").is_ok() && ca.leaf("[::1]").is_ok(), "IP SANs");
    }

    #[test]
    fn install_writes_only_the_certificate_and_runs_the_update_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("updated");
        let script = dir.path().join("update.sh");
        std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).expect("write");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let paths = TrustPaths {
            bundle: dir.path().join("etc/ca.pem"),
            system_cert: Some(dir.path().join("store/airlock.crt")),
            update_command: Some(script),
        };
        let ca = Authority::generate("test").expect("ca");
        install(&ca, &paths).expect("install");
        for f in [&paths.bundle, paths.system_cert.as_ref().expect("set")] {
            let pem = std::fs::read_to_string(f).expect("read");
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----") && !pem.contains("PRIVATE KEY"));
        }
        assert!(marker.exists(), "update command ran");
    }
}
