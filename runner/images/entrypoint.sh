#!/bin/sh
# The sandbox's entrypoint (under tini). With arguments, run them (builds,
# diagnostics, tests). Otherwise run sandboxd, which reads its startup input as
# JSON from $AIRLOCK_STARTUP_FILE when set, else from stdin — the Docker runner
# writes it to the container's stdin at start, so it never touches disk.
set -eu
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
if [ -n "${AIRLOCK_STARTUP_FILE:-}" ]; then
  exec /usr/local/bin/sandboxd run --input "$AIRLOCK_STARTUP_FILE"
fi
exec /usr/local/bin/sandboxd run
