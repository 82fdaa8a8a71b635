//! Given the shared vectors in schema/plan/vectors/authority.json, the Rust authority parser gives
//! exactly the host, port and kind the TypeScript one gives, and refuses the same inputs with the
//! same codes.

use sandboxd::authority::parse;
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/plan/vectors/authority.json");
    serde_json::from_slice(&std::fs::read(&file).expect("read vectors")).expect("json")
}

#[test]
fn every_valid_vector_parses_to_the_same_authority() {
    let doc = vectors();
    let valid = doc["valid"].as_array().expect("valid");
    assert!(valid.len() > 20);
    let mut failures = Vec::new();
    for v in valid {
        let (name, input) = (v["name"].as_str().expect("name"), v["input"].as_str().expect("input"));
        let want = (
            v["host"].as_str().expect("host").to_owned(),
            v["port"].as_u64().map(|p| u16::try_from(p).expect("port")),
            v["kind"].as_str().expect("kind"),
        );
        match parse(input) {
            Ok(a) if (a.host.clone(), a.port, a.kind.as_str()) == want => {}
            other => failures.push(format!("{name}: {input:?} → {other:?}, want {want:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invalid_vector_is_refused_with_its_code() {
    let doc = vectors();
    let invalid = doc["invalid"].as_array().expect("invalid");
    assert!(invalid.len() > 40);
    let mut failures = Vec::new();
    for v in invalid {
        let (name, input, code) = (
            v["name"].as_str().expect("name"),
            v["input"].as_str().expect("input"),
            v["code"].as_str().expect("code"),
        );
        match parse(input) {
            Err(e) if e.code() == code => {}
            other => failures.push(format!("{name}: {input:?} → {other:?}, want {code}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
