//! The startup input (JSON on stdin or in a file), and what sandboxd derives from it: the child
//! environment (proxy and CA trust variables) and the paths it writes.

use crate::tunnel::dial::Target;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// Bytes of startup input accepted.
const MAX_INPUT: u64 = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartupInput {
    pub session_id: String,
    /// Single-use JWT minted by the control plane; sent as `Authorization: Bearer`.
    pub bootstrap_token: String,
    pub gateway: Gateway,
    /// Non-secret environment for every process sandboxd starts.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default = "default_proxy_listen")]
    pub proxy_listen: String,
    /// The unprivileged user children run as (when sandboxd is root).
    #[serde(default = "default_user")]
    pub user: String,
    #[serde(default)]
    pub paths: Paths,
    #[serde(default)]
    pub log_json: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gateway {
    /// `wss://…/tunnel` (or `ws://` for local development).
    pub url: Option<String>,
    /// Unix socket mounted by the runner (Docker sandboxes); the upgrade goes to `path`.
    pub unix_socket: Option<PathBuf>,
    #[serde(default = "default_path")]
    pub path: String,
    /// Extra CA (PEM) trusted for `wss://`, besides the web PKI roots.
    pub ca_pem: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Paths {
    /// PEM with the per-sandbox CA certificate, named by SSL_CERT_FILE & co.
    pub ca_bundle: PathBuf,
    /// File in the system trust store's drop-in directory; `null` to skip.
    pub system_ca_cert: Option<PathBuf>,
    /// Run after writing `systemCaCert` if it exists; `null` to skip.
    pub update_ca_certificates: Option<PathBuf>,
    /// Unix socket where `airlock-sign` reaches sandboxd.
    pub sign_socket: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            ca_bundle: "/etc/airlock/ca.pem".into(),
            system_ca_cert: Some("/usr/local/share/ca-certificates/airlock-sandbox-ca.crt".into()),
            update_ca_certificates: Some("/usr/sbin/update-ca-certificates".into()),
            sign_socket: "/run/airlock/sign.sock".into(),
        }
    }
}

fn default_proxy_listen() -> String {
    "127.0.0.1:8877".into()
}
fn default_user() -> String {
    "sandbox".into()
}
fn default_path() -> String {
    "/tunnel".into()
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("reading the startup input: {0}")]
    Read(#[from] std::io::Error),
    #[error("startup input: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("startup input: {0}")]
    Invalid(&'static str),
}

impl StartupInput {
    /// From a file, or stdin when `path` is `None` or `-`.
    pub fn read(path: Option<&str>) -> Result<StartupInput, StartupError> {
        let mut raw = Vec::new();
        match path {
            None | Some("-") => std::io::stdin().take(MAX_INPUT).read_to_end(&mut raw)?,
            Some(p) => std::fs::File::open(p)?.take(MAX_INPUT).read_to_end(&mut raw)?,
        };
        let input: StartupInput = serde_json::from_slice(&raw)?;
        input.validate()?;
        Ok(input)
    }

    fn validate(&self) -> Result<(), StartupError> {
        if self.session_id.is_empty() || self.bootstrap_token.is_empty() {
            return Err(StartupError::Invalid("sessionId and bootstrapToken are required"));
        }
        self.target().map(|_| ())
    }

    /// Where the tunnel dials: exactly one of `gateway.url` and `gateway.unixSocket`.
    pub fn target(&self) -> Result<Target, StartupError> {
        match (&self.gateway.url, &self.gateway.unix_socket) {
            (Some(url), None) => Ok(Target::Url(url.clone())),
            (None, Some(socket)) => {
                Ok(Target::Unix { socket: socket.clone(), path: self.gateway.path.clone() })
            }
            _ => Err(StartupError::Invalid("gateway needs exactly one of url and unixSocket")),
        }
    }
}

/// Variables naming the CA bundle, one per client family (OpenSSL, Node, Python, git, curl, Codex).
pub const CA_ENV: [&str; 6] = [
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "CURL_CA_BUNDLE",
    "CODEX_CA_CERTIFICATE",
];

/// The environment every child gets: the input's env, then proxy and trust variables.
pub fn child_env(input: &StartupInput, proxy_addr: &str) -> BTreeMap<String, String> {
    let mut env = input.env.clone();
    let proxy = format!("http://{proxy_addr}");
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        env.insert(name.into(), proxy.clone());
        env.insert(name.to_ascii_lowercase(), proxy.clone());
    }
    let no_proxy = "localhost,127.0.0.1,::1".to_owned();
    env.insert("NO_PROXY".into(), no_proxy.clone());
    env.insert("no_proxy".into(), no_proxy);
    env.insert("NODE_USE_ENV_PROXY".into(), "1".into());
    let bundle = input.paths.ca_bundle.to_string_lossy().into_owned();
    for name in CA_ENV {
        env.insert(name.into(), bundle.clone());
    }
    env.insert("AIRLOCK_SIGN_SOCKET".into(), input.paths.sign_socket.to_string_lossy().into_owned());
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<StartupInput, StartupError> {
        let input: StartupInput = serde_json::from_str(json)?;
        input.validate()?;
        Ok(input)
    }

    #[test]
    fn minimal_input_gets_defaults_and_children_get_proxy_and_trust_env() {
        let input =
            parse(r#"{"sessionId":"ses_1","bootstrapToken":"t","gateway":{"unixSocket":"/run/t.sock"}}"#)
                .expect("valid");
        assert_eq!(input.user, "sandbox");
        assert!(matches!(input.target(), Ok(Target::Unix { path, .. }) if path == "/tunnel"));
        let env = child_env(&input, "127.0.0.1:8877");
        for k in ["HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
            assert_eq!(env[k], "http://127.0.0.1:8877");
        }
        for k in CA_ENV {
            assert_eq!(env[k], "/etc/airlock/ca.pem");
        }
        assert_eq!(env["NODE_USE_ENV_PROXY"], "1");
        assert_eq!(env["NO_PROXY"], "localhost,127.0.0.1,::1");
    }

    #[test]
    fn unknown_keys_and_ambiguous_gateways_are_rejected() {
        assert!(
            parse(r#"{"sessionId":"s","bootstrapToken":"t","gateway":{"url":"wss://g"},"extra":1}"#).is_err()
        );
        assert!(parse(
            r#"{"sessionId":"s","bootstrapToken":"t","gateway":{"url":"wss://g","unixSocket":"/s"}}"#
        )
        .is_err());
        assert!(parse(r#"{"sessionId":"s","bootstrapToken":"t","gateway":{}}"#).is_err());
        assert!(parse(r#"{"sessionId":"","bootstrapToken":"t","gateway":{"url":"wss://g"}}"#).is_err());
    }
}
