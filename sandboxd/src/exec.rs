//! `exec` streams: run a command with stdin/stdout/stderr over the stream, report the exit code,
//! kill the whole process group at the timeout (PROTOCOL.md §5.2).

use crate::child::{exit_parts, signal_group, ChildEnv};
use crate::codec::{code, Body, JsonObject};
use crate::tunnel::mux::{StreamIo, StreamTx};
use crate::tunnel::stream::Inbound;
use bytes::Bytes;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecMeta {
    command: Vec<String>,
    cwd: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    timeout_ms: Option<u64>,
}

/// How long output readers may run after the process exited (grandchildren holding pipes).
const DRAIN: Duration = Duration::from_secs(2);

pub async fn serve(io: StreamIo, meta: JsonObject, child_env: Arc<ChildEnv>) {
    let StreamIo { mut rx, tx, .. } = io;
    let meta = match serde_json::from_value::<ExecMeta>(meta.into()) {
        Ok(m) if !m.command.is_empty() => m,
        _ => return tx.reset(code::REFUSED, "meta needs a non-empty command"),
    };
    let mut cmd = child_env.command(&meta.command[0], &meta.command[1..], meta.cwd.as_deref(), &meta.env);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.process_group(0).kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return tx.reset(code::SPAWN_FAILED, &format!("{}: {e}", meta.command[0])),
    };
    let pgid = child.id().unwrap_or(0);
    let stdout = child.stdout.take().map(|r| tokio::spawn(forward(r, tx.clone(), false)));
    let stderr = child.stderr.take().map(|r| tokio::spawn(forward(r, tx.clone(), true)));
    let mut stdin = child.stdin.take();
    let input_tx = tx.clone();
    let input = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            match msg {
                Inbound::Data(b) => {
                    if let Some(w) = stdin.as_mut() {
                        if w.write_all(&b).await.is_err() {
                            stdin = None;
                        }
                    }
                    input_tx.consumed(b.len());
                }
                Inbound::Fin => stdin = None,
                Inbound::Signal(sig) => signal_group(pgid, i32::from(sig)),
                Inbound::Reset { .. } => {
                    signal_group(pgid, libc::SIGKILL);
                    return;
                }
                _ => {}
            }
        }
    });
    let timeout = meta.timeout_ms.map(Duration::from_millis).unwrap_or(Duration::MAX);
    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (status, false),
        Err(_) => {
            signal_group(pgid, libc::SIGKILL);
            (child.wait().await, true)
        }
    };
    for reader in [stdout, stderr].into_iter().flatten() {
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN, reader).await.is_err() {
            abort.abort();
        }
    }
    input.abort();
    let (code, signal) = match status {
        Ok(s) => exit_parts(s),
        Err(_) => (-1, 0),
    };
    tx.finish(Body::Exit { code, signal, timed_out });
}

async fn forward<R: AsyncRead + Unpin>(mut reader: R, tx: StreamTx, stderr: bool) {
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 || tx.write(Bytes::copy_from_slice(&buf[..n]), stderr).await.is_err() {
            return;
        }
    }
}
