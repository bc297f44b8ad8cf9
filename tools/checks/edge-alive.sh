#!/usr/bin/env bash
# Holds ~300 idle and ~100 stalled (half-head) connections against the live server and checks
# that GET /healthz still answers, quickly, meanwhile. Run by tools/test's checks stage; the
# latency figures themselves are tools/bench/edge's (docs/benchmarks.md).
set -euo pipefail
exec python "$(dirname "$0")/edge_alive.py"
