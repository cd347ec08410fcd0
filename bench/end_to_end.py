"""Benchmark 2: webhook received -> message at Discord, p50 and p99.

300 HacknPlan work items at 30 per second, spread over 50 subscribed channels
(one per board), against a fake Discord that does not throttle. The time runs
from just before the webhook is sent to when the fake Discord stores the
message; both clocks are this process's.

    python3 tasks.py bench end_to_end
"""

from __future__ import annotations

import asyncio
import time

from bench.harness import (
    Herald,
    Sender,
    body,
    discord_env,
    fake_discord,
    first_seen,
    percentile,
    shown,
    workdir,
)

EVENTS = 300
RATE = 30
CHANNELS = 50
FIRST_CHANNEL = 700000000000000000


async def main() -> None:
    discord = await fake_discord(limit=None)
    herald = Herald(env=discord_env(discord), workdir=workdir())
    for index in range(CHANNELS):
        await herald.subscribe("hacknplan", FIRST_CHANNEL + index, where=f"board:board {index}")
    await herald.start()
    sender = Sender(f"{herald.url}/webhooks/hacknplan")
    sent: dict[int, float] = {}
    try:
        start = time.monotonic()
        tasks = []
        for number in range(1, EVENTS + 1):
            await asyncio.sleep(max(0.0, start + number / RATE - time.monotonic()))
            sent[number] = time.monotonic()
            tasks.append(
                asyncio.create_task(sender.send(body(number, f"Board {number % CHANNELS}")))
            )
        statuses = [status for status, _ in await asyncio.gather(*tasks)]
        await asyncio.wait_for(herald.drained(), 60)
    finally:
        await sender.close()
        await herald.stop()
        await discord.stop()
    seen = first_seen(discord, list(sent))
    latencies = [seen[n] - sent[n] for n in sent if n in seen]
    counts = shown(discord, list(sent))
    print(
        f"end to end: {EVENTS} webhooks at {RATE}/s over {CHANNELS} channels, Discord unthrottled"
    )
    print(f"accepted: {sum(s == 200 for s in statuses)}/{EVENTS}")
    print(
        f"webhook -> Discord message: p50 {percentile(latencies, 0.5) * 1000:.1f} ms"
        f"   p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
        f"   max {max(latencies) * 1000:.1f} ms   (target p50 < 50 ms)"
    )
    print(
        f"missing: {sum(c == 0 for c in counts.values())}"
        f"   shown twice or more: {sum(c > 1 for c in counts.values())}"
    )


if __name__ == "__main__":
    asyncio.run(main())
