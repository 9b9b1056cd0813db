//! `--web.config.file`: TLS and basic auth in the YAML format of Prometheus' exporter-toolkit, so
//! that a config written for a Go exporter carries over. Only the keys below are understood;
//! any other key is an error rather than a security setting silently ignored.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt   # relative paths are relative to the config file
//!   key_file: server.key
//! basic_auth_users:
//!   prometheus: $2y$10$...  # bcrypt hash
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("bad web config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("bad web config {path}: the password hash of user '{user}' is not a bcrypt hash")]
    BadHash { path: String, user: String },
    #[error("cannot load the TLS certificate or key of {path}: {source}")]
    Tls { path: String, source: std::io::Error },
}

impl WebConfig {
    /// Reads and checks the file; TLS paths come back absolute.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| WebConfigError::Read { path: shown.clone(), source })?;
        let mut config =
            Self::parse(&text).map_err(|message| WebConfigError::Parse { path: shown.clone(), message })?;
        for (user, hash) in &config.basic_auth_users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(WebConfigError::BadHash { path: shown, user: user.clone() });
            }
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Some(tls) = &mut config.tls_server_config {
            tls.cert_file = dir.join(&tls.cert_file);
            tls.key_file = dir.join(&tls.key_file);
        }
        Ok(config)
    }

    /// Parses the YAML text; the error is one line (the YAML library's message never quotes a
    /// password hash, only positions and key names).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string().replace('\n', " "))
    }
}

/// Checks basic-auth credentials against the bcrypt hashes. bcrypt is slow on purpose (tens of
/// milliseconds), and Prometheus sends the same credentials on every scrape, so credentials
/// that verified once are remembered (a bounded set, cleared when full).
#[derive(Debug, Clone)]
pub struct Authenticator {
    users: Arc<BTreeMap<String, String>>,
    verified: Arc<Mutex<HashSet<(String, String)>>>,
}

const REMEMBERED: usize = 64;

/// A hash to verify against for an unknown user, so that it costs as much as a known one and
/// the time of a 401 does not tell which user names exist.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash("not a password", bcrypt::DEFAULT_COST).unwrap_or_default()).clone()
}

impl Authenticator {
    /// `None` when no users are configured: no authentication.
    pub fn new(users: &BTreeMap<String, String>) -> Option<Self> {
        (!users.is_empty())
            .then(|| Self { users: Arc::new(users.clone()), verified: Arc::new(Mutex::new(HashSet::new())) })
    }

    /// Verifies the value of an `Authorization` header.
    pub async fn check(&self, header: Option<&str>) -> bool {
        let Some((user, password)) = header.and_then(decode_basic) else { return false };
        let key = (user.clone(), password.clone());
        if self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&key) {
            return true;
        }
        let hash = self.users.get(&user).cloned();
        let ok = tokio::task::spawn_blocking(move || {
            let known = hash.is_some();
            bcrypt::verify(password, &hash.unwrap_or_else(dummy_hash)).unwrap_or(false) && known
        })
        .await
        .unwrap_or(false);
        if ok {
            let mut verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if verified.len() >= REMEMBERED {
                verified.clear();
            }
            verified.insert(key);
        }
        ok
    }
}

/// `Basic base64(user:password)` to its parts.
fn decode_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(raw).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_toolkit_format() {
        let config = WebConfig::parse(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\nbasic_auth_users:\n  prom: $2y$04$abc\n",
        )
        .unwrap();
        assert_eq!(config.tls_server_config.unwrap().cert_file, PathBuf::from("a.crt"));
        assert_eq!(config.basic_auth_users["prom"], "$2y$04$abc");
        assert_eq!(WebConfig::parse("").unwrap(), WebConfig::default());
        let err = WebConfig::parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n").unwrap_err();
        assert!(err.contains("client_auth_type") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn basic_header_decoding() {
        assert_eq!(decode_basic("Basic cHJvbTpzM2NyM3Q="), Some(("prom".into(), "s3cr3t".into())));
        assert_eq!(decode_basic("basic YTpiOmM="), Some(("a".into(), "b:c".into())));
        assert_eq!(decode_basic("Bearer x"), None);
        assert_eq!(decode_basic("Basic %%%%"), None);
        assert_eq!(decode_basic("Basic cHJvbQ=="), None, "no colon");
    }

    #[tokio::test]
    async fn bcrypt_users() {
        let hash = bcrypt::hash("s3cr3t", 4).unwrap();
        let users = BTreeMap::from([("prom".to_owned(), hash)]);
        let auth = Authenticator::new(&users).unwrap();
        assert!(auth.check(Some("Basic cHJvbTpzM2NyM3Q=")).await);
        assert!(auth.check(Some("Basic cHJvbTpzM2NyM3Q=")).await, "remembered");
        assert!(!auth.check(Some("Basic cHJvbTp3cm9uZw==")).await);
        assert!(!auth.check(Some("Basic b3RoZXI6czNjcjN0")).await, "unknown user");
        assert!(!auth.check(None).await);
        assert!(Authenticator::new(&BTreeMap::new()).is_none());
    }
}
