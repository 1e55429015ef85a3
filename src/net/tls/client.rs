//! TLS towards a bridge's remote broker: the connector built from `bridge_cafile`,
//! `bridge_capath`, `bridge_certfile`/`bridge_keyfile`, `bridge_insecure`,
//! `bridge_tls_version` and `bridge_alpn`, once at startup, so a missing or bad file stops the
//! broker with the file named instead of failing every connection later.

use std::fs;
use std::path::{Path, PathBuf};

use native_tls::{Certificate, Identity, Protocol, TlsConnector};

use super::{TlsError, openssl_reason};
use crate::config::BridgeTls;

/// The connector for one bridge; `None` when it has neither a CA file nor a CA path.
pub(crate) fn connector(tls: &BridgeTls) -> Result<Option<TlsConnector>, TlsError> {
    if tls.cafile.is_none() && tls.capath.is_none() {
        return Ok(None);
    }
    let mut builder = TlsConnector::builder();
    // The remote end must show a certificate from the CAs named, not any the system trusts,
    // as mosquitto's bridges do.
    builder.disable_built_in_roots(true);
    let mut files: Vec<PathBuf> = tls.cafile.iter().map(PathBuf::from).collect();
    if let Some(dir) = &tls.capath {
        files.extend(ca_files(Path::new(dir))?);
    }
    for file in &files {
        for certificate in certificates(file)? {
            builder.add_root_certificate(certificate);
        }
    }
    if let (Some(cert), Some(key)) = (&tls.certfile, &tls.keyfile) {
        builder.identity(identity(Path::new(cert), Path::new(key))?);
    }
    if tls.insecure {
        builder.danger_accept_invalid_hostnames(true);
    }
    builder.min_protocol_version(Some(match tls.version.as_deref() {
        Some("tlsv1.3") => Protocol::Tlsv13,
        Some("tlsv1.1") => Protocol::Tlsv11,
        _ => Protocol::Tlsv12,
    }));
    if let Some(alpn) = &tls.alpn {
        builder.request_alpns(&[alpn.as_str()]);
    }
    builder.build().map(Some).map_err(|e| TlsError {
        file: files.first().cloned().unwrap_or_default(),
        reason: openssl_reason(&e),
    })
}

/// The certificate files of a CA directory (`*.pem`, `*.crt` and OpenSSL's hashed names).
fn ca_files(dir: &Path) -> Result<Vec<PathBuf>, TlsError> {
    let entries = fs::read_dir(dir).map_err(|e| TlsError {
        file: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".pem")
                || name.ends_with(".crt")
                || name
                    .rsplit_once('.')
                    .is_some_and(|(_, n)| n.parse::<u8>().is_ok())
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every certificate in a PEM file (a CA file often holds a chain).
fn certificates(file: &Path) -> Result<Vec<Certificate>, TlsError> {
    let fail = |reason: String| TlsError {
        file: file.to_path_buf(),
        reason,
    };
    let text = fs::read_to_string(file).map_err(|e| fail(e.to_string()))?;
    const END: &str = "-----END CERTIFICATE-----";
    let mut found = Vec::new();
    for block in text.split_inclusive(END).filter(|b| b.contains(END)) {
        let pem = block.trim_start();
        found.push(Certificate::from_pem(pem.as_bytes()).map_err(|e| fail(openssl_reason(&e)))?);
    }
    if found.is_empty() {
        return Err(fail("no PEM certificate in it".into()));
    }
    Ok(found)
}

/// The client certificate and its PKCS#8 PEM key.
fn identity(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let read = |path: &Path| {
        fs::read(path).map_err(|e| TlsError {
            file: path.to_path_buf(),
            reason: e.to_string(),
        })
    };
    let (cert_pem, key_pem) = (read(cert)?, read(key)?);
    Identity::from_pkcs8(&cert_pem, &key_pem).map_err(|e| TlsError {
        file: key.to_path_buf(),
        reason: format!(
            "{} (the key must be PEM PKCS#8, BEGIN PRIVATE KEY)",
            openssl_reason(&e)
        ),
    })
}
