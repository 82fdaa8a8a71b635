//! Opening the WebSocket to the gateway: `wss://` (rustls, ring) or a runner-mounted unix socket
//! (plain HTTP/1.1 upgrade over it), with `Authorization: Bearer <token>`.

use crate::codec::{HEADER_SIZE, MAX_PAYLOAD};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub type Ws = WebSocketStream<Box<dyn Io>>;

#[derive(Debug, Clone)]
pub enum Target {
    /// `ws://` or `wss://` URL.
    Url(String),
    /// A unix socket and the request path to upgrade on.
    Unix { socket: PathBuf, path: String },
}

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("bad gateway URL {0}")]
    BadUrl(String),
    #[error("connect: {0}")]
    Connect(#[from] std::io::Error),
    #[error("the gateway rejected the token (HTTP {0})")]
    Unauthorized(u16),
    #[error("websocket handshake: {0}")]
    Handshake(String),
}

pub fn ws_config() -> WebSocketConfig {
    let max = HEADER_SIZE + MAX_PAYLOAD;
    WebSocketConfig::default().max_message_size(Some(max)).max_frame_size(Some(max))
}

pub async fn dial(target: &Target, token: &str, tls: &Arc<rustls::ClientConfig>) -> Result<Ws, DialError> {
    let (url, io): (String, Box<dyn Io>) = match target {
        Target::Unix { socket, path } => {
            (format!("ws://localhost{path}"), Box::new(UnixStream::connect(socket).await?))
        }
        Target::Url(url) => {
            let uri: Uri = url.parse().map_err(|_| DialError::BadUrl(url.clone()))?;
            let host = uri.host().ok_or_else(|| DialError::BadUrl(url.clone()))?.to_owned();
            let secure = match uri.scheme_str() {
                Some("wss") => true,
                Some("ws") => false,
                _ => return Err(DialError::BadUrl(url.clone())),
            };
            let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
            let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
            let tcp = TcpStream::connect((bare.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let io: Box<dyn Io> = if secure {
                let name = rustls::pki_types::ServerName::try_from(bare)
                    .map_err(|_| DialError::BadUrl(url.clone()))?;
                let connector = tokio_rustls::TlsConnector::from(tls.clone());
                Box::new(connector.connect(name, tcp).await?)
            } else {
                Box::new(tcp)
            };
            (url.clone(), io)
        }
    };
    let mut request = url.as_str().into_client_request().map_err(|e| DialError::BadUrl(e.to_string()))?;
    let bearer =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| DialError::Handshake(e.to_string()))?;
    request.headers_mut().insert("authorization", bearer);
    match tokio_tungstenite::client_async_with_config(request, io, Some(ws_config())).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp))
            if resp.status().as_u16() == 401 || resp.status().as_u16() == 403 =>
        {
            Err(DialError::Unauthorized(resp.status().as_u16()))
        }
        Err(e) => Err(DialError::Handshake(e.to_string())),
    }
}

/// TLS client config: the web PKI roots plus an optional extra CA (PEM) for the gateway.
pub fn client_tls(extra_ca_pem: Option<&str>) -> Result<Arc<rustls::ClientConfig>, DialError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| DialError::BadUrl(format!("gateway CA: {e}")))?;
            roots.add(cert).map_err(|e| DialError::BadUrl(format!("gateway CA: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DialError::Handshake(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
