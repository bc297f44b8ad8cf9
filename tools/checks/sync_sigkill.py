"""SIGKILL in the middle of a sync push storm (see sync-sigkill.sh).

Four devices of the city leader push acknowledgements in batches of 10 (ids per device
1..150), with retries on any network error. Once a sixth is answered, the server is killed with
SIGKILL and started again on the same SQLite file. Every batch is retried with the same ids
and bodies until answered. Then: every mutation has exactly one answer, no warning carries two
acknowledgements, each device's lastMutationId is its last id, and a device that resumes from
its pre-crash cursor holds exactly what a fresh device pulls.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pyotp
import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(REPO, ".build", "debug", "healthcloud")
work = tempfile.mkdtemp(prefix="hc-sigkill-")
db = os.path.join(work, "hc.sqlite")
env = dict(os.environ, HEALTHCLOUD_DATA_DIR=work, HEALTHCLOUD_DEMO_HISTORY_DAYS="14", HEALTHCLOUD_LOG_LEVEL="warning")
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("  FAIL", message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
BASE = f"http://127.0.0.1:{port}"


def start():
    process = subprocess.Popen([BIN, "serve", "--demo", "--hostname", "127.0.0.1", "--port", str(port), "--database", db],
                               env=env, stdout=open(os.path.join(work, "server.log"), "a"), stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if requests.get(BASE + "/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


server = start()
try:
    accounts = json.load(open(os.path.join(work, "demo-accounts.json")))
    city = next(a for a in accounts if a.get("username") == "leader.city")
    mfa = requests.post(BASE + "/api/v1/auth/staff/login", json={"username": city["username"], "password": city["password"]}).json()["mfaToken"]
    token = requests.post(BASE + "/api/v1/auth/staff/mfa", json={"mfaToken": mfa, "code": pyotp.TOTP(city["totpSecret"]).now()}).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}

    def pull_all(client, cursor=None, store=None):
        store = {} if store is None else store
        last = 0
        while True:
            r = requests.post(BASE + "/api/v1/sync/pull", headers=headers, timeout=30,
                              json={"protocolVersion": 1, "schemaVersion": 1, "clientId": client, "cursor": cursor, "limit": 200})
            r.raise_for_status()
            page = r.json()
            if page["reset"]:
                store = {}
            for c in page["changes"]:
                key = (c["collection"], c["id"])
                if c["op"] == "delete":
                    store.pop(key, None)
                else:
                    store[key] = c["data"]
            cursor, last = page["cursor"], page["lastMutationId"]
            if not page["hasMore"]:
                return store, cursor, last

    before, before_cursor, _ = pull_all("sigkill-resumer")
    open_ids = sorted(int(k[1]) for k, v in before.items() if k[0] == "warnings" and v and v.get("status") == "open")
    check(len(open_ids) >= 5, f"the demo has open warnings ({len(open_ids)})")
    answers = {}
    lock = threading.Lock()
    PER_DEVICE = 150
    TOTAL = 4 * PER_DEVICE

    def device(n):
        client = f"sigkill-device-{n}"
        mutations = [{"id": i, "name": "acknowledgeWarning", "args": {"warningId": open_ids[(i + n) % len(open_ids)], "note": f"device {n} #{i}"}}
                     for i in range(1, PER_DEVICE + 1)]
        for start_index in range(0, PER_DEVICE, 10):
            batch = mutations[start_index:start_index + 10]
            for attempt in range(600):
                try:
                    r = requests.post(BASE + "/api/v1/sync/push", headers=headers, timeout=10,
                                      json={"protocolVersion": 1, "clientId": client, "mutations": batch})
                    if r.status_code == 200:
                        results = r.json()["results"]
                        if any(x["status"] == "retry" for x in results) or len(results) < len(batch):
                            time.sleep(0.2)
                            continue
                        with lock:
                            for x in results:
                                answers[(client, x["id"])] = x["status"]
                        break
                    check(r.status_code < 500, f"{client}: push answered {r.status_code} {r.text[:120]}")
                except requests.RequestException:
                    pass
                time.sleep(0.2)

    threads = [threading.Thread(target=device, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    # Kill once a sixth of the storm is answered: the rest is in flight or not sent yet.
    deadline = time.time() + 120
    while len(answers) < TOTAL // 6 and time.time() < deadline:
        time.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    killed_with = len(answers)
    print(f"  server killed with {killed_with} of {TOTAL} mutations answered")
    server = start()
    for t in threads:
        t.join()
    check(len(answers) == TOTAL, f"every mutation answered ({len(answers)} of {TOTAL})")
    check(0 < killed_with < TOTAL, f"the kill landed mid-storm ({killed_with} answered before it)")

    # Nothing applied twice: one acknowledgement per warning at most, and per device the last id.
    for wid in sorted({open_ids[(i + n) % len(open_ids)] for n in range(4) for i in range(1, PER_DEVICE + 1)}):
        events = requests.get(f"{BASE}/api/v1/warnings/{wid}", headers=headers).json()["events"]
        acks = sum(1 for e in events if e["kind"] == "acknowledged")
        check(acks <= 1, f"warning {wid} acknowledged {acks} times")
    applied = sum(1 for v in answers.values() if v == "applied")
    check(applied >= 1, f"some acknowledgements applied ({applied})")
    for n in range(4):
        _, _, last = pull_all(f"sigkill-device-{n}")
        check(last == PER_DEVICE, f"sigkill-device-{n}: lastMutationId {last}")

    # The resumed device equals a fresh one.
    resumed, _, _ = pull_all("sigkill-resumer", before_cursor, dict(before))
    fresh, _, _ = pull_all("sigkill-fresh")
    check(resumed == fresh, f"resumed store equals a fresh pull ({len(resumed)} vs {len(fresh)} records)")
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()

if failures:
    print(f"sync-sigkill: {len(failures)} failure(s)")
    sys.exit(1)
print("sync-sigkill: ok (kill mid-storm, restart, exactly-once, resumable)")
