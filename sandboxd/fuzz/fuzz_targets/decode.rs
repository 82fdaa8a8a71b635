#![no_main]
//! Any bytes: decode never panics; whatever decodes re-encodes to a frame that decodes equal.
use libfuzzer_sys::fuzz_target;
use sandboxd::codec::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = decode(data) {
        let bytes = encode(&frame).expect("a decoded frame encodes");
        assert_eq!(decode(&bytes).expect("re-decodes"), frame);
    }
});
