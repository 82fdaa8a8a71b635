//! The sandbox's HTTP(S) proxy on 127.0.0.1. Plain HTTP requests (absolute-form) and CONNECT
//! tunnels (TLS terminated with a leaf from the per-sandbox CA) all become `http` streams to the
//! gateway: sandboxd never opens an outbound connection itself.

mod forward;
mod prefixed;

use crate::tls::Authority;
use crate::tunnel::mux::Mux;
use bytes::Bytes;
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
    pub authority: Arc<Authority>,
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

/// Inside a CONNECT tunnel: the scheme spoken in it and the CONNECT authority.
type Tunnelled = Option<(&'static str, String)>;

/// HTTP/1.1 on a client connection, or inside a CONNECT tunnel.
async fn serve_http<I>(io: I, proxy: Arc<Proxy>, tunnel: Tunnelled)
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

async fn route(req: Request<Incoming>, proxy: Arc<Proxy>, tunnel: Tunnelled) -> Response<Body> {
    if let Some((scheme, target)) = tunnel {
        let authority = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .unwrap_or(target);
        return forward::forward(req, scheme, authority, &proxy).await;
    }
    if req.method() == Method::CONNECT {
        return connect(req, proxy);
    }
    match (req.uri().scheme_str(), req.uri().authority()) {
        (Some("http"), Some(a)) => {
            let authority = a.to_string();
            forward::forward(req, "http", authority, &proxy).await
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

/// CONNECT host:port → 200, then TLS with a minted leaf (or plain HTTP, for clients that tunnel
/// `http://` too), then HTTP inside.
fn connect(req: Request<Incoming>, proxy: Arc<Proxy>) -> Response<Body> {
    let Some(target) = req.uri().authority().map(|a| a.to_string()) else {
        return text(StatusCode::BAD_REQUEST, "CONNECT needs host:port\n");
    };
    let host = req.uri().host().unwrap_or_default().to_owned();
    let config = match proxy.authority.server_config(&host) {
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
        if first[0] != TLS_HANDSHAKE {
            return serve_http(TokioIo::new(io), proxy, Some(("http", target))).await;
        }
        match tokio_rustls::TlsAcceptor::from(config).accept(io).await {
            Ok(tls) => serve_http(TokioIo::new(tls), proxy, Some(("https", target))).await,
            Err(e) => debug!(%target, error = %e, "TLS handshake with the client failed"),
        }
    });
    Response::new(http_body_util::Empty::new().map_err(|e| match e {}).boxed())
}
