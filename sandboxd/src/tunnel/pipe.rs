//! Splice a stream and a byte socket both ways with credits: used by `port` streams and by
//! upgraded (101) HTTP exchanges.

use super::mux::StreamIo;
use super::stream::Inbound;
use crate::codec::{code, Body};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Copy until both directions are finished or either side resets.
pub async fn pipe<S>(io: StreamIo, socket: S)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let StreamIo { mut rx, tx, .. } = io;
    let (mut reader, mut writer) = tokio::io::split(socket);
    let out_tx = tx.clone();
    let outbound = tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => {
                    out_tx.finish(Body::Data(Bytes::new()));
                    return;
                }
                Ok(n) => {
                    if out_tx.write(Bytes::copy_from_slice(&buf[..n]), false).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    out_tx.reset(code::CANCEL, &format!("socket read: {e}"));
                    return;
                }
            }
        }
    });
    let mut outbound = outbound;
    loop {
        let msg = tokio::select! {
            _ = &mut outbound => return,
            msg = rx.recv() => msg,
        };
        match msg {
            Some(Inbound::Data(b)) => {
                if let Err(e) = writer.write_all(&b).await {
                    tx.reset(code::CANCEL, &format!("socket write: {e}"));
                    outbound.abort();
                    return;
                }
                tx.consumed(b.len());
            }
            Some(Inbound::Fin) => {
                let _ = writer.shutdown().await;
            }
            Some(Inbound::Reset { .. }) | None => {
                outbound.abort();
                return;
            }
            Some(_) => {}
        }
    }
}
