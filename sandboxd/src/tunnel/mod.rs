//! The tunnel client: dial, HELLO/WELCOME, read and write frames, reconnect with backoff and
//! resume (PROTOCOL.md §1, §4, §6).

pub mod dial;
pub mod mux;
pub mod pipe;
pub mod stream;

use crate::codec::{self, code, Body, Frame};
use dial::{DialError, Target};
use futures_util::{SinkExt, StreamExt};
use mux::Mux;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tracing::{info, warn};

pub const PROTOCOL_VERSION: u64 = 1;

#[derive(Clone)]
pub struct TunnelConfig {
    pub target: Target,
    pub session_id: String,
    pub bootstrap_token: String,
    pub tls: Arc<rustls::ClientConfig>,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    /// Consecutive 401s before giving up (the session is gone).
    pub max_unauthorized: u32,
}

impl TunnelConfig {
    pub fn new(
        target: Target,
        session_id: String,
        bootstrap_token: String,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        TunnelConfig {
            target,
            session_id,
            bootstrap_token,
            tls,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            max_unauthorized: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("the gateway keeps rejecting our token: {0}")]
    Unauthorized(DialError),
}

enum Ended {
    SessionEnded,
    Lost(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Welcome {
    version: u64,
    resume_token: String,
    #[serde(default = "default_window")]
    window: u32,
    #[serde(default)]
    streams: Vec<Kept>,
}

#[derive(Deserialize)]
struct Kept {
    id: u32,
    received: u64,
}

fn default_window() -> u32 {
    mux::DEFAULT_WINDOW
}

/// Full-jitter exponential backoff: random(0, min(max, base · 2^attempt)).
pub fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1u32 << attempt.min(20)).min(max);
    cap.mul_f64(fastrand::f64())
}

/// Run the tunnel until the gateway ends the session (Ok) or keeps rejecting us (Err).
pub async fn run(cfg: TunnelConfig, mux: Mux) -> Result<(), TunnelError> {
    let mut token = cfg.bootstrap_token.clone();
    let mut attempt = 0u32;
    let mut unauthorized = 0u32;
    loop {
        match dial::dial(&cfg.target, &token, &cfg.tls).await {
            Ok(ws) => {
                unauthorized = 0;
                let ended = session(&cfg, &mux, ws, &mut token, &mut attempt).await;
                mux.disconnected();
                match ended {
                    Ended::SessionEnded => {
                        info!("gateway ended the session");
                        return Ok(());
                    }
                    Ended::Lost(reason) => warn!(%reason, "tunnel connection lost"),
                }
            }
            Err(e @ DialError::Unauthorized(_)) => {
                unauthorized += 1;
                warn!(error = %e, unauthorized, "gateway rejected the token");
                if unauthorized >= cfg.max_unauthorized {
                    return Err(TunnelError::Unauthorized(e));
                }
            }
            Err(e) => warn!(error = %e, attempt, "tunnel dial failed"),
        }
        let delay = backoff(cfg.backoff_base, cfg.backoff_max, attempt);
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

fn encode(frame: &Frame) -> Option<Message> {
    match codec::encode(frame) {
        Ok(bytes) => Some(Message::Binary(bytes.into())),
        Err(e) => {
            warn!(error = %e, "dropping a frame that does not encode");
            None
        }
    }
}

async fn session(
    cfg: &TunnelConfig,
    mux: &Mux,
    ws: dial::Ws,
    token: &mut String,
    attempt: &mut u32,
) -> Ended {
    let (mut sink, mut source) = ws.split();
    let hello = json!({
        "versions": [PROTOCOL_VERSION],
        "sessionId": cfg.session_id,
        "agent": concat!("sandboxd/", env!("CARGO_PKG_VERSION")),
        "streams": mux.hello_streams(),
    });
    let hello = Frame::new(0, Body::Hello(hello.as_object().cloned().unwrap_or_default()));
    let Some(msg) = encode(&hello) else {
        return Ended::Lost("HELLO does not encode".into());
    };
    if let Err(e) = sink.send(msg).await {
        return Ended::Lost(format!("send HELLO: {e}"));
    }
    let welcome = match tokio::time::timeout(Duration::from_secs(10), source.next()).await {
        Ok(Some(Ok(Message::Binary(b)))) => codec::decode(&b),
        Ok(other) => return Ended::Lost(format!("no WELCOME: {other:?}")),
        Err(_) => return Ended::Lost("no WELCOME within 10 s".into()),
    };
    let welcome: Welcome = match welcome {
        Ok(Frame { body: Body::Welcome(w), .. }) => match serde_json::from_value(w.into()) {
            Ok(w) => w,
            Err(e) => return close(sink, code::PROTOCOL_ERROR, &format!("bad WELCOME: {e}")).await,
        },
        Ok(Frame { body: Body::Close { code: code::SESSION_ENDED, .. }, .. }) => return Ended::SessionEnded,
        Ok(other) => {
            return close(sink, code::PROTOCOL_ERROR, &format!("expected WELCOME, got {other:?}")).await
        }
        Err(e) => return close(sink, e.close_code(), &e.to_string()).await,
    };
    if welcome.version != PROTOCOL_VERSION {
        return close(sink, code::UNSUPPORTED_VERSION, "version 1 only").await;
    }
    if welcome.window == 0 || welcome.window > mux::DEFAULT_WINDOW {
        return close(sink, code::PROTOCOL_ERROR, "window out of range").await;
    }
    *token = welcome.resume_token;
    *attempt = 0;
    info!(resumed = welcome.streams.len(), "tunnel connected");

    let (tx, mut rx) = mpsc::unbounded_channel::<Frame>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let Some(msg) = encode(&frame) else { continue };
            if sink.send(msg).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    // Confirm receipt of the new resume token (§4) before anything else.
    let _ = tx.send(Frame::new(0, Body::Ping(*b"resumeok")));
    let kept: HashMap<u32, u64> = welcome.streams.iter().map(|k| (k.id, k.received)).collect();
    mux.connected(tx.clone(), welcome.window, &kept);

    let ended = read_loop(cfg, mux, &mut source, &tx).await;
    if let Some((close_code, message)) = &ended.1 {
        let _ = tx.send(Frame::new(0, Body::Close { code: *close_code, message: message.clone() }));
    }
    mux.disconnected();
    drop(tx);
    if tokio::time::timeout(Duration::from_secs(2), writer).await.is_err() {
        warn!("tunnel writer did not finish in time");
    }
    ended.0
}

async fn read_loop(
    cfg: &TunnelConfig,
    mux: &Mux,
    source: &mut futures_util::stream::SplitStream<dial::Ws>,
    tx: &mpsc::UnboundedSender<Frame>,
) -> (Ended, Option<(u16, String)>) {
    let mut ping = tokio::time::interval(cfg.ping_interval);
    ping.tick().await;
    let mut last_seen = tokio::time::Instant::now();
    loop {
        let msg = tokio::select! {
            m = source.next() => m,
            _ = ping.tick() => {
                if last_seen.elapsed() > cfg.idle_timeout {
                    return (Ended::Lost("no traffic from the gateway".into()), Some((code::TIMEOUT, "idle".into())));
                }
                let _ = tx.send(Frame::new(0, Body::Ping(fastrand::u64(..).to_be_bytes())));
                continue;
            }
        };
        last_seen = tokio::time::Instant::now();
        let bytes = match msg {
            Some(Ok(Message::Binary(b))) => b,
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Text(_))) => {
                return violation(code::PROTOCOL_ERROR, "text message");
            }
            Some(Ok(Message::Close(c))) => return (Ended::Lost(format!("closed by gateway: {c:?}")), None),
            Some(Err(e)) => return (Ended::Lost(e.to_string()), None),
            None => return (Ended::Lost("connection ended".into()), None),
        };
        let frame = match codec::decode(&bytes) {
            Ok(f) => f,
            Err(e) => return violation(e.close_code(), &e.to_string()),
        };
        match frame.body {
            Body::Ping(o) => {
                let _ = tx.send(Frame::new(0, Body::Pong(o)));
            }
            Body::Pong(_) => {}
            Body::Close { code: code::SESSION_ENDED, .. } => return (Ended::SessionEnded, None),
            Body::Close { code, message } => {
                return (Ended::Lost(format!("gateway closed ({code}): {message}")), None);
            }
            Body::Hello(_) | Body::Welcome(_) => {
                return violation(code::PROTOCOL_ERROR, "unexpected handshake")
            }
            _ => {
                if let Err((c, m)) = mux.on_frame(frame) {
                    return violation(c, &m);
                }
            }
        }
    }
}

fn violation(close_code: u16, message: &str) -> (Ended, Option<(u16, String)>) {
    (Ended::Lost(format!("protocol violation: {message}")), Some((close_code, message.to_owned())))
}

async fn close<S>(mut sink: S, close_code: u16, message: &str) -> Ended
where
    S: futures_util::Sink<Message> + Unpin,
{
    if let Some(msg) = encode(&Frame::new(0, Body::Close { code: close_code, message: message.into() })) {
        let _ = sink.send(msg).await;
    }
    let _ = sink.close().await;
    Ended::Lost(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_stays_under_the_cap() {
        let (base, max) = (Duration::from_millis(250), Duration::from_secs(30));
        for attempt in 0..64 {
            let cap = base.saturating_mul(1 << attempt.min(20)).min(max);
            for _ in 0..50 {
                assert!(backoff(base, max, attempt) <= cap, "attempt {attempt}");
            }
        }
        let late: Vec<Duration> = (0..200).map(|_| backoff(base, max, 30)).collect();
        assert!(late.iter().any(|d| *d > Duration::from_secs(15)), "jitter spans the range");
        assert!(late.iter().any(|d| *d < Duration::from_secs(15)), "jitter spans the range");
    }
}
