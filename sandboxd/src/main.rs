//! sandboxd: the in-sandbox daemon. Tunnel, PTY, exec, egress proxy and ports land here (issue 5).

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("sandboxd {version}");
        return;
    }
    eprintln!("sandboxd {version}: not yet able to serve; see schema/tunnel/PROTOCOL.md");
    std::process::exit(2);
}
