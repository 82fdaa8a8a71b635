//! Shared test support: a test gateway and a real sandboxd process wired to it.
#![allow(dead_code)]

pub mod gateway;
pub mod server;
pub mod upstream;

use gateway::TestGateway;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

pub const SESSION: &str = "ses_test";
pub const BOOTSTRAP: &str = "bootstrap-jwt";

pub struct Sandbox {
    pub child: tokio::process::Child,
    pub proxy: String,
    pub ca_bundle: PathBuf,
    pub sign_socket: PathBuf,
    pub dir: tempfile::TempDir,
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Children run as `nobody` when the tests run as root (the privilege drop is exercised).
pub fn child_user() -> String {
    if is_root() {
        "nobody".into()
    } else {
        nix::unistd::User::from_uid(nix::unistd::geteuid()).ok().flatten().map(|u| u.name).unwrap_or_default()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Ws,
    Unix,
    Wss,
}

pub async fn gateway(upstream: upstream::Upstream) -> (TestGateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = TestGateway::start(SESSION, BOOTSTRAP, upstream, dir.path()).await;
    (gw, dir)
}

pub async fn sandboxd(gw: &TestGateway, transport: Transport) -> Sandbox {
    sandboxd_with_token(gw, transport, BOOTSTRAP).await
}

pub async fn sandboxd_with_token(gw: &TestGateway, transport: Transport, token: &str) -> Sandbox {
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = match transport {
        Transport::Unix => json!({"unixSocket": gw.unix_socket, "path": "/tunnel"}),
        Transport::Ws => json!({"url": gw.url}),
        Transport::Wss => json!({"url": gw.wss_url, "caPem": gw.ca_pem}),
    };
    let input = json!({
        "sessionId": SESSION,
        "bootstrapToken": token,
        "gateway": gateway,
        "env": {"AIRLOCK_TEST": "1"},
        "proxyListen": "127.0.0.1:0",
        "user": child_user(),
        "paths": {
            "caBundle": dir.path().join("ca.pem"),
            "systemCaCert": Value::Null,
            "updateCaCertificates": Value::Null,
            "signSocket": dir.path().join("sign.sock"),
        },
    });
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sandboxd"))
        .arg("run")
        .env("SANDBOXD_LOG", std::env::var("SANDBOXD_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sandboxd");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.to_string().as_bytes()).await.expect("write input");
    drop(stdin);
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    tokio::time::timeout(Duration::from_secs(20), reader.read_line(&mut line))
        .await
        .expect("sandboxd ready in time")
        .expect("read");
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line {line:?}: {e}"));
    Sandbox {
        child,
        proxy: ready["proxy"].as_str().expect("proxy").to_owned(),
        ca_bundle: dir.path().join("ca.pem"),
        sign_socket: dir.path().join("sign.sock"),
        dir,
    }
}

/// Gateway + sandboxd, connected.
pub async fn connected(
    upstream: upstream::Upstream,
    transport: Transport,
) -> (TestGateway, Sandbox, tempfile::TempDir) {
    let (gw, gdir) = gateway(upstream).await;
    let sb = sandboxd(&gw, transport).await;
    gw.wait_connected(1).await;
    (gw, sb, gdir)
}

/// Find a program in PATH (or an env override); None → the caller skips with a printed reason.
pub fn find_program(name: &str, env_override: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = env_override.and_then(std::env::var_os).map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Say why a test is skipped, past libtest's output capture so it shows in every run.
pub fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIP: {reason}");
}
