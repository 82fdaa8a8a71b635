//! One HTTP exchange as one `http` stream (PROTOCOL.md §5.3): request head in OPEN, body as
//! DATA with credits both ways, response HEAD/DATA/TRAILERS back, 101 upgrades spliced raw.

use super::{text, Body, Proxy};
use crate::authority::Authority;
use crate::codec::{code, Body as FrameBody, JsonObject, Kind};
use crate::tunnel::mux::{StreamIo, StreamTx};
use crate::tunnel::pipe::pipe;
use crate::tunnel::stream::Inbound;
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a request waits for the tunnel to (re)connect before failing with 502.
const OPEN_WAIT: Duration = Duration::from_secs(30);

/// Not forwarded: hop-by-hop headers, and `expect` (hyper already answered `100-continue`).
const HOP_BY_HOP: [&str; 10] = [
    "expect",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers as `[[name, value], …]` without hop-by-hop ones (`upgrade` kept when upgrading).
fn header_list(headers: &HeaderMap, keep_upgrade: bool) -> Value {
    let listed: Vec<String> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    let list: Vec<Value> = headers
        .iter()
        .filter(|(n, _)| {
            let n = n.as_str();
            (keep_upgrade && n == "upgrade") || (!HOP_BY_HOP.contains(&n) && !listed.iter().any(|l| l == n))
        })
        .map(|(n, v)| json!([n.as_str(), String::from_utf8_lossy(v.as_bytes())]))
        .collect();
    Value::Array(list)
}

fn parse_headers(value: Option<&Value>, into: &mut HeaderMap, skip_hop_by_hop: bool) {
    let Some(list) = value.and_then(Value::as_array) else {
        return;
    };
    for pair in list {
        let (Some(n), Some(v)) = (pair.get(0).and_then(Value::as_str), pair.get(1).and_then(Value::as_str))
        else {
            continue;
        };
        let lower = n.to_ascii_lowercase();
        if skip_hop_by_hop && HOP_BY_HOP.contains(&lower.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(n.as_bytes()), HeaderValue::from_str(v)) {
            into.append(n, v);
        }
    }
}

/// The raw authorities the client sent, reported next to the parsed target (PROTOCOL.md §5.3):
/// the gateway parses each itself and refuses a request whose values disagree.
#[derive(Debug, Default)]
pub struct Seen {
    /// The CONNECT request-target.
    pub connect: Option<String>,
    /// The absolute-form request-target's authority.
    pub uri: Option<String>,
    /// The TLS server name.
    pub sni: Option<String>,
    /// The Host header.
    pub host: Option<String>,
}

impl Seen {
    fn to_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (key, value) in
            [("connect", &self.connect), ("uri", &self.uri), ("sni", &self.sni), ("host", &self.host)]
        {
            if let Some(v) = value {
                map.insert(key.into(), Value::String(v.clone()));
            }
        }
        Value::Object(map)
    }
}

/// One request as one `http` stream. `target` is sandboxd's parse of the CONNECT target (or the
/// absolute-form URI) with its effective port, `None` when it did not parse.
pub async fn forward(
    mut req: Request<Incoming>,
    scheme: &str,
    target: Option<Authority>,
    seen: Seen,
    proxy: &Proxy,
) -> Response<Body> {
    let upgrade = req.headers().contains_key(hyper::header::UPGRADE);
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    let meta = json!({
        "method": req.method().as_str(),
        "scheme": scheme,
        "authority": {
            "host": target.as_ref().map(|t| t.host.as_str()),
            "port": target.as_ref().and_then(|t| t.port),
            "seen": seen.to_json(),
        },
        "path": path,
        "headers": header_list(req.headers(), upgrade),
    });
    let meta: JsonObject = meta.as_object().cloned().unwrap_or_default();
    let io = match proxy.mux.open(Kind::Http, meta, OPEN_WAIT).await {
        Ok(io) => io,
        Err(e) => return text(StatusCode::BAD_GATEWAY, format!("sandboxd: {e}\n")),
    };
    let StreamIo { id, mut rx, tx } = io;
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    if !upgrade {
        tokio::spawn(send_request_body(req.into_body(), tx.clone()));
    }
    let head = match rx.recv().await {
        Some(Inbound::Head(h)) => h,
        Some(Inbound::Reset { code, message }) => {
            let message = format!("sandboxd: gateway reset the request ({code}): {message}\n");
            return text(StatusCode::BAD_GATEWAY, message);
        }
        Some(_) | None => {
            tx.reset(code::PROTOCOL_ERROR, "expected HEAD");
            return text(StatusCode::BAD_GATEWAY, "sandboxd: the gateway sent no response head\n");
        }
    };
    let status = head.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok());
    let Some(status) = status.and_then(|s| StatusCode::from_u16(s).ok()) else {
        tx.reset(code::PROTOCOL_ERROR, "bad status");
        return text(StatusCode::BAD_GATEWAY, "sandboxd: bad response status from the gateway\n");
    };
    let mut builder = Response::builder().status(status);
    if let Some(headers) = builder.headers_mut() {
        parse_headers(head.get("headers"), headers, status != StatusCode::SWITCHING_PROTOCOLS);
        if status == StatusCode::SWITCHING_PROTOCOLS {
            headers.insert(hyper::header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        let Some(client_upgrade) = client_upgrade else {
            tx.reset(code::PROTOCOL_ERROR, "101 without an upgrade request");
            return text(StatusCode::BAD_GATEWAY, "sandboxd: unexpected 101\n");
        };
        tokio::spawn(async move {
            match client_upgrade.await {
                Ok(upgraded) => pipe(StreamIo { id, rx, tx }, TokioIo::new(upgraded)).await,
                Err(_) => tx.reset(code::CANCEL, "client upgrade failed"),
            }
        });
        let body = http_body_util::Empty::new().map_err(|e| match e {}).boxed();
        return builder.body(body).unwrap_or_else(|_| text(StatusCode::BAD_GATEWAY, "bad head\n"));
    }
    let (body_tx, body_rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(2);
    tokio::spawn(relay_response_body(rx, tx, body_tx));
    let stream =
        futures_util::stream::unfold(body_rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) });
    let body = BodyExt::boxed(StreamBody::new(stream));
    builder.body(body).unwrap_or_else(|_| text(StatusCode::BAD_GATEWAY, "sandboxd: bad response head\n"))
}

/// Request body → DATA (credit-limited), then FIN or TRAILERS.
async fn send_request_body(mut body: Incoming, tx: StreamTx) {
    loop {
        match body.frame().await {
            None => return tx.finish(FrameBody::Data(Bytes::new())),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    if !data.is_empty() && tx.write(data, false).await.is_err() {
                        return;
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        let list = header_list(&trailers, false);
                        let map = json!({ "headers": list }).as_object().cloned().unwrap_or_default();
                        return tx.finish(FrameBody::Trailers(map));
                    }
                }
            },
            Some(Err(e)) => return tx.reset(code::CANCEL, &format!("client request body: {e}")),
        }
    }
}

/// DATA → response body; credit is returned only once the client's connection took the bytes.
async fn relay_response_body(
    mut rx: mpsc::UnboundedReceiver<Inbound>,
    tx: StreamTx,
    body: mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
) {
    while let Some(msg) = rx.recv().await {
        let (frame, len) = match msg {
            Inbound::Data(b) => {
                let len = b.len();
                (Frame::data(b), len)
            }
            Inbound::Trailers(t) => {
                let mut map = HeaderMap::new();
                parse_headers(t.get("headers"), &mut map, true);
                let _ = body.send(Ok(Frame::trailers(map))).await;
                return;
            }
            Inbound::Fin => return,
            Inbound::Reset { code, message } => {
                let e = std::io::Error::other(format!("gateway reset the response ({code}): {message}"));
                let _ = body.send(Err(e)).await;
                return;
            }
            _ => continue,
        };
        if body.send(Ok(frame)).await.is_err() {
            return tx.reset(code::CANCEL, "client went away");
        }
        tx.consumed(len);
    }
}
