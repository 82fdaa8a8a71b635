//! The sandbox's HTTP(S) proxy on 127.0.0.1. Plain HTTP requests (absolute-form) and CONNECT
//! tunnels (TLS terminated with a leaf from the per-sandbox CA) all become `http` streams to the
//! gateway: sandboxd never opens an outbound connection itself.
//!
//! Authorities (ADR 0105): the CONNECT target is the request's target, parsed once with the one
//! grammar (`crate::authority`); inside the tunnel the TLS server name, the Host header and any
//! absolute-form URI are only reported, raw, next to it. The gateway parses them all itself and
//! refuses (400, audited) a request whose values disagree or fall outside the grammar; a CONNECT
//! whose target does not parse is reported the same way and its tunnel never opens.

mod forward;
mod prefixed;

use crate::authority::{self, Authority};
use crate::tls::Authority as Ca;
use crate::tunnel::mux::Mux;
use bytes::Bytes;
use forward::Seen;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tracing::{debug, warn};

pub type Body = BoxBody<Bytes, std::io::Error>;

/// First byte of a TLS ClientHello record.
const TLS_HANDSHAKE: u8 = 0x16;

pub struct Proxy {
    pub mux: Mux,
    pub authority: Arc<Ca>,
}

pub fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(message.into())).map_err(|e| match e {}).boxed());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "text/plain; charset=utf-8"
            .parse()
            .unwrap_or_else(|_| hyper::header::HeaderValue::from_static("text/plain")),
    );
    resp
}

/// Accept connections forever.
pub async fn serve(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let _ = socket.set_nodelay(true);
                tokio::spawn(serve_http(TokioIo::new(socket), proxy.clone(), None));
            }
            Err(e) => {
                warn!(error = %e, "proxy accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Inside a CONNECT tunnel: the scheme spoken in it, the CONNECT target as sent and as parsed (with
/// its port), and the TLS server name the client sent.
#[derive(Clone)]
struct Tunnel {
    scheme: &'static str,
    connect: String,
    target: Authority,
    sni: Option<String>,
}

/// HTTP/1.1 on a client connection, or inside a CONNECT tunnel.
async fn serve_http<I>(io: I, proxy: Arc<Proxy>, tunnel: Option<Tunnel>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let proxy = proxy.clone();
        let tunnel = tunnel.clone();
        async move { Ok::<_, std::convert::Infallible>(route(req, proxy, tunnel).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service).with_upgrades();
    if let Err(e) = conn.await {
        debug!(error = %e, "proxy connection ended");
    }
}

/// The Host header as sent (lossy for non-UTF-8 bytes, which the gateway then refuses).
fn host_header(req: &Request<Incoming>) -> Option<String> {
    req.headers().get(hyper::header::HOST).map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
}

async fn route(req: Request<Incoming>, proxy: Arc<Proxy>, tunnel: Option<Tunnel>) -> Response<Body> {
    if let Some(t) = tunnel {
        let seen = Seen {
            connect: Some(t.connect),
            uri: req.uri().authority().map(|a| a.to_string()),
            sni: t.sni,
            host: host_header(&req),
        };
        return forward::forward(req, t.scheme, Some(t.target), seen, &proxy).await;
    }
    if req.method() == Method::CONNECT {
        let raw = req.uri().authority().map(|a| a.to_string()).unwrap_or_default();
        return match authority::parse(&raw) {
            Ok(target) if target.port.is_some() => connect(req, proxy, raw, target),
            parsed => {
                let seen = Seen { connect: Some(raw), ..Seen::default() };
                forward::forward(req, "https", parsed.ok(), seen, &proxy).await
            }
        };
    }
    match (req.uri().scheme_str(), req.uri().authority()) {
        (Some("http"), Some(a)) => {
            let raw = a.to_string();
            let target = authority::parse(&raw).ok().map(|t| Authority { port: t.port.or(Some(80)), ..t });
            let seen = Seen { uri: Some(raw), host: host_header(&req), ..Seen::default() };
            forward::forward(req, "http", target, seen, &proxy).await
        }
        (None, None) if req.uri().path() == "/healthz" => health(&proxy),
        _ => text(StatusCode::BAD_REQUEST, "sandboxd proxy: send absolute-form http:// URLs or CONNECT\n"),
    }
}

fn health(proxy: &Proxy) -> Response<Body> {
    let body = serde_json::json!({
        "ok": true,
        "version": env!("CARGO_PKG_VERSION"),
        "dumpable": nix::sys::prctl::get_dumpable().unwrap_or(true),
        "tunnel": { "connected": proxy.mux.is_connected(), "streams": proxy.mux.stream_count() },
    });
    let mut resp = text(StatusCode::OK, body.to_string());
    resp.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    resp
}

/// CONNECT host:port (parsed, with its port) → 200, then TLS with a minted leaf (or plain HTTP, for
/// clients that tunnel `http://` too), then HTTP inside. (A target outside the grammar, or without
/// a port, opens no tunnel: `route` sends the CONNECT itself to the gateway, which refuses it with
/// 400 and audits the refusal.)
fn connect(req: Request<Incoming>, proxy: Arc<Proxy>, raw: String, target: Authority) -> Response<Body> {
    let config = match proxy.authority.server_config(target.bare_host()) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::BAD_GATEWAY, format!("sandboxd: TLS setup: {e}\n")),
    };
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(u) => u,
            Err(e) => return debug!(error = %e, "CONNECT upgrade failed"),
        };
        let mut io = TokioIo::new(upgraded);
        let mut first = [0u8; 1];
        if !matches!(io.read(&mut first).await, Ok(1)) {
            return;
        }
        let io = prefixed::Prefixed::new(first.to_vec(), io);
        let connect = raw;
        if first[0] != TLS_HANDSHAKE {
            let tunnel = Tunnel { scheme: "http", connect, target, sni: None };
            return serve_http(TokioIo::new(io), proxy, Some(tunnel)).await;
        }
        match tokio_rustls::TlsAcceptor::from(config).accept(io).await {
            Ok(tls) => {
                let sni = tls.get_ref().1.server_name().map(str::to_owned);
                let tunnel = Tunnel { scheme: "https", connect, target, sni };
                serve_http(TokioIo::new(tls), proxy, Some(tunnel)).await
            }
            Err(e) => debug!(target = %connect, error = %e, "TLS handshake with the client failed"),
        }
    });
    Response::new(http_body_util::Empty::new().map_err(|e| match e {}).boxed())
}
