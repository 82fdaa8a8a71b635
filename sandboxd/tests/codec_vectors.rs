//! Given the shared vectors in schema/tunnel/vectors, the Rust codec decodes and re-encodes
//! every valid frame and rejects every invalid input with the named code.

use sandboxd::codec::{decode, encode, Body, Frame};
use serde_json::{json, Value};
use std::path::PathBuf;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn to_json(frame: &Frame) -> Value {
    let (t, mut v) = match &frame.body {
        Body::Hello(m) => ("hello", json!({ "json": m })),
        Body::Welcome(m) => ("welcome", json!({ "json": m })),
        Body::Head(m) => ("head", json!({ "json": m })),
        Body::Trailers(m) => ("trailers", json!({ "json": m })),
        Body::Open { kind, meta } => ("open", json!({ "kind": kind.name(), "meta": meta })),
        Body::Data(b) => ("data", json!({ "data": hex(b) })),
        Body::Window(c) => ("window", json!({ "credit": c })),
        Body::Resize { cols, rows } => ("resize", json!({ "cols": cols, "rows": rows })),
        Body::Signal(s) => ("signal", json!({ "signal": s })),
        Body::Exit { code, signal, timed_out } => {
            ("exit", json!({ "code": code, "signal": signal, "timedOut": timed_out }))
        }
        Body::Reset { code, message } => ("reset", json!({ "code": code, "message": message })),
        Body::Close { code, message } => ("close", json!({ "code": code, "message": message })),
        Body::Ping(o) => ("ping", json!({ "opaque": hex(o) })),
        Body::Pong(o) => ("pong", json!({ "opaque": hex(o) })),
    };
    let map = v.as_object_mut().expect("object");
    map.insert("type".into(), t.into());
    map.insert("stream".into(), frame.stream.into());
    map.insert("flags".into(), frame.flags.into());
    v
}

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/tunnel/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("vectors dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Every entry of one section ("valid" or "invalid") across the vector files: (name, bytes, entry).
fn entries(section: &str) -> Vec<(String, Vec<u8>, Value)> {
    let mut out = Vec::new();
    for file in vector_files() {
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
        for v in doc[section].as_array().expect("section") {
            let name = v["name"].as_str().expect("name").to_owned();
            out.push((name, unhex(v["hex"].as_str().expect("hex")), v.clone()));
        }
    }
    out
}

#[test]
fn valid_vectors_decode_and_reencode() {
    let valid = entries("valid");
    assert!(valid.len() >= 25, "only {} valid vectors", valid.len());
    for (name, bytes, v) in valid {
        let frame = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(to_json(&frame), v["frame"], "{name}");
        let again = encode(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decode(&again).expect("re-decode"), frame, "{name}");
        let is_json = matches!(
            frame.body,
            Body::Hello(_) | Body::Welcome(_) | Body::Head(_) | Body::Trailers(_) | Body::Open { .. }
        );
        if !is_json {
            assert_eq!(again, bytes, "{name}: encoding differs");
        }
    }
}

#[test]
fn invalid_vectors_fail_with_their_code() {
    let invalid = entries("invalid");
    assert!(invalid.len() >= 30, "only {} invalid vectors", invalid.len());
    for (name, bytes, v) in invalid {
        match decode(&bytes) {
            Ok(f) => panic!("{name}: decoded {f:?}"),
            Err(e) => assert_eq!(e.code.as_str(), v["error"].as_str().expect("error"), "{name}"),
        }
    }
}

#[test]
fn encode_rejects_what_decode_rejects() {
    assert!(encode(&Frame::new(0, Body::Data(bytes::Bytes::new()))).is_err());
    assert!(encode(&Frame::new(1, Body::Window(0))).is_err());
    assert!(encode(&Frame::new(1, Body::Data(vec![0; 65_537].into()))).is_err());
    assert!(encode(&Frame::new(1, Body::Exit { code: 0, signal: 0, timed_out: false })).is_err());
}

/// Found by the fuzzer: JSON numbers must survive decode → encode → decode exactly
/// (serde_json's default float parser rounds `54e120` to a neighbouring float).
#[test]
fn json_numbers_round_trip_exactly() {
    for number in ["54e120", "5.3999999999999995e+121", "1e-300", "0.1", "18446744073709551615", "-0.0"] {
        let payload = format!("{{\"versions\":[1],\"to\":{number}}}");
        let mut bytes = vec![0, 0, 0, 0, 1, 0];
        bytes.extend((payload.len() as u32).to_be_bytes());
        bytes.extend(payload.as_bytes());
        let frame = decode(&bytes).expect("decodes");
        let again = decode(&encode(&frame).expect("encodes")).expect("re-decodes");
        assert_eq!(again, frame, "number {number}");
    }
}
