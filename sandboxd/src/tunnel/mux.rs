//! The stream table shared by the connection and the stream handlers. It outlives connections:
//! resumable streams keep their buffers across reconnects (PROTOCOL.md §4–§5).

use super::stream::{Inbound, Push, StreamShared, CREDIT_BATCH};
use crate::codec::{code, Body, Frame, JsonObject, Kind, FIN};
use bytes::Bytes;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub const DEFAULT_WINDOW: u32 = 65_536;

/// A stream the gateway opened; the dispatcher hands it to pty/exec/ports.
pub struct Incoming {
    pub kind: Kind,
    pub meta: JsonObject,
    pub io: StreamIo,
}

/// A stream end for a handler: receive what the peer sends, send through `tx`.
pub struct StreamIo {
    pub id: u32,
    pub rx: mpsc::UnboundedReceiver<Inbound>,
    pub tx: StreamTx,
}

#[derive(Clone)]
pub struct StreamTx {
    stream: Arc<StreamShared>,
    mux: Mux,
}

#[derive(Debug, thiserror::Error)]
#[error("stream closed")]
pub struct StreamClosed;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the tunnel is not connected")]
    NotConnected,
}

struct State {
    streams: HashMap<u32, Arc<StreamShared>>,
    writer: Option<mpsc::UnboundedSender<Frame>>,
    window: u32,
    next_local: u32,
    last_remote: u32,
}

struct Shared {
    state: Mutex<State>,
    incoming: mpsc::UnboundedSender<Incoming>,
    connected: watch::Sender<bool>,
}

#[derive(Clone)]
pub struct Mux(Arc<Shared>);

impl Mux {
    pub fn new() -> (Mux, mpsc::UnboundedReceiver<Incoming>) {
        let (incoming, rx) = mpsc::unbounded_channel();
        let state = State {
            streams: HashMap::new(),
            writer: None,
            window: DEFAULT_WINDOW,
            next_local: 1,
            last_remote: 0,
        };
        let (connected, _) = watch::channel(false);
        (Mux(Arc::new(Shared { state: Mutex::new(state), incoming, connected })), rx)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_connected(&self) -> bool {
        *self.0.connected.borrow()
    }

    pub fn stream_count(&self) -> usize {
        self.lock().streams.len()
    }

    /// Send a frame on the current connection (dropped when there is none).
    pub fn send(&self, frame: Frame) {
        if let Some(w) = &self.lock().writer {
            let _ = w.send(frame);
        }
    }

    /// HELLO.streams: the resumable streams we hold and the offsets we can re-send.
    pub fn hello_streams(&self) -> Vec<serde_json::Value> {
        let st = self.lock();
        let mut list: Vec<_> = st
            .streams
            .values()
            .filter(|s| s.kind.resumable())
            .map(|s| {
                let o = s.lock();
                json!({"id": s.id, "kind": s.kind.name(), "received": o.received, "from": o.base, "to": o.produced})
            })
            .collect();
        list.sort_by_key(|v| v["id"].as_u64());
        list
    }

    /// WELCOME received: resume the streams the gateway kept, end the others.
    pub fn connected(&self, writer: mpsc::UnboundedSender<Frame>, window: u32, kept: &HashMap<u32, u64>) {
        let mut st = self.lock();
        st.window = window;
        let mut dropped = Vec::new();
        for (id, s) in &st.streams {
            match kept.get(id) {
                Some(received) if s.kind.resumable() => s.resume(*received, window),
                _ => dropped.push(*id),
            }
        }
        for id in dropped {
            if let Some(s) = st.streams.remove(&id) {
                end_stream(&s, code::CONNECTION_LOST, "the gateway no longer knows this stream");
            }
        }
        st.writer = Some(writer);
        drop(st);
        self.0.connected.send_replace(true);
    }

    /// The connection dropped: non-resumable streams are lost, resumable ones keep buffering.
    pub fn disconnected(&self) {
        let mut st = self.lock();
        st.writer = None;
        st.streams.retain(|_, s| {
            if s.kind.resumable() {
                s.set_disconnected();
                true
            } else {
                end_stream(s, code::CONNECTION_LOST, "tunnel connection lost");
                false
            }
        });
        drop(st);
        self.0.connected.send_replace(false);
    }

    /// Open a sandbox-side stream (odd id); waits up to `wait` for a connection.
    pub async fn open(&self, kind: Kind, meta: JsonObject, wait: Duration) -> Result<StreamIo, OpenError> {
        let mut rx = self.0.connected.subscribe();
        let ready = tokio::time::timeout(wait, rx.wait_for(|c| *c)).await;
        if !matches!(ready, Ok(Ok(_))) {
            return Err(OpenError::NotConnected);
        }
        let mut st = self.lock();
        let id = st.next_local;
        st.next_local = st.next_local.wrapping_add(2);
        let open = Frame::new(id, Body::Open { kind, meta });
        let (stream, rx) = StreamShared::new(id, kind, st.window, Some(open), st.writer.is_some());
        st.streams.insert(id, stream.clone());
        drop(st);
        self.spawn_pump(stream.clone());
        Ok(StreamIo { id, rx, tx: StreamTx { stream, mux: self.clone() } })
    }

    fn spawn_pump(&self, stream: Arc<StreamShared>) {
        let mux = self.clone();
        tokio::spawn(async move {
            loop {
                let notified = stream.pump.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if stream.lock().closed {
                    return;
                }
                match stream.next_frame() {
                    Some(frame) => {
                        mux.send(frame);
                        mux.maybe_remove(&stream);
                    }
                    None => notified.await,
                }
            }
        });
    }

    fn maybe_remove(&self, s: &Arc<StreamShared>) {
        let done = s.local_done() && s.lock().remote_fin;
        if done {
            self.lock().streams.remove(&s.id);
            s.close();
        }
    }

    fn reset(&self, id: u32, reset_code: u16, message: &str) {
        self.send(Frame::new(id, Body::Reset { code: reset_code, message: message.into() }));
        if let Some(s) = self.lock().streams.remove(&id) {
            end_stream(&s, reset_code, message);
        }
    }

    fn get(&self, id: u32) -> Option<Arc<StreamShared>> {
        self.lock().streams.get(&id).cloned()
    }

    /// A stream frame from the gateway. Returns a connection-level error to close with.
    pub fn on_frame(&self, frame: Frame) -> Result<(), (u16, String)> {
        let id = frame.stream;
        if let Body::Open { kind, meta } = frame.body {
            self.on_open(id, kind, meta, frame.flags & FIN != 0);
            return Ok(());
        }
        let Some(s) = self.get(id) else {
            return Ok(()); // raced with a reset, or already finished: ignore (§5)
        };
        let fin = frame.flags & FIN != 0;
        match frame.body {
            Body::Data(bytes) => {
                let mut o = s.lock();
                if o.remote_fin {
                    drop(o);
                    self.reset(id, code::PROTOCOL_ERROR, "data after FIN");
                    return Ok(());
                }
                o.allowance -= bytes.len() as i64;
                o.received += bytes.len() as u64;
                let over = o.allowance < 0;
                o.remote_fin |= fin;
                drop(o);
                if over {
                    self.reset(id, code::FLOW_CONTROL, "more data than the window allowed");
                    return Ok(());
                }
                if !bytes.is_empty() {
                    let _ = s.inbound.send(Inbound::Data(bytes));
                }
            }
            Body::Window(n) => {
                if !s.add_credit(n) {
                    self.reset(id, code::FLOW_CONTROL, "more credit outstanding than 2^32 - 1");
                    return Ok(());
                }
            }
            Body::Head(h) => {
                s.lock().remote_fin |= fin;
                let _ = s.inbound.send(Inbound::Head(h));
            }
            Body::Trailers(t) => {
                s.lock().remote_fin = true;
                let _ = s.inbound.send(Inbound::Trailers(t));
            }
            Body::Resize { cols, rows } => {
                let _ = s.inbound.send(Inbound::Resize { cols, rows });
            }
            Body::Signal(sig) => {
                let _ = s.inbound.send(Inbound::Signal(sig));
            }
            Body::Reset { code, message } => {
                self.lock().streams.remove(&id);
                end_stream(&s, code, &message);
                return Ok(());
            }
            Body::Exit { .. } => return Err((code::PROTOCOL_ERROR, "EXIT from the gateway".into())),
            _ => return Err((code::PROTOCOL_ERROR, "connection frame on a stream".into())),
        }
        if fin {
            let _ = s.inbound.send(Inbound::Fin);
            self.maybe_remove(&s);
        }
        Ok(())
    }

    fn on_open(&self, id: u32, kind: Kind, meta: JsonObject, fin: bool) {
        let mut st = self.lock();
        if id % 2 != 0 || id <= st.last_remote || st.streams.contains_key(&id) {
            drop(st);
            return self.reset(id, code::STREAM_IN_USE, "bad stream id for a gateway-opened stream");
        }
        st.last_remote = id;
        if !matches!(kind, Kind::Pty | Kind::Exec | Kind::Port) {
            drop(st);
            return self.reset(id, code::REFUSED, "the gateway may not open this kind");
        }
        let (stream, rx) = StreamShared::new(id, kind, st.window, None, st.writer.is_some());
        stream.lock().remote_fin = fin;
        st.streams.insert(id, stream.clone());
        drop(st);
        self.spawn_pump(stream.clone());
        let io = StreamIo { id, rx, tx: StreamTx { stream, mux: self.clone() } };
        if fin {
            let _ = io.tx.stream.inbound.send(Inbound::Fin);
        }
        let _ = self.0.incoming.send(Incoming { kind, meta, io });
    }
}

fn end_stream(s: &StreamShared, reset_code: u16, message: &str) {
    s.close();
    let _ = s.inbound.send(Inbound::Reset { code: reset_code, message: message.into() });
}

impl StreamTx {
    pub fn id(&self) -> u32 {
        self.stream.id
    }

    /// Queue output; waits while the stream's buffer is full (backpressure).
    pub async fn write(&self, data: Bytes, stderr: bool) -> Result<(), StreamClosed> {
        loop {
            let space = self.stream.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            match self.stream.try_push(&data, stderr) {
                Push::Queued => return Ok(()),
                Push::Full => space.await,
                Push::Closed => return Err(StreamClosed),
            }
        }
    }

    /// Finish our direction: `Body::Exit`, `Body::Trailers`, or an empty `Body::Data`.
    pub fn finish(&self, body: Body) {
        self.stream.finish(body);
    }

    /// We consumed `n` bytes of the peer's data: return the credit.
    pub fn consumed(&self, n: usize) {
        if n == 0 {
            return;
        }
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let batch = !self.stream.kind.resumable();
        let credit = {
            let mut o = self.stream.lock();
            let owed = o.owed.saturating_add(n);
            if batch && owed < CREDIT_BATCH {
                o.owed = owed;
                None
            } else {
                o.owed = 0;
                o.allowance += i64::from(owed);
                (o.connected && !o.closed).then_some(owed)
            }
        };
        if let Some(credit) = credit {
            self.mux.send(Frame::new(self.stream.id, Body::Window(credit)));
        }
    }

    pub fn reset(&self, reset_code: u16, message: &str) {
        self.mux.reset(self.stream.id, reset_code, message);
    }
}

#[cfg(test)]
#[path = "mux_tests.rs"]
mod tests;
