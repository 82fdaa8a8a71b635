//! Unit tests of the multiplexer's flow control (kept beside it, out of its file).
use super::*;
use crate::tunnel::stream::RECV_BUFFER;

fn connected_mux() -> (Mux, mpsc::UnboundedReceiver<Incoming>, mpsc::UnboundedReceiver<Frame>) {
    let (mux, incoming) = Mux::new();
    let (writer, frames) = mpsc::unbounded_channel();
    mux.connected(writer, DEFAULT_WINDOW, &HashMap::new());
    (mux, incoming, frames)
}

fn open(mux: &Mux, id: u32, kind: Kind) {
    let meta = serde_json::json!({"port": 1}).as_object().cloned().unwrap_or_default();
    mux.on_frame(Frame::new(id, Body::Open { kind, meta })).expect("open");
}

fn data(mux: &Mux, id: u32, len: usize) {
    mux.on_frame(Frame::new(id, Body::Data(Bytes::from(vec![7u8; len])))).expect("data");
}

async fn next(frames: &mut mpsc::UnboundedReceiver<Frame>) -> Frame {
    tokio::time::timeout(Duration::from_secs(10), frames.recv()).await.expect("a frame").expect("open")
}

#[tokio::test]
async fn non_resumable_streams_grant_their_receive_buffer_ahead_resumable_ones_do_not() {
    let (mux, mut incoming, mut frames) = connected_mux();
    open(&mux, 2, Kind::Exec);
    open(&mux, 4, Kind::Port);
    let grant = next(&mut frames).await;
    assert_eq!((grant.stream, grant.body), (4, Body::Window(RECV_BUFFER - DEFAULT_WINDOW)));
    // The exec stream still takes exactly one window: a byte more is a FLOW_CONTROL reset.
    let _ = incoming.recv().await;
    data(&mux, 2, DEFAULT_WINDOW as usize);
    data(&mux, 2, 1);
    let reset = next(&mut frames).await;
    assert!(matches!(reset.body, Body::Reset { code: code::FLOW_CONTROL, .. }), "{reset:?}");
    assert_eq!(reset.stream, 2);
}

#[tokio::test]
async fn a_stalled_receiver_holds_at_most_its_receive_buffer_and_blocks_no_other_stream() {
    let (mux, mut incoming, mut frames) = connected_mux();
    open(&mux, 2, Kind::Port);
    open(&mux, 4, Kind::Port);
    let mut stalled = incoming.recv().await.expect("incoming").io;
    let mut live = incoming.recv().await.expect("incoming").io;
    assert_eq!(next(&mut frames).await.stream, 2);
    assert_eq!(next(&mut frames).await.stream, 4);
    // Nobody reads stream 2: it takes its whole receive buffer, and the other stream flows.
    let mut returned = 0;
    for _ in 0..RECV_BUFFER / 65_536 {
        data(&mux, 2, 65_536);
        data(&mux, 4, 65_536);
        let Some(Inbound::Data(b)) = live.rx.recv().await else { panic!("live stream starved") };
        live.tx.consumed(b.len());
        while let Ok(f) = frames.try_recv() {
            assert_eq!((f.stream, f.body), (4, Body::Window(CREDIT_BATCH)), "batched credit");
            returned += CREDIT_BATCH;
        }
    }
    assert_eq!(returned, RECV_BUFFER, "the live stream got all its credit back");
    let mut held = 0;
    while let Ok(Inbound::Data(b)) = stalled.rx.try_recv() {
        held += b.len();
    }
    assert_eq!(held, RECV_BUFFER as usize);
    // One byte more than it granted: reset, never buffered.
    data(&mux, 2, 1);
    let reset = next(&mut frames).await;
    assert_eq!(reset.stream, 2);
    assert!(matches!(reset.body, Body::Reset { code: code::FLOW_CONTROL, .. }), "{reset:?}");
    assert!(matches!(stalled.rx.recv().await, Some(Inbound::Reset { code: code::FLOW_CONTROL, .. })));
    data(&mux, 4, 1);
    assert!(matches!(live.rx.recv().await, Some(Inbound::Data(b)) if b.len() == 1));
}

#[tokio::test]
async fn a_sender_uses_credit_granted_ahead_and_refuses_credit_past_u32() {
    let (mux, _incoming, mut frames) = connected_mux();
    let meta = JsonObject::new();
    let io = mux.open(Kind::Http, meta, Duration::from_secs(1)).await.expect("open");
    assert!(matches!(next(&mut frames).await.body, Body::Open { .. }));
    assert_eq!(next(&mut frames).await.body, Body::Window(RECV_BUFFER - DEFAULT_WINDOW));
    let granted = 4 << 20;
    mux.on_frame(Frame::new(io.id, Body::Window(granted - DEFAULT_WINDOW))).expect("window");
    // 4 MiB leave without any credit coming back, byte for byte, through a 64 KiB buffer.
    let body: Vec<u8> = (0..granted).map(|i| (i % 251) as u8).collect();
    let tx = io.tx.clone();
    let chunks: Vec<Bytes> = body.chunks(10_000).map(Bytes::copy_from_slice).collect();
    let writer = tokio::spawn(async move {
        for c in chunks {
            tx.write(c, false).await.expect("write");
        }
    });
    let mut sent = Vec::new();
    while sent.len() < body.len() {
        match next(&mut frames).await.body {
            Body::Data(b) => sent.extend_from_slice(&b),
            other => panic!("{other:?}"),
        }
    }
    writer.await.expect("writer");
    assert!(sent == body, "bytes differ");
    // Out of credit now: the next byte waits.
    let tx = io.tx.clone();
    tokio::spawn(async move { tx.write(Bytes::from_static(b"x"), false).await });
    tokio::task::yield_now().await;
    assert!(frames.try_recv().is_err(), "sent beyond its credit");
    // Outstanding credit may reach 2^32 - 1, not more.
    mux.on_frame(Frame::new(io.id, Body::Window(u32::MAX - 1))).expect("window");
    assert_eq!(next(&mut frames).await.body, Body::Data(Bytes::from_static(b"x")));
    mux.on_frame(Frame::new(io.id, Body::Window(2))).expect("window");
    assert!(frames.try_recv().is_err(), "exactly 2^32 - 1 outstanding is fine");
    mux.on_frame(Frame::new(io.id, Body::Window(1))).expect("window");
    let reset = next(&mut frames).await;
    assert!(matches!(reset.body, Body::Reset { code: code::FLOW_CONTROL, .. }), "{reset:?}");
}
