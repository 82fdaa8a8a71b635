//! Given sandboxd's proxy: it reports the CONNECT target it parsed and the raw server name, Host
//! header and URI it saw, so the gateway can check that they agree (ADR 0105); a CONNECT target
//! outside the grammar opens no tunnel, and the refusal is the gateway's.

mod support;

use serde_json::Value;
use support::upstream::Upstream;
use support::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the test gateway echoed as the stream's `authority` (the `x-seen` header of `/echo`).
fn echoed_authority(head: &str) -> Value {
    let line = head.lines().find(|l| l.to_ascii_lowercase().starts_with("x-seen:")).expect("x-seen");
    let seen: Value = serde_json::from_str(line.split_once(':').expect("header").1.trim()).expect("json");
    seen["authority"].clone()
}

async fn curl(args: &[&str]) -> String {
    let curl = support::find_program("curl", None).expect("curl");
    let out = tokio::process::Command::new(curl).args(args).output().await.expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn reports_the_parsed_connect_target_and_every_raw_authority_it_saw() {
    if support::find_program("curl", None).is_none() {
        return support::skip("curl is not installed");
    }
    let (_gw, sb, _dir) = support::connected(Upstream::default(), Transport::Ws).await;
    let proxy = format!("http://{}", sb.proxy);
    let ca = sb.ca_bundle.display().to_string();
    // The reported attack's Host header is passed on raw, beside the CONNECT target it contradicts.
    let hostile = "127.0.0.1:9999#.pkgs.example.org";
    let head = curl(&[
        "-sS",
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-p",
        "--proxy",
        &proxy,
        "--cacert",
        &ca,
        "-H",
        &format!("Host: {hostile}"),
        "https://X.Pkgs.Example.org/echo",
    ])
    .await;
    let authority = echoed_authority(&head);
    assert_eq!(authority["host"], "x.pkgs.example.org", "{head}");
    assert_eq!(authority["port"], 443);
    assert_eq!(authority["seen"]["connect"], "X.Pkgs.Example.org:443");
    assert_eq!(authority["seen"]["sni"], "x.pkgs.example.org");
    assert_eq!(authority["seen"]["host"], hostile);
    // Plain HTTP in absolute form: the URI's authority, with the default port, and the Host header.
    let head = curl(&[
        "-sS",
        "-D",
        "-",
        "-o",
        "/dev/null",
        "--proxy",
        &proxy,
        "-H",
        "Host: elsewhere.test",
        "http://plain.example.test/echo",
    ])
    .await;
    let authority = echoed_authority(&head);
    assert_eq!(
        (authority["host"].as_str(), authority["port"].as_u64()),
        (Some("plain.example.test"), Some(80))
    );
    assert_eq!(authority["seen"], serde_json::json!({"uri": "plain.example.test", "host": "elsewhere.test"}));
}

#[tokio::test]
async fn a_connect_target_outside_the_grammar_opens_no_tunnel() {
    let (_gw, sb, _dir) = support::connected(Upstream::default(), Transport::Ws).await;
    for target in
        ["127.1:9999", "0x7f.0.0.1:443", "[::ffff:127.0.0.1]:443", "api.example.test", "a.test:0443"]
    {
        let mut socket = tokio::net::TcpStream::connect(&sb.proxy).await.expect("connect");
        let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read_to_end(&mut answer));
        let _ = read.await;
        let answer = String::from_utf8_lossy(&answer);
        // The test gateway answers every request it does not know with its 403: the CONNECT was
        // handed to the gateway to decide (and audit), not tunnelled.
        assert!(answer.starts_with("HTTP/1.1 403"), "{target}: {answer}");
        assert!(answer.contains("denied by the test gateway"), "{target}: {answer}");
    }
}
