//! `pty` streams: a shell or agent in a pseudo-terminal; input, output, resize, signals and the
//! exit code travel over the stream (PROTOCOL.md §5.1). Several PTYs run side by side.

use crate::child::{exit_parts, signal_group, ChildEnv};
use crate::codec::{code, Body, JsonObject};
use crate::tunnel::mux::{StreamIo, StreamTx};
use crate::tunnel::stream::Inbound;
use bytes::Bytes;
use nix::pty::{openpty, Winsize};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::unix::AsyncFd;

#[derive(Deserialize)]
struct PtyMeta {
    command: Option<Vec<String>>,
    cwd: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default = "default_cols")]
    cols: u16,
    #[serde(default = "default_rows")]
    rows: u16,
    term: Option<String>,
}

fn default_cols() -> u16 {
    80
}
fn default_rows() -> u16 {
    24
}

/// After the process exits, output still in the terminal is read for at most this long.
const DRAIN: Duration = Duration::from_secs(2);
/// Between SIGHUP and SIGKILL when the gateway resets the stream.
const HANGUP_GRACE: Duration = Duration::from_secs(5);

fn winsize(cols: u16, rows: u16) -> Winsize {
    Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 }
}

fn resize(master: &OwnedFd, cols: u16, rows: u16) {
    let ws = winsize(cols, rows);
    // SAFETY: TIOCSWINSZ reads one `winsize` from a valid pointer on an fd we own.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws as *const Winsize) };
}

fn set_nonblocking(fd: &OwnedFd) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map(|_| ())
}

pub async fn serve(io: StreamIo, meta: JsonObject, child_env: Arc<ChildEnv>) {
    let StreamIo { mut rx, tx, .. } = io;
    let Ok(meta) = serde_json::from_value::<PtyMeta>(meta.into()) else {
        return tx.reset(code::REFUSED, "bad pty meta");
    };
    let (program, args) = match &meta.command {
        Some(c) if !c.is_empty() => (c[0].clone(), c[1..].to_vec()),
        _ => (child_env.shell.clone(), vec!["-l".to_owned()]),
    };
    let pty = match openpty(Some(&winsize(meta.cols, meta.rows)), None) {
        Ok(p) => p,
        Err(e) => return tx.reset(code::SPAWN_FAILED, &format!("openpty: {e}")),
    };
    let mut env = meta.env.clone();
    env.insert("TERM".into(), meta.term.clone().unwrap_or_else(|| "xterm-256color".into()));
    let mut cmd = child_env.command(&program, &args, meta.cwd.as_deref(), &env);
    let stdio = |fd: &OwnedFd| fd.try_clone().map(Stdio::from);
    match (stdio(&pty.slave), stdio(&pty.slave), stdio(&pty.slave)) {
        (Ok(i), Ok(o), Ok(e)) => cmd.stdin(i).stdout(o).stderr(e),
        _ => return tx.reset(code::SPAWN_FAILED, "dup pty"),
    };
    // SAFETY: only async-signal-safe calls between fork and exec: a new session whose
    // controlling terminal is the pty slave (already on fd 0).
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.kill_on_drop(true);
    let spawned = cmd.spawn();
    drop(pty.slave);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return tx.reset(code::SPAWN_FAILED, &format!("{program}: {e}")),
    };
    let pid = child.id().unwrap_or(0);
    let registered = set_nonblocking(&pty.master).map_err(std::io::Error::from).and_then(|_| {
        // SAFETY: an OwnedFd is a valid open descriptor that stays the same until it is dropped.
        unsafe { AsyncFd::register(pty.master) }.map_err(|e| std::io::Error::other(e.to_string()))
    });
    let master = match registered {
        Ok(m) => Arc::new(m),
        Err(e) => {
            signal_group(pid, libc::SIGKILL);
            return tx.reset(code::SPAWN_FAILED, &format!("pty: {e}"));
        }
    };
    let output = tokio::spawn(read_output(master.clone(), tx.clone()));
    let input_master = master.clone();
    let input_tx = tx.clone();
    let input = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            match msg {
                Inbound::Data(b) => {
                    if write_all(&input_master, &b).await.is_err() {
                        break;
                    }
                    input_tx.consumed(b.len());
                }
                Inbound::Resize { cols, rows } => resize(input_master.get_ref(), cols, rows),
                Inbound::Signal(sig) => {
                    // The terminal's foreground job gets it (Ctrl-C semantics), else the session.
                    let target = nix::unistd::tcgetpgrp(input_master.get_ref().as_fd())
                        .map(|p| p.as_raw() as u32)
                        .unwrap_or(pid);
                    signal_group(target, i32::from(sig));
                }
                Inbound::Reset { .. } => {
                    signal_group(pid, libc::SIGHUP);
                    tokio::time::sleep(HANGUP_GRACE).await;
                    signal_group(pid, libc::SIGKILL);
                    return;
                }
                _ => {}
            }
        }
    });
    let status = child.wait().await;
    let abort = output.abort_handle();
    if tokio::time::timeout(DRAIN, output).await.is_err() {
        abort.abort();
    }
    input.abort();
    let (code, signal) = status.map(exit_parts).unwrap_or((-1, 0));
    tx.finish(Body::Exit { code, signal, timed_out: false });
}

async fn read_output(master: Arc<AsyncFd<OwnedFd>>, tx: StreamTx) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(mut guard) = master.readable().await else {
            return;
        };
        match guard.try_io(|fd| nix::unistd::read(fd.get_ref(), &mut buf).map_err(std::io::Error::from)) {
            Ok(Ok(0)) | Ok(Err(_)) => return, // EIO: every slave fd is closed
            Ok(Ok(n)) => {
                if tx.write(Bytes::copy_from_slice(&buf[..n]), false).await.is_err() {
                    return;
                }
            }
            Err(_would_block) => continue,
        }
    }
}

async fn write_all(master: &AsyncFd<OwnedFd>, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let mut guard = master.writable().await?;
        match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(std::io::Error::from)) {
            Ok(Ok(n)) => data = &data[n..],
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
    Ok(())
}
