"""GET /healthz stays alive while idle and stalled connections are held (HEALTHCLOUD_URL).

Asserts only liveness: every /healthz answered 200 within 2 s and the held connections were
really open. Timing figures belong to tools/bench/edge, not to CI on a shared machine.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import edge_load  # noqa: E402

IDLE, STALLED = 300, 100

result = asyncio.run(edge_load.measure(os.environ["HEALTHCLOUD_URL"], IDLE, STALLED, requests=200, concurrency=2, timeout=2.0))
print(f"  held {result['idle']} idle + {result['stalled']} stalled; /healthz p50 {result['p50_ms']} ms, "
      f"p99 {result['p99_ms']} ms, {result['errors']} errors")
failures = []
if result["errors"]:
    failures.append(f"{result['errors']} /healthz requests failed or took over 2 s: {result['first_errors']}")
if result["requests"] < 200:
    failures.append(f"only {result['requests']} of 200 /healthz answered")
if result["idle"] + result["stalled"] < 0.9 * (IDLE + STALLED):
    failures.append(f"only {result['idle'] + result['stalled']} of {IDLE + STALLED} connections were held open")
for failure in failures:
    print("  FAIL", failure)
sys.exit(1 if failures else 0)
