//! The test gateway's server side: TLS, token check, HELLO/WELCOME with a rotated resume token,
//! and frame handling (credits, exits, handler hand-off).

use super::gateway::{GwIn, GwStream, Inner, WINDOW};
use super::upstream;
use futures_util::{SinkExt, StreamExt};
use sandboxd::codec::{self, Body, Frame, Kind, FIN, STDERR};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message;

pub fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let leaf = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key)
            .expect("server config");
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca_cert.pem())
}

fn check_token(inner: &Inner, req: &Request) -> Option<String> {
    let token = req.headers().get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?.to_owned();
    inner.lock().valid_tokens.contains(&token).then_some(token)
}

// The callback's signature is tungstenite's; its error type is what it is.
#[allow(clippy::result_large_err)]
pub async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(socket: S, inner: Arc<Inner>) {
    let mut used = None;
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match check_token(&inner, req) {
            Some(t) => {
                used = Some(t);
                Ok(resp)
            }
            None => {
                let mut e = ErrorResponse::new(Some("bad token".into()));
                *e.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
                Err(e)
            }
        }
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(
        socket,
        callback,
        Some(sandboxd::tunnel::dial::ws_config()),
    )
    .await
    else {
        return;
    };
    let Some(used) = used else { return };
    let (mut sink, mut source) = ws.split();
    let Some(Ok(Message::Binary(b))) = source.next().await else {
        return;
    };
    let Ok(Frame { body: Body::Hello(hello), .. }) = codec::decode(&b) else {
        return;
    };
    let kill = Arc::new(Notify::new());
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let welcome = {
        let mut st = inner.lock();
        st.hellos.push(hello.clone());
        let mut kept = Vec::new();
        for s in hello.get("streams").and_then(Value::as_array).into_iter().flatten() {
            let id = s["id"].as_u64().unwrap_or(0) as u32;
            if let Some(gs) = st.streams.get_mut(&id) {
                if gs.exit.is_none() && gs.reset.is_none() {
                    gs.credit = WINDOW;
                    gs.allowance = WINDOW;
                    kept.push(json!({"id": id, "received": gs.received}));
                }
            }
        }
        st.token_counter += 1;
        let token = format!("resume-{}", st.token_counter);
        st.valid_tokens = [used.clone(), token.clone()].into_iter().collect();
        st.welcomes += 1;
        st.writer = Some(tx.clone());
        st.kill = Some(kill.clone());
        json!({"version": 1, "sessionId": inner.session_id, "resumeToken": token, "window": WINDOW, "streams": kept})
    };
    let welcome = Frame::new(0, Body::Welcome(welcome.as_object().cloned().unwrap_or_default()));
    if sink.send(Message::Binary(codec::encode(&welcome).expect("encode").into())).await.is_err() {
        return;
    }
    inner.changed.notify_waiters();
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if sink.send(Message::Binary(bytes.into())).await.is_err() {
                return;
            }
        }
    });
    let mut confirmed = false;
    loop {
        let msg = tokio::select! {
            _ = kill.notified() => break,
            m = source.next() => m,
        };
        let Some(Ok(Message::Binary(b))) = msg else {
            break;
        };
        let Ok(frame) = codec::decode(&b) else { break };
        if !confirmed {
            confirmed = true;
            inner.lock().valid_tokens.remove(&used);
        }
        on_frame(&inner, frame);
        inner.changed.notify_waiters();
    }
    writer.abort();
    let mut st = inner.lock();
    if st.kill.as_ref().is_some_and(|k| Arc::ptr_eq(k, &kill)) || st.kill.is_none() {
        st.writer = None;
    }
    drop(st);
    inner.changed.notify_waiters();
}

fn on_frame(inner: &Arc<Inner>, frame: Frame) {
    let id = frame.stream;
    let fin = frame.flags & FIN != 0;
    match frame.body {
        Body::Ping(o) => {
            inner.lock().pings_seen += 1;
            inner.send_frame(Frame::new(0, Body::Pong(o)));
        }
        Body::Open { kind, meta } => {
            let (htx, hrx) = mpsc::unbounded_channel();
            let grant = if kind == Kind::Http { inner.lock().grant_ahead } else { 0 };
            inner.lock().streams.insert(
                id,
                GwStream {
                    kind: Some(kind),
                    credit: WINDOW,
                    peak_credit: WINDOW,
                    allowance: WINDOW + i64::from(grant),
                    handler: Some(htx),
                    ..GwStream::default()
                },
            );
            if grant > 0 {
                inner.send_frame(Frame::new(id, Body::Window(grant)));
            }
            if fin {
                let _ =
                    inner.lock().streams.get(&id).and_then(|s| s.handler.clone()).map(|h| h.send(GwIn::Fin));
            }
            tokio::spawn(upstream::serve(inner.clone(), id, kind, meta, hrx));
        }
        Body::Data(b) => {
            let mut st = inner.lock();
            let Some(s) = st.streams.get_mut(&id) else {
                return;
            };
            s.received += b.len() as u64;
            s.allowance -= b.len() as i64;
            if s.allowance < 0 {
                st.flow_violations.push(id);
                return;
            }
            let Some(s) = st.streams.get_mut(&id) else {
                return;
            };
            if let Some(h) = &s.handler {
                let _ = h.send(GwIn::Data(b.to_vec()));
                if fin {
                    let _ = h.send(GwIn::Fin);
                }
                return;
            }
            if frame.flags & STDERR != 0 {
                s.stderr.extend_from_slice(&b)
            } else {
                s.stdout.extend_from_slice(&b)
            }
            let n = b.len();
            if s.stalled {
                s.owed += n as u64;
            } else {
                drop(st);
                inner.credit(id, n);
            }
        }
        Body::Trailers(t) => {
            if let Some(h) = inner.lock().streams.get(&id).and_then(|s| s.handler.clone()) {
                let _ = h.send(GwIn::Trailers(t));
            }
        }
        Body::Window(n) => {
            if let Some(s) = inner.lock().streams.get_mut(&id) {
                s.credit += i64::from(n);
                s.peak_credit = s.peak_credit.max(s.credit);
            }
        }
        Body::Exit { code, signal, timed_out } => {
            if let Some(s) = inner.lock().streams.get_mut(&id) {
                s.exit = Some((code, signal, timed_out));
            }
            // Acknowledge: our direction ends too, so sandboxd can forget the stream.
            inner.send_frame(Frame::fin(id, Body::Data(Default::default())));
        }
        Body::Reset { code, message } => {
            let mut st = inner.lock();
            if let Some(s) = st.streams.get_mut(&id) {
                s.reset = Some((code, message));
                if let Some(h) = &s.handler {
                    let _ = h.send(GwIn::Reset(code));
                }
            }
        }
        Body::Close { code, message } => inner.lock().closes.push((code, message)),
        _ => {}
    }
}
