"""Benchmark 1: webhooks accepted per second, Herald against a bare aiohttp handler.

Both servers run in their own process on loopback and get the same client:
first as many requests as 64 concurrent connections can push for a few
seconds (throughput), then a steady 200 requests per second (accept latency).
Herald's answer comes only after the delivery is committed to SQLite (WAL);
no channel is subscribed, so the events are stored and routed but not posted.

    python3 tasks.py bench ingest
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp

from bench.harness import Herald, Sender, body, free_port, percentile, workdir

DURATION = 5.0
CONCURRENCY = 64
RATE = 200
RATE_SECONDS = 10.0


async def throughput(sender: Sender, numbers: itertools.count[int]) -> float:
    done = 0
    deadline = time.monotonic() + DURATION

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            status, _ = await sender.send(body(next(numbers)))
            if status not in (200, 202):
                raise RuntimeError(f"refused with {status}")
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.monotonic() - started)


async def steady(sender: Sender, numbers: itertools.count[int]) -> list[float]:
    """Open loop: one request every 1/RATE s whatever the answers; their latencies."""
    latencies: list[float] = []

    async def one(number: int) -> None:
        started = time.monotonic()
        status, _ = await sender.send(body(number))
        if status not in (200, 202):
            raise RuntimeError(f"refused with {status}")
        latencies.append(time.monotonic() - started)

    tasks = []
    start = time.monotonic()
    for index in range(int(RATE * RATE_SECONDS)):
        await asyncio.sleep(max(0.0, start + index / RATE - time.monotonic()))
        tasks.append(asyncio.create_task(one(next(numbers))))
    await asyncio.gather(*tasks)
    return latencies


async def measure(url: str, settle: Callable[[], Awaitable[None]]) -> tuple[float, list[float]]:
    """Throughput, then (once the server has settled) latencies at a steady rate."""
    sender = Sender(url, connections=CONCURRENCY)
    numbers = itertools.count(1)
    try:
        for number in range(200):  # warm up connections and caches
            await sender.send(body(1_000_000 + number))
        rate = await throughput(sender, numbers)
        await settle()
        latencies = await steady(sender, numbers)
    finally:
        await sender.close()
    return rate, latencies


async def bare() -> tuple[float, list[float]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bare_server", str(port)
    )
    try:
        await _wait_port(port)
        return await measure(f"http://127.0.0.1:{port}/webhooks/hacknplan", _pause)
    finally:
        process.terminate()
        await process.wait()


async def _pause() -> None:
    await asyncio.sleep(1.0)


async def herald() -> tuple[float, list[float], int]:
    server = Herald(env={}, workdir=workdir())
    await server.start()
    try:
        rate, latencies = await measure(f"{server.url}/webhooks/hacknplan", server.drained)
    finally:
        await server.stop()
    stored = await _stored(server)
    return rate, latencies, stored


async def _stored(server: Herald) -> int:
    import sqlite3

    with sqlite3.connect(server.database) as db:
        return int(db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])


async def _wait_port(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.post(f"http://127.0.0.1:{port}/webhooks/hacknplan") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise TimeoutError("the bare server did not start")


def report(name: str, rate: float, latencies: list[float]) -> None:
    p50, p99 = (percentile(latencies, q) * 1000 for q in (0.5, 0.99))
    print(
        f"{name:<22} {rate:8.0f} req/s   at {RATE}/s: p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
        f"   max {max(latencies) * 1000:6.2f} ms"
    )


async def main() -> None:
    print(
        f"ingest: {CONCURRENCY} connections for {DURATION:.0f} s, then {RATE} req/s for"
        f" {RATE_SECONDS:.0f} s, HacknPlan webhooks on loopback"
    )
    bare_rate, bare_latencies = await bare()
    herald_rate, herald_latencies, stored = await herald()
    report("bare aiohttp (200 OK)", bare_rate, bare_latencies)
    report("Herald (stored first)", herald_rate, herald_latencies)
    print(f"ratio Herald / bare: {herald_rate / bare_rate:.2f}   (target >= 0.5)")
    print(
        f"Herald p99 accept latency at {RATE}/s: {percentile(herald_latencies, 0.99) * 1000:.2f} ms"
        "   (target < 20 ms)"
    )
    print(f"deliveries in Herald's inbox afterwards: {stored}")


if __name__ == "__main__":
    asyncio.run(main())
