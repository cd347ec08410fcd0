"""Benchmark 4: SIGKILL Herald in the middle of a burst, start it again on the same database.

The burst of benchmark 3 (300 events for one channel in 1 s, Discord at
5 messages / 5 s) is under way when Herald is killed with SIGKILL (no
shutdown code runs) and started again on the same database: once while the
webhooks are still arriving, once while the digests are being posted. The
webhook sender retries what was not acknowledged, as HacknPlan does. Every
event must be shown exactly once.

    python3 tasks.py bench crash
"""

from __future__ import annotations

import asyncio
import time

from bench.burst import EVENTS, LIMIT, SECONDS, Burst, report, send_burst, visible
from bench.harness import CHANNEL, Herald, discord_env, fake_discord, workdir

KILLS_AT = (0.5, 5.3)  # seconds into the burst: while receiving, then while posting digests


async def main() -> None:
    discord = await fake_discord(limit=LIMIT)
    herald = Herald(env=discord_env(discord), workdir=workdir())
    await herald.subscribe("hacknplan")
    await herald.start()
    burst = Burst()
    sending = asyncio.create_task(send_burst(f"{herald.url}/webhooks/hacknplan", burst))
    notes = []
    try:
        await asyncio.sleep(0)
        for kill_at in KILLS_AT:
            await asyncio.sleep(max(0.0, burst.started + kill_at - time.monotonic()))
            accepted = len(burst.statuses)
            posted = len(discord.channel_messages(CHANNEL))
            await herald.kill()
            killed = time.monotonic() - burst.started
            await herald.start()
            notes.append(
                f"SIGKILL at {killed:.2f} s ({accepted} webhooks acknowledged, {posted} messages"
                f" posted); serving again at {time.monotonic() - burst.started:.2f} s"
            )
        await sending
        await visible(discord, herald)
    finally:
        sending.cancel()
        await herald.stop()
        await discord.stop()
    print(
        f"crash: {EVENTS} webhooks in {SECONDS:.0f} s for one channel, Discord at"
        f" {LIMIT[0]} messages / {LIMIT[1]:.0f} s, Herald killed {len(KILLS_AT)} times"
    )
    for note in notes:
        print(note)
    print(
        f"the sender retried {burst.retried} times; {burst.duplicates} retries of deliveries"
        " stored before a kill were recognised as duplicates"
    )
    report(discord, burst)


if __name__ == "__main__":
    asyncio.run(main())
