//! A test gateway: the server side of the tunnel protocol, written independently of sandboxd's
//! mux (it shares only the codec). It authenticates with rotating resume tokens, resumes
//! streams, enforces credits, and answers `http`/`sign` streams through `upstream`.

use super::{server, upstream};
use sandboxd::codec::{self, Body, Frame, JsonObject, Kind, FIN};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, Notify};

pub const WINDOW: i64 = 65_536;
pub const WAIT: Duration = Duration::from_secs(30);

/// What a handler task receives on a sandbox-opened stream.
#[derive(Debug)]
pub enum GwIn {
    Data(Vec<u8>),
    Fin,
    Trailers(JsonObject),
    Reset(u16),
}

#[derive(Default)]
pub struct GwStream {
    pub kind: Option<Kind>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit: Option<(i32, u8, bool)>,
    pub reset: Option<(u16, String)>,
    pub received: u64,
    pub(super) credit: i64,
    /// Most send credit the sandbox ever gave us at once (window + WINDOW frames − DATA sent).
    pub peak_credit: i64,
    /// What the sandbox may still send us (our window plus credit we returned or granted).
    pub(super) allowance: i64,
    pub(super) stalled: bool,
    pub(super) owed: u64,
    pub(super) handler: Option<mpsc::UnboundedSender<GwIn>>,
}

#[derive(Default)]
pub struct State {
    pub valid_tokens: HashSet<String>,
    pub token_counter: u32,
    pub welcomes: u32,
    pub writer: Option<mpsc::UnboundedSender<Vec<u8>>>,
    pub closes: Vec<(u16, String)>,
    pub kill: Option<Arc<Notify>>,
    pub streams: HashMap<u32, GwStream>,
    pub next_id: u32,
    pub hellos: Vec<JsonObject>,
    pub pings_seen: u32,
    /// Grant `http` request bodies this much credit ahead of consumption (a gateway that follows
    /// PROTOCOL.md §5 "receive buffer"); 0 = the original behaviour (credit only as consumed).
    pub grant_ahead: u32,
    /// DATA beyond the credit we gave (must stay empty).
    pub flow_violations: Vec<u32>,
}

pub struct Inner {
    pub(super) state: Mutex<State>,
    pub(super) changed: Notify,
    pub session_id: String,
    pub upstream: upstream::Upstream,
}

#[derive(Clone)]
pub struct TestGateway {
    pub inner: Arc<Inner>,
    pub url: String,
    pub unix_socket: PathBuf,
    /// `wss://` endpoint with a certificate from `ca_pem`.
    pub wss_url: String,
    pub ca_pem: String,
}

impl Inner {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn send_frame(&self, frame: Frame) -> bool {
        codec::encode(&frame).is_ok_and(|bytes| self.send_raw(bytes))
    }

    /// One WebSocket binary message with any bytes (for protocol-violation tests).
    pub fn send_raw(&self, bytes: Vec<u8>) -> bool {
        match &self.lock().writer {
            Some(w) => w.send(bytes).is_ok(),
            None => false,
        }
    }

    /// Return credit for bytes a handler consumed.
    pub fn credit(&self, id: u32, n: usize) {
        if let Ok(n) = u32::try_from(n) {
            if n > 0 {
                if let Some(s) = self.lock().streams.get_mut(&id) {
                    s.allowance += i64::from(n);
                }
                self.send_frame(Frame::new(id, Body::Window(n)));
            }
        }
    }

    /// Send DATA respecting the sandbox's window; waits for credit.
    pub async fn send_data(&self, id: u32, data: &[u8], fin: bool) -> Result<(), String> {
        let mut rest = data;
        loop {
            let take = loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let mut st = self.lock();
                    let s = st.streams.get_mut(&id).ok_or("unknown stream")?;
                    if s.reset.is_some() {
                        return Err(format!("stream reset: {:?}", s.reset));
                    }
                    let want = rest.len().min(codec::MAX_PAYLOAD) as i64;
                    if want == 0 || s.credit > 0 {
                        let take = want.min(s.credit.max(0));
                        s.credit -= take;
                        break take as usize;
                    }
                }
                if tokio::time::timeout(WAIT, changed).await.is_err() {
                    return Err("no credit from the sandbox within 30 s".into());
                }
            };
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
            let flags = if fin && rest.is_empty() { FIN } else { 0 };
            let frame = Frame { stream: id, flags, body: Body::Data(chunk.to_vec().into()) };
            if !self.send_frame(frame) {
                return Err("not connected".into());
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    pub fn send_head(&self, id: u32, status: u16, headers: Vec<(String, String)>, fin: bool) {
        let list: Vec<Value> = headers.into_iter().map(|(n, v)| json!([n, v])).collect();
        let head = json!({"status": status, "headers": list}).as_object().cloned().unwrap_or_default();
        self.send_frame(Frame { stream: id, flags: if fin { FIN } else { 0 }, body: Body::Head(head) });
    }

    pub fn reset(&self, id: u32, code: u16, message: &str) {
        self.send_frame(Frame::new(id, Body::Reset { code, message: message.into() }));
    }
}

impl TestGateway {
    pub async fn start(
        session_id: &str,
        bootstrap: &str,
        upstream: upstream::Upstream,
        dir: &std::path::Path,
    ) -> TestGateway {
        let mut state = State { next_id: 2, ..State::default() };
        state.valid_tokens.insert(bootstrap.to_owned());
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            changed: Notify::new(),
            session_id: session_id.into(),
            upstream,
        });
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind gateway");
        let url = format!("ws://{}/tunnel", tcp.local_addr().expect("addr"));
        let unix_socket = dir.join("tunnel.sock");
        let unix = UnixListener::bind(&unix_socket).expect("bind unix gateway");
        let tls = TcpListener::bind("127.0.0.1:0").await.expect("bind wss gateway");
        let wss_url = format!("wss://localhost:{}/tunnel", tls.local_addr().expect("addr").port());
        let (acceptor, ca_pem) = server::tls_acceptor();
        let c = inner.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = tls.accept().await {
                let (acceptor, c) = (acceptor.clone(), c.clone());
                tokio::spawn(async move {
                    if let Ok(s) = acceptor.accept(s).await {
                        server::connection(s, c).await;
                    }
                });
            }
        });
        let (a, b) = (inner.clone(), inner.clone());
        tokio::spawn(async move {
            while let Ok((s, _)) = tcp.accept().await {
                tokio::spawn(server::connection(s, a.clone()));
            }
        });
        tokio::spawn(async move {
            while let Ok((s, _)) = unix.accept().await {
                tokio::spawn(server::connection(s, b.clone()));
            }
        });
        TestGateway { inner, url, unix_socket, wss_url, ca_pem }
    }

    /// From now on, grant `n` bytes of credit ahead on every `http` stream the sandbox opens.
    pub fn grant_ahead(&self, n: u32) {
        self.inner.lock().grant_ahead = n;
    }

    pub fn welcomes(&self) -> u32 {
        self.inner.lock().welcomes
    }

    pub fn hellos(&self) -> Vec<JsonObject> {
        self.inner.lock().hellos.clone()
    }

    pub fn valid_tokens(&self) -> HashSet<String> {
        self.inner.lock().valid_tokens.clone()
    }

    /// Wait until `f(state)` holds, or panic after `WAIT`.
    pub async fn wait_for<T>(&self, what: &str, mut f: impl FnMut(&State) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(v) = f(&self.inner.lock()) {
                return v;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("timed out waiting for {what}");
            }
        }
    }

    pub async fn wait_connected(&self, welcomes: u32) {
        self.wait_for("a connection", |s| {
            (s.welcomes >= welcomes && s.writer.is_some() && s.pings_seen >= welcomes).then_some(())
        })
        .await;
    }

    pub fn open(&self, kind: Kind, meta: Value) -> u32 {
        let id = {
            let mut st = self.inner.lock();
            let id = st.next_id;
            st.next_id += 2;
            let stream = GwStream {
                kind: Some(kind),
                credit: WINDOW,
                peak_credit: WINDOW,
                allowance: WINDOW,
                ..GwStream::default()
            };
            st.streams.insert(id, stream);
            id
        };
        let meta = meta.as_object().cloned().unwrap_or_default();
        assert!(self.inner.send_frame(Frame::new(id, Body::Open { kind, meta })), "gateway not connected");
        id
    }

    pub async fn send(&self, id: u32, data: &[u8], fin: bool) {
        self.inner.send_data(id, data, fin).await.expect("send data");
    }

    pub fn frame(&self, frame: Frame) {
        assert!(self.inner.send_frame(frame), "gateway not connected");
    }

    /// Stop returning credit for this stream's output (a stalled viewer).
    pub fn stall(&self, id: u32, stalled: bool) {
        let owed = {
            let mut st = self.inner.lock();
            let s = st.streams.get_mut(&id).expect("stream");
            s.stalled = stalled;
            if stalled {
                0
            } else {
                std::mem::take(&mut s.owed)
            }
        };
        self.inner.credit(id, owed as usize);
    }

    pub fn stream<T>(&self, id: u32, f: impl FnOnce(&GwStream) -> T) -> T {
        f(self.inner.lock().streams.get(&id).expect("stream"))
    }

    pub async fn wait_output(&self, id: u32, needle: &str) -> String {
        let needle = needle.to_owned();
        self.wait_for(&format!("output {needle:?} on stream {id}"), |s| {
            let out = String::from_utf8_lossy(&s.streams.get(&id)?.stdout).into_owned();
            out.contains(&needle).then_some(out)
        })
        .await
    }

    pub async fn wait_exit(&self, id: u32) -> (i32, u8, bool) {
        self.wait_for(&format!("exit of stream {id}"), |s| s.streams.get(&id)?.exit).await
    }

    /// Drop the current connection as a network failure would.
    pub fn drop_connection(&self) {
        let kill = self.inner.lock().kill.take();
        if let Some(k) = kill {
            k.notify_one();
        }
    }
}
