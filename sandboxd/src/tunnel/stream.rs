//! One stream's state: the outbound buffer (with resume offsets and credits) and the inbound
//! allowance. Pure bookkeeping under a mutex; the mux decides when to call what.

use crate::codec::{Body, Frame, Kind, STDERR};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, Notify};

/// Bytes of unacknowledged output a resumable stream may hold (PROTOCOL.md §4, replay bound).
pub const RESUME_BUFFER: u64 = 1 << 20;
/// Non-resumable streams hold at most this much output not yet sent (sent bytes are forgotten).
const PLAIN_BUFFER: u64 = 1 << 16;
/// What a non-resumable stream is prepared to hold of the peer's data: the credit it grants ahead
/// of consumption (PROTOCOL.md §5, "Receive buffer"). Resumable streams grant only the window.
pub const RECV_BUFFER: u32 = 1 << 20;
/// A non-resumable stream returns credit in batches of this much (a WINDOW per consumed frame
/// would cost the gateway one event per frame); the peer still holds ≥ 7/8 of the buffer.
pub const CREDIT_BATCH: u32 = RECV_BUFFER / 8;
/// Outstanding send credit a peer may give us; more is a `FLOW_CONTROL` error (PROTOCOL.md §5).
pub const MAX_CREDIT: u64 = u32::MAX as u64;

/// What the peer sent on a stream, in order.
#[derive(Debug)]
pub enum Inbound {
    Data(Bytes),
    Fin,
    Head(crate::codec::JsonObject),
    Trailers(crate::codec::JsonObject),
    Resize { cols: u16, rows: u16 },
    Signal(u8),
    Reset { code: u16, message: String },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    Queued,
    Full,
    Closed,
}

pub(crate) struct Out {
    /// Data not yet acknowledged: (offset, bytes, stderr).
    segs: VecDeque<(u64, Bytes, bool)>,
    /// Offset of the oldest byte still held.
    pub base: u64,
    /// Total bytes produced.
    pub produced: u64,
    /// Next offset to send on this connection.
    sent: u64,
    /// Send window left.
    credit: u64,
    pub open: Option<Frame>,
    /// Credit still to grant ahead of consumption, sent right after OPEN (or first thing).
    grant: u32,
    terminal: Option<Frame>,
    terminal_sent: bool,
    pub connected: bool,
    pub closed: bool,
    /// Inbound side: bytes received (offset), allowance left, peer's FIN seen.
    pub received: u64,
    pub allowance: i64,
    pub remote_fin: bool,
    /// Consumed bytes whose credit is not returned yet (non-resumable streams batch it).
    pub owed: u32,
}

pub struct StreamShared {
    pub id: u32,
    pub kind: Kind,
    out: Mutex<Out>,
    /// Wakes the pump (data, credit, connection).
    pub pump: Notify,
    /// Wakes producers waiting for buffer space.
    pub space: Notify,
    pub inbound: mpsc::UnboundedSender<Inbound>,
}

impl StreamShared {
    pub fn new(
        id: u32,
        kind: Kind,
        window: u32,
        open: Option<Frame>,
        connected: bool,
    ) -> (Arc<StreamShared>, mpsc::UnboundedReceiver<Inbound>) {
        let (inbound, rx) = mpsc::unbounded_channel();
        let out = Out {
            segs: VecDeque::new(),
            base: 0,
            produced: 0,
            sent: 0,
            credit: u64::from(window),
            open,
            grant: if kind.resumable() { 0 } else { RECV_BUFFER.saturating_sub(window) },
            terminal: None,
            terminal_sent: false,
            connected,
            closed: false,
            received: 0,
            allowance: i64::from(window),
            remote_fin: false,
            owed: 0,
        };
        let s = StreamShared {
            id,
            kind,
            out: Mutex::new(out),
            pump: Notify::new(),
            space: Notify::new(),
            inbound,
        };
        (Arc::new(s), rx)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Out> {
        // A poisoned lock only means another task panicked mid-update; the data is still usable.
        self.out.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cap(&self) -> u64 {
        if self.kind.resumable() {
            RESUME_BUFFER
        } else {
            PLAIN_BUFFER
        }
    }

    /// Try to append output; on `Full`, wait on `space` and retry.
    pub fn try_push(&self, data: &Bytes, stderr: bool) -> Push {
        let cap = self.cap();
        let mut o = self.lock();
        if o.closed || o.terminal.is_some() {
            return Push::Closed;
        }
        let held = o.produced - o.base;
        let may_drop = self.kind.resumable() && !o.connected;
        if held >= cap && !may_drop {
            return Push::Full;
        }
        let at = o.produced;
        o.segs.push_back((at, data.clone(), stderr));
        o.produced += data.len() as u64;
        if may_drop {
            o.drop_oldest_over(cap);
        }
        drop(o);
        self.pump.notify_one();
        Push::Queued
    }

    /// Queue the stream's last frame (sent after all data): EXIT, TRAILERS or an empty FIN.
    pub fn finish(&self, body: Body) {
        let mut o = self.lock();
        if o.closed || o.terminal.is_some() {
            return;
        }
        o.terminal = Some(Frame::fin(self.id, body));
        drop(o);
        self.pump.notify_one();
    }

    /// The next frame the pump may send now, if any.
    pub fn next_frame(&self) -> Option<Frame> {
        let mut o = self.lock();
        if o.closed || !o.connected {
            return None;
        }
        if let Some(open) = o.open.take() {
            return Some(open);
        }
        if o.grant > 0 {
            let grant = std::mem::take(&mut o.grant);
            o.allowance += i64::from(grant);
            return Some(Frame::new(self.id, Body::Window(grant)));
        }
        if o.sent < o.produced {
            if o.credit == 0 {
                return None;
            }
            let sent = o.sent;
            let (at, bytes, stderr) = o.segs.iter().find(|(at, b, _)| at + b.len() as u64 > sent)?.clone();
            let skip = (sent - at) as usize;
            let take = (bytes.len() - skip).min(o.credit as usize).min(crate::codec::MAX_PAYLOAD);
            o.sent += take as u64;
            o.credit -= take as u64;
            let resumable = self.kind.resumable();
            if !resumable {
                // Nothing is re-sent on a non-resumable stream: once sent, the bytes are gone.
                let sent = o.sent;
                o.release_until(sent);
            }
            drop(o);
            if !resumable {
                self.space.notify_waiters();
            }
            let flags = if stderr { STDERR } else { 0 };
            return Some(Frame { stream: self.id, flags, body: Body::Data(bytes.slice(skip..skip + take)) });
        }
        match &o.terminal {
            Some(t) if !o.terminal_sent => {
                let t = t.clone();
                o.terminal_sent = true;
                Some(t)
            }
            _ => None,
        }
    }

    /// Peer returned `n` credits. On a resumable stream credit is the acknowledgement (the peer
    /// consumed, so received, that many more bytes); on a non-resumable one it may come ahead of
    /// any data. False (nothing changed): outstanding credit would exceed `MAX_CREDIT`.
    #[must_use]
    pub fn add_credit(&self, n: u32) -> bool {
        let mut o = self.lock();
        let credit = o.credit + u64::from(n);
        if credit > MAX_CREDIT {
            return false;
        }
        o.credit = credit;
        if self.kind.resumable() {
            let acked = (o.base + u64::from(n)).min(o.sent);
            o.release_until(acked);
        }
        drop(o);
        self.pump.notify_one();
        self.space.notify_waiters();
        true
    }

    /// A new connection: re-send from what the gateway reports received.
    pub fn resume(&self, received: u64, window: u32) {
        let mut o = self.lock();
        let from = received.clamp(o.base, o.produced);
        o.release_until(from);
        o.sent = from;
        o.credit = u64::from(window);
        o.allowance = i64::from(window);
        o.terminal_sent = false;
        o.connected = true;
        drop(o);
        self.pump.notify_one();
        self.space.notify_waiters();
    }

    pub fn set_disconnected(&self) {
        self.lock().connected = false;
        self.space.notify_waiters();
    }

    /// Local side is done: terminal sent (and everything before it).
    pub fn local_done(&self) -> bool {
        let o = self.lock();
        o.terminal_sent && o.sent == o.produced
    }

    pub fn close(&self) {
        self.lock().closed = true;
        self.pump.notify_one();
        self.space.notify_waiters();
    }
}

impl Out {
    fn release_until(&mut self, offset: u64) {
        while let Some((at, b, _)) = self.segs.front() {
            if at + b.len() as u64 <= offset {
                self.segs.pop_front();
            } else {
                break;
            }
        }
        if offset > self.base {
            self.base = offset;
        }
    }

    /// Disconnected resumable stream over its bound: discard the oldest bytes, never the newest.
    fn drop_oldest_over(&mut self, cap: u64) {
        while self.produced - self.base > cap {
            let excess = self.produced - self.base - cap;
            let Some((at, b, stderr)) = self.segs.pop_front() else {
                break;
            };
            let len = b.len() as u64;
            let skip_in_seg = self.base - at;
            let avail = len - skip_in_seg;
            if excess >= avail {
                self.base = at + len;
            } else {
                let keep_from = (skip_in_seg + excess) as usize;
                self.segs.push_front((at + keep_from as u64, b.slice(keep_from..), stderr));
                self.base = at + keep_from as u64;
            }
        }
        if self.sent < self.base {
            self.sent = self.base;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_len(f: &Frame) -> usize {
        match &f.body {
            Body::Data(b) => b.len(),
            other => panic!("expected DATA, got {other:?}"),
        }
    }

    #[test]
    fn credit_limits_what_is_sent_and_returns_space() {
        let (s, _rx) = StreamShared::new(2, Kind::Exec, 1000, None, true);
        assert_eq!(s.try_push(&Bytes::from(vec![1u8; 2500]), false), Push::Queued);
        assert_eq!(data_len(&s.next_frame().expect("frame")), 1000);
        assert!(s.next_frame().is_none(), "sent beyond the window");
        assert!(s.add_credit(600));
        assert_eq!(data_len(&s.next_frame().expect("frame")), 600);
        assert_eq!(s.lock().base, 600, "acknowledged bytes are released");
    }

    #[test]
    fn a_connected_stream_pushes_back_when_its_buffer_is_full() {
        let (s, _rx) = StreamShared::new(1, Kind::Port, 65_536, None, true);
        assert_eq!(s.try_push(&Bytes::from(vec![0u8; 65_536]), false), Push::Queued);
        assert_eq!(s.try_push(&Bytes::from_static(b"x"), false), Push::Full);
    }

    #[test]
    fn a_disconnected_pty_keeps_the_newest_bytes_up_to_the_bound() {
        let (s, _rx) = StreamShared::new(2, Kind::Pty, 65_536, None, false);
        let chunk = Bytes::from(vec![7u8; 100_000]);
        for _ in 0..15 {
            assert_eq!(s.try_push(&chunk, false), Push::Queued, "a disconnected PTY never blocks");
        }
        {
            let o = s.lock();
            assert_eq!(o.produced, 1_500_000);
            assert_eq!(o.produced - o.base, RESUME_BUFFER, "holds exactly the bound");
        }
        // The gateway had 1000 bytes; everything from the oldest kept byte on is re-sent.
        s.resume(1000, 65_536);
        assert_eq!(s.lock().base, 1_500_000 - RESUME_BUFFER);
        let mut resent = 0;
        while let Some(f) = s.next_frame() {
            resent += data_len(&f);
            assert!(s.add_credit(data_len(&f) as u32));
        }
        assert_eq!(resent as u64, RESUME_BUFFER);
    }

    #[test]
    fn resume_resends_from_what_the_gateway_received_then_the_exit() {
        let (s, _rx) = StreamShared::new(2, Kind::Exec, 65_536, None, true);
        assert_eq!(s.try_push(&Bytes::from_static(b"hello world"), false), Push::Queued);
        s.finish(Body::Exit { code: 0, signal: 0, timed_out: false });
        assert_eq!(data_len(&s.next_frame().expect("data")), 11);
        assert!(matches!(s.next_frame().map(|f| f.body), Some(Body::Exit { .. })));
        s.set_disconnected();
        s.resume(6, 65_536);
        match s.next_frame().map(|f| f.body) {
            Some(Body::Data(b)) => assert_eq!(&b[..], b"world"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.next_frame().map(|f| f.body), Some(Body::Exit { .. })), "EXIT re-sent");
    }
}
