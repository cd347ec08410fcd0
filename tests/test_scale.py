"""Three real Herald processes on one PostgreSQL and one fake Discord.

Webhooks are spread over the three; every event is shown once, in its
channel's order; a process killed with SIGKILL mid-burst has its channels
taken over and nothing is lost or doubled; the ButterStack poller runs on
one process at a time and moves when that one dies.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
import pytest

from bench.harness import Herald, Sender, body, discord_env, first_seen, shown
from tests.conftest import butterstack_env
from tests.fakes.butterstack import FakeButterStack
from tests.fakes.discord import FakeDiscord

# Three processes, PostgreSQL and the suite's other workers share the machine's cores.
pytestmark = pytest.mark.timeout(150)

CHANNELS = 20
FIRST_CHANNEL = 700000000000000000
LEASE = "2"  # seconds: a dead process's channels move within this


def board(number: int) -> str:
    return f"Board {number % CHANNELS:02d}"


def channel(number: int) -> int:
    return FIRST_CHANNEL + number % CHANNELS


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


async def start(
    discord: FakeDiscord, url: str, tmp_path: Path, count: int = 3, **env: str
) -> list[Herald]:
    settings = {**discord_env(discord), "HERALD_LEASE_SECONDS": LEASE, **env}
    heralds = []
    for index in range(count):
        folder = tmp_path / f"herald{index}"
        folder.mkdir()
        heralds.append(Herald(env=settings, workdir=folder, database_url=url))
    for number in range(CHANNELS):
        await heralds[0].subscribe("hacknplan", channel(number), where=f"board:{board(number)}")
    await asyncio.gather(*(herald.start() for herald in heralds))
    return heralds


async def send_all(heralds: Sequence[Herald], numbers: Sequence[int]) -> None:
    """Each channel's events in order (the next once the last is accepted), channels in
    parallel, each webhook to the next process, and again elsewhere when one is down."""
    senders = [Sender(f"{h.url}/webhooks/hacknplan", 20) for h in heralds]
    turn = itertools.count()

    async def send(number: int) -> None:
        for _ in range(200):
            sender = senders[next(turn) % len(senders)]
            try:
                status, _ = await sender.send(body(number, board(number)))
            except (OSError, aiohttp.ClientError):  # a process being killed
                status = 0
            if status in (200, 202):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"event {number} was never accepted")

    async def lane(first: int) -> None:
        for number in numbers:
            if number % CHANNELS == first:
                await send(number)

    try:
        await asyncio.gather(*(lane(c) for c in range(CHANNELS)))
    finally:
        await asyncio.gather(*(s.close() for s in senders))


async def all_shown(discord: FakeDiscord, numbers: Sequence[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(count == 0 for count in shown(discord, numbers).values()):
        assert time.monotonic() < deadline, "not every event became visible"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # a second copy, if any, would be here by now


def in_channel_order(discord: FakeDiscord, numbers: Sequence[int]) -> bool:
    seen = first_seen(discord, numbers)
    for first in range(CHANNELS):
        ordered = [n for n in numbers if n % CHANNELS == first]
        times = [seen[n] for n in ordered]
        if times != sorted(times):
            return False
    return True


async def test_three_processes_show_each_event_once_in_its_channels_order(
    discord: FakeDiscord, fresh_postgres_url: str, tmp_path: Path
) -> None:
    heralds = await start(discord, fresh_postgres_url, tmp_path)
    numbers = list(range(1, 301))
    try:
        await send_all(heralds, numbers)
        await all_shown(discord, numbers)
    finally:
        await asyncio.gather(*(h.stop() for h in heralds))
    assert set(shown(discord, numbers).values()) == {1}, "each event once"
    assert in_channel_order(discord, numbers)
    for number in numbers[:CHANNELS]:
        texts = [discord.text_of(m) for m in discord.channel_messages(channel(number))]
        assert texts, f"channel {channel(number)} got its events"


async def test_a_process_killed_mid_burst_loses_and_doubles_nothing(
    discord: FakeDiscord, fresh_postgres_url: str, tmp_path: Path
) -> None:
    heralds = await start(discord, fresh_postgres_url, tmp_path)
    numbers = list(range(1, 301))
    sending = asyncio.create_task(send_all(heralds, numbers))
    try:
        await asyncio.sleep(0.5)
        await heralds[-1].kill()
        await sending
        await all_shown(discord, numbers)
    finally:
        sending.cancel()
        await asyncio.gather(*(h.stop() for h in heralds))
    counts = shown(discord, numbers)
    assert [n for n, c in counts.items() if c == 0] == [], "nothing lost"
    assert [n for n, c in counts.items() if c > 1] == [], "nothing doubled"


async def test_the_butterstack_poller_runs_on_one_process_and_moves_when_it_dies(
    discord: FakeDiscord, butterstack: FakeButterStack, fresh_postgres_url: str, tmp_path: Path
) -> None:
    env = butterstack_env(butterstack, BUTTERSTACK_POLL_SECONDS="0.3")
    heralds = await start(discord, fresh_postgres_url, tmp_path, **env)
    try:
        await asyncio.sleep(3.0)
        (polling,) = [h for h in heralds if await has_polled(h)]  # the others never did
        await polling.kill()
        survivors = [h for h in heralds if h is not polling]
        deadline = time.monotonic() + float(LEASE) + 10
        while not [h for h in survivors if await has_polled(h)]:
            assert time.monotonic() < deadline, "no other process took the poller over"
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        assert len([h for h in survivors if await has_polled(h)]) == 1, "still only one"
    finally:
        await asyncio.gather(*(h.stop() for h in heralds))


async def has_polled(herald: Herald) -> bool:
    """Whether `herald`'s ButterStack poller has ever read ButterStack."""
    stamp = await herald.metric("herald_poller_last_success_timestamp", source="butterstack")
    return stamp is not None
