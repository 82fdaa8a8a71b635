#!/usr/bin/env bash
# Fuzz the tunnel decoder for a bounded time: sandboxd/fuzz/run.sh SECONDS (default 60).
# Installs cargo-fuzz into <repo>/.tools/cargo if missing. Exits non-zero on a crash.
set -euo pipefail
SECONDS_TO_RUN="${1:-60}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOOLS="$ROOT/.tools/cargo"
export PATH="$TOOLS/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz into $TOOLS" >&2
  cargo install --locked --quiet --root "$TOOLS" cargo-fuzz
fi
# cargo-fuzz needs nightly-only flags (-Zsanitizer); stable allows them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
cd "$HERE/.."
mkdir -p fuzz/corpus/decode
# Seed the corpus with the shared vectors' bytes.
python3 - "$ROOT/schema/tunnel/vectors" fuzz/corpus/decode <<'PY' || true
import json, sys, pathlib, hashlib
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in src.glob('*.json'):
    doc = json.loads(f.read_text())
    for v in doc.get('valid', []) + doc.get('invalid', []):
        b = bytes.fromhex(v['hex'])
        (dst / hashlib.sha1(b).hexdigest()).write_bytes(b)
PY
exec cargo fuzz run decode -- -max_total_time="$SECONDS_TO_RUN" -max_len=70000 -rss_limit_mb=2048
