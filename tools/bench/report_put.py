"""Single report PUT latency against a running server, one request at a time on one
keep-alive connection: a city reporter corrects today's report of N campuses (the body it
GETs back, with a correction reason). Also times GET /healthz on the same connection, the
same-run baseline for a noisy machine.

Usage: report_put.py BASE_URL DEMO_ACCOUNTS_JSON DATE [N]
Prints: "<put p50 ms> <put p90 ms> <healthz p50 ms> <n>".
"""
import json
import statistics
import subprocess
import sys
import time

import requests

url, accounts, date = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 200
token = subprocess.run([sys.executable, __file__.replace("bench/report_put.py", "lib/sign_in.py"), url, accounts, "reporter.city"],
                       check=True, capture_output=True, text=True).stdout.strip()
session = requests.Session()
session.headers["Authorization"] = f"Bearer {token}"

campuses = sorted({c for i in session.get(f"{url}/api/v1/institutions", timeout=30).json()["institutions"] for c in i["campusIds"]})
bodies = []
for campus in campuses:
    answer = session.get(f"{url}/api/v1/reports/{campus}/{date}", timeout=30)
    if answer.status_code == 200 and answer.json().get("current"):
        bodies.append((campus, answer.json()["current"]["report"]))
    if len(bodies) == count:
        break
if len(bodies) < count:
    sys.exit(f"only {len(bodies)} campuses have a report on {date}")


def timed(call):
    start = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - start) * 1000
    return answer, elapsed


health = []
puts = []
for round_ in range(2):  # the first round warms caches and connections; the second is measured
    for campus, report in bodies:
        report = dict(report, correctionReason=f"benchmark correction {round_}")
        answer, ms = timed(lambda: session.put(f"{url}/api/v1/reports/{campus}/{date}", data=json.dumps(report),
                                              headers={"Content-Type": "application/json"}, timeout=30))
        if answer.status_code not in (200, 201):
            sys.exit(f"PUT {campus}/{date}: {answer.status_code} {answer.text[:300]}")
        _, health_ms = timed(lambda: session.get(f"{url}/healthz", timeout=30))
        if round_ == 1:
            puts.append(ms)
            health.append(health_ms)

deciles = statistics.quantiles(puts, n=10)
print(f"{statistics.median(puts):.2f} {deciles[8]:.2f} {statistics.median(health):.2f} {len(puts)}")
