//! Wiring: from the startup input to a running daemon (CA, proxy, sign socket, dispatcher,
//! tunnel), and the `health` client.

use crate::child::{ChildEnv, UserError};
use crate::codec::Kind;
use crate::startup::{child_env, StartupInput};
use crate::tls::{Authority, TlsError, TrustPaths};
use crate::tunnel::dial::{client_tls, DialError};
use crate::tunnel::mux::{Incoming, Mux};
use crate::tunnel::{TunnelConfig, TunnelError};
use crate::{exec, ports, proxy, pty, sign};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("CA: {0}")]
    Tls(#[from] TlsError),
    #[error("{0}")]
    User(#[from] UserError),
    #[error("gateway TLS: {0}")]
    Dial(#[from] DialError),
    #[error("{0}")]
    Tunnel(#[from] TunnelError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Startup(#[from] crate::startup::StartupError),
}

fn init_logs(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SANDBOXD_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Not dumpable: no core files, no ptrace by the sandbox user, /proc/self/mem root-only.
fn harden() {
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!(error = %e, "cannot mark sandboxd non-dumpable");
    }
}

pub async fn run(input: StartupInput) -> Result<(), DaemonError> {
    init_logs(input.log_json);
    harden();
    let authority = Arc::new(Authority::generate(&input.session_id)?);
    let paths = &input.paths;
    let trust = TrustPaths {
        bundle: paths.ca_bundle.clone(),
        system_cert: paths.system_ca_cert.clone(),
        update_command: paths.update_ca_certificates.clone(),
    };
    crate::tls::install(&authority, &trust)?;

    let listener = tokio::net::TcpListener::bind(&input.proxy_listen)
        .await
        .map_err(|e| DaemonError::Io(input.proxy_listen.clone(), e))?;
    let proxy_addr = listener.local_addr().map_err(|e| DaemonError::Io("proxy".into(), e))?.to_string();
    let children = Arc::new(ChildEnv::for_user(&input.user, child_env(&input, &proxy_addr))?);

    let (mux, incoming) = Mux::new();
    tokio::spawn(dispatch(incoming, children.clone()));
    let proxy = Arc::new(proxy::Proxy { mux: mux.clone(), authority: authority.clone() });
    tokio::spawn(proxy::serve(listener, proxy));
    let sign_listener = bind_sign_socket(&paths.sign_socket, &children)?;
    tokio::spawn(sign::serve(sign_listener, mux.clone(), children.uid));

    let target = input.target()?;
    let tls = client_tls(input.gateway.ca_pem.as_deref())?;
    let cfg = TunnelConfig::new(target, input.session_id.clone(), input.bootstrap_token.clone(), tls);
    // The one line on stdout: what a supervisor (or test) needs to know.
    println!(
        "{}",
        serde_json::json!({"event": "ready", "proxy": proxy_addr, "caBundle": paths.ca_bundle, "signSocket": paths.sign_socket})
    );
    info!(proxy = %proxy_addr, user = %children.user, "sandboxd started");
    tokio::select! {
        r = crate::tunnel::run(cfg, mux) => r.map_err(DaemonError::from),
        _ = terminate() => {
            info!("terminated");
            Ok(())
        }
    }
}

async fn terminate() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut s) => {
            tokio::select! {
                _ = s.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

fn bind_sign_socket(path: &Path, children: &ChildEnv) -> Result<tokio::net::UnixListener, DaemonError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e| DaemonError::Io(path.display().to_string(), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    if let (Some(uid), Some(gid)) = (children.uid, children.gid) {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io)?;
    }
    Ok(listener)
}

async fn dispatch(mut incoming: mpsc::UnboundedReceiver<Incoming>, children: Arc<ChildEnv>) {
    while let Some(Incoming { kind, meta, io }) = incoming.recv().await {
        let children = children.clone();
        info!(stream = io.id, kind = kind.name(), "stream opened by the gateway");
        match kind {
            Kind::Pty => tokio::spawn(pty::serve(io, meta, children)),
            Kind::Exec => tokio::spawn(exec::serve(io, meta, children)),
            Kind::Port => tokio::spawn(ports::serve(io, meta)),
            Kind::Http | Kind::Sign => continue, // refused by the mux already
        };
    }
}

/// `sandboxd health`: GET /healthz on the proxy port. Healthy = the tunnel is connected.
pub fn health(addr: &str) -> std::io::Result<(bool, String)> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr)?;
    conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: sandboxd\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply)?;
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    let healthy = serde_json::from_str::<serde_json::Value>(&body)
        .map(|v| v["tunnel"]["connected"] == serde_json::Value::Bool(true))
        .unwrap_or(false);
    Ok((healthy, body))
}
