//! Given a test gateway and a real sandboxd: the tunnel authenticates, multiplexes with
//! per-stream credits, and survives a dropped connection with streams resumed.

mod support;

use sandboxd::codec::{Body, Frame, Kind};
use serde_json::json;
use support::upstream::Upstream;
use support::Transport;

#[tokio::test]
async fn exec_reports_output_streams_and_exit_code_over_tcp() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let id = gw.open(Kind::Exec, json!({"command": ["sh", "-c", "echo out; echo err >&2; id -un; exit 7"]}));
    assert_eq!(gw.wait_exit(id).await, (7, 0, false));
    let (out, err) = gw.stream(id, |s| (String::from_utf8_lossy(&s.stdout).into_owned(), s.stderr.clone()));
    assert_eq!(out, format!("out\n{}\n", support::child_user()));
    assert_eq!(err, b"err\n");
}

#[tokio::test]
async fn exec_over_the_unix_socket_gets_stdin_and_the_sandbox_env() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Unix).await;
    let id = gw.open(
        Kind::Exec,
        json!({"command": ["sh", "-c", "cat; echo \"$HTTPS_PROXY $NODE_USE_ENV_PROXY $AIRLOCK_TEST\""]}),
    );
    gw.send(id, b"from stdin\n", true).await;
    assert_eq!(gw.wait_exit(id).await, (0, 0, false));
    let out = gw.stream(id, |s| String::from_utf8_lossy(&s.stdout).into_owned());
    assert!(out.starts_with("from stdin\nhttp://127.0.0.1:"), "{out}");
    assert!(out.ends_with(" 1 1\n"), "{out}");
}

#[tokio::test]
async fn the_tunnel_dials_wss_with_a_provided_ca() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Wss).await;
    let id = gw.open(Kind::Exec, json!({"command": ["echo", "over tls"]}));
    assert_eq!(gw.wait_exit(id).await, (0, 0, false));
    assert_eq!(gw.stream(id, |s| s.stdout.clone()), b"over tls\n");
}

#[tokio::test]
async fn exec_timeout_kills_the_whole_process_group() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let marker = format!("/tmp/airlock-exec-timeout-{}", std::process::id());
    let script = format!("(sleep 3; touch {marker}) & sleep 30");
    let started = std::time::Instant::now();
    let id = gw.open(Kind::Exec, json!({"command": ["sh", "-c", script], "timeoutMs": 500}));
    let (code, signal, timed_out) = gw.wait_exit(id).await;
    assert!(timed_out && code == -1 && signal == 9, "{code} {signal} {timed_out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert!(!std::path::Path::new(&marker).exists(), "the background child survived the timeout");
}

#[tokio::test]
async fn unknown_command_is_reset_with_spawn_failed() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let id = gw.open(Kind::Exec, json!({"command": ["/nonexistent/airlock"]}));
    let reset = gw.wait_for("reset", |s| s.streams.get(&id)?.reset.clone()).await;
    assert_eq!(reset.0, sandboxd::codec::code::SPAWN_FAILED);
}

#[tokio::test]
async fn a_stalled_stream_does_not_block_the_others() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    // A big producer whose output nobody consumes: it fills its 64 KiB window and stops.
    let big = gw.open(Kind::Exec, json!({"command": ["sh", "-c", "head -c 5000000 /dev/zero"]}));
    gw.stall(big, true);
    gw.wait_for("the window to fill", |s| (s.streams.get(&big)?.stdout.len() >= 65_536).then_some(())).await;
    // Meanwhile a second stream runs to completion.
    let small = gw.open(Kind::Exec, json!({"command": ["echo", "not blocked"]}));
    assert_eq!(gw.wait_exit(small).await, (0, 0, false));
    assert_eq!(gw.stream(small, |s| s.stdout.clone()), b"not blocked\n");
    assert_eq!(gw.stream(big, |s| s.stdout.len()), 65_536, "sent beyond its window");
    gw.stall(big, false);
    assert_eq!(gw.wait_exit(big).await, (0, 0, false));
    assert_eq!(gw.stream(big, |s| s.stdout.len()), 5_000_000);
}

#[tokio::test]
async fn reconnect_resumes_a_pty_and_delivers_output_produced_while_disconnected() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let script = "read go; i=0; while [ $i -lt 20 ]; do echo line-$i; i=$((i+1)); sleep 0.1; done; read x; echo got-$x";
    let id = gw.open(Kind::Pty, json!({"command": ["sh", "-c", script], "cols": 80, "rows": 24}));
    gw.send(id, b"go\n", false).await;
    gw.wait_output(id, "line-1\r\n").await;
    gw.drop_connection();
    // Output keeps coming while disconnected; sandboxd redials with the rotated token.
    gw.wait_connected(2).await;
    gw.wait_output(id, "line-19\r\n").await;
    gw.send(id, b"again\n", false).await;
    let out = gw.wait_output(id, "got-again").await;
    for i in 0..20 {
        assert_eq!(out.matches(&format!("line-{i}\r\n")).count(), 1, "line {i} lost or duplicated: {out}");
    }
    assert_eq!(gw.wait_exit(id).await, (0, 0, false));
    let hello = &gw.hellos()[1];
    assert_eq!(hello["streams"][0]["id"], json!(id), "{hello:?}");
    // The bootstrap token is spent once the sandbox confirmed the first resume token.
    assert!(!gw.valid_tokens().contains(support::BOOTSTRAP));
    assert!(gw.valid_tokens().contains("resume-2"), "{:?}", gw.valid_tokens());
}

#[tokio::test]
async fn a_spent_bootstrap_token_is_rejected() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(gw.url.as_str())
            .expect("req");
    req.headers_mut().insert("authorization", format!("Bearer {}", support::BOOTSTRAP).parse().expect("hv"));
    let tcp = tokio::net::TcpStream::connect(gw.url.trim_start_matches("ws://").trim_end_matches("/tunnel"))
        .await
        .expect("tcp");
    match tokio_tungstenite::client_async(req, tcp).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn pty_round_trip_resize_signals_and_several_at_once() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let a = gw.open(Kind::Pty, json!({"command": ["sh"], "cols": 100, "rows": 30}));
    let b = gw.open(Kind::Pty, json!({"command": ["sh"], "cols": 80, "rows": 24}));
    gw.send(a, b"stty size; echo A-$((20+22))\n", false).await;
    gw.send(b, b"echo B-$((1+1))\n", false).await;
    let out_a = gw.wait_output(a, "A-42").await;
    assert!(out_a.contains("30 100"), "{out_a}");
    gw.wait_output(b, "B-2").await;
    gw.frame(Frame::new(a, Body::Resize { cols: 132, rows: 43 }));
    gw.send(a, b"stty size\n", false).await;
    gw.wait_output(a, "43 132").await;
    // Ctrl-C semantics: SIGINT reaches the foreground job, the shell survives.
    gw.send(b, b"sleep 30; echo after\n", false).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    gw.frame(Frame::new(b, Body::Signal(2)));
    gw.send(b, b"echo alive; exit 3\n", false).await;
    gw.wait_output(b, "alive").await;
    assert_eq!(gw.wait_exit(b).await, (3, 0, false));
    gw.send(a, b"exit\n", false).await;
    assert_eq!(gw.wait_exit(a).await, (0, 0, false));
}

#[tokio::test]
async fn port_streams_reach_a_local_tcp_server() {
    let (gw, _sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.expect("read");
        s.write_all(&[b"echo:".as_slice(), &buf].concat()).await.expect("write");
    });
    let id = gw.open(Kind::Port, json!({"port": port}));
    gw.send(id, b"preview", true).await;
    gw.wait_output(id, "echo:preview").await;
    let closed = gw.open(Kind::Port, json!({"port": 1}));
    let reset = gw.wait_for("reset", |s| s.streams.get(&closed)?.reset.clone()).await;
    assert_eq!(reset.0, sandboxd::codec::code::CONNECT_FAILED);
}

#[tokio::test]
async fn protocol_violations_close_with_a_code_and_sandboxd_reconnects() {
    let (gw, sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    // An unknown frame type: CLOSE UNKNOWN_TYPE, then a fresh connection.
    assert!(gw.inner.send_raw(vec![0, 0, 0, 2, 0xff, 0, 0, 0, 0, 0]));
    gw.wait_for("CLOSE", |s| {
        s.closes.iter().any(|c| c.0 == sandboxd::codec::code::UNKNOWN_TYPE).then_some(())
    })
    .await;
    gw.wait_connected(2).await;
    // A truncated frame, then a second handshake (a semantic violation).
    assert!(gw.inner.send_raw(vec![0, 0, 0, 2, 4, 0, 0, 0, 0, 9, 1]));
    gw.wait_connected(3).await;
    assert!(gw.inner.send_frame(Frame::new(0, Body::Hello(Default::default()))));
    gw.wait_connected(4).await;
    // A message over the size limit: the WebSocket layer refuses it; sandboxd survives.
    assert!(gw.inner.send_raw(vec![0u8; 200_000]));
    gw.wait_connected(5).await;
    let closes: Vec<u16> = gw.inner.lock().closes.iter().map(|c| c.0).collect();
    assert!(closes.contains(&sandboxd::codec::code::PROTOCOL_ERROR), "{closes:?}");
    let id = gw.open(Kind::Exec, json!({"command": ["echo", "still here"]}));
    assert_eq!(gw.wait_exit(id).await, (0, 0, false));
    drop(sb);
}

async fn wait_exit(sb: &mut support::Sandbox) -> std::process::ExitStatus {
    let wait = tokio::time::timeout(std::time::Duration::from_secs(30), sb.child.wait());
    wait.await.expect("sandboxd exits in time").expect("wait")
}

#[tokio::test]
async fn session_ended_makes_sandboxd_exit_cleanly() {
    let (gw, mut sb, _d) = support::connected(Upstream::default(), Transport::Ws).await;
    let code = sandboxd::codec::code::SESSION_ENDED;
    gw.frame(Frame::new(0, Body::Close { code, message: "session stopped".into() }));
    assert!(wait_exit(&mut sb).await.success());
}

#[tokio::test]
async fn a_token_the_gateway_keeps_rejecting_makes_sandboxd_give_up() {
    let (gw, _d) = support::gateway(Upstream::default()).await;
    let mut sb = support::sandboxd_with_token(&gw, Transport::Ws, "forged").await;
    let status = wait_exit(&mut sb).await;
    assert_eq!(status.code(), Some(1), "{status:?}");
    assert_eq!(gw.welcomes(), 0);
}
