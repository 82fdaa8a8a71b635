//! sandboxd: the in-sandbox daemon. Every way out of the sandbox goes through the tunnel.
pub mod codec;
pub mod ports;
pub mod tunnel;
