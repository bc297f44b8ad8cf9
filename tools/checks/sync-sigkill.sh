#!/usr/bin/env bash
# The server killed (SIGKILL) in the middle of a push storm and restarted on the same database:
# nothing lost, nothing applied twice, and a device resuming from its pre-crash cursor ends
# with exactly what a fresh device pulls. Starts its own server (tools/test's checks stage).
set -euo pipefail
exec python "$(dirname "$0")/sync_sigkill.py"
