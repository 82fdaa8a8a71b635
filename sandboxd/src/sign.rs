//! Commit signing without a key in the sandbox: `airlock-sign` hands the payload to sandboxd
//! over a unix socket that only the sandbox user (and root) may use; sandboxd asks the gateway
//! over a `sign` stream (PROTOCOL.md §5.5) and returns the armored signature.
//!
//! Local socket protocol: one JSON line `{"namespace": "git", "publicKey": "…"?}`, then the
//! payload until the client shuts down writing. Reply: `ok\n` + signature, or `error: …\n`.

use crate::codec::{Body, JsonObject, Kind};
use crate::tunnel::mux::Mux;
use crate::tunnel::stream::Inbound;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

const MAX_PAYLOAD: u64 = 16 << 20;
const MAX_SIGNATURE: usize = 1 << 20;
const SIGN_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    namespace: String,
    public_key: Option<String>,
}

pub async fn serve(listener: UnixListener, mux: Mux, allowed_uid: Option<u32>) {
    while let Ok((conn, _)) = listener.accept().await {
        let uid = conn.peer_cred().map(|c| c.uid()).ok();
        let permitted = uid == Some(0) || uid == Some(nix::unistd::geteuid().as_raw()) || uid == allowed_uid;
        if !permitted {
            tracing::warn!(?uid, "sign socket: refused a peer");
            continue;
        }
        let mux = mux.clone();
        tokio::spawn(async move {
            let (reply, mut writer) = {
                let (read, write) = conn.into_split();
                (handle(read, &mux).await, write)
            };
            let bytes = match reply {
                Ok(sig) => [b"ok\n".as_slice(), &sig].concat(),
                Err(e) => format!("error: {e}\n").into_bytes(),
            };
            let _ = writer.write_all(&bytes).await;
            let _ = writer.shutdown().await;
        });
    }
}

async fn handle(read: tokio::net::unix::OwnedReadHalf, mux: &Mux) -> Result<Vec<u8>, String> {
    let mut reader = BufReader::new(read.take(MAX_PAYLOAD));
    let mut line = String::new();
    reader.read_line(&mut line).await.map_err(|e| e.to_string())?;
    let req: Request = serde_json::from_str(&line).map_err(|e| format!("bad request: {e}"))?;
    let mut payload = Vec::new();
    reader.read_to_end(&mut payload).await.map_err(|e| e.to_string())?;
    let mut meta: JsonObject =
        json!({ "namespace": req.namespace, "format": "ssh" }).as_object().cloned().unwrap_or_default();
    if let Some(k) = req.public_key {
        meta.insert("publicKey".into(), k.into());
    }
    let io = mux.open(Kind::Sign, meta, SIGN_TIMEOUT).await.map_err(|e| e.to_string())?;
    let (mut rx, tx) = (io.rx, io.tx);
    let exchange = async {
        for chunk in payload.chunks(32 * 1024) {
            tx.write(Bytes::copy_from_slice(chunk), false).await.map_err(|e| e.to_string())?;
        }
        tx.finish(Body::Data(Bytes::new()));
        let mut signature = Vec::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Inbound::Data(b) => {
                    tx.consumed(b.len());
                    signature.extend_from_slice(&b);
                    if signature.len() > MAX_SIGNATURE {
                        return Err("signature too large".to_owned());
                    }
                }
                Inbound::Fin => return Ok(signature),
                Inbound::Reset { code, message } => {
                    return Err(format!("the gateway refused ({code}): {message}"))
                }
                _ => {}
            }
        }
        Err("stream ended".to_owned())
    };
    tokio::time::timeout(SIGN_TIMEOUT, exchange).await.map_err(|_| "timed out".to_owned())?
}

/// Client side, used by `airlock-sign` (blocking, no runtime).
pub fn request_signature(
    socket: &std::path::Path,
    namespace: &str,
    public_key: Option<&str>,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    let mut conn =
        std::os::unix::net::UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    conn.set_read_timeout(Some(SIGN_TIMEOUT + Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let header = json!({ "namespace": namespace, "publicKey": public_key });
    conn.write_all(format!("{header}\n").as_bytes()).map_err(|e| e.to_string())?;
    conn.write_all(payload).map_err(|e| e.to_string())?;
    conn.shutdown(std::net::Shutdown::Write).map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).map_err(|e| e.to_string())?;
    match reply.strip_prefix(b"ok\n") {
        Some(sig) => Ok(sig.to_vec()),
        None => Err(String::from_utf8_lossy(&reply).trim().to_owned()),
    }
}
