"""Benchmark 3: 300 events for one channel in one second, against Discord's 5 messages / 5 s.

The fake Discord enforces Discord's per-channel limit and answers 429 (with
Retry-After and the X-RateLimit-* headers) past it. Herald should post a
few cards, fold the rest into digests, and show every event exactly once.

    python3 tasks.py bench burst
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

from bench.harness import (
    CHANNEL,
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

EVENTS = 300
SECONDS = 1.0
LIMIT = (5, 5.0)
VISIBLE_WITHIN = 60.0


@dataclass
class Burst:
    """The sending side of a burst: when each event went, and how its sender fared."""

    started: float = 0.0
    retried: int = 0
    duplicates: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


async def send_burst(url: str, burst: Burst, deadline: float = 120.0) -> None:
    """Send EVENTS webhooks over SECONDS; a refused or failed one is sent again until
    accepted, as HacknPlan retries a webhook that did not get a 2xx."""
    sender = Sender(url)

    async def one(number: int) -> None:
        payload = body(number)
        while time.monotonic() - burst.started < deadline:
            try:
                status, text = await sender.send(payload)
            except (aiohttp.ClientError, TimeoutError):  # the server died, or is starting
                status, text = 0, ""
            if status in (200, 202):
                burst.statuses[number] = status
                burst.duplicates += '"duplicate"' in text
                return
            burst.retried += 1
            await asyncio.sleep(0.2)

    burst.started = time.monotonic()
    tasks = []
    try:
        for number in range(1, EVENTS + 1):
            await asyncio.sleep(
                max(0.0, burst.started + number * SECONDS / EVENTS - time.monotonic())
            )
            tasks.append(asyncio.create_task(one(number)))
        await asyncio.gather(*tasks)
    finally:
        await sender.close()


async def visible(discord: FakeDiscord, herald: Herald) -> None:
    """Wait until Herald has nothing left to route or deliver."""
    await asyncio.wait_for(herald.drained(), VISIBLE_WITHIN)


def report(discord: FakeDiscord, burst: Burst) -> None:
    numbers = list(range(1, EVENTS + 1))
    counts = shown(discord, numbers)
    seen = first_seen(discord, numbers)
    messages = discord.channel_messages(CHANNEL)
    digests = [m for m in messages if (m["embeds"] or [{}])[0].get("title", "").endswith("updates")]
    last = max(seen.values()) - burst.started if seen else float("nan")
    print(f"accepted: {len(burst.statuses)}/{EVENTS}")
    cards = len(messages) - len(digests)
    print(f"messages posted: {len(messages)} ({cards} cards, {len(digests)} digests)")
    print(f"429s received: {len(discord.rate_limited)}")
    print(f"seconds until the last event was visible: {last:.1f}   (target <= 30)")
    print(
        f"events missing: {sum(c == 0 for c in counts.values())}"
        f"   events shown twice or more: {sum(c > 1 for c in counts.values())}"
    )


async def main() -> None:
    discord = await fake_discord(limit=LIMIT)
    herald = Herald(env=discord_env(discord), workdir=workdir())
    await herald.subscribe("hacknplan")
    await herald.start()
    burst = Burst()
    try:
        await send_burst(f"{herald.url}/webhooks/hacknplan", burst)
        await visible(discord, herald)
    finally:
        await herald.stop()
        await discord.stop()
    print(
        f"burst: {EVENTS} webhooks in {SECONDS:.0f} s for one channel; Discord allows"
        f" {LIMIT[0]} messages per {LIMIT[1]:.0f} s there"
    )
    report(discord, burst)


if __name__ == "__main__":
    asyncio.run(main())
