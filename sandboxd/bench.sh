#!/usr/bin/env bash
# sandboxd benchmarks, one JSON object per line (called by `./dev bench`):
#   sandboxd.binary_size  size of the release binary
#   sandboxd.idle_rss     resident memory of a running sandboxd, connected to a minimal gateway
#                         (a few lines of Python answering HELLO with WELCOME over a unix socket)
#                         with its proxy and sign socket listening, after it settled.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
GOAL=$((10 * 1024 * 1024))
cd "$ROOT"
cargo build --release --locked --quiet --bins -p sandboxd
BIN="$ROOT/target/release/sandboxd"
printf '{"name":"sandboxd.binary_size","value":%d,"unit":"bytes","goal":%d}\n' "$(stat -c %s "$BIN")" "$GOAL"

WORK="$(mktemp -d)"
GW_PID="" SB_PID=""
cleanup() {
  [ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null || true
  [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$WORK/gw.sock" <<'PY' &
import base64, hashlib, json, os, socket, struct, sys, time
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1)
conn, _ = srv.accept()
req = b''
while b'\r\n\r\n' not in req:
    req += conn.recv(4096)
key = [l.split(b':', 1)[1].strip() for l in req.split(b'\r\n') if l.lower().startswith(b'sec-websocket-key')][0]
accept = base64.b64encode(hashlib.sha1(key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())
conn.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + b'\r\n\r\n')
conn.recv(65536)  # HELLO
body = json.dumps({"version": 1, "sessionId": "ses_bench", "resumeToken": "r1", "window": 65536, "streams": []}).encode()
frame = struct.pack('>IBBI', 0, 0x02, 0, len(body)) + body
ws = bytes([0x82, 126]) + struct.pack('>H', len(frame)) + frame if len(frame) > 125 else bytes([0x82, len(frame)]) + frame
conn.sendall(ws)
deadline = time.time() + 60
conn.settimeout(1)
while time.time() < deadline:
    try:
        if not conn.recv(65536): break
    except socket.timeout:
        pass
PY
GW_PID=$!
for _ in $(seq 1 50); do [ -S "$WORK/gw.sock" ] && break; sleep 0.1; done

cat >"$WORK/input.json" <<JSON
{"sessionId":"ses_bench","bootstrapToken":"bench","gateway":{"unixSocket":"$WORK/gw.sock"},
 "proxyListen":"127.0.0.1:0","user":"$(id -un)",
 "paths":{"caBundle":"$WORK/ca.pem","systemCaCert":null,"updateCaCertificates":null,"signSocket":"$WORK/sign.sock"}}
JSON
SANDBOXD_LOG=error "$BIN" run --input "$WORK/input.json" >"$WORK/ready" 2>"$WORK/stderr" &
SB_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
PROXY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["proxy"])' "$WORK/ready")"
CONNECTED=false
for _ in $(seq 1 50); do
  if "$BIN" health --addr "$PROXY" >/dev/null 2>&1; then CONNECTED=true; break; fi
  sleep 0.1
done
[ "$CONNECTED" = true ] || { echo "bench: sandboxd did not connect" >&2; cat "$WORK/stderr" >&2; exit 1; }
sleep 2
RSS_KB="$(awk '/^VmRSS:/ {print $2}' "/proc/$SB_PID/status")"
printf '{"name":"sandboxd.idle_rss","value":%d,"unit":"bytes","goal":%d}\n' "$((RSS_KB * 1024))" "$GOAL"
