//! `port` streams: the gateway reaches a TCP port inside the sandbox (previews).

use crate::codec::{code, JsonObject};
use crate::tunnel::mux::StreamIo;
use crate::tunnel::pipe::pipe;
use serde::Deserialize;
use tokio::net::TcpStream;

#[derive(Deserialize)]
struct PortMeta {
    port: u16,
}

pub async fn serve(io: StreamIo, meta: JsonObject) {
    let port = match serde_json::from_value::<PortMeta>(meta.into()) {
        Ok(m) if m.port != 0 => m.port,
        _ => return io.tx.reset(code::REFUSED, "meta needs a port in 1..65535"),
    };
    match TcpStream::connect(("127.0.0.1", port)).await {
        Ok(socket) => {
            let _ = socket.set_nodelay(true);
            pipe(io, socket).await;
        }
        Err(e) => io.tx.reset(code::CONNECT_FAILED, &format!("127.0.0.1:{port}: {e}")),
    }
}
