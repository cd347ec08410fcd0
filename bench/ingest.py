"""Benchmark 1: webhooks accepted per second, Herald against a bare aiohttp handler.

Both servers run in their own process on loopback and get the same client:
three alternating rounds of as many requests as 64 concurrent connections
can push for 5 s (throughput; the medians are compared, as the machine's
load varies), then a steady 200 requests per second (accept latency).
Herald's answer comes only after the delivery is committed to SQLite (WAL);
no channel is subscribed, so the events are stored and routed but not
posted. Herald is given time to route its backlog before every round.
Metrics are on: `/metrics` is scraped every second throughout (Prometheus
scrapes every 15 s), and the webhooks it counted are checked at the end.

    python3 tasks.py bench ingest
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import Herald, Sender, body, free_port, percentile, workdir

ROUNDS = 3
DURATION = 5.0
CONCURRENCY = 64
RATE = 200
RATE_SECONDS = 10.0
SCRAPE_SECONDS = 1.0


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


@dataclass
class Server:
    """One of the two servers under test, with its figures."""

    name: str
    url: str
    settle: Callable[[], Awaitable[None]]
    sender: Sender = field(init=False)
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sender = Sender(self.url, connections=CONCURRENCY)


async def compare(bare: Server, herald: Server) -> None:
    """Alternate throughput rounds (each server settled first), then the steady rate."""
    numbers = itertools.count(1)
    for server in (bare, herald):
        for number in range(200):  # warm up connections and caches
            await server.sender.send(body(1_000_000 + number))
    for _ in range(ROUNDS):
        for server in (herald, bare):
            await herald.settle()
            server.rates.append(await throughput(server.sender, numbers))
    for server in (bare, herald):
        await herald.settle()
        server.latencies = await steady(server.sender, numbers)


def separate_cores(bare_pid: int, herald: Herald) -> None:
    """The servers on one core, this load generator on the other (where there are two):
    otherwise the client competes with the server it measures, and the cheaper the
    server, the more of the machine the client gets. Every thread of a server is
    pinned (Herald's SQLite thread shares its core with its event loop)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or herald.process is None:
        return
    for pid in (bare_pid, herald.process.pid):
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), {cores[1]})
    os.sched_setaffinity(0, {cores[0]})


async def main() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bare_server", str(port)
    )
    herald = Herald(env={}, workdir=workdir())
    await herald.start()
    try:
        await _wait_port(port)
        separate_cores(process.pid, herald)
        bare = Server(
            "bare aiohttp (200 OK)", f"http://127.0.0.1:{port}/webhooks/hacknplan", _nothing
        )
        ours = Server("Herald (stored first)", f"{herald.url}/webhooks/hacknplan", herald.drained)
        scrapes: list[str] = []
        scraper = asyncio.create_task(scrape(f"{herald.url}/metrics", scrapes))
        try:
            await compare(bare, ours)
        finally:
            scraper.cancel()
            await asyncio.gather(scraper, return_exceptions=True)
            await bare.sender.close()
            await ours.sender.close()
    finally:
        process.terminate()
        await process.wait()
        await herald.stop()
    print(
        f"ingest: {ROUNDS} alternating rounds of {CONCURRENCY} connections for {DURATION:.0f} s,"
        f" then {RATE} req/s for {RATE_SECONDS:.0f} s; HacknPlan webhooks on loopback"
    )
    for server in (bare, ours):
        report(server)
    ratio = statistics.median(ours.rates) / statistics.median(bare.rates)
    print(f"ratio Herald / bare (medians): {ratio:.2f}   (target >= 0.6, metrics on)")
    print(
        f"Herald p99 accept latency at {RATE}/s: {percentile(ours.latencies, 0.99) * 1000:.2f} ms"
        "   (target < 20 ms)"
    )
    print(f"deliveries in Herald's inbox afterwards: {_stored(herald)}")
    print(
        f"/metrics scraped {len(scrapes)} times; the last counted {_accepted(scrapes[-1])}"
        " webhooks queued or duplicate"
    )


async def scrape(url: str, scrapes: list[str]) -> None:
    """Prometheus's part: read /metrics every SCRAPE_SECONDS, keeping each answer."""
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"/metrics answered {answer.status}")
                scrapes.append(await answer.text())
            await asyncio.sleep(SCRAPE_SECONDS)


def _accepted(text: str) -> int:
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "herald_webhooks_total"
            and sample.labels["outcome"] in ("queued", "duplicate")
        )
    )


async def _nothing() -> None:
    """The bare server has nothing to catch up on."""


def _stored(server: Herald) -> int:
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


def report(server: Server) -> None:
    p50, p99 = (percentile(server.latencies, q) * 1000 for q in (0.5, 0.99))
    rounds = ", ".join(f"{r:.0f}" for r in server.rates)
    print(
        f"{server.name:<22} median {statistics.median(server.rates):6.0f} req/s ({rounds})"
        f"   at {RATE}/s: p50 {p50:5.2f} ms  p99 {p99:5.2f} ms"
        f"  max {max(server.latencies) * 1000:5.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
