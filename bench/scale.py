"""Benchmark 7: one Herald against three on one PostgreSQL, side by side in one run.

A throwaway PostgreSQL cluster (the tests' `Cluster`: initdb and pg_ctl from
the machine's PostgreSQL) holds one database per configuration. For 1 and
for 3 processes sharing a database:

- ingest: 64 connections send HacknPlan webhooks for 5 s, spread over every
  process, and the accepted requests per second are counted (each answer
  comes after the delivery is committed);
- burst: 1,000 events for 50 channels (20 each, one board per channel) sent
  as fast as they are accepted; the time until the last one is visible on
  the fake Discord, and how many are missing or shown twice;
- failover (3 processes): the same burst, and the process that delivers
  the most is killed with SIGKILL a second in; the time until every event
  is visible, and how many are missing or doubled.

Then one process on SQLite against one on PostgreSQL (ingest only). The
ratios are printed; the targets are 3 processes ingesting at least twice
what one does, nothing lost or doubled through a kill, failover within 20 s.
On a machine with fewer cores than processes the ingest ratio measures the
machine, not Herald: the core count is printed with it.

    python3 tasks.py bench scale
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bench.harness import (
    Herald,
    Sender,
    body,
    discord_env,
    fake_discord,
    first_seen,
    shown,
    workdir,
)
from tests.fakes.discord import FakeDiscord
from tests.postgres import Cluster, admin, database_url

DURATION = 5.0
CONCURRENCY = 64
EVENTS = 1000
CHANNELS = 50
FIRST_CHANNEL = 700000000000000000
LIMIT = (5, 5.0)  # Discord's per-channel allowance: digests fold what does not fit
KILL_AFTER = 1.0


def board(number: int) -> str:
    return f"Board {number % CHANNELS:02d}"


async def start(discord: FakeDiscord, count: int, url: str) -> list[Herald]:
    """`count` Herald processes on the database `url`, every channel subscribed first."""
    heralds = [
        Herald(env=discord_env(discord), workdir=workdir(), database_url=url) for _ in range(count)
    ]
    for channel in range(CHANNELS):
        await heralds[0].subscribe(
            "hacknplan", FIRST_CHANNEL + channel, where=f"board:{board(channel)}"
        )
    await asyncio.gather(*(herald.start() for herald in heralds))
    return heralds


async def stop(heralds: Sequence[Herald]) -> None:
    await asyncio.gather(*(herald.stop() for herald in heralds))


def cpu_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU time so far (from /proc/stat), in ticks."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


async def ingest(heralds: Sequence[Herald], busy: dict[str, float], name: str) -> float:
    """Accepted webhooks per second, the load spread over every process; how busy the
    machine's CPUs were meanwhile goes into `busy[name]`."""
    senders = [Sender(f"{h.url}/webhooks/hacknplan", CONCURRENCY) for h in heralds]
    numbers = itertools.count(100_000)
    done = 0
    deadline = time.monotonic() + DURATION

    async def worker(sender: Sender) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            status, _ = await sender.send(body(next(numbers), "Nobody's board"))
            if status not in (200, 202):
                raise RuntimeError(f"refused with {status}")
            done += 1

    started = time.monotonic()
    before = cpu_ticks()
    try:
        await asyncio.gather(*(worker(senders[i % len(senders)]) for i in range(CONCURRENCY)))
    finally:
        await asyncio.gather(*(s.close() for s in senders))
    after = cpu_ticks()
    busy[name] = (after[0] - before[0]) / max(1, after[1] - before[1])
    return done / (time.monotonic() - started)


async def burst(
    discord: FakeDiscord, heralds: list[Herald], kill: bool
) -> tuple[float, int, int, float | None]:
    """Seconds until the last event is visible, missing, doubled, and when the kill was."""
    senders = [Sender(f"{h.url}/webhooks/hacknplan", 100) for h in heralds]
    numbers = list(range(1, EVENTS + 1))
    started = time.monotonic()
    killed_at: float | None = None

    async def send(number: int) -> None:
        for attempt in itertools.count():
            sender = senders[(number + attempt) % len(senders)]
            try:
                status, _ = await sender.send(body(number, board(number)))
            except (OSError, aiohttp.ClientError):  # the process being killed
                status = 0
            if status in (200, 202):
                return
            await asyncio.sleep(0.05)

    async def killer() -> None:
        nonlocal killed_at
        await asyncio.sleep(KILL_AFTER)
        killed_at = time.monotonic() - started
        await heralds[-1].kill()  # it holds leases on about a third of the channels

    tasks = [asyncio.create_task(send(n)) for n in numbers]
    if kill:
        tasks.append(asyncio.create_task(killer()))
    try:
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + 120
        while any(count == 0 for count in shown(discord, numbers).values()):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything posted twice would arrive by now
    finally:
        await asyncio.gather(*(s.close() for s in senders))
    counts = shown(discord, numbers)
    seen = first_seen(discord, numbers)
    last = max(seen.values(), default=started) - started
    missing = sum(1 for c in counts.values() if c == 0)
    doubled = sum(1 for c in counts.values() if c > 1)
    return last, missing, doubled, killed_at


async def fresh_database(server: str, name: str) -> str:
    await admin(server, f'CREATE DATABASE "{name}"')
    return database_url(server, name)


async def main() -> None:
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="herald-scale-")))
    try:
        server = cluster.url()
        await run(server)
    finally:
        cluster.remove()


async def run(server: str) -> None:
    figures: dict[str, float] = {}
    busy: dict[str, float] = {}
    notes: list[str] = []
    for count in (1, 3):
        discord = await fake_discord(limit=LIMIT)
        heralds = await start(discord, count, await fresh_database(server, f"ingest{count}"))
        try:
            figures[f"ingest{count}"] = await ingest(heralds, busy, f"ingest{count}")
        finally:
            await stop(heralds)
            await discord.stop()
        discord = await fake_discord(limit=LIMIT)
        heralds = await start(discord, count, await fresh_database(server, f"burst{count}"))
        try:
            last, missing, doubled, _ = await burst(discord, heralds, kill=False)
        finally:
            await stop(heralds)
            await discord.stop()
        figures[f"burst{count}"] = last
        notes.append(
            f"burst, {count} process(es): {EVENTS} events over {CHANNELS} channels, last"
            f" visible after {last:.1f} s; {missing} missing, {doubled} doubled"
        )
    discord = await fake_discord(limit=LIMIT)
    heralds = await start(discord, 3, await fresh_database(server, "failover"))
    try:
        last, missing, doubled, killed_at = await burst(discord, heralds, kill=True)
    finally:
        await stop(heralds)
        await discord.stop()
    notes.append(
        f"failover: one of 3 processes killed (SIGKILL) at {killed_at or 0:.1f} s; last event"
        f" visible after {last:.1f} s; {missing} missing, {doubled} doubled"
    )
    figures["failover"] = last - (killed_at or 0)

    sqlite = Herald(env={}, workdir=workdir())
    await sqlite.start()
    try:
        figures["sqlite"] = await ingest([sqlite], busy, "sqlite")
    finally:
        await sqlite.stop()

    cores = len(os.sched_getaffinity(0))
    print(f"scale: PostgreSQL {server.rsplit('@', 1)[-1]}, {cores} core(s) on this machine")
    print(
        f"ingest: 1 process {figures['ingest1']:.0f} req/s, 3 processes"
        f" {figures['ingest3']:.0f} req/s: ratio {figures['ingest3'] / figures['ingest1']:.2f}"
        " (target >= 2)"
    )
    print(
        f"CPU busy during ingest (all cores, load generator and PostgreSQL included):"
        f" 1 process {busy['ingest1']:.0%}, 3 processes {busy['ingest3']:.0%}"
    )
    per_core = {n: figures[f"ingest{n}"] / (busy[f"ingest{n}"] * cores) for n in (1, 3)}
    print(
        f"webhooks per busy core-second: 1 process {per_core[1]:.0f}, 3 processes"
        f" {per_core[3]:.0f} (the machine's CPU time each webhook costs, whole system)"
    )
    for note in notes:
        print(note)
    print(f"burst: 3 processes took {figures['burst3'] / figures['burst1']:.2f}x the time of one")
    print(f"failover: everything visible {figures['failover']:.1f} s after the kill (target <= 20)")
    print(
        f"single process: SQLite {figures['sqlite']:.0f} req/s, PostgreSQL"
        f" {figures['ingest1']:.0f} req/s: ratio {figures['ingest1'] / figures['sqlite']:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
