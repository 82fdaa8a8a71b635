//! sandboxd: the in-sandbox daemon. Every way out of the sandbox goes through the tunnel.
pub mod authority;
pub mod child;
pub mod codec;
pub mod daemon;
pub mod exec;
pub mod ports;
pub mod proxy;
pub mod pty;
pub mod sign;
pub mod startup;
pub mod tls;
pub mod tunnel;
