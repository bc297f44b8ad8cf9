"""Holds idle and stalled connections against a server and times GET /healthz meanwhile.

Idle connections connect and say nothing; stalled ones send half a request head and stop
(slowloris). A connection the server closes (its idle timeout or read deadline) is opened
again at once, as an attacker would, and counted. Meanwhile `--concurrency` keep-alive clients
ask GET /healthz `--requests` times in all and the latencies are reported. Standard library
only. Used by tools/bench/edge and tools/checks/edge_alive.py.

  python tools/lib/edge_load.py --url http://127.0.0.1:8080 --idle 1000 --stalled 200 --requests 4000
prints one JSON object: p50_ms, p99_ms, max_ms, requests, errors, idle, stalled, reopened.
"""
import argparse
import asyncio
import json
import time
import urllib.parse

STALL = b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Stalled: "
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n"


class Held:
    """`idle` silent and `stalled` half-head connections, each reopened when the server closes it."""

    def __init__(self, host, port, idle, stalled):
        self.host, self.port = host, port
        self.idle, self.stalled = idle, stalled
        self.open = {"idle": 0, "stalled": 0}
        self.reopened = 0
        self.failed = 0
        self.tasks = []
        self.running = True

    async def _hold(self, kind, ready):
        first = True
        while self.running:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                self.failed += 1
                await asyncio.sleep(0.2)
                continue
            if kind == "stalled":
                writer.write(STALL)
                await writer.drain()
            self.open[kind] += 1
            if first:
                ready.set_result(None)
                first = False
            try:
                await reader.read()  # returns when the server closes the connection
            except OSError:
                pass
            finally:
                self.open[kind] -= 1
                writer.close()
            if self.running:
                self.reopened += 1

    async def start(self):
        """Opens every connection, a hundred at a time (the listen backlog is finite)."""
        kinds = ["idle"] * self.idle + ["stalled"] * self.stalled
        for start in range(0, len(kinds), 100):
            readies = []
            for kind in kinds[start:start + 100]:
                ready = asyncio.get_running_loop().create_future()
                self.tasks.append(asyncio.create_task(self._hold(kind, ready)))
                readies.append(ready)
            await asyncio.wait_for(asyncio.gather(*readies), timeout=60)

    async def stop(self):
        self.running = False
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _healthz_client(host, port, count, latencies, errors, timeout):
    """`count` GET /healthz on one keep-alive connection (a new one after an error)."""
    reader = writer = None
    for _ in range(count):
        start = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            writer.write(HEALTHZ)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            await asyncio.wait_for(reader.readexactly(length), timeout)
            if not head.startswith(b"HTTP/1.1 200"):
                raise ValueError(head.split(b"\r\n", 1)[0].decode())
            latencies.append((time.perf_counter() - start) * 1000)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, StopIteration) as error:
            errors.append(f"{type(error).__name__}: {error}")
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def measure(url, idle, stalled, requests, concurrency, timeout=5.0, settle=1.0):
    parsed = urllib.parse.urlparse(url)
    host, port = parsed.hostname, parsed.port or 80
    held = Held(host, port, idle, stalled)
    await held.start()
    await asyncio.sleep(settle)
    latencies, errors = [], []
    per_client = max(1, requests // concurrency)
    started = time.perf_counter()
    await asyncio.gather(*(_healthz_client(host, port, per_client, latencies, errors, timeout) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    result = {
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2) if latencies else None,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else None,
        "errors": len(errors),
        "first_errors": errors[:3],
        "idle": held.open["idle"],
        "stalled": held.open["stalled"],
        "reopened": held.reopened,
        "connect_failures": held.failed,
    }
    await held.stop()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--stalled", type=int, default=200)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds one /healthz may take before it counts as an error")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.url, args.idle, args.stalled, args.requests, args.concurrency, args.timeout))))


if __name__ == "__main__":
    main()
